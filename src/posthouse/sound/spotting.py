"""Spotting effects: put library sounds on a sound session's effects, Foley and background tracks.

Events come from the timeline's markers or its picture cuts:

- a marker whose name starts with ``SFX``/``FX`` (effects), ``FOLEY``/``FOL`` (Foley) or ``BG``/``AMB``
  (backgrounds), or whose ``metadata["posthouse"]["cue"]`` is ``"sfx"``, asks for the sound its comment
  describes (else the rest of its name) at its frame; ``metadata["posthouse"]["stem"]`` and
  ``["category"]`` may name the stem and a category filter;
- every edit point of the picture track (``V1``) can take one query: a whoosh on each cut, or a
  background per shot.

Each event takes the best search hit (ties by file name, so the choice is repeatable). Effects and Foley
play the whole file from the event's frame; overlapping sounds checkerboard onto ``FX1``, ``FX2`` …
(:func:`posthouse.sound.session.free_track`). Backgrounds cover the span up to the next cut (or the
marker's own duration); a file shorter than that repeats, each repeat crossfading over the one before on
the next background track. Every clip gets a short fade in and out (``fade_in_frames``/``fade_out_frames``).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import opentimelineio as otio

from posthouse.core.errors import UsageError
from posthouse.core.time import Rate, rational_time_to_frames, samples_to_frames
from posthouse.engine.plan import read_posthouse_meta
from posthouse.sound.session import free_track, place_clip, session_rate, wav_clip
from posthouse.sound.sfxlib import SfxEntry, SfxIndex, search

__all__ = [
    "MARKER_PREFIXES",
    "SpotEvent",
    "SpotPlacement",
    "SpotReport",
    "SpotSkip",
    "cut_events",
    "cut_frames",
    "marker_events",
    "spot",
    "stem_for_entry",
]

MARKER_PREFIXES: Final = {
    "SFX": "effects",
    "FX": "effects",
    "FOLEY": "foley",
    "FOL": "foley",
    "BG": "backgrounds",
    "AMB": "backgrounds",
}
"""Marker-name prefixes that ask for a sound, and the stem each feeds."""

_PREFIX_RE: Final = re.compile(
    r"^\s*(SFX|FX|FOLEY|FOL|BG|AMB)(?![A-Za-z])[\s:_\-]*(.*)$", re.IGNORECASE | re.DOTALL
)


@dataclass(frozen=True, slots=True)
class SpotEvent:
    """A place on the timeline that wants a sound: record ``frame`` (timeline start = 0) and search words.

    ``stem`` ``None`` takes it from the chosen sound (AMBIENCE → backgrounds, FOLEY → foley, else effects);
    ``end`` bounds a background (``None``: the next cut, or the end of the picture).
    """

    frame: int
    query: str
    source: str  # "marker" or "cut"
    label: str
    stem: str | None = None
    end: int | None = None
    category: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "frame": self.frame,
            "query": self.query,
            "source": self.source,
            "label": self.label,
            "stem": self.stem,
            "end": self.end,
            "category": self.category,
        }


@dataclass(frozen=True, slots=True)
class SpotPlacement:
    """One clip put on a track (a looping background is several, ``piece`` 0, 1 …)."""

    event: SpotEvent
    path: str
    cat_id: str | None
    score: float
    stem: str
    track: str
    record_in: int
    frames: int
    piece: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "event": self.event.to_dict(),
            "path": self.path,
            "cat_id": self.cat_id,
            "score": round(self.score, 3),
            "stem": self.stem,
            "track": self.track,
            "record_in": self.record_in,
            "frames": self.frames,
            "piece": self.piece,
        }


@dataclass(frozen=True, slots=True)
class SpotSkip:
    """An event that got no sound, and why."""

    event: SpotEvent
    reason: str
    kind: str = "no-match"  # no-match, no-words, outside, first-frame, already-spotted, too-short

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {"event": self.event.to_dict(), "reason": self.reason, "kind": self.kind}


@dataclass(slots=True)
class SpotReport:
    """What :func:`spot` placed, what it skipped, and warnings (sample-rate mismatches)."""

    placed: list[SpotPlacement] = field(default_factory=list)
    skipped: list[SpotSkip] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "placed": [p.to_dict() for p in self.placed],
            "skipped": [s.to_dict() for s in self.skipped],
            "warnings": list(self.warnings),
        }


def _markers(timeline: otio.schema.Timeline, rate: Rate) -> list[tuple[otio.schema.Marker, int, int]]:
    """``(marker, record_frame, duration_frames)`` for markers on the stack, the tracks and their items."""
    out: list[tuple[otio.schema.Marker, int, int]] = []

    def add(marker: otio.schema.Marker, frame: int) -> None:
        out.append((marker, frame, rational_time_to_frames(marker.marked_range.duration, rate)))

    for marker in timeline.tracks.markers:
        add(marker, rational_time_to_frames(marker.marked_range.start_time, rate))
    for track in timeline.tracks:
        for marker in track.markers:
            add(marker, rational_time_to_frames(marker.marked_range.start_time, rate))
        for item in track.find_children(descended_from_type=otio.core.Item, shallow_search=True):
            if not item.markers:
                continue
            offset = rational_time_to_frames(track.range_of_child(item).start_time, rate)
            src_start = item.trimmed_range().start_time
            for marker in item.markers:
                rel = marker.marked_range.start_time - src_start
                add(marker, offset + rational_time_to_frames(rel, rate))
    return out


def marker_events(timeline: otio.schema.Timeline) -> list[SpotEvent]:
    """Spotting events from the timeline's markers (see the module notes), by frame."""
    rate = session_rate(timeline)
    events = []
    for marker, frame, duration in _markers(timeline, rate):
        meta = read_posthouse_meta(marker)
        name = str(marker.name or "")
        comment = str(marker.comment or "").strip()
        m = _PREFIX_RE.match(name)
        if m is not None:
            stem: str | None = MARKER_PREFIXES[m.group(1).upper()]
            rest = m.group(2).strip()
        elif str(meta.get("cue", "")).lower() == "sfx":
            stem, rest = None, name.strip()
        else:
            continue
        if meta.get("stem"):
            stem = str(meta["stem"])
        events.append(
            SpotEvent(
                frame=frame,
                query=comment or rest,
                source="marker",
                label=name or "marker",
                stem=stem,
                end=frame + duration if duration > 0 else None,
                category=str(meta["category"]) if meta.get("category") else None,
            )
        )
    events.sort(key=lambda e: (e.frame, e.label))
    return events


def _picture_track(timeline: otio.schema.Timeline, name: str | None) -> otio.schema.Track:
    video = [t for t in timeline.tracks if t.kind == otio.schema.TrackKind.Video]
    if name is not None:
        for t in video:
            if t.name == name:
                return t
        raise UsageError(
            f"no picture track named {name!r}", hint=f"tracks: {', '.join(t.name for t in video)}"
        )
    if not video:
        raise UsageError("the timeline has no picture track to take cuts from")
    for t in video:
        if t.name == "V1":
            return t
    return video[0]


def _shots(timeline: otio.schema.Timeline, track_name: str | None) -> list[tuple[int, int, str]]:
    """``(record_in, record_out, clip name)`` of each shot on the picture track."""
    rate = session_rate(timeline)
    track = _picture_track(timeline, track_name)
    out = []
    pos = 0
    for child in track:
        if isinstance(child, otio.schema.Transition):
            continue
        dur = rational_time_to_frames(child.duration(), rate)
        if isinstance(child, otio.schema.Clip):
            out.append((pos, pos + dur, str(child.name or "")))
        pos += dur
    return out


def cut_frames(timeline: otio.schema.Timeline, track: str | None = None) -> list[int]:
    """Record frames where a shot starts on the picture track (``V1``, else the first), 0 included."""
    return sorted({a for a, _, _ in _shots(timeline, track)})


def cut_events(
    timeline: otio.schema.Timeline,
    query: str,
    *,
    stem: str | None = None,
    track: str | None = None,
    category: str | None = None,
) -> list[SpotEvent]:
    """One event per shot on the picture track, at its first frame and ending at its last.

    The picture's first frame is not a cut: :func:`spot` uses an event there only for backgrounds.
    """
    return [
        SpotEvent(
            frame=a,
            query=query,
            source="cut",
            label=f"cut {k} ({name})" if name else f"cut {k}",
            stem=stem,
            end=b,
            category=category,
        )
        for k, (a, b, name) in enumerate(_shots(timeline, track), start=1)
    ]


def stem_for_entry(entry: SfxEntry) -> str:
    """The stem a library sound goes to when the event does not say: AMBIENCE → backgrounds,
    FOLEY → foley, everything else → effects."""
    if (entry.category or "").upper() == "AMBIENCE":
        return "backgrounds"
    if (entry.category or "").upper() == "FOLEY":
        return "foley"
    return "effects"


def _spotted_keys(timeline: otio.schema.Timeline) -> set[tuple[int, str, str]]:
    keys = set()
    for track in timeline.tracks:
        for clip in track.find_clips(shallow_search=True):
            spot_meta = read_posthouse_meta(clip).get("spot")
            if spot_meta:
                keys.add(
                    (
                        int(spot_meta.get("frame", -1)),
                        str(spot_meta.get("stem", "")),
                        str(spot_meta.get("query", "")),
                    )
                )
    return keys


def spot(
    session: otio.schema.Timeline,
    library: SfxIndex | Iterable[SfxEntry],
    events: Sequence[SpotEvent],
    *,
    fade_frames: int = 1,
    crossfade_frames: int = 12,
    sample_rate: int = 48_000,
) -> SpotReport:
    """Place the best library sound for each event on ``session`` (changed in place); returns the report.

    Events already spotted (same frame, stem and words, from an earlier run) are skipped, so spotting
    twice does not double sounds. ``sample_rate`` is the mix's: files at another rate are placed but
    warned about (the renderer does not resample them).
    """
    if fade_frames < 0 or crossfade_frames < 0:
        raise UsageError("fades must not be negative")
    entries = library.entries if isinstance(library, SfxIndex) else list(library)
    rate = session_rate(session)
    total = rational_time_to_frames(session.tracks.duration(), rate)
    cuts = cut_frames(session) if any(t.kind == otio.schema.TrackKind.Video for t in session.tracks) else [0]
    done = _spotted_keys(session)
    report = SpotReport()
    for ev in sorted(events, key=lambda e: (e.frame, e.label, e.query)):
        if not 0 <= ev.frame < total:
            report.skipped.append(
                SpotSkip(ev, f"frame {ev.frame} is outside the picture (0-{total})", "outside")
            )
            continue
        if not ev.query.strip():
            report.skipped.append(
                SpotSkip(ev, "no search words (write them in the marker's comment)", "no-words")
            )
            continue
        hits = search(entries, ev.query, category=ev.category)
        if not hits:
            report.skipped.append(SpotSkip(ev, f"nothing in the library matches {ev.query!r}", "no-match"))
            continue
        hit = hits[0]
        entry = hit.entry
        stem = ev.stem or stem_for_entry(entry)
        if ev.source == "cut" and ev.frame == 0 and stem != "backgrounds":
            report.skipped.append(SpotSkip(ev, "the picture's first frame is not a cut", "first-frame"))
            continue
        key = (ev.frame, stem, ev.query)
        if key in done:
            report.skipped.append(SpotSkip(ev, "already spotted", "already-spotted"))
            continue
        length = samples_to_frames(entry.frames, entry.sample_rate, rate)
        if length < 1:
            report.skipped.append(SpotSkip(ev, f"{entry.name} is shorter than a frame", "too-short"))
            continue
        if entry.sample_rate != sample_rate:
            report.warnings.append(
                f"{entry.name}: {entry.sample_rate} Hz, the mix is {sample_rate} Hz (it will play silent)"
            )
        if stem == "backgrounds":
            end = ev.end if ev.end is not None else _next_cut(cuts, ev.frame, total)
            pieces = _loop_pieces(ev.frame, min(end, total), length, crossfade_frames)
        else:
            pieces = [(ev.frame, min(length, total - ev.frame))]
        for k, (start, n) in enumerate(pieces):
            first, last = k == 0, k == len(pieces) - 1
            xfade = min(crossfade_frames, length // 4)
            fade_in = min(fade_frames if first else xfade, n // 2)
            fade_out = min(fade_frames if last else xfade, n - fade_in)
            clip = wav_clip(
                entry.path,
                name=entry.name,
                frames=n,
                rate=rate,
                sample_rate=entry.sample_rate,
                source_start=entry.time_reference,
                time_reference=entry.time_reference,
                file_samples=entry.frames,
                metadata={
                    "fade_in_frames": fade_in,
                    "fade_out_frames": fade_out,
                    "spot": {
                        "frame": ev.frame,
                        "stem": stem,
                        "query": ev.query,
                        "source": ev.source,
                        "event": ev.label,
                        "cat_id": entry.cat_id,
                        "piece": k,
                    },
                },
            )
            track = free_track(session, stem, start, start + n)
            place_clip(track, clip, start, rate)
            report.placed.append(
                SpotPlacement(ev, entry.path, entry.cat_id, hit.score, stem, str(track.name), start, n, k)
            )
        done.add(key)
    return report


def _next_cut(cuts: list[int], frame: int, total: int) -> int:
    i = bisect.bisect_right(cuts, frame)
    return cuts[i] if i < len(cuts) else total


def _loop_pieces(start: int, end: int, length: int, crossfade: int) -> list[tuple[int, int]]:
    """``(record_in, frames)`` of repeats of a ``length``-frame file covering ``[start, end)``, each
    overlapping the one before by the crossfade (at most a quarter of the file)."""
    span = end - start
    if span <= 0:
        return []
    if length >= span:
        return [(start, span)]
    xfade = min(crossfade, length // 4)
    step = length - xfade
    pieces = []
    pos = start
    while True:
        n = min(length, end - pos)
        pieces.append((pos, n))
        if pos + n >= end:
            return pieces
        pos += step
