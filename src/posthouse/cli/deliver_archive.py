"""`posthouse archive create|verify|restore`: the film's ASC MHL-sealed archive package."""

from __future__ import annotations

from pathlib import Path

import typer

from posthouse.cli.common import EXIT_PARTIAL, console, err_console, handle_errors, print_json
from posthouse.cli.project import PROJECT_OPTION

__all__ = ["app", "create", "restore", "verify"]

app = typer.Typer(help="Archive a locked cut: originals, editorial, sound, score, finish, deliverables.")


@app.command("create")
@handle_errors
def create(
    cut: str = typer.Argument(..., help="CUT@vN (a saved cut version; CUT alone means its latest)."),
    dest: Path = typer.Option(
        ..., "--dest", help="Folder to write NAME_archive/ into (outside the project)."
    ),
    name: str | None = typer.Option(None, "--name", help="Package name (default CUT_vNNN)."),
    handles: int = typer.Option(24, "--handles", min=0, help="Handle frames recorded around used ranges."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    project_dir: Path | None = PROJECT_OPTION,
) -> None:
    """Copy and verify everything the cut needs into DEST/NAME_archive/ and seal it with ASC MHL.

    Run again to resume an interrupted archive: files already copied and verified are skipped.
    """
    from posthouse.core.project import Project
    from posthouse.finish.archive import create_archive
    from posthouse.picture.cuts import CutRef, CutStore
    from posthouse.pipeline.track import track_stage

    project = Project.open(project_dir)
    ref = CutStore(project.root / "cuts").resolve(CutRef.parse(cut))
    assert ref.version is not None
    cut_file = project.root / "cuts" / ref.name / f"v{ref.version:03d}.otio"
    package = dest / f"{name or f'{ref.name}_v{ref.version:03d}'}_archive"
    with track_stage(project.root, "archive", [cut_file], {"handles": handles}, target=package) as run:
        report = create_archive(project.root, ref.name, ref.version, dest, name=name, handles=handles)
        if report.mhl is not None:  # the sealed manifest stands for the package (the MHL verifies it)
            run.outputs.append(report.mhl)
    data = report.to_dict()
    if as_json:
        print_json(data)
        return
    console.print(
        f"archive: {report.root}\n{data['files']} files, {data['bytes']:,} bytes "
        f"({report.copied} copied, {report.skipped} already verified)\nASC MHL: {report.mhl}",
        highlight=False,
    )
    for role, n in sorted(data["roles"].items()):
        console.print(f"  {role:<18} {n}", highlight=False)


@app.command("verify")
@handle_errors
def verify(
    archive: Path = typer.Argument(..., help="The NAME_archive folder."),
    record: bool = typer.Option(False, "--record", help="Add this verification to the ASC MHL history."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Re-hash every file against the ASC MHL history; exit code 1 when a file changed, is missing or new."""
    from posthouse.finish.archive import verify_archive

    check = verify_archive(archive, record=record)
    if as_json:
        print_json(check.to_dict())
    else:
        data = check.to_dict()
        console.print(f"{archive}: {data['verified']} files verified", highlight=False)
        for label in ("changed", "missing", "extra", "problems"):
            for item in data[label]:
                err_console.print(f"[red]{label}:[/] {item}", highlight=False)
        console.print("[green]OK[/]" if check.ok else "[red]FAILED[/]")
    if not check.ok:
        raise typer.Exit(EXIT_PARTIAL)


@app.command("restore")
@handle_errors
def restore(
    archive: Path = typer.Argument(..., help="The NAME_archive folder."),
    dest: Path = typer.Option(..., "--dest", help="Folder to restore the project layout into."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Verify the archive, copy its files back into a project layout under DEST and verify each copy."""
    from posthouse.finish.archive import restore_archive

    report = restore_archive(archive, dest)
    if as_json:
        print_json(report.to_dict())
    else:
        console.print(
            f"restored {len(report.restored)} files ({report.bytes:,} bytes) into {report.dest}",
            highlight=False,
        )
        for item in report.failed:
            err_console.print(f"[red]failed:[/] {item}", highlight=False)
    if not report.ok:
        raise typer.Exit(EXIT_PARTIAL)
