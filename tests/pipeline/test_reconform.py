"""Reconform after a re-cut: sound, cues, VFX pulls, conform and subtitles follow the picture; only what a
change touches is updated, and the report says so."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, replace
from fractions import Fraction
from pathlib import Path

import opentimelineio as otio
import pytest
from opentimelineio.opentime import RationalTime, TimeRange

from posthouse.core.time import Rate, rational_time_to_seconds
from posthouse.finish.conform import conform, write_conform
from posthouse.finish.originals import OriginalRecord, OriginalsIndex
from posthouse.finish.subtitle_formats import parse_srt, write_subtitles
from posthouse.finish.subtitles import Cue, SubtitleTrack
from posthouse.picture import edit as E
from posthouse.picture.cuts import CutStore
from posthouse.picture.turnover import vfx_pulls
from posthouse.pipeline.reconform import reconform, record_map
from posthouse.pipeline.reconform_score import reconform_cues
from posthouse.score.cues import HitPoint, MusicCue
from posthouse.score.spotting import CueList, save_cues
from posthouse.score.tempo import solve_cue
from posthouse.sound.session import add_track, place_clip, save_session, session_from_cut, wav_clip

FPS = 24
RATE = Rate(24)
START = 86400  # 01:00:00:00
NAMES = "abcd"  # four events of 48 frames: a 0-48, b 48-96, c 96-144, d 144-192


def clip(name: str, kind: str = "V", src: int = 100, dur: int = 48) -> otio.schema.Clip:
    rate = FPS if kind == "V" else 48000
    scale = 1 if kind == "V" else 2000
    ref = otio.schema.ExternalReference(
        target_url=f"file:///media/{name}.{'mov' if kind == 'V' else 'wav'}",
        available_range=TimeRange(RationalTime(0, rate), RationalTime(1000 * scale, rate)),
    )
    c = otio.schema.Clip(
        name=name,
        media_reference=ref,
        source_range=TimeRange(RationalTime(src * scale, rate), RationalTime(dur * scale, rate)),
    )
    c.metadata["posthouse"] = {"link": name, "reel": name.upper()}
    return c


def make_cut() -> otio.schema.Timeline:
    t = otio.schema.Timeline(name="reel1")
    t.global_start_time = RationalTime(START, FPS)
    video = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    audio = otio.schema.Track(name="A1", kind=otio.schema.TrackKind.Audio)
    for n in NAMES:
        v = clip(n)
        if n in "bc":  # VFX shots on b and c
            v.markers.append(
                otio.schema.Marker(
                    name=f"VFX SH0{NAMES.index(n)}0",
                    marked_range=TimeRange(RationalTime(110, FPS), RationalTime(1, FPS)),
                )
            )
        video.append(v)
        audio.append(clip(n, "A"))
    t.tracks.extend([video, audio])
    return t


def fx(name: str, frames: int, offset: int = 0) -> otio.schema.Clip:
    """A sound effect clip; ``offset`` samples of sub-frame placement in its source start."""
    return wav_clip(f"/sfx/{name}.wav", name=name, frames=frames, rate=RATE, source_start=1000 + offset)


def make_session(cut: otio.schema.Timeline) -> otio.schema.Timeline:
    session = session_from_cut(cut, cut_name="reel1@v001")
    track = add_track(session, "effects")
    place_clip(track, fx("knock", 10, 123), 5, RATE)  # in a
    place_clip(track, fx("crash", 10), 85, RATE)  # 85-95: across b's tail
    place_clip(track, fx("door", 12, 77), 110, RATE)  # in c
    place_clip(track, fx("steps", 20), 150, RATE)  # in d
    return session


def make_cues() -> CueList:
    cues = [
        MusicCue("1M1", 10, 40, (HitPoint(20, "downbeat", "door"),)),  # in a
        MusicCue("1M2", 30, 150, (HitPoint(40, "downbeat", "look"), HitPoint(130, "downbeat", "slam"))),
        MusicCue("1M3", 150, 190, (HitPoint(160, "downbeat", "end"),)),  # in d
    ]
    return CueList(cues, RATE, START, title="reel1")


def subs() -> SubtitleTrack:
    def cue(i: int, a: int, b: int, text: str) -> Cue:
        return Cue(i, Fraction(a, FPS), Fraction(b, FPS), (text,))

    return SubtitleTrack(
        "en",
        (cue(1, 2, 40, "In a."), cue(2, 60, 94, "Across the trim."), cue(3, 100, 140, "In c.")),
        rate=RATE,
    )


def index() -> OriginalsIndex:
    return OriginalsIndex(
        [
            OriginalRecord(f"/originals/{n}.mov", n.upper(), n, 0, 1000, Fraction(FPS), 64, 36)
            for n in NAMES + "x"
        ]
    )


def make_project(root: Path, new: otio.schema.Timeline) -> dict[str, str]:
    """A project with cut v1 and its downstream work, and ``new`` as v2; returns the old files' hashes."""
    store = CutStore(root / "cuts")
    v1 = make_cut()
    store.save("reel1", v1)
    store.save("reel1", new)
    tag = "reel1_v001"
    save_session(make_session(v1), root / "sound" / tag / "session.otio")
    (root / "score" / tag).mkdir(parents=True, exist_ok=True)
    save_cues(make_cues(), root / "score" / tag / "cues.json")
    conformed, report = conform(v1, index(), verify=False, picture=False, cut_name="reel1@v1")
    write_conform(
        conformed, report, root / "finish" / tag / "conform.otio", root / "finish" / tag / "rep.json"
    )
    index().save(root / "finish" / "originals.json")
    pulls = [asdict(p) for p in vfx_pulls(v1, RATE)]
    (root / "turnovers" / tag).mkdir(parents=True)
    (root / "turnovers" / tag / f"{tag}_vfx_pulls.json").write_text(json.dumps(pulls))
    write_subtitles(subs(), "srt", root / "deliver" / "subtitles" / "reel1_en.srt")
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file()}


def clip_positions(timeline: otio.schema.Timeline, track: str) -> dict[str, tuple[Fraction, Fraction]]:
    """name → (record start frame, source start seconds), read back from the timeline."""
    out = {}
    for t in timeline.tracks:
        if t.name != track:
            continue
        for c in t:
            if isinstance(c, otio.schema.Clip):
                rng = t.range_of_child(c)
                out[c.name] = (
                    rational_time_to_seconds(rng.start_time) * FPS,
                    rational_time_to_seconds(c.source_range.start_time),
                )
    return out


def by_item(report: dict[str, object], department: str) -> dict[str, dict[str, object]]:
    dept = report["departments"][department]  # type: ignore[index]
    rows = dept["touched"] + dept["shifted"]  # type: ignore[index]
    return {r["item"]: r for r in rows}


# ------------------------------------------------------------------------------------------ tests


def test_record_map_of_a_tail_trim() -> None:
    old = make_cut()
    new, _ = E.ripple_trim(old, "V1", 1, tail=-8)  # b loses 8 frames: 88-96 removed, c and d move -8
    rmap = record_map(old, new)
    assert [rmap.map_frame(f) for f in (0, 47, 48, 87)] == [0, 47, 48, 87]
    assert rmap.map_frame(88) is None and rmap.map_frame(95) is None
    assert [rmap.map_frame(f) for f in (96, 143, 191)] == [88, 135, 183]
    assert rmap.span(100, 140).shift == -8 and not rmap.span(100, 140).touched
    assert rmap.span(85, 95).touched and [p.hi for p in rmap.span(85, 95).kept] == [88]
    assert rmap.touched_events() == ["V1 b 01:00:02:00"]
    assert rmap.added == ()


def test_one_event_trim_updates_only_that_event(tmp_path: Path) -> None:
    new, _ = E.ripple_trim(make_cut(), "V1", 1, tail=-8)
    for cue in make_cues().cues:  # the composer's tempo maps of v1
        solve_cue(cue, RATE, cut_start=START).write_json(
            tmp_path / "score" / "reel1_v001" / cue.cue_id / "tempo.json"
        )
    before = make_project(tmp_path, new)
    report = reconform(tmp_path, "reel1@1", "reel1@2")
    out = tmp_path / "reconform" / "reel1_v001_to_v002"
    assert report.out_dir == out
    doc = json.loads((out / "report.json").read_text())

    # the old version's files are untouched
    for path, digest in before.items():
        assert hashlib.sha256(Path(path).read_bytes()).hexdigest() == digest, path

    # sound: before the trim untouched, after it shifted by exactly the trim, across it cut and flagged
    session = otio.adapters.read_from_file(str(out / "session.otio"))
    fx_old = clip_positions(make_session(make_cut()), "FX1")
    fx_new = clip_positions(session, "FX1")
    assert fx_new["knock"] == fx_old["knock"]
    assert fx_new["door"] == (fx_old["door"][0] - 8, fx_old["door"][1])  # sub-frame source offset kept
    assert fx_new["steps"][0] == fx_old["steps"][0] - 8
    assert fx_new["crash"][0] == 85
    crash = next(c for c in session.tracks[-1] if isinstance(c, otio.schema.Clip) and c.name == "crash")
    assert rational_time_to_seconds(crash.source_range.duration) * FPS == 3  # 85-88 kept
    dx = clip_positions(session, "DX1")
    assert dx == {"a": (0, Fraction(100, 24)), "b": (48, Fraction(100, 24)), "c": (88, Fraction(100, 24)),
                  "d": (136, Fraction(100, 24))}  # fmt: skip
    sound = report.departments["sound"]
    # b's own sound is trimmed with its picture; the effect across the cut wants a human
    assert {i.item: i.needs_human for i in sound.touched} == {"DX1 #1 b": False, "FX1 #3 crash": True}
    assert {i.item: i.shift for i in sound.items if i.status == "shifted"} == {
        "DX1 #2 c": -8, "DX1 #3 d": -8, "FX1 #5 door": -8, "FX1 #7 steps": -8,
    }  # fmt: skip

    # cues: 1M1 before the trim untouched, 1M3 after it shifted, 1M2 across it re-solved
    score = report.departments["score"]
    assert {i.item: i.status for i in score.items} == {"1M1": "unchanged", "1M2": "updated", "1M3": "shifted"}
    cues = json.loads((out / "score" / "cues.json").read_text())["cues"]
    assert [(c["cue_id"], c["start"], c["end"], [h["frame"] for h in c["hits"]]) for c in cues] == [
        ("1M1", 10, 40, [20]),
        ("1M2", 30, 142, [40, 122]),
        ("1M3", 142, 182, [152]),
    ]
    tempo = json.loads((out / "score" / "1M2" / "tempo.json").read_text())
    assert all(abs(h["error_frames"]) <= 1 and h["made"] for h in tempo["hits"])
    assert (out / "score" / "1M2" / "click.wav").stat().st_size > 1000
    assert not (out / "score" / "1M1" / "click.wav").exists()  # not solved again: its map carried over
    carried = json.loads((out / "score" / "1M3" / "tempo.json").read_text())
    old_map = json.loads((tmp_path / "score" / "reel1_v001" / "1M3" / "tempo.json").read_text())
    assert carried["tempos"] == old_map["tempos"] and carried["cue_start"] == 142
    assert [(h["frame"], h["made"]) for h in carried["hits"]] == [(152, True)]
    assert report.departments["score"].stats["tempo_maps_carried"] == 2

    # VFX: b's shot changed within its handles, c's shifted
    vfx = {r["shot"]: r for r in json.loads((out / "vfx_pulls.json").read_text())}
    assert vfx["VFX SH010"]["status"] == "changed" and vfx["VFX SH020"]["status"] == "shifted"
    assert vfx["VFX SH020"]["record_in"] == "01:00:03:16"  # 96 - 8 = 88 frames

    # conform: only the trimmed event is looked up again
    assert report.departments["conform"].stats == {"events": 4, "reused": 3, "lookups": 1}
    conformed = otio.adapters.read_from_file(str(out / "conform.otio"))
    urls = [c.media_reference.target_url for c in conformed.tracks[0]]
    assert urls == [f"file:///originals/{n}.mov" for n in NAMES]

    # subtitles: moved with their picture
    srt = parse_srt((out / "subtitles" / "reel1_en.srt").read_text(), rate=RATE)
    assert [(round(c.start * FPS), round(c.end * FPS)) for c in srt.cues] == [
        (2, 40),
        (60, 88),
        (92, 132),
    ]

    # the report lists exactly the touched items, everything else shifted or untouched
    touched = {(i.department, i.item) for i in report.touched}
    assert touched == {
        ("sound", "DX1 #1 b"),
        ("sound", "FX1 #3 crash"),
        ("score", "1M2"),
        ("vfx", "VFX SH010"),
        ("conform", "V1 b"),
        ("subtitles", "reel1_en.srt en #2 Across the trim."),
    }
    assert {(d, i["item"]) for d, v in doc["departments"].items() for i in v["touched"]} == touched
    assert doc["touched_events"] == ["V1 b 01:00:02:00"]
    assert doc["summary"]["sound"]["shifted"] == 4
    html = (out / "report.html").read_text()
    assert "Across the trim" in html and "1M2" in html


def test_removed_event_drops_its_material(tmp_path: Path) -> None:
    new, _ = E.extract(make_cut(), "V1", 2)  # c (96-144) and its sound removed, d moves -48
    make_project(tmp_path, new)
    report = reconform(tmp_path, "reel1@1", "reel1@2", removed="mute")
    sound = {i.item: i for i in report.departments["sound"].items}
    assert sound["DX1 #2 c"].status == "removed" and sound["FX1 #5 door"].status == "removed"
    assert sound["FX1 #7 steps"].shift == -48
    session = otio.adapters.read_from_file(str(report.out_dir / "session.otio"))
    muted = [t for t in session.tracks if t.name == "FX1 removed"]
    assert muted and not muted[0].enabled and [c.name for c in muted[0].find_clips()] == ["door"]
    assert "door" not in clip_positions(session, "FX1")
    subs_ = {i.item.split("#")[1]: i.status for i in report.departments["subtitles"].items}
    assert subs_["3 In c."] == "removed"
    vfx = {i.item: i.status for i in report.departments["vfx"].items}
    assert vfx == {"VFX SH010": "unchanged", "VFX SH020": "removed"}
    assert report.departments["conform"].stats["lookups"] == 0
    # a plain run drops it
    report = reconform(tmp_path, "reel1@1", "reel1@2", out_dir=tmp_path / "drop")
    session = otio.adapters.read_from_file(str(tmp_path / "drop" / "session.otio"))
    assert not [t for t in session.tracks if "removed" in t.name]


def test_added_event_is_reported_as_needing_work(tmp_path: Path) -> None:
    shot = clip("x", dur=24)
    shot.markers.append(otio.schema.Marker(name="VFX SH050", marked_range=TimeRange(RationalTime(105, FPS))))
    new, _ = E.insert(make_cut(), "V1", 96, shot)  # x at 96-120; c and d move +24
    make_project(tmp_path, new)
    report = reconform(tmp_path, "reel1@1", "reel1@2")
    sound = report.departments["sound"]
    needs = [i for i in sound.items if i.status == "added"]
    assert [(i.new_in, i.new_out, i.needs_human) for i in needs] == [(96, 120, True)]
    assert "needs sound" in needs[0].item
    assert {i.item: i.shift for i in sound.items if i.status == "shifted"}["FX1 #5 door"] == 24
    assert [(i.item, i.status, i.needs_human) for i in report.departments["vfx"].touched] == [
        ("VFX SH050", "added", True)
    ]
    conform_items = {i.item: i.status for i in report.departments["conform"].touched}
    assert conform_items == {"V1 x": "added"}
    assert report.departments["conform"].stats["lookups"] == 1
    doc = json.loads((report.out_dir / "report.json").read_text())
    assert doc["needs_sound"][0]["tc_in"] == "01:00:04:00"
    # the cue across the insert point: its later hit moved +24 against its start, solved again
    score = {i.item: i for i in report.departments["score"].items}
    assert score["1M2"].status == "updated" and "'slam' +24" in score["1M2"].reason


def test_moved_hit_is_flagged_and_resolved_within_a_frame() -> None:
    old = make_cut()
    new, _ = E.ripple_trim(old, "V1", 1, head=5)  # b loses its first 5 frames: c, d move -5
    rmap = record_map(old, new)
    cues = CueList(
        [MusicCue("2M1", 0, 190, (HitPoint(24), HitPoint(70), HitPoint(120), HitPoint(170)))], RATE, START
    )
    new_cues, items, solutions = reconform_cues(cues, rmap)
    (item,) = items
    assert item.status == "updated" and item.needs_human and "hits moved" in item.reason
    assert [h.frame for h in new_cues.cues[0].hits] == [24, 65, 115, 165]
    sol = solutions["2M1"]
    assert not sol.misses and max(abs(h.error_frames) for h in sol.hits) <= 1.0
    assert [h.frame for h in sol.hits] == [24, 65, 115, 165]


def test_missing_department_outputs_are_skipped(tmp_path: Path) -> None:
    store = CutStore(tmp_path / "cuts")
    store.save("reel1", make_cut())
    store.save("reel1", E.ripple_trim(make_cut(), "V1", 0, tail=-2)[0])
    report = reconform(tmp_path, "reel1@1", "reel1", departments=("sound", "score"))
    assert set(report.departments) == {"sound", "score"}
    assert report.departments["sound"].skipped.startswith("no sound session")
    with pytest.raises(Exception, match="same version"):
        reconform(tmp_path, "reel1@2", "reel1")


def test_a_broken_input_fails_its_department_only(tmp_path: Path) -> None:
    make_project(tmp_path, E.ripple_trim(make_cut(), "V1", 1, tail=-8)[0])
    session = tmp_path / "sound" / "reel1_v001" / "session.otio"
    session.chmod(0o644)
    session.write_text("{ not otio")
    report = reconform(tmp_path, "reel1@1", "reel1@2")
    assert report.failed == ["sound"] and str(session) in report.departments["sound"].error
    assert report.departments["score"].counts()["shifted"] == 1
    doc = json.loads((report.out_dir / "report.json").read_text())
    assert doc["summary"]["sound"] == {"error": report.departments["sound"].error}
    assert "FAILED" in report.to_text()


def test_subtitles_timed_from_the_start_timecode_keep_that_clock(tmp_path: Path) -> None:
    from posthouse.pipeline.reconform_finish import reconform_subtitles_dir

    old = make_cut()
    new, _ = E.ripple_trim(old, "V1", 1, tail=-8)
    hour = Fraction(3600)
    track = subs()
    timed = SubtitleTrack(
        "en", tuple(replace(c, start=c.start + hour, end=c.end + hour) for c in track.cues), RATE
    )
    src = write_subtitles(timed, "vtt", tmp_path / "tc.vtt")
    result = reconform_subtitles_dir([src], record_map(old, new), tmp_path / "out")
    assert [i.status for i in result.items] == ["unchanged", "updated", "shifted"]
    back = (tmp_path / "out" / "subtitles" / "tc.vtt").read_text()
    # the third line at frames 92-132, 8 frames earlier (the file keeps milliseconds: 4.167 s - 8 frames)
    assert "01:00:03.834 --> 01:00:05.500\nIn c." in back and "01:00:00.083 --> 01:00:01.667" in back


def test_the_topmost_video_track_wins_where_tracks_overlap() -> None:
    old = make_cut()
    v2 = otio.schema.Track(name="V2", kind=otio.schema.TrackKind.Video)
    v2.append(otio.schema.Gap(source_range=TimeRange(RationalTime(0, FPS), RationalTime(60, FPS))))
    v2.append(clip("t", dur=20))  # 60-80, over b
    old.tracks.insert(1, v2)
    new, _ = E.ripple_trim(old, "V1", 1, tail=-8, linked=False)  # V1 ripples, V2 stays
    rmap = record_map(old, new)
    assert [(s.old_in, s.old_out, s.shift, s.event.split()[:2]) for s in rmap.segments[:6]] == [
        (0, 48, 0, ["V1", "a"]),
        (48, 60, 0, ["V1", "b"]),
        (60, 80, 0, ["V2", "t"]),
        (80, 88, 0, ["V1", "b"]),
        (88, 96, None, ["V1", "b"]),
        (96, 144, -8, ["V1", "c"]),
    ]
