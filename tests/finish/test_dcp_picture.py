"""DCP picture essence: X'Y'Z' 12-bit colour and JPEG 2000 cinema 2K codestreams.

Colour is checked against published matrices (IEC 61966-2-1, SMPTE EG 432-1) rather than our own
derivation; codestreams are checked by parsing their markers here and decoding them with FFmpeg's native
JPEG 2000 decoder (PyAV), not the OpenJPEG library that wrote them.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import av
import numpy as np
import numpy.typing as npt
import pytest

from posthouse.core.errors import MediaError, UsageError
from posthouse.finish.dcp_picture import (
    DCI_NORMALISATION,
    encode_j2k,
    encode_sequence,
    frame_limit_bytes,
    is_valid_j2c,
    rgb_to_xyz12,
    rgb_to_xyz_matrix,
    xyz12_to_rgb,
)

glymur = pytest.importorskip("glymur")
if tuple(int(x) for x in (glymur.version.openjpeg_version or "0").split(".")[:2]) < (2, 3):
    pytest.skip(
        "the system OpenJPEG library is missing (dev.sh installs libopenjp2-7)", allow_module_level=True
    )

# Published RGB→XYZ matrices (D65 white, Y normalised to 1).
M709 = np.array(
    [[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750], [0.0193339, 0.1191920, 0.9503041]]
)
MP3D65 = np.array(
    [[0.4865709, 0.2656677, 0.1982173], [0.2289746, 0.6917385, 0.0792869], [0.0, 0.0451134, 1.0439444]]
)


def _hand_xyz12(
    rgb8: npt.NDArray[np.uint8], matrix: npt.NDArray[np.float64], gamma: float
) -> npt.NDArray[np.int64]:
    lin = (rgb8 / 255.0) ** gamma
    xyz = lin @ matrix.T
    return np.rint(4095 * np.clip(xyz * 48 / 52.37, 0, 1) ** (1 / 2.6)).astype(np.int64)


# ---------------------------------------------------------------- colour


def test_white_and_black_code_values() -> None:
    assert abs(DCI_NORMALISATION - 0.916555) < 1e-6
    white = rgb_to_xyz12(np.array([[255, 255, 255]], dtype=np.uint8))[0]
    # D65 white (0.9505, 1, 1.0888) × 48/52.37, gamma 1/2.6, 12 bits.
    assert tuple(int(v) for v in white) == (3883, 3960, 4092)
    assert white[1] == round(4095 * DCI_NORMALISATION ** (1 / 2.6))
    assert rgb_to_xyz12(np.zeros((2, 2, 3), dtype=np.uint8)).max() == 0
    assert rgb_to_xyz12(np.ones(3)).dtype == np.uint16


@pytest.mark.parametrize(("source", "matrix", "gamma"), [("rec709", M709, 2.4), ("p3d65", MP3D65, 2.6)])
def test_matches_published_matrices(source: Any, matrix: npt.NDArray[np.float64], gamma: float) -> None:
    assert np.abs(rgb_to_xyz_matrix(source) - matrix).max() < 3e-4  # published values use a 4-digit D65
    rgb = np.random.default_rng(1).integers(0, 256, size=(500, 3), dtype=np.uint8)
    ours = rgb_to_xyz12(rgb, source=source).astype(np.int64)
    assert np.abs(ours - _hand_xyz12(rgb, matrix, gamma)).max() <= 1


def test_srgb_piecewise_curve() -> None:
    dark = np.array([[10, 10, 10]], dtype=np.uint8)
    lin = (10 / 255) / 12.92  # the linear toe of the sRGB EOTF
    expect = round(4095 * (lin * DCI_NORMALISATION) ** (1 / 2.6))
    assert int(rgb_to_xyz12(dark, source="srgb")[0, 1]) == expect
    assert int(rgb_to_xyz12(dark, source="rec709")[0, 1]) < expect  # pure gamma 2.4 is darker there


@pytest.mark.parametrize(("source", "gamma"), [("rec709", 2.4), ("srgb", 2.4), ("p3d65", 2.6)])
def test_round_trip_within_one_code_value(source: Any, gamma: float) -> None:
    grey = np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, axis=1)
    back = xyz12_to_rgb(rgb_to_xyz12(grey, source=source), source=source)
    assert np.abs(np.rint(back * 255) - grey).max() <= 1
    rgb = np.random.default_rng(7).integers(0, 256, size=(20000, 3), dtype=np.uint8)
    back = xyz12_to_rgb(rgb_to_xyz12(rgb, source=source), source=source)
    err = np.abs(np.rint(back * 255) - rgb)
    assert err[rgb >= 64].max() <= 1
    # A dark channel of a saturated colour carries the bright channels' 12-bit X'Y'Z' quantisation error,
    # which its steep gamma magnifies in code values; in linear light every error stays below 0.2 % of white.
    assert np.abs(back**gamma - (rgb / 255.0) ** gamma).max() < 0.002


def test_input_types_agree() -> None:
    rgb8 = np.random.default_rng(3).integers(0, 256, size=(4, 5, 3), dtype=np.uint8)
    a = rgb_to_xyz12(rgb8)
    assert np.array_equal(a, rgb_to_xyz12(rgb8.astype(np.uint16) * 257))
    assert np.array_equal(a, rgb_to_xyz12(rgb8 / 255.0))
    with pytest.raises(UsageError):
        rgb_to_xyz12(rgb8, source=cast(Any, "adobe"))
    with pytest.raises(UsageError):
        rgb_to_xyz12(np.zeros((2, 2)))


# ---------------------------------------------------------------- codestream


def _markers(data: bytes) -> dict[str, object]:
    """Parse the main header and tile-part headers of a raw J2K codestream (independently of glymur)."""
    assert data[:2] == b"\xff\x4f", "no SOC"
    assert data[-2:] == b"\xff\xd9", "no EOC"
    info: dict[str, object] = {"tlm": False, "tile_parts": []}
    pos = 2
    while True:
        (marker,) = struct.unpack(">H", data[pos : pos + 2])
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        seg = data[pos + 4 : pos + 2 + length]
        if marker == 0xFF51:  # SIZ
            rsiz, xsiz, ysiz, xo, yo, xt, yt, _xto, _yto, csiz = struct.unpack(">HIIIIIIIIH", seg[:36])
            info.update(rsiz=rsiz, size=(xsiz - xo, ysiz - yo), tile=(xt, yt), components=csiz)
            info["bits"] = [(seg[36 + 3 * i] & 0x7F) + 1 for i in range(csiz)]
            info["signed"] = [bool(seg[36 + 3 * i] & 0x80) for i in range(csiz)]
        elif marker == 0xFF52:  # COD
            scod, prog, layers, mct, levels, xcb, ycb, _style, transform = struct.unpack(
                ">BBHBBBBBB", seg[:10]
            )
            info.update(progression=prog, layers=layers, mct=mct, levels=levels, transform=transform)
            info["codeblock"] = (2 ** (xcb + 2), 2 ** (ycb + 2))
            if scod & 1:
                info["precincts"] = [(2 ** (b & 0xF), 2 ** (b >> 4)) for b in seg[10 : 11 + levels]]
        elif marker == 0xFF55:  # TLM
            info["tlm"] = True
        elif marker == 0xFF90:  # SOT: walk the tile-parts by their Psot lengths
            break
        pos += 2 + length
    parts: list[tuple[int, int, int]] = []
    while data[pos : pos + 2] == b"\xff\x90":
        isot, psot, tpsot, tnsot = struct.unpack(">HIBB", data[pos + 4 : pos + 12])
        parts.append((isot, tpsot, tnsot))
        pos += psot
    assert data[pos:] == b"\xff\xd9", "tile-part lengths do not reach EOC"
    info["tile_parts"] = parts
    return info


def _decode_ffmpeg(path: Path) -> npt.NDArray[np.int64]:
    """Decode a .j2c with FFmpeg's own JPEG 2000 decoder; returns 12-bit X'Y'Z' values."""
    ctx = av.CodecContext.create("jpeg2000", "r")
    frame = ctx.decode(av.Packet(path.read_bytes()))[0]
    assert frame.format.name == "xyz12le"
    plane = frame.planes[0]
    rows = np.frombuffer(bytes(plane), np.uint16).reshape(frame.height, plane.line_size // 2)
    pix = rows[:, : frame.width * 3].reshape(frame.height, frame.width, 3)
    return pix.astype(np.int64) >> 4  # xyz12le keeps the 12 bits in the top of each 16-bit word


def _picture(h: int, w: int, seed: int = 0) -> npt.NDArray[np.uint8]:
    yy, xx = np.mgrid[0:h, 0:w]
    rgb = np.stack(
        [xx / max(w - 1, 1), yy / max(h - 1, 1), 0.5 + 0.4 * np.sin(xx / 9.0 + yy / 13.0)], axis=-1
    )
    noise = np.random.default_rng(seed).normal(0, 0.01, rgb.shape)
    return np.clip(np.rint((rgb + noise) * 255), 0, 255).astype(np.uint8)


def _check_cinema_2k(info: dict[str, object], size: tuple[int, int]) -> None:
    assert info["rsiz"] == 3  # CINEMA_2K
    assert info["size"] == size and info["tile"] == size  # one tile
    assert info["components"] == 3 and info["bits"] == [12, 12, 12] and info["signed"] == [False] * 3
    assert info["progression"] == 4  # CPRL
    assert info["levels"] == 5 and info["codeblock"] == (32, 32)
    assert info["transform"] == 0 and info["mct"] == 1  # irreversible 9/7 with the colour transform
    # Cinema profile precincts: 128×128 for the lowest resolution, 256×256 for the others.
    assert info["precincts"] == [(128, 128)] + [(256, 256)] * 5
    assert info["tlm"] is True
    assert info["tile_parts"] == [(0, 0, 3), (0, 1, 3), (0, 2, 3)]


def test_encode_tiny_frame_markers_and_decode(tmp_path: Path) -> None:
    xyz = rgb_to_xyz12(_picture(96, 128))
    out = tmp_path / "frame.j2c"
    size = encode_j2k(xyz, out)
    data = out.read_bytes()
    assert size == len(data) and is_valid_j2c(out)
    _check_cinema_2k(_markers(data), (128, 96))
    back = _decode_ffmpeg(out)
    assert back.shape == xyz.shape
    err = np.abs(back - xyz.astype(np.int64))
    assert err.mean() < 3 and np.percentile(err, 99) < 20
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no partial files left


def test_encode_2k_flat_frame_within_bitrate(tmp_path: Path) -> None:
    rgb = _picture(1080, 1998, seed=5)
    xyz = rgb_to_xyz12(rgb)
    out = tmp_path / "flat.j2c"
    size = encode_j2k(xyz, out, fps=24)
    assert frame_limit_bytes(24) == 1_302_083
    assert 100_000 < size <= 1_302_083
    _check_cinema_2k(_markers(out.read_bytes()), (1998, 1080))
    back = _decode_ffmpeg(out)
    mse = np.mean((back - xyz.astype(np.int64)) ** 2)
    assert 10 * np.log10(4095**2 / mse) > 45  # PSNR in 12-bit code values
    err = np.abs(np.rint(xyz12_to_rgb(back) * 255) - rgb)
    assert np.median(err) <= 1 and err[rgb >= 64].mean() < 2  # back in 8-bit Rec.709 code values


def test_rate_cap_and_errors(tmp_path: Path) -> None:
    noise = np.random.default_rng(0).integers(0, 4096, size=(96, 128, 3)).astype(np.uint16)
    out = tmp_path / "x.j2c"
    with pytest.raises(MediaError):
        encode_j2k(noise, out, max_bitrate=1_000_000)  # 5,208 bytes a frame: too small for noise
    assert not out.exists() and not list(tmp_path.iterdir())
    assert encode_j2k(noise, out, fps=48) <= frame_limit_bytes(48)
    with pytest.raises(UsageError):
        encode_j2k(np.zeros((1081, 64, 3), np.uint16), out)
    with pytest.raises(UsageError):
        encode_j2k(noise.astype(np.float32), out)
    with pytest.raises(UsageError):
        encode_j2k(noise, out, fps=60)
    with pytest.raises(UsageError):
        encode_j2k(noise, out, profile="4k")


def test_sequence_resumes_frame_by_frame(tmp_path: Path) -> None:
    frames = [rgb_to_xyz12(_picture(48, 64, seed=i)) for i in range(4)]
    pulled: list[int] = []

    def interrupted() -> Iterator[npt.NDArray[np.uint16]]:
        for i, f in enumerate(frames):
            if i == 2:
                raise KeyboardInterrupt
            pulled.append(i)
            yield f

    with pytest.raises(KeyboardInterrupt):
        encode_sequence(interrupted(), tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["000000.j2c", "000001.j2c"]
    first = (tmp_path / "000000.j2c").stat().st_mtime_ns
    (tmp_path / "000001.j2c").write_bytes(b"\xff\x4f\x00\x00")  # damaged: no EOC

    result = encode_sequence(frames, tmp_path)
    assert (result.encoded, result.skipped) == (3, 1)
    assert [p.name for p in result.paths] == [f"{i:06d}.j2c" for i in range(4)]
    assert (tmp_path / "000000.j2c").stat().st_mtime_ns == first
    assert result.total_bytes == sum(p.stat().st_size for p in result.paths)
    for i, p in enumerate(result.paths):
        assert is_valid_j2c(p)
        assert np.abs(_decode_ffmpeg(p) - frames[i].astype(np.int64)).mean() < 3

    again = encode_sequence(frames, tmp_path)
    assert (again.encoded, again.skipped) == (0, 4)
    assert not is_valid_j2c(tmp_path / "missing.j2c")


def test_a_frame_over_the_cap_is_encoded_again_under_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OpenJPEG's rate control can end a few bytes over the 250 Mbit/s cap: that frame is re-encoded."""
    import glymur

    import posthouse.finish.dcp_picture as dp

    real = dp._jp2k_class
    tried: list[float] = []

    def overshooting(glymur_mod: Any, margin: float) -> Any:
        tried.append(margin)
        if margin == 1.0:  # what OpenJPEG did on a grainy frame: 14 bytes over
            return lambda path, **_: Path(path).write_bytes(b"\0" * (dp.frame_limit_bytes(24) + 14))
        return real(glymur_mod, margin)

    monkeypatch.setattr(dp, "_jp2k_class", overshooting)
    size = dp.encode_j2k(np.full((1080, 1998, 3), 2000, np.uint16), tmp_path / "f.j2c", fps=24)
    assert tried == [1.0, 0.98] and size <= dp.frame_limit_bytes(24)
    assert dp.is_valid_j2c(tmp_path / "f.j2c")
    assert glymur.Jp2k(str(tmp_path / "f.j2c"))[:].shape == (1080, 1998, 3)
