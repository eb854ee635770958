"""CMX 3600 EDLs that keep what OTIO's cmx_3600 writer loses, and a reader whose errors name the line.

The reader lives in :mod:`posthouse.core.edl` (finishing reads EDLs too) and is re-exported here.

OTIO's writer starts record timecode at 00:00:00:00, takes one video track only, and truncates file names
into reels. Here the event lines are built from the timeline directly, in the layout OTIO's reader reads:

* record timecode starts at ``timeline.global_start_time`` (e.g. 01:00:00:00);
* reels come from ``clip.metadata["posthouse"]["reel"|"tape"]``, else the media file's stem, made CMX-safe
  (``A–Z 0–9 _``, at most 8 characters, unique); the mapping is written as ``* REEL MAP`` comments at the
  end of each EDL (OTIO's reader refuses comments before the first event);
* one EDL per video track, one for the audio tracks (channels ``A``, ``A2``, ``A3``, ``A4``);
* dissolves as a cut line plus a ``D NNN`` line; ``LinearTimeWarp`` as an ``M2`` line with fps × speed
  (CMX's ``047.9`` form, truncated to 0.1 fps) and ``FreezeFrame`` as ``M2 … 000.0`` plus
  ``* * FREEZE FRAME``; clip markers as ``* LOC:`` comments.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Final
from urllib.parse import unquote, urlparse

import opentimelineio as otio

from posthouse.core.edl import EdlError, read_edl
from posthouse.core.fsutil import atomic_write_text
from posthouse.core.time import Rate, RateLike, Rounding, Timecode, rational_time_to_frames

__all__ = [
    "MAX_AUDIO_CHANNELS",
    "EdlError",
    "EdlEvent",
    "ReelMap",
    "audio_channel",
    "edl_events",
    "edl_text",
    "read_edl",
    "reel_source",
    "write_edls",
]

MAX_AUDIO_CHANNELS: Final = 4
"""Audio tracks an EDL carries (``A``, ``A2``, ``A3``, ``A4``); later tracks are left out."""

# ---------------------------------------------------------------------------------------------- reels


def reel_source(clip: otio.schema.Clip) -> str:
    """What names a clip's reel: ``metadata["posthouse"]["reel"|"tape"]``, else the media file stem, else
    the clip name."""
    meta = clip.metadata.get("posthouse") or {}
    for key in ("reel", "tape"):
        value = meta.get(key)
        if value:
            return str(value)
    ref = clip.media_reference
    url = getattr(ref, "target_url", None)
    if url:
        return Path(unquote(urlparse(str(url)).path)).stem or str(url)
    return clip.name or "AX"


@dataclass(slots=True)
class ReelMap:
    """Original reel/tape names → unique CMX 3600 reel names (uppercase ``A–Z 0–9 _``, ≤ 8 chars)."""

    length: int = 8
    mapping: dict[str, str] = field(default_factory=dict)

    def reel(self, source: str) -> str:
        """The CMX reel for ``source``, assigning a new unique one on first sight."""
        if source in self.mapping:
            return self.mapping[source]
        base = re.sub(r"[^A-Z0-9_]", "", re.sub(r"[\s.\-]+", "_", source.upper())).strip("_")
        base = base[: self.length] or "AX"
        taken = set(self.mapping.values())
        name, n = base, 1
        while name in taken or name in ("BL", "BLACK", "BARS", "AX"):
            suffix = str(n)
            name = base[: self.length - len(suffix)] + suffix
            n += 1
        self.mapping[source] = name
        return name

    def comment_lines(self) -> list[str]:
        """``* REEL MAP: REEL = original`` lines for every reel that was renamed or used."""
        return [
            f"* REEL MAP: {reel} = {src}" for src, reel in sorted(self.mapping.items(), key=lambda i: i[1])
        ]


# --------------------------------------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class EdlEvent:
    """One EDL line: frames since midnight at the EDL rate (source and record)."""

    reel: str
    channel: str
    src_in: int
    src_out: int
    rec_in: int
    rec_out: int
    clip: otio.schema.Clip | None = None
    dissolve: int = 0
    speed: Fraction | None = None
    freeze: bool = False


def audio_channel(index: int) -> str:
    """CMX channel for the ``index``-th audio track (1-based): ``A``, ``A2``, ``A3``, ``A4``."""
    return "A" if index == 1 else f"A{index}"


def _frames(time: otio.opentime.RationalTime, rate: Rate, rounding: Rounding = "floor") -> int:
    return rational_time_to_frames(time, rate, rounding)


def _speed(clip: otio.schema.Clip) -> tuple[Fraction | None, bool]:
    for fx in clip.effects:
        if isinstance(fx, otio.schema.FreezeFrame) or fx.effect_name == "FreezeFrame":
            return Fraction(0), True
        if isinstance(fx, otio.schema.LinearTimeWarp):
            return Fraction(fx.time_scalar).limit_denominator(1000), False
    return None, False


def edl_events(
    track: otio.schema.Track, channel: str, *, rate: RateLike, record_start: int, reels: ReelMap
) -> list[list[EdlEvent]]:
    """The events of one track: each a list of one line (cut) or two (cut + dissolve).

    Transitions are moved to CMX's form: the outgoing clip ends where the dissolve starts, the incoming
    clip's line starts ``in_offset`` frames earlier and dissolves over ``in_offset + out_offset``.
    """
    r = Rate.parse(rate)
    items = list(track)
    events: list[list[EdlEvent]] = []
    previous: EdlEvent | None = None
    for i, item in enumerate(items):
        if not isinstance(item, otio.schema.Clip) or not item.enabled:
            if isinstance(item, otio.schema.Gap):
                previous = None
            continue
        rng = track.range_of_child_at_index(i)
        rec_in = _frames(rng.start_time, r)
        rec_out = _frames(rng.end_time_exclusive(), r, "ceil")
        src_in = _frames(item.trimmed_range().start_time, r)
        before = items[i - 1] if i > 0 else None
        after = items[i + 1] if i + 1 < len(items) else None
        lead = _frames(before.in_offset, r) if isinstance(before, otio.schema.Transition) else 0
        tail = _frames(after.in_offset, r) if isinstance(after, otio.schema.Transition) else 0
        dissolve = 0
        if isinstance(before, otio.schema.Transition):
            dissolve = lead + _frames(before.out_offset, r)
        rec_in -= lead
        src_in -= lead
        rec_out -= tail
        speed, freeze = _speed(item)
        duration = rec_out - rec_in
        if freeze:
            src_out = src_in + 1
        elif speed is not None:
            src_out = src_in + math.floor(duration * speed)
        else:
            src_out = src_in + duration
        event = EdlEvent(
            reel=reels.reel(reel_source(item)),
            channel=channel,
            src_in=src_in,
            src_out=src_out,
            rec_in=record_start + rec_in,
            rec_out=record_start + rec_out,
            clip=item,
            dissolve=dissolve,
            speed=speed,
            freeze=freeze,
        )
        if dissolve:
            if previous is not None:
                cut = EdlEvent(
                    previous.reel,
                    channel,
                    previous.src_out,
                    previous.src_out,
                    event.rec_in,
                    event.rec_in,
                    previous.clip,
                )
            else:
                cut = EdlEvent("BL", channel, 0, 0, event.rec_in, event.rec_in)
            events.append([cut, event])
        else:
            events.append([event])
        previous = event
    return events


def _m2_speed(fps: Fraction, speed: Fraction) -> str:
    value = fps * speed
    tenths = math.trunc(value * 10)
    sign = "-" if tenths < 0 else ""
    tenths = abs(tenths)
    return f"{sign}{tenths // 10:03d}.{tenths % 10}"


def _format(events: list[EdlEvent], number: int, r: Rate, drop: bool) -> list[str]:
    def tc(frames: int) -> str:
        return str(Timecode(frames, r, drop))

    lines: list[str] = []
    for ev in events:
        trans = f"D {ev.dissolve:03d}   " if ev.dissolve else "C        "
        lines.append(
            f"{number:03d}  {ev.reel:<8} {ev.channel:<5} {trans}"
            f"{tc(ev.src_in)} {tc(ev.src_out)} {tc(ev.rec_in)} {tc(ev.rec_out)}"
        )
    last = events[-1]
    if last.speed is not None:
        lines.append(f"M2   {last.reel:<8}\t{_m2_speed(r.fps, last.speed)}\t\t{tc(last.src_in)}")
    for i, ev in enumerate(events):
        if ev.clip is None:
            continue
        side = "TO" if len(events) == 2 and i == 1 else "FROM"
        name = ev.clip.name or reel_source(ev.clip)
        freeze = ev.freeze and ev is last
        lines.append(f"* {side} CLIP NAME:  {name}{' FF' if freeze else ''}")
        if freeze:
            lines.append("* * FREEZE FRAME")
        url = getattr(ev.clip.media_reference, "target_url", None)
        if url:
            lines.append(f"* {side} CLIP: {url}")
    clip = last.clip
    if clip is not None:
        for marker in clip.markers:
            at = _frames(marker.marked_range.start_time, r)
            color = str(marker.color or "RED")
            lines.append(f"* LOC: {tc(at)} {color:<7} {(marker.name or '').upper()}")
    return lines


def edl_text(
    timeline: otio.schema.Timeline,
    tracks: Sequence[tuple[otio.schema.Track, str]],
    *,
    rate: RateLike,
    title: str,
    reels: ReelMap | None = None,
    drop: bool = False,
) -> str:
    """One EDL of ``tracks`` (each with its CMX channel), record timecode from the timeline's start."""
    r = Rate.parse(rate)
    reels = reels if reels is not None else ReelMap()
    start = timeline.global_start_time
    record_start = _frames(start, r) if start is not None else 0
    grouped: list[list[EdlEvent]] = []
    for track, channel in tracks:
        grouped.extend(edl_events(track, channel, rate=r, record_start=record_start, reels=reels))
    grouped.sort(key=lambda ev: (ev[-1].rec_in, ev[-1].channel))
    lines = [f"TITLE: {title}", f"FCM: {'DROP FRAME' if drop else 'NON-DROP FRAME'}", ""]
    for number, events in enumerate(grouped, start=1):
        lines.extend(_format(events, number, r, drop))
        lines.append("")
    used = {ev.reel for events in grouped for ev in events}
    lines.extend(line for line in reels.comment_lines() if line.split()[3] in used)
    return "\n".join(lines).rstrip("\n") + "\n"


def write_edls(
    timeline: otio.schema.Timeline,
    out_dir: str | Path,
    *,
    name: str,
    rate: RateLike,
    reels: ReelMap | None = None,
    drop: bool = False,
) -> list[Path]:
    """``NAME_V1.edl``, ``NAME_V2.edl``… (one per enabled video track, numbered bottom up) and
    ``NAME_AUDIO.edl`` (the first :data:`MAX_AUDIO_CHANNELS` enabled audio tracks), written atomically."""
    out = Path(out_dir)
    reels = reels if reels is not None else ReelMap()
    paths: list[Path] = []
    video = [t for t in timeline.video_tracks() if t.enabled]
    audio = [t for t in timeline.audio_tracks() if t.enabled]
    for i, track in enumerate(video, start=1):
        label = f"V{i}"
        path = out / f"{name}_{label}.edl"
        atomic_write_text(
            path,
            edl_text(timeline, [(track, "V")], rate=rate, title=f"{name} {label}", reels=reels, drop=drop),
        )
        paths.append(path)
    if audio:
        pairs = [(t, audio_channel(i)) for i, t in enumerate(audio[:MAX_AUDIO_CHANNELS], start=1)]
        path = out / f"{name}_AUDIO.edl"
        atomic_write_text(
            path, edl_text(timeline, pairs, rate=rate, title=f"{name} AUDIO", reels=reels, drop=drop)
        )
        paths.append(path)
    return paths
