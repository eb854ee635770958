"""Change propagation after a re-cut: ``reconform OLD NEW`` updates the downstream work of a cut version.

When a locked cut is re-opened and changed, the sound edit, the music cues, the VFX pull list, the conform
and the subtitles made for the old version are carried over to the new one instead of being redone.

**The record map.** From the two cuts' picture events (every enabled video track; where tracks overlap the
topmost wins) :func:`record_map` builds a map from old record frames to new ones. Events are matched as
:func:`posthouse.picture.diff.diff_cuts` matches them (same media, overlapping source; a shared link id, a
larger overlap, the same track, a nearer position win ties). A matched event keeps its source↔record
relation inside the part of its source both versions play: those old frames map to new frames by the
event's *shift* (new record − new source − old record + old source). The parts trimmed away, and events
the new cut no longer has, map to nothing (*removed*). Filler moves with the event after it (the one
before at the end). New material — added events and trim extensions — is listed as *added* spans.

Segments are *unchanged* (shift 0), *shifted* (moved by a ripple), *trimmed* or *moved* (the event itself
changed: the change list says so), *removed*, or *filler*. An item downstream (a sound clip, a cue, a
subtitle, a VFX shot) is *touched* when part of it lies on removed picture or it spans segments of
different shifts; an item kept whole on one shift only moves (even inside a trimmed event, whose kept
frames keep their relation to picture), and the report says exactly which items were touched.

**The run.** :func:`reconform` reads the old version's outputs from the project (``sound/CUT_vOLD/
session.otio``, ``score/CUT_vOLD/cues.json``, ``turnovers/CUT_vOLD/CUT_vOLD_vfx_pulls.json``,
``finish/CUT_vOLD/conform.otio`` with ``finish/originals.json``, subtitles under ``deliver/subtitles/``),
updates each with :mod:`~posthouse.pipeline.reconform_sound`, :mod:`~posthouse.pipeline.reconform_score`
and :mod:`~posthouse.pipeline.reconform_finish`, and writes them with ``report.json`` and ``report.html``
to ``PROJECT/reconform/CUT_vOLD_to_vNEW/``. The old version's files are only read.
"""

from __future__ import annotations

import bisect
import functools
import html
import itertools
import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Final, Literal

import opentimelineio as otio

from posthouse.core.errors import PosthouseError, UsageError
from posthouse.core.fsutil import atomic_write_text
from posthouse.core.time import Rate, Timecode, rational_time_to_frames, rational_time_to_seconds
from posthouse.picture.cuts import CutRef, CutStore
from posthouse.picture.diff import ChangeList, Event, diff_cuts, events, match_events
from posthouse.picture.edit import timeline_rate

__all__ = [
    "DEPARTMENTS",
    "AddedSpan",
    "DepartmentResult",
    "ItemChange",
    "Piece",
    "ReconformError",
    "ReconformReport",
    "RecordMap",
    "Segment",
    "SpanMap",
    "exact_frames",
    "reconform",
    "reconform_dir",
    "record_map",
    "report_html",
]

SegmentStatus = Literal["unchanged", "shifted", "trimmed", "moved", "removed", "filler"]
ItemStatus = Literal["unchanged", "shifted", "updated", "removed", "added"]

DEPARTMENTS: Final = ("sound", "score", "vfx", "conform", "subtitles")
"""The downstream work a reconform updates, in report order."""

_END: Final = 1 << 40  # "to the end of the cut" in record frames
_TOUCHING: Final = frozenset({"trimmed", "moved", "removed"})


class ReconformError(PosthouseError, ValueError):
    """Two cut versions that cannot be reconformed, or an old output that cannot be read."""


# ------------------------------------------------------------------------------------------ time


@functools.lru_cache(maxsize=256)
def _factor(rate: float, fps: Fraction) -> tuple[int, int]:
    """Frames at ``fps`` per unit of an OTIO time at float ``rate``, as ``(numerator, denominator)``."""
    f = fps * rational_time_to_seconds(otio.opentime.RationalTime(1, rate))
    return f.numerator, f.denominator


_SNAP: Final = Fraction(1, 1_000_000)


def exact_frames(t: otio.opentime.RationalTime, rate: Rate) -> Fraction:
    """``t`` in frames at ``rate``, exactly (float noise within 1e-6 frame snapped to the whole frame)."""
    num, den = _factor(t.rate, rate.fps)
    value = float(t.value)
    if value.is_integer():
        n = int(value) * num
        if n % den == 0:
            return Fraction(n // den)
        frames = Fraction(n, den)
    else:
        frames = Fraction(value) * Fraction(num, den)
    whole = round(frames)
    return Fraction(whole) if abs(frames - whole) <= _SNAP else frames


def _nearest(t: otio.opentime.RationalTime, rate: Rate) -> int:
    return round(exact_frames(t, rate))


# ------------------------------------------------------------------------------------------ the map


@dataclass(frozen=True, slots=True)
class Segment:
    """Old record frames ``[old_in, old_out)`` and where they went: ``shift`` frames later (None: removed)."""

    old_in: int
    old_out: int
    shift: int | None
    status: SegmentStatus
    event: str

    @property
    def touched(self) -> bool:
        """True when the picture itself changed here (trimmed, moved or removed)."""
        return self.status in _TOUCHING


@dataclass(frozen=True, slots=True)
class AddedSpan:
    """New material in the new cut: record frames ``[new_in, new_out)`` that nothing old maps to."""

    new_in: int
    new_out: int
    event: str
    reason: str


@dataclass(frozen=True, slots=True)
class Piece:
    """A part ``[lo, hi)`` (old record frames, exact) of an item's span that lies on one shift."""

    lo: Fraction
    hi: Fraction
    shift: int | None
    touched: bool
    events: tuple[str, ...]

    @property
    def kept(self) -> bool:
        return self.shift is not None


@dataclass(frozen=True, slots=True)
class SpanMap:
    """How an old span ``[lo, hi)`` maps to the new cut: its pieces, merged where the shift is the same."""

    lo: Fraction
    hi: Fraction
    pieces: tuple[Piece, ...]

    @property
    def kept(self) -> tuple[Piece, ...]:
        """The pieces that survive."""
        return tuple(p for p in self.pieces if p.kept)

    @property
    def removed(self) -> bool:
        """True when nothing of the span survives."""
        return not self.kept

    @property
    def shift(self) -> int | None:
        """The one shift of a span kept whole, else None."""
        if len(self.pieces) == 1 and self.pieces[0].kept:
            return self.pieces[0].shift
        return None

    @property
    def touched(self) -> bool:
        """True when the span loses material or is torn between shifts (a span kept whole only moves, even
        inside a trimmed or moved event)."""
        return len(self.pieces) != 1 or not self.pieces[0].kept

    @property
    def events(self) -> tuple[str, ...]:
        """The picture events under the span (changed ones first)."""
        seen = dict.fromkeys(e for p in self.pieces if p.touched for e in p.events)
        seen.update(dict.fromkeys(e for p in self.pieces for e in p.events))
        return tuple(seen)


@dataclass(slots=True)
class RecordMap:
    """Old record frames → new record frames, event by event (see the module docstring)."""

    rate: Rate
    old_start: int  # timecode frame of the old cut's first frame
    new_start: int
    drop: bool
    segments: tuple[Segment, ...]
    added: tuple[AddedSpan, ...]
    changes: ChangeList
    old_events: list[Event] = field(
        default_factory=list, repr=False
    )  # picture events, as diff_cuts sees them
    new_events: list[Event] = field(default_factory=list, repr=False)
    matched: dict[int, int] = field(default_factory=dict, repr=False)  # new event index → old event index
    _starts: list[int] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        self._starts = [s.old_in for s in self.segments]

    def segment_at(self, frame: int | Fraction) -> Segment:
        """The segment holding old record frame ``frame``."""
        k = bisect.bisect_right(self._starts, int(frame // 1)) - 1
        return self.segments[max(k, 0)]

    def span(self, lo: int | Fraction, hi: int | Fraction) -> SpanMap:
        """How old record frames ``[lo, hi)`` map to the new cut."""
        lo, hi = Fraction(lo), Fraction(hi)
        if hi <= lo:
            hi = lo + Fraction(1, 1_000_000)
        k = max(bisect.bisect_right(self._starts, int(lo // 1)) - 1, 0)
        pieces: list[Piece] = []
        while k < len(self.segments):
            seg = self.segments[k]
            if seg.old_in >= hi:
                break
            a, b = max(lo, Fraction(seg.old_in)), min(hi, Fraction(seg.old_out))
            if b > a:
                last = pieces[-1] if pieces else None
                if last is not None and last.shift == seg.shift and last.hi == a:
                    events_ = last.events if seg.event in last.events else (*last.events, seg.event)
                    pieces[-1] = Piece(last.lo, b, seg.shift, last.touched or seg.touched, events_)
                else:
                    pieces.append(Piece(a, b, seg.shift, seg.touched, (seg.event,)))
            k += 1
        return SpanMap(lo, hi, tuple(pieces))

    def map_frame(self, frame: int | Fraction) -> Fraction | None:
        """The new record frame of old frame ``frame`` (None when its picture was removed)."""
        seg = self.segment_at(frame)
        return None if seg.shift is None else Fraction(frame) + seg.shift

    def anchor(self, frame: int | Fraction) -> Fraction:
        """Where removed material at old ``frame`` would sit in the new cut: the new position of the next
        kept frame (of the previous one at the end of the cut)."""
        k = max(bisect.bisect_right(self._starts, int(Fraction(frame) // 1)) - 1, 0)
        for seg in self.segments[k:]:
            if seg.shift is not None:
                return Fraction(max(seg.old_in, int(Fraction(frame) // 1)) + seg.shift)
        for seg in reversed(self.segments[:k]):
            if seg.shift is not None:
                return Fraction(seg.old_out + seg.shift)
        return Fraction(0)

    def tc(self, frame: int | Fraction | None, *, old: bool = False) -> str:
        """Record timecode label of record frame ``frame`` (new cut; the old cut's with ``old``)."""
        if frame is None:
            return ""
        base = self.old_start if old else self.new_start
        return str(Timecode(base + int(Fraction(frame) // 1), self.rate, self.drop))

    def touched_events(self) -> list[str]:
        """Labels of the old events whose picture changed, in record order."""
        return list(dict.fromkeys(s.event for s in self.segments if s.touched and s.event))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (segments with timecodes; the last one runs to the end)."""
        return {
            "rate": str(self.rate),
            "segments": [
                {
                    **asdict(s),
                    "old_out": None if s.old_out >= _END else s.old_out,
                    "old_tc_in": self.tc(s.old_in, old=True),
                }
                for s in self.segments
            ],
            "added": [
                {**asdict(a), "tc_in": self.tc(a.new_in), "tc_out": self.tc(a.new_out)} for a in self.added
            ],
        }


def _video(timeline: otio.schema.Timeline) -> list[Event]:
    """The clips of the enabled video tracks, as :func:`posthouse.picture.diff.events` lists them."""
    enabled = {t.name for t in timeline.tracks if t.kind == otio.schema.TrackKind.Video and t.enabled}
    kind = str(otio.schema.TrackKind.Video)
    return [e for e in events(timeline) if e.kind == kind and e.track in enabled]


def _start(timeline: otio.schema.Timeline, rate: Rate) -> int:
    gst = timeline.global_start_time
    return rational_time_to_frames(gst, rate, "nearest") if gst is not None else 0


def record_map(
    old: otio.schema.Timeline, new: otio.schema.Timeline, *, old_name: str = "", new_name: str = ""
) -> RecordMap:
    """The map from ``old``'s record frames to ``new``'s (see the module docstring)."""
    rate = timeline_rate(new)
    if timeline_rate(old) != rate:
        raise ReconformError(
            f"the cuts run at different rates ({timeline_rate(old)} and {rate} fps)",
            hint="reconform versions of the same cut",
        )
    changes = diff_cuts(old, new, old_name=old_name, new_name=new_name)
    old_start, new_start = _start(old, rate), _start(new, rate)
    drop = changes.drop
    a_ev, b_ev = _video(old), _video(new)
    matched = match_events(a_ev, b_ev)
    back = {i: j for j, i in matched.items()}
    moved = {(c.track, c.record_in) for c in changes.of_kind("moved")}
    track_order = [t.name for t in old.tracks if t.kind == otio.schema.TrackKind.Video]

    def label(e: Event) -> str:
        return f"{e.track} {e.name} {Timecode(old_start + e.record_in, rate, drop)}"

    # per old video track: (old_in, old_out, shift, status, label)
    per_track: dict[str, list[Segment]] = {t: [] for t in track_order}
    added: list[AddedSpan] = []
    for i, a in enumerate(a_ev):
        segs = per_track.setdefault(a.track, [])
        j = back.get(i)
        if j is None:
            segs.append(Segment(a.record_in, a.record_out, None, "removed", label(a)))
            continue
        b = b_ev[j]
        lo, hi = max(a.source_in, b.source_in), min(a.source_out, b.source_out)
        shift = (b.record_in - b.source_in) - (a.record_in - a.source_in)
        trimmed = (a.source_in, a.source_out) != (b.source_in, b.source_out)
        status: SegmentStatus = (
            "moved"
            if (b.track, b.record_in) in moved
            else "trimmed"
            if trimmed
            else ("shifted" if shift else "unchanged")
        )
        k_in, k_out = a.record_in + lo - a.source_in, a.record_in + hi - a.source_in
        if k_in > a.record_in:
            segs.append(Segment(a.record_in, k_in, None, "removed", label(a)))
        segs.append(Segment(k_in, k_out, shift, status, label(a)))
        if k_out < a.record_out:
            segs.append(Segment(k_out, a.record_out, None, "removed", label(a)))
        if b.source_in < lo:
            added.append(AddedSpan(b.record_in, b.record_in + lo - b.source_in, label(a), "head extended"))
        if b.source_out > hi:
            added.append(
                AddedSpan(b.record_out - (b.source_out - hi), b.record_out, label(a), "tail extended")
            )
    for j, b in enumerate(b_ev):
        if j not in matched:
            tc = Timecode(new_start + b.record_in, rate, drop)
            added.append(AddedSpan(b.record_in, b.record_out, f"{b.track} {b.name} {tc}", "new event"))
    segments = _fill(_overlay(per_track, track_order))
    added.sort(key=lambda s: (s.new_in, s.new_out))
    return RecordMap(
        rate, old_start, new_start, drop, tuple(segments), tuple(added), changes, a_ev, b_ev, matched
    )


def _overlay(per_track: dict[str, list[Segment]], order: list[str]) -> list[Segment]:
    """One segment list from every track's: where tracks overlap the topmost one wins."""
    tracks = [sorted(per_track[t], key=lambda s: s.old_in) for t in order if per_track.get(t)]
    tracks += [sorted(v, key=lambda s: s.old_in) for t, v in per_track.items() if t not in order and v]
    if len(tracks) == 1:
        return tracks[0]
    bounds = sorted({b for segs in tracks for s in segs for b in (s.old_in, s.old_out)})
    starts = [[s.old_in for s in segs] for segs in tracks]
    out: list[Segment] = []
    for lo, hi in itertools.pairwise(bounds):
        top: Segment | None = None
        for segs, st in zip(reversed(tracks), reversed(starts), strict=True):
            k = bisect.bisect_right(st, lo) - 1
            if k >= 0 and segs[k].old_out > lo:
                top = segs[k]
                break
        if top is None:
            continue
        if out and out[-1].event == top.event and out[-1].shift == top.shift and out[-1].old_out == lo:
            out[-1] = Segment(out[-1].old_in, hi, top.shift, top.status, top.event)
        else:
            out.append(Segment(lo, hi, top.shift, top.status, top.event))
    return out


def _fill(segs: list[Segment]) -> list[Segment]:
    """Cover every old frame: filler before, between and after the events moves with the next kept event
    (the previous one at the end); filler a closed-up gap no longer has is removed."""
    out: list[Segment] = []
    kept = [s for s in segs if s.shift is not None]
    if not kept:
        return [Segment(0, _END, None, "removed", "")] if segs else [Segment(0, _END, 0, "filler", "")]
    pos = 0
    k = 0  # index into kept of the next kept segment at or after pos
    prev: Segment | None = None  # the last kept segment before pos
    for s in [*segs, Segment(_END, _END, None, "filler", "")]:
        if s.old_in > pos:
            while k < len(kept) and kept[k].old_in < s.old_in:
                k += 1
            nxt = kept[k] if k < len(kept) else None
            shift = nxt.shift if nxt is not None else (prev.shift if prev is not None else 0)
            assert shift is not None
            lo, hi = pos, s.old_in
            if prev is not None and prev.shift is not None and nxt is not None and prev.old_out == lo:
                overlap = prev.old_out + prev.shift - (lo + shift)
                if overlap > 0:  # the gap closed up: its first frames are gone
                    cut = min(hi, lo + overlap)
                    out.append(Segment(lo, cut, None, "removed", "filler"))
                    lo = cut
            if hi > lo:
                out.append(Segment(lo, hi, shift, "filler", ""))
        if s.old_out > s.old_in:
            out.append(s)
            pos = s.old_out
            if s.shift is not None:
                prev = s
    return out


# ------------------------------------------------------------------------------------------ results


@dataclass(frozen=True, slots=True)
class ItemChange:
    """What happened to one downstream item (a sound clip, a cue, a shot, an event, a subtitle)."""

    department: str
    item: str
    status: ItemStatus
    old_in: int | None = None  # old record frames (None: new item)
    old_out: int | None = None
    new_in: int | None = None  # new record frames (None: removed)
    new_out: int | None = None
    shift: int | None = None  # frames, when the item moved whole
    needs_human: bool = False
    reason: str = ""
    track: str = ""
    events: tuple[str, ...] = ()

    @property
    def touched(self) -> bool:
        """True unless the item only kept its place or shifted with a ripple."""
        return self.status not in ("unchanged", "shifted")

    def to_dict(self, rmap: RecordMap | None = None) -> dict[str, Any]:
        """JSON-ready form (with record timecodes when given the map)."""
        doc = asdict(self)
        doc["events"] = list(self.events)
        if rmap is not None:
            doc["old_tc"] = rmap.tc(self.old_in, old=True)
            doc["new_tc"] = rmap.tc(self.new_in)
        return doc


@dataclass(slots=True)
class DepartmentResult:
    """One department's reconform: its items, the files written, counters, or why it was skipped."""

    name: str
    items: list[ItemChange] = field(default_factory=list)
    outputs: list[Path] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)
    skipped: str = ""
    error: str = ""  # the department failed (the others went on)
    seconds: float = 0.0

    @property
    def touched(self) -> list[ItemChange]:
        """The items a change reached."""
        return [i for i in self.items if i.touched]

    @property
    def needs_human(self) -> list[ItemChange]:
        """The items someone must look at."""
        return [i for i in self.items if i.needs_human]

    def counts(self) -> dict[str, int]:
        """Items per status, plus ``needs_human``."""
        out = {k: 0 for k in ("unchanged", "shifted", "updated", "removed", "added")}
        for i in self.items:
            out[i.status] += 1
        out["needs_human"] = len(self.needs_human)
        return out


@dataclass(slots=True)
class ReconformReport:
    """What moved, by how much, and what needs a human, per department."""

    old: str
    new: str
    out_dir: Path
    map: RecordMap
    departments: dict[str, DepartmentResult]
    seconds: float = 0.0

    @property
    def touched(self) -> list[ItemChange]:
        """Every touched item, department by department."""
        return [i for d in self.departments.values() for i in d.touched]

    @property
    def needs_human(self) -> list[ItemChange]:
        """Every item someone must look at."""
        return [i for d in self.departments.values() for i in d.needs_human]

    @property
    def failed(self) -> list[str]:
        """The departments that failed."""
        return [name for name, d in self.departments.items() if d.error]

    def to_dict(self) -> dict[str, Any]:
        """The ``report.json`` document."""
        rmap = self.map
        return {
            "format": "posthouse.reconform",
            "version": 1,
            "old": self.old,
            "new": self.new,
            "rate": str(rmap.rate),
            "out_dir": str(self.out_dir),
            "seconds": round(self.seconds, 3),
            "changes": rmap.changes.to_dict(),
            "touched_events": rmap.touched_events(),
            "needs_sound": [
                {**asdict(a), "tc_in": rmap.tc(a.new_in), "tc_out": rmap.tc(a.new_out)} for a in rmap.added
            ],
            "summary": {
                name: ({"error": d.error} if d.error else {"skipped": d.skipped} if d.skipped else d.counts())
                for name, d in self.departments.items()
            },
            "departments": {
                name: {
                    "skipped": d.skipped,
                    "error": d.error,
                    "outputs": [str(p) for p in d.outputs],
                    "stats": d.stats,
                    "seconds": round(d.seconds, 4),
                    "counts": d.counts(),
                    "touched": [i.to_dict(rmap) for i in d.touched],
                    "shifted": [i.to_dict(rmap) for i in d.items if i.status == "shifted"],
                    "unchanged": len([i for i in d.items if i.status == "unchanged"]),
                }
                for name, d in self.departments.items()
            },
            "map": rmap.to_dict(),
        }

    def to_text(self) -> str:
        """A short human summary: the change list, then per department what moved and what needs a human."""
        lines = [f"Reconform {self.old} → {self.new}: {len(self.map.changes.changes)} picture changes"]
        for c in self.map.changes.changes:
            lines.append(f"  {c}")
        for span in self.map.added:
            lines.append(
                f"  needs sound: {self.map.tc(span.new_in)}–{self.map.tc(span.new_out)} {span.reason}"
            )
        for name, d in self.departments.items():
            if d.error:
                lines.append(f"{name}: FAILED: {d.error}")
                continue
            if d.skipped:
                lines.append(f"{name}: skipped ({d.skipped})")
                continue
            counts = ", ".join(f"{v} {k}" for k, v in d.counts().items() if v)
            lines.append(f"{name}: {counts or 'nothing'}")
            for i in d.touched:
                flag = "NEEDS HUMAN  " if i.needs_human else ""
                lines.append(f"  {flag}{i.status:<8} {i.item}  {i.reason}".rstrip())
        lines.append(f"report: {self.out_dir / 'report.json'}")
        return "\n".join(lines) + "\n"


def _span_tc(rmap: RecordMap, a: int | None, b: int | None, old: bool) -> str:
    return "" if a is None else f"{rmap.tc(a, old=old)}–{rmap.tc(b, old=old)}"


def report_html(report: ReconformReport) -> str:
    """A standalone HTML page of the report: the picture changes, then each department's touched items."""
    e = html.escape
    rmap = report.map
    rows = "".join(f"<li><code>{e(str(c))}</code></li>" for c in rmap.changes.changes)
    sound = "".join(
        f"<li>{e(rmap.tc(a.new_in))}–{e(rmap.tc(a.new_out))} {e(a.event)} ({e(a.reason)})</li>"
        for a in rmap.added
    )
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>Reconform {e(report.old)} → {e(report.new)}</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 6px;font-size:13px}.h{background:#fdd}</style></head><body>",
        f"<h1>Reconform {e(report.old)} → {e(report.new)}</h1>",
        f"<h2>Picture changes</h2><ul>{rows or '<li>none</li>'}</ul>",
        f"<h2>Needs sound (new material)</h2><ul>{sound or '<li>none</li>'}</ul>",
    ]
    for name, d in report.departments.items():
        if d.error or d.skipped:
            what = f"failed: {d.error}" if d.error else f"skipped: {d.skipped}"
            parts.append(f"<h2>{e(name)}</h2><p>{e(what)}</p>")
            continue
        counts = ", ".join(f"{v} {k}" for k, v in d.counts().items() if v) or "nothing"
        parts.append(f"<h2>{e(name)}</h2><p>{e(counts)}</p>")
        if d.touched:
            parts.append(
                "<table><tr><th>item</th><th>status</th><th>old</th><th>new</th><th>shift</th>"
                "<th>needs a human</th><th>why</th></tr>"
            )
            for i in d.touched:
                cls = " class='h'" if i.needs_human else ""
                parts.append(
                    f"<tr{cls}><td>{e(i.item)}</td><td>{e(i.status)}</td>"
                    f"<td>{e(_span_tc(rmap, i.old_in, i.old_out, True))}</td>"
                    f"<td>{e(_span_tc(rmap, i.new_in, i.new_out, False))}</td>"
                    f"<td>{'' if i.shift is None else i.shift}</td><td>{'yes' if i.needs_human else ''}</td>"
                    f"<td>{e(i.reason)}</td></tr>"
                )
            parts.append("</table>")
        shifted = [i for i in d.items if i.status == "shifted"]
        if shifted:
            moves = sorted({i.shift for i in shifted if i.shift is not None})
            parts.append(
                f"<p>{len(shifted)} shifted with the picture ({', '.join(f'{m:+d}' for m in moves)} fr)</p>"
            )
    parts.append("</body></html>\n")
    return "".join(parts)


# ------------------------------------------------------------------------------------------ the run


def reconform_dir(project_root: str | Path, old: CutRef, new: CutRef) -> Path:
    """``PROJECT/reconform/CUT_vOLD_to_vNEW`` for two resolved cut references (``OLDCUT_vOLD_to_NEWCUT_vNEW``
    when the names differ)."""
    root = Path(project_root) / "reconform"
    a, b = old.version or 0, new.version or 0
    if old.name == new.name:
        return root / f"{new.name}_v{a:03d}_to_v{b:03d}"
    return root / f"{old.name}_v{a:03d}_to_{new.name}_v{b:03d}"


def reconform(
    project_root: str | Path,
    old: str,
    new: str,
    *,
    removed: Literal["drop", "mute"] = "drop",
    originals: Sequence[str | Path] = (),
    subtitles: Sequence[str | Path] = (),
    out_dir: str | Path | None = None,
    resolve: bool = True,
    verify: bool = True,
    departments: Sequence[str] = DEPARTMENTS,
) -> ReconformReport:
    """Carry the old cut version's downstream work over to the new version and write it, with the report,
    to ``PROJECT/reconform/CUT_vOLD_to_vNEW/`` (or ``out_dir``).

    ``removed``: sound on removed picture is dropped, or kept muted on a disabled track. ``originals``:
    folders to index when the project has no ``finish/originals.json``. ``subtitles``: subtitle files
    (default: every ``.srt``/``.vtt`` under ``PROJECT/deliver/subtitles``). ``resolve``: re-solve the tempo
    of cues whose hits moved. ``verify``: compare re-matched conform events with the offline media.
    ``departments``: the ones to update. A department whose input is missing is skipped; one whose input
    is broken fails alone (``report.failed``), the others are still written.
    """
    t0 = time.perf_counter()
    unknown = sorted(set(departments) - set(DEPARTMENTS))
    if unknown:
        raise UsageError(
            f"unknown department(s) {', '.join(unknown)}", hint=f"choose from {', '.join(DEPARTMENTS)}"
        )
    if removed not in ("drop", "mute"):
        raise UsageError(f"removed must be 'drop' or 'mute', not {removed!r}")
    root = Path(project_root)
    store = CutStore(root / "cuts")
    old_ref, new_ref = store.resolve(old), store.resolve(new)
    if old_ref == new_ref:
        raise UsageError(f"{old_ref} and {new_ref} are the same version", hint="name two versions")
    old_cut, new_cut = store.open(old_ref), store.open(new_ref)
    rmap = record_map(old_cut, new_cut, old_name=str(old_ref), new_name=str(new_ref))
    out = Path(out_dir) if out_dir is not None else reconform_dir(root, old_ref, new_ref)
    out.mkdir(parents=True, exist_ok=True)
    old_tag = f"{old_ref.name}_v{old_ref.version or 0:03d}"
    results: dict[str, DepartmentResult] = {}
    for name in DEPARTMENTS:
        if name not in departments:
            continue
        d0 = time.perf_counter()
        try:
            result = _department(
                name,
                root,
                old_tag,
                old_cut,
                new_cut,
                rmap,
                out,
                removed,
                originals,
                subtitles,
                resolve,
                verify,
            )
        except PosthouseError as exc:  # one department's bad input does not sink the others
            result = DepartmentResult(name, error=str(exc))
        result.seconds = time.perf_counter() - d0
        results[name] = result
    report = ReconformReport(str(old_ref), str(new_ref), out, rmap, results)
    report.seconds = time.perf_counter() - t0
    # compact JSON (the C encoder): a feature's report lists thousands of items; report.html is for reading
    atomic_write_text(out / "report.json", json.dumps(report.to_dict(), ensure_ascii=False) + "\n")
    atomic_write_text(out / "report.html", report_html(report))
    return report


def _department(
    name: str,
    root: Path,
    old_tag: str,
    old_cut: otio.schema.Timeline,
    new_cut: otio.schema.Timeline,
    rmap: RecordMap,
    out: Path,
    removed: Literal["drop", "mute"],
    originals: Sequence[str | Path],
    subtitles: Sequence[str | Path],
    resolve: bool,
    verify: bool,
) -> DepartmentResult:
    if name == "sound":
        from posthouse.pipeline.reconform_sound import reconform_sound_dir

        return reconform_sound_dir(
            root / "sound" / old_tag / "session.otio", new_cut, rmap, out, removed=removed
        )
    if name == "score":
        from posthouse.pipeline.reconform_score import reconform_score_dir

        return reconform_score_dir(root / "score" / old_tag / "cues.json", rmap, out, resolve=resolve)
    from posthouse.pipeline import reconform_finish as fin

    if name == "vfx":
        pulls = root / "turnovers" / old_tag / f"{old_tag}_vfx_pulls.json"
        return fin.reconform_pulls_dir(pulls, old_cut, new_cut, rmap, out)
    if name == "conform":
        conformed = root / "finish" / old_tag / "conform.otio"
        return fin.reconform_conform_dir(
            conformed, root / "finish", old_cut, new_cut, rmap, out, originals=originals, verify=verify
        )
    files = [Path(p) for p in subtitles] or sorted(
        p for p in (root / "deliver" / "subtitles").glob("*") if p.suffix.lower() in (".srt", ".vtt")
    )
    return fin.reconform_subtitles_dir(files, rmap, out)
