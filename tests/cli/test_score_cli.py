"""Scoring commands end to end on a project: spot, solve, place, cue sheet; the music into the session."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import opentimelineio as otio
import soundfile as sf
from typer.testing import CliRunner

from posthouse.cli.app import app
from posthouse.core.project import Project
from posthouse.picture.cuts import CutStore

runner = CliRunner()


def _marker(name: str, frame: int, comment: str = "") -> otio.schema.Marker:
    return otio.schema.Marker(
        name=name,
        marked_range=otio.opentime.TimeRange(
            otio.opentime.RationalTime(frame, 24), otio.opentime.RationalTime(0, 24)
        ),
        comment=comment,
    )


def test_spot_solve_place_cuesheet_and_import(tmp_path: Path) -> None:
    project = Project.init(tmp_path / "film", fps="24")
    cut = otio.schema.Timeline(name="reel1", global_start_time=otio.opentime.RationalTime(86400, 24))
    v1 = otio.schema.Track(name="V1")
    v1.append(otio.schema.Gap(duration=otio.opentime.RationalTime(480, 24)))
    cut.tracks.append(v1)
    rng = np.random.default_rng(11)
    hits = sorted(int(h) for h in rng.choice(np.arange(72, 400), 4, replace=False))
    for m in (
        _marker("MUSIC IN", 48, "Opening | composer: A. Composer (ASCAP) 100%"),
        *(_marker("HIT", h) for h in hits),
        _marker("MUSIC OUT", 440),
    ):
        cut.tracks.markers.append(m)
    CutStore(project.root / "cuts").save("reel1", cut, message="spotted", author="test")
    p = ["-p", str(project.root)]

    res = runner.invoke(app, ["score", "spot", "reel1@v1", *p, "--json"])
    assert res.exit_code == 0, res.output
    folder = project.root / "score" / "reel1_v001"
    assert (folder / "cues.csv").is_file() and (folder / "cues.html").is_file()

    res = runner.invoke(app, ["score", "solve", "reel1@v1", *p, "--json"])
    assert res.exit_code in (0, 1), res.output
    (solved,) = json.loads(res.stdout)
    made = [h for h in solved["hits"] if h["made"]]
    assert len(made) >= 3 and {h["timecode"] for h in solved["misses"]} == {
        h["timecode"] for h in solved["hits"] if not h["made"]
    }
    assert (folder / "1M1" / "click.wav").is_file() and (folder / "1M1" / "tempo.mid").is_file()

    res = runner.invoke(app, ["score", "place", "reel1@v1", *p, "--json"])
    assert res.exit_code == 0, res.output
    stem = sf.read(str(folder / "music_stem.wav"), always_2d=True)[0]
    first = int(np.flatnonzero(np.abs(stem).max(axis=1) > 1e-4)[0])
    assert 0 <= first - 48 * 2000 < 2000  # the cue sounds from its spotted frame (48 at 24 fps)

    res = runner.invoke(app, ["score", "cuesheet", "reel1@v1", *p, "--title", "Film", "--json"])
    assert res.exit_code == 0, res.output
    sheet = (folder / "cue_sheet.csv").read_text()
    assert "1M1" in sheet and "Opening" in sheet and "A. Composer" in sheet

    res = runner.invoke(app, ["sound", "import-music", "reel1@v1", str(folder / "music.otio"), *p, "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["tracks"] == ["MX1"]
