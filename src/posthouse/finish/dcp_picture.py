"""DCP picture essence: display RGB → DCI X'Y'Z' 12-bit, and JPEG 2000 cinema 2K codestreams.

Colour (``rgb_to_xyz12``): display-referred RGB is linearised with the source's EOTF, taken to CIE XYZ with
the primaries' normalised primary matrix (white kept at D65, no chromatic adaptation: DCI practice for
Rec.709 and P3-D65 masters, the projector shows D65 white), scaled by the DCI normalisation 48/52.37 (a
48 cd/m² white is 0.91655 of the 52.37 cd/m² code-value ceiling), encoded with gamma 1/2.6 and quantised to
12 bits. Sources supported:

- ``"rec709"``: ITU-R BT.709 primaries, BT.1886 EOTF (pure gamma 2.4, zero black level);
- ``"srgb"``: BT.709 primaries, the IEC 61966-2-1 piecewise sRGB EOTF;
- ``"p3d65"``: P3 primaries with D65 white, gamma 2.6 (the usual P3-D65 mastering display).

A D65 white maps to X'Y'Z' (3883, 3960, 4092); black to (0, 0, 0).

Encoding (``encode_j2k``) uses OpenJPEG through ``glymur`` in its cinema 2K mode: Rsiz CINEMA_2K, one tile,
5 decomposition levels, 32×32 code blocks, CPRL, precincts 128 for the lowest resolution and 256 for the
others, 3 tile-parts (one per component) with a TLM marker, 12-bit irreversible 9/7 with the colour
transform, and OpenJPEG's rate control capping the frame at 1,302,083 bytes (24 fps) or 651,041 bytes
(48 fps). ``encode_sequence`` writes one ``NNNNNN.j2c`` per frame and resumes an interrupted encode.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from posthouse.core.errors import MediaError, UsageError
from posthouse.core.fsutil import atomic_path

__all__ = [
    "DCI_NORMALISATION",
    "SOURCES",
    "SequenceResult",
    "encode_j2k",
    "encode_sequence",
    "frame_limit_bytes",
    "is_valid_j2c",
    "rgb_to_xyz12",
    "rgb_to_xyz_matrix",
    "xyz12_to_rgb",
]

Source = Literal["rec709", "srgb", "p3d65"]
SOURCES: tuple[str, ...] = ("rec709", "srgb", "p3d65")

#: 48 cd/m² reference white over the 52.37 cd/m² DCI code-value ceiling.
DCI_NORMALISATION = 48.0 / 52.37
_DCI_GAMMA = 2.6
_MAX_12 = 4095.0

_D65 = (0.3127, 0.3290)
_PRIMARIES: dict[str, tuple[tuple[float, float], tuple[float, float], tuple[float, float]]] = {
    "rec709": ((0.640, 0.330), (0.300, 0.600), (0.150, 0.060)),
    "srgb": ((0.640, 0.330), (0.300, 0.600), (0.150, 0.060)),
    "p3d65": ((0.680, 0.320), (0.265, 0.690), (0.150, 0.060)),
}

# Cinema 2K container limits (SMPTE ST 429-2): flat 1998×1080, scope 2048×858, full 2048×1080.
_MAX_2K = (1080, 2048)
_GLYMUR_FPS = (24, 48)
_DCI_FPS = (24, 25, 30, 48)

FloatArray = npt.NDArray[np.float64]


def _check_source(source: str) -> None:
    if source not in _PRIMARIES:
        raise UsageError(
            f"unknown colour source {source!r}", where="dcp_picture", hint=f"use one of {', '.join(SOURCES)}"
        )


def rgb_to_xyz_matrix(source: Source = "rec709") -> FloatArray:
    """The 3×3 matrix taking linear RGB of ``source`` to CIE XYZ (white Y = 1, D65 white kept)."""
    _check_source(source)
    xy = np.array(_PRIMARIES[source], dtype=np.float64)
    prim = np.stack([xy[:, 0] / xy[:, 1], np.ones(3), (1.0 - xy[:, 0] - xy[:, 1]) / xy[:, 1]])
    wx, wy = _D65
    white = np.array([wx / wy, 1.0, (1.0 - wx - wy) / wy])
    scale = np.linalg.solve(prim, white)
    return prim * scale[np.newaxis, :]


def _to_unit_float(rgb: npt.ArrayLike) -> FloatArray:
    arr = np.asarray(rgb)
    if arr.ndim < 1 or arr.shape[-1] != 3:
        raise UsageError(f"RGB array must end with 3 channels, got shape {arr.shape}", where="rgb_to_xyz12")
    if arr.dtype == np.uint8:
        out = arr.astype(np.float64) / 255.0
    elif arr.dtype == np.uint16:
        out = arr.astype(np.float64) / 65535.0
    elif np.issubdtype(arr.dtype, np.floating):
        out = arr.astype(np.float64)
    else:
        raise UsageError(
            f"unsupported RGB dtype {arr.dtype}", where="rgb_to_xyz12", hint="uint8, uint16 or float"
        )
    return np.clip(out, 0.0, 1.0)


def _eotf(v: FloatArray, source: str) -> FloatArray:
    if source == "rec709":
        return np.power(v, 2.4)
    if source == "p3d65":
        return np.power(v, 2.6)
    return np.where(v <= 0.04045, v / 12.92, np.power((v + 0.055) / 1.055, 2.4))


def _inverse_eotf(v: FloatArray, source: str) -> FloatArray:
    v = np.clip(v, 0.0, 1.0)
    if source == "rec709":
        return np.power(v, 1.0 / 2.4)
    if source == "p3d65":
        return np.power(v, 1.0 / 2.6)
    return np.where(v <= 0.0031308, v * 12.92, 1.055 * np.power(v, 1.0 / 2.4) - 0.055)


def rgb_to_xyz12(rgb: npt.ArrayLike, *, source: Source = "rec709") -> npt.NDArray[np.uint16]:
    """Display RGB (uint8, uint16 or float 0–1; shape ``(..., 3)``) → DCI X'Y'Z' codes 0–4095 (uint16)."""
    _check_source(source)
    lin = _eotf(_to_unit_float(rgb), source)
    xyz = lin @ rgb_to_xyz_matrix(source).T
    enc = np.power(np.clip(xyz * DCI_NORMALISATION, 0.0, 1.0), 1.0 / _DCI_GAMMA)
    return np.rint(enc * _MAX_12).astype(np.uint16)


def xyz12_to_rgb(xyz12: npt.ArrayLike, *, source: Source = "rec709") -> FloatArray:
    """Inverse of :func:`rgb_to_xyz12`: X'Y'Z' codes → display RGB as float 0–1 (clipped to the gamut)."""
    _check_source(source)
    code = np.asarray(xyz12, dtype=np.float64)
    xyz = np.power(np.clip(code / _MAX_12, 0.0, 1.0), _DCI_GAMMA) / DCI_NORMALISATION
    lin = xyz @ np.linalg.inv(rgb_to_xyz_matrix(source)).T
    return _inverse_eotf(lin, source)


def frame_limit_bytes(fps: int, max_bitrate: int = 250_000_000) -> int:
    """Largest JPEG 2000 frame allowed at ``fps`` under ``max_bitrate`` (bit/s): 1,302,083 bytes at 24 fps."""
    return int(max_bitrate // (8 * fps))


def is_valid_j2c(path: str | Path) -> bool:
    """True when ``path`` is a non-empty raw codestream that starts with SOC and ends with EOC."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if size < 4:
            return False
        with p.open("rb") as fh:
            head = fh.read(2)
            fh.seek(-2, 2)
            tail = fh.read(2)
    except OSError:
        return False
    return head == b"\xff\x4f" and tail == b"\xff\xd9"


def _check_frame(xyz12: npt.ArrayLike, profile: str, fps: int, out: Path) -> npt.NDArray[np.uint16]:
    if profile != "2k":
        raise UsageError(f"unsupported DCP picture profile {profile!r}", path=out, hint="only '2k' for now")
    if fps not in _DCI_FPS:
        raise UsageError(
            f"frame rate {fps} is not supported for cinema 2K here",
            path=out,
            hint=f"use one of {', '.join(map(str, _DCI_FPS))}; 50/60 fps need more than OpenJPEG's presets",
        )
    arr = np.asarray(xyz12)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise UsageError(f"X'Y'Z' frame must be (height, width, 3), got {arr.shape}", path=out)
    if arr.shape[0] > _MAX_2K[0] or arr.shape[1] > _MAX_2K[1]:
        raise UsageError(
            f"frame {arr.shape[1]}×{arr.shape[0]} exceeds the 2K container 2048×1080",
            path=out,
            hint="flat is 1998×1080, scope 2048×858",
        )
    if np.issubdtype(arr.dtype, np.floating) or (arr.size and (arr.min() < 0 or arr.max() > _MAX_12)):
        raise UsageError(
            "X'Y'Z' frame must hold integer code values 0–4095", path=out, hint="use rgb_to_xyz12"
        )
    return np.ascontiguousarray(arr, dtype=np.uint16)


def _jp2k_class(glymur: Any, margin: float) -> Any:
    """glymur's writer, with the cinema preset's codestream and component caps scaled by ``margin``."""
    if margin == 1.0:
        return glymur.Jp2k

    class _Capped(glymur.Jp2k):  # type: ignore[misc]
        def _set_cinema_params(self, cinema_mode: str, fps: int) -> None:
            super()._set_cinema_params(cinema_mode, fps)
            self._cparams.max_cs_size = int(self._cparams.max_cs_size * margin)
            self._cparams.max_comp_size = int(self._cparams.max_comp_size * margin)

    return _Capped


def encode_j2k(
    xyz12: npt.ArrayLike,
    out_path: str | Path,
    *,
    profile: str = "2k",
    fps: int = 24,
    max_bitrate: int = 250_000_000,
) -> int:
    """Encode one X'Y'Z' 12-bit frame as a DCI cinema 2K JPEG 2000 codestream at ``out_path`` (atomically).

    OpenJPEG's cinema presets exist for 24 and 48 fps; 25 and 30 fps use the 48 fps cap (stricter than
    needed). Raises MediaError if the frame still exceeds ``max_bitrate``. Returns the frame's size in bytes.
    """
    import glymur  # type: ignore[import-untyped,unused-ignore]

    out = Path(out_path)
    frame = _check_frame(xyz12, profile, fps, out)
    preset = 24 if fps == 24 else 48
    limit = min(frame_limit_bytes(fps, max_bitrate), frame_limit_bytes(preset))
    with atomic_path(out, suffix=".j2c") as tmp:
        # OpenJPEG's rate control can overshoot its own cap by a few bytes on frames full of fine detail
        # (grain, noise): such a frame is encoded again with the caps lowered by 2 %
        for margin in (1.0, 0.98):
            tmp.unlink(missing_ok=True)  # glymur parses an existing file instead of writing a new one
            with warnings.catch_warnings():
                # "The desired maximum codestream size has limited at least one of the desired quality layers"
                warnings.simplefilter("ignore", UserWarning)
                try:
                    _jp2k_class(glymur, margin)(str(tmp), data=frame, cinema2k=preset)
                except Exception as exc:  # OpenJPEG errors surface as various glymur/ctypes exceptions
                    raise MediaError(f"JPEG 2000 encode failed: {exc}", path=out, where="encode_j2k") from exc
            size = tmp.stat().st_size
            if size <= limit:
                break
        if size > limit:
            raise MediaError(
                f"JPEG 2000 frame is {size} bytes, over the {limit} bytes allowed at {fps} fps",
                path=out,
                where="encode_j2k",
                hint=f"max_bitrate={max_bitrate} is below what OpenJPEG's cinema preset targets",
            )
    return size


@dataclass
class SequenceResult:
    """What :func:`encode_sequence` did: frame paths in order, and which were encoded or kept."""

    paths: list[Path] = field(default_factory=list)
    encoded: int = 0
    skipped: int = 0
    total_bytes: int = 0


def encode_sequence(
    frames: Iterable[npt.ArrayLike],
    out_dir: str | Path,
    *,
    profile: str = "2k",
    fps: int = 24,
    max_bitrate: int = 250_000_000,
    start: int = 0,
) -> SequenceResult:
    """Encode X'Y'Z' frames to ``out_dir/NNNNNN.j2c`` (numbered from ``start``), resuming frame by frame.

    A frame whose file already exists and is a valid codestream (non-empty, SOC…EOC) is not encoded again;
    since every frame is written atomically, an interrupted run leaves only whole frames behind.
    """
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    result = SequenceResult()
    for index, frame in enumerate(frames, start=start):
        path = folder / f"{index:06d}.j2c"
        if is_valid_j2c(path):
            result.skipped += 1
            size = path.stat().st_size
        else:
            size = encode_j2k(frame, path, profile=profile, fps=fps, max_bitrate=max_bitrate)
            result.encoded += 1
        result.paths.append(path)
        result.total_bytes += size
    return result
