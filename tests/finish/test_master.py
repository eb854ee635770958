"""The graded master: a 2-clip timeline rendered through its shot and scene grades."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import opentimelineio as otio
import pytest

from posthouse.core.media import VideoWriter, iter_video_frames, probe
from posthouse.engine import clip_media_path
from posthouse.finish.cdl import Cdl
from posthouse.finish.grading import GradePipeline, GradeSet
from posthouse.finish.master import render_graded

pytest.importorskip("PyOpenColorIO")

W, H, N = 64, 48, 12
RATE = 24
WARM = Cdl("", (1.15, 1.0, 0.85), (0.02, 0.0, -0.02))
COOL = Cdl("", (0.9, 1.0, 1.1), saturation=0.6)


def _movie(path: Path, base: tuple[int, int, int], tc: str) -> Path:
    yy, xx = np.mgrid[0:H, 0:W]
    with VideoWriter(
        path, width=W, height=H, rate=Fraction(RATE), preset="prores-hq", start_timecode=tc
    ) as w:
        for i in range(N):
            img = np.empty((H, W, 3), np.uint8)
            img[..., 0] = np.clip(base[0] + xx + i, 0, 255)
            img[..., 1] = np.clip(base[1] + yy, 0, 255)
            img[..., 2] = base[2]
            w.write_frame(img)
    return path


def _clip(name: str, path: Path, tc_frames: int, src_in: int, dur: int, scene: str) -> otio.schema.Clip:
    ref = otio.schema.ExternalReference(
        target_url=path.as_uri(),
        available_range=otio.opentime.TimeRange(
            otio.opentime.RationalTime(tc_frames, RATE), otio.opentime.RationalTime(N, RATE)
        ),
    )
    clip = otio.schema.Clip(
        name=name,
        media_reference=ref,
        source_range=otio.opentime.TimeRange(
            otio.opentime.RationalTime(tc_frames + src_in, RATE), otio.opentime.RationalTime(dur, RATE)
        ),
    )
    clip.metadata["posthouse"] = {"scene": scene, "reel": name}
    return clip


def _media(timeline: otio.schema.Timeline, index: int) -> Path:
    path = clip_media_path(timeline.tracks[0][index])
    assert path is not None
    return path


@pytest.fixture(scope="module")
def timeline(tmp_path_factory: pytest.TempPathFactory) -> otio.schema.Timeline:
    d = tmp_path_factory.mktemp("master")
    a = _movie(d / "A001C001.mov", (60, 90, 120), "01:00:00:00")
    b = _movie(d / "B001C001.mov", (120, 100, 70), "02:00:00:00")
    tl = otio.schema.Timeline(name="reel1")
    tl.global_start_time = otio.opentime.RationalTime(3600 * RATE, RATE)  # 01:00:00:00
    track = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    track.append(_clip("A001C001", a, 86400, 2, 6, "1"))
    track.append(
        otio.schema.Gap(source_range=otio.opentime.TimeRange(duration=otio.opentime.RationalTime(2, RATE)))
    )
    track.append(_clip("B001C001", b, 2 * 86400, 0, 5, "2"))
    tl.tracks.append(track)
    return tl


def test_graded_master_follows_shot_and_scene_grades(timeline: otio.schema.Timeline, tmp_path: Path) -> None:
    grades = GradeSet(shots={"A001C001": WARM}, scenes={"2": COOL})
    out = tmp_path / "reel1_graded.mov"
    report = render_graded(timeline, grades, out, preset="prores-hq")
    assert report.frames == 6 + 2 + 5 and report.graded_clips == 2 and not report.ungraded_clips
    info = probe(out)
    assert info.video[0].frames == 13 and (info.video[0].width, info.video[0].height) == (W, H)
    assert info.start_timecode == "01:00:00:00"
    rendered = [f for _, f in iter_video_frames(out)]
    src_a = [f for _, f in iter_video_frames(_media(timeline, 0), start=2, count=6)]
    src_b = [f for _, f in iter_video_frames(_media(timeline, 2))]
    pipe = GradePipeline()
    for k in range(6):
        want = pipe.apply_u8(src_a[k], WARM).astype(int)
        assert np.abs(rendered[k].astype(int) - want).mean() < 1.5, k
    assert rendered[6].max() <= 2 and rendered[7].max() <= 2  # the gap is black
    for k in range(5):
        want = pipe.apply_u8(src_b[k], COOL).astype(int)
        assert np.abs(rendered[8 + k].astype(int) - want).mean() < 1.5, k
    # and the grade did something visible: warm shot redder and less blue than its source
    diff = rendered[0].astype(int).mean(axis=(0, 1)) - src_a[0].astype(int).mean(axis=(0, 1))
    assert diff[0] > 5 and diff[2] < -5


def test_ungraded_clips_pass_through_unchanged(timeline: otio.schema.Timeline, tmp_path: Path) -> None:
    out = tmp_path / "plain.mov"
    report = render_graded(timeline, GradeSet(), out, preset="prores-hq")
    assert report.graded_clips == 0 and report.ungraded_clips == ["A001C001", "B001C001"]
    first = next(iter_video_frames(out))[1].astype(int)
    src = next(iter_video_frames(_media(timeline, 0), start=2))[1]
    assert np.abs(first - src.astype(int)).mean() < 1.0


def test_cli_grade_renders_a_timeline_file(timeline: otio.schema.Timeline, tmp_path: Path) -> None:
    import json

    import typer
    from typer.testing import CliRunner

    from posthouse.cli.finish_grade import grade
    from posthouse.finish.cdl import write_cdl_file

    app = typer.Typer()
    app.command("grade")(grade)
    app.command("noop")(lambda: None)
    tl_path = tmp_path / "reel1.otio"
    otio.adapters.write_to_file(timeline, str(tl_path))
    ccc = write_cdl_file(tmp_path / "grades.ccc", [WARM.with_id("A001C001"), COOL.with_id("scene:2")])
    out = tmp_path / "out" / "reel1_p3.mov"
    res = CliRunner().invoke(
        app,
        ["grade", str(tl_path), "--grades", str(ccc), "--output", "p3", "--out", str(out), "--json"],
        env={"POSTHOUSE_PROJECT": str(tmp_path / "no-project")},
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["frames"] == 13 and data["graded_clips"] == 2 and data["output_transform"] == "p3"
    assert out.is_file() and all(Path(p).is_file() for p in data["grades"])
    bad = CliRunner().invoke(app, ["grade", str(tl_path), "--grades", str(ccc), "--output", "hdr"])
    assert bad.exit_code == 2 and "unknown output" in bad.output
