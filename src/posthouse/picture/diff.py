"""Change lists between two versions of a cut: what was added, removed, trimmed and moved.

Events are the clips of every track. An event of the old cut matches one of the new cut when both play
the same media (``target_url``, else the media reference's or clip's name) with overlapping source
ranges; a shared link id, a larger overlap, the same track and a nearer record position win ties.

A matched event is *trimmed* when its source in or out changed (head/tail deltas in frames, positive:
later in the source). It is *moved* when it changed track or left its order on the track (the longest
run of events in their old order stays, preferring the one that shifted least), or when its record shift
since the previous unmoved event is explained neither by the material added, removed or trimmed in
between (each either rippling or leaving a gap), nor by such a ripple on another track at the same place
(sync lock), and the next unmoved event does not share it: a clip moved within a gap. Events that only
shifted with a ripple are not listed. The last event of a track that shifted without explanation is
listed as moved. Record timecodes count from the timeline's
``global_start_time`` at its frame rate.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import opentimelineio as otio

from posthouse.core.errors import PosthouseError
from posthouse.core.fsutil import atomic_write_text
from posthouse.core.time import Rate, Timecode, frames_to_time_range, rational_time_to_frames
from posthouse.picture.edit import timeline_rate

__all__ = ["Change", "ChangeList", "DiffError", "Event", "change_edl", "diff_cuts", "events", "match_events"]

ChangeKind = Literal["added", "removed", "trimmed", "moved"]


class DiffError(PosthouseError, ValueError):
    """Two cuts that cannot be compared, or a change list that cannot be written."""


@dataclass(frozen=True, slots=True)
class Event:
    """One clip of a cut: its track, record frames ``[record_in, record_out)`` and source frames (at the
    timeline rate)."""

    track: str
    kind: str
    index: int
    name: str
    media: str
    link: str | None
    record_in: int
    record_out: int
    source_in: int
    source_out: int

    @property
    def duration(self) -> int:
        return self.record_out - self.record_in


@dataclass(frozen=True, slots=True)
class Change:
    """One line of a change list. For ``removed`` the positions are the old cut's, else the new cut's."""

    kind: ChangeKind
    track: str
    name: str
    media: str
    record_in: int
    record_out: int
    record_tc_in: str
    record_tc_out: str
    source_in: int
    source_out: int
    head_frames: int = 0
    tail_frames: int = 0
    record_frames: int = 0
    old_track: str | None = None

    def __str__(self) -> str:
        where = f"{self.track} {self.record_tc_in}–{self.record_tc_out}"
        if self.kind == "trimmed":
            return f"TRIMMED  {where}  {self.name}  head {self.head_frames:+d}  tail {self.tail_frames:+d}"
        if self.kind == "moved":
            frm = f" from {self.old_track}" if self.old_track and self.old_track != self.track else ""
            return f"MOVED    {where}  {self.name}  {self.record_frames:+d} frames{frm}"
        return f"{self.kind.upper():<8} {where}  {self.name}  ({self.record_out - self.record_in} frames)"


@dataclass(frozen=True, slots=True)
class ChangeList:
    """The changes from cut ``old`` to cut ``new``."""

    old: str
    new: str
    rate: Rate
    start_frame: int
    drop: bool
    changes: tuple[Change, ...]

    def of_kind(self, kind: ChangeKind) -> list[Change]:
        """The changes of one kind."""
        return [c for c in self.changes if c.kind == kind]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "old": self.old,
            "new": self.new,
            "rate": str(self.rate),
            "start_timecode": str(Timecode(self.start_frame, self.rate, self.drop)),
            "counts": {k: len(self.of_kind(k)) for k in ("added", "removed", "trimmed", "moved")},
            "changes": [asdict(c) for c in self.changes],
        }

    def to_text(self) -> str:
        """A human listing, one change a line, in record order."""
        counts = ", ".join(f"{len(self.of_kind(k))} {k}" for k in ("added", "removed", "trimmed", "moved"))
        lines = [f"Changes {self.old} → {self.new} ({self.rate} fps): {counts}"]
        lines += [f"{n:4d}  {c}" for n, c in enumerate(self.changes, 1)]
        return "\n".join(lines) + "\n"

    def __str__(self) -> str:
        return self.to_text()


def _media_key(clip: otio.schema.Clip) -> str:
    ref = clip.media_reference
    if isinstance(ref, otio.schema.ExternalReference) and ref.target_url:
        return str(ref.target_url)
    if ref is not None and ref.name:
        return str(ref.name)
    return str(clip.name)


def events(timeline: otio.schema.Timeline) -> list[Event]:
    """Every clip of the timeline as an :class:`Event` (gaps and transitions skipped)."""
    rate = timeline_rate(timeline)
    out = []
    for track in timeline.tracks:
        pos = 0
        for i, item in enumerate(track):
            if isinstance(item, otio.schema.Transition):
                continue
            dur = rational_time_to_frames(item.duration(), rate, "nearest")
            if isinstance(item, otio.schema.Clip):
                src = rational_time_to_frames(item.trimmed_range().start_time, rate, "nearest")
                link = (item.metadata.get("posthouse") or {}).get("link")
                out.append(
                    Event(
                        track.name,
                        str(track.kind),
                        i,
                        item.name,
                        _media_key(item),
                        None if link is None else str(link),
                        pos,
                        pos + dur,
                        src,
                        src + dur,
                    )
                )
            pos += dur
    return out


def match_events(a_events: Sequence[Event], b_events: Sequence[Event]) -> dict[int, int]:
    """Greedy best matching of two cuts' events (same media, overlapping source; a shared link, a larger
    overlap, the same track and a nearer record position win ties): b index → a index."""
    by_media: dict[str, list[int]] = {}
    for i, ev in enumerate(a_events):
        by_media.setdefault(ev.media, []).append(i)
    pairs = []
    for j, b in enumerate(b_events):
        for i in by_media.get(b.media, ()):
            a = a_events[i]
            overlap = min(a.source_out, b.source_out) - max(a.source_in, b.source_in)
            if overlap <= 0 or a.kind != b.kind:
                continue
            score = (a.link != b.link, -overlap, a.track != b.track, abs(a.record_in - b.record_in))
            pairs.append((score, j, i))
    pairs.sort()
    matched: dict[int, int] = {}
    used: set[int] = set()
    for _, j, i in pairs:
        if j not in matched and i not in used:
            matched[j] = i
            used.add(i)
    return matched


def _chain(keys: list[int], costs: list[int]) -> set[int]:
    """Positions of a longest strictly increasing subsequence of ``keys``; among the longest, the one of
    least total cost (a Fenwick tree over the ranks of ``keys``: O(n log n))."""
    ranks = {v: r for r, v in enumerate(sorted(set(keys)), 1)}
    size = len(ranks)
    tree: list[tuple[int, int, int]] = [(0, 0, -1)] * (size + 1)  # (length, -cost, position)
    back = [-1] * len(keys)
    best: tuple[int, int, int] = (0, 0, -1)
    for k, v in enumerate(keys):
        i, top = ranks[v] - 1, (0, 0, -1)
        while i > 0:  # best chain ending below this key
            top = max(top, tree[i])
            i -= i & -i
        here = (top[0] + 1, top[1] - costs[k], k)
        back[k] = top[2]
        best = max(best, here)
        i = ranks[v]
        while i <= size:
            tree[i] = max(tree[i], here)
            i += i & -i
    keep: set[int] = set()
    k = best[2]
    while k >= 0:
        keep.add(k)
        k = back[k]
    return keep


def _content(events_on_track: list[Event]) -> tuple[list[int], list[int]]:
    """Record starts (sorted) and prefix sums of durations for one track's events."""
    starts = [e.record_in for e in events_on_track]
    sums = [0]
    for e in events_on_track:
        sums.append(sums[-1] + e.duration)
    return starts, sums


def _between(index: tuple[list[int], list[int]], lo: int | None, hi: int) -> int:
    """Total duration of events starting strictly after record ``lo`` (None: from the start) and before
    ``hi``."""
    starts, sums = index
    i = 0 if lo is None else bisect.bisect_right(starts, lo)
    j = bisect.bisect_left(starts, hi)
    return sums[j] - sums[i] if j > i else 0


_Pair = tuple[Event, Event]


def _moved(a_events: list[Event], b_events: list[Event], matched: dict[int, int]) -> set[int]:
    """Indices in ``b_events`` of the matched events that moved (see the module docstring)."""
    moved: set[int] = set()
    a_tracks: dict[str, list[Event]] = {}
    for e in a_events:
        a_tracks.setdefault(e.track, []).append(e)
    b_tracks: dict[str, list[tuple[int, Event]]] = {}
    for j, e in enumerate(b_events):
        b_tracks.setdefault(e.track, []).append((j, e))
    a_index = {t: _content(sorted(evs, key=lambda e: e.record_in)) for t, evs in a_tracks.items()}
    b_index = {}
    anchors: dict[str, list[tuple[int, Event, Event]]] = {}
    for track, members in b_tracks.items():
        members.sort(key=lambda je: je[1].record_in)
        b_index[track] = _content([e for _, e in members])
        chain = [(j, e) for j, e in members if j in matched]
        moved.update(j for j, _ in chain if a_events[matched[j]].track != track)
        same = [(j, e) for j, e in chain if j not in moved]
        keys = [a_events[matched[j]].record_in for j, _ in same]
        costs = [abs(e.record_in - a_events[matched[j]].record_in) for j, e in same]
        stable = _chain(keys, costs)
        anchors[track] = [(j, a_events[matched[j]], b) for k, (j, b) in enumerate(same) if k in stable]
        moved.update(j for k, (j, _) in enumerate(same) if k not in stable)

    def step(track: str, p: _Pair | None, q: _Pair) -> tuple[int, int, set[int]]:
        """(A record span start, shift change from p to q, the shift changes content could explain)."""
        qa, qb = q
        if p is None:
            lo, dshift, ddur = 0, qb.record_in - qa.record_in, 0
            added = _between(b_index[track], None, qb.record_in)
            gone = _between(a_index[track], None, qa.record_in)
        else:
            pa, pb = p
            lo, ddur = pa.record_in, pb.duration - pa.duration
            dshift = (qb.record_in - qa.record_in) - (pb.record_in - pa.record_in)
            added = _between(b_index[track], pb.record_in, qb.record_in)
            gone = _between(a_index[track], pa.record_in, qa.record_in)
        # Each of a trim, the material added and the material taken away either rippled or left a gap.
        return lo, dshift, {t + ad - g for t in (0, ddur) for ad in (0, added) for g in (0, gone)}

    # Ripples made by content on any track (sync lock puts filler, not content, on the others).
    ripples: list[tuple[int, int, int]] = []
    for track, chain_ in anchors.items():
        prev: _Pair | None = None
        for _, a, b in chain_:
            lo, dshift, explained = step(track, prev, (a, b))
            if dshift and dshift in explained:
                ripples.append((lo, a.record_in, dshift))
            prev = (a, b)

    def jump(track: str, p: _Pair | None, q: _Pair) -> bool:
        lo, dshift, explained = step(track, p, q)
        if dshift in explained:
            return False
        hi = q[0].record_in
        return not any(d == dshift and r_lo <= hi and lo <= r_hi for r_lo, r_hi, d in ripples)

    for track, chain_ in anchors.items():
        prev = None
        for k, (j, a, b) in enumerate(chain_):
            q = (a, b)
            if jump(track, prev, q) and (k + 1 == len(chain_) or jump(track, q, chain_[k + 1][1:])):
                # A bump not carried on by what follows: this clip moved within a gap.
                moved.add(j)
                continue
            prev = q
    return moved


def _tc(frame: int, start: int, rate: Rate, drop: bool) -> str:
    return str(Timecode(start + frame, rate, drop))


def diff_cuts(
    old: otio.schema.Timeline,
    new: otio.schema.Timeline,
    *,
    old_name: str = "",
    new_name: str = "",
    drop: bool | None = None,
) -> ChangeList:
    """The change list from ``old`` to ``new`` (both at the same frame rate), in record order.

    Timecodes are drop-frame when ``drop`` (default: ``new.metadata["posthouse"]["drop_frame"]``).
    """
    rate = timeline_rate(new)
    if timeline_rate(old) != rate:
        raise DiffError(f"cuts at different rates: {timeline_rate(old)} and {rate} fps", hint="conform first")
    start = 0
    if new.global_start_time is not None:
        start = rational_time_to_frames(new.global_start_time, rate, "nearest")
    if drop is None:
        drop = bool((new.metadata.get("posthouse") or {}).get("drop_frame", False))
    a_events, b_events = events(old), events(new)
    matched = match_events(a_events, b_events)
    moved = _moved(a_events, b_events, matched)

    def change(kind: ChangeKind, e: Event, **extra: Any) -> Change:
        return Change(
            kind,
            e.track,
            e.name,
            e.media,
            e.record_in,
            e.record_out,
            _tc(e.record_in, start, rate, drop),
            _tc(e.record_out, start, rate, drop),
            e.source_in,
            e.source_out,
            **extra,
        )

    changes: list[Change] = []
    used = set(matched.values())
    changes += [change("removed", a) for i, a in enumerate(a_events) if i not in used]
    for j, b in enumerate(b_events):
        if j not in matched:
            changes.append(change("added", b))
            continue
        a = a_events[matched[j]]
        head, tail = b.source_in - a.source_in, b.source_out - a.source_out
        if head or tail:
            changes.append(change("trimmed", b, head_frames=head, tail_frames=tail))
        if j in moved:
            changes.append(change("moved", b, record_frames=b.record_in - a.record_in, old_track=a.track))
    changes.sort(key=lambda c: (c.record_in, c.track, c.kind))
    return ChangeList(old_name or old.name, new_name or new.name, rate, start, drop, tuple(changes))


def _edl_items(changes: list[Change], rate: Rate) -> Iterator[otio.core.Item]:
    pos = 0
    for c in sorted(changes, key=lambda c: c.record_in):
        if c.record_in < pos:  # overlapping events cannot share one EDL track
            continue
        if c.record_in > pos:
            yield otio.schema.Gap(source_range=frames_to_time_range(0, c.record_in - pos, rate))
        ref = otio.schema.ExternalReference(target_url=c.media)
        clip = otio.schema.Clip(
            name=c.name,
            media_reference=ref,
            source_range=frames_to_time_range(c.source_in, c.source_out - c.source_in, rate),
        )
        clip.metadata["posthouse"] = {"change": c.kind}
        yield clip
        pos = c.record_out


def change_edl(changes: ChangeList, path: str | Path, *, include_audio: bool = False) -> Path:
    """Write a CMX 3600 "change EDL" of the new and changed events (added, trimmed, moved) of the picture
    tracks (and sound tracks with ``include_audio``), through OTIO's ``cmx_3600`` adapter, atomically."""
    path = Path(path)
    rate = changes.rate
    wanted = [c for c in changes.changes if c.kind != "removed"]
    # One line per event: an event both trimmed and moved appears once.
    seen: dict[tuple[str, int], Change] = {}
    for c in wanted:
        seen.setdefault((c.track, c.record_in), c)
    tl = otio.schema.Timeline(name=f"{changes.new} changes")
    tl.global_start_time = otio.opentime.RationalTime(changes.start_frame, rate.otio_rate)
    # The cmx_3600 writer counts record time from 00:00:00:00 and ignores global_start_time: a leading
    # gap of the start frame gives the events their true record timecodes.
    lead = otio.schema.Gap(source_range=frames_to_time_range(0, changes.start_frame, rate))
    by_track: dict[str, list[Change]] = {}
    for (track, _), c in seen.items():
        by_track.setdefault(track, []).append(c)
    for track in sorted(by_track):
        audio = track.startswith("A")
        if audio and not include_audio:
            continue
        kind = otio.schema.TrackKind.Audio if audio else otio.schema.TrackKind.Video
        tr = otio.schema.Track(name=track, kind=kind)
        if changes.start_frame:
            tr.append(lead.deepcopy())
        for item in _edl_items(by_track[track], rate):
            tr.append(item)
        tl.tracks.append(tr)
    if not len(tl.tracks):
        tl.tracks.append(otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video))
    try:
        text = otio.adapters.write_to_string(tl, adapter_name="cmx_3600", rate=rate.otio_rate)
    except Exception as exc:
        raise DiffError(f"cannot write the change EDL: {exc}", path=path) from exc
    atomic_write_text(path, text)
    return path
