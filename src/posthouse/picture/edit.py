"""The editor's operations, as pure functions on a copy of an OTIO timeline.

Every operation takes a timeline, works on ``timeline.deepcopy()`` and returns ``(new_timeline,
EditReport)``; the argument is never modified. Conventions (shared with the assembly and the engine):

- the timeline rate is the project frame rate (``global_start_time.rate``, else
  ``metadata["posthouse"]["rate"]``, else the first clip's); record positions are integer frames from the
  start of the track (``global_start_time`` is only the label of frame 0);
- video tracks are named V1, V2…, audio tracks A1, A2…;
- a take's picture clip and its sound clips share ``clip.metadata["posthouse"]["link"]``; an operation on a
  linked clip applies to its linked clips unless ``linked=False``. ``sync_ref`` (record start minus source
  start, in timeline frames, an exact fraction string) is stamped on linked clips before the first edit;
  :func:`sync_breaks` compares it within each link group;
- audio source ranges may be at the sample rate (e.g. 48000); their record durations are whole frames.
  Source changes are made in frames and rescaled to the clip's own source rate.

Transitions: a dissolve is ``Transition(transition_type="SMPTE_Dissolve")``; a dip to black or a wipe is
``TransitionTypes.Custom`` (``"Custom_Transition"``) with ``metadata["posthouse"]["transition"]`` =
``"dip_to_black"`` or ``"wipe"`` (plus ``"pattern"`` for a wipe); in/out offsets centre it on the cut.
Speed: ``LinearTimeWarp(time_scalar=speed)`` or
``FreezeFrame``; as in OTIO, the record duration stays the clip's ``source_range.duration`` and the effect
says how much media it plays. Audio level and fades: ``metadata["posthouse"]`` keys ``gain_db``,
``fade_in_frames``, ``fade_out_frames``. Markers: ``Marker`` with a color and
``metadata["posthouse"]["note"]``, on a clip (in its source time) or on the stack (record time).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Final, Literal

import opentimelineio as otio
from opentimelineio.opentime import RationalTime, TimeRange

from posthouse.core.errors import PosthouseError
from posthouse.core.time import Rate, rational_time_to_frames, rational_time_to_seconds

__all__ = [
    "EditError",
    "EditReport",
    "SyncBreak",
    "add_marker",
    "add_track",
    "add_transition",
    "extract",
    "freeze_frame",
    "insert",
    "lift",
    "link",
    "move",
    "overwrite",
    "record_range",
    "remove_track",
    "ripple_trim",
    "roll_trim",
    "set_audio",
    "set_speed",
    "slide",
    "slip",
    "split",
    "sync_breaks",
    "timeline_rate",
]

TransitionKind = Literal["dissolve", "dip_to_black", "wipe"]
_NS: Final = "posthouse"


class EditError(PosthouseError, ValueError):
    """An edit that cannot be made: unknown track, frame outside the clip, not enough media…"""


@dataclass(frozen=True, slots=True)
class SyncBreak:
    """A linked clip out of sync with its group's picture by ``frames`` (positive: sound late)."""

    link: str
    track: str
    clip: str
    record_frame: int
    frames: int
    exact: Fraction

    def __str__(self) -> str:
        return f"{self.clip!r} on {self.track} at frame {self.record_frame}: out of sync by {self.frames:+d}"


@dataclass(frozen=True, slots=True)
class EditReport:
    """What an operation changed, and the sync breaks in the result."""

    operation: str
    changes: tuple[str, ...] = ()
    sync_breaks: tuple[SyncBreak, ...] = field(default=())


# ------------------------------------------------------------------------------------------- basics


def timeline_rate(timeline: otio.schema.Timeline) -> Rate:
    """The timeline's frame rate (see the module docstring)."""
    if timeline.global_start_time is not None:
        return Rate.parse(timeline.global_start_time.rate)
    meta = timeline.metadata.get(_NS, {}) or {}
    if meta.get("rate"):
        return Rate.parse(str(meta["rate"]))
    for clip in timeline.find_clips():
        try:
            return Rate.parse(clip.source_range.duration.rate if clip.source_range else 0)
        except PosthouseError:
            continue
    raise EditError(f"timeline {timeline.name!r} has no frame rate", hint="set global_start_time")


def _frames(t: RationalTime, rate: Rate) -> int:
    return rational_time_to_frames(t, rate, "nearest")


def _exact_frames(t: RationalTime, rate: Rate) -> Fraction:
    return rational_time_to_seconds(t) * rate.fps


def _rt(frames: int, rate: Rate) -> RationalTime:
    return RationalTime(float(frames), rate.otio_rate)


def _in_rate(frames: int, like: RationalTime, rate: Rate) -> RationalTime:
    """``frames`` timeline frames as a RationalTime at ``like``'s rate (e.g. 48000 for sound)."""
    return _rt(frames, rate).rescaled_to(like.rate)


def _track(tl: otio.schema.Timeline, name: str) -> otio.schema.Track:
    for track in tl.tracks:
        if track.name == name:
            return track
    have = ", ".join(t.name for t in tl.tracks) or "none"
    raise EditError(f"no track {name!r} in timeline {tl.name!r} (tracks: {have})")


def _spans(track: otio.schema.Track, rate: Rate) -> Iterator[tuple[int, int, int, otio.core.Item]]:
    """(index, record start, record end, item) for the track's items (transitions skipped)."""
    pos = 0
    for i, child in enumerate(track):
        if isinstance(child, otio.schema.Transition):
            continue
        dur = _frames(child.duration(), rate)
        yield i, pos, pos + dur, child
        pos += dur


def record_range(timeline: otio.schema.Timeline, track: str, index: int) -> tuple[int, int]:
    """(start, end) record frames of item ``index`` of ``track`` (end exclusive)."""
    rate = timeline_rate(timeline)
    tr = _track(timeline, track)
    for i, start, end, _ in _spans(tr, rate):
        if i == index:
            return start, end
    raise EditError(f"track {track}: no clip at index {index} ({len(tr)} items)")


def _clip_at(tr: otio.schema.Track, index: int) -> otio.schema.Clip:
    if not 0 <= index < len(tr) or not isinstance(tr[index], otio.schema.Clip):
        raise EditError(f"track {tr.name}: no clip at index {index} ({len(tr)} items)")
    clip: otio.schema.Clip = tr[index]
    return clip


def _index_of(tr: otio.schema.Track, item: otio.core.Item) -> int:
    for i, child in enumerate(tr):
        if child is item:
            return i
    raise EditError(f"track {tr.name}: item {item.name!r} not found")


def _item_range(tr: otio.schema.Track, item: otio.core.Item, rate: Rate) -> tuple[int, int]:
    for _, start, end, child in _spans(tr, rate):
        if child is item:
            return start, end
    raise EditError(f"track {tr.name}: item {item.name!r} not found")


def _gap(frames: int, rate: Rate) -> otio.schema.Gap:
    return otio.schema.Gap(source_range=TimeRange(_rt(0, rate), _rt(frames, rate)))


def _ph(item: otio.core.SerializableObjectWithMetadata) -> dict[str, Any]:
    meta = item.metadata.get(_NS)
    if meta is None:
        item.metadata[_NS] = {}
    result: dict[str, Any] = item.metadata[_NS]
    return result


def _link_id(item: otio.core.Item) -> str | None:
    meta = item.metadata.get(_NS) or {}
    value = meta.get("link")
    return str(value) if value is not None else None


# --------------------------------------------------------------------------------- source changes


def _retrim(item: otio.core.Item, rate: Rate, head: int, tail: int) -> None:
    """Move the item's source in by ``head`` frames and its source out by ``tail`` frames (later: +)."""
    sr = item.source_range if item.source_range is not None else item.trimmed_range()
    dur = _frames(sr.duration, rate) - head + tail
    if dur <= 0:
        raise EditError(f"{item.name!r}: trim would leave {dur} frames", hint="a clip needs at least 1 frame")
    start = sr.start_time + _in_rate(head, sr.start_time, rate)
    new = TimeRange(start, _in_rate(dur, sr.duration, rate))
    if isinstance(item, otio.schema.Clip):
        avail = _available(item)
        if avail is not None and not _within(new, avail):
            raise EditError(
                f"clip {item.name!r}: not enough media for that edit "
                f"(needs source {_frames(new.start_time, rate)}–{_frames(new.end_time_exclusive(), rate)}, "
                f"media has {_frames(avail.start_time, rate)}–{_frames(avail.end_time_exclusive(), rate)})"
            )
    item.source_range = new


def _available(clip: otio.schema.Clip) -> TimeRange | None:
    ref = clip.media_reference
    return ref.available_range if ref is not None and ref.available_range is not None else None


def _within(inner: TimeRange, outer: TimeRange) -> bool:
    eps = RationalTime(1e-6, 1)
    return bool(
        inner.start_time + eps >= outer.start_time
        and inner.end_time_exclusive() <= outer.end_time_exclusive() + eps
    )


def _split_item(item: otio.core.Item, offset: int, rate: Rate) -> tuple[otio.core.Item, otio.core.Item]:
    """Two copies of ``item`` cut ``offset`` frames after its record start."""
    left, right = item.deepcopy(), item.deepcopy()
    dur = _frames(item.duration(), rate)
    _retrim(left, rate, 0, offset - dur)
    _retrim(right, rate, offset, 0)
    right.name = item.name
    for marker in list(left.markers):  # markers go with the half they fall in
        if marker.marked_range.start_time >= left.trimmed_range().end_time_exclusive():
            left.markers.remove(marker)
    for marker in list(right.markers):
        if marker.marked_range.start_time < right.trimmed_range().start_time:
            right.markers.remove(marker)
    return left, right


# ----------------------------------------------------------------------------------- track surgery


def _cut_at(tr: otio.schema.Track, frame: int, rate: Rate) -> int:
    """Make an edit point at record ``frame`` (padding with a gap past the end); return the index of the
    item that starts there (``len(tr)`` at the end)."""
    if frame < 0:
        raise EditError(f"track {tr.name}: frame {frame} is before the start")
    end = 0
    for i, start, stop, item in _spans(tr, rate):
        end = stop
        if frame == start:
            return i
        if start < frame < stop:
            left, right = _split_item(item, frame - start, rate)
            del tr[i]
            tr.insert(i, right)
            tr.insert(i, left)
            return i + 1
    if frame > end:
        tr.append(_gap(frame - end, rate))
    return len(tr)


def _remove_range(tr: otio.schema.Track, start: int, end: int, rate: Rate) -> list[otio.core.Item]:
    """Delete record frames ``[start, end)`` from the track (ripple); return what was removed."""
    if end <= start:
        return []
    i = _cut_at(tr, start, rate)
    j = _cut_at(tr, end, rate)
    removed = [tr[k] for k in range(i, j)]
    for k in range(j - 1, i - 1, -1):
        del tr[k]
    return removed


def _insert_at(tr: otio.schema.Track, frame: int, item: otio.core.Item, rate: Rate) -> None:
    tr.insert(_cut_at(tr, frame, rate), item)


def _blank(tr: otio.schema.Track, start: int, end: int, rate: Rate) -> None:
    """Replace record frames ``[start, end)`` with a gap (no ripple)."""
    if end > start:
        _remove_range(tr, start, end, rate)
        _insert_at(tr, start, _gap(end - start, rate), rate)
    _trim_trailing_gaps(tr)


def _trim_trailing_gaps(tr: otio.schema.Track) -> None:
    while len(tr) and isinstance(tr[len(tr) - 1], otio.schema.Gap):
        del tr[len(tr) - 1]


# --------------------------------------------------------------------------------------- linking


_SNAP: Final = Fraction(1, 1_000_000)  # sync relations closer than this (float noise) are equal


def _relation(clip: otio.schema.Clip, record_start: int, rate: Rate) -> Fraction:
    """Record start minus source start in frames, exact to far below a sample."""
    return (record_start - _exact_frames(clip.trimmed_range().start_time, rate)).limit_denominator(10**7)


def _positions(
    tl: otio.schema.Timeline, rate: Rate
) -> Iterator[tuple[otio.schema.Track, int, otio.core.Item]]:
    for tr in tl.tracks:
        for _, start, _, item in _spans(tr, rate):
            yield tr, start, item


def _stamp_sync_refs(tl: otio.schema.Timeline, rate: Rate) -> None:
    """Record ``sync_ref`` on linked clips that have none (they are taken to be in sync now)."""
    for _, start, item in _positions(tl, rate):
        if isinstance(item, otio.schema.Clip) and _link_id(item) is not None and "sync_ref" not in _ph(item):
            _ph(item)["sync_ref"] = str(_relation(item, start, rate))


def link(
    timeline: otio.schema.Timeline, clips: Mapping[str, int], link_id: str
) -> tuple[otio.schema.Timeline, EditReport]:
    """Link clips (track name → item index) under ``link_id``, recording their present sync relation."""
    tl = timeline.deepcopy()
    rate = timeline_rate(tl)
    changes = []
    for name, index in clips.items():
        tr = _track(tl, name)
        clip = _clip_at(tr, index)
        start, _ = _item_range(tr, clip, rate)
        _ph(clip).update(link=link_id, sync_ref=str(_relation(clip, start, rate)))
        changes.append(f"{name}[{index}] {clip.name!r} linked as {link_id!r}")
    return tl, _report(tl, rate, "link", changes)


def _partners(
    tl: otio.schema.Timeline, clip: otio.core.Item
) -> list[tuple[otio.schema.Track, otio.core.Item]]:
    lid = _link_id(clip)
    if lid is None:
        return []
    return [(tr, it) for tr in tl.tracks for it in tr if it is not clip and _link_id(it) == lid]


def sync_breaks(timeline: otio.schema.Timeline) -> list[SyncBreak]:
    """Linked clips whose picture/sound relation moved since they were linked, and by how many frames.

    Within a link group, each clip's drift is (record start − source start) − ``sync_ref``; the reference
    is the group's first video clip (else its first clip). Clips without ``sync_ref`` are skipped.
    """
    rate = timeline_rate(timeline)
    groups: dict[str, list[tuple[otio.schema.Track, int, otio.schema.Clip, Fraction]]] = {}
    for tr, start, item in _positions(timeline, rate):
        lid = _link_id(item)
        ref = (item.metadata.get(_NS) or {}).get("sync_ref")
        if lid is None or ref is None or not isinstance(item, otio.schema.Clip):
            continue
        drift = _relation(item, start, rate) - Fraction(str(ref))
        groups.setdefault(lid, []).append((tr, start, item, drift))
    out = []
    for lid, members in groups.items():
        video = [m for m in members if m[0].kind == otio.schema.TrackKind.Video] or members[:1]
        for tr, start, clip, drift in members:
            if any(clip is v[2] for v in video):
                continue
            # Compare with the picture above it: the video clip of the group overlapping it most.
            end = start + _frames(clip.duration(), rate)
            base = max(
                video,
                key=lambda v: (
                    min(end, v[1] + _frames(v[2].duration(), rate)) - max(start, v[1]),
                    v[3] == drift,
                ),
            )
            delta = drift - base[3]
            if abs(delta) > _SNAP:
                out.append(SyncBreak(lid, tr.name, clip.name, start, round(delta), delta))
    return out


def _report(tl: otio.schema.Timeline, rate: Rate, op: str, changes: list[str]) -> EditReport:
    return EditReport(op, tuple(changes), tuple(sync_breaks(tl)))


def _begin(timeline: otio.schema.Timeline) -> tuple[otio.schema.Timeline, Rate]:
    tl = timeline.deepcopy()
    rate = timeline_rate(tl)
    _stamp_sync_refs(tl, rate)
    return tl, rate


def _check_frame(tr: otio.schema.Track, frame: int) -> None:
    if not isinstance(frame, int) or isinstance(frame, bool) or frame < 0:
        raise EditError(f"track {tr.name}: record frame must be a whole number ≥ 0, not {frame!r}")


# ------------------------------------------------------------------------------------ operations


def insert(
    timeline: otio.schema.Timeline,
    track: str,
    frame: int,
    item: otio.core.Item,
    *,
    also: Mapping[str, otio.core.Item] | None = None,
    linked: bool = True,
) -> tuple[otio.schema.Timeline, EditReport]:
    """Insert ``item`` at record ``frame`` of ``track``, rippling later material (splices into a clip).

    ``also`` inserts items on other tracks at the same frame (e.g. the clip's sound). With ``linked``
    (sync lock) every other track gets a gap of the insert's length, so everything later stays in sync.
    """
    tl, rate = _begin(timeline)
    items = {track: item, **(also or {})}
    length = max(_frames(it.duration(), rate) for it in items.values())
    changes = []
    for name, it in items.items():
        tr = _track(tl, name)
        _check_frame(tr, frame)
        dur = _frames(it.duration(), rate)
        _insert_at(tr, frame, it.deepcopy(), rate)
        if dur < length:
            _insert_at(tr, frame + dur, _gap(length - dur, rate), rate)
        changes.append(f"{name}: inserted {it.name!r} ({dur} frames) at {frame}")
    if linked:
        for tr in tl.tracks:
            if tr.name not in items and frame < _frames(tr.duration(), rate):
                _insert_at(tr, frame, _gap(length, rate), rate)
                changes.append(f"{tr.name}: {length} frames of filler at {frame} (sync lock)")
    return tl, _report(tl, rate, "insert", changes)


def overwrite(
    timeline: otio.schema.Timeline,
    track: str,
    frame: int,
    item: otio.core.Item,
    *,
    also: Mapping[str, otio.core.Item] | None = None,
) -> tuple[otio.schema.Timeline, EditReport]:
    """Put ``item`` over record frames ``[frame, frame + length)`` of ``track``, replacing what was there
    (no ripple); ``also`` overwrites on other tracks at the same frame."""
    tl, rate = _begin(timeline)
    changes = []
    for name, it in {track: item, **(also or {})}.items():
        tr = _track(tl, name)
        _check_frame(tr, frame)
        dur = _frames(it.duration(), rate)
        _remove_range(tr, frame, frame + dur, rate)
        _insert_at(tr, frame, it.deepcopy(), rate)
        _trim_trailing_gaps(tr)
        changes.append(f"{name}: overwrote frames {frame}–{frame + dur} with {it.name!r}")
    return tl, _report(tl, rate, "overwrite", changes)


def _targets(
    tl: otio.schema.Timeline, track: str, index: int, linked: bool
) -> list[tuple[otio.schema.Track, otio.schema.Clip]]:
    tr = _track(tl, track)
    clip = _clip_at(tr, index)
    out: list[tuple[otio.schema.Track, otio.schema.Clip]] = [(tr, clip)]
    if linked:
        out += [(t, c) for t, c in _partners(tl, clip) if isinstance(c, otio.schema.Clip)]
    return out


def lift(
    timeline: otio.schema.Timeline, track: str, index: int, *, linked: bool = True
) -> tuple[otio.schema.Timeline, EditReport]:
    """Remove clip ``index`` of ``track`` leaving a gap (and its linked clips, unless ``linked=False``)."""
    tl, rate = _begin(timeline)
    changes = []
    for tr, clip in _targets(tl, track, index, linked):
        start, end = _item_range(tr, clip, rate)
        _blank(tr, start, end, rate)
        changes.append(f"{tr.name}: lifted {clip.name!r} ({start}–{end})")
    return tl, _report(tl, rate, "lift", changes)


def extract(
    timeline: otio.schema.Timeline, track: str, index: int, *, linked: bool = True
) -> tuple[otio.schema.Timeline, EditReport]:
    """Remove clip ``index`` of ``track`` and close the gap (ripple delete).

    With ``linked`` (sync lock) the clip's record range is removed from every track, which takes its
    linked sound with it and keeps later material in sync; ``linked=False`` ripples ``track`` alone.
    """
    tl, rate = _begin(timeline)
    tr = _track(tl, track)
    clip = _clip_at(tr, index)
    start, end = _item_range(tr, clip, rate)
    changes = []
    for t in tl.tracks if linked else [tr]:
        removed = _remove_range(t, start, end, rate)
        _trim_trailing_gaps(t)
        if removed:
            changes.append(f"{t.name}: extracted {start}–{end} ({', '.join(repr(r.name) for r in removed)})")
    return tl, _report(tl, rate, "extract", changes)


def split(
    timeline: otio.schema.Timeline, track: str, frame: int, *, linked: bool = True
) -> tuple[otio.schema.Timeline, EditReport]:
    """Blade the clip under record ``frame`` of ``track`` (and its linked clips under that frame)."""
    tl, rate = _begin(timeline)
    tr = _track(tl, track)
    _check_frame(tr, frame)
    hit = [(i, s, e, it) for i, s, e, it in _spans(tr, rate) if s < frame < e]
    if not hit or not isinstance(hit[0][3], otio.schema.Clip):
        raise EditError(f"track {track}: no clip spans frame {frame} (a cut needs a frame inside a clip)")
    targets: list[tuple[otio.schema.Track, otio.core.Item]] = [(tr, hit[0][3])]
    if linked:
        targets += _partners(tl, hit[0][3])
    changes = []
    for t, it in targets:
        start, end = _item_range(t, it, rate)
        if start < frame < end:
            _cut_at(t, frame, rate)
            changes.append(f"{t.name}: split {it.name!r} at {frame}")
    return tl, _report(tl, rate, "split", changes)


def ripple_trim(
    timeline: otio.schema.Timeline,
    track: str,
    index: int,
    *,
    head: int = 0,
    tail: int = 0,
    linked: bool = True,
) -> tuple[otio.schema.Timeline, EditReport]:
    """Move the clip's source in by ``head`` and source out by ``tail`` frames (positive: later), keeping
    its record start; later material on the track moves by ``tail - head``. Linked clips get the same."""
    tl, rate = _begin(timeline)
    changes = []
    for tr, clip in _targets(tl, track, index, linked):
        _retrim(clip, rate, head, tail)
        changes.append(f"{tr.name}: {clip.name!r} head {head:+d}, tail {tail:+d} (ripple {tail - head:+d})")
    return tl, _report(tl, rate, "ripple_trim", changes)


def roll_trim(
    timeline: otio.schema.Timeline, track: str, index: int, frames: int, *, linked: bool = True
) -> tuple[otio.schema.Timeline, EditReport]:
    """Move the edit point after item ``index`` by ``frames`` (positive: later): the outgoing item's tail
    and the incoming item's head both move; nothing else moves. Linked clips sharing that edit point roll
    too."""
    tl, rate = _begin(timeline)
    tr = _track(tl, track)
    clip = _clip_at(tr, index)
    targets: list[tuple[otio.schema.Track, otio.core.Item]] = [(tr, clip)]
    if linked:
        targets += _partners(tl, clip)
    _, edit = _item_range(tr, clip, rate)
    changes = []
    for t, left in targets:
        i = _index_of(t, left)
        _, end = _item_range(t, left, rate)
        if end != edit:
            continue
        j = i + 1
        while j < len(t) and isinstance(t[j], otio.schema.Transition):
            j += 1
        if j >= len(t):
            raise EditError(f"track {t.name}: no item after {left.name!r} to roll into")
        right = t[j]
        _retrim(left, rate, 0, frames)
        _retrim(right, rate, frames, 0)
        changes.append(f"{t.name}: rolled edit {left.name!r}|{right.name!r} at {edit} by {frames:+d}")
    return tl, _report(tl, rate, "roll_trim", changes)


def slip(
    timeline: otio.schema.Timeline, track: str, index: int, frames: int, *, linked: bool = True
) -> tuple[otio.schema.Timeline, EditReport]:
    """Play a different part of the media: source in and out move by ``frames``; record is unchanged."""
    tl, rate = _begin(timeline)
    changes = []
    for tr, clip in _targets(tl, track, index, linked):
        _retrim(clip, rate, frames, frames)
        changes.append(f"{tr.name}: slipped {clip.name!r} by {frames:+d}")
    return tl, _report(tl, rate, "slip", changes)


def slide(
    timeline: otio.schema.Timeline, track: str, index: int, frames: int, *, linked: bool = True
) -> tuple[otio.schema.Timeline, EditReport]:
    """Move clip ``index`` by ``frames`` along the record between its neighbours, keeping its source; the
    previous item's tail and the next item's head are trimmed to fit. Linked clips slide too."""
    tl, rate = _begin(timeline)
    changes = []
    for tr, clip in _targets(tl, track, index, linked):
        i = _index_of(tr, clip)
        if i == 0 or i + 1 >= len(tr):
            raise EditError(f"track {tr.name}: {clip.name!r} needs items on both sides to slide")
        prev, nxt = tr[i - 1], tr[i + 1]
        if isinstance(prev, otio.schema.Transition) or isinstance(nxt, otio.schema.Transition):
            raise EditError(f"track {tr.name}: remove the transitions around {clip.name!r} before sliding")
        _retrim(prev, rate, 0, frames)
        _retrim(nxt, rate, frames, 0)
        changes.append(f"{tr.name}: slid {clip.name!r} by {frames:+d}")
    return tl, _report(tl, rate, "slide", changes)


def move(
    timeline: otio.schema.Timeline,
    track: str,
    index: int,
    to_frame: int,
    *,
    to_track: str | None = None,
    linked: bool = True,
) -> tuple[otio.schema.Timeline, EditReport]:
    """Lift clip ``index`` of ``track`` and overwrite it at record ``to_frame`` (of ``to_track``); linked
    clips move by the same number of frames on their own tracks."""
    tl, rate = _begin(timeline)
    moves = []
    for n, (tr, clip) in enumerate(_targets(tl, track, index, linked)):
        start, end = _item_range(tr, clip, rate)
        dest = _track(tl, to_track) if n == 0 and to_track is not None else tr
        moves.append((tr, dest, clip, start, end))
    delta = to_frame - moves[0][3]
    changes = []
    for tr, _, _, start, end in moves:
        _blank(tr, start, end, rate)
    for tr, dest, clip, start, end in moves:
        new = start + delta
        if new < 0:
            raise EditError(f"track {tr.name}: moving {clip.name!r} by {delta:+d} puts it before the start")
        _remove_range(dest, new, new + end - start, rate)
        _insert_at(dest, new, clip, rate)
        _trim_trailing_gaps(dest)
        changes.append(f"{tr.name}→{dest.name}: moved {clip.name!r} {start}→{new}")
    return tl, _report(tl, rate, "move", changes)


def add_track(
    timeline: otio.schema.Timeline, kind: Literal["video", "audio"], name: str | None = None
) -> tuple[otio.schema.Timeline, EditReport]:
    """Add an empty track (named V<n+1> or A<n+1> unless ``name`` is given); video goes above the
    existing video tracks, audio after the audio tracks."""
    tl, rate = _begin(timeline)
    okind = otio.schema.TrackKind.Video if kind == "video" else otio.schema.TrackKind.Audio
    prefix = "V" if kind == "video" else "A"
    same = [t for t in tl.tracks if t.kind == okind]
    name = name or f"{prefix}{len(same) + 1}"
    if any(t.name == name for t in tl.tracks):
        raise EditError(f"timeline {tl.name!r} already has a track {name!r}")
    tl.tracks.append(otio.schema.Track(name=name, kind=okind))
    return tl, _report(tl, rate, "add_track", [f"added {kind} track {name}"])


def remove_track(timeline: otio.schema.Timeline, track: str) -> tuple[otio.schema.Timeline, EditReport]:
    """Remove a track and everything on it."""
    tl, rate = _begin(timeline)
    tr = _track(tl, track)
    del tl.tracks[_index_of_track(tl, tr)]
    return tl, _report(tl, rate, "remove_track", [f"removed track {track}"])


def _index_of_track(tl: otio.schema.Timeline, tr: otio.schema.Track) -> int:
    return next(i for i, t in enumerate(tl.tracks) if t is tr)


def add_transition(
    timeline: otio.schema.Timeline,
    track: str,
    index: int,
    frames: int,
    *,
    kind: TransitionKind = "dissolve",
    pattern: str = "horizontal",
) -> tuple[otio.schema.Timeline, EditReport]:
    """Put a transition of ``frames`` frames centred on the edit point after item ``index`` (a gap on
    either side means a fade from/to black). The items need ``frames / 2`` frames of handle."""
    tl, rate = _begin(timeline)
    tr = _track(tl, track)
    if frames <= 0:
        raise EditError(f"track {track}: transition length must be positive, not {frames}")
    if not 0 <= index < len(tr) - 1:
        raise EditError(f"track {track}: no edit point after item {index} ({len(tr)} items)")
    left, right = tr[index], tr[index + 1]
    if isinstance(left, otio.schema.Transition) or isinstance(right, otio.schema.Transition):
        raise EditError(f"track {track}: there is already a transition after item {index}")
    out_f = frames // 2
    in_f = frames - out_f
    for it, need, side in ((left, out_f, "tail"), (right, in_f, "head")):
        if isinstance(it, otio.schema.Clip) and (avail := _available(it)) is not None:
            tr_range = it.trimmed_range()
            have = (
                _frames(avail.end_time_exclusive() - tr_range.end_time_exclusive(), rate)
                if side == "tail"
                else _frames(tr_range.start_time - avail.start_time, rate)
            )
            if have < need:
                raise EditError(
                    f"track {track}: {it.name!r} has {have} frames of {side} handle; the transition "
                    f"needs {need}"
                )
    meta: dict[str, Any] = {}
    ttype = otio.schema.TransitionTypes.SMPTE_Dissolve
    if kind != "dissolve":
        ttype = otio.schema.TransitionTypes.Custom
        meta = {"transition": kind, **({"pattern": pattern} if kind == "wipe" else {})}
    trans = otio.schema.Transition(
        name=kind,
        transition_type=ttype,
        in_offset=_rt(in_f, rate),
        out_offset=_rt(out_f, rate),
        metadata={_NS: meta} if meta else None,
    )
    tr.insert(index + 1, trans)
    _, edit = _item_range(tr, left, rate)
    return tl, _report(tl, rate, "add_transition", [f"{track}: {kind} of {frames} frames at {edit}"])


def _effect_targets(
    tl: otio.schema.Timeline, track: str, index: int, linked: bool
) -> list[tuple[otio.schema.Track, otio.schema.Clip]]:
    return _targets(tl, track, index, linked)


def set_speed(
    timeline: otio.schema.Timeline, track: str, index: int, speed: float, *, linked: bool = True
) -> tuple[otio.schema.Timeline, EditReport]:
    """Play clip ``index`` at a constant ``speed`` (1.0 normal, 0.5 slow motion, -1 reverse) with a
    ``LinearTimeWarp``; the record duration stays the same. ``speed == 1`` removes the effect."""
    tl, rate = _begin(timeline)
    changes = []
    for tr, clip in _effect_targets(tl, track, index, linked):
        for fx in [e for e in clip.effects if isinstance(e, otio.schema.TimeEffect)]:
            clip.effects.remove(fx)
        if speed == 0:
            raise EditError(f"{clip.name!r}: speed 0 is a freeze frame", hint="use freeze_frame")
        if speed != 1:
            clip.effects.append(otio.schema.LinearTimeWarp(name="speed", time_scalar=float(speed)))
        changes.append(f"{tr.name}: {clip.name!r} speed {speed:g}")
    return tl, _report(tl, rate, "set_speed", changes)


def freeze_frame(
    timeline: otio.schema.Timeline, track: str, index: int, *, linked: bool = False
) -> tuple[otio.schema.Timeline, EditReport]:
    """Hold the first frame of clip ``index`` for its whole record duration (``FreezeFrame``)."""
    tl, rate = _begin(timeline)
    changes = []
    for tr, clip in _effect_targets(tl, track, index, linked):
        for fx in [e for e in clip.effects if isinstance(e, otio.schema.TimeEffect)]:
            clip.effects.remove(fx)
        clip.effects.append(otio.schema.FreezeFrame(name="freeze"))
        changes.append(f"{tr.name}: {clip.name!r} frozen")
    return tl, _report(tl, rate, "freeze_frame", changes)


def set_audio(
    timeline: otio.schema.Timeline,
    track: str,
    index: int,
    *,
    gain_db: float | None = None,
    fade_in: int | None = None,
    fade_out: int | None = None,
    linked: bool = True,
) -> tuple[otio.schema.Timeline, EditReport]:
    """Set a sound clip's level (dB) and fade lengths (frames); ``linked`` applies it to the linked
    sound clips too (never to picture)."""
    tl, rate = _begin(timeline)
    changes = []
    for tr, clip in _targets(tl, track, index, linked):
        if tr.kind != otio.schema.TrackKind.Audio:
            continue
        dur = _frames(clip.duration(), rate)
        for what, value in (("fade_in", fade_in), ("fade_out", fade_out)):
            if value is not None and not 0 <= value <= dur:
                raise EditError(
                    f"{tr.name}: {what} of {value} frames does not fit {clip.name!r} ({dur} frames)"
                )
        meta = _ph(clip)
        if gain_db is not None:
            meta["gain_db"] = float(gain_db)
        if fade_in is not None:
            meta["fade_in_frames"] = int(fade_in)
        if fade_out is not None:
            meta["fade_out_frames"] = int(fade_out)
        changes.append(f"{tr.name}: {clip.name!r} gain {gain_db}, fades {fade_in}/{fade_out}")
    if not changes:
        raise EditError(f"track {track}: item {index} is not a sound clip and has no linked sound")
    return tl, _report(tl, rate, "set_audio", changes)


def add_marker(
    timeline: otio.schema.Timeline,
    frame: int,
    note: str,
    *,
    track: str | None = None,
    index: int | None = None,
    color: str = otio.schema.MarkerColor.RED,
    name: str = "",
    duration: int = 0,
) -> tuple[otio.schema.Timeline, EditReport]:
    """Add a marker with a note at record ``frame``: on clip ``index`` of ``track`` (stored in the clip's
    source time; the frame must fall inside the clip), else on the timeline's stack."""
    tl, rate = _begin(timeline)
    if frame < 0:
        raise EditError(f"marker frame must be ≥ 0, not {frame}")
    meta = {_NS: {"note": note}}
    if track is not None and index is not None:
        tr = _track(tl, track)
        clip = _clip_at(tr, index)
        start, end = _item_range(tr, clip, rate)
        if not start <= frame < end:
            raise EditError(f"track {track}: frame {frame} is outside {clip.name!r} ({start}–{end})")
        src = clip.trimmed_range().start_time
        at = src + _in_rate(frame - start, src, rate)
        rng = TimeRange(at, _in_rate(duration, src, rate))
        clip.markers.append(otio.schema.Marker(name=name, marked_range=rng, color=color, metadata=meta))
        where = f"{track} {clip.name!r}"
    else:
        rng = TimeRange(_rt(frame, rate), _rt(duration, rate))
        tl.tracks.markers.append(otio.schema.Marker(name=name, marked_range=rng, color=color, metadata=meta))
        where = "timeline"
    return tl, _report(tl, rate, "add_marker", [f"{where}: marker at {frame}: {note}"])
