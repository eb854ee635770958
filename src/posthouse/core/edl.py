"""Reading CMX 3600 EDLs: OTIO's ``cmx_3600`` reader with line-numbered errors and the record start kept.

OTIO's reader drops the record start (01:00:00:00): it is restored into ``global_start_time`` (the hour
of the first event unless given), tracks that start later get a leading gap, and M2 speeds are snapped to
the 0.1 fps an EDL carries. Used by editorial (cut import) and finishing (conform).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

import opentimelineio as otio

from posthouse.core.errors import PosthouseError
from posthouse.core.time import Rate, RateLike, Rounding, Timecode, rational_time_to_frames

__all__ = ["EdlError", "read_edl"]

_EVENT_RE: Final = re.compile(r"^\d+")
_TC_RE: Final = re.compile(r"^\d{2}:\d{2}:\d{2}[:;]\d{2}$|^\d+$")


class EdlError(PosthouseError):
    """An EDL that cannot be written or read."""


def _frames(time: otio.opentime.RationalTime, rate: Rate, rounding: Rounding = "floor") -> int:
    return rational_time_to_frames(time, rate, rounding)


def _check_lines(lines: list[str], r: Rate, path: str) -> None:
    """Our own pass over the event lines, so a malformed one is reported with its number."""
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or not _EVENT_RE.match(line):
            continue
        fields = line.split()
        where = f"line {number}"
        if len(fields) not in (8, 9):
            raise EdlError(
                f"event line has {len(fields)} fields, expected 8 (cut) or 9 (transition): {line!r}",
                path=path,
                where=where,
                hint="fields are: event reel channel type [duration] src-in src-out rec-in rec-out",
            )
        kind = fields[3]
        if len(fields) == 8 and kind != "C":
            raise EdlError(f"edit type {kind!r} needs a duration field: {line!r}", path=path, where=where)
        for tc in fields[-4:]:
            if not _TC_RE.match(tc):
                raise EdlError(f"bad timecode {tc!r}: {line!r}", path=path, where=where)
            if ":" in tc or ";" in tc:
                try:
                    Timecode.parse(tc, r)
                except PosthouseError as exc:
                    raise EdlError(exc.message, path=path, where=where, hint=exc.hint) from None


def _parse(text: str, r: Rate) -> otio.schema.Timeline:
    result = otio.adapters.read_from_string(text, adapter_name="cmx_3600", rate=r.otio_rate)
    if not isinstance(result, otio.schema.Timeline):
        raise EdlError("the EDL did not read as a timeline")
    return result


def _first_bad_line(lines: list[str], r: Rate) -> int | None:
    """The smallest k such that the first k lines fail to parse (binary search), or None."""
    lo, hi = 0, len(lines)
    if not _fails("\n".join(lines), r):
        return None
    while lo < hi:
        mid = (lo + hi) // 2
        if _fails("\n".join(lines[:mid]), r):
            hi = mid
        else:
            lo = mid + 1
    return lo


def _fails(text: str, r: Rate) -> bool:
    try:
        _parse(text, r)
    except Exception:
        return True
    return False


def _normalise(
    tl: otio.schema.Timeline, r: Rate, record_start: int | None, drop: bool, snap_speed: bool
) -> None:
    """Record start into ``global_start_time``, each track starting there (leading gaps where needed)."""
    firsts: dict[int, int] = {}
    for i, track in enumerate(tl.tracks):
        if track.source_range is not None:
            firsts[i] = -_frames(track.source_range.start_time, r)
        else:
            firsts[i] = 0
    if not firsts:
        return
    start = record_start
    if start is None:
        hours = Timecode(min(firsts.values()), r, drop).components[0]
        start = Timecode.parse(f"{hours:02d}:00:00{';' if drop else ':'}00", r).frames
    tl.global_start_time = otio.opentime.RationalTime(start, r.otio_rate)
    for i, track in enumerate(tl.tracks):
        track.source_range = None
        lead = firsts[i] - start
        if lead > 0:
            gap = otio.schema.Gap(
                source_range=otio.opentime.TimeRange(
                    otio.opentime.RationalTime(0, r.otio_rate), otio.opentime.RationalTime(lead, r.otio_rate)
                )
            )
            track.insert(0, gap)
    for clip in tl.find_clips() if snap_speed else ():
        for fx in clip.effects:
            if isinstance(fx, otio.schema.LinearTimeWarp) and fx.effect_name != "FreezeFrame":
                # M2 carries fps × speed to 0.1 fps: snap the speed to 1/100.
                fx.time_scalar = round(fx.time_scalar, 2)


def read_edl(
    path: str | Path, rate: RateLike, *, record_start: str | None = None, snap_speed: bool = True
) -> otio.schema.Timeline:
    """Read a CMX 3600 EDL with OTIO's reader; a malformed EDL raises :class:`EdlError` naming the line.

    The record start (``global_start_time``) is ``record_start`` when given, else the hour of the first
    event (01:00:00:00 for a cut starting at 01:00:00:00); tracks that start later get a leading gap.
    ``snap_speed`` rounds M2 speeds to 1/100 (what an EDL written from those speeds truncated); conform
    keeps the EDL's fps as written.
    """
    path = Path(path)
    r = Rate.parse(rate)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise EdlError(f"cannot read EDL: {exc.strerror or exc}", path=path) from None
    lines = text.splitlines()
    _check_lines(lines, r, str(path))
    try:
        tl = _parse(text, r)
    except Exception as exc:
        message = str(exc) or type(exc).__name__
        bad = _first_bad_line(lines, r)
        where = f"line {bad}" if bad else None
        detail = f": {lines[bad - 1].strip()!r}" if bad and bad <= len(lines) else ""
        raise EdlError(
            f"malformed EDL ({message}){detail}",
            path=path,
            where=where,
            hint="check that event against CMX 3600: event reel channel type src-in src-out rec-in rec-out",
        ) from None
    start = Timecode.parse(record_start, r).frames if record_start else None
    drop = any(";" in f for line in lines if _EVENT_RE.match(line.strip()) for f in line.split()[-4:])
    _normalise(tl, r, start, drop, snap_speed)
    return tl
