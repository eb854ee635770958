"""Change lists between cut versions: exact kinds, frame deltas, record timecodes, a re-readable EDL."""

from __future__ import annotations

from pathlib import Path

import opentimelineio as otio
import pytest
from opentimelineio.opentime import RationalTime, TimeRange

from posthouse.picture import edit as E
from posthouse.picture.cuts import CutStore
from posthouse.picture.diff import DiffError, change_edl, diff_cuts

FPS = 24.0


def clip(name: str, kind: str = "V", src: int = 100, dur: int = 48) -> otio.schema.Clip:
    rate = FPS if kind == "V" else 48000
    scale = 1 if kind == "V" else 2000
    ref = otio.schema.ExternalReference(
        target_url=f"file:///media/{name}.{'mov' if kind == 'V' else 'wav'}",
        available_range=TimeRange(RationalTime(0, rate), RationalTime(1000 * scale, rate)),
    )
    rng = TimeRange(RationalTime(src * scale, rate), RationalTime(dur * scale, rate))
    c = otio.schema.Clip(name=name, media_reference=ref, source_range=rng)
    c.metadata["posthouse"] = {"link": name}
    return c


@pytest.fixture
def v1() -> otio.schema.Timeline:
    t = otio.schema.Timeline(name="v1")
    t.global_start_time = RationalTime(86400, FPS)  # 01:00:00:00
    video = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    audio = otio.schema.Track(name="A1", kind=otio.schema.TrackKind.Audio)
    for n in "abcd":
        video.append(clip(n))
        audio.append(clip(n, "A"))
    t.tracks.extend([video, audio])
    return t


def test_identical_cuts_have_no_changes(v1: otio.schema.Timeline) -> None:
    assert diff_cuts(v1, v1.deepcopy()).changes == ()


def test_insert_trim_move(v1: otio.schema.Timeline, tmp_path: Path) -> None:
    t, _ = E.insert(v1, "V1", 48, clip("new", dur=24))  # a new|b c d; A1 gets filler
    t, _ = E.ripple_trim(t, "V1", 3, tail=-8)  # c loses 8 frames at its tail (and its sound)
    t, _ = E.move(t, "V1", 2, 300)  # b (and its sound) to frame 300, leaving a gap
    store = CutStore(tmp_path)
    store.save("reel1", v1)
    store.save("reel1", t)
    changes = diff_cuts(store.open("reel1@1"), store.open("reel1@2"))
    got = sorted((c.kind, c.track, c.name) for c in changes.changes)
    assert got == [
        ("added", "V1", "new"),
        ("moved", "A1", "b"),
        ("moved", "V1", "b"),
        ("trimmed", "A1", "c"),
        ("trimmed", "V1", "c"),
    ]
    added = changes.of_kind("added")[0]
    assert (added.record_in, added.record_tc_in, added.record_tc_out) == (48, "01:00:02:00", "01:00:03:00")
    trim = next(c for c in changes.of_kind("trimmed") if c.track == "V1")
    assert (trim.head_frames, trim.tail_frames, trim.record_tc_in) == (0, -8, "01:00:05:00")
    move = next(c for c in changes.of_kind("moved") if c.track == "V1")
    assert (move.record_frames, move.record_in, move.record_tc_in) == (252, 300, "01:00:12:12")
    data = changes.to_dict()
    assert data["counts"] == {"added": 1, "removed": 0, "trimmed": 2, "moved": 2}
    assert data["start_timecode"] == "01:00:00:00"
    text = changes.to_text()
    assert "ADDED    V1 01:00:02:00–01:00:03:00  new" in text and "MOVED    V1 01:00:12:12" in text


def test_extract_and_lift_are_removals_only(v1: otio.schema.Timeline) -> None:
    extracted, _ = E.extract(v1, "V1", 1)
    changes = diff_cuts(v1, extracted)
    assert sorted((c.kind, c.track, c.name) for c in changes.changes) == [
        ("removed", "A1", "b"),
        ("removed", "V1", "b"),
    ]
    assert changes.of_kind("removed")[0].record_tc_in == "01:00:02:00"  # where it was in the old cut
    lifted, _ = E.lift(v1, "V1", 2)
    assert {(c.kind, c.name) for c in diff_cuts(v1, lifted).changes} == {("removed", "c")}


def test_reorder_and_move_within_gap(v1: otio.schema.Timeline) -> None:
    # Ripple reorder: take b out and put it after d; c and d shift back but did not move.
    t, _ = E.extract(v1, "V1", 1)
    t, _ = E.insert(t, "V1", 144, clip("b"), also={"A1": clip("b", "A")})
    changes = diff_cuts(v1, t)
    assert {(c.kind, c.track, c.name, c.record_frames) for c in changes.changes} == {
        ("moved", "V1", "b", 96),
        ("moved", "A1", "b", 96),
    }
    # Lift d and put it 10 frames later, into the gap it left (same order).
    gap, _ = E.move(v1, "V1", 3, 154)
    assert {(c.kind, c.name, c.record_frames) for c in diff_cuts(v1, gap).changes} == {("moved", "d", 10)}
    # A slip is a trim of both ends; roll trims two events.
    slipped, _ = E.slip(v1, "V1", 0, 5)
    assert {(c.kind, c.name, c.head_frames, c.tail_frames) for c in diff_cuts(v1, slipped).changes} == {
        ("trimmed", "a", 5, 5)
    }
    rolled, _ = E.roll_trim(v1, "V1", 0, 4, linked=False)
    assert {(c.kind, c.name, c.head_frames, c.tail_frames) for c in diff_cuts(v1, rolled).changes} == {
        ("trimmed", "a", 0, 4),
        ("trimmed", "b", 4, 0),
    }


def test_change_edl_rereads(v1: otio.schema.Timeline, tmp_path: Path) -> None:
    t, _ = E.insert(v1, "V1", 48, clip("new", src=10, dur=24))
    t, _ = E.ripple_trim(t, "V1", 3, tail=-8)
    changes = diff_cuts(v1, t)
    path = change_edl(changes, tmp_path / "changes.edl")
    text = path.read_text()
    assert "01:00:02:00 01:00:03:00" in text  # the insert at its record timecode
    back = otio.adapters.read_from_file(str(path), adapter_name="cmx_3600", rate=FPS)
    clips = list(back.find_clips())
    assert [c.name for c in clips] == ["new", "c"]
    assert clips[0].source_range == TimeRange(RationalTime(10, FPS), RationalTime(24, FPS))
    assert clips[1].source_range.duration == RationalTime(40, FPS)
    # The reader drops the record start (it counts from the first event): offsets are relative.
    edits = [(c.name, back.tracks[0].range_of_child(c).start_time.value) for c in clips]
    assert edits == [("new", 0), ("c", 120 - 48)]
    assert "01:00:05:00 01:00:06:16" in text  # c, trimmed, at 01:00:05:00 for 40 frames


def test_rates_must_match(v1: otio.schema.Timeline) -> None:
    other = v1.deepcopy()
    other.global_start_time = RationalTime(90000, 25)
    with pytest.raises(DiffError, match="different rates"):
        diff_cuts(v1, other)


def test_drop_frame_timecodes(v1: otio.schema.Timeline) -> None:
    ntsc = otio.schema.Timeline(name="ntsc")
    ntsc.global_start_time = RationalTime(107892, 30000 / 1001)  # 01:00:00;00 drop-frame
    ntsc.metadata["posthouse"] = {"drop_frame": True}
    track = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    for n in "ab":
        c = clip(n)
        c.source_range = TimeRange(RationalTime(100, 30000 / 1001), RationalTime(1800, 30000 / 1001))
        c.media_reference.available_range = None
        track.append(c)
    ntsc.tracks.append(track)
    trimmed, _ = E.ripple_trim(ntsc, "V1", 1, head=2)
    (change,) = diff_cuts(ntsc, trimmed).changes
    assert (change.kind, change.head_frames, change.record_tc_in) == ("trimmed", 2, "01:01:00;02")
