"""Make a SMPTE DCP (OV) from a picture master and a printmaster, and version files (VF) for dubs.

:func:`make_dcp` runs the whole chain::

    master movie ─ decode (PyAV, rgb48le) ─ fit into the 2K container (FFmpeg Lanczos, black bars)
                 ─ rgb_to_xyz12 ─ JPEG 2000 (one .j2c per frame in a work folder, resumable,
                   ``jobs`` worker processes) ─ picture MXF (ST 429-4)
    printmaster WAV (5.1 L R C LFE Ls Rs, or stereo) ─ 24-bit 48 kHz, resampled by 1001/1000 when a
                 23.976 master plays at 24 ─ one block per edit unit ─ sound MXF (ST 429-3)
    subtitles (SRT/VTT/TTML or a SubtitleTrack) ─ ST 428-7 XML + font ─ timed-text MXF (ST 429-5)
    ─ CPL (ST 429-7 + ST 429-16 metadata), PKL (ST 429-8, SHA-1), ASSETMAP + VOLINDEX (ST 429-9)

The package is written into a hidden temporary folder beside the destination and renamed to its ISDCF name
at the end, so a DCP folder either is complete or does not exist. The J2K frames live in a work folder
(``.NAME.work`` keyed by the master and the picture settings) until the picture MXF is written: a killed
run resumes from the first missing frame. :func:`make_version_file` makes a VF whose CPL plays the OV's
picture with a new (dubbed) sound track file.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from posthouse.core.errors import MediaError, UsageError
from posthouse.core.progress import NULL_PROGRESS, CancelToken, Progress
from posthouse.finish.dcp_naming import CONTENT_KINDS, IsdcfName, isdcf_title, parse_isdcf_name
from posthouse.finish.dcp_picture import Source, encode_j2k, is_valid_j2c, rgb_to_xyz12
from posthouse.finish.dcp_subtitle import dcp_subtitles
from posthouse.finish.dcp_xml import (
    CPL_NS,
    AssetMapEntry,
    Cpl,
    CplAsset,
    CplMetadata,
    CplReel,
    PklAsset,
    assetmap_xml,
    cpl_xml,
    file_sha1_b64,
    pkl_xml,
    volindex_xml,
)
from posthouse.finish.subtitles import SubtitleTrack

__all__ = [
    "CONTAINERS",
    "DCP_RATES",
    "DcpResult",
    "OvInfo",
    "PictureJob",
    "container_size",
    "dcp_frame",
    "dcp_rate",
    "fit_in_container",
    "make_dcp",
    "make_version_file",
    "read_ov",
    "reel_ranges",
    "sound_blocks",
]

Container = Literal["flat", "scope"]
#: 2K containers (SMPTE ST 429-2): flat 1.85 and scope 2.39.
CONTAINERS: dict[str, tuple[int, int]] = {"flat": (1998, 1080), "scope": (2048, 858)}
#: Projection rates a DCP may carry.
DCP_RATES: tuple[int, ...] = (24, 25, 30, 48, 50, 60)
_SOUND_RATE = 48000
_LAYOUTS = {6: ("5.1", "51", "51/L,R,C,LFE,Ls,Rs"), 2: ("stereo", "20", "20/L,R")}
_MAX24 = 2**23 - 1
_SOUND_CHUNK_UNITS = 240  # edit units read at a time (10 s at 24 fps)


# ------------------------------------------------------------------------------------------- helpers


def dcp_rate(rate: Fraction | float | int) -> int:
    """The DCP projection rate for a master rate: 23.976 → 24, 29.97 → 30, 25 → 25 (UsageError if none)."""
    r = Fraction(rate).limit_denominator(1001)
    for cand in DCP_RATES:
        if r == cand or r == Fraction(cand * 1000, 1001):
            return cand
    raise UsageError(
        f"frame rate {float(r):.3f} has no DCP equivalent",
        where="make_dcp",
        hint="DCP rates are 24, 25, 30, 48, 50, 60 (23.976 plays at 24)",
    )


def container_size(container: str) -> tuple[int, int]:
    """(width, height) of a 2K container name (``flat`` or ``scope``)."""
    if container not in CONTAINERS:
        raise UsageError(
            f"unknown DCP container {container!r}", hint="use flat (1998×1080) or scope (2048×858)"
        )
    return CONTAINERS[container]


def fit_in_container(width: int, height: int, container: tuple[int, int]) -> tuple[int, int]:
    """Largest (width, height) of the master's aspect that fits the container (even sizes, never larger)."""
    cw, ch = container
    scale = min(Fraction(cw, width), Fraction(ch, height))
    w = min(cw, max(2, round(width * scale / 2) * 2))
    h = min(ch, max(2, round(height * scale / 2) * 2))
    return w, h


def _letterbox(frame: npt.NDArray[Any], size: tuple[int, int], container: tuple[int, int]) -> Any:
    """Scale ``frame`` (uint8 or uint16 RGB) to ``size`` with FFmpeg's Lanczos and centre it on black."""
    import av

    if frame.dtype == np.uint8:
        frame = frame.astype(np.uint16) * np.uint16(257)
    w, h = size
    if (frame.shape[1], frame.shape[0]) != (w, h):
        vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb48le")
        frame = vf.reformat(width=w, height=h, interpolation="LANCZOS").to_ndarray()
    cw, ch = container
    if (w, h) == (cw, ch):
        return frame
    out = np.zeros((ch, cw, 3), np.uint16)
    y, x = (ch - h) // 2, (cw - w) // 2
    out[y : y + h, x : x + w] = frame
    return out


def _encode_frame(xyz: npt.NDArray[np.uint16], path: Path, fps: int) -> int:
    """Encode one frame (``encode_j2k`` re-encodes a frame OpenJPEG's rate control leaves over the cap)."""
    return encode_j2k(xyz, path, fps=fps)


def _encode_job(item: tuple[str, int, npt.NDArray[np.uint16]]) -> int:
    """Worker: encode one X'Y'Z' frame to its .j2c (module level so worker processes can run it)."""
    path, fps, xyz = item
    return _encode_frame(xyz, Path(path), fps)


# -------------------------------------------------------------------------------------------- sound


def sound_blocks(
    path: str | Path,
    *,
    edit_rate: int,
    duration: int,
    speed: Fraction = Fraction(1),
) -> Iterator[npt.NDArray[np.int32]]:
    """The printmaster as 24-bit 48 kHz blocks of one edit unit each, ``(samples, channels)`` int32.

    Exactly ``duration`` blocks: the sound is trimmed or padded with silence to the picture. ``speed`` > 1
    plays faster (1001/1000 when a 23.976 master plays at 24); it and any sample rate other than 48 kHz are
    handled by the house's windowed-sinc resampler. 24-bit WAV at 48 kHz and speed 1 pass bit-exact.
    """
    import soundfile as sf

    from posthouse.core.resample import TAPS, read_at

    p = Path(path)
    if _SOUND_RATE % edit_rate:
        raise UsageError(f"edit rate {edit_rate} does not divide 48 kHz", path=p)
    spf = _SOUND_RATE // edit_rate
    try:
        fh = sf.SoundFile(str(p))
    except (RuntimeError, OSError) as exc:
        raise MediaError(
            f"cannot read sound: {exc}", path=p, hint="the printmaster must be a WAV/BWF"
        ) from exc
    with fh:
        channels = fh.channels
        ratio = Fraction(fh.samplerate, _SOUND_RATE) * speed
        total = fh.frames
        step = spf * _SOUND_CHUNK_UNITS
        for first in range(0, duration * spf, step):
            count = min(step, duration * spf - first)
            if ratio == 1:
                fh.seek(min(first, total))
                data = fh.read(count, dtype="int32", always_2d=True) >> 8
                if data.shape[0] < count:
                    data = np.concatenate([data, np.zeros((count - data.shape[0], channels), np.int32)])
            else:
                pos = (np.arange(first, first + count, dtype=np.float64) * float(ratio.numerator)) / float(
                    ratio.denominator
                )
                lo = max(int(np.floor(pos[0])) - TAPS - 1, 0)
                hi = min(int(np.ceil(pos[-1])) + TAPS + 2, total)
                if lo >= hi:
                    data = np.zeros((count, channels), np.int32)
                else:
                    fh.seek(lo)
                    src = (fh.read(hi - lo, dtype="int32", always_2d=True) >> 8).astype(np.float32)
                    res = read_at(src.T, pos - lo)
                    data = np.clip(np.rint(res.T), -_MAX24 - 1, _MAX24).astype(np.int32)
            for k in range(0, count, spf):
                yield np.ascontiguousarray(data[k : k + spf])


def _sound_info(path: Path) -> tuple[int, int]:
    import soundfile as sf

    try:
        info = sf.info(str(path))
    except (RuntimeError, OSError) as exc:
        raise MediaError(
            f"cannot read sound: {exc}", path=path, hint="the printmaster must be a WAV/BWF"
        ) from exc
    if info.channels not in _LAYOUTS:
        raise UsageError(
            f"printmaster has {info.channels} channels",
            path=path,
            hint="a DCP printmaster is 5.1 (6 channels: L R C LFE Ls Rs) or stereo (2)",
        )
    return int(info.channels), int(info.samplerate)


# -------------------------------------------------------------------------------------------- result


@dataclass(frozen=True, slots=True)
class DcpResult:
    """What :func:`make_dcp` / :func:`make_version_file` wrote."""

    path: Path
    name: str
    package: Literal["OV", "VF"]
    cpl_id: uuid.UUID
    pkl_id: uuid.UUID
    picture_id: uuid.UUID
    sound_id: uuid.UUID | None
    subtitle_id: uuid.UUID | None
    edit_rate: int
    duration: int
    container: tuple[int, int]
    active_area: tuple[int, int]
    channels: int
    encoded: int = 0
    skipped: int = 0
    picture_bytes: int = 0
    files: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)
    reels: int = 1

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly summary."""
        seconds = self.duration / self.edit_rate if self.edit_rate else 0.0
        return {
            "path": str(self.path),
            "name": self.name,
            "package": self.package,
            "cpl_id": str(self.cpl_id),
            "pkl_id": str(self.pkl_id),
            "picture_id": str(self.picture_id),
            "sound_id": str(self.sound_id) if self.sound_id else None,
            "subtitle_id": str(self.subtitle_id) if self.subtitle_id else None,
            "edit_rate": self.edit_rate,
            "duration_frames": self.duration,
            "duration_seconds": round(seconds, 3),
            "container": f"{self.container[0]}x{self.container[1]}",
            "active_area": f"{self.active_area[0]}x{self.active_area[1]}",
            "channels": self.channels,
            "reels": self.reels,
            "frames_encoded": self.encoded,
            "frames_resumed": self.skipped,
            "picture_bytes": self.picture_bytes,
            "average_mbit_s": round(self.picture_bytes * 8 / seconds / 1e6, 2) if seconds else 0.0,
            "files": list(self.files),
            "notes": list(self.notes),
        }


# ------------------------------------------------------------------------------------------- package


def _mxf_api() -> Any:
    try:
        from posthouse.finish import mxf
    except ImportError as exc:  # the MXF writer lands separately
        raise UsageError("the MXF writer (posthouse.finish.mxf) is not available", where="make_dcp") from exc
    return mxf


def _write_package(
    tmp: Path,
    name: str,
    cpl: Cpl,
    track_files: Sequence[tuple[uuid.UUID, Path, str]],
    issue_date: datetime,
    issuer: str,
) -> uuid.UUID:
    """Write CPL, PKL, ASSETMAP and VOLINDEX into ``tmp`` for ``track_files`` (id, path, annotation)."""
    cpl_path = tmp / f"CPL_{cpl.id}.xml"
    cpl_path.write_bytes(cpl_xml(cpl))
    pkl_id = uuid.uuid4()
    assets = [PklAsset.of_file(i, p, "application/mxf", ann) for i, p, ann in track_files]
    assets.append(PklAsset.of_file(cpl.id, cpl_path, "text/xml", name))
    pkl_path = tmp / f"PKL_{pkl_id}.xml"
    pkl_path.write_bytes(
        pkl_xml(pkl_id, assets, annotation=name, issue_date=issue_date, issuer=issuer, creator=cpl.creator)
    )
    entries = [AssetMapEntry(pkl_id, pkl_path.name, pkl_path.stat().st_size, packing_list=True)]
    entries.append(AssetMapEntry(cpl.id, cpl_path.name, cpl_path.stat().st_size))
    entries += [AssetMapEntry(i, p.name, p.stat().st_size) for i, p, _ in track_files]
    (tmp / "ASSETMAP.xml").write_bytes(
        assetmap_xml(
            uuid.uuid4(), entries, annotation=name, issue_date=issue_date, issuer=issuer, creator=cpl.creator
        )
    )
    (tmp / "VOLINDEX.xml").write_bytes(volindex_xml())
    return pkl_id


def _publish(tmp: Path, dest: Path, overwrite: bool) -> None:
    """Rename the finished temporary folder onto ``dest`` (replacing it only when ``overwrite``)."""
    if dest.exists():
        if not overwrite:
            raise UsageError("the DCP folder already exists", path=dest, hint="pass overwrite=True (--force)")
        trash = dest.with_name(f".{dest.name}.old-{uuid.uuid4().hex[:8]}")
        os.replace(dest, trash)
        os.replace(tmp, dest)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        os.replace(tmp, dest)


def _temp_folder(out_root: Path, name: str) -> Path:
    out_root.mkdir(parents=True, exist_ok=True)
    tmp = out_root / f".{name}.partial-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    return tmp


def _name_for(
    name: IsdcfName | str | None,
    *,
    title: str,
    kind: str,
    container: str,
    language: str,
    subtitle_language: str,
    territory: str,
    rating: str,
    audio: str,
    studio: str,
    facility: str,
    package: str,
    day: datetime,
) -> IsdcfName:
    if isinstance(name, IsdcfName):
        return name
    if isinstance(name, str):
        return parse_isdcf_name(name)
    if kind not in CONTENT_KINDS:
        raise UsageError(f"unknown content kind {kind!r}", hint=f"use one of {', '.join(CONTENT_KINDS)}")
    return IsdcfName(
        title=isdcf_title(title),
        kind=CONTENT_KINDS[kind],
        version=1,
        aspect="S" if container == "scope" else "F",
        audio_language=language[:3].upper(),
        subtitle_language=(subtitle_language or "XX")[:3].upper(),
        territory=territory.upper(),
        rating=rating.upper(),
        audio=audio,
        studio=studio.upper(),
        date=day.date(),
        facility=facility.upper(),
        package=package,
    )


def _work_key(master: Path, container: str, fps: int, source: str) -> dict[str, Any]:
    st = master.stat()
    return {
        "master": str(master.resolve()),
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "container": container,
        "fps": fps,
        "source": source,
    }


def _prepare_work(work: Path, key: dict[str, Any]) -> None:
    """Keep the frames in ``work`` only if they were made from the same master with the same settings."""
    marker = work / "source.json"
    if work.exists():
        try:
            same = json.loads(marker.read_text(encoding="utf-8")) == key
        except (OSError, ValueError):
            same = False
        if not same:
            shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps(key, indent=1), encoding="utf-8")


def dcp_frame(
    rgb: npt.NDArray[Any], *, size: tuple[int, int], container: tuple[int, int], source: Source = "rec709"
) -> npt.NDArray[np.uint16]:
    """One master frame (RGB, uint8 or uint16) as the DCP carries it: scaled to ``size`` (see
    :func:`fit_in_container`), centred in ``container`` on black, in 12-bit X'Y'Z'."""
    return rgb_to_xyz12(_letterbox(rgb, size, container), source=source)


@dataclass(frozen=True, slots=True)
class PictureJob:
    """The picture encode :func:`make_dcp` needs: every frame of ``master`` as ``work/NNNNNN.j2c``.

    Handed to a ``picture_encoder`` (a render farm, say) that writes the frames with :func:`dcp_frame` and
    ``encode_j2k``; :func:`make_dcp` then keeps every valid frame it finds and encodes only what is missing.
    """

    master: Path
    work: Path
    size: tuple[int, int]
    container: tuple[int, int]
    fps: int
    source: Source
    frames: int


def _encode_picture(
    master: Path,
    work: Path,
    *,
    size: tuple[int, int],
    container: tuple[int, int],
    fps: int,
    source: Source,
    total: int,
    jobs: int,
    progress: Progress,
    cancel: CancelToken | None,
) -> tuple[list[Path], int, int]:
    """Encode every master frame to ``work/NNNNNN.j2c``, skipping valid ones; (paths, encoded, skipped)."""
    from posthouse.core.jobs import LocalExecutor, raise_for_failures
    from posthouse.core.media import iter_video_frames

    paths: list[Path] = []
    encoded = skipped = 0
    pending: list[tuple[str, int, npt.NDArray[np.uint16]]] = []
    executor = LocalExecutor(jobs) if jobs > 1 else None

    def flush() -> None:
        nonlocal encoded
        if not pending or executor is None:
            return
        raise_for_failures(executor.map(_encode_job, list(pending), cancel=cancel), what="frames")
        encoded += len(pending)
        progress.advance(len(pending))
        pending.clear()

    from posthouse.core.media import probe

    info = probe(master)
    deep = (info.video[0].bit_depth or 16) if info.video else 16
    progress.start("encoding JPEG 2000", total or None)
    try:
        # an 8-bit master decodes exactly as rgb24 and is expanded ×257 (255 → 65535); swscale's rgb48
        # from 8-bit sources scales by ×256, 0.4 % dark at white
        for index, rgb in iter_video_frames(master, format="rgb24" if deep <= 8 else "rgb48le"):
            if cancel is not None:
                cancel.raise_if_cancelled()
            path = work / f"{index:06d}.j2c"
            paths.append(path)
            if is_valid_j2c(path):
                skipped += 1
                progress.advance()
                continue
            xyz = dcp_frame(rgb, size=size, container=container, source=source)
            if executor is None:
                _encode_frame(xyz, path, fps)
                encoded += 1
                progress.advance()
            else:
                pending.append((str(path), fps, xyz))
                if len(pending) >= 2 * jobs:
                    flush()
        flush()
    finally:
        progress.finish()
        if executor is not None:
            executor.close()
    if not paths:
        raise MediaError("the master has no picture frames", path=master)
    return paths, encoded, skipped


def _codestreams(paths: Sequence[Path]) -> Iterator[bytes]:
    for p in paths:
        yield p.read_bytes()


def _read_subtitles(subtitles: str | Path | SubtitleTrack, language: str, rate: Fraction) -> SubtitleTrack:
    if isinstance(subtitles, SubtitleTrack):
        track = subtitles
    else:
        from posthouse.finish.subtitle_formats import read_subtitles

        track = read_subtitles(subtitles, language=language or "en", rate=rate)
    return replace(track, language=language or track.language or "en")


def reel_ranges(duration: int, edit_rate: int, reel_seconds: int | None) -> list[tuple[int, int]]:
    """(first frame, frames) of each reel: one reel, or reels of ``reel_seconds``; a last reel shorter than
    one second (ClairMeta's and the players' minimum) is joined to the one before."""
    if not reel_seconds:
        return [(0, duration)]
    if reel_seconds < 1:
        raise UsageError(f"reels of {reel_seconds} s", hint="a reel lasts at least one second")
    size = reel_seconds * edit_rate
    ranges = [(start, min(size, duration - start)) for start in range(0, duration, size)]
    if len(ranges) > 1 and ranges[-1][1] < edit_rate:
        last = ranges.pop()
        ranges[-1] = (ranges[-1][0], ranges[-1][1] + last[1])
    return ranges


def _picture_asset(
    tmp: Path, mxf: Any, paths: Sequence[Path], *, edit_rate: int, container: tuple[int, int]
) -> tuple[CplAsset, Path]:
    pic_id = uuid.uuid4()
    path = tmp / f"j2c_{pic_id}.mxf"
    info = mxf.write_picture_mxf(
        path,
        _codestreams(paths),
        edit_rate=Fraction(edit_rate),
        width=container[0],
        height=container[1],
        asset_id=pic_id,
    )
    asset = CplAsset(
        "picture",
        info.asset_id,
        Fraction(edit_rate),
        len(paths),
        hash=file_sha1_b64(path),
        annotation=path.name,
        screen_aspect=container,
    )
    return asset, path


def _sound_asset(
    tmp: Path,
    mxf: Any,
    blocks: Iterator[npt.NDArray[np.int32]],
    *,
    count: int,
    edit_rate: int,
    channels: int,
    language: str,
) -> tuple[CplAsset, Path]:
    snd_id = uuid.uuid4()
    path = tmp / f"pcm_{snd_id}.mxf"
    info = mxf.write_sound_mxf(
        path,
        itertools.islice(blocks, count),
        edit_rate=Fraction(edit_rate),
        channels=channels,
        sample_rate=_SOUND_RATE,
        layout=_LAYOUTS[channels][0],
        language=language,
        asset_id=snd_id,
    )
    asset = CplAsset(
        "sound",
        info.asset_id,
        Fraction(edit_rate),
        count,
        hash=file_sha1_b64(path),
        annotation=path.name,
        language=language,
    )
    return asset, path


def _subtitle_asset(
    tmp: Path,
    mxf: Any,
    track: SubtitleTrack,
    *,
    source_rate: Fraction,
    edit_rate: int,
    count: int,
    offset: int,
    reel_number: int,
    title: str,
    issue_date: datetime,
) -> tuple[CplAsset, Path]:
    rendered = dcp_subtitles(
        track,
        edit_rate=edit_rate,
        duration=count,
        title=title,
        source_rate=source_rate,
        issue_date=issue_date,
        reel_number=reel_number,
        offset=offset,
    )
    asset_id = uuid.uuid4()  # not the document's Id: equal ids trip older Dolby servers
    path = tmp / f"sub_{asset_id}.mxf"
    info = mxf.write_timed_text_mxf(
        path,
        rendered.xml,
        edit_rate=Fraction(edit_rate),
        duration=count,
        resources=[(rendered.font_id, "application/x-font-opentype", rendered.font)],
        language=track.language,
        asset_id=asset_id,
    )
    asset = CplAsset(
        "subtitle",
        info.asset_id,
        Fraction(edit_rate),
        count,
        hash=file_sha1_b64(path),
        annotation=path.name,
        language=track.language,
    )
    return asset, path


def make_dcp(
    master: str | Path,
    out_root: str | Path,
    *,
    audio: str | Path | None = None,
    subtitles: str | Path | SubtitleTrack | None = None,
    name: IsdcfName | str | None = None,
    title: str = "",
    kind: str = "feature",
    container: Container | None = None,
    fps: int | None = None,
    source: Source = "rec709",
    language: str = "en",
    subtitle_language: str = "",
    territory: str = "US",
    rating: str = "",
    studio: str = "PH",
    facility: str = "PH",
    issuer: str = "posthouse",
    reel_seconds: int | None = None,
    jobs: int = 1,
    work_dir: str | Path | None = None,
    keep_work: bool = False,
    overwrite: bool = False,
    issue_date: datetime | None = None,
    picture_encoder: Callable[[PictureJob], object] | None = None,
    progress: Progress = NULL_PROGRESS,
    cancel: CancelToken | None = None,
) -> DcpResult:
    """Make an OV DCP in ``out_root/<ISDCF name>/`` from ``master`` (picture) and ``audio`` (printmaster).

    ``container`` defaults to scope for masters wider than 2:1, else flat; ``fps`` to the master's
    projection rate (23.976 → 24, its sound sped up by 1001/1000). Without ``audio`` the DCP is picture only.
    ``subtitles`` (SRT/VTT/TTML path or a track) adds a timed-text track in ``subtitle_language`` (default
    ``language``). One reel, or reels of ``reel_seconds``. The J2K frames are kept in ``work_dir`` (default
    ``out_root/.<master>.<container>.<fps>.work``) until the picture MXF is written, so a killed run
    resumes; ``jobs`` > 1 encodes on that many processes. ``picture_encoder`` (e.g. chunks on a render
    farm) is given the :class:`PictureJob` first; the frames it leaves are kept.
    """
    from posthouse.core.media import probe

    src = Path(master)
    mxf = _mxf_api()
    info = probe(src)
    if not info.video:
        raise MediaError("the master has no video stream", path=src)
    video = info.video[0]
    if video.rate is None:
        raise MediaError("the master's frame rate is unknown", path=src)
    edit_rate = fps or dcp_rate(video.rate)
    if edit_rate not in DCP_RATES:
        raise UsageError(f"--fps {edit_rate} is not a DCP rate", hint="24, 25, 30, 48, 50 or 60")
    master_rate = Fraction(video.rate)
    speed = Fraction(edit_rate) / master_rate
    sar = video.sample_aspect or Fraction(1)
    display_w = max(1, round(video.width * sar))
    cont_name = container or ("scope" if Fraction(display_w, video.height) > 2 else "flat")
    cont = container_size(cont_name)
    active = fit_in_container(display_w, video.height, cont)

    channels = 0
    if audio is not None:
        channels, _ = _sound_info(Path(audio))
    track = None
    if subtitles is not None:
        track = _read_subtitles(subtitles, subtitle_language or language, master_rate)
    day = (issue_date or datetime.now(UTC)).replace(microsecond=0)
    isdcf = _name_for(
        name,
        title=title or src.stem,
        kind=kind,
        container=cont_name,
        language=language,
        subtitle_language=track.language if track is not None else "",
        territory=territory,
        rating=rating,
        audio=_LAYOUTS[channels][1] if channels else "MOS",
        studio=studio,
        facility=facility,
        package="OV",
        day=day,
    )
    dcp_name = isdcf.build()
    root = Path(out_root)
    dest = root / dcp_name
    if dest.exists() and not overwrite:
        raise UsageError("the DCP folder already exists", path=dest, hint="pass overwrite=True (--force)")
    work = Path(work_dir) if work_dir is not None else root / f".{src.stem}.{cont_name}.{edit_rate}.work"
    _prepare_work(work, _work_key(src, cont_name, edit_rate, source))
    if picture_encoder is not None:
        picture_encoder(PictureJob(src, work, active, cont, edit_rate, source, video.frames))

    paths, encoded, skipped = _encode_picture(
        src,
        work,
        size=active,
        container=cont,
        fps=edit_rate,
        source=source,
        total=video.frames,
        jobs=max(1, jobs),
        progress=progress,
        cancel=cancel,
    )
    duration = len(paths)
    picture_bytes = sum(p.stat().st_size for p in paths)
    ranges = reel_ranges(duration, edit_rate, reel_seconds)

    tmp = _temp_folder(root, dcp_name)
    try:
        blocks = (
            sound_blocks(audio, edit_rate=edit_rate, duration=duration, speed=speed)
            if audio is not None
            else None
        )
        reels: list[CplReel] = []
        track_files: list[tuple[uuid.UUID, Path, str]] = []
        for n, (start, count) in enumerate(ranges, 1):
            pic, pic_path = _picture_asset(
                tmp, mxf, paths[start : start + count], edit_rate=edit_rate, container=cont
            )
            track_files.append((pic.id, pic_path, f"picture, reel {n}"))
            snd = sub = None
            if blocks is not None:
                snd, snd_path = _sound_asset(
                    tmp, mxf, blocks, count=count, edit_rate=edit_rate, channels=channels, language=language
                )
                track_files.append((snd.id, snd_path, f"sound, reel {n}"))
            if track is not None:
                sub, sub_path = _subtitle_asset(
                    tmp,
                    mxf,
                    track,
                    source_rate=master_rate,
                    edit_rate=edit_rate,
                    count=count,
                    offset=start,
                    reel_number=n,
                    title=dcp_name,
                    issue_date=day,
                )
                track_files.append((sub.id, sub_path, f"subtitles, reel {n}"))
            reels.append(CplReel(uuid.uuid4(), pic, snd, sub))
        cpl = Cpl(
            id=uuid.uuid4(),
            title=dcp_name,
            kind=isdcf.content_kind,
            reels=tuple(reels),
            issue_date=day,
            issuer=issuer,
            content_version_label=f"{dcp_name}_{day:%Y%m%d}",
            metadata=CplMetadata(
                full_title=title or src.stem,
                sound_configuration=_LAYOUTS[channels][2] if channels else "20/L,R",
                stored_area=cont,
                active_area=active,
                release_territory=territory.upper(),
                facility=facility.upper(),
                subtitle_languages=(track.language,) if track is not None else (),
            ),
        )
        pkl_id = _write_package(tmp, dcp_name, cpl, track_files, day, issuer)
        files = tuple(sorted(p.name for p in tmp.iterdir()))
        _publish(tmp, dest, overwrite)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if not keep_work:
        shutil.rmtree(work, ignore_errors=True)
    notes = []
    if speed != 1:
        notes.append(f"master at {float(master_rate):.3f} fps plays at {edit_rate}; sound sped up by {speed}")
    if active != cont:
        notes.append(f"picture {active[0]}x{active[1]} centred in the {cont[0]}x{cont[1]} container")
    return _result(
        dest,
        dcp_name,
        "OV",
        cpl,
        pkl_id,
        reels,
        edit_rate=edit_rate,
        duration=duration,
        container=cont,
        active_area=active,
        channels=channels,
        encoded=encoded,
        skipped=skipped,
        picture_bytes=picture_bytes,
        files=files,
        notes=tuple(notes),
    )


def _result(
    dest: Path,
    name: str,
    package: Literal["OV", "VF"],
    cpl: Cpl,
    pkl_id: uuid.UUID,
    reels: Sequence[CplReel],
    **fields: Any,
) -> DcpResult:
    """The :class:`DcpResult` of a published package (asset ids from its first reel)."""
    first = reels[0]
    return DcpResult(
        path=dest,
        name=name,
        package=package,
        cpl_id=cpl.id,
        pkl_id=pkl_id,
        picture_id=first.picture.id,
        sound_id=first.sound.id if first.sound else None,
        subtitle_id=first.subtitle.id if first.subtitle else None,
        reels=len(reels),
        **fields,
    )


# ---------------------------------------------------------------------------------------------- VF


@dataclass(frozen=True, slots=True)
class OvInfo:
    """What a VF needs from its OV: the CPL's name and the picture asset of each reel."""

    path: Path
    name: str
    pictures: tuple[CplAsset, ...]
    stored_area: tuple[int, int]
    active_area: tuple[int, int]

    @property
    def picture(self) -> CplAsset:
        """The first reel's picture asset."""
        return self.pictures[0]


def _text(el: ET.Element | None, tag: str, ns: dict[str, str]) -> str:
    found = el.find(tag, ns) if el is not None else None
    return (found.text or "").strip() if found is not None else ""


def _area(meta: ET.Element | None, tag: str, ns: dict[str, str], default: tuple[int, int]) -> tuple[int, int]:
    el = meta.find(tag, ns) if meta is not None else None
    if el is None:
        return default
    return int(_text(el, "m:Width", ns)), int(_text(el, "m:Height", ns))


def _picture_of(pic: ET.Element, ns: dict[str, str]) -> CplAsset:
    num, den = (int(v) for v in _text(pic, "c:EditRate", ns).split())
    aspect = tuple(int(v) for v in (_text(pic, "c:ScreenAspectRatio", ns) or "1998 1080").split())
    dur = _text(pic, "c:Duration", ns)
    return CplAsset(
        "picture",
        uuid.UUID(_text(pic, "c:Id", ns).removeprefix("urn:uuid:")),
        Fraction(num, den),
        int(_text(pic, "c:IntrinsicDuration", ns)),
        entry_point=int(_text(pic, "c:EntryPoint", ns) or 0),
        duration=int(dur) if dur else None,
        hash=_text(pic, "c:Hash", ns) or None,
        annotation=_text(pic, "c:AnnotationText", ns),
        frame_rate=None,
        screen_aspect=(aspect[0], aspect[1]),
    )


def read_ov(ov: str | Path) -> OvInfo:
    """Read an OV folder's CPL (the first one found) for its name and each reel's picture asset."""
    folder = Path(ov)
    ns = {"c": CPL_NS, "m": "http://www.smpte-ra.org/schemas/429-16/2014/CPL-Metadata"}
    for xml_path in sorted(folder.glob("*.xml")):
        try:
            root = ET.parse(xml_path).getroot()
        except ET.ParseError:
            continue
        if root.tag != f"{{{CPL_NS}}}CompositionPlaylist":
            continue
        pics = root.findall("c:ReelList/c:Reel/c:AssetList/c:MainPicture", ns)
        if not pics or len(pics) != len(root.findall("c:ReelList/c:Reel", ns)):
            raise MediaError("a reel of the OV's CPL has no MainPicture", path=xml_path)
        pictures = tuple(_picture_of(p, ns) for p in pics)
        meta = root.find(".//m:CompositionMetadataAsset", ns)
        first = pictures[0].screen_aspect
        return OvInfo(
            folder,
            _text(root, "c:ContentTitleText", ns),
            pictures,
            _area(meta, "m:MainPictureStoredArea", ns, first),
            _area(meta, "m:MainPictureActiveArea", ns, first),
        )
    raise UsageError("no SMPTE CPL found in the OV folder", path=folder, hint="point at the OV DCP's folder")


def make_version_file(
    ov: str | Path,
    audio: str | Path,
    out_root: str | Path,
    *,
    language: str,
    subtitles: str | Path | SubtitleTrack | None = None,
    subtitle_language: str = "",
    source_fps: Fraction | float | int | None = None,
    name: IsdcfName | str | None = None,
    issuer: str = "posthouse",
    overwrite: bool = False,
    issue_date: datetime | None = None,
) -> DcpResult:
    """Make a VF DCP: a CPL playing the OV's picture assets with ``audio`` (a dubbed printmaster) as sound.

    ``source_fps`` is the rate the dub was mixed against (23.976 for a 23.976 master: sped up by 1001/1000
    like the OV's sound); default the OV's edit rate. The dub (and ``subtitles``) start at the OV's first
    played frame and follow its reels. The VF holds only its own files; a cinema ingests the OV first
    (ClairMeta checks it with ``ov_path``).
    """
    ovinfo = read_ov(ov)
    mxf = _mxf_api()
    pictures = ovinfo.pictures
    edit_rate = int(pictures[0].edit_rate)
    if any(p.edit_rate != edit_rate for p in pictures):
        raise MediaError("the OV's reels have different edit rates", path=ovinfo.path)
    total = sum(p.played for p in pictures)
    src_rate = Fraction(source_fps).limit_denominator(1001) if source_fps else Fraction(edit_rate)
    speed = Fraction(edit_rate) / src_rate
    channels, _ = _sound_info(Path(audio))
    day = (issue_date or datetime.now(UTC)).replace(microsecond=0)
    track = None
    if subtitles is not None:
        track = _read_subtitles(subtitles, subtitle_language or language, src_rate)
    if isinstance(name, IsdcfName | str):
        isdcf = name if isinstance(name, IsdcfName) else parse_isdcf_name(name)
    else:
        try:
            base = parse_isdcf_name(ovinfo.name)
        except UsageError:
            base = IsdcfName(title=isdcf_title(ovinfo.name))
        isdcf = replace(
            base,
            audio_language=language[:3].upper(),
            subtitle_language=(track.language if track is not None else "XX")[:3].upper(),
            audio=_LAYOUTS[channels][1],
            date=day.date(),
            package="VF",
            package_version=None,
        )
    vf_name = isdcf.build()
    root = Path(out_root)
    dest = root / vf_name
    if dest.exists() and not overwrite:
        raise UsageError("the DCP folder already exists", path=dest, hint="pass overwrite=True (--force)")
    tmp = _temp_folder(root, vf_name)
    try:
        blocks = sound_blocks(audio, edit_rate=edit_rate, duration=total, speed=speed)
        reels: list[CplReel] = []
        track_files: list[tuple[uuid.UUID, Path, str]] = []
        offset = 0
        for n, pic in enumerate(pictures, 1):
            count = pic.played
            snd, snd_path = _sound_asset(
                tmp, mxf, blocks, count=count, edit_rate=edit_rate, channels=channels, language=language
            )
            track_files.append((snd.id, snd_path, f"sound, reel {n}"))
            sub = None
            if track is not None:
                sub, sub_path = _subtitle_asset(
                    tmp,
                    mxf,
                    track,
                    source_rate=src_rate,
                    edit_rate=edit_rate,
                    count=count,
                    offset=offset,
                    reel_number=n,
                    title=vf_name,
                    issue_date=day,
                )
                track_files.append((sub.id, sub_path, f"subtitles, reel {n}"))
            reels.append(CplReel(uuid.uuid4(), pic, snd, sub))
            offset += count
        cpl = Cpl(
            id=uuid.uuid4(),
            title=vf_name,
            kind=isdcf.content_kind,
            reels=tuple(reels),
            issue_date=day,
            issuer=issuer,
            content_version_label=f"{vf_name}_{day:%Y%m%d}",
            metadata=CplMetadata(
                full_title=isdcf.title,
                sound_configuration=_LAYOUTS[channels][2],
                stored_area=ovinfo.stored_area,
                active_area=ovinfo.active_area,
                release_territory=isdcf.territory,
                facility=isdcf.facility,
                subtitle_languages=(track.language,) if track is not None else (),
            ),
        )
        pkl_id = _write_package(tmp, vf_name, cpl, track_files, day, issuer)
        files = tuple(sorted(p.name for p in tmp.iterdir()))
        _publish(tmp, dest, overwrite)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return _result(
        dest,
        vf_name,
        "VF",
        cpl,
        pkl_id,
        reels,
        edit_rate=edit_rate,
        duration=total,
        container=ovinfo.stored_area,
        active_area=ovinfo.active_area,
        channels=channels,
        files=files,
        notes=(f"plays the picture of the OV {ovinfo.name}",),
    )
