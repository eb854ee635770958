"""`posthouse init`, `posthouse scan` and `posthouse catalog`: the project and what it holds."""

from __future__ import annotations

from pathlib import Path

import typer

from posthouse.cli.common import EXIT_PARTIAL, console, handle_errors, print_json, rich_progress

PROJECT_OPTION = typer.Option(
    None,
    "--project",
    "-p",
    envvar="POSTHOUSE_PROJECT",
    help="Project folder (default: found from the working directory).",
)


@handle_errors
def init(
    directory: Path = typer.Argument(..., help="Folder for the new project (created if missing)."),
    fps: str = typer.Option(
        "24", "--fps", help="Project frame rate: 23.976, 24, 25, 29.97, 30, 48, 50, 59.94, 60."
    ),
    resolution: str = typer.Option("1920x1080", "--resolution", help="Picture size WIDTHxHEIGHT."),
    name: str | None = typer.Option(None, "--name", help="Project name (default: the folder name)."),
    drop_frame: bool = typer.Option(False, "--drop-frame", help="Drop-frame timecode (29.97 / 59.94 only)."),
    catalog_url: str | None = typer.Option(
        None, "--catalog-url", help="SQLAlchemy URL of a shared catalog (default: SQLite in the project)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Create a project: posthouse.toml, the catalog database and the stage folders."""
    from posthouse.core.project import Project

    project = Project.init(
        directory, fps=fps, resolution=resolution, name=name, drop_frame=drop_frame, catalog_url=catalog_url
    )
    if as_json:
        print_json(project.describe())
    else:
        console.print(
            f"created project [bold]{project.config.name}[/] in {project.root} "
            f"({project.config.fps} fps, {project.config.resolution})"
        )


@handle_errors
def scan(
    paths: list[Path] = typer.Argument(..., help="Files or folders of camera and sound media."),
    project_dir: Path | None = PROJECT_OPTION,
    report: list[Path] = typer.Option(
        [], "--report", help="Camera or sound report CSV (repeatable; reports inside PATHS are found too)."
    ),
    rescan: bool = typer.Option(False, "--rescan", help="Probe again even when a file looks unchanged."),
    cluster: str | None = typer.Option(
        None, "--cluster", envvar="POSTHOUSE_CLUSTER", help="Dask scheduler address (tcp://HOST:8786)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Probe media into the project catalog and log it (scene, take, camera, reel, circled, day).

    Metadata comes from the files (camera tags, BWF/iXML), then the reports, then the file names
    (patterns in posthouse.toml [metadata] filename_patterns). Unchanged files are not probed again.
    Exit code 1 when some files are damaged or failed; they are listed and the rest are catalogued.
    """
    from posthouse.core.errors import UsageError
    from posthouse.core.jobs import get_executor
    from posthouse.core.project import Project
    from posthouse.picture.logging import log_media

    missing = [str(p) for p in [*paths, *report] if not p.exists()]
    if missing:
        raise UsageError(f"no such file or folder: {', '.join(missing)}")
    project = Project.open(project_dir)
    with get_executor(cluster) as ex, rich_progress(not as_json) as progress:
        result = log_media(project, paths, reports=report, executor=ex, progress=progress, rescan=rescan)
    _print_scan(result, as_json)
    if not result.ok:
        raise typer.Exit(EXIT_PARTIAL)


def _print_scan(report: object, as_json: bool) -> None:
    from posthouse.core.catalog.scan import ScanReport

    assert isinstance(report, ScanReport)
    if as_json:
        print_json(report.to_dict())
        return
    console.print(
        f"{len(report.added)} added, {len(report.updated)} updated, {len(report.unchanged)} unchanged"
    )
    for path, problems in report.damaged.items():
        console.print(f"[red]damaged[/] {path}: {'; '.join(problems)}", highlight=False)
    for path, message in report.failed.items():
        console.print(f"[red]failed[/] {path}: {message}", highlight=False)


@handle_errors
def catalog(
    project_dir: Path | None = PROJECT_OPTION,
    scene: str | None = typer.Option(None, "--scene", help="Only this scene (e.g. 12A)."),
    camera: str | None = typer.Option(None, "--camera", help="Only this camera (e.g. A)."),
    day: str | None = typer.Option(None, "--day", help="Only this shoot day (YYYY-MM-DD)."),
    kind: str | None = typer.Option(None, "--kind", help="Only 'video' or 'audio'."),
    ale: Path | None = typer.Option(None, "--ale", help="Also write the selected picture clips as an ALE."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """List the media in the project catalog; export an ALE (Avid Log Exchange) of a day's clips."""
    from rich.table import Table

    from posthouse.core.project import Project
    from posthouse.picture.bins import select_media

    project = Project.open(project_dir)
    records = [
        r
        for r in select_media(project.catalog, scene=scene, camera=camera, day=day)
        if not kind or r.kind == kind
    ]
    if ale is not None:
        from posthouse.picture.syncing import synced_takes, write_takes_ale

        takes = synced_takes(project, [r for r in records if r.role == "picture" and not r.damaged])
        write_takes_ale(project, takes, ale)
        if not as_json:
            console.print(f"ALE of {len(takes)} clips written to {ale}")
    if as_json:
        print_json([r.to_dict() for r in records])
        return
    table = Table(
        "path", "kind", "camera", "reel", "scene", "take", "★", "start TC", "end TC", "day", "status"
    )
    for r in records:
        status = "[red]damaged[/]" if r.damaged else "ok"
        table.add_row(
            r.path,
            r.kind,
            r.camera or "",
            r.reel or "",
            r.scene or "",
            r.take or "",
            "★" if r.circled else "",
            r.start_timecode or "",
            r.end_timecode or "",
            r.shoot_day or "",
            status,
        )
    console.print(table)


@handle_errors
def bins(
    by: str = typer.Argument("scene", help="scene, camera, day or reel."),
    project_dir: Path | None = PROJECT_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Show the catalog in bins: by scene, camera, shoot day or reel."""
    from posthouse.core.project import Project
    from posthouse.picture.bins import make_bins

    project = Project.open(project_dir)
    grouped = make_bins(project.catalog, by)
    if as_json:
        print_json({k: [r.path for r in v] for k, v in grouped.items()})
        return
    for name, records in grouped.items():
        console.print(f"[bold]{by} {name}[/] ({len(records)})")
        for r in records:
            flag = " ★" if r.circled else ""
            console.print(f"  {r.path}{flag}", highlight=False)
