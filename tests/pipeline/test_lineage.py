"""Lineage: a stage whose inputs and settings did not change does nothing; `posthouse status` shows what is
stale, on SQLite and (when a server is configured) PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from posthouse.cli.farm import status
from posthouse.core.project import Project
from posthouse.pipeline.lineage import Lineage, file_state, run_stage, settings_hash
from posthouse.pipeline.status import stage_status

runner = CliRunner()


def _status_app() -> typer.Typer:
    app = typer.Typer()
    app.command("status")(status)

    @app.command("noop")
    def noop() -> None:  # a second command keeps "status" a sub-command
        pass

    return app


def _upper(src: Path, dst: Path, calls: list[int]) -> Path:
    calls.append(1)
    dst.write_text(src.read_text().upper())
    return dst


def test_same_inputs_and_settings_do_nothing_then_changes_make_it_stale(
    catalog_url: str, tmp_path: Path
) -> None:
    src, dst = tmp_path / "in.txt", tmp_path / "out.txt"
    src.write_text("hello")
    calls: list[int] = []
    with Lineage(catalog_url) as lineage:

        def run(settings: dict[str, object]) -> str:
            result = run_stage(
                lineage, "upper", [src], settings, lambda: _upper(src, dst, calls), outputs=[dst], target=dst
            )
            return result.state

        assert run({"case": "upper"}) == "ran"
        assert run({"case": "upper"}) == "fresh"
        assert len(calls) == 1
        assert lineage.is_fresh("upper", [src], {"case": "upper"}, target=dst)
        assert [s.state for s in stage_status(lineage)] == ["fresh"]

        # one input byte changed: stale, listed by status, and the next run does the work again
        src.write_text("hellO")
        assert not lineage.is_fresh("upper", [src], {"case": "upper"}, target=dst)
        [row] = stage_status(lineage)
        assert row.state == "stale" and row.reasons == (f"input changed: {src}",)
        assert run({"case": "upper"}) == "ran" and len(calls) == 2
        assert dst.read_text() == "HELLO"

        # one setting changed: stale, with the setting named
        reasons = lineage.why_stale("upper", [src], {"case": "lower"}, target=dst)
        assert reasons == ["settings changed: case"]
        assert run({"case": "lower"}) == "ran" and len(calls) == 3

        # an output edited by hand or deleted: stale
        dst.write_text("tampered")
        assert stage_status(lineage)[0].reasons == (f"output changed: {dst}",)
        dst.unlink()
        assert stage_status(lineage)[0].reasons == (f"output missing: {dst}",)
        assert run({"case": "lower"}) == "ran" and dst.exists()


def test_a_failed_run_is_unfinished_and_runs_again(catalog_url: str, tmp_path: Path) -> None:
    src = tmp_path / "in.txt"
    src.write_text("x")

    def boom() -> None:
        raise RuntimeError("disk full")

    with Lineage(catalog_url) as lineage:
        with pytest.raises(RuntimeError, match="disk full"):
            run_stage(lineage, "copy", [src], {}, boom, target="copy-of-x")
        [row] = stage_status(lineage)
        assert row.state == "unfinished" and "did not finish" in row.reasons[0]
        assert not lineage.is_fresh("copy", [src], {}, target="copy-of-x")


def test_hashes_are_by_content_and_settings_order_free(tmp_path: Path) -> None:
    a, b = tmp_path / "a.bin", tmp_path / "b.bin"
    a.write_bytes(b"\x00" * 1000)
    b.write_bytes(b"\x00" * 1000)
    assert file_state(a).hash == file_state(b).hash
    b.write_bytes(b"\x00" * 999 + b"\x01")
    assert file_state(a).hash != file_state(b).hash
    assert not file_state(tmp_path / "gone").exists
    folder = tmp_path / "frames"
    folder.mkdir()
    (folder / "000000.j2c").write_bytes(b"one")
    before = file_state(folder).hash
    (folder / ".partial").write_bytes(b"ignored")  # hidden temporary names are not content
    assert file_state(folder).hash == before
    (folder / "000001.j2c").write_bytes(b"two")
    assert file_state(folder).hash != before
    assert settings_hash({"a": 1, "b": [2, 3]}) == settings_hash({"b": [2, 3], "a": 1})
    assert settings_hash({"a": 1}) != settings_hash({"a": 2})


def test_status_command_lists_stale_stages(catalog_url: str, tmp_path: Path) -> None:
    project = Project.init(tmp_path / "film", catalog_url=catalog_url)
    src, dst = tmp_path / "in.txt", tmp_path / "out.txt"
    src.write_text("a")
    lineage = Lineage(project.catalog)
    run_stage(lineage, "upper", [src], {}, lambda: _upper(src, dst, []), outputs=[dst], target=dst)
    app = _status_app()
    args = ["status", "--project", str(project.root), "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert [(r["stage"], r["state"]) for r in json.loads(result.stdout)] == [("upper", "fresh")]
    src.write_text("b")
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    [row] = json.loads(result.stdout)
    assert row["state"] == "stale" and row["reasons"] == [f"input changed: {src}"]
    table = runner.invoke(app, ["status", "--project", str(project.root)])
    assert table.exit_code == 1 and "stale" in table.stdout and "upper" in table.stdout
    project.close()


def test_status_outside_a_project_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(_status_app(), ["status", "--project", str(tmp_path)])
    assert result.exit_code == 2
    assert "posthouse.toml" in result.output or "project" in result.output
