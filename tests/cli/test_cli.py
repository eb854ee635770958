"""The command line: exit codes, JSON for scripts, errors that name the file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from posthouse.cli.app import app

runner = CliRunner()


def _json(result) -> object:  # type: ignore[no-untyped-def]
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def test_help_lists_the_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for cmd in ("tc", "probe", "init", "scan", "catalog", "demo"):
        assert cmd in result.stdout


def test_probe_json_and_damaged_exit_code(movie: Path, tmp_path: Path) -> None:
    data = _json(runner.invoke(app, ["probe", str(movie), "--json"]))
    assert isinstance(data, dict)
    assert data["start_timecode"] == "01:00:00:00" and data["reel"] == "A001"
    assert data["video"][0]["frames"] == 12
    bad = tmp_path / "bad.mov"
    bad.write_bytes(b"not a movie at all" * 10)
    result = runner.invoke(app, ["probe", str(movie), str(bad), "--json"])
    assert result.exit_code == 1
    both = json.loads(result.stdout)
    assert [d["damaged"] for d in both] == [False, True]


def test_probe_missing_file_names_it(tmp_path: Path) -> None:
    result = runner.invoke(app, ["probe", str(tmp_path / "gone.mov")])
    assert result.exit_code == 1
    assert "gone.mov" in result.output


def test_init_scan_catalog(tmp_path: Path, movie_factory, monkeypatch: pytest.MonkeyPatch) -> None:
    proj = tmp_path / "film"
    result = runner.invoke(app, ["init", str(proj), "--fps", "25", "--resolution", "1280x720"])
    assert result.exit_code == 0, result.output
    assert 'fps = "25"' in (proj / "posthouse.toml").read_text()
    movie_factory("card/A001C001.mov", rate=25)
    (tmp_path / "card" / "broken.mov").write_bytes(b"junk" * 100)
    monkeypatch.chdir(proj)
    result = runner.invoke(app, ["scan", str(tmp_path / "card"), "--cluster", "serial", "--json"])
    assert result.exit_code == 1  # partial: one damaged file, listed
    report = json.loads(result.stdout)
    assert len(report["added"]) == 2 and len(report["damaged"]) == 1
    listing = _json(runner.invoke(app, ["catalog", "--json", "--kind", "video"]))
    assert isinstance(listing, list) and [Path(r["path"]).name for r in listing] == ["A001C001.mov"]
    assert listing[0]["rate"] == "25/1"


def test_usage_errors_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    r = runner.invoke(app, ["init", str(tmp_path / "x"), "--fps", "27"])
    assert r.exit_code == 2 and "27" in r.output
    monkeypatch.chdir(tmp_path)
    r = runner.invoke(app, ["catalog"])
    assert r.exit_code == 2 and "posthouse init" in r.output
    r = runner.invoke(app, ["demo", "shoot", str(tmp_path / "s"), "--size", "imax"])
    assert r.exit_code == 2 and "--size" in r.output


@pytest.mark.slow
def test_demo_run_end_to_end_and_resume(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    result = runner.invoke(app, ["demo", "run", str(root), "--cluster", "serial", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["ok"]
    assert report["stages"] == [
        "shoot",
        "project",
        "offload",
        "catalog",
        "sync",
        "dailies",
        "assembly",
        "lock",
        "turnover",
    ]
    assert report["editorial"]["cut"] == "assembly@v001" and report["editorial"]["events"] == 2
    assert Path(report["editorial"]["turnover"], "assembly_v001_V1.edl").is_file()
    movie = report["editorial"]["reference"]
    assert movie["ffoa_frame"] - movie["two_pop_frame"] == 48 and Path(movie["output"]).is_file()
    assert report["catalogued"] == 8  # 4 camera clips + 4 sound files
    assert len(report["expected_damage"]) == 1 and not report["unexpected_damage"]
    synced = [s for s in report["sync"] if s["status"] == "synced"]
    assert len(synced) == 3 and not report["sync_errors"]
    assert all(
        abs(s["offset_samples"] - s["truth_offset_samples"]) <= 1 for s in synced if s["method"] == "waveform"
    )
    assert Path(report["dailies"]["report"]).is_file()
    assert len([o for o in report["dailies"]["outputs"] if o["review"]]) == 3
    assert (root / "project" / "turnovers" / "day01.ale").is_file()
    again = json.loads(runner.invoke(app, ["demo", "run", str(root), "--cluster", "serial", "--json"]).stdout)
    assert again["ok"] and len(again["scan"]["unchanged"]) == 8 and not again["scan"]["added"]
    assert not again["offload"]["copied"]  # everything was already offloaded and verified
