"""Streamers and punches: frame-accurate placement, colours, untouched frames, sound/timecode kept, CLI."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
import opentimelineio as otio
import pytest
import typer
from typer.testing import CliRunner

from posthouse.core.errors import UsageError
from posthouse.core.media import VideoWriter, iter_video_frames
from posthouse.score.cues import HitPoint, MusicCue, read_cues
from posthouse.score.streamers import (
    DEFAULT_COLOURS,
    StreamerStyle,
    SyncEvent,
    cue_events,
    default_length,
    flutter_events,
    render_streamers,
)
from posthouse.score.tempomap import TempoMap

W, H, FPS, N = 160, 90, 24, 72  # 3 s at 24 fps
BAND = 4  # StreamerStyle().band(160)
TOL = 4  # ProRes 4444 round trip, 8-bit levels


def _source_frame(i: int) -> npt.NDArray[np.uint8]:
    """Grey horizontal ramp whose level steps with the frame number (so frames are told apart)."""
    row = 60 + (np.arange(W) * 80) // W + (i % 4) * 6
    return np.repeat(np.repeat(row[None, :, None], H, axis=0), 3, axis=2).astype(np.uint8)


def _write_movie(
    path: Path, *, preset: str = "prores-4444", tc: str | None = None, sound: bool = False
) -> Path:
    with VideoWriter(
        path,
        width=W,
        height=H,
        rate=Fraction(FPS),
        preset=preset,
        start_timecode=tc,
        audio_channels=2 if sound else 0,
    ) as w:
        for i in range(N):
            w.write_frame(_source_frame(i))
        if sound:
            t = np.arange(N * 2000) / 48000
            w.write_audio(
                (0.25 * np.stack([np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 330 * t)])).astype(
                    np.float32
                )
            )
    return path


def _decode(path: Path) -> npt.NDArray[np.int16]:
    """Every picture frame as RGB, with PyAV directly (independent of the code under test)."""
    with av.open(str(path)) as c:
        return np.stack([f.to_ndarray(format="gbrp") for f in c.decode(video=0)]).astype(np.int16)


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write_movie(tmp_path_factory.mktemp("streamers") / "src.mov", tc="00:59:59:00")


@pytest.fixture(scope="module")
def decoded_source(source: Path) -> npt.NDArray[np.int16]:
    return _decode(source)


def _band(frame: npt.NDArray[np.int16], ref: npt.NDArray[np.int16], row: int) -> npt.NDArray[np.intp]:
    """Columns of ``row`` changed by the overlay."""
    return np.flatnonzero(np.abs(frame[row] - ref[row]).max(axis=1) > 30)


def test_streamer_sweeps_linearly_and_lands_on_the_hit_frame(
    source: Path, decoded_source: npt.NDArray[np.int16], tmp_path: Path
) -> None:
    out = tmp_path / "out.mov"
    style = StreamerStyle(labels=False)
    report = render_streamers(source, out, [SyncEvent(40, "hit", 24)], style=style, preset="prores-4444")
    assert report.frames == N and not report.problems and report.events[0]["sync_frame"] == 40
    got = _decode(out)
    assert got.shape == decoded_source.shape
    green = np.asarray(DEFAULT_COLOURS["hit"])
    radius = 0.12 * H
    for i in range(N):
        frame, ref = got[i], decoded_source[i]
        if 17 <= i <= 40:  # the 24 frames 40-24+1 … 40
            k = i - 16
            right = round(W * k / 24)
            for row in (3, 80):  # above and below the punch
                cols = _band(frame, ref, row)
                assert cols.size, f"frame {i}: no streamer"
                assert cols.max() + 1 == right, f"frame {i}: right edge {cols.max() + 1}, expected {right}"
                assert cols.min() == max(0, right - BAND), f"frame {i}"
                assert np.abs(frame[row, cols] - green).max() <= TOL, f"frame {i}: not green"
            untouched = np.ones(W, bool)
            untouched[max(0, right - BAND) : right] = False
            rows = np.r_[0 : int(H / 2 - radius - 2), int(H / 2 + radius + 2) : H]
            assert np.abs(frame[rows][:, untouched] - ref[rows][:, untouched]).max() <= TOL
        else:
            assert np.abs(frame - ref).max() <= TOL, f"frame {i} should be untouched"
    # the streamer's right edge is the picture's right edge on the hit frame itself
    assert _band(got[40], decoded_source[40], 80).max() == W - 1
    assert _band(got[39], decoded_source[39], 80).max() < W - 1
    # the punch: a bright disc in the centre, on the hit frame only
    bright = (got[:, :, :, :].min(axis=3) >= 245).reshape(N, -1).sum(axis=1)
    assert bright[40] == pytest.approx(np.pi * radius**2, rel=0.15)
    assert np.count_nonzero(bright) == 1
    assert got[40, H // 2, W // 2].min() >= 250


def test_colours_by_kind_and_frames_from_iter_video_frames(
    source: Path, decoded_source: npt.NDArray[np.int16], tmp_path: Path
) -> None:
    """Frames from iter_video_frames, an 8-frame head (first frame of action), a two-frame punch."""
    out = tmp_path / "kinds.mov"
    events = [SyncEvent(12, "start", 12), SyncEvent(32, "hit", 12), SyncEvent(52, "end", 12, label="1M1 END")]
    style = StreamerStyle(labels=False, punch_frames=2)
    report = render_streamers(
        iter_video_frames(source),
        out,
        events,
        first_frame_of_action=8,
        rate=24,
        style=style,
        preset="prores-4444",
    )
    assert [e["sync_frame"] for e in report.events] == [20, 40, 60]
    assert report.audio_channels == 0 and report.start_timecode is None
    got = _decode(out)
    for sync, kind in ((20, "start"), (40, "hit"), (60, "end")):
        cols = _band(got[sync], decoded_source[sync], 80)
        assert list(cols) == list(range(W - BAND, W))
        assert np.abs(got[sync, 80, cols] - np.asarray(DEFAULT_COLOURS[kind])).max() <= TOL, kind
        for f in (sync, sync + 1):  # punch held two frames
            assert got[f, H // 2, W // 2].min() >= 250
        assert np.abs(got[sync + 2] - decoded_source[sync + 2]).max() <= TOL
        assert np.abs(got[sync - 12] - decoded_source[sync - 12]).max() <= TOL  # before the streamer


def test_events_outside_the_movie_are_reported(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "outside.mov"
    events = [
        SyncEvent(100, "end", 24, label="late"),
        SyncEvent(-5, "start", 24, label="early"),
        SyncEvent(10, "hit", 24),
    ]
    report = render_streamers(source, out, events, preset="prores-4444", style=StreamerStyle(labels=False))
    assert out.is_file() and report.frames == N
    assert sorted(e["label"] for e in report.outside) == ["early", "late"]
    text = " ".join(report.problems)
    assert "late: sync at record frame 100" in text and "outside the movie's frames 0-71" in text
    assert "only 11 of 24 frames shown" in text
    hit = next(e for e in report.events if e["kind"] == "hit")
    assert hit["in_movie"] and hit["streamer_frames_shown"] == 11
    assert json.loads(json.dumps(report.to_dict()))["outside"][0]["in_movie"] is False


def test_sound_timecode_and_size_are_kept(tmp_path: Path) -> None:
    src = _write_movie(tmp_path / "ref.mov", preset="h264-mov", tc="00:59:52:00", sound=True)
    out = tmp_path / "conductor.mov"
    report = render_streamers(src, out, [SyncEvent(40, "hit", 24)])
    assert report.preset == "h264-mov" and report.audio_channels == 2
    with av.open(str(src)) as a, av.open(str(out)) as b:
        assert b.streams.video[0].average_rate == 24
        assert (b.streams.video[0].width, b.streams.video[0].height) == (W, H)
        assert b.streams.video[0].metadata.get("timecode") == "00:59:52:00"
        sa = np.concatenate([f.to_ndarray() for f in a.decode(audio=0)], axis=1)
        sb = np.concatenate([f.to_ndarray() for f in b.decode(audio=0)], axis=1)
    assert sa.shape == sb.shape and sa.size == 2 * N * 2000  # both channels, every sample
    np.testing.assert_array_equal(sa, sb)  # PCM copied sample for sample
    mp4 = render_streamers(src, tmp_path / "review.mp4", [SyncEvent(40)])
    assert mp4.preset == "h264" and mp4.audio_samples == N * 2000
    with av.open(str(tmp_path / "review.mp4")) as c:
        assert c.streams.audio[0].codec_context.name == "aac"
    with pytest.raises(UsageError, match="overwrite"):
        render_streamers(src, src, [SyncEvent(40)])
    with pytest.raises(UsageError, match="codec"):
        render_streamers(src, tmp_path / "x.avi", [SyncEvent(40)])


def test_labels_are_burnt_in_only_while_drawn(
    source: Path, decoded_source: npt.NDArray[np.int16], tmp_path: Path
) -> None:
    out = tmp_path / "labels.mov"
    render_streamers(source, out, [SyncEvent(40, "hit", 12, label="1M1 door")], preset="prores-4444")
    got = _decode(out)
    top = slice(0, 20)
    centre = slice(W // 2 - 20, W // 2 + 20)
    assert np.abs(got[34, top, centre] - decoded_source[34, top, centre]).max() > 60
    assert np.abs(got[28, top, centre] - decoded_source[28, top, centre]).max() <= TOL


def test_cue_events_flutter_and_cue_list(tmp_path: Path) -> None:
    cue = MusicCue("1M1", 10, 60, hits=(HitPoint(40, "downbeat", "door slam"), HitPoint(50, "any")))
    events = cue_events([cue], length=default_length(24))
    assert [(e.frame, e.kind, e.label, e.length) for e in events] == [
        (10, "start", "1M1 START", 48),
        (40, "hit", "1M1 door slam", 48),
        (50, "hit", "1M1 HIT", 48),
        (60, "end", "1M1 END", 48),
    ]
    assert [e.rgb for e in events[::3]] == [(255, 210, 0), (235, 30, 30)]
    assert default_length("25") == 50
    # 120 bpm at 24 fps: a beat every 12 frames from the cue start (frame 4)
    times = TempoMap.constant(120).beat_times(3.0)
    assert [e.frame for e in flutter_events(times, cue_start=4, rate=24)][:5] == [4, 16, 28, 40, 52]
    flutter = flutter_events(times, cue_start=4, rate=24, hits=[40], beats=2)
    assert [(e.frame, e.kind, e.length) for e in flutter] == [(16, "beat", 0), (28, "beat", 0)]
    with pytest.raises(UsageError):
        SyncEvent(3, "boom")
    path = tmp_path / "cues.json"
    path.write_text(
        json.dumps({"cues": [{"cue_id": "1M2", "start": 5, "end": 20, "hits": [{"frame": 9}], "x": 1}]})
    )
    (read,) = read_cues(path)
    assert (read.cue_id, read.start, read.end, read.hits[0].frame, read.metadata) == (
        "1M2",
        5,
        20,
        9,
        {"x": 1},
    )
    path.write_text(
        json.dumps([{"cue_id": "1M2", "start": 5, "end": 20}, {"cue_id": "1M3", "start": 9, "end": 3}])
    )
    with pytest.raises(UsageError, match=r"cue 2.*end frame 3") as err:
        read_cues(path)
    assert str(path) in str(err.value)


def test_flutter_punches_are_small_and_one_frame(
    source: Path, decoded_source: npt.NDArray[np.int16], tmp_path: Path
) -> None:
    out = tmp_path / "flutter.mov"
    beats = flutter_events(TempoMap.constant(120).beat_times(3.0), cue_start=4, rate=24, hits=[40], beats=2)
    render_streamers(source, out, [*beats, SyncEvent(40, "hit", 0)], preset="prores-4444")
    got = _decode(out)
    bright = (got.min(axis=3) >= 245).reshape(N, -1).sum(axis=1)
    assert set(np.flatnonzero(bright)) == {16, 28, 40}
    assert bright[16] == pytest.approx(np.pi * (0.05 * H) ** 2, rel=0.25)
    assert bright[40] > 4 * bright[16]
    assert np.abs(got[29] - decoded_source[29]).max() <= TOL


def _cli() -> typer.Typer:
    from posthouse.cli import score_streamers

    app = typer.Typer()
    app.command("streamers")(score_streamers.streamers)
    app.command("noop")(lambda: None)  # keep sub-command style
    return app


def test_cli_movie_form(source: Path, decoded_source: npt.NDArray[np.int16], tmp_path: Path) -> None:
    out = tmp_path / "cli.mov"
    # movie starts at 00:59:59:00; action at 00:59:59:08 (picture frame 8); hit 32 frames later = frame 40
    result = CliRunner().invoke(
        _cli(),
        ["streamers", str(source), "--start", "00:59:59:08", "--hits", "01:00:00:16,01:00:05:00",
         "--length", "24", "--out", str(out), "--json", "--no-labels"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["first_frame_of_action"] == 8
    assert [e["sync_frame"] for e in data["events"]] == [40, 144]
    assert [e["label"] for e in data["outside"]] == ["HIT 01:00:05:00"]
    got = _decode(out)
    assert list(_band(got[40], decoded_source[40], 80)) == list(range(W - BAND, W))
    bad = CliRunner().invoke(_cli(), ["streamers", str(source), "--hits", "1:2"])
    assert bad.exit_code == 2 and "--hits" in bad.output


def test_cli_project_form(tmp_path: Path) -> None:
    from posthouse.core.project import Project
    from posthouse.picture.cuts import CutStore

    project = Project.init(tmp_path / "film", fps="24", resolution=f"{W}x{H}")
    timeline = otio.schema.Timeline(name="reel1", global_start_time=otio.opentime.RationalTime(86400, 24))
    CutStore(project.root / "cuts").save("reel1", timeline)
    turnover = project.root / "turnovers" / "reel1_v001"
    turnover.mkdir(parents=True)
    # a short "reference" whose timecode puts the first frame of action (01:00:00:00) at picture frame 24
    _write_movie(turnover / "reel1_v001_reference.mov", preset="h264-mov", tc="00:59:59:00", sound=True)
    runner = CliRunner()
    missing = runner.invoke(_cli(), ["streamers", "reel1@v1", "--project", str(project.root)])
    assert missing.exit_code == 2 and "cues.json" in missing.output
    score = project.root / "score" / "reel1_v001"
    score.mkdir(parents=True)
    cues = [{"cue_id": "1M1", "start": 0, "end": 30, "hits": [{"frame": 16, "kind": "any", "label": "door"}]}]
    (score / "cues.json").write_text(json.dumps(cues))
    result = runner.invoke(
        _cli(), ["streamers", "reel1@v1", "--project", str(project.root), "--length", "24", "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["first_frame_of_action"] == 24
    assert [(e["kind"], e["sync_frame"], e["label"]) for e in data["events"]] == [
        ("start", 24, "1M1 START"),
        ("hit", 40, "1M1 door"),
        ("end", 54, "1M1 END"),
    ]
    assert data["audio_channels"] == 2 and not data["outside"]
    assert Path(data["output"]) == score / "reel1_v001_streamers.mov" and Path(data["output"]).is_file()
