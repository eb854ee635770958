"""`posthouse sound export` and `posthouse sound import-stems`: DAW interchange for a sound session."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from posthouse.cli.common import EXIT_PARTIAL, console, err_console, handle_errors, print_json, rich_progress
from posthouse.cli.project import PROJECT_OPTION
from posthouse.cli.sound_session import SESSION_ARG

__all__ = ["export", "import_stems"]


def _package_name(session_path: Path) -> str:
    """``CUT_vNNN`` for a project session (``…/sound/CUT_vNNN/session.otio``), else the file's stem."""
    return session_path.parent.name if session_path.name == "session.otio" else session_path.stem


@handle_errors
def export(
    session: str = SESSION_ARG,
    formats: str = typer.Option("aaf,otio", "--format", help="Comma-separated: aaf, otio."),
    handles: str = typer.Option("2", "--handles", help="Handle length each side of every clip, seconds."),
    embed: bool = typer.Option(False, "--embed", help="Embed the audio in the AAF instead of linking WAVs."),
    project_dir: Path | None = PROJECT_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Export the session's sound for Pro Tools / Nuendo: BWF media with handles, an OTIO and an AAF in
    SESSION_DIR/daw/NAME/."""
    from fractions import Fraction

    from posthouse.cli.sound_session import open_session
    from posthouse.core.errors import UsageError
    from posthouse.sound.daw import export_session

    try:
        handle = Fraction(handles.strip())
    except (ValueError, ZeroDivisionError):
        raise UsageError(
            f"--handles {handles!r} is not a number of seconds", hint="e.g. --handles 2"
        ) from None
    timeline, path, _ = open_session(session, project_dir)
    name = _package_name(path)
    out = path.parent / "daw" / name
    with rich_progress(not as_json) as progress:
        result = export_session(
            timeline,
            out,
            name=name,
            formats=formats.split(","),
            handles=handle,
            embed=embed,
            progress=progress,
        )
    if as_json:
        print_json(result.to_dict())
        return
    console.print(
        f"[bold]{len(result.clips)}[/] clips consolidated in {out / 'media'}", highlight=False, soft_wrap=True
    )
    for label, p in (("OTIO", result.otio_path), ("AAF", result.aaf_path)):
        if p is not None:
            console.print(f"{label}: {p}", highlight=False, soft_wrap=True)
    console.print(f"timeline start {result.record_start}", highlight=False)
    for w in result.warnings:
        err_console.print(f"[yellow]warning:[/] {w}", highlight=False, soft_wrap=True)


def _row(s: dict[str, Any]) -> list[str]:
    def fr(x: float | None) -> str:
        return "—" if x is None else f"{x:+.2f}"

    status = "[green]accepted[/]" if s["accepted"] else "[red]rejected[/]"
    return [
        s["name"],
        s["kind"] or "?",
        s["layout"] or "?",
        str(len(s["files"])),
        fr(s["length_diff_frames"]),
        fr(s["offset_frames"]),
        str(len(s["clipping"])),
        status,
    ]


@handle_errors
def import_stems(
    session: str = SESSION_ARG,
    files: list[Path] = typer.Argument(
        ..., help="Stem WAVs (interleaved, or mono files .L .R .C .LFE .Ls .Rs)."
    ),
    project_dir: Path | None = PROJECT_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Check delivered stems against the cut (48 kHz, 24-bit, layout, length ±1 frame, TimeReference at the
    record start, clipping) and record the accepted ones in SESSION_DIR/stems.json.

    Exit code 1 when any stem is rejected (the others are still recorded).
    """
    from rich.table import Table

    from posthouse.cli.sound_session import open_session
    from posthouse.sound.stems import import_stems as run_import

    timeline, path, _ = open_session(session, project_dir)
    with rich_progress(not as_json) as progress:
        report = run_import(timeline, files, session_dir=path.parent, progress=progress)
    data = report.to_dict()
    if as_json:
        print_json(data)
    else:
        table = Table("stem", "kind", "layout", "files", "len Δ fr", "offset fr", "clip", "status")
        for column in table.columns:
            column.overflow = "fold"
        for s in data["stems"]:
            table.add_row(*_row(s))
        console.print(table)
        for s in data["stems"]:
            for p in s["problems"]:
                err_console.print(f"[red]{s['name']}:[/] {p}", highlight=False, soft_wrap=True)
            for w in s["warnings"]:
                err_console.print(f"[yellow]{s['name']}:[/] {w}", highlight=False, soft_wrap=True)
        console.print(f"manifest: {report.manifest}", highlight=False, soft_wrap=True)
    if report.rejected:
        raise typer.Exit(EXIT_PARTIAL)
