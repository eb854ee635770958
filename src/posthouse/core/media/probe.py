"""Probe media with PyAV into frozen dataclasses.

A probe never raises for a damaged file: it returns a :class:`MediaInfo` with ``damaged=True``, the
problems found and whatever was readable. It raises :class:`MediaError` only when the path cannot be
read at all (missing, a folder, no permission).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from posthouse.core.errors import MediaError
from posthouse.core.media.bwf import BwfInfo, read_bwf
from posthouse.core.media.structure import scan_structure

__all__ = ["AudioInfo", "MediaInfo", "VideoInfo", "probe"]

_PCM_BITS = {
    "pcm_s16le": 16,
    "pcm_s16be": 16,
    "pcm_s24le": 24,
    "pcm_s24be": 24,
    "pcm_s32le": 32,
    "pcm_s32be": 32,
    "pcm_f32le": 32,
    "pcm_f32be": 32,
    "pcm_f64le": 64,
    "pcm_u8": 8,
    "pcm_s8": 8,
}


@dataclass(frozen=True, slots=True)
class VideoInfo:
    """One video stream."""

    index: int
    codec: str
    profile: str | None
    width: int
    height: int
    pix_fmt: str | None
    bit_depth: int | None
    rate: Fraction | None
    frames: int
    sample_aspect: Fraction | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "codec": self.codec,
            "profile": self.profile,
            "width": self.width,
            "height": self.height,
            "pix_fmt": self.pix_fmt,
            "bit_depth": self.bit_depth,
            "rate": _frac(self.rate),
            "frames": self.frames,
            "sample_aspect": _frac(self.sample_aspect),
        }


@dataclass(frozen=True, slots=True)
class AudioInfo:
    """One audio stream."""

    index: int
    codec: str
    channels: int
    sample_rate: int
    bit_depth: int | None
    samples: int
    layout: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "codec": self.codec,
            "channels": self.channels,
            "sample_rate": self.sample_rate,
            "bit_depth": self.bit_depth,
            "samples": self.samples,
            "layout": self.layout,
        }


@dataclass(frozen=True, slots=True)
class MediaInfo:
    """Everything a probe found in one file."""

    path: Path
    size: int
    format: str | None
    duration: Fraction | None  # seconds, exact where the container allows
    start_timecode: str | None
    reel: str | None
    video: tuple[VideoInfo, ...] = ()
    audio: tuple[AudioInfo, ...] = ()
    bwf: BwfInfo | None = None
    tags: dict[str, str] = field(default_factory=dict)
    damaged: bool = False
    problems: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        """``video`` when there is picture, ``audio`` for sound only, else ``unknown``."""
        if self.video:
            return "video"
        if self.audio:
            return "audio"
        return "unknown"

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "size": self.size,
            "format": self.format,
            "kind": self.kind,
            "duration": _frac(self.duration),
            "duration_seconds": float(self.duration) if self.duration is not None else None,
            "start_timecode": self.start_timecode,
            "reel": self.reel,
            "video": [v.to_dict() for v in self.video],
            "audio": [a.to_dict() for a in self.audio],
            "bwf": self.bwf.to_dict() if self.bwf is not None else None,
            "tags": dict(self.tags),
            "damaged": self.damaged,
            "problems": list(self.problems),
        }


def _frac(value: Fraction | None) -> str | None:
    if value is None:
        return None
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


def _video_bit_depth(pix_fmt: str | None) -> int | None:
    if not pix_fmt:
        return None
    for bits in (16, 14, 12, 10, 9):
        if f"p{bits}" in pix_fmt or f"{bits}le" in pix_fmt or f"{bits}be" in pix_fmt:
            return bits
    return 8


def _stream_frames(stream: Any, rate: Fraction | None) -> int:
    if stream.frames:
        return int(stream.frames)
    if stream.duration is not None and stream.time_base is not None and rate:
        frames: int = round(Fraction(stream.duration) * stream.time_base * rate)
        return frames
    return 0


def _wav_timecode(bwf: BwfInfo | None, sample_rate: int) -> str | None:
    if bwf is None or bwf.time_reference is None or bwf.timecode_rate is None:
        return None
    from posthouse.core.time import Rate, samples_to_timecode

    try:
        rate = Rate.parse(f"{bwf.timecode_rate.numerator}/{bwf.timecode_rate.denominator}")
        return samples_to_timecode(bwf.time_reference, sample_rate, rate, bool(bwf.timecode_drop))
    except ValueError:
        return None


def _damaged(path: Path, size: int, reason: str) -> MediaInfo:
    report = scan_structure(path)
    problems = list(report.problems) or [reason]
    readable = ", ".join(f"{b.kind.strip()}@{b.offset}" for b in report.boxes)
    if readable:
        problems.append(f"readable structure: {readable}")
    if report.family == "unknown" and not report.problems:
        problems = [f"not a recognised media file ({reason})"]
    return MediaInfo(
        path=path,
        size=size,
        format=None,
        duration=None,
        start_timecode=None,
        reel=None,
        damaged=True,
        problems=tuple(problems),
    )


def _truncated_streams(container: Any, size: int) -> list[str]:
    """Streams whose packet index points past the end of the file."""
    problems: list[str] = []
    for stream in container.streams:
        try:
            entries = stream.index_entries
        except (AttributeError, NotImplementedError):
            continue
        if not entries:
            continue
        present = sum(1 for e in entries if e.pos + e.size <= size)
        if present < len(entries):
            problems.append(
                f"stream {stream.index} ({stream.type}): index lists {len(entries)} packets but only "
                f"{present} are within the file (file truncated)"
            )
    return problems


def probe(path: str | Path, *, deep: bool = False) -> MediaInfo:
    """Probe ``path``; with ``deep`` also decode every packet to find corruption inside the file."""
    import av

    path = Path(path)
    try:
        st = os.stat(path)
    except OSError as exc:
        raise MediaError(f"cannot read file: {exc.strerror}", path=path) from exc
    if not path.is_file():
        raise MediaError("not a file", path=path)
    if st.st_size == 0:
        return MediaInfo(
            path=path,
            size=0,
            format=None,
            duration=None,
            start_timecode=None,
            reel=None,
            damaged=True,
            problems=("empty file (0 bytes)",),
        )
    try:
        container = av.open(str(path), metadata_errors="replace")
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        return _damaged(path, st.st_size, str(exc))
    problems: list[str] = []
    with container:
        tags = {str(k): str(v) for k, v in container.metadata.items()}
        timecode = tags.get("timecode")
        reel = tags.get("reel_name") or tags.get("reel")
        videos: list[VideoInfo] = []
        audios: list[AudioInfo] = []
        for stream in container.streams:
            meta = {str(k): str(v) for k, v in stream.metadata.items()}
            timecode = timecode or meta.get("timecode")
            reel = reel or meta.get("reel_name")
            cc: Any = stream.codec_context
            if stream.type == "video" and cc is not None:
                rate = stream.average_rate or stream.guessed_rate or stream.base_rate
                rate_f = Fraction(rate) if rate else None
                pix = cc.format.name if cc.format is not None else None
                sar = Fraction(cc.sample_aspect_ratio) if cc.sample_aspect_ratio else None
                videos.append(
                    VideoInfo(
                        index=stream.index,
                        codec=cc.name,
                        profile=cc.profile,
                        width=cc.width,
                        height=cc.height,
                        pix_fmt=pix,
                        bit_depth=_video_bit_depth(pix),
                        rate=rate_f,
                        frames=_stream_frames(stream, rate_f),
                        sample_aspect=sar,
                    )
                )
            elif stream.type == "audio" and cc is not None:
                sr = int(cc.sample_rate or 0)
                samples = int(stream.frames or 0) if cc.name.startswith("pcm_") else 0
                if not samples and stream.duration is not None and stream.time_base is not None and sr:
                    samples = round(Fraction(stream.duration) * stream.time_base * sr)
                audios.append(
                    AudioInfo(
                        index=stream.index,
                        codec=cc.name,
                        channels=int(cc.channels),
                        sample_rate=sr,
                        bit_depth=_PCM_BITS.get(cc.name),
                        samples=samples,
                        layout=cc.layout.name if cc.layout is not None else None,
                    )
                )
        duration = _exact_duration(videos, audios, container.duration)
        fmt = container.format.name
        problems.extend(_truncated_streams(container, st.st_size))
        if deep:
            problems.extend(_decode_all(container))
    report = scan_structure(path)
    problems.extend(p for p in report.problems if p not in problems)
    bwf: BwfInfo | None = None
    if report.family == "riff":
        try:
            bwf = read_bwf(path)
        except MediaError as exc:
            problems.append(exc.message)
        if audios:
            sf_samples = _wav_samples(path)
            if sf_samples is not None:
                audios[0] = _replace_samples(audios[0], sf_samples)
            timecode = timecode or _wav_timecode(bwf, audios[0].sample_rate)
        if bwf is not None:
            reel = reel or bwf.tape
    return MediaInfo(
        path=path,
        size=st.st_size,
        format=fmt,
        duration=duration,
        start_timecode=timecode,
        reel=reel,
        video=tuple(videos),
        audio=tuple(audios),
        bwf=bwf,
        tags=tags,
        damaged=bool(problems) or (not videos and not audios),
        problems=tuple(problems) or (("no audio or video streams",) if not videos and not audios else ()),
    )


def _exact_duration(videos: list[VideoInfo], audios: list[AudioInfo], micros: int | None) -> Fraction | None:
    """Frames over rate for picture, samples over rate for sound, else the container's microseconds."""
    if videos and videos[0].rate and videos[0].frames:
        return videos[0].frames / videos[0].rate
    if audios and audios[0].sample_rate and audios[0].samples:
        return Fraction(audios[0].samples, audios[0].sample_rate)
    return Fraction(micros, 1_000_000) if micros else None


def _wav_samples(path: Path) -> int | None:
    import soundfile as sf

    try:
        return int(sf.info(str(path)).frames)
    except RuntimeError:
        return None


def _replace_samples(info: AudioInfo, samples: int) -> AudioInfo:
    from dataclasses import replace

    return replace(info, samples=samples)


def _decode_all(container: Any) -> list[str]:
    import av

    problems: list[str] = []
    counts: dict[int, int] = {}
    for stream in container.streams:
        stream.thread_type = "AUTO"
    try:
        for packet in container.demux():
            if packet.stream.type not in ("video", "audio"):
                continue
            try:
                for _ in packet.decode():
                    counts[packet.stream.index] = counts.get(packet.stream.index, 0) + 1
            except av.error.FFmpegError as exc:
                problems.append(
                    f"stream {packet.stream.index}: decode error after {counts.get(packet.stream.index, 0)} "
                    f"frames: {exc}"
                )
    except av.error.FFmpegError as exc:
        problems.append(f"read error: {exc}")
    return problems
