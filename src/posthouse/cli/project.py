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
    rescan: bool = typer.Option(False, "--rescan", help="Probe again even when a file looks unchanged."),
    cluster: str | None = typer.Option(
        None, "--cluster", envvar="POSTHOUSE_CLUSTER", help="Dask scheduler address (tcp://HOST:8786)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Probe media into the project catalog (parallel; unchanged files are skipped).

    Exit code 1 when some files are damaged or failed; they are listed and the rest are catalogued.
    """
    from posthouse.core.catalog.scan import scan_into_catalog
    from posthouse.core.errors import UsageError
    from posthouse.core.jobs import get_executor
    from posthouse.core.project import Project

    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise UsageError(f"no such file or folder: {', '.join(missing)}")
    project = Project.open(project_dir)
    with get_executor(cluster) as ex, rich_progress(not as_json) as progress:
        report = scan_into_catalog(
            project.catalog, paths, relpath=project.relpath, executor=ex, progress=progress, rescan=rescan
        )
    if as_json:
        print_json(report.to_dict())
    else:
        console.print(
            f"{len(report.added)} added, {len(report.updated)} updated, {len(report.unchanged)} unchanged"
        )
        for path, problems in report.damaged.items():
            console.print(f"[red]damaged[/] {path}: {'; '.join(problems)}", highlight=False)
        for path, message in report.failed.items():
            console.print(f"[red]failed[/] {path}: {message}", highlight=False)
    if not report.ok:
        raise typer.Exit(EXIT_PARTIAL)


@handle_errors
def catalog(
    project_dir: Path | None = PROJECT_OPTION,
    kind: str | None = typer.Option(None, "--kind", help="Only 'video' or 'audio'."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """List the media in the project catalog."""
    from rich.table import Table

    from posthouse.core.project import Project

    project = Project.open(project_dir)
    records = project.catalog.media(kind=kind)
    if as_json:
        print_json([r.to_dict() for r in records])
        return
    table = Table("path", "kind", "reel", "scene", "take", "start TC", "duration", "codec", "status")
    for r in records:
        dur = f"{r.frames} fr" if r.frames else (f"{r.samples} smp" if r.samples else "")
        status = "[red]damaged[/]" if r.damaged else "ok"
        table.add_row(
            r.path,
            r.kind,
            r.reel or "",
            r.scene or "",
            r.take or "",
            r.start_timecode or "",
            dur,
            r.codec or "",
            status,
        )
    console.print(table)
