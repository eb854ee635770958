"""Sound session reconform: sync kept to the sample, crossfades, overlaps, muted removals."""

from __future__ import annotations

from fractions import Fraction

import opentimelineio as otio
from opentimelineio.opentime import RationalTime
from test_reconform import RATE, fx, make_cut, make_session

from posthouse.core.time import rational_time_to_seconds
from posthouse.picture import edit as E
from posthouse.picture.diff import ChangeList
from posthouse.pipeline.reconform import _END, RecordMap, Segment, record_map
from posthouse.pipeline.reconform_sound import reconform_session
from posthouse.sound.session import add_track, place_clip


def starts(session: otio.schema.Timeline, track: str) -> list[tuple[str, Fraction]]:
    """(name, exact record start in frames) of every clip of ``track``, read back from the session."""
    t = next(t for t in session.tracks if t.name == track)
    return [(c.name, rational_time_to_seconds(t.range_of_child(c).start_time) * 24) for c in t.find_clips()]


def test_head_trim_keeps_sync_of_the_kept_part_and_sub_frame_offsets() -> None:
    old = make_cut()
    session = make_session(old)
    odd = fx("odd", 1)  # 1 frame + 500 samples: a length that is not whole frames
    odd.source_range = otio.opentime.TimeRange(odd.source_range.start_time, RationalTime(2500, 48000))
    place_clip(add_track(session, "foley"), odd, 170, RATE)
    new, _ = E.ripple_trim(old, "V1", 1, head=5)  # b's first 5 frames go: b's rest, c and d move -5
    out, items = reconform_session(session, new, record_map(old, new))
    assert starts(out, "DX1") == [("a", 0), ("b", 48), ("c", 91), ("d", 139)]
    b = next(c for c in out.tracks[1] if c.name == "b")
    assert rational_time_to_seconds(b.source_range.start_time) == Fraction(105, 24)  # 5 frames later
    assert starts(out, "FOL1") == [("odd", 165)]
    fol = next(c for c in out.find_clips() if c.name == "odd")
    assert fol.source_range.duration.value == 2500
    by = {i.item: i for i in items}
    assert by["DX1 #1 b"].status == "updated" and not by["DX1 #1 b"].needs_human
    assert "trimmed with its picture" in by["DX1 #1 b"].reason
    assert by["FX1 #5 door"].shift == -5
    assert out.tracks[0].name == "V1" and len(out.tracks[0]) == 4  # the new cut's picture


def test_crossfades_kept_when_both_sides_stay_and_dropped_at_a_new_cut() -> None:
    old = make_cut()
    session = make_session(old)
    dx = session.tracks[1]  # DX1: a b c d, butted
    for k in (3, 2, 1):  # crossfades between every pair
        dx.insert(k, otio.schema.Transition(in_offset=RationalTime(2, 24), out_offset=RationalTime(2, 24)))
    new, _ = E.ripple_trim(old, "V1", 1, tail=-8)
    out, items = reconform_session(session, new, record_map(old, new))
    kinds = [type(c).__name__ for c in next(t for t in out.tracks if t.name == "DX1")]
    assert kinds == ["Clip", "Transition", "Clip", "Clip", "Transition", "Clip"]  # b|c fade dropped
    b = next(i for i in items if i.item == "DX1 #2 b")
    assert b.needs_human and "crossfade dropped" in b.reason


def test_clips_that_would_overlap_go_to_an_overflow_track() -> None:
    session = make_session(make_cut())
    fx_track = next(t for t in session.tracks if t.name == "FX1")
    place_clip(fx_track, fx("early", 10), 35, RATE)  # 35-45, stays
    place_clip(fx_track, fx("late", 10), 60, RATE)  # 60-70, moves onto 40-50
    changes = ChangeList("a", "b", RATE, 0, False, ())
    # frames from 50 on moved 20 earlier onto frames still there (a map no single edit makes)
    rmap = RecordMap(
        RATE,
        0,
        0,
        False,
        (Segment(0, 50, 0, "unchanged", "x"), Segment(50, _END, -20, "shifted", "y")),
        (),
        changes,
    )
    out, items = reconform_session(session, make_cut(), rmap)
    overflow = next(t for t in out.tracks if t.name == "FX1 overlap 1")
    assert [c.name for c in overflow.find_clips()] == ["late"]
    late = next(i for i in items if "late" in i.item)
    assert late.needs_human and "overflow" not in late.reason and "FX1 overlap 1" in late.reason
    assert starts(out, "FX1 overlap 1") == [("late", 40)]


def test_removed_sound_can_be_kept_muted() -> None:
    old = make_cut()
    new, _ = E.extract(old, "V1", 1)  # b removed
    out, items = reconform_session(make_session(old), new, record_map(old, new), removed="mute")
    muted = next(t for t in out.tracks if t.name == "DX1 removed")
    assert not muted.enabled and [c.name for c in muted.find_clips()] == ["b"]
    assert starts(out, "DX1 removed") == [("b", 48)]  # where the cut closed up
    assert {i.item for i in items if i.status == "removed"} == {"DX1 #1 b", "FX1 #3 crash"}
