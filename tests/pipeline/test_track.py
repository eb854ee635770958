"""Department commands run inside a project record their runs: `posthouse status` shows them fresh, stale
when an input changes, unfinished when they stopped; each run is a job the cost report charges."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from posthouse.cli.app import app
from posthouse.core.errors import MediaError, UsageError
from posthouse.core.project import Project
from posthouse.pipeline.track import track_stage

runner = CliRunner()

SRT = """1
00:00:01,000 --> 00:00:03,500
Where were you last night?

2
00:00:04,000 --> 00:00:06,000
At the lab, printing the dailies.
"""


def _status(project: Path) -> dict[str, str]:
    result = runner.invoke(app, ["status", "--project", str(project), "--json"])
    assert result.exit_code in (0, 1), result.output
    return {r["stage"]: r["state"] for r in json.loads(result.stdout)}


def _jobs(project: Path) -> list[tuple[str, str]]:
    opened = Project.open(project)
    try:
        return [(j.kind, j.state) for j in opened.catalog.jobs()]
    finally:
        opened.close()


def test_a_department_command_in_a_project_is_tracked(tmp_path: Path) -> None:
    project = tmp_path / "film"
    assert runner.invoke(app, ["init", str(project)]).exit_code == 0
    srt = tmp_path / "reel1.srt"
    srt.write_text(SRT, encoding="utf-8")
    args = ["subtitles", str(srt), "--to", "srt,vtt", "--project", str(project), "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    outputs = json.loads(result.stdout)["outputs"]
    assert Path(outputs["vtt"]).parent == project / "deliver" / "subtitles"
    assert _status(project) == {"subtitles": "fresh"}
    assert _jobs(project) == [("subtitles", "done")]

    srt.write_text(SRT.replace("last night", "on Tuesday"), encoding="utf-8")  # the script changed
    assert _status(project) == {"subtitles": "stale"}
    assert runner.invoke(app, args).exit_code == 0
    assert _status(project) == {"subtitles": "fresh"}
    Path(outputs["srt"]).write_text("edited by hand", encoding="utf-8")  # an output changed
    assert _status(project) == {"subtitles": "stale"}
    assert _jobs(project) == [("subtitles", "done"), ("subtitles", "done")]


def test_outside_a_project_nothing_is_recorded_and_the_work_runs(tmp_path: Path) -> None:
    with track_stage(tmp_path / "nowhere", "render", [], {}, target=tmp_path / "x.mov") as run:
        run.outputs.append(tmp_path / "x.mov")
    srt = tmp_path / "a.srt"
    srt.write_text(SRT, encoding="utf-8")
    result = runner.invoke(app, ["subtitles", str(srt), "--to", "srt", "--project", str(tmp_path)])
    assert result.exit_code == 0 and (tmp_path / "a_en.srt").is_file()


def test_a_failed_run_is_unfinished_and_its_job_failed_and_refused_input_leaves_no_run(
    tmp_path: Path,
) -> None:
    project = tmp_path / "film"
    Project.init(project).close()
    master = tmp_path / "master.mov"
    master.write_bytes(b"not a movie")
    with pytest.raises(MediaError), track_stage(project, "qc", [master], {}, target="qc:master") as run:
        run.outputs.append(tmp_path / "report.json")
        raise MediaError("cannot open for decoding", path=master)
    assert _status(project) == {"qc": "unfinished"}
    with pytest.raises(UsageError), track_stage(project, "render", [master], {}, target="render:x"):
        raise UsageError("unknown preset 'h265-10bit'")
    assert _status(project) == {"qc": "unfinished"}  # nothing was made: no render run to show
    assert _jobs(project) == [("qc", "failed"), ("render", "failed")]
