"""`posthouse reconform OLD NEW`: the command runs on a project and prints the report (JSON for scripts)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from test_reconform import make_cut, make_project
from typer.testing import CliRunner

from posthouse.cli.reconform import reconform
from posthouse.core.project import Project
from posthouse.picture import edit as E


def app() -> typer.Typer:
    a = typer.Typer()
    a.command("reconform")(reconform)
    a.command("other")(lambda: None)  # two commands keep "reconform" a sub-command
    return a


def test_cli_reconform_json_and_text(tmp_path: Path) -> None:
    Project.init(tmp_path / "film", fps="24")
    root = tmp_path / "film"
    new, _ = E.ripple_trim(make_cut(), "V1", 1, tail=-8)
    make_project(root, new)
    runner = CliRunner()
    res = runner.invoke(app(), ["reconform", "reel1@v1", "reel1@v2", "--json", "--project", str(root)])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["old"] == "reel1@v001" and doc["new"] == "reel1@v002"
    assert (
        doc["summary"]["conform"]["updated"] == 1 and doc["departments"]["conform"]["stats"]["lookups"] == 1
    )
    assert Path(doc["report"]).is_file()
    res = runner.invoke(app(), ["reconform", "reel1@v1", "reel1", "--only", "sound", "--project", str(root)])
    assert res.exit_code == 0, res.output
    assert "TRIMMED" in res.stdout and "NEEDS HUMAN" in res.stdout and "score" not in res.stdout
    res = runner.invoke(app(), ["reconform", "reel1@v1", "reel1@v9", "--project", str(root)])
    assert res.exit_code == 2 and "not found" in res.output
