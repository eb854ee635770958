"""`posthouse sync` and `posthouse dailies`: pair picture with sound, then render the dailies."""

from __future__ import annotations

from pathlib import Path

import typer

from posthouse.cli.common import EXIT_PARTIAL, console, handle_errors, print_json, rich_progress
from posthouse.cli.project import PROJECT_OPTION

CLUSTER = typer.Option(
    None,
    "--cluster",
    envvar="POSTHOUSE_CLUSTER",
    help="Dask scheduler address (tcp://HOST:8786); default: local processes.",
)
METHODS = ("auto", "timecode", "waveform", "slate")


@handle_errors
def sync(
    project_dir: Path | None = PROJECT_OPTION,
    method: str = typer.Option("auto", "--method", help="auto, timecode, waveform or slate."),
    jam_offset: int = typer.Option(
        0, "--jam-offset", help="Known recorder-minus-camera timecode offset, samples."
    ),
    otio_out: Path | None = typer.Option(None, "--otio", help="Write the synced takes as OTIO timelines."),
    ale: Path | None = typer.Option(None, "--ale", help="Write an ALE with the sync columns."),
    cluster: str | None = CLUSTER,
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Sync every camera clip in the catalog with its production sound.

    Per take: method, offset in samples (the sound sample under the first picture frame), drift in ppm,
    confidence and status (synced, conflict, unsynced). Exit code 1 when any take is not synced.
    """
    from posthouse.core.errors import UsageError
    from posthouse.core.jobs import get_executor
    from posthouse.core.project import Project
    from posthouse.picture.syncing import run_sync, synced_takes, write_takes_ale, write_takes_otio

    if method not in METHODS:
        raise UsageError(f"unknown sync method '{method}'", hint=f"use one of {', '.join(METHODS)}")
    project = Project.open(project_dir)
    with get_executor(cluster) as ex, rich_progress(not as_json) as progress:
        results = run_sync(
            project, method=method, jam_offset_samples=jam_offset, executor=ex, progress=progress
        )
    takes = synced_takes(project)
    if otio_out is not None:
        write_takes_otio(project, takes, otio_out)
    if ale is not None:
        write_takes_ale(project, [t for t in takes if not t.picture.damaged], ale)
    if as_json:
        print_json([r.to_dict() for r in results])
    else:
        from rich.table import Table

        table = Table(
            "take", "picture", "method", "offset (samples)", "frames", "drift ppm", "conf.", "status"
        )
        for r in results:
            colour = {"synced": "green", "conflict": "yellow"}.get(r.status, "red")
            table.add_row(
                r.take,
                r.picture.name,
                r.method,
                "" if r.offset_samples is None else str(r.offset_samples),
                "" if r.offset_frames is None else f"{r.offset_frames:.2f}",
                "" if r.drift_ppm is None else f"{r.drift_ppm:+.1f}",
                f"{r.confidence:.2f}",
                f"[{colour}]{r.status}[/]",
            )
        console.print(table)
        for r in results:
            for note in r.notes:
                console.print(f"  {r.take} {r.picture.name}: {note}", highlight=False)
    if any(r.status != "synced" for r in results):
        raise typer.Exit(EXIT_PARTIAL)


@handle_errors
def dailies(
    project_dir: Path | None = PROJECT_OPTION,
    out: Path | None = typer.Option(None, "--out", help="Output folder (default: PROJECT/dailies)."),
    lut: Path | None = typer.Option(None, "--lut", help="Show LUT (.cube) applied through OpenColorIO."),
    cdl: Path | None = typer.Option(
        None, "--cdl", help="ASC CDL (.cdl, .cc or .ccc) applied before the LUT."
    ),
    nle: bool = typer.Option(False, "--nle", help="Also write DNxHR LB .mov files for the editor."),
    cluster: str | None = CLUSTER,
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Render H.264 dailies with synced sound, burn-ins and the show LUT/CDL; write the dailies report.

    Exit code 1 when a take failed to render (the others are still made).
    """
    from posthouse.core.errors import UsageError
    from posthouse.core.jobs import get_executor
    from posthouse.core.project import Project
    from posthouse.picture.dailies_project import run_dailies
    from posthouse.pipeline.lineage import Lineage

    for f in (lut, cdl):
        if f is not None and not f.is_file():
            raise UsageError("file not found", path=f)
    project = Project.open(project_dir)
    lineage = Lineage(project.catalog, upgrade=False)
    with (
        lineage.batch_job("dailies", 0) as counts,  # the job log: render hours for the cost report
        get_executor(cluster) as ex,
        rich_progress(not as_json) as progress,
    ):
        run = run_dailies(project, out, lut=lut, cdl=cdl, nle=nle, executor=ex, progress=progress)
        counts["total"], counts["failed"] = len(run.outputs), len(run.failed)
    if as_json:
        print_json(run.to_dict())
    else:
        done = [o for o in run.outputs if not o.error]
        console.print(f"{len(done)} dailies in {run.out_dir}; report: {run.report}")
        for fault in run.faults:
            console.print(f"  [yellow]{fault}[/]", highlight=False)
    if run.failed:
        raise typer.Exit(EXIT_PARTIAL)
