"""Turnover: EDLs, FCP7 XML, AAF (with markers), OTIO/OTIOZ, VFX pulls and marker lists, read back."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import opentimelineio as otio
import pytest
from opentimelineio.opentime import RationalTime as RT
from opentimelineio.opentime import TimeRange as TR

from posthouse.core.time import Rate, rational_time_to_frames
from posthouse.picture.aaf_markers import read_markers
from posthouse.picture.edl import EdlError, read_edl, write_edls
from posthouse.picture.turnover import CANNOT_CARRY, turnover, vfx_pulls

RATE = Rate.parse("23.976")
FPS = RATE.otio_rate
SR = 48_000
SPF = 2002  # samples per frame at 23.976
HOUR = 86_400  # 01:00:00:00 in frames at 23.976 (timebase 24)
SRC = HOUR + 3_600  # source timecodes from 01:02:30:00


def vclip(name: str, reel: str | None, start: int, dur: int, url: str | None = None) -> otio.schema.Clip:
    ref = otio.schema.ExternalReference(
        target_url=url or f"file:///media/{name}.mov",
        available_range=TR(RT(start - 100, FPS), RT(dur + 1000, FPS)),
    )
    clip = otio.schema.Clip(name=name, media_reference=ref, source_range=TR(RT(start, FPS), RT(dur, FPS)))
    if reel:
        clip.metadata["posthouse"] = {"reel": reel}
    return clip


def aclip(name: str, start: int, dur: int, channel: int) -> otio.schema.Clip:
    ref = otio.schema.ExternalReference(
        target_url=f"file:///media/{name}.wav",
        available_range=TR(RT((start - 100) * SPF, SR), RT((dur + 1000) * SPF, SR)),
    )
    clip = otio.schema.Clip(
        name=name, media_reference=ref, source_range=TR(RT(start * SPF, SR), RT(dur * SPF, SR))
    )
    clip.metadata["posthouse"] = {"channel": channel, "tape": "SR001"}
    return clip


def make_cut() -> otio.schema.Timeline:
    """Five clips on V1 (a dissolve, a 2× clip, a VFX marker and a note), two audio tracks with a gap."""
    tl = otio.schema.Timeline(name="reel1")
    tl.global_start_time = RT(HOUR, FPS)
    v1 = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    v1.append(vclip("A001C001", "A001C001_220101_R1AB", SRC, 48))
    v1.append(vclip("A001C002", "A001", SRC + 500, 60))
    v1.append(
        otio.schema.Transition(
            transition_type=otio.schema.TransitionTypes.SMPTE_Dissolve,
            in_offset=RT(12, FPS),
            out_offset=RT(12, FPS),
        )
    )
    v1.append(vclip("A002C003", None, SRC + 1000, 72, url="file:///media/B-cam%20002.mov"))
    fast = vclip("A002C004", "A002", SRC + 2000, 48)
    fast.effects.append(otio.schema.LinearTimeWarp(time_scalar=2.0))
    v1.append(fast)
    v1.append(vclip("A003C001", "A003", SRC + 3000, 36))
    vfx = otio.schema.Marker(name="VFX", marked_range=TR(RT(SRC + 1010, FPS), RT(1, FPS)), color="GREEN")
    vfx.metadata["posthouse"] = {"vfx": {"shot": "SH010"}, "note": "remove boom"}
    v1[3].markers.append(vfx)
    note = otio.schema.Marker(name="NOTE", marked_range=TR(RT(SRC + 3010, FPS), RT(1, FPS)))
    note.metadata["posthouse"] = {"note": "trim tail?"}
    v1[5].markers.append(note)
    tl.tracks.append(v1)
    for ch in (0, 1):
        a = otio.schema.Track(name=f"A{ch + 1}", kind=otio.schema.TrackKind.Audio)
        a.append(aclip("1A-1", SRC, 108, ch))
        a.append(otio.schema.Gap(source_range=TR(RT(0, SR), RT(24 * SPF, SR))))
        a.append(aclip("3B-2", SRC + 4000, 60, ch))
        tl.tracks.append(a)
    return tl


def frames(t: RT) -> int:
    return rational_time_to_frames(t, RATE)


def events(tl: otio.schema.Timeline, track: otio.schema.Track) -> list[tuple[str, int, int, int, float]]:
    """(name, source in, record in, record out, speed) per clip, with frames since midnight and
    transitions put in CMX form (the cut at the dissolve start) so every format compares alike."""
    start = frames(tl.global_start_time) if tl.global_start_time is not None else 0
    items = list(track)
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, otio.schema.Clip):
            continue
        rng = track.range_of_child_at_index(i)
        rec_in, rec_out = frames(rng.start_time), frames(rng.end_time_exclusive())
        src_in = frames(item.source_range.start_time)
        if i > 0 and isinstance(items[i - 1], otio.schema.Transition):
            lead = frames(items[i - 1].in_offset)
            rec_in, src_in = rec_in - lead, src_in - lead
        if i + 1 < len(items) and isinstance(items[i + 1], otio.schema.Transition):
            rec_out -= frames(items[i + 1].in_offset)
        speed = next(
            (fx.time_scalar for fx in item.effects if isinstance(fx, otio.schema.LinearTimeWarp)), 1.0
        )
        out.append((item.name, src_in, start + rec_in, start + rec_out, speed))
    return out


def no_speed(evs: list[tuple[str, int, int, int, float]]) -> list[tuple[str, int, int, int]]:
    return [e[:4] for e in evs]


@pytest.fixture()
def cut() -> otio.schema.Timeline:
    return make_cut()


# ------------------------------------------------------------------------------------------- EDL


def test_edl_video_round_trip_keeps_record_start(cut: otio.schema.Timeline, tmp_path: Path) -> None:
    paths = write_edls(cut, tmp_path, name="R1", rate=RATE)
    assert [p.name for p in paths] == ["R1_V1.edl", "R1_AUDIO.edl"]
    text = paths[0].read_text()
    first = next(line for line in text.splitlines() if line.startswith("001"))
    assert first.split()[-2:] == ["01:00:00:00", "01:00:02:00"]
    back = read_edl(paths[0], RATE)
    assert frames(back.global_start_time) == HOUR
    assert events(back, back.video_tracks()[0]) == events(cut, cut.video_tracks()[0])
    assert [c.name for c in back.find_clips()] == ["A001C001", "A001C002", "A002C003", "A002C004", "A003C001"]
    # OTIO's own reader (without our wrapper) sees the record start too
    raw = otio.adapters.read_from_file(str(paths[0]), adapter_name="cmx_3600", rate=FPS)
    assert frames(raw.tracks[0].source_range.start_time) == -HOUR


def test_edl_audio_channels(cut: otio.schema.Timeline, tmp_path: Path) -> None:
    audio = write_edls(cut, tmp_path, name="R1", rate=RATE)[1]
    channels = {line.split()[2] for line in audio.read_text().splitlines() if re.match(r"^\d{3}\s", line)}
    assert channels == {"A", "A2"}
    back = read_edl(audio, RATE)
    assert [t.name for t in back.tracks] == ["A1", "A2"]
    for got, want in zip(back.tracks, cut.audio_tracks(), strict=True):
        assert events(back, got) == events(cut, want)


def test_edl_reels_are_cmx_safe_and_mapped(cut: otio.schema.Timeline, tmp_path: Path) -> None:
    v1 = write_edls(cut, tmp_path, name="R1", rate=RATE)[0]
    text = v1.read_text()
    reels = [line.split()[1] for line in text.splitlines() if re.match(r"^\d{3}\s", line)]
    assert all(re.fullmatch(r"[A-Z0-9_]{1,8}", r) for r in reels)
    assert reels[0] == "A001C001"
    assert "B_CAM_00" in reels  # from the file stem "B-cam 002"
    assert "* REEL MAP: A001C001 = A001C001_220101_R1AB" in text
    assert "* REEL MAP: B_CAM_00 = B-cam 002" in text
    back = read_edl(v1, RATE)
    assert back.find_clips()[0].metadata["cmx_3600"]["reel"] == "A001C001"


def test_edl_dissolve_and_m2_speed(cut: otio.schema.Timeline, tmp_path: Path) -> None:
    v1 = write_edls(cut, tmp_path, name="R1", rate=RATE)[0]
    lines = v1.read_text().splitlines()
    assert any(re.match(r"^003\s+B_CAM_00\s+V\s+D 024\s", line) for line in lines)
    m2 = [line for line in lines if line.startswith("M2")]
    assert len(m2) == 1 and m2[0].split() == ["M2", "A002", "047.9", "01:03:53:08"]
    fast = next(line for line in lines if line.startswith("004"))
    assert fast.split()[4:6] == ["01:03:53:08", "01:03:57:08"]  # 96 source frames for 48 record frames
    back = read_edl(v1, RATE)
    trans = back.find_children(descended_from_type=otio.schema.Transition)
    assert len(trans) == 1 and frames(trans[0].out_offset) + frames(trans[0].in_offset) == 24
    assert events(back, back.tracks[0]) == events(cut, cut.tracks[0])
    assert events(back, back.tracks[0])[3][4] == 2.0


def test_edl_freeze_frame(tmp_path: Path) -> None:
    tl = otio.schema.Timeline(name="ff")
    tl.global_start_time = RT(HOUR, FPS)
    track = otio.schema.Track(name="V1")
    still = vclip("A001C009", "A001", SRC, 30)
    still.effects.append(otio.schema.FreezeFrame())
    track.extend([vclip("A001C008", "A001", SRC - 500, 24), still])
    tl.tracks.append(track)
    (v1,) = write_edls(tl, tmp_path, name="FF", rate=RATE)
    text = v1.read_text()
    assert "M2   A001    \t000.0\t\t01:02:30:00" in text and "* * FREEZE FRAME" in text
    back = read_edl(v1, RATE)
    clip = back.find_clips()[1]
    assert isinstance(clip.effects[0], otio.schema.FreezeFrame)
    assert frames(clip.duration()) == 30


@pytest.mark.parametrize(
    ("line_no", "bad", "why"),
    [
        (4, "001  A001C001 V     C        01:02:30:00 01:02:32:00 01:00:00:00", "fields"),
        (4, "001  A001C001 V     C        01:02:3X:00 01:02:32:00 01:00:00:00 01:00:02:00", "timecode"),
        # only OTIO's reader notices this one (record overlaps the previous event): found by bisection
        (8, "002  A001     V     C        01:02:50:20 01:02:52:20 01:00:01:00 01:00:03:00", "Overlapping"),
    ],
)
def test_malformed_edl_names_the_line(
    cut: otio.schema.Timeline, tmp_path: Path, line_no: int, bad: str, why: str
) -> None:
    v1 = write_edls(cut, tmp_path, name="R1", rate=RATE)[0]
    lines = v1.read_text().splitlines()
    assert lines[line_no - 1][:3] == bad[:3]
    lines[line_no - 1] = bad
    v1.write_text("\n".join(lines) + "\n")
    with pytest.raises(EdlError) as err:
        read_edl(v1, RATE)
    assert f"(line {line_no})" in str(err.value) and str(v1) in str(err.value)
    assert why in str(err.value)


# -------------------------------------------------------------------------------------- package


def test_turnover_package_round_trips(cut: otio.schema.Timeline, tmp_path: Path) -> None:
    report = turnover(cut, tmp_path, name="R1", rate=RATE, author="editor")
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(
        [
            "R1_V1.edl",
            "R1_AUDIO.edl",
            "R1.xml",
            "R1.otio",
            "R1.otioz",
            "R1.aaf",
            "R1_vfx_pulls.csv",
            "R1_vfx_pulls.json",
            "R1_markers.csv",
            "R1_reels.csv",
            "README.txt",
            "R1_turnover.json",
        ]
    )
    want_v = events(cut, cut.video_tracks()[0])
    want_a = [no_speed(events(cut, t)) for t in cut.audio_tracks()]

    xml = otio.adapters.read_from_file(str(tmp_path / "R1.xml"), adapter_name="fcp_xml")
    assert frames(xml.global_start_time) == HOUR
    assert no_speed(events(xml, xml.video_tracks()[0])) == no_speed(want_v)
    assert [no_speed(events(xml, t)) for t in xml.audio_tracks()] == want_a

    aaf = otio.adapters.read_from_file(str(tmp_path / "R1.aaf"), adapter_name="AAF")
    assert frames(aaf.global_start_time) == HOUR
    assert no_speed(events(aaf, aaf.video_tracks()[0])) == no_speed(want_v)
    assert [no_speed(events(aaf, t)) for t in aaf.audio_tracks()] == want_a
    # markers: the stock writer drops them; ours are DescriptiveMarkers on the composition mob
    markers = read_markers(tmp_path / "R1.aaf")
    assert [m.position for m in markers] == [118, 238]
    assert "SH010" in markers[0].comment and "remove boom" in markers[0].comment
    assert markers[0].color == "GREEN" and markers[0].user == "editor"
    assert "trim tail?" in markers[1].comment
    assert len(aaf.tracks.markers) == 2  # OTIO's AAF reader sees them too

    otio_back = otio.adapters.read_from_file(str(tmp_path / "R1.otio"))
    assert otio_back.is_equivalent_to(cut)
    otioz = otio.adapters.read_from_file(str(tmp_path / "R1.otioz"))
    assert events(otioz, otioz.video_tracks()[0]) == want_v

    readme = (tmp_path / "README.txt").read_text()
    assert "What each format cannot carry" in readme and "M2" in readme
    assert set(report.cannot_carry) == set(CANNOT_CARRY) >= {"EDL (CMX 3600)", "FCP7 XML", "AAF"}
    assert report.reels["A001C001_220101_R1AB"] == "A001C001"
    saved = json.loads((tmp_path / "R1_turnover.json").read_text())
    assert saved["files"]["AAF"] == ["R1.aaf"] and saved["vfx_pulls"][0]["shot"] == "SH010"
    assert any("A002C004" in w for w in report.warnings)


def test_vfx_pulls_with_handles(cut: otio.schema.Timeline, tmp_path: Path) -> None:
    (pull,) = vfx_pulls(cut, RATE)
    assert (pull.shot, pull.clip, pull.handles) == ("SH010", "A002C003", 8)
    assert pull.source_file == "/media/B-cam 002.mov"
    assert (pull.source_in, pull.source_out) == ("01:03:11:16", "01:03:14:16")  # 91000 + 72
    assert (pull.pull_in, pull.pull_out) == ("01:03:11:08", "01:03:15:00")
    assert (pull.record_in, pull.record_out) == ("01:00:04:12", "01:00:07:12")
    assert pull.frames == 72 + 16 and pull.within_media and pull.note == "remove boom"
    (wide,) = vfx_pulls(cut, RATE, handles=120)
    assert wide.pull_in == "01:03:06:16" and not wide.within_media  # media starts 100 frames early

    turnover(cut, tmp_path, name="R1", rate=RATE, handles=12)
    with open(tmp_path / "R1_vfx_pulls.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["shot"], r["pull_in"], r["pull_out"]) for r in rows] == [
        ("SH010", "01:03:11:04", "01:03:15:04")
    ]
    with open(tmp_path / "R1_markers.csv", newline="") as fh:
        marks = list(csv.DictReader(fh))
    assert [(m["record_tc"], m["clip"], m["note"], m["vfx_shot"]) for m in marks] == [
        ("01:00:04:22", "A002C003", "remove boom", "SH010"),
        ("01:00:09:22", "A003C001", "trim tail?", ""),
    ]


def test_edl_clip_markers_as_loc_comments(cut: otio.schema.Timeline, tmp_path: Path) -> None:
    v1 = write_edls(cut, tmp_path, name="R1", rate=RATE)[0]
    assert "* LOC: 01:03:12:02 GREEN   VFX" in v1.read_text()
    back = read_edl(v1, RATE)
    clip = back.find_clips()[2]
    assert [(m.name, frames(m.marked_range.start_time)) for m in clip.markers] == [("VFX", SRC + 1010)]


def test_edl_drop_frame_record_start(tmp_path: Path) -> None:
    df = Rate.parse("29.97")
    hour = 107_892  # 01:00:00;00 at 29.97 drop-frame
    tl = otio.schema.Timeline(name="df")
    tl.global_start_time = RT(hour, df.otio_rate)
    track = otio.schema.Track(name="V1")
    for i, (start, dur) in enumerate([(hour + 5_000, 1_790), (hour + 9_000, 40)]):
        ref = otio.schema.ExternalReference(target_url=f"file:///m/C{i}.mov")
        rng = TR(RT(start, df.otio_rate), RT(dur, df.otio_rate))
        track.append(otio.schema.Clip(name=f"C{i}", media_reference=ref, source_range=rng))
    tl.tracks.append(track)
    (v1,) = write_edls(tl, tmp_path, name="DF", rate=df, drop=True)
    text = v1.read_text()
    assert "FCM: DROP FRAME" in text
    # 1790 frames end at 59;20; the next 40 run across the dropped labels 01:01:00;00 and ;01
    assert "01:00:00;00 01:00:59;20" in text and "01:00:59;20 01:01:01;02" in text
    back = read_edl(v1, df)
    assert rational_time_to_frames(back.global_start_time, df) == hour
    got = [
        (c.name, rational_time_to_frames(r.start_time, df))
        for c, r in zip(
            back.find_clips(), [back.tracks[0].range_of_child(c) for c in back.find_clips()], strict=True
        )
    ]
    assert got == [("C0", 0), ("C1", 1_790)]
