"""`posthouse farm …` (the render farm on Dask: scheduler, workers, chunked jobs) and `posthouse status`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from posthouse.cli.common import EXIT_PARTIAL, console, err_console, handle_errors, print_json, rich_progress
from posthouse.cli.project import PROJECT_OPTION

__all__ = [
    "FARM_OPTION",
    "app",
    "farm_dcp",
    "farm_info",
    "farm_qc",
    "farm_render",
    "open_lineage",
    "scheduler",
    "status",
    "worker",
]

FARM_OPTION = typer.Option(
    None,
    "--farm",
    envvar="POSTHOUSE_CLUSTER",
    help="Dask scheduler address (tcp://HOST:8786); default: worker processes on this machine.",
)

app = typer.Typer(
    help="The render farm: a Dask scheduler and render nodes, and chunked jobs that resume.",
    no_args_is_help=True,
)


def open_lineage(project_dir: Path | None, *, required: bool = False) -> Any:
    """The lineage of the project at or above ``project_dir`` (``None`` outside a project unless
    ``required``, which raises the ProjectError instead)."""
    from posthouse.core.errors import ProjectError
    from posthouse.core.project import Project
    from posthouse.pipeline.lineage import Lineage

    try:
        project = Project.open(project_dir)
    except ProjectError:
        if required:
            raise
        return None
    return Lineage(project.catalog)


@app.command("scheduler")
@handle_errors
def scheduler(
    port: int = typer.Option(8786, "--port", help="Port the scheduler listens on."),
    host: str | None = typer.Option(None, "--host", help="Interface to listen on (default: all)."),
) -> None:
    """Run the farm's scheduler until Ctrl-C; render nodes join it with `posthouse farm worker`."""
    from posthouse.pipeline.farm import run_scheduler

    def ready(address: str) -> None:
        err_console.print(f"farm scheduler listening at [bold]{address}[/]  (POSTHOUSE_CLUSTER={address})")

    run_scheduler(host=host, port=port, ready=ready)


@app.command("worker")
@handle_errors
def worker(
    address: str = typer.Argument(..., help="The scheduler's address, e.g. tcp://render01:8786."),
    nthreads: int = typer.Option(1, "--nthreads", help="Chunks this node runs at once."),
    name: str | None = typer.Option(None, "--name", help="Worker name (default: its address)."),
    timeout: float = typer.Option(30.0, "--timeout", help="Seconds to wait for the scheduler."),
) -> None:
    """Run one render node for the scheduler at ADDRESS until Ctrl-C (restarted if its process dies)."""
    from posthouse.pipeline.farm import run_worker

    def ready(worker_address: str) -> None:
        err_console.print(f"render node {worker_address} joined {address} ({nthreads} thread(s))")

    run_worker(address, nthreads=nthreads, name=name, connect_timeout=timeout, ready=ready)


@app.command("info")
@handle_errors
def farm_info(
    address: str = typer.Argument(..., help="The scheduler's address."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """List the render nodes connected to the scheduler at ADDRESS."""
    from posthouse.pipeline.farm import farm_info as info

    data = info(address)
    if as_json:
        print_json(data)
        return
    console.print(f"scheduler {data['scheduler']}: {len(data['workers'])} render node(s)")
    for addr, threads in data["workers"].items():
        console.print(f"  {addr}  {threads} thread(s)")


def _report(result: Any, as_json: bool) -> None:
    if as_json:
        print_json(result.to_dict())
    elif result.state == "fresh":
        console.print(f"{result.output}: up to date (inputs and settings unchanged), nothing to do")
    else:
        console.print(
            f"{result.output}: {result.frames} frames in {result.chunks} chunks "
            f"({len(result.ran)} rendered, {len(result.reused)} reused from an earlier run)"
        )


@app.command("dcp")
@handle_errors
def farm_dcp(
    master: Path = typer.Argument(..., help="Graded master movie (display RGB, fits the 2K container)."),
    out_dir: Path = typer.Argument(..., help="Folder for the NNNNNN.j2c frames."),
    fps: int = typer.Option(24, "--fps", help="DCP frame rate (24, 25, 30, 48)."),
    source: str = typer.Option("rec709", "--source", help="Master colour: rec709, srgb or p3d65."),
    chunk: int = typer.Option(24, "--chunk", help="Frames per chunk."),
    force: bool = typer.Option(False, "--force", help="Encode again even when nothing changed."),
    farm: str | None = FARM_OPTION,
    project_dir: Path | None = PROJECT_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Encode a master to JPEG 2000 cinema 2K frames in chunks on the farm; resumes when killed.

    Inside a project the run is recorded in the catalog: an unchanged re-run does nothing.
    """
    from posthouse.pipeline.chunks import encode_dcp_picture
    from posthouse.pipeline.farm import get_farm_executor

    lineage = open_lineage(project_dir)
    with get_farm_executor(farm) as ex, rich_progress(not as_json) as progress:
        result = encode_dcp_picture(
            master,
            out_dir,
            fps=fps,
            source=source,
            chunk_frames=chunk,
            executor=ex,
            lineage=lineage,
            force=force,
            progress=progress,
        )
    _report(result, as_json)


@app.command("render")
@handle_errors
def farm_render(
    timeline: Path = typer.Argument(..., help="The .otio timeline to render."),
    out: Path = typer.Argument(..., help="Output movie (.mov)."),
    preset: str = typer.Option("prores-hq", "--preset", help="An intra-frame preset (ProRes or DNxHR)."),
    size: str | None = typer.Option(None, "--size", help="WIDTHxHEIGHT (default: the first source's)."),
    chunk: int = typer.Option(48, "--chunk", help="Frames per chunk."),
    force: bool = typer.Option(False, "--force", help="Render again even when nothing changed."),
    farm: str | None = FARM_OPTION,
    project_dir: Path | None = PROJECT_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Render a timeline in chunks on the farm and join them exactly (segments remuxed, sound mixed)."""
    from posthouse.core.project import parse_resolution
    from posthouse.pipeline.chunks import render_timeline_chunked
    from posthouse.pipeline.farm import get_farm_executor

    lineage = open_lineage(project_dir)
    dims = parse_resolution(size) if size else None
    with get_farm_executor(farm) as ex, rich_progress(not as_json) as progress:
        result = render_timeline_chunked(
            timeline,
            out,
            preset=preset,
            size=dims,
            chunk_frames=chunk,
            executor=ex,
            lineage=lineage,
            force=force,
            progress=progress,
        )
    _report(result, as_json)


@app.command("qc")
@handle_errors
def farm_qc(
    files: list[Path] = typer.Argument(..., help="Movies to check."),
    out: Path = typer.Option(Path("qc"), "--out", "-o", help="Folder for the STEM_qc.json/.html reports."),
    spec: str = typer.Option("netflix", "--spec", help="QC spec: a preset name or a TOML file."),
    force: bool = typer.Option(False, "--force", help="Check again even when nothing changed."),
    farm: str | None = FARM_OPTION,
    project_dir: Path | None = PROJECT_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """QC many files on the farm, one file a task; inside a project unchanged files are not checked again.

    Exit code 1 when a file fails QC or cannot be read (the others are still checked).
    """
    from posthouse.pipeline.farm import farm_qc as run
    from posthouse.pipeline.farm import get_farm_executor

    lineage = open_lineage(project_dir)
    with get_farm_executor(farm) as ex, rich_progress(not as_json) as progress:
        entries = run(files, out, spec=spec, executor=ex, lineage=lineage, force=force, progress=progress)
    if as_json:
        print_json(entries)
    else:
        for e in entries:
            state = e.get("error") or e["result"] + (
                " (unchanged since the last QC)" if e.get("fresh") else ""
            )
            console.print(f"{e['path']}: {state}", highlight=False, soft_wrap=True)
    if any("error" in e or e.get("result") == "fail" for e in entries):
        raise typer.Exit(EXIT_PARTIAL)


@handle_errors
def status(
    project_dir: Path | None = PROJECT_OPTION,
    stage: str | None = typer.Option(None, "--stage", help="Only this stage (e.g. dcp-picture, render)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Show every recorded stage run and whether it is fresh, stale (inputs or outputs changed) or
    unfinished (killed: a re-run resumes). Exit code 1 when anything is stale or unfinished."""
    from rich.table import Table

    from posthouse.pipeline.status import stage_status

    lineage = open_lineage(project_dir, required=True)
    rows = stage_status(lineage, stage=stage)
    if as_json:
        print_json([r.to_dict() for r in rows])
    elif not rows:
        console.print("no stage has run in this project yet")
    else:
        table = Table("stage", "target", "state", "why")
        table.columns[1].overflow = "fold"
        colours = {"fresh": "green", "stale": "yellow", "unfinished": "red"}
        for r in rows:
            why = "; ".join(r.reasons[:3]) + (
                f"; and {len(r.reasons) - 3} more" if len(r.reasons) > 3 else ""
            )
            table.add_row(r.stage, r.target, f"[{colours[r.state]}]{r.state}[/]", why)
        console.print(table)
    if any(r.stale for r in rows):
        raise typer.Exit(EXIT_PARTIAL)
