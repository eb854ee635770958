"""Spotting: the music cue list from the markers on the locked cut (CSV, printable HTML, JSON).

Which markers spot music
    Every marker of the cut counts — on the timeline (its stack), on a track, or on a clip (a clip marker
    sits in the clip's source time and is placed on the record side as
    :func:`posthouse.engine.plan_timeline` places it; one hidden by the clip's trim is skipped). The cue
    word is read from the marker's name, else from its note (``metadata["posthouse"]["note"]``, what
    ``posthouse edit marker --note "MUSIC IN: opening theme"`` writes), else from its comment:

    ``MUSIC IN`` / ``M IN``      starts a cue at the marker's frame (so does a plain ``MUSIC`` marker
                                 without duration, and ``metadata["posthouse"]["cue"] == "music"``)
    ``MUSIC OUT`` / ``M OUT``    ends the open cue at the marker's frame (exclusive: the music stops there)
    ``MUSIC`` with a duration    a whole cue: its in is the marker's frame, its out the end of its range
                                 (so is ``MUSIC IN`` with a duration, and ``cue == "music"`` in the
                                 metadata with a duration)
    ``HIT`` [``downbeat`` | ``beat`` | ``any``]
                                 a hit point (default ``downbeat``) of the cue it falls in; a hit on a
                                 cue's out frame belongs to that cue, whose out then moves one frame on
    ``REEL n``                   from here on the cues are on reel ``n`` (numbering starts again at 1)

    Any case is accepted, and ``-``/``_`` between its words (``M-IN``, ``Music_In``). Text may follow the
    cue word only after ``:``, ``-`` or ``|`` — so a note such as ``Music in this scene is too loud`` or
    ``Hit the lights`` is not read as a cue. That text describes the cue as ``|``-separated fields:

        ``MUSIC IN: Opening theme | usage: theme | composer: A. Writer | source``

    The first free text is the title (the description when a ``title:`` field is given); more free text
    goes to the description; ``title``, ``description``/``desc``, ``usage``, ``composer``, ``publisher``
    and ``id`` fields are understood; a bare ``source`` marks licensed source music. The same keys in
    ``metadata["posthouse"]`` of the marker win over the text (``cue_id`` fixes the cue's ID). Free text
    on a ``MUSIC OUT`` marker is added to the description as ``out: …``; a hit's text is its label.

Pairing
    An ``IN`` with no ``OUT`` closes at the next ``IN`` (a segue) or at the end of the cut; an ``OUT`` with
    no open cue and a ``HIT`` outside every cue are skipped. Each is a warning, not an error. The same
    marker repeated at the same frame (an NLE copies clip markers onto the linked sound clips) counts once.

Numbering
    Cues are numbered in record order, per reel: ``1M1``, ``1M2`` … (the trade's reel-M-number). The
    reel is the cut's ``metadata["posthouse"]["reel"]`` (or ``metadata["reel"]``; its digits), 1 when
    unset, changed at ``REEL n`` markers. A cue whose marker fixes its ID keeps it; the numbering steps over
    taken IDs.

Timecode
    Labels are record timecode at the cut's rate from its start (``global_start_time``), drop-frame when
    asked (``drop=True``) or when the cut's ``metadata["posthouse"]["drop_frame"]`` says so. Reading a CSV,
    drop-frame is taken from each label's separator (``;``), never from the rate.

The CSV round trip
    ``cues.csv`` (:data:`CSV_FIELDS`) opens in any spreadsheet; a music editor moves ins and outs, renames
    cues, moves hits, and :func:`read_cue_list` reads it back. Hits are written space-separated as
    ``TC/k`` with ``k`` = ``d`` (downbeat), ``b`` (beat) or ``a`` (any) and an optional label in brackets:
    ``01:00:10:00/d[door slam] 01:00:12:05/b``. The ``end`` column wins over ``duration`` (a mismatch is a
    warning); a row with no end takes start + duration. Errors name the file and the line.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import opentimelineio as otio

from posthouse.core.errors import PosthouseError, UsageError
from posthouse.core.fsutil import atomic_write_text
from posthouse.core.time import Rate, Timecode, is_drop_label, rational_time_to_frames
from posthouse.engine.plan import read_posthouse_meta
from posthouse.score.cues import HIT_KINDS, USAGES, HitPoint, MusicCue, cue_id, parse_cue_id

__all__ = [
    "CSV_FIELDS",
    "CueList",
    "SpotMarker",
    "classify_marker",
    "cue_list_csv",
    "cue_list_html",
    "cut_drop_frame",
    "cut_rate",
    "cut_start_frame",
    "format_hits",
    "load_cues",
    "normalize_usage",
    "parse_hits",
    "read_cue_list",
    "save_cues",
    "spot_cues",
    "write_cue_list",
]


CSV_FIELDS: Final = (
    "cue",
    "title",
    "start",
    "end",
    "duration",
    "hits",
    "description",
    "usage",
    "source",
    "composer",
    "publisher",
)
"""Columns of ``cues.csv`` (start/end/duration are timecode labels at the cut's rate)."""

_HEADER_ALIASES: Final = {
    "cue": "cue",
    "cue #": "cue",
    "cue id": "cue",
    "cue number": "cue",
    "title": "title",
    "start": "start",
    "start tc": "start",
    "in": "start",
    "end": "end",
    "end tc": "end",
    "out": "end",
    "duration": "duration",
    "duration tc": "duration",
    "length": "duration",
    "hits": "hits",
    "hit points": "hits",
    "description": "description",
    "usage": "usage",
    "source": "source",
    "composer": "composer",
    "publisher": "publisher",
}

_SEP: Final = r"[\s_\-]*"  # between the words of a cue word: "MUSIC IN", "M-IN", "Music_In"
# after a cue word: the end, or ":" / "-" / dash before the text, or the "|" of the fields
_TAIL: Final = r"(?:\s*[:\-–—]\s*|\s*(?=\|)|\s*$)(.*)$"
_IN_RE: Final = re.compile(rf"^\s*(?:MUSIC|M){_SEP}IN{_TAIL}", re.IGNORECASE | re.DOTALL)
_OUT_RE: Final = re.compile(rf"^\s*(?:MUSIC|M){_SEP}OUT{_TAIL}", re.IGNORECASE | re.DOTALL)
_MUSIC_RE: Final = re.compile(rf"^\s*MUSIC{_TAIL}", re.IGNORECASE | re.DOTALL)
_HIT_RE: Final = re.compile(rf"^\s*HIT(?:[\s_\-]+(DOWNBEAT|BEAT|ANY))?{_TAIL}", re.IGNORECASE | re.DOTALL)
_REEL_RE: Final = re.compile(r"^\s*REEL[\s:#_\-]*(\d+)\b", re.IGNORECASE)
_FIELD_RE: Final = re.compile(r"^\s*([A-Za-z][A-Za-z _]*?)\s*:\s*(.*)$", re.DOTALL)
_FIELD_KEYS: Final = ("title", "description", "desc", "usage", "composer", "publisher", "id", "source")

_KIND_CODE: Final = {"downbeat": "d", "beat": "b", "any": "a"}
_CODE_KIND: Final = {v: k for k, v in _KIND_CODE.items()}
_HIT_TOKEN: Final = re.compile(r"(\d{1,2}[:;.,]\d\d[:;.,]\d\d[:;.,]\d\d)(?:/([A-Za-z]+))?(?:\[([^\]]*)\])?")

_USAGE_ALIASES: Final = {
    "bi": "background",
    "bg": "background",
    "background instrumental": "background",
    "bv": "background vocal",
    "vv": "visual vocal",
    "vi": "visual instrumental",
    "visual": "visual instrumental",
    "mt": "theme",
    "et": "theme",
    "main title": "theme",
    "end title": "theme",
    "opening theme": "theme",
    "closing theme": "theme",
    "theme": "theme",
    "src": "source",
}
_YES: Final = frozenset({"yes", "y", "true", "1", "x", "source", "src"})
_NO: Final = frozenset({"", "no", "n", "false", "0", "score"})


# -------------------------------------------------------------------------------------------- the cut


def cut_rate(timeline: otio.schema.Timeline) -> Rate:
    """The cut's frame rate: its ``global_start_time`` rate, else ``metadata["posthouse"]["rate"]``, else
    the rate of its first clip with a supported one."""
    if timeline.global_start_time is not None:
        return Rate.parse(timeline.global_start_time.rate)
    meta = read_posthouse_meta(timeline)
    if meta.get("rate"):
        return Rate.parse(str(meta["rate"]))
    for clip in timeline.find_clips():
        try:
            return Rate.parse(clip.trimmed_range().duration.rate)
        except PosthouseError:
            continue
    raise UsageError(f"cut {timeline.name!r} has no frame rate", hint="set the timeline's global_start_time")


def cut_start_frame(timeline: otio.schema.Timeline, rate: Rate | None = None) -> int:
    """Timecode frame (since midnight) of the cut's first frame: its ``global_start_time``, else 0."""
    r = rate or cut_rate(timeline)
    gst = timeline.global_start_time
    return rational_time_to_frames(gst, r, "nearest") if gst is not None else 0


def cut_drop_frame(timeline: otio.schema.Timeline, drop: bool | None = None) -> bool:
    """``drop`` when given, else the cut's ``metadata["posthouse"]["drop_frame"]`` (False when unset).

    Raises :class:`UsageError` for drop-frame at a rate that has none."""
    df = bool(read_posthouse_meta(timeline).get("drop_frame", False)) if drop is None else drop
    if df and not cut_rate(timeline).drop_capable:
        raise UsageError(f"{cut_rate(timeline)} fps has no drop-frame timecode", hint="use non-drop")
    return df


def _reel_number(value: object) -> int:
    digits = "".join(ch for ch in str(value or "") if ch.isdigit())
    return int(digits) if digits else 1


def _iter_markers(
    timeline: otio.schema.Timeline, rate: Rate
) -> Iterator[tuple[otio.schema.Marker, int, int, str]]:
    """``(marker, record_frame, duration, where)`` of every marker visible in the cut."""
    for marker in timeline.tracks.markers:
        rng = marker.marked_range
        yield (
            marker,
            rational_time_to_frames(rng.start_time, rate, "nearest"),
            rational_time_to_frames(rng.duration, rate, "nearest"),
            "timeline",
        )
    for t, track in enumerate(timeline.tracks):
        tname = track.name or f"track {t + 1}"
        for marker in track.markers:
            rng = marker.marked_range
            yield (
                marker,
                rational_time_to_frames(rng.start_time, rate, "nearest"),
                rational_time_to_frames(rng.duration, rate, "nearest"),
                tname,
            )
        for item in track.find_children(descended_from_type=otio.core.Item, shallow_search=True):
            if not item.markers:
                continue
            placed = track.range_of_child(item)
            offset = rational_time_to_frames(placed.start_time, rate, "nearest")
            length = rational_time_to_frames(placed.duration, rate, "nearest")
            src_start = item.trimmed_range().start_time
            for marker in item.markers:
                rel = rational_time_to_frames(marker.marked_range.start_time - src_start, rate, "nearest")
                if not 0 <= rel < max(length, 1):
                    continue  # trimmed out of the cut
                yield (
                    marker,
                    offset + rel,
                    rational_time_to_frames(marker.marked_range.duration, rate, "nearest"),
                    f"{tname} {item.name!r}",
                )


# ------------------------------------------------------------------------------------------- markers


@dataclass(frozen=True, slots=True)
class SpotMarker:
    """What a marker says for spotting: ``kind`` is ``in``, ``out``, ``cue`` (a ranged whole cue),
    ``hit``, ``reel`` or ``None`` (not a music marker); ``text`` is what follows the cue word."""

    kind: str | None
    text: str = ""
    hit_kind: str = "downbeat"
    reel: int = 0


def _texts(marker: otio.schema.Marker) -> list[str]:
    meta = read_posthouse_meta(marker)
    return [str(t) for t in (marker.name, meta.get("note"), marker.comment) if t and str(t).strip()]


def classify_marker(marker: otio.schema.Marker, duration: int = 0) -> SpotMarker:
    """Read a marker's cue word (see the module notes); ``duration`` is its length in frames. The text is
    what follows the cue word, then the marker's other notes (note, comment), ``|``-separated."""
    meta = read_posthouse_meta(marker)
    texts = list(dict.fromkeys(t.strip() for t in _texts(marker)))
    name = (marker.name or "").strip()

    def rest(head: str, matched: str) -> str:
        others = [t for t in texts if t not in (matched, name)]
        return " | ".join(p for p in [head.strip(), *others] if p)

    for text in texts:
        if m := _REEL_RE.match(text):
            return SpotMarker("reel", reel=int(m.group(1)))
        if m := _IN_RE.match(text):
            return SpotMarker("cue" if duration > 1 else "in", rest(m.group(1), text))
        if m := _OUT_RE.match(text):
            return SpotMarker("out", rest(m.group(1), text))
        if m := _HIT_RE.match(text):
            kind = (m.group(1) or str(meta.get("hit") or "downbeat")).lower()
            return SpotMarker(
                "hit", rest(m.group(2), text), hit_kind=kind if kind in HIT_KINDS else "downbeat"
            )
        if m := _MUSIC_RE.match(text):
            return SpotMarker("cue" if duration > 1 else "in", rest(m.group(1), text))
    word = str(meta.get("cue") or "").strip().lower().replace("_", " ")
    notes = [t for t in texts if t != name] or texts
    text = " | ".join(notes)
    if word == "music":
        return SpotMarker("cue" if duration > 1 else "in", text)
    if word in ("music in", "music out"):
        return SpotMarker(word.split()[1], text)
    if word == "hit":
        kind = str(meta.get("hit") or "downbeat").lower()
        return SpotMarker("hit", text, hit_kind=kind if kind in HIT_KINDS else "downbeat")
    return SpotMarker(None)


def _fields(text: str) -> tuple[dict[str, str], list[str]]:
    """``key: value`` fields (known keys only) and the free texts of a ``|``-separated note."""
    fields: dict[str, str] = {}
    free: list[str] = []
    for part in (p.strip() for p in (text or "").split("|")):
        if not part:
            continue
        m = _FIELD_RE.match(part)
        key = m.group(1).strip().lower() if m else ""
        if m and key in _FIELD_KEYS:
            fields["description" if key == "desc" else key] = m.group(2).strip()
        elif part.lower() in ("source", "source music", "src"):
            fields["source"] = "yes"
        else:
            free.append(part)
    return fields, free


def normalize_usage(text: str, *, where: str | None = None, path: Path | None = None) -> str:
    """A usage code of :data:`~posthouse.score.cues.USAGES` from its spelling or a common abbreviation
    (``BI``, ``BV``, ``VV``, ``VI``, ``MT``, ``ET`` …); empty text is ``background``."""
    key = " ".join((text or "").strip().lower().replace("_", " ").replace("-", " ").split())
    if not key:
        return "background"
    if key in USAGES:
        return key
    if key in _USAGE_ALIASES:
        return _USAGE_ALIASES[key]
    raise UsageError(
        f"usage {text!r} is not one of {', '.join(USAGES)}", path=path, where=where, hint="or BI, BV, VV, VI"
    )


def _yes(text: str, *, where: str | None = None, path: Path | None = None) -> bool:
    key = (text or "").strip().lower()
    if key in _YES:
        return True
    if key in _NO:
        return False
    raise UsageError(
        f"source {text!r} is neither yes nor no", path=path, where=where, hint="write yes or leave it empty"
    )


# --------------------------------------------------------------------------------------------- spotting


@dataclass(slots=True)
class CueList:
    """The cut's music cues with what turns their frames into labels (rate, first timecode frame, DF)."""

    cues: list[MusicCue]
    rate: Rate
    start_frame: int
    drop: bool = False
    title: str = ""
    warnings: list[str] = field(default_factory=list)

    def tc(self, frame: int) -> str:
        """Record timecode label of record frame ``frame``."""
        return str(Timecode.from_frames(self.start_frame + frame, self.rate, self.drop))

    def duration_tc(self, frames: int) -> str:
        """A length as ``HH:MM:SS:FF`` (always non-drop: a length is a count, not a wall-clock label)."""
        return str(Timecode.from_frames(frames, self.rate, False))

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of ``cues.json`` (see :func:`save_cues`)."""
        return {
            "format": "posthouse.cues",
            "version": 1,
            "title": self.title,
            "rate": str(self.rate),
            "start_frame": self.start_frame,
            "start_tc": str(Timecode.from_frames(self.start_frame, self.rate, self.drop)),
            "drop_frame": self.drop,
            "cues": [_cue_dict(c, self) for c in self.cues],
        }

    def find(self, cue: str) -> MusicCue:
        """The cue with ID ``cue`` (any case); :class:`UsageError` listing the IDs when there is none."""
        for c in self.cues:
            if c.cue_id.upper() == cue.strip().upper():
                return c
        known = ", ".join(c.cue_id for c in self.cues) or "none"
        raise UsageError(f"no music cue {cue!r}", hint=f"cues: {known}")


@dataclass(slots=True)
class _Open:
    start: int
    end: int | None
    reel: int
    fields: dict[str, str]
    free: list[str]
    meta: dict[str, Any]
    where: str
    out_notes: list[str] = field(default_factory=list)


_ORDER: Final = {"reel": 0, "out": 1, "cue": 2, "in": 2, "hit": 3}


def spot_cues(
    timeline: otio.schema.Timeline, *, reel: int | None = None, drop: bool | None = None
) -> CueList:
    """The music cues spotted on ``timeline`` by its markers (see the module notes), numbered per reel in
    record order, with warnings for markers that do not pair up (an ``OUT`` with no open cue, an ``IN``
    never closed, a hit outside every cue)."""
    rate = cut_rate(timeline)
    start = cut_start_frame(timeline, rate)
    df = cut_drop_frame(timeline, drop)
    meta_tl = read_posthouse_meta(timeline)
    reel_no = reel if reel is not None else _reel_number(meta_tl.get("reel") or timeline.metadata.get("reel"))
    length = rational_time_to_frames(timeline.duration(), rate, "nearest")
    warnings: list[str] = []
    events = []
    seen: set[tuple[int, int, SpotMarker]] = set()
    for marker, frame, dur, where in _iter_markers(timeline, rate):
        spot = classify_marker(marker, dur)
        if spot.kind is None:
            continue
        if frame < 0:
            warnings.append(f"{where}: music marker {marker.name!r} before the cut's start, skipped")
            continue
        key = (frame, dur, spot)
        if key in seen:  # the same marker on linked picture and sound clips
            continue
        seen.add(key)
        events.append((frame, _ORDER[spot.kind], spot, dur, read_posthouse_meta(marker), where))
    events.sort(key=lambda e: (e[0], e[1]))

    spans: list[_Open] = []
    hits: list[tuple[int, SpotMarker, str]] = []
    current: _Open | None = None
    rc = _Labeler(rate, start, df)
    for frame, _, spot, dur, meta, where in events:
        if spot.kind == "reel":
            reel_no = spot.reel
        elif spot.kind == "hit":
            hits.append((frame, spot, where))
        elif spot.kind in ("in", "cue"):
            fields, free = _fields(spot.text)
            item = _Open(
                frame, frame + dur if spot.kind == "cue" else None, reel_no, fields, free, meta, where
            )
            if spot.kind == "cue":
                spans.append(item)
                continue
            if current is not None and current.start == frame:
                warnings.append(f"{where}: a second MUSIC IN at {rc(frame)}, merged into the first")
                for k, v in fields.items():
                    current.fields.setdefault(k, v)
                current.free.extend(free)
                continue
            if current is not None:
                warnings.append(
                    f"{current.where}: MUSIC IN at {rc(current.start)} has no MUSIC OUT before the next "
                    f"MUSIC IN at {rc(frame)}; closed there"
                )
                current.end = frame
                spans.append(current)
            current = item
        elif spot.kind == "out":
            if current is None:
                warnings.append(f"{where}: MUSIC OUT at {rc(frame)} with no open cue, ignored")
                continue
            if frame <= current.start:
                warnings.append(f"{where}: MUSIC OUT at {rc(frame)} is on its MUSIC IN, ignored")
                continue
            current.end = frame
            fields, free = _fields(spot.text)
            for name, value in fields.items():
                current.fields.setdefault(name, value)
            current.out_notes.extend(free)
            spans.append(current)
            current = None
    if current is not None:
        end = max(length, current.start + 1)
        warnings.append(
            f"{current.where}: MUSIC IN at {rc(current.start)} is never closed; ends with the cut"
        )
        current.end = end
        spans.append(current)

    spans.sort(key=lambda s: (s.start, s.end or 0))
    # hits: inside a cue (the latest-starting cue that holds it), else on a cue's out frame (extends it)
    per_span: list[list[HitPoint]] = [[] for _ in spans]
    for frame, spot, where in hits:
        idx = next(
            (i for i in reversed(range(len(spans))) if spans[i].start <= frame < (spans[i].end or 0)), None
        )
        if idx is None:
            idx = next((i for i in reversed(range(len(spans))) if spans[i].end == frame), None)
            if idx is not None:
                spans[idx].end = frame + 1
        if idx is None:
            warnings.append(f"{where}: HIT at {rc(frame)} is outside every music cue, ignored")
            continue
        per_span[idx].append(HitPoint(frame, spot.hit_kind, spot.text))

    fixed = {str(s.meta.get("cue_id") or s.fields.get("id") or "").strip().upper() for s in spans} - {""}
    counts: dict[int, int] = {}
    cues: list[MusicCue] = []
    for span, span_hits in zip(spans, per_span, strict=True):
        end = span.end if span.end is not None else span.start + 1
        given = str(span.meta.get("cue_id") or span.fields.get("id") or "").strip().upper()
        if given:
            try:
                r, n, s = parse_cue_id(given)
            except UsageError as exc:
                raise UsageError(exc.message, where=span.where, hint=exc.hint) from exc
            ident = cue_id(r, n, s)
        else:
            ident = ""
            while not ident or ident in fixed:
                counts[span.reel] = counts.get(span.reel, 0) + 1
                ident = cue_id(span.reel, counts[span.reel])
        cues.append(_make_cue(ident, span, end, tuple(sorted(span_hits, key=lambda h: h.frame)), warnings))
    ids = [c.cue_id for c in cues]
    for dup in sorted({i for i in ids if ids.count(i) > 1}):
        warnings.append(f"cue ID {dup} is used by {ids.count(dup)} cues")
    return CueList(cues, rate, start, df, title=timeline.name or "", warnings=warnings)


def _make_cue(ident: str, span: _Open, end: int, hits: tuple[HitPoint, ...], warnings: list[str]) -> MusicCue:
    meta, fields, free = span.meta, span.fields, list(span.free)
    title = str(meta.get("title") or fields.get("title") or "")
    if not title and free:
        title = free.pop(0)
    desc_parts = [str(meta.get("description") or fields.get("description") or ""), *free]
    desc_parts += [f"out: {t}" for t in span.out_notes]
    usage_text = str(meta.get("usage") or fields.get("usage") or "")
    try:
        usage = normalize_usage(usage_text, where=span.where)
    except UsageError as exc:
        warnings.append(f"{ident}: {exc}; background used")
        usage = "background"
    source_val = meta.get("source", fields.get("source", ""))
    source = bool(source_val) if isinstance(source_val, bool) else str(source_val).lower() in _YES
    source = source or usage == "source"
    return MusicCue(
        cue_id=ident,
        start=span.start,
        end=end,
        hits=hits,
        title=title,
        description=" · ".join(p for p in desc_parts if p),
        usage=usage,
        source=source,
        composer=str(meta.get("composer") or fields.get("composer") or ""),
        publisher=str(meta.get("publisher") or fields.get("publisher") or ""),
    )


class _Labeler:
    """Callable: record frame → timecode label (for messages)."""

    __slots__ = ("drop", "rate", "start")

    def __init__(self, rate: Rate, start: int, drop: bool) -> None:
        self.rate, self.start, self.drop = rate, start, drop

    def __call__(self, frame: int) -> str:
        return str(Timecode.from_frames(self.start + frame, self.rate, self.drop))


# ------------------------------------------------------------------------------------------------ hits


def format_hits(hits: Sequence[HitPoint], cues: CueList) -> str:
    """Hits as space-separated ``TC/k[label]`` tokens (``k``: d downbeat, b beat, a any)."""
    out = []
    for h in hits:
        label = h.label.replace("[", "(").replace("]", ")")
        out.append(f"{cues.tc(h.frame)}/{_KIND_CODE[h.kind]}" + (f"[{label}]" if label else ""))
    return " ".join(out)


def parse_hits(
    text: str, rate: Rate, start_frame: int, *, where: str | None = None, path: Path | None = None
) -> tuple[HitPoint, ...]:
    """Read the hits column (see :func:`format_hits`); a kind may be spelled out (``/downbeat``)."""
    hits: list[HitPoint] = []
    pos = 0
    text = text or ""
    for m in _HIT_TOKEN.finditer(text):
        gap = text[pos : m.start()]
        if gap.strip(" ,;\t\n"):
            raise UsageError(
                f"cannot read hit {gap.strip()!r}", path=path, where=where, hint="write TC/d, TC/b or TC/a"
            )
        pos = m.end()
        code = (m.group(2) or "d").lower()
        kind = _CODE_KIND.get(code, code)
        if kind not in HIT_KINDS:
            raise UsageError(
                f"hit kind {m.group(2)!r} in {m.group(0)!r}", path=path, where=where, hint="d, b or a"
            )
        frame = _label_frame(m.group(1), rate, start_frame, what="hit", where=where, path=path)
        hits.append(HitPoint(frame, kind, (m.group(3) or "").strip()))
    if text[pos:].strip(" ,;\t\n"):
        raise UsageError(
            f"cannot read hit {text[pos:].strip()!r}", path=path, where=where, hint="write TC/d, TC/b or TC/a"
        )
    return tuple(sorted(hits, key=lambda h: h.frame))


def _label_frame(
    label: str, rate: Rate, start_frame: int, *, what: str, where: str | None, path: Path | None
) -> int:
    try:
        tc = Timecode.parse(label.strip(), rate)
    except PosthouseError as exc:
        raise UsageError(f"{what} {label!r}: {exc.message}", path=path, where=where, hint=exc.hint) from exc
    frame = tc.frames - start_frame
    if frame < 0:
        start = Timecode.from_frames(start_frame, rate, tc.drop)
        raise UsageError(f"{what} {label} is before the cut's start {start}", path=path, where=where)
    return frame


# ------------------------------------------------------------------------------------------------- CSV


def cue_list_csv(cues: CueList) -> str:
    """The cue list as CSV text (:data:`CSV_FIELDS` header, one row a cue)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for c in cues.cues:
        writer.writerow(
            (
                c.cue_id,
                c.title,
                cues.tc(c.start),
                cues.tc(c.end),
                cues.duration_tc(c.duration),
                format_hits(c.hits, cues),
                c.description,
                c.usage,
                "yes" if c.source else "",
                c.composer,
                c.publisher,
            )
        )
    return buf.getvalue()


def read_cue_list(
    path: str | Path, *, rate: Rate | str, start_frame: int, drop: bool | None = None, title: str = ""
) -> CueList:
    """Read an edited ``cues.csv`` back (see the module notes) for a cut at ``rate`` whose first frame is
    timecode frame ``start_frame``. Raises :class:`UsageError` naming the file and line of a bad row.

    ``drop`` labels the list's timecode (for writing it again); ``None`` takes drop-frame when the first
    cue's start label is drop-frame."""
    p = Path(path)
    r = Rate.parse(rate)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read the cue list: {exc}", path=p) from exc
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise UsageError(f"not a CSV file: {exc}", path=p, where="line 1") from exc
    if not header:
        raise UsageError("the cue list is empty", path=p, where="line 1")
    columns = [_HEADER_ALIASES.get(h.strip().lower()) for h in header]
    missing = [c for c in ("cue", "start") if c not in columns]
    if missing or ("end" not in columns and "duration" not in columns):
        need = ", ".join(missing or ["end or duration"])
        raise UsageError(f"not a cue list: no {need} column", path=p, where="line 1", hint="see CSV_FIELDS")
    cues: list[MusicCue] = []
    warnings: list[str] = []
    seen: dict[str, int] = {}
    first_start = ""
    line = 1
    while True:
        begin = line + 1
        try:
            row = next(reader, None)
        except csv.Error as exc:
            raise UsageError(f"broken CSV: {exc}", path=p, where=f"line {begin}") from exc
        line = reader.line_num
        if row is None:
            break
        if not any(cell.strip() for cell in row):
            continue
        where = f"line {begin}"
        values = {c: v.strip() for c, v in zip(columns, row, strict=False) if c is not None}
        cue = _row_cue(values, r, start_frame, where, p, warnings)
        first_start = first_start or values.get("start", "")
        if cue.cue_id in seen:
            raise UsageError(f"cue {cue.cue_id} is also on line {seen[cue.cue_id]}", path=p, where=where)
        seen[cue.cue_id] = begin
        cues.append(cue)
    cues.sort(key=lambda c: (c.start, c.end))
    df = drop if drop is not None else bool(first_start and is_drop_label(first_start))
    if df and not r.drop_capable:
        df = False
    return CueList(cues, r, start_frame, df, title=title, warnings=warnings)


def _row_cue(
    values: dict[str, str], rate: Rate, start_frame: int, where: str, path: Path, warnings: list[str]
) -> MusicCue:
    ident_text = values.get("cue", "")
    if not ident_text:
        raise UsageError(
            "no cue ID", path=path, where=where, hint="give it an ID like 1M2 (or 1M2A for an insert)"
        )
    try:
        reel, number, suffix = parse_cue_id(ident_text)
    except UsageError as exc:
        raise UsageError(exc.message, path=path, where=where, hint=exc.hint) from exc
    ident = cue_id(reel, number, suffix)
    if not values.get("start"):
        raise UsageError(f"cue {ident}: no start timecode", path=path, where=where)
    start = _label_frame(
        values["start"], rate, start_frame, what=f"cue {ident}: start", where=where, path=path
    )
    duration = None
    if values.get("duration"):
        try:
            duration = Timecode.parse(values["duration"], rate).frames
        except PosthouseError as exc:
            raise UsageError(
                f"cue {ident}: duration {values['duration']!r}: {exc.message}", path=path, where=where
            ) from exc
    if values.get("end"):
        end = _label_frame(values["end"], rate, start_frame, what=f"cue {ident}: end", where=where, path=path)
        if duration is not None and duration != end - start:
            warnings.append(
                f"{path} ({where}): cue {ident}: duration {values['duration']} does not match start–end "
                f"({Timecode.from_frames(max(end - start, 0), rate)}); end kept"
            )
    elif duration is not None:
        end = start + duration
    else:
        raise UsageError(f"cue {ident}: no end timecode or duration", path=path, where=where)
    if end <= start:
        raise UsageError(
            f"cue {ident}: end {values.get('end') or end} is not after start {values['start']}",
            path=path,
            where=where,
        )
    hits = parse_hits(values.get("hits", ""), rate, start_frame, where=where, path=path)
    for h in hits:
        if not start <= h.frame < end:
            tc = Timecode.from_frames(start_frame + h.frame, rate)
            raise UsageError(
                f"cue {ident}: hit {tc} is outside the cue",
                path=path,
                where=where,
                hint="move it inside or move the cue's in/out",
            )
    usage = normalize_usage(values.get("usage", ""), where=where, path=path)
    source = _yes(values.get("source", ""), where=where, path=path) or usage == "source"
    return MusicCue(
        cue_id=ident,
        start=start,
        end=end,
        hits=hits,
        title=values.get("title", ""),
        description=values.get("description", ""),
        usage=usage,
        source=source,
        composer=values.get("composer", ""),
        publisher=values.get("publisher", ""),
    )


# ------------------------------------------------------------------------------------------------ HTML

_CSS: Final = """
body { font: 11pt/1.35 "Helvetica Neue", Arial, sans-serif; color: #111; margin: 2em; }
h1 { font-size: 16pt; margin: 0 0 .2em; }
p.meta { color: #555; margin: 0 0 1em; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #999; padding: .3em .5em; text-align: left; vertical-align: top; }
th { background: #eee; }
td.tc, td.id { font-family: "SF Mono", Menlo, Consolas, monospace; white-space: nowrap; }
td.hits { font-family: "SF Mono", Menlo, Consolas, monospace; font-size: 9pt; }
tr { page-break-inside: avoid; break-inside: avoid; }
@media print {
  @page { size: A4 landscape; margin: 12mm; }
  body { margin: 0; font-size: 10pt; }
  thead { display: table-header-group; }
  th { background: #eee !important; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""


def cue_list_html(cues: CueList, *, title: str | None = None) -> str:
    """A printable HTML cue list (one table; print CSS: landscape, header row repeated on each page)."""
    e = html.escape
    name = title or cues.title or "untitled"
    rows = []
    for c in cues.cues:
        hit_lines = "<br>".join(
            e(f"{cues.tc(h.frame)} {h.kind}" + (f" — {h.label}" if h.label else "")) for h in c.hits
        )
        rows.append(
            "<tr>"
            f'<td class="id">{e(c.cue_id)}</td><td>{e(c.title)}</td>'
            f'<td class="tc">{e(cues.tc(c.start))}</td><td class="tc">{e(cues.tc(c.end))}</td>'
            f'<td class="tc">{e(cues.duration_tc(c.duration))}</td><td class="hits">{hit_lines}</td>'
            f"<td>{e(c.description)}</td><td>{e(c.usage)}</td><td>{'source' if c.source else 'score'}</td>"
            "</tr>"
        )
    body = "\n".join(rows) or '<tr><td colspan="9">No music cues spotted.</td></tr>'
    total = sum(c.duration for c in cues.cues)
    kind = "drop-frame" if cues.drop else "non-drop"
    n = len(cues.cues)
    summary = f"{n} cue{'' if n == 1 else 's'}, {e(cues.duration_tc(total))} of music"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{e(name)} — music cue list</title>
<style>{_CSS}</style></head>
<body>
<h1>{e(name)} — music cue list</h1>
<p class="meta">{summary} · {e(str(cues.rate))} fps {kind}</p>
<table>
<thead><tr><th>Cue</th><th>Title</th><th>In</th><th>Out</th><th>Length</th><th>Hits</th><th>Description</th>
<th>Usage</th><th>Score/source</th></tr></thead>
<tbody>
{body}
</tbody>
</table>
</body></html>
"""


# ------------------------------------------------------------------------------------------------ JSON


def _cue_dict(c: MusicCue, cues: CueList) -> dict[str, Any]:
    """:meth:`MusicCue.to_dict` plus timecode labels for people reading the file."""
    doc = c.to_dict()
    doc.update(start_tc=cues.tc(c.start), end_tc=cues.tc(c.end), duration=c.duration)
    for hit in doc["hits"]:
        hit["tc"] = cues.tc(hit["frame"])
    return doc


def save_cues(cues: CueList, path: str | Path) -> Path:
    """Write the cue list as JSON (``cues.json``: rate, start frame and timecode, drop, cues with record
    frames and labels) atomically; returns the path. :func:`load_cues` reads it back."""
    doc = cues.to_dict()
    p = Path(path)
    atomic_write_text(p, json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    return p


def load_cues(path: str | Path) -> CueList:
    """Read a ``cues.json`` written by :func:`save_cues`."""
    p = Path(path)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"cannot read the cue list: {exc}", path=p) from exc
    if not isinstance(doc, dict) or doc.get("format") != "posthouse.cues":
        raise UsageError("not a posthouse cues.json", path=p, hint="write it with posthouse score spot")
    where = None
    try:
        rate = Rate.parse(str(doc["rate"]))
        out = CueList(
            [], rate, int(doc["start_frame"]), bool(doc.get("drop_frame", False)), str(doc.get("title", ""))
        )
        for i, c in enumerate(doc["cues"]):
            where = f"cue {i + 1}"
            out.cues.append(MusicCue.from_dict(c))
    except PosthouseError as exc:
        raise UsageError(exc.message, path=p, where=where, hint=exc.hint) from exc
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageError(f"damaged cues.json: {exc!r}", path=p) from exc
    return out


def write_cue_list(
    cues: CueList, out_dir: str | Path, *, title: str | None = None
) -> tuple[Path, Path, Path]:
    """Write ``cues.csv``, ``cues.html`` and ``cues.json`` into ``out_dir`` atomically; returns the paths."""
    out = Path(out_dir)
    csv_path, html_path, json_path = out / "cues.csv", out / "cues.html", out / "cues.json"
    atomic_write_text(csv_path, cue_list_csv(cues))
    atomic_write_text(html_path, cue_list_html(cues, title=title))
    save_cues(cues, json_path)
    return csv_path, html_path, json_path
