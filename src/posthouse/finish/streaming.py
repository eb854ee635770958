"""Streaming deliverables: HLS and DASH (CMAF fMP4) ABR ladders, WebVTT subtitles, and a ProRes mezzanine.

One decode pass of the master feeds every rung's encoder (libx264, and libx265 where FFmpeg has it) with a
fixed closed GOP (``keyint = min-keyint = idr_seconds × fps``, no scene-cut keyframes), so IDR frames fall on
the same frames in every rendition and the segments (a whole number of GOPs) align across the ladder. Each
rendition is encoded once to an intermediate MP4 and then packaged twice without re-encoding: into HLS fMP4
media playlists (FFmpeg's ``hls`` muxer) and into one DASH MPD (FFmpeg's ``dash`` muxer). The master
playlist, with measured peak and average bandwidth, RFC 6381 codec strings, an AAC audio group and a WebVTT
subtitles group, is written here. :func:`validate_hls` parses every playlist strictly, decodes every segment
(init + media) and checks that the IDRs align across renditions.
"""

from __future__ import annotations

import heapq
import io
import math
import re
import shutil
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from posthouse.core.errors import MediaError, UsageError
from posthouse.core.fsutil import atomic_path, atomic_write_text
from posthouse.finish.ladder import Ladder, Rung, default_ladder

__all__ = [
    "LANGUAGE_NAMES",
    "HlsValidation",
    "MediaPlaylist",
    "Rendition",
    "StreamingResult",
    "codec_string",
    "hevc_available",
    "make_mezzanine",
    "package_streaming",
    "parse_attributes",
    "parse_media_playlist",
    "read_subtitles",
    "validate_hls",
]

AAC_CODEC = "mp4a.40.2"
_LANG_CODE = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*")
LANGUAGE_NAMES: dict[str, str] = {
    "ar": "العربية",
    "da": "Dansk",
    "de": "Deutsch",
    "en": "English",
    "es": "Español",
    "es-419": "Español (Latinoamérica)",
    "fi": "Suomi",
    "fr": "Français",
    "fr-ca": "Français (Canada)",
    "hi": "हिन्दी",
    "it": "Italiano",
    "ja": "日本語",
    "ko": "한국어",
    "nl": "Nederlands",
    "no": "Norsk",
    "pl": "Polski",
    "pt": "Português",
    "pt-br": "Português (Brasil)",
    "ru": "Русский",
    "sv": "Svenska",
    "tr": "Türkçe",
    "zh": "中文",
}


# --- data ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rendition:
    """One packaged video rendition."""

    name: str
    codec: str  # "h264" | "hevc"
    width: int
    height: int
    bitrate_kbps: int
    codecs: str  # RFC 6381 string, e.g. avc1.64001f
    playlist: str  # relative to the HLS folder
    segments: int = 0
    average_bps: int = 0
    peak_bps: int = 0
    language: str = ""  # audio renditions: BCP 47 code

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "name": self.name,
            "language": self.language,
            "codec": self.codec,
            "width": self.width,
            "height": self.height,
            "bitrate_kbps": self.bitrate_kbps,
            "codecs": self.codecs,
            "playlist": self.playlist,
            "segments": self.segments,
            "average_bps": self.average_bps,
            "peak_bps": self.peak_bps,
        }


@dataclass(frozen=True, slots=True)
class StreamingResult:
    """What :func:`package_streaming` wrote."""

    out_dir: Path
    master_playlist: Path
    mpd: Path
    renditions: tuple[Rendition, ...]
    audio: Rendition
    subtitles: Path | None
    ladder: Ladder
    frames: int
    rate: Fraction
    hevc_available: bool
    skipped: tuple[str, ...] = ()
    alternate_audio: tuple[Rendition, ...] = ()  # dubbed mixes, one AAC rendition per language

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "out_dir": str(self.out_dir),
            "master_playlist": str(self.master_playlist),
            "mpd": str(self.mpd),
            "renditions": [r.to_dict() for r in self.renditions],
            "audio": self.audio.to_dict(),
            "subtitles": str(self.subtitles) if self.subtitles else None,
            "ladder": self.ladder.to_dict(),
            "frames": self.frames,
            "rate": str(self.rate),
            "hevc_available": self.hevc_available,
            "skipped": list(self.skipped),
            "alternate_audio": [r.to_dict() for r in self.alternate_audio],
        }


@dataclass(frozen=True, slots=True)
class MediaPlaylist:
    """A parsed HLS media playlist."""

    path: Path
    target_duration: int
    init: str | None
    segments: tuple[tuple[str, float], ...]  # (uri, duration seconds)
    ended: bool


@dataclass(slots=True)
class HlsValidation:
    """The result of :func:`validate_hls`."""

    master: Path
    variants: int = 0
    audio_groups: int = 0
    subtitle_groups: int = 0
    segments_decoded: int = 0
    frames_decoded: dict[str, int] = field(default_factory=dict)
    audio_samples: int = 0
    audio_seconds: dict[str, float] = field(default_factory=dict)  # per audio rendition URI
    subtitle_cues: int = 0
    idr_times: dict[str, list[float]] = field(default_factory=dict)
    idr_aligned: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when everything parsed, decoded and aligned."""
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "master": str(self.master),
            "ok": self.ok,
            "variants": self.variants,
            "audio_groups": self.audio_groups,
            "subtitle_groups": self.subtitle_groups,
            "segments_decoded": self.segments_decoded,
            "frames_decoded": dict(self.frames_decoded),
            "audio_samples": self.audio_samples,
            "audio_seconds": dict(self.audio_seconds),
            "subtitle_cues": self.subtitle_cues,
            "idr_aligned": self.idr_aligned,
            "problems": list(self.problems),
        }


# --- codecs ----------------------------------------------------------------------------------------------


def hevc_available() -> bool:
    """True when PyAV's FFmpeg has the libx265 encoder."""
    import av

    return "libx265" in av.codecs_available


def codec_string(codec: str, extradata: bytes | None) -> str:
    """RFC 6381 ``CODECS`` string from an avcC / hvcC record (``avc1.PPCCLL``, ``hvc1.P.C.TL.B``)."""
    if codec == "aac":
        return AAC_CODEC
    if not extradata:
        raise MediaError(f"no decoder configuration record for {codec}", where="codec string")
    if codec == "h264":
        if extradata[0] != 1 or len(extradata) < 4:
            raise MediaError("H.264 extradata is not an avcC record", where="codec string")
        return f"avc1.{extradata[1]:02x}{extradata[2]:02x}{extradata[3]:02x}"
    if codec == "hevc":
        if extradata[0] != 1 or len(extradata) < 13:
            raise MediaError("HEVC extradata is not an hvcC record", where="codec string")
        b = extradata[1]
        space, tier, profile = b >> 6, (b >> 5) & 1, b & 0x1F
        compat = int.from_bytes(extradata[2:6], "big")
        rev = int(f"{compat:032b}"[::-1], 2)
        constraints = list(extradata[6:12])
        while constraints and constraints[-1] == 0:
            constraints.pop()
        parts = [
            "hvc1",
            f"{'' if space == 0 else 'ABC'[space - 1]}{profile}",
            f"{rev:X}",
            f"{'H' if tier else 'L'}{extradata[12]}",
        ]
        parts += [f"{c:X}" for c in constraints] or ["B0"]
        return ".".join(parts)
    raise UsageError(f"unknown codec {codec!r}")


# --- subtitles -------------------------------------------------------------------------------------------


_CUE_TIME = re.compile(
    r"(?:(\d+):)?(\d{1,2}):(\d{2})[.,](\d{3})\s*-->\s*(?:(\d+):)?(\d{1,2}):(\d{2})[.,](\d{3})(.*)$"
)


def _secs(h: str | None, m: str, s: str, ms: str) -> float:
    return int(h or 0) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000


def _vtt_time(t: float) -> str:
    ms = max(0, round(t * 1000))
    return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


def read_subtitles(path: str | Path) -> list[tuple[float, float, str]]:
    """Read cues ``(start_s, end_s, text)`` from an SRT or WebVTT file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise UsageError("subtitle file not found", path=p) from None
    except UnicodeDecodeError as exc:
        raise MediaError(f"subtitle file is not UTF-8: {exc}", path=p) from exc
    cues: list[tuple[float, float, str]] = []
    for n, block in enumerate(re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip())):
        lines = block.split("\n")
        for i, line in enumerate(lines):
            m = _CUE_TIME.match(line.strip())
            if m:
                g = m.groups()
                start, end = _secs(*g[0:4]), _secs(*g[4:8])
                if end <= start:
                    raise MediaError(
                        f"cue ends before it starts: {line.strip()}", path=p, where=f"cue {n + 1}"
                    )
                body = "\n".join(x for x in lines[i + 1 :] if x.strip())
                cues.append((start, end, body))
                break
    if not cues:
        raise MediaError("no subtitle cues found", path=p, hint="expected SRT or WebVTT timing lines")
    return sorted(cues)


def _write_vtt_segments(
    cues: list[tuple[float, float, str]], folder: Path, seg: float, duration: float, mpegts: int
) -> None:
    """Segmented WebVTT with its media playlist (``index.m3u8``) in ``folder``."""
    n = max(1, math.ceil(duration / seg - 1e-9))
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:7",
        f"#EXT-X-TARGETDURATION:{math.ceil(seg)}",
        "#EXT-X-MEDIA-SEQUENCE:0",
        "#EXT-X-PLAYLIST-TYPE:VOD",
    ]
    for k in range(n):
        t0, t1 = k * seg, min(duration, (k + 1) * seg)
        body = [f"WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:{mpegts},LOCAL:00:00:00.000\n"]
        for start, end, text in cues:
            if start < t1 and end > t0:
                body.append(f"{_vtt_time(start)} --> {_vtt_time(end)}\n{text}\n")
        name = f"seg_{k:05d}.vtt"
        atomic_write_text(folder / name, "\n".join(body))
        lines += [f"#EXTINF:{t1 - t0:.6f},", name]
    lines.append("#EXT-X-ENDLIST")
    atomic_write_text(folder / "index.m3u8", "\n".join(lines) + "\n")


def _vtt_file(cues: list[tuple[float, float, str]]) -> str:
    return "WEBVTT\n\n" + "\n".join(f"{_vtt_time(s)} --> {_vtt_time(e)}\n{t}\n" for s, e, t in cues)


# --- playlists -------------------------------------------------------------------------------------------


_ATTR = re.compile(r'([A-Z0-9-]+)=("[^"\n]*"|[^",\s]*)(?:,|$)')


def parse_attributes(text: str, *, where: str = "", path: Path | None = None) -> dict[str, str]:
    """Parse an HLS attribute list (``KEY=value,KEY="quoted"``) strictly."""
    out: dict[str, str] = {}
    pos = 0
    while pos < len(text):
        m = _ATTR.match(text, pos)
        if not m or m.end() == pos:
            raise MediaError(f"malformed attribute list at {text[pos:]!r}", path=path, where=where)
        key, value = m.group(1), m.group(2)
        if key in out:
            raise MediaError(f"attribute {key} given twice", path=path, where=where)
        out[key] = value[1:-1] if value.startswith('"') else value
        pos = m.end()
    return out


def _lines(path: Path) -> list[str]:
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MediaError("playlist not found", path=path) from None
    lines = [ln.strip() for ln in raw.splitlines() if ln.strip()]
    if not lines or lines[0] != "#EXTM3U":
        raise MediaError("playlist does not start with #EXTM3U", path=path, where="line 1")
    return lines


def parse_media_playlist(path: str | Path) -> MediaPlaylist:
    """Parse an HLS media playlist strictly (target duration, EXTINF ≤ target, map, end list)."""
    p = Path(path)
    lines = _lines(p)
    target: int | None = None
    init: str | None = None
    segs: list[tuple[str, float]] = []
    pending: float | None = None
    ended = False
    for n, line in enumerate(lines[1:], start=2):
        where = f"line {n}"
        if line.startswith("#EXT-X-TARGETDURATION:"):
            target = int(line.split(":", 1)[1])
        elif line.startswith("#EXT-X-MAP:"):
            attrs = parse_attributes(line.split(":", 1)[1], where=where, path=p)
            if "URI" not in attrs:
                raise MediaError("EXT-X-MAP without URI", path=p, where=where)
            init = attrs["URI"]
        elif line.startswith("#EXTINF:"):
            if pending is not None:
                raise MediaError("two EXTINF tags without a segment URI", path=p, where=where)
            pending = float(line.split(":", 1)[1].split(",", 1)[0])
        elif line == "#EXT-X-ENDLIST":
            ended = True
        elif line.startswith("#EXT-X-STREAM-INF") or line.startswith("#EXT-X-MEDIA:"):
            raise MediaError("master-playlist tag in a media playlist", path=p, where=where)
        elif line.startswith("#"):
            continue
        else:
            if pending is None:
                raise MediaError(f"segment URI {line!r} without EXTINF", path=p, where=where)
            segs.append((line, pending))
            pending = None
    if target is None:
        raise MediaError("no #EXT-X-TARGETDURATION", path=p)
    if pending is not None:
        raise MediaError("EXTINF at the end without a segment URI", path=p)
    for uri, dur in segs:
        if round(dur) > target:
            raise MediaError(f"segment {uri} lasts {dur:.3f} s, above the target duration {target}", path=p)
    return MediaPlaylist(p, target, init, tuple(segs), ended)


def _parse_master(path: Path) -> tuple[list[dict[str, str]], list[tuple[dict[str, str], str]]]:
    lines = _lines(path)
    media: list[dict[str, str]] = []
    variants: list[tuple[dict[str, str], str]] = []
    pending: dict[str, str] | None = None
    for n, line in enumerate(lines[1:], start=2):
        where = f"line {n}"
        if line.startswith("#EXT-X-MEDIA:"):
            attrs = parse_attributes(line.split(":", 1)[1], where=where, path=path)
            for key in ("TYPE", "GROUP-ID", "NAME"):
                if key not in attrs:
                    raise MediaError(f"EXT-X-MEDIA without {key}", path=path, where=where)
            media.append(attrs)
        elif line.startswith("#EXT-X-STREAM-INF:"):
            pending = parse_attributes(line.split(":", 1)[1], where=where, path=path)
            for key in ("BANDWIDTH", "CODECS", "RESOLUTION"):
                if key not in pending:
                    raise MediaError(f"EXT-X-STREAM-INF without {key}", path=path, where=where)
        elif line.startswith("#EXTINF") or line.startswith("#EXT-X-TARGETDURATION"):
            raise MediaError("media-playlist tag in the master playlist", path=path, where=where)
        elif line.startswith("#"):
            continue
        else:
            if pending is None:
                raise MediaError(f"URI {line!r} without EXT-X-STREAM-INF", path=path, where=where)
            variants.append((pending, line))
            pending = None
    if not variants:
        raise MediaError("master playlist has no variants", path=path)
    return media, variants


# --- decode ----------------------------------------------------------------------------------------------


def _nal_types(codec: str, data: bytes) -> list[int]:
    """NAL unit types in one length-prefixed (4-byte, as MP4 stores them) access unit."""
    types: list[int] = []
    pos = 0
    while pos + 5 <= len(data):
        size = int.from_bytes(data[pos : pos + 4], "big")
        head = data[pos + 4]
        types.append(head & 0x1F if codec == "h264" else (head >> 1) & 0x3F)
        pos += 4 + max(size, 1)
    return types


def _is_idr(codec: str, data: bytes) -> bool:
    """True when the access unit holds an IDR picture (H.264 type 5; HEVC IDR_W_RADL/IDR_N_LP)."""
    types = _nal_types(codec, data)
    return 5 in types if codec == "h264" else bool({19, 20} & set(types))


def _decode_segment(init: Path, seg: Path) -> tuple[list[tuple[float, bool]], int, bool]:
    """Decode init + one media segment.

    Returns the video frames' (pts seconds, keyframe), the audio samples, and whether the first video access
    unit is an IDR (closed GOP start).
    """
    import av

    data = init.read_bytes() + seg.read_bytes()
    frames: list[tuple[float, bool]] = []
    samples = 0
    first_idr: bool | None = None
    try:
        c: Any
        with av.open(io.BytesIO(data), format="mp4") as c:
            for pkt in c.demux(*c.streams.video, *c.streams.audio):
                if pkt.stream.type == "video" and first_idr is None and pkt.size:
                    first_idr = _is_idr(pkt.stream.codec_context.name, bytes(pkt))
                for frame in pkt.decode():
                    if isinstance(frame, av.VideoFrame):
                        t = (
                            float(frame.pts * frame.time_base)
                            if frame.pts is not None and frame.time_base
                            else 0.0
                        )
                        frames.append((t, bool(frame.key_frame)))
                    elif isinstance(frame, av.AudioFrame):
                        samples += frame.samples
    except av.FFmpegError as exc:
        raise MediaError(f"segment does not decode: {exc}", path=seg) from exc
    return sorted(frames), samples, bool(first_idr)


def validate_hls(master: str | Path) -> HlsValidation:
    """Parse the master and every media playlist, decode every segment and check IDR alignment.

    Problems are collected in ``problems`` (empty means valid) rather than raised, so a report shows all.
    """
    mp = Path(master)
    res = HlsValidation(mp)
    try:
        media, variants = _parse_master(mp)
    except MediaError as exc:
        res.problems.append(str(exc))
        return res
    res.variants = len(variants)
    groups = {(m["TYPE"], m["GROUP-ID"]) for m in media}
    res.audio_groups = len({g for t, g in groups if t == "AUDIO"})
    res.subtitle_groups = len({g for t, g in groups if t == "SUBTITLES"})
    for attrs, _ in variants:
        for kind, key in (("AUDIO", "AUDIO"), ("SUBTITLES", "SUBTITLES")):
            if key in attrs and (kind, attrs[key]) not in groups:
                res.problems.append(f"variant refers to missing {kind} group {attrs[key]!r}")
    base = mp.parent
    for _attrs, uri in variants:
        try:
            pl = parse_media_playlist(base / uri)
            if pl.init is None:
                raise MediaError("no EXT-X-MAP init segment (not fMP4)", path=pl.path)
            if not pl.ended:
                raise MediaError("no #EXT-X-ENDLIST in a VOD playlist", path=pl.path)
            idrs: list[float] = []
            nframes = 0
            for seg_uri, _ in pl.segments:
                frames, _, idr = _decode_segment(pl.path.parent / pl.init, pl.path.parent / seg_uri)
                res.segments_decoded += 1
                if not frames:
                    raise MediaError("segment has no video frames", path=pl.path.parent / seg_uri)
                if not frames[0][1] or not idr:
                    raise MediaError(
                        "segment does not start with an IDR frame", path=pl.path.parent / seg_uri
                    )
                idrs.append(frames[0][0])
                nframes += len(frames)
            res.frames_decoded[uri] = nframes
            res.idr_times[uri] = idrs
        except (MediaError, OSError, ValueError) as exc:
            res.problems.append(str(exc))
    for m in media:
        if "URI" not in m:
            continue
        try:
            pl = parse_media_playlist(base / m["URI"])
            uri_samples = 0
            for seg_uri, _ in pl.segments:
                sp = pl.path.parent / seg_uri
                if m["TYPE"] == "SUBTITLES":
                    text = sp.read_text(encoding="utf-8")
                    if not text.startswith("WEBVTT"):
                        raise MediaError("WebVTT segment lacks the WEBVTT header", path=sp)
                    res.subtitle_cues += sum(1 for ln in text.splitlines() if _CUE_TIME.match(ln.strip()))
                else:
                    if pl.init is None:
                        raise MediaError("no EXT-X-MAP init segment", path=pl.path)
                    _, samples, _ = _decode_segment(pl.path.parent / pl.init, sp)
                    res.audio_samples += samples
                    uri_samples += samples
                res.segments_decoded += 1
            if m["TYPE"] == "AUDIO" and pl.init is not None:
                res.audio_seconds[m["URI"]] = uri_samples / _sample_rate(pl.path.parent / pl.init)
        except (MediaError, OSError, ValueError) as exc:
            res.problems.append(str(exc))
    res.problems += _alternate_durations(media, variants, res.audio_seconds)
    times = list(res.idr_times.values())
    if times:
        res.idr_aligned = all(
            len(t) == len(times[0]) and all(abs(a - b) < 1e-3 for a, b in zip(t, times[0], strict=True))
            for t in times
        )
        if not res.idr_aligned:
            res.problems.append("segment start IDRs are not aligned across renditions")
    if res.audio_groups and res.audio_samples == 0:
        res.problems.append("the audio rendition decoded no samples")
    return res


def _sample_rate(init: Path) -> int:
    import av

    try:
        with av.open(str(init)) as c:
            if not c.streams.audio or not c.streams.audio[0].codec_context.sample_rate:
                raise MediaError("audio init segment has no audio stream", path=init)
            return int(c.streams.audio[0].codec_context.sample_rate)
    except av.FFmpegError as exc:
        raise MediaError(f"audio init segment does not open: {exc}", path=init) from exc


def _alternate_durations(
    media: list[dict[str, str]], variants: list[tuple[dict[str, str], str]], seconds: dict[str, float]
) -> list[str]:
    """Problems where an audio rendition's length differs from its group's default by more than a frame."""
    rates = [float(a["FRAME-RATE"]) for a, _ in variants if "FRAME-RATE" in a]
    frame = 1 / max(rates) if rates else 1 / 24
    problems: list[str] = []
    audio = [m for m in media if m["TYPE"] == "AUDIO" and m.get("URI") in seconds]
    for m in audio:
        main = next((d for d in audio if d["GROUP-ID"] == m["GROUP-ID"] and d.get("DEFAULT") == "YES"), None)
        if main is None or main is m:
            continue
        diff = abs(seconds[m["URI"]] - seconds[main["URI"]])
        if diff > frame + 1e-9:
            problems.append(
                f"audio rendition {m['URI']} ({m.get('LANGUAGE', '?')}) lasts {seconds[m['URI']]:.3f} s, "
                f"{diff * 1000:.1f} ms off the default {main['URI']} (more than a frame)"
            )
    return problems


# --- encode ----------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Enc:
    name: str
    codec: str
    rung: Rung
    width: int
    height: int
    pix_fmt: str
    path: Path
    container: Any = None
    stream: Any = None


def _fit(rung: Rung, w: int, h: int) -> tuple[int, int]:
    """The rung's size with the master's aspect ratio kept (inside the rung box, even dimensions)."""
    aspect = w / h
    if abs(rung.width / rung.height - aspect) < 0.01:
        return rung.width, rung.height
    hh = rung.height
    ww = round(hh * aspect / 2) * 2
    if ww > rung.width:
        ww = rung.width
        hh = round(ww / aspect / 2) * 2
    return max(2, ww), max(2, hh)


def _open_encoder(enc: _Enc, ladder: Ladder, rate: Fraction) -> None:
    import av

    enc.container = av.open(str(enc.path), "w", format="mp4")
    gop = max(1, round(ladder.idr_seconds * rate))
    peak = round(enc.rung.bitrate_kbps * (ladder.hevc_bitrate_factor if enc.codec == "hevc" else 1.0))
    avg = peak
    maxrate = round(avg * ladder.peak_ratio)
    if enc.codec == "h264":
        s = enc.container.add_stream("libx264", rate=rate)
        s.options = {
            "preset": ladder.preset,
            "profile": ladder.h264_profile,
            "x264-params": (
                f"keyint={gop}:min-keyint={gop}:scenecut=0:open-gop=0"
                f":vbv-maxrate={maxrate}:vbv-bufsize={2 * maxrate}"
                + (f":level={ladder.h264_level}" if ladder.h264_level not in ("", "auto") else "")
            ),
        }
    else:
        s = enc.container.add_stream("libx265", rate=rate)
        s.codec_tag = "hvc1"
        s.options = {
            "preset": ladder.preset,
            "x265-params": (
                f"keyint={gop}:min-keyint={gop}:scenecut=0:open-gop=0:log-level=error"
                f":vbv-maxrate={maxrate}:vbv-bufsize={2 * maxrate}"
            ),
        }
    s.width, s.height, s.pix_fmt = enc.width, enc.height, enc.pix_fmt
    s.bit_rate = avg * 1000
    cc = s.codec_context
    cc.colorspace = av.video.reformatter.Colorspace.ITU709
    cc.color_primaries = av.video.reformatter.ColorPrimaries.BT709
    cc.color_trc = av.video.reformatter.ColorTrc.BT709
    cc.color_range = av.video.reformatter.ColorRange.MPEG
    enc.stream = s


def _encode_video(master: Path, encs: list[_Enc], ladder: Ladder) -> tuple[int, Fraction]:
    import av

    try:
        src = av.open(str(master))
    except av.FFmpegError as exc:
        raise MediaError(f"cannot open the master: {exc}", path=master) from exc
    with src:
        if not src.streams.video:
            raise MediaError("the master has no picture", path=master)
        vs = src.streams.video[0]
        vs.thread_type = "AUTO"
        rate = Fraction(vs.average_rate or vs.guessed_rate or 24)
        for e in encs:
            _open_encoder(e, ladder, rate)
        n = 0
        try:
            for frame in src.decode(vs):
                cache: dict[tuple[int, int, str], Any] = {}
                for e in encs:
                    key = (e.width, e.height, e.pix_fmt)
                    if key not in cache:
                        f = frame.reformat(
                            width=e.width,
                            height=e.height,
                            format=e.pix_fmt,
                            dst_colorspace="ITU709",
                            dst_color_range="MPEG",
                            interpolation="LANCZOS",
                        )
                        f.pts, f.time_base = n, 1 / rate
                        f.pict_type = av.video.frame.PictureType.NONE
                        cache[key] = f
                    for pkt in e.stream.encode(cache[key]):
                        e.container.mux(pkt)
                n += 1
            for e in encs:
                for pkt in e.stream.encode(None):
                    e.container.mux(pkt)
        except av.FFmpegError as exc:
            raise MediaError(f"decoding or encoding failed at frame {n}: {exc}", path=master) from exc
        finally:
            for e in encs:
                if e.container is not None:
                    e.container.close()
    if n == 0:
        raise MediaError("the master has no frames", path=master)
    return n, rate


def _iter_audio(path: Path, fmt: str, rate: int, max_channels: int) -> Iterator[Any]:
    """Decode ``path`` resampled to ``fmt``/``rate``, keeping its layout (stereo for ≤ 2 channels)."""
    import av

    try:
        c = av.open(str(path))
    except av.FFmpegError as exc:
        raise MediaError(f"cannot open the mix: {exc}", path=path) from exc
    with c:
        if not c.streams.audio:
            raise MediaError("the mix file has no sound", path=path)
        a = c.streams.audio[0]
        ch = a.codec_context.channels
        if ch > max_channels:
            raise UsageError(
                f"the mix has {ch} channels; streaming audio is stereo",
                path=path,
                hint="pass the stereo (Lo/Ro) loudness-normalised mix",
            )
        layout = "stereo" if max_channels == 2 else a.codec_context.layout.name
        rs = av.AudioResampler(format=fmt, layout=layout, rate=rate)
        for frame in c.decode(a):
            yield from rs.resample(frame)
        yield from rs.resample(None)


def _audio_blocks(path: Path, rate: int, max_channels: int) -> Iterator[Any]:
    """Float ``(channels, n)`` blocks of the mix at ``rate``, then silence for ever (callers trim)."""
    import numpy as np

    ch = 0
    for frame in _iter_audio(path, "fltp", rate, max_channels):
        block = frame.to_ndarray()
        ch = block.shape[0]
        if block.shape[1]:
            yield block
    while True:
        yield np.zeros((ch or 2, 4096), np.float32)


class _Feed:
    """Hands out exact-length pieces of an iterator of ``(channels, n)`` blocks."""

    def __init__(self, blocks: Iterator[Any]) -> None:
        self._it = blocks
        self._rest: Any = None

    def take(self, n: int) -> Any:
        block = self._rest if self._rest is not None else next(self._it)
        self._rest = block[:, n:] if block.shape[1] > n else None
        return block[:, :n]


def _write_audio(stream: Any, out: Any, feed: _Feed, start: int, stop: int, rate: int) -> int:
    """Encode samples ``start..stop`` taken from ``feed``; returns ``stop``."""
    import av
    import numpy as np

    pos = start
    while pos < stop:
        take = feed.take(stop - pos)
        fr = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(take, dtype=np.float32), format="fltp", layout=stream.codec_context.layout
        )
        fr.sample_rate, fr.pts, fr.time_base = rate, pos, Fraction(1, rate)
        for pkt in stream.encode(fr):
            out.mux(pkt)
        pos += take.shape[1]
    return pos


def _encode_audio(mix: Path, dest: Path, ladder: Ladder, duration: Fraction) -> None:
    """AAC-LC stereo of the mix, trimmed or padded with silence to the picture's duration."""
    import av

    sr = ladder.audio.sample_rate
    with av.open(str(dest), "w", format="mp4") as out:
        s = out.add_stream("aac", rate=sr, layout="stereo")
        s.bit_rate = ladder.audio.bitrate_kbps * 1000
        _write_audio(s, out, _Feed(_audio_blocks(mix, sr, 2)), 0, round(duration * sr), sr)
        for pkt in s.encode(None):
            out.mux(pkt)


# --- package ---------------------------------------------------------------------------------------------


def _hls(src: Path, folder: Path, seg: float, hvc1: bool) -> None:
    import av

    folder.mkdir(parents=True, exist_ok=True)
    opts = {
        "hls_time": f"{seg:g}",
        "hls_segment_type": "fmp4",
        "hls_playlist_type": "vod",
        "hls_list_size": "0",
        "hls_fmp4_init_filename": "init.mp4",
        "hls_segment_filename": str(folder / "seg_%05d.m4s"),
        "hls_flags": "independent_segments",
    }
    with (
        av.open(str(src)) as inp,
        av.open(str(folder / "index.m3u8"), "w", format="hls", options=opts) as out,
    ):
        ist = inp.streams[0]
        ost = out.add_stream_from_template(ist)
        if hvc1:
            ost.codec_tag = "hvc1"
        for pkt in inp.demux(ist):
            if pkt.dts is None:
                continue
            pkt.stream = ost
            out.mux(pkt)


def _dash(srcs: list[tuple[Path, str, str]], folder: Path, seg: float) -> None:
    """One MPD from the intermediate files; ``srcs`` are (path, codec, codecs string)."""
    import av

    folder.mkdir(parents=True, exist_ok=True)
    sets: dict[str, list[int]] = {}
    for i, (_, codec, _) in enumerate(srcs):
        sets.setdefault(codec, []).append(i)
    opts = {
        "seg_duration": f"{seg:g}",
        "use_template": "1",
        "use_timeline": "1",
        "init_seg_name": "init-$RepresentationID$.$ext$",
        "media_seg_name": "chunk-$RepresentationID$-$Number%05d$.$ext$",
        "adaptation_sets": " ".join(
            f"id={k},streams={','.join(map(str, v))}" for k, v in enumerate(sets.values())
        ),
    }
    inputs = [av.open(str(p)) for p, _, _ in srcs]
    try:
        with av.open(str(folder / "manifest.mpd"), "w", format="dash", options=opts) as out:
            osts = []
            for inp, (_, codec, _) in zip(inputs, srcs, strict=True):
                ost = out.add_stream_from_template(inp.streams[0])
                if codec == "hevc":
                    ost.codec_tag = "hvc1"
                osts.append(ost)
            iters = [inp.demux(inp.streams[0]) for inp in inputs]
            heap: list[tuple[float, int, Any]] = []

            def push(k: int) -> None:
                for pkt in iters[k]:
                    if pkt.dts is not None:
                        heapq.heappush(heap, (float(pkt.dts * pkt.time_base), k, pkt))
                        return

            for k in range(len(iters)):
                push(k)
            while heap:
                _, k, pkt = heapq.heappop(heap)
                pkt.stream = osts[k]
                out.mux(pkt)
                push(k)
    finally:
        for inp in inputs:
            inp.close()


def _patch_mpd(
    mpd: Path,
    codecs: list[str],
    subs: tuple[str, str] | None,
    audio_langs: Mapping[int, tuple[str, str]] | None = None,
) -> None:
    """Fill in codec strings FFmpeg leaves empty (HEVC), label audio sets by language, add the WebVTT set.

    ``audio_langs`` maps a representation index to (language, DASH role) for its AdaptationSet.
    """
    text = mpd.read_text(encoding="utf-8")

    def fix(m: re.Match[str]) -> str:
        return f'{m.group(1)}{codecs[int(m.group(2))]}"'

    text = re.sub(r'(<Representation id="(\d+)"[^>]*?codecs=")[^"]*"', fix, text)
    langs = dict(audio_langs or {})

    def label(m: re.Match[str]) -> str:
        head, body, rid = m.group(1), m.group(2), int(m.group(3))
        if rid not in langs:
            return m.group(0)
        lang, role = langs[rid]
        head = re.sub(r'\slang="[^"]*"', "", head) + f' lang="{lang}"'
        indent = re.match(r"\s*", body)
        pad = indent.group(0) if indent else "\n"
        role_el = f'<Role schemeIdUri="urn:mpeg:dash:role:2011" value="{role}"/>'
        return f"{head}>{pad}{role_el}{body}"

    text = re.sub(
        r'(<AdaptationSet\b[^>]*?)>((?:(?!<AdaptationSet\b).)*?<Representation id="(\d+)")',
        label,
        text,
        flags=re.DOTALL,
    )
    if subs is not None:
        uri, lang = subs
        n = text.count("<AdaptationSet")
        block = (
            f'\t\t<AdaptationSet id="{n}" contentType="text" mimeType="text/vtt" lang="{lang}">\n'
            '\t\t\t<Role schemeIdUri="urn:mpeg:dash:role:2011" value="subtitle"/>\n'
            f'\t\t\t<Representation id="subs-{lang}" bandwidth="256">\n'
            f"\t\t\t\t<BaseURL>{uri}</BaseURL>\n"
            "\t\t\t</Representation>\n"
            "\t\t</AdaptationSet>\n"
        )
        text = text.replace("\t</Period>", block + "\t</Period>", 1)
    atomic_write_text(mpd, text)


def _bandwidth(pl: MediaPlaylist) -> tuple[int, int]:
    """(average, peak) bits a second over the playlist's segments."""
    total_bits, total_dur, peak = 0, 0.0, 0.0
    for uri, dur in pl.segments:
        bits = (pl.path.parent / uri).stat().st_size * 8
        total_bits += bits
        total_dur += dur
        if dur > 0:
            peak = max(peak, bits / dur)
    return (round(total_bits / total_dur) if total_dur else 0), round(peak)


def _extradata(path: Path) -> bytes | None:
    import av

    with av.open(str(path)) as c:
        data = c.streams[0].codec_context.extradata
        return bytes(data) if data else None


def _check_alternates(
    alternates: Mapping[str, str | Path], mix: Path, language: str, rate: Fraction
) -> list[tuple[str, Path]]:
    """Check each dubbed mix against the main one: stereo, same sample rate, same length within a frame."""
    from posthouse.core.media import probe

    main = probe(mix)
    if not main.audio:
        raise MediaError("the mix file has no sound", path=mix)
    ma = main.audio[0]
    per_frame = ma.sample_rate / rate
    seen = {language.lower()}
    out: list[tuple[str, Path]] = []
    for lang, path in alternates.items():
        p = Path(path)
        if not _LANG_CODE.fullmatch(lang):
            raise UsageError(
                f"{lang!r} is not a language code", path=p, hint="use BCP 47 codes such as fr, de, es-419"
            )
        if lang.lower() in seen:
            what = "the main mix's language" if lang.lower() == language.lower() else "given twice"
            raise UsageError(f"alternate audio language {lang!r} is {what}", path=p)
        seen.add(lang.lower())
        if not p.is_file():
            raise UsageError(f"alternate audio ({lang}) file not found", path=p)
        info = probe(p)
        if not info.audio:
            raise MediaError(f"the {lang} mix has no sound", path=p)
        a = info.audio[0]
        if a.sample_rate != ma.sample_rate:
            raise MediaError(
                f"the {lang} mix is at {a.sample_rate} Hz but the main mix is at {ma.sample_rate} Hz",
                path=p,
                hint="deliver every language at the main mix's sample rate",
            )
        if a.channels != 2:
            raise MediaError(
                f"the {lang} mix has {a.channels} channel(s); alternate audio must be stereo (Lo/Ro)",
                path=p,
                hint="pass the stereo localized mix (NAME_PM_20_LANG.wav from posthouse dub)",
            )
        if abs(a.samples - ma.samples) > per_frame:
            raise MediaError(
                f"the {lang} mix lasts {a.samples / a.sample_rate:.3f} s ({a.samples} samples) but the main "
                f"mix {ma.samples / ma.sample_rate:.3f} s ({ma.samples}): more than a frame apart",
                path=p,
                hint="conform the dub to the same cut as the main mix",
            )
        out.append((lang, p))
    return out


def _first_pts(pl: MediaPlaylist) -> float:
    assert pl.init is not None
    frames, _, _ = _decode_segment(pl.path.parent / pl.init, pl.path.parent / pl.segments[0][0])
    return frames[0][0] if frames else 0.0


def package_streaming(
    master: str | Path,
    mix: str | Path,
    out_dir: str | Path,
    *,
    ladder: Ladder | None = None,
    subtitles: str | Path | None = None,
    language: str = "en",
    language_name: str = "English",
    alternate_audio: Mapping[str, str | Path] | None = None,
) -> StreamingResult:
    """Encode and package ``master`` with the loudness-normalised ``mix`` as HLS + DASH ladders.

    ``out_dir`` gets ``hls/master.m3u8`` (``h264_*``/``hevc_*`` renditions, ``audio/``, ``subs/LANG/``)
    and ``dash/manifest.mpd``. The folder is built beside ``out_dir`` and swapped in only when complete.
    Rungs larger than the master are skipped (never upscaled); HEVC is skipped when libx265 is missing.
    ``alternate_audio`` maps language codes to dubbed stereo mixes (same sample rate, same length within a
    frame); each becomes one more AAC rendition in the HLS audio group (``audio_LANG/``, ``DEFAULT=NO``) and
    one more DASH audio AdaptationSet with ``lang``.
    """
    import av

    master, mix, out_dir = Path(master), Path(mix), Path(out_dir)
    for p, what in ((master, "master"), (mix, "mix")):
        if not p.is_file():
            raise UsageError(f"{what} file not found", path=p)
    lad = ladder or default_ladder()
    cues = read_subtitles(subtitles) if subtitles is not None else None
    with av.open(str(master)) as c:
        if not c.streams.video:
            raise MediaError("the master has no picture", path=master)
        mw, mh = c.streams.video[0].codec_context.width, c.streams.video[0].codec_context.height
        vs0 = c.streams.video[0]
        master_rate = Fraction(vs0.average_rate or vs0.guessed_rate or 24)
    alts = _check_alternates(alternate_audio or {}, mix, language, master_rate)
    has_hevc = hevc_available()
    skipped: list[str] = []
    codecs = [c for c in lad.codecs if c != "hevc" or has_hevc]
    if "hevc" in lad.codecs and not has_hevc:
        skipped.append("hevc: libx265 is not in PyAV's FFmpeg")
    if not codecs:
        raise UsageError("no usable codec in the ladder", hint="add h264 to codecs")
    rungs = [r for r in lad.rungs if r.height <= mh and r.width <= mw]
    skipped += [
        f"{r.width}x{r.height}@{r.bitrate_kbps}k: larger than the master" for r in lad.rungs if r not in rungs
    ]
    if not rungs:
        rungs = [min(lad.rungs, key=lambda r: r.height)]
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    stage = out_dir.parent / f".{out_dir.name}.partial-{uuid.uuid4().hex[:8]}"
    work = stage / ".work"
    work.mkdir(parents=True)
    try:
        encs: list[_Enc] = []
        for codec in codecs:
            for r in rungs:
                w, h = _fit(r, mw, mh)
                kbps = round(r.bitrate_kbps * (lad.hevc_bitrate_factor if codec == "hevc" else 1.0))
                name = f"{codec}_{h}p_{kbps}k"
                if any(e.name == name for e in encs):
                    continue
                pix = "yuv420p" if codec == "h264" else lad.hevc_pix_fmt
                encs.append(_Enc(name, codec, r, w, h, pix, work / f"{name}.mp4"))
        frames, rate = _encode_video(master, encs, lad)
        duration = Fraction(frames) / rate
        _encode_audio(mix, work / "audio.mp4", lad, duration)
        hls = stage / "hls"
        seg = lad.segment_seconds
        _hls(work / "audio.mp4", hls / "audio", seg, False)
        apl = parse_media_playlist(hls / "audio" / "index.m3u8")
        a_avg, a_peak = _bandwidth(apl)
        audio = Rendition(
            "audio",
            "aac",
            0,
            0,
            lad.audio.bitrate_kbps,
            AAC_CODEC,
            "audio/index.m3u8",
            len(apl.segments),
            a_avg,
            a_peak,
            language,
        )
        alt_rends: list[Rendition] = []
        for lang, path in alts:
            name = f"audio_{lang}"
            _encode_audio(path, work / f"{name}.mp4", lad, duration)
            _hls(work / f"{name}.mp4", hls / name, seg, False)
            pl = parse_media_playlist(hls / name / "index.m3u8")
            avg, peak = _bandwidth(pl)
            alt_rends.append(
                Rendition(
                    name,
                    "aac",
                    0,
                    0,
                    lad.audio.bitrate_kbps,
                    AAC_CODEC,
                    f"{name}/index.m3u8",
                    len(pl.segments),
                    avg,
                    peak,
                    lang,
                )
            )
        a_peak = max(r.peak_bps for r in (audio, *alt_rends))
        a_avg = max(r.average_bps for r in (audio, *alt_rends))
        rends: list[Rendition] = []
        for e in encs:
            _hls(e.path, hls / e.name, seg, e.codec == "hevc")
            pl = parse_media_playlist(hls / e.name / "index.m3u8")
            avg, peak = _bandwidth(pl)
            kbps = round(e.rung.bitrate_kbps * (lad.hevc_bitrate_factor if e.codec == "hevc" else 1.0))
            rends.append(
                Rendition(
                    e.name,
                    e.codec,
                    e.width,
                    e.height,
                    kbps,
                    codec_string(e.codec, _extradata(e.path)),
                    f"{e.name}/index.m3u8",
                    len(pl.segments),
                    avg,
                    peak,
                )
            )
        subs_rel: str | None = None
        if cues is not None:
            first = parse_media_playlist(hls / rends[0].playlist)
            mpegts = round(_first_pts(first) * 90000)
            _write_vtt_segments(cues, hls / "subs" / language, seg, float(duration), mpegts)
            subs_rel = f"subs/{language}/index.m3u8"
        fr = float(rate)
        lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS", ""]
        lines.append(
            f'#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aac",NAME="{language_name}",LANGUAGE="{language}",'
            f'DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="audio/index.m3u8"'
        )
        for alt in alt_rends:
            name = LANGUAGE_NAMES.get(alt.language.lower(), alt.language).replace('"', "'")
            lines.append(
                f'#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aac",NAME="{name}",LANGUAGE="{alt.language}",'
                f'DEFAULT=NO,AUTOSELECT=YES,CHANNELS="2",URI="{alt.playlist}"'
            )
        if subs_rel:
            lines.append(
                f'#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="{language_name}",LANGUAGE="{language}",'
                f'DEFAULT=NO,AUTOSELECT=YES,FORCED=NO,URI="{subs_rel}"'
            )
        lines.append("")
        for rend in rends:
            attrs = [
                f"BANDWIDTH={rend.peak_bps + a_peak}",
                f"AVERAGE-BANDWIDTH={rend.average_bps + a_avg}",
                f"RESOLUTION={rend.width}x{rend.height}",
                f'CODECS="{rend.codecs},{AAC_CODEC}"',
                f"FRAME-RATE={fr:.3f}",
                "VIDEO-RANGE=SDR",
                'AUDIO="aac"',
            ]
            if subs_rel:
                attrs.append('SUBTITLES="subs"')
            attrs.append("CLOSED-CAPTIONS=NONE")
            lines += ["#EXT-X-STREAM-INF:" + ",".join(attrs), rend.playlist]
        atomic_write_text(hls / "master.m3u8", "\n".join(lines) + "\n")
        dash = stage / "dash"
        srcs = [(e.path, e.codec, rend.codecs) for e, rend in zip(encs, rends, strict=True)]
        srcs.append((work / "audio.mp4", "aac", AAC_CODEC))
        audio_langs = {len(srcs) - 1: (language, "main")}
        for alt in alt_rends:
            srcs.append((work / f"{alt.name}.mp4", f"aac-{alt.language}", AAC_CODEC))
            audio_langs[len(srcs) - 1] = (alt.language, "dub")
        _dash(srcs, dash, seg)
        if cues is not None:
            atomic_write_text(dash / f"subs_{language}.vtt", _vtt_file(cues))
        _patch_mpd(
            dash / "manifest.mpd",
            [s[2] for s in srcs],
            (f"subs_{language}.vtt", language) if cues else None,
            audio_langs if alt_rends else {},
        )
        shutil.rmtree(work)
        if out_dir.exists():
            trash = out_dir.parent / f".{out_dir.name}.old-{uuid.uuid4().hex[:8]}"
            out_dir.rename(trash)
            stage.rename(out_dir)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            stage.rename(out_dir)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    hls_out = out_dir / "hls"
    return StreamingResult(
        out_dir=out_dir,
        master_playlist=hls_out / "master.m3u8",
        mpd=out_dir / "dash" / "manifest.mpd",
        renditions=tuple(rends),
        audio=audio,
        subtitles=hls_out / subs_rel if subs_rel else None,
        ladder=lad,
        frames=frames,
        rate=rate,
        hevc_available=has_hevc,
        skipped=tuple(skipped),
        alternate_audio=tuple(alt_rends),
    )


# --- mezzanine -------------------------------------------------------------------------------------------


def make_mezzanine(master: str | Path, mix: str | Path | None, dest: str | Path) -> Path:
    """Write a ProRes 422 HQ ``.mov`` of ``master`` (10-bit 4:2:2) with the mix as 24-bit PCM.

    The master's start timecode and reel name are carried over; the mix is trimmed or padded to the picture.
    """
    import av

    from posthouse.core.media import PRESETS, probe

    master, dest = Path(master), Path(dest)
    if not master.is_file():
        raise UsageError("master file not found", path=master)
    info = probe(master)
    if not info.video:
        raise MediaError("the master has no picture", path=master)
    preset = PRESETS["prores-hq"]
    mix_p = Path(mix) if mix is not None else None
    if mix_p is not None and not mix_p.is_file():
        raise UsageError("mix file not found", path=mix_p)
    mix_ch = 0
    if mix_p is not None:
        mix_info = probe(mix_p)
        if not mix_info.audio:
            raise MediaError("the mix file has no sound", path=mix_p)
        mix_ch = mix_info.audio[0].channels
    src: Any
    with atomic_path(dest) as tmp, av.open(str(master)) as src:
        vs = src.streams.video[0]
        vs.thread_type = "AUTO"
        rate = Fraction(vs.average_rate or vs.guessed_rate or 24)
        out: Any
        with av.open(str(tmp), "w", format="mov", options={"write_tmcd": "1"}) as out:
            ov: Any = out.add_stream(preset.codec, rate=rate)
            ov.width, ov.height, ov.pix_fmt = vs.codec_context.width, vs.codec_context.height, preset.pix_fmt
            ov.options = dict(preset.options)
            ov.codec_context.thread_count = 0
            if info.start_timecode:
                ov.metadata["timecode"] = info.start_timecode
            if info.reel:
                ov.metadata["reel_name"] = info.reel
            oa: Any = None
            if mix_ch:
                layout = {1: "mono", 2: "stereo", 6: "5.1"}.get(mix_ch, f"{mix_ch} channels")
                oa = out.add_stream("pcm_s24le", rate=48000, layout=layout)
            feed = _Feed(_audio_blocks(mix_p, 48000, 64)) if oa is not None and mix_p is not None else None
            n = pos = 0
            for frame in src.decode(vs):
                f = frame.reformat(format=preset.pix_fmt)
                f.pts, f.time_base = n, 1 / rate
                for pkt in ov.encode(f):
                    out.mux(pkt)
                n += 1
                if feed is not None:  # keep sound interleaved with picture, a frame at a time
                    pos = _write_audio(oa, out, feed, pos, round(Fraction(n) / rate * 48000), 48000)
            for pkt in ov.encode(None):
                out.mux(pkt)
            if oa is not None:
                for pkt in oa.encode(None):
                    out.mux(pkt)
            if n == 0:
                raise MediaError("the master has no frames", path=master)
    return dest
