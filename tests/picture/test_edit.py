"""The editor's operations on small synthetic timelines: exact record/source frames, ripple vs not,
linked sound following picture, sync breaks, effects surviving a save/open round trip."""

from __future__ import annotations

from pathlib import Path

import opentimelineio as otio
import pytest
from opentimelineio.opentime import RationalTime, TimeRange

from posthouse.picture import edit as E
from posthouse.picture.cuts import CutStore

FPS = 24.0
SR = 48000
SPF = 2000  # samples per frame at 24 fps


def vclip(name: str, src: int = 100, dur: int = 48, link: str | None = None) -> otio.schema.Clip:
    ref = otio.schema.ExternalReference(
        target_url=f"file:///media/{name}.mov",
        available_range=TimeRange(RationalTime(0, FPS), RationalTime(1000, FPS)),
    )
    clip = otio.schema.Clip(
        name=name, media_reference=ref, source_range=TimeRange(RationalTime(src, FPS), RationalTime(dur, FPS))
    )
    if link:
        clip.metadata["posthouse"] = {"link": link}
    return clip


def aclip(name: str, src: int = 100, dur: int = 48, link: str | None = None) -> otio.schema.Clip:
    ref = otio.schema.ExternalReference(
        target_url=f"file:///media/{name}.wav",
        available_range=TimeRange(RationalTime(0, SR), RationalTime(1000 * SPF, SR)),
    )
    rng = TimeRange(RationalTime(src * SPF, SR), RationalTime(dur * SPF, SR))
    clip = otio.schema.Clip(name=name, media_reference=ref, source_range=rng)
    if link:
        clip.metadata["posthouse"] = {"link": link}
    return clip


@pytest.fixture
def tl() -> otio.schema.Timeline:
    """V1 a|b|c (48 frames each, source 100–148) over A1 with their linked sound at 48 kHz."""
    t = otio.schema.Timeline(name="cut")
    t.global_start_time = RationalTime(86400, FPS)
    v1 = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    a1 = otio.schema.Track(name="A1", kind=otio.schema.TrackKind.Audio)
    for n in "abc":
        v1.append(vclip(n, link=n))
        a1.append(aclip(n, link=n))
    t.tracks.extend([v1, a1])
    return t


def layout(t: otio.schema.Timeline, track: str) -> list[tuple[str, int, int, int]]:
    """(name, record in, record out, source in in frames) of each item; gaps are named ''."""
    out = []
    tr = next(x for x in t.tracks if x.name == track)
    for i, item in enumerate(tr):
        if isinstance(item, otio.schema.Transition):
            continue
        start, end = E.record_range(t, track, i)
        src = item.trimmed_range().start_time
        out.append((item.name, start, end, round(src.value * FPS / src.rate)))
    return out


ABC = [("a", 0, 48, 100), ("b", 48, 96, 100), ("c", 96, 144, 100)]


def test_insert_ripples_and_sync_locks(tl: otio.schema.Timeline) -> None:
    new, report = E.insert(tl, "V1", 48, vclip("n", src=10, dur=20))
    assert layout(new, "V1") == [
        ("a", 0, 48, 100),
        ("n", 48, 68, 10),
        ("b", 68, 116, 100),
        ("c", 116, 164, 100),
    ]
    assert layout(new, "A1") == [
        ("a", 0, 48, 100),
        ("", 48, 68, 0),
        ("b", 68, 116, 100),
        ("c", 116, 164, 100),
    ]
    assert report.sync_breaks == ()
    assert layout(tl, "V1") == ABC  # the argument is untouched


def test_insert_with_sound_and_inside_a_clip(tl: otio.schema.Timeline) -> None:
    new, _ = E.insert(tl, "V1", 10, vclip("n", dur=20), also={"A1": aclip("n", dur=20)})
    assert layout(new, "V1")[:3] == [("a", 0, 10, 100), ("n", 10, 30, 100), ("a", 30, 68, 110)]
    assert layout(new, "A1")[:3] == [("a", 0, 10, 100), ("n", 10, 30, 100), ("a", 30, 68, 110)]
    assert E.sync_breaks(new) == []


def test_insert_unlinked_breaks_sync(tl: otio.schema.Timeline) -> None:
    new, report = E.insert(tl, "V1", 48, vclip("n", dur=20), linked=False)
    assert layout(new, "A1") == ABC
    assert {(b.clip, b.frames) for b in report.sync_breaks} == {("b", -20), ("c", -20)}


def test_overwrite_keeps_length(tl: otio.schema.Timeline) -> None:
    new, _ = E.overwrite(tl, "V1", 40, vclip("n", src=5, dur=20))
    assert layout(new, "V1") == [("a", 0, 40, 100), ("n", 40, 60, 5), ("b", 60, 96, 112), ("c", 96, 144, 100)]
    assert layout(new, "A1") == ABC


def test_lift_leaves_gap_extract_ripples(tl: otio.schema.Timeline) -> None:
    lifted, _ = E.lift(tl, "V1", 1)
    for track in ("V1", "A1"):
        assert layout(lifted, track) == [("a", 0, 48, 100), ("", 48, 96, 0), ("c", 96, 144, 100)]
    extracted, report = E.extract(tl, "V1", 1)
    for track in ("V1", "A1"):
        assert layout(extracted, track) == [("a", 0, 48, 100), ("c", 48, 96, 100)]
    assert report.sync_breaks == ()
    alone, report = E.extract(tl, "V1", 1, linked=False)
    assert layout(alone, "A1") == ABC
    assert [(b.track, b.clip, b.frames) for b in report.sync_breaks] == [("A1", "c", 48)]


def test_split(tl: otio.schema.Timeline) -> None:
    new, _ = E.split(tl, "V1", 60)
    for track in ("V1", "A1"):
        assert layout(new, track)[1:3] == [("b", 48, 60, 100), ("b", 60, 96, 112)]
    sound = next(x for x in new.tracks if x.name == "A1")[2]
    assert sound.source_range.start_time == RationalTime(112 * SPF, SR)
    assert sound.source_range.duration == RationalTime(36 * SPF, SR)
    assert E.sync_breaks(new) == []
    with pytest.raises(E.EditError, match="no clip spans frame 48"):
        E.split(tl, "V1", 48)
    with pytest.raises(E.EditError, match="no clip spans frame 999"):
        E.split(tl, "V1", 999)


def test_ripple_trim_tail_and_head(tl: otio.schema.Timeline) -> None:
    new, _ = E.ripple_trim(tl, "V1", 0, tail=10)
    expected = [("a", 0, 58, 100), ("b", 58, 106, 100), ("c", 106, 154, 100)]
    assert layout(new, "V1") == layout(new, "A1") == expected
    first = next(x for x in new.tracks if x.name == "A1")[0]
    assert first.source_range.duration == RationalTime(58 * SPF, SR)
    new, report = E.ripple_trim(tl, "V1", 1, head=5)
    assert (
        layout(new, "V1") == layout(new, "A1") == [("a", 0, 48, 100), ("b", 48, 91, 105), ("c", 91, 139, 100)]
    )
    assert report.sync_breaks == ()
    with pytest.raises(E.EditError, match="not enough media"):
        E.ripple_trim(tl, "V1", 0, head=-101)


def test_roll_slip_slide(tl: otio.schema.Timeline) -> None:
    rolled, _ = E.roll_trim(tl, "V1", 0, 6)
    assert layout(rolled, "V1") == layout(rolled, "A1") == [("a", 0, 54, 100), ("b", 54, 96, 106), ABC[2]]
    slipped, report = E.slip(tl, "V1", 1, 7)
    assert layout(slipped, "V1") == layout(slipped, "A1") == [ABC[0], ("b", 48, 96, 107), ABC[2]]
    assert report.sync_breaks == ()
    slid, _ = E.slide(tl, "V1", 1, 5)
    assert (
        layout(slid, "V1")
        == layout(slid, "A1")
        == [("a", 0, 53, 100), ("b", 53, 101, 100), ("c", 101, 144, 105)]
    )


def test_slip_picture_alone_reports_sync_break(tl: otio.schema.Timeline) -> None:
    slipped, report = E.slip(tl, "V1", 1, 3, linked=False)
    assert layout(slipped, "A1") == ABC
    (brk,) = report.sync_breaks
    assert (brk.link, brk.track, brk.clip, brk.record_frame, brk.frames) == ("b", "A1", "b", 48, 3)
    assert E.sync_breaks(slipped) == [brk]
    _, report = E.slip(slipped, "V1", 1, -3, linked=False)
    assert report.sync_breaks == ()


def test_move_and_tracks(tl: otio.schema.Timeline) -> None:
    moved, report = E.move(tl, "V1", 1, 200)
    for track in ("V1", "A1"):
        assert layout(moved, track) == [
            ABC[0],
            ("", 48, 96, 0),
            ABC[2],
            ("", 144, 200, 0),
            ("b", 200, 248, 100),
        ]
    assert report.sync_breaks == ()
    added, _ = E.add_track(tl, "video")
    added, _ = E.add_track(added, "audio")
    assert [t.name for t in added.tracks] == ["V1", "A1", "V2", "A2"]
    removed, _ = E.remove_track(added, "V2")
    assert [t.name for t in removed.tracks] == ["V1", "A1", "A2"]
    with pytest.raises(E.EditError, match=r"no track 'V9'.*V1, A1"):
        E.lift(tl, "V9", 0)
    with pytest.raises(E.EditError, match="no clip at index 7"):
        E.lift(tl, "V1", 7)


def test_effects_survive_save_and_open(tl: otio.schema.Timeline, tmp_path: Path) -> None:
    t, _ = E.add_transition(tl, "V1", 0, 12)
    t, _ = E.add_transition(t, "V1", 2, 8, kind="dip_to_black")
    t, _ = E.add_transition(t, "A1", 1, 4, kind="wipe", pattern="clock")
    t, _ = E.set_speed(t, "V1", 2, 0.5, linked=False)  # b (after the first transition)
    t, _ = E.freeze_frame(t, "V1", 4)  # c
    t, _ = E.set_audio(t, "V1", 0, gain_db=-6.0, fade_in=4, fade_out=8)
    t, _ = E.add_marker(t, 50, "tighten this", track="V1", index=2, color=otio.schema.MarkerColor.GREEN)
    t, _ = E.add_marker(t, 100, "music in")
    store = CutStore(tmp_path / "cuts")
    back = store.open(store.save("fx", t))
    v1, a1 = back.tracks[0], back.tracks[1]
    d, dip, wipe = v1[1], v1[3], a1[2]
    assert d.transition_type == otio.schema.TransitionTypes.SMPTE_Dissolve
    assert (d.in_offset.value, d.out_offset.value) == (6, 6)
    assert (
        dip.transition_type == otio.schema.TransitionTypes.Custom
        and dip.metadata["posthouse"]["transition"] == "dip_to_black"
    )
    assert wipe.metadata["posthouse"] == {"transition": "wipe", "pattern": "clock"}
    assert isinstance(v1[2].effects[0], otio.schema.LinearTimeWarp) and v1[2].effects[0].time_scalar == 0.5
    assert isinstance(v1[4].effects[0], otio.schema.FreezeFrame)
    assert not a1[1].effects  # linked=False: the sound keeps normal speed
    meta = a1[0].metadata["posthouse"]
    assert (meta["gain_db"], meta["fade_in_frames"], meta["fade_out_frames"]) == (-6.0, 4, 8)
    assert "gain_db" not in v1[0].metadata["posthouse"]
    (m,) = v1[2].markers
    assert m.color == "GREEN" and m.metadata["posthouse"]["note"] == "tighten this"
    assert m.marked_range.start_time == RationalTime(102, FPS)  # record 50 = 2 frames into b (source 100)
    (sm,) = back.tracks.markers
    assert (
        sm.marked_range.start_time == RationalTime(100, FPS)
        and sm.metadata["posthouse"]["note"] == "music in"
    )
    assert [layout(back, "V1")[i][1:3] for i in range(3)] == [(0, 48), (48, 96), (96, 144)]


def test_bad_effect_requests(tl: otio.schema.Timeline) -> None:
    short = tl.deepcopy()
    short.tracks[0][0].media_reference.available_range = TimeRange(
        RationalTime(100, FPS), RationalTime(50, FPS)
    )
    with pytest.raises(E.EditError, match="2 frames of tail handle"):
        E.add_transition(short, "V1", 0, 12)
    with pytest.raises(E.EditError, match="outside 'b'"):
        E.add_marker(tl, 10, "x", track="V1", index=1)
    with pytest.raises(E.EditError, match="does not fit"):
        E.set_audio(tl, "A1", 0, fade_in=100)


def test_sound_at_29_97_stays_exact_and_in_sync() -> None:
    rate = 30000 / 1001  # 1601.6 samples a frame: sound source ranges are not whole frames
    t = otio.schema.Timeline(name="ntsc")
    t.global_start_time = RationalTime(107892, rate)  # 01:00:00;00
    v1 = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    a1 = otio.schema.Track(name="A1", kind=otio.schema.TrackKind.Audio)
    for n in "ab":
        pic = otio.schema.Clip(
            name=n,
            media_reference=otio.schema.ExternalReference(target_url=f"{n}.mov"),
            source_range=TimeRange(RationalTime(100, rate), RationalTime(45, rate)),
            metadata={"posthouse": {"link": n}},
        )
        snd = otio.schema.Clip(
            name=n,
            media_reference=otio.schema.ExternalReference(target_url=f"{n}.wav"),
            source_range=TimeRange(RationalTime(173_000_123, SR), RationalTime(45 * 1601.6, SR)),
            metadata={"posthouse": {"link": n}},
        )
        v1.append(pic)
        a1.append(snd)
    t.tracks.extend([v1, a1])
    for new, _ in (
        E.split(t, "V1", 17),
        E.ripple_trim(t, "V1", 0, head=3, tail=7),
        E.slip(t, "V1", 1, 11),
        E.roll_trim(t, "V1", 0, -4),
    ):
        assert E.sync_breaks(new) == []
        n = len(new.tracks[0])
        assert [E.record_range(new, "A1", i) for i in range(n)] == [
            E.record_range(new, "V1", i) for i in range(n)
        ]
    split, _ = E.split(t, "V1", 17)
    first, second = split.tracks[1][0].source_range, split.tracks[1][1].source_range
    assert first.duration.value == pytest.approx(17 * 1601.6)
    assert second.start_time.value == pytest.approx(173_000_123 + 17 * 1601.6)
    _, report = E.slip(t, "V1", 1, 2, linked=False)
    assert [(b.clip, b.frames) for b in report.sync_breaks] == [("b", 2)]
