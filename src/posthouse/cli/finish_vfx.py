"""`posthouse vfx pull|ingest|approve|cutin|list`: VFX plates out, vendor versions back in, cut in."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from posthouse.cli.common import EXIT_PARTIAL, console, err_console, handle_errors, print_json
from posthouse.cli.project import PROJECT_OPTION

if TYPE_CHECKING:
    import opentimelineio as otio

    from posthouse.core.project import Project
    from posthouse.finish.vfx import VfxShot

__all__ = ["app", "approve", "cutin", "ingest", "list_shots", "pull"]

app = typer.Typer(help="VFX pulls (EXR/DPX plates with handles) and returns (validate, version, cut in).")


def _open_cut(ref: str, project: Project) -> tuple[otio.schema.Timeline, Path, str]:
    """The timeline to work from (``CUT@vN``: its conform when there is one), its ``finish/STEM/vfx``
    folder, and the stem."""
    from posthouse.cli.finish_timeline import open_finish_timeline

    tl, finish, stem = open_finish_timeline(ref, project)
    return tl, (finish or project.root / "finish" / stem) / "vfx", stem


def _shot_lists(project: Project) -> list[Path]:
    return sorted(
        (project.root / "finish").glob("*/vfx/pulls/*_vfx_shots.json"), key=lambda p: p.stat().st_mtime
    )


def _all_shots(project: Project, shots_file: Path | None) -> list[VfxShot]:
    """The shots of ``shots_file``, else of every pull in the project (the newest pull of a shot wins)."""
    from posthouse.core.errors import UsageError
    from posthouse.finish.vfx import load_shot_list

    files = [shots_file] if shots_file is not None else _shot_lists(project)
    if not files:
        raise UsageError("no VFX shot list in this project", hint="run `posthouse vfx pull CUT@vN` first")
    by_id: dict[str, VfxShot] = {}
    for f in files:
        for shot in load_shot_list(f):
            by_id[shot.shot] = shot
    return list(by_id.values())


@app.command("pull")
@handle_errors
def pull(
    cut: str = typer.Argument(..., help="CUT@vN, or a timeline .otio whose clips point at the originals."),
    project_dir: Path | None = PROJECT_OPTION,
    handles: int | None = typer.Option(None, "--handles", help="Handle frames each side (default 8)."),
    fmt: str = typer.Option("exr", "--format", help="Plate format: exr (half float) or dpx (10 bit)."),
    pull_list: Path | None = typer.Option(
        None, "--pull-list", help="A turnover's CUT_vNNN_vfx_pulls.csv/.json instead of the VFX markers."
    ),
    linearize: bool = typer.Option(False, "--linear", help="Linearise Rec.709 video to scene-linear."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Export the plates of the shots marked VFX with handles, a shot list and reference clips.

    Writes PROJECT/finish/CUT_vNNN/vfx/pulls/. A re-run keeps plates already complete.
    """
    from posthouse.core.project import Project
    from posthouse.finish.vfx import pull_plates

    project = Project.open(project_dir)
    timeline, vfx_dir, stem = _open_cut(cut, project)
    report = pull_plates(
        timeline,
        vfx_dir / "pulls",
        name=stem,
        handles=handles,
        fmt=fmt,
        pull_list=pull_list,
        linearize=linearize,
    )
    if as_json:
        print_json(report.to_dict())
        return
    for shot in report.shots:
        state = "kept" if shot.shot in report.resumed else "pulled"
        console.print(
            f"{shot.shot}  {shot.record_in}–{shot.record_out}  {shot.clip}  "
            f"{shot.source_in}–{shot.source_out}"
            f"  {shot.first_frame}–{shot.last_frame} ({shot.frames} frames)  [dim]{state}[/]",
            highlight=False,
        )
    for w in report.warnings:
        err_console.print(f"[yellow]warning:[/] {w}", highlight=False)
    console.print(f"{len(report.shots)} shots in {report.out_dir}", highlight=False)


@app.command("ingest")
@handle_errors
def ingest(
    folders: list[Path] = typer.Argument(..., help="Version folders (SH010_comp_v002) or folders of them."),
    project_dir: Path | None = PROJECT_OPTION,
    shots_file: Path | None = typer.Option(None, "--shots", help="A pull's *_vfx_shots.json (default: all)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Validate delivered versions (name, frame range with handles, holes, resolution) and catalog them.

    Exit code 1 when any version is rejected (the others are still recorded).
    """
    from posthouse.core.project import Project
    from posthouse.finish.vfx import ingest_returns

    project = Project.open(project_dir)
    shots = _all_shots(project, shots_file)
    checks = ingest_returns(folders, shots, catalog=project.catalog, store_path=project.relpath)
    if as_json:
        print_json([c.to_dict() for c in checks])
    else:
        for c in checks:
            name = Path(c.path).name
            if c.accepted:
                console.print(
                    f"[green]accepted[/] {name} ({c.first}–{c.last}, {c.frames} frames)", highlight=False
                )
            else:
                console.print(f"[red]rejected[/] {name}: {c.reason}", highlight=False, soft_wrap=True)
    if any(not c.accepted for c in checks):
        raise typer.Exit(EXIT_PARTIAL)


@app.command("approve")
@handle_errors
def approve(
    shot: str = typer.Argument(..., help="Shot id, e.g. SH010."),
    version: str = typer.Argument(..., help="Version number: 2 or v002."),
    project_dir: Path | None = PROJECT_OPTION,
    task: str | None = typer.Option(None, "--task", help="Task, when several share the version number."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Approve a delivered version: the next cut-in uses the latest approved version of each shot."""
    from posthouse.core.errors import UsageError
    from posthouse.core.project import Project
    from posthouse.finish.vfx import approve as approve_version

    text = version.lower().lstrip("v")
    if not text.isdigit():
        raise UsageError(f"version {version!r} is not a number", hint="write 2 or v002")
    project = Project.open(project_dir)
    row = approve_version(project.catalog, shot, int(text), task=task)
    if as_json:
        print_json(row.to_dict())
    else:
        console.print(f"approved {row.shot}_{row.task}_v{row.version:03d}", highlight=False)


@app.command("cutin")
@handle_errors
def cutin(
    cut: str = typer.Argument(..., help="CUT@vN (its conformed timeline when there is one) or a .otio."),
    project_dir: Path | None = PROJECT_OPTION,
    out: Path | None = typer.Option(None, "--out", help="Where to write (default finish/CUT_vNNN/vfx/...)."),
    shots_file: Path | None = typer.Option(None, "--shots", help="A pull's *_vfx_shots.json."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Cut the latest approved version of each VFX shot into the timeline (record range unchanged)."""
    from posthouse.core.project import Project
    from posthouse.finish.vfx import write_cut_in

    project = Project.open(project_dir)
    timeline, vfx_dir, stem = _open_cut(cut, project)
    if shots_file is None:
        own = vfx_dir / "pulls" / f"{stem}_vfx_shots.json"
        shots_file = own if own.is_file() else None
    shots = _all_shots(project, shots_file)
    dest = out or vfx_dir / f"{stem}_vfx.otio"
    report = write_cut_in(timeline, shots, project.catalog, dest, resolve=project.abspath)
    if as_json:
        print_json(report.to_dict())
        return
    for r in report.replaced:
        console.print(
            f"{r['shot']}: {r['task']} v{r['version']:03d} at {r['record_in']}–{r['record_out']}",
            highlight=False,
        )
    if report.not_approved:
        console.print(f"[dim]no approved version yet: {', '.join(report.not_approved)}[/]", highlight=False)
    for w in report.warnings:
        err_console.print(f"[yellow]warning:[/] {w}", highlight=False)
    console.print(f"wrote {dest}", highlight=False)


@app.command("list")
@handle_errors
def list_shots(
    project_dir: Path | None = PROJECT_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """The pulled VFX shots and every delivered version with its status."""
    from rich.table import Table

    from posthouse.core.project import Project

    project = Project.open(project_dir)
    shots = {s.shot: s for f in _shot_lists(project) for s in _load(f)}
    versions = project.catalog.vfx_versions()
    if as_json:
        data: dict[str, Any] = {
            "shots": [s.to_dict() for s in shots.values()],
            "versions": [v.to_dict() for v in versions],
        }
        print_json(data)
        return
    table = Table("shot", "record", "frames", "versions")
    for sid in sorted(set(shots) | {v.shot for v in versions}):
        s = shots.get(sid)
        vs = ", ".join(f"{v.task} v{v.version:03d} {v.status}" for v in versions if v.shot == sid)
        table.add_row(
            sid,
            f"{s.record_in}–{s.record_out}" if s else "",
            f"{s.first_frame}–{s.last_frame}" if s else "",
            vs or "—",
        )
    console.print(table)


def _load(path: Path) -> list[VfxShot]:
    from posthouse.finish.vfx import load_shot_list

    return load_shot_list(path)
