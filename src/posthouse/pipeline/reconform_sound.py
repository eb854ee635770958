"""Reconform of the sound edit: carry a sound session over to a new cut version along the record map.

Every audio clip is placed by where its record span lies on the old picture (:class:`RecordMap`):

- on picture that only moved (a ripple, or the kept part of a trimmed or moved event): shifted whole by
  that shift in whole frames; its source, and so any sub-frame offset it carries, is untouched —
  *shifted* (or *unchanged*);
- across a changed boundary (material trimmed away under it, or picture on either side that moved by
  different amounts): cut into the parts that survive, each keeping its relation to picture, a new edit
  point keeping the clip's fade on that side (a frame at least) — *updated*. A clip cut exactly where its
  picture event was cut (the production sound of a trimmed shot, a background laid to the cut) needs
  nothing more; any other is flagged for a human (the new edit points want a look, a fill or a crossfade);
- entirely on removed picture: *removed* (dropped, or kept muted on a disabled ``… removed`` track).

Clips that would overlap after the move go to an overflow track next to their own. Crossfades between two
clips that stay together are kept. The new session's picture tracks are the new cut's. New picture gets
empty space and a *needs sound* item.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import opentimelineio as otio

from posthouse.core.time import Rate
from posthouse.pipeline.reconform import DepartmentResult, ItemChange, RecordMap, exact_frames
from posthouse.sound.session import load_session, posthouse_meta, save_session

__all__ = ["reconform_session", "reconform_sound_dir"]

_Removed = Literal["drop", "mute"]


def _rt(frames: Fraction, rate: Rate) -> otio.opentime.RationalTime:
    """``frames`` (exact) as a RationalTime: whole frames at the rate, else samples at 48 kHz."""
    if frames.denominator == 1:
        return otio.opentime.RationalTime(int(frames), rate.otio_rate)
    samples = frames / rate.fps * 48_000
    if samples.denominator == 1:
        return otio.opentime.RationalTime(int(samples), 48_000)
    return otio.opentime.RationalTime(float(frames), rate.otio_rate)


@dataclass(slots=True)
class _Placed:
    lo: Fraction  # new record frames
    hi: Fraction
    clip: otio.schema.Clip
    head_of: int | None  # the old clip index whose head this piece starts with (uncut), else None
    tail_of: int | None  # the old clip index whose tail this piece ends with (uncut), else None
    item: int = -1  # index of its ItemChange in the track's list
    muted: bool = False


def _subclip(
    clip: otio.schema.Clip, offset: Fraction, frames: Fraction, rate: Rate, first: bool, last: bool
) -> Any:
    """A copy of ``clip`` playing ``frames`` frames from ``offset`` frames into it (same source rate);
    ``first``/``last``: the piece keeps the clip's own head/tail."""
    new = copy.deepcopy(clip)
    sr = clip.trimmed_range()
    src_rate = sr.start_time.rate
    start = sr.start_time + otio.opentime.RationalTime(float(offset), rate.otio_rate).rescaled_to(src_rate)
    dur = otio.opentime.RationalTime(float(frames), rate.otio_rate).rescaled_to(src_rate)
    start = otio.opentime.RationalTime(round(start.value, 6), src_rate)
    dur = otio.opentime.RationalTime(round(dur.value, 6), src_rate)
    new.source_range = otio.opentime.TimeRange(start, dur)
    meta = posthouse_meta(new)
    # a new edit point keeps the clip's fade on that side (at least a frame: no click)
    if not first:
        meta["fade_in_frames"] = meta.get("fade_in_frames") or 1
    if not last:
        meta["fade_out_frames"] = meta.get("fade_out_frames") or 1
    meta["reconform"] = {"split_from": clip.name, "offset_frames": str(offset)}
    return new


def _shift_meta(clip: otio.schema.Clip, shift: int) -> None:
    meta = clip.metadata.get("posthouse")
    if not meta:
        return
    for key in ("cue_start", "cue_end"):
        if isinstance(meta.get(key), int):
            meta[key] = meta[key] + shift


def _is_transition(children: list[Any], k: int) -> bool:
    return 0 <= k < len(children) and isinstance(children[k], otio.schema.Transition)


def _lanes(placed: list[_Placed]) -> list[list[_Placed]]:
    """Put each clip on the first lane where it does not overlap (lane 0 is the track itself)."""
    lanes: list[list[_Placed]] = []
    for p in sorted(placed, key=lambda p: (p.lo, p.hi)):
        for lane in lanes:
            if lane[-1].hi <= p.lo:
                lane.append(p)
                break
        else:
            lanes.append([p])
    return lanes or [[]]


def _build(track: otio.schema.Track, lane: list[_Placed], transitions: dict[int, Any], rate: Rate) -> None:
    """Fill ``track`` with ``lane``'s clips at their positions, gaps between; keep a crossfade whose two
    clips stay whole and adjacent."""
    pos = Fraction(0)
    prev: _Placed | None = None
    for p in lane:
        if p.lo > pos:
            track.append(otio.schema.Gap(duration=_rt(p.lo - pos, rate)))
            prev = None
        k = p.head_of
        if (
            prev is not None
            and k is not None
            and prev.tail_of == k - 2
            and k - 1 in transitions
            and prev.hi == p.lo
        ):
            track.append(copy.deepcopy(transitions[k - 1]))
        if p.muted:
            p.clip.enabled = False
        track.append(p.clip)
        pos, prev = p.hi, p
    return None


def reconform_session(
    session: otio.schema.Timeline,
    new_cut: otio.schema.Timeline,
    rmap: RecordMap,
    *,
    removed: _Removed = "drop",
    cut_name: str = "",
    consume: bool = False,
) -> tuple[otio.schema.Timeline, list[ItemChange]]:
    """The sound session carried over to ``new_cut`` (a new timeline) and what happened to each clip (see
    the module docstring). ``session`` is not changed, unless ``consume``: then its clips are moved into
    the new session instead of copied (faster; for a session just read from its file)."""
    rate = rmap.rate
    out = otio.schema.Timeline(name=session.name)
    out.metadata.update(copy.deepcopy(dict(session.metadata)))
    meta = posthouse_meta(out)
    ss = dict(meta.get("sound_session") or {})
    ss["reconformed_from"] = ss.get("cut", "")
    ss["cut"] = cut_name or new_cut.name
    meta["sound_session"] = ss
    out.global_start_time = copy.deepcopy(new_cut.global_start_time)
    for marker in new_cut.tracks.markers:
        out.tracks.markers.append(copy.deepcopy(marker))
    for t in new_cut.tracks:
        if t.kind == otio.schema.TrackKind.Video:
            out.tracks.append(copy.deepcopy(t))
    items: list[ItemChange] = []
    removed_tracks: list[otio.schema.Track] = []
    for track in session.tracks:
        if track.kind != otio.schema.TrackKind.Audio:
            continue
        transitions = {i: c for i, c in enumerate(track) if isinstance(c, otio.schema.Transition)}
        placed, dropped, changes = _track(track, rmap, removed, consume)
        if consume:  # the clips move to the new tracks: detach them from this one
            while len(track):
                track.pop()
        for n, lane in enumerate(_lanes(placed)):
            t = otio.schema.Track(name=track.name if n == 0 else f"{track.name} overlap {n}", kind=track.kind)
            t.metadata.update(copy.deepcopy(dict(track.metadata)))
            t.enabled = track.enabled
            if n:
                posthouse_meta(t)["reconform_overflow_of"] = track.name
                for p in lane:
                    c = changes[p.item]
                    why = f"overlaps after the re-cut: moved to track {t.name}"
                    changes[p.item] = replace(
                        c,
                        status="updated",
                        needs_human=True,
                        reason=f"{c.reason}; {why}" if c.reason else why,
                    )
            _build(t, lane, transitions if n == 0 else {}, rate)
            out.tracks.append(t)
        items += changes
        if dropped:
            for n, lane in enumerate(_lanes(dropped)):
                t = otio.schema.Track(name=f"{track.name} removed{f' {n + 1}' if n else ''}", kind=track.kind)
                t.metadata.update(copy.deepcopy(dict(track.metadata)))
                posthouse_meta(t)["reconform_removed_from"] = track.name
                posthouse_meta(t)["mute"] = True
                t.enabled = False
                _build(t, lane, {}, rate)
                removed_tracks.append(t)
    for t in removed_tracks:
        out.tracks.append(t)
    for span in rmap.added:
        items.append(
            ItemChange(
                "sound",
                f"needs sound: {span.event}",
                "added",
                new_in=span.new_in,
                new_out=span.new_out,
                needs_human=True,
                reason=f"new picture ({span.reason}), {span.new_out - span.new_in} frames: "
                "empty in the session",
            )
        )
    return out, items


def _track(
    track: otio.schema.Track, rmap: RecordMap, removed: _Removed, consume: bool = False
) -> tuple[list[_Placed], list[_Placed], list[ItemChange]]:
    """The clips of one old track placed on the new cut, the removed ones (when muted), and the changes."""
    rate = rmap.rate
    placed: list[_Placed] = []
    dropped: list[_Placed] = []
    items: list[ItemChange] = []
    children = list(track)

    def take(clip: otio.schema.Clip) -> Any:
        return clip if consume else copy.deepcopy(clip)

    pos = Fraction(0)
    for idx, child in enumerate(children):
        if isinstance(child, otio.schema.Transition):
            continue
        dur = exact_frames(child.duration(), rate)
        lo, hi = pos, pos + dur
        pos = hi
        if not isinstance(child, otio.schema.Clip):
            continue
        name = f"{track.name} #{idx} {child.name}"
        old_in, old_out = int(lo // 1), int(-(-hi // 1))
        sm = rmap.span(lo, hi)
        if sm.removed:
            items.append(
                ItemChange(
                    "sound",
                    name,
                    "removed",
                    old_in,
                    old_out,
                    needs_human=False,
                    reason="its picture was removed" + (": kept muted" if removed == "mute" else ""),
                    track=track.name,
                    events=sm.events,
                )
            )
            if removed == "mute":
                at = rmap.anchor(lo)
                dropped.append(_Placed(at, at + dur, take(child), None, None, len(items) - 1, True))
            continue
        shift = sm.shift
        if shift is not None:
            clip = take(child)
            _shift_meta(clip, shift)
            placed.append(_Placed(lo + shift, hi + shift, clip, idx, idx, len(items)))
            status: Any = "shifted" if shift else "unchanged"
            items.append(
                ItemChange(
                    "sound",
                    name,
                    status,
                    old_in,
                    old_out,
                    old_in + shift,
                    old_out + shift,
                    shift,
                    track=track.name,
                )
            )
            continue
        kept = sm.kept
        for n, p in enumerate(kept):
            assert p.shift is not None
            head, tail = n == 0 and p.lo == lo, n == len(kept) - 1 and p.hi == hi
            sub = _subclip(child, p.lo - lo, p.hi - p.lo, rate, head, tail)
            placed.append(
                _Placed(
                    p.lo + p.shift,
                    p.hi + p.shift,
                    sub,
                    idx if head else None,
                    idx if tail else None,
                    len(items),
                )
            )
        lost = sum((p.hi - p.lo for p in sm.pieces if not p.kept), Fraction(0))
        head_cut, tail_cut = kept[0].lo > lo, kept[-1].hi < hi
        xfade = (head_cut and _is_transition(children, idx - 1)) or (
            tail_cut and _is_transition(children, idx + 1)
        )
        # cut exactly where its picture event was cut (production sound trimmed with its picture)
        with_picture = (
            len(kept) == 1
            and (not head_cut or rmap.segment_at(lo).old_in == lo)
            and (not tail_cut or rmap.segment_at(hi - Fraction(1, 1000)).old_out == hi)
        )
        if with_picture:
            reason = f"trimmed with its picture, {float(lost):g} frames removed"
        else:
            shifts = ", ".join(f"{p.shift:+d}" for p in kept)
            how = f"cut into {len(kept)} parts (shifts {shifts} frames)" if len(kept) > 1 else "trimmed"
            reason = f"crosses a picture change: {how}" + (
                f", {float(lost):g} frames removed" if lost else ""
            )
            reason += ": check the edit points"
        if xfade:
            reason += "; crossfade dropped"
        first = kept[0]
        assert first.shift is not None
        items.append(
            ItemChange(
                "sound",
                name,
                "updated",
                old_in,
                old_out,
                int(first.lo // 1) + first.shift,
                int(-(-kept[-1].hi // 1)) + (kept[-1].shift or 0),
                None,
                needs_human=not with_picture or xfade,
                reason=reason,
                track=track.name,
                events=sm.events,
            )
        )
    return placed, dropped, items


def reconform_sound_dir(
    session_path: Path,
    new_cut: otio.schema.Timeline,
    rmap: RecordMap,
    out_dir: Path,
    *,
    removed: _Removed = "drop",
) -> DepartmentResult:
    """Reconform the old session file into ``out_dir/session.otio`` (skipped when there is none)."""
    result = DepartmentResult("sound")
    if not session_path.is_file():
        result.skipped = f"no sound session at {session_path}"
        return result
    session = load_session(session_path)
    new, items = reconform_session(
        session, new_cut, rmap, removed=removed, cut_name=rmap.changes.new, consume=True
    )
    result.items = items
    result.outputs.append(save_session(new, out_dir / "session.otio"))
    result.stats = {
        "clips": sum(1 for i in items if i.status != "added"),
        "cut_for_review": sum(1 for i in items if i.status == "updated" and i.needs_human),
    }
    return result
