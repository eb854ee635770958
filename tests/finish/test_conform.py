"""Conform: a locked cut (ours, our EDL, a foreign-style EDL) relinks frame-exact to the camera originals."""

from __future__ import annotations

import json
import shutil
from fractions import Fraction
from pathlib import Path

import numpy as np
import opentimelineio as otio
import pytest

from posthouse.core.media import VideoWriter, iter_video_frames
from posthouse.core.time import Timecode
from posthouse.finish.conform import conform, cut_events, read_cut, thumbnail, write_conform
from posthouse.finish.originals import OriginalsIndex, scan_originals

R = 24.0

# name, reel, start TC, frames, rate
ORIGINALS = [
    ("A001C001", "A001", "10:00:00:00", 40, 24),
    ("A001C002", "A001", "10:01:00:00", 40, 24),
    ("B002C001", "B002_ROLL_LONG", "10:02:00:00", 40, 24),
    ("R001C001", "R001", "11:00:00:00", 40, 25),
]


def _pattern(clip: int, i: int, size: tuple[int, int]) -> np.ndarray:
    """Frame ``i`` of clip ``clip``: coarse seeded blocks, so every frame is different."""
    w, h = size
    rng = np.random.default_rng(clip * 1000 + i)
    blocks = rng.integers(16, 240, (9, 16, 3), dtype=np.uint8)
    return np.repeat(np.repeat(blocks, h // 9, axis=0), w // 16, axis=1)


def _movie(path: Path, clip: int, reel: str, tc: str, frames: int, rate: int, size: tuple[int, int]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    w, h = size
    preset = "prores-422" if w > 100 else "prores-proxy"
    with VideoWriter(
        path, width=w, height=h, rate=Fraction(rate), preset=preset, start_timecode=tc, reel=reel
    ) as vw:
        for i in range(frames):
            vw.write_frame(_pattern(clip, i, size))
    return path


@pytest.fixture(scope="module")
def shoot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("conform")
    for k, (name, reel, tc, n, rate) in enumerate(ORIGINALS):
        _movie(root / "originals" / reel / f"{name}.mov", k, reel, tc, n, rate, (160, 90))
        _movie(root / "proxies" / f"{name}.mov", k, reel, tc, n, rate, (64, 36))
    return root


def _frames(tc: str) -> int:
    return Timecode.parse(tc, "24").frames


def _clip(shoot: Path, name: str, reel: str, src_tc: str, offset: int, dur: int) -> otio.schema.Clip:
    start = next(o for o in ORIGINALS if o[0] == name)[2]
    clip = otio.schema.Clip(
        name=name,
        media_reference=otio.schema.ExternalReference(
            target_url=(shoot / "proxies" / f"{name}.mov").as_uri(),
            available_range=otio.opentime.TimeRange(
                otio.opentime.RationalTime(_frames(start), R), otio.opentime.RationalTime(40, R)
            ),
        ),
        source_range=otio.opentime.TimeRange(
            otio.opentime.RationalTime(_frames(src_tc) + offset, R), otio.opentime.RationalTime(dur, R)
        ),
        metadata={"posthouse": {"reel": reel, "reposition": {"scale": 1.1}}},
    )
    return clip


def _cut(shoot: Path) -> otio.schema.Timeline:
    tl = otio.schema.Timeline(name="cut")
    tl.global_start_time = otio.opentime.RationalTime(86400, R)
    v1 = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    tl.tracks.append(v1)
    v1.append(_clip(shoot, "A001C001", "A001", "10:00:00:00", 10, 12))
    v1.append(
        otio.schema.Transition(
            in_offset=otio.opentime.RationalTime(2, R), out_offset=otio.opentime.RationalTime(2, R)
        )
    )
    fast = _clip(shoot, "B002C001", "B002_ROLL_LONG", "10:02:00:00", 12, 10)
    fast.effects.append(otio.schema.LinearTimeWarp(time_scalar=2.0))
    v1.append(fast)
    v1.append(_clip(shoot, "A001C002", "A001", "10:01:00:00", 20, 12))
    return tl


def _expected(clip: otio.schema.Clip) -> tuple[str, int]:
    """The original a clip of :func:`_cut` must relink to and the file frame of its first frame."""
    name = clip.metadata.get("cmx_3600", {}).get("clip") or clip.name
    for o in ORIGINALS:
        if name.startswith(o[0]):
            return o[0], round(clip.source_range.start_time.value) - _frames(o[2])
    raise AssertionError(name)


def _frame(path: str | Path, index: int) -> np.ndarray:
    return next(iter_video_frames(path, start=index, count=1))[1]


def _check_frame_exact(conformed: otio.schema.Timeline, expect: list[tuple[str, int]]) -> None:
    clips = [c for c in conformed.tracks[0].find_clips() if "conform" in c.metadata]
    assert len(clips) == len(expect)
    for clip, (name, index) in zip(clips, expect, strict=True):
        ref = clip.media_reference
        path = Path(ref.target_url.removeprefix("file://"))
        assert path.stem == name
        assert clip.metadata["conform"]["original"] == str(path)
        first = clip.source_range.start_time - ref.available_range.start_time
        got = _frame(path, round(first.value))
        want = _frame(path, index)
        assert np.array_equal(got, want)
        # and it is the shot's picture (ProRes is lossy: close to the pattern)
        k = [o[0] for o in ORIGINALS].index(name)
        assert np.abs(got.astype(int) - _pattern(k, index, (160, 90)).astype(int)).mean() < 6


def test_conform_our_otio_frame_exact_with_handles_speed_and_transition(shoot: Path, tmp_path: Path) -> None:
    index = scan_originals([shoot / "originals"], cache=tmp_path / "originals.json")
    cut = _cut(shoot)
    conformed, report = conform(cut, index, handles=8)
    d = report.to_dict()
    assert d["conformed"] == d["events"] == 3
    assert d["matched_by"] == {"reel_tc": 3}
    assert report.ok and d["verified"]
    assert all(r.frame_diff is not None and not r.differs for r in report.results)
    # handles: 8 fit everywhere (the 2× event shows source 8–32 with its dissolve, in a 40-frame original)
    handles = [c.metadata["conform"]["handles"] for c in conformed.tracks[0].find_clips()]
    assert handles == [8, 8, 8]
    # structure kept: transition, speed effect, reposition metadata, record positions
    v1 = conformed.tracks[0]
    assert isinstance(v1[1], otio.schema.Transition)
    assert v1[2].effects[0].time_scalar == 2.0
    assert v1[0].metadata["posthouse"]["reposition"] == {"scale": 1.1}
    assert [v1.range_of_child_at_index(i) for i in (0, 2, 3)] == [
        cut.tracks[0].range_of_child_at_index(i) for i in (0, 2, 3)
    ]
    assert cut.tracks[0][0].media_reference.target_url.endswith("proxies/A001C001.mov")  # input untouched
    _check_frame_exact(conformed, [_expected(c) for c in cut.tracks[0].find_clips()])
    out = tmp_path / "conform.otio"
    write_conform(conformed, report, out, tmp_path / "conform_report.json")
    back = otio.adapters.read_from_file(str(out))
    ref = back.tracks[0][0].media_reference
    assert ref.available_range.start_time.value == _frames("10:00:00:00")
    assert json.loads((tmp_path / "conform_report.json").read_text())["conformed"] == 3
    assert "3/3 conformed" in report.table()


def test_conform_from_our_turnover_edl(shoot: Path, tmp_path: Path) -> None:
    from posthouse.picture.edl import write_edls

    cut = _cut(shoot)
    (edl,) = [p for p in write_edls(cut, tmp_path, name="cut_v001", rate="24") if p.name.endswith("V1.edl")]
    assert "REEL MAP" in edl.read_text()
    tl = read_cut(edl, rate="24")
    index = scan_originals([shoot / "originals"])
    conformed, report = conform(tl, index, handles=4)
    d = report.to_dict()
    assert d["conformed"] == d["events"] == 3, report.table()
    assert d["matched_by"] == {"reel_tc": 3}
    assert report.ok, report.table()
    assert any(isinstance(fx, otio.schema.LinearTimeWarp) for c in conformed.find_clips() for fx in c.effects)
    # (an EDL dissolve starts at the cut, so the EDL's source ins differ from the OTIO cut's around it)
    _check_frame_exact(conformed, [_expected(c) for c in tl.tracks[0].find_clips()])


FOREIGN_EDL = """TITLE: Sample EDL
FCM: NON-DROP FRAME

001  A001     V     C        10:00:00:10 10:00:00:22 01:00:00:00 01:00:00:12
* FROM CLIP NAME:  A001C001

002  AX       V     C        10:01:00:20 10:01:01:08 01:00:00:12 01:00:01:00
* FROM CLIP NAME:  A001C002

003  B002_ROL V     C        10:02:00:12 10:02:01:08 01:00:01:00 01:00:01:10
M2   B002_ROL       048.0                10:02:00:12
* FROM CLIP NAME:  B002C001

004  ZZ999    V     C        10:00:00:00 10:00:01:00 01:00:01:10 01:00:02:10
* FROM CLIP NAME:  LOST_CLIP
"""


def test_foreign_edl_conforms_and_lists_unknown_reel(shoot: Path, tmp_path: Path) -> None:
    edl = tmp_path / "sample.edl"
    edl.write_text(FOREIGN_EDL)
    tl = read_cut(edl, rate="24")
    index = scan_originals([shoot / "originals"])
    conformed, report = conform(tl, index, handles=8)
    d = report.to_dict()
    assert d["conformed"] == 3 and d["events"] == 4
    assert d["missing"] == [4] and d["unknown_reels"] == ["ZZ999"]
    assert [r.method for r in report.results[:3]] == ["reel_tc", "clip_name", "reel_tc"]
    assert not report.ok
    assert "unknown reels: ZZ999" in report.table()
    clips = list(conformed.tracks[0].find_clips())
    assert clips[2].effects and clips[2].effects[0].time_scalar == pytest.approx(2.0)
    assert "conform" not in clips[3].metadata
    expect = [("A001C001", 10), ("A001C002", 20), ("B002C001", 12)]
    _check_frame_exact(conformed, expect)


def test_rate_mismatch_and_ambiguous_are_reported(shoot: Path, tmp_path: Path) -> None:
    backup = tmp_path / "backup" / "A001C001.mov"
    backup.parent.mkdir()
    shutil.copy(shoot / "originals" / "A001" / "A001C001.mov", backup)
    index = scan_originals([shoot / "originals", backup.parent])
    edl = tmp_path / "r.edl"
    edl.write_text(
        "TITLE: R\nFCM: NON-DROP FRAME\n\n"
        "001  R001     V     C        11:00:00:02 11:00:00:12 01:00:00:00 01:00:00:10\n"
        "002  A001     V     C        10:00:00:10 10:00:00:20 01:00:00:10 01:00:00:20\n"
    )
    _, report = conform(read_cut(edl, rate="24"), index, handles=2, verify=False)
    d = report.to_dict()
    assert d["conformed"] == 2
    assert d["rate_mismatches"] == [1]
    assert d["ambiguous"] == [2] and len(report.results[1].candidates) == 2
    # the pick is deterministic (sorted by path) and the same on a second run
    again = conform(read_cut(edl, rate="24"), index, handles=2, verify=False)[1]
    assert again.results[1].original == report.results[1].original


def test_timecode_break_and_picture_fallback(shoot: Path, tmp_path: Path) -> None:
    index = scan_originals([shoot / "originals"])
    cut = _cut(shoot)
    # event 1 runs past the end of A001C001 (40 frames): a timecode break
    c0 = cut.tracks[0][0]
    c0.source_range = otio.opentime.TimeRange(
        otio.opentime.RationalTime(_frames("10:00:00:00") + 30, R), otio.opentime.RationalTime(20, R)
    )
    # event 3 has no reel and an unknown name: found by its picture through the reachable proxy
    c3 = cut.tracks[0][3]
    c3.name = "untitled"
    c3.metadata["posthouse"] = {}
    offline = tmp_path / "offline_0042.mov"
    shutil.copy(shoot / "proxies" / "A001C002.mov", offline)
    c3.media_reference.target_url = offline.as_uri()
    _, report = conform(cut, index, handles=0)
    assert report.results[0].tc_break and report.results[0].status == "tc_break"
    assert "timecode break" in report.results[0].reason
    assert report.results[2].method == "picture"
    assert Path(report.results[2].original.path).stem == "A001C002"  # type: ignore[union-attr]
    assert not report.ok


def test_differing_frames_are_reported(shoot: Path, tmp_path: Path) -> None:
    # the offline claims A001C001's timecode but shows another shot's picture
    fake = _movie(tmp_path / "fake.mov", 7, "A001", "10:00:00:00", 40, 24, (64, 36))
    cut = _cut(shoot)
    cut.tracks[0][0].media_reference.target_url = fake.as_uri()
    _, report = conform(cut, scan_originals([shoot / "originals"]))
    assert [r.event.number for r in report.results if r.differs] == [1]
    assert report.to_dict()["differing_frames"] == [1]


def test_events_and_thumbnail() -> None:
    a = np.zeros((90, 160, 3), np.uint8)
    assert thumbnail(a).shape == (36, 64)
    assert thumbnail(np.full((9, 16), 100, np.uint8)).shape == (36, 64)
    tl = otio.schema.Timeline()
    assert cut_events(tl, rate="24") == []
    assert OriginalsIndex([]).containing("A", 0, 1) == []


def test_cli_conform(shoot: Path, tmp_path: Path) -> None:
    import typer
    from typer.testing import CliRunner

    from posthouse.cli.finish_conform import conform as conform_cmd

    app = typer.Typer()
    app.command()(conform_cmd)
    app.command("noop")(lambda: None)
    edl = tmp_path / "sample.edl"
    edl.write_text(FOREIGN_EDL)
    out = tmp_path / "out.otio"
    args = [
        "conform",
        str(edl),
        "--originals",
        str(shoot / "originals"),
        "--rate",
        "24",
        "--out",
        str(out),
        "--json",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.output
    data = json.loads(result.output)
    assert data["unknown_reels"] == ["ZZ999"] and data["conformed"] == 3
    assert out.exists() and (tmp_path / "out_report.json").exists()
    back = otio.adapters.read_from_file(str(out))
    assert back.tracks[0][0].metadata["conform"]["method"] == "reel_tc"


def test_cli_conform_project_cut(shoot: Path, tmp_path: Path) -> None:
    import typer
    from typer.testing import CliRunner

    from posthouse.cli.finish_conform import conform as conform_cmd
    from posthouse.core.project import Project
    from posthouse.picture.cuts import CutStore

    project = Project.init(tmp_path / "film", fps="24")
    CutStore(project.root / "cuts").save("reel1", _cut(shoot))
    app = typer.Typer()
    app.command()(conform_cmd)
    app.command("noop")(lambda: None)
    args = ["conform", "reel1@v1", "--originals", str(shoot / "originals"), "-p", str(project.root)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "3/3 conformed" in result.output
    out = project.root / "finish" / "reel1_v001"
    report = json.loads((out / "conform_report.json").read_text())
    assert report["ok"] and report["cut"] == "reel1@v1"
    assert (out / "conform.otio").exists() and (project.root / "finish" / "originals.json").exists()


# OpenTimelineIO's tests/sample_data/speed_effects_small.edl (another system's conventions: reels with
# stray dots, clip names with notes, freeze frames and a 46.7 fps M2), conformed against index records.
OTIO_SAMPLE_EDL = """TITLE: Speed_Effects_Test_2018.02.13

001  Z677_4C. V     C        01:00:01:21 01:00:07:03 01:00:00:00 01:00:05:06
* FROM CLIP NAME:  Z677_4C (ANIM10)
002  Z682_156 V     C        01:00:10:21 01:00:10:22 01:08:30:00 01:08:30:17
M2   Z682_156       000.0                01:00:10:21
* FROM CLIP NAME:  Z682_156 (LAY3) FF
* * FREEZE FRAME
003  Z682_157 V     C        01:00:10:20 01:00:10:21 01:08:30:17 01:08:30:18
M2   Z682_157       000.0                01:00:10:20
* FROM CLIP NAME:  Z682_157 (LAY2) FF
* * FREEZE FRAME
004  Z682_157 V     C        01:00:10:20 01:00:11:14 01:08:30:18 01:08:31:12
* FROM CLIP NAME:  Z682_157 (LAY2)
005  Z686_5A. V     C        01:00:06:00 01:00:08:22 01:11:31:16 01:11:33:04
M2   Z686_5A.       046.7                01:00:06:00
* FROM CLIP NAME:  Z686_5A (LAY2) (46.66 FPS)
"""


def test_otio_sample_edl_conforms_or_reports(tmp_path: Path) -> None:
    from posthouse.core.time import Rate
    from posthouse.finish.originals import OriginalRecord

    edl = tmp_path / "speed_effects_small.edl"
    edl.write_text(OTIO_SAMPLE_EDL)
    one = Timecode.parse("01:00:00:00", "24").frames

    def rec(name: str, reel: str | None) -> OriginalRecord:
        return OriginalRecord(f"/o/{name}.mov", reel, name, one, 24 * 30, Rate.parse("24").fps, 4096, 2160)

    records = [rec("Z677_4C", "Z677_4C"), rec("Z682_156", "Z682_156"), rec("Z682_157", None)]
    conformed, report = conform(read_cut(edl, rate="24"), OriginalsIndex(records), verify=False)
    d = report.to_dict()
    assert d["events"] == 5 and d["conformed"] == 4, report.table()
    assert [r.method for r in report.results] == ["reel_tc", "reel_tc", "clip_name", "clip_name", None]
    assert d["missing"] == [5] and d["unknown_reels"] == ["Z686_5A."]
    clips = list(conformed.tracks[0].find_clips())
    assert isinstance(clips[1].effects[0], otio.schema.FreezeFrame)
    assert clips[4].effects[0].time_scalar == pytest.approx(46.7 / 24)
    assert clips[0].metadata["conform"]["original"] == "/o/Z677_4C.mov"


@pytest.mark.parametrize("preset", ["prores-proxy", "h264-mov"])
def test_seeking_decode_matches_sequential(tmp_path: Path, preset: str) -> None:
    from posthouse.finish.conform import _thumbs_seek, _thumbs_sequential

    path = tmp_path / f"long_{preset}.mov"
    with VideoWriter(
        path, width=64, height=36, rate=Fraction(24), preset=preset, start_timecode="10:00:00:00"
    ) as vw:
        for i in range(80):
            vw.write_frame(_pattern(3, i, (64, 36)))
    wanted = [0, 49, 50, 79]
    seek, seq = _thumbs_seek(path, wanted), _thumbs_sequential(path, wanted)
    assert sorted(seek) == wanted
    assert all(np.array_equal(seek[i], seq[i]) for i in wanted)
