"""`posthouse qc FILE`: automated QC of a master against a delivery spec, as HTML and JSON reports."""

from __future__ import annotations

from pathlib import Path

import typer

from posthouse.cli.common import EXIT_PARTIAL, console, handle_errors, print_json
from posthouse.cli.project import PROJECT_OPTION

__all__ = ["qc"]


@handle_errors
def qc(
    file: Path = typer.Argument(..., help="The master movie to check (read only)."),
    spec: str = typer.Option(
        "netflix", "--spec", help="Preset (netflix, ebu-r128, dci-dcp, apple-hls) or a spec .toml file."
    ),
    subtitles: Path | None = typer.Option(
        None, "--subtitles", help="Subtitles (SRT, WebVTT or TTML) to check with it."
    ),
    out: Path | None = typer.Option(
        None,
        "--out",
        help="Folder for FILE_qc.html/.json (default PROJECT/deliver/qc, else the working folder).",
    ),
    programme_start: str | None = typer.Option(
        None, "--programme-start", help="Timecode where the programme starts (bars, slate, leader before it)."
    ),
    programme_end: str | None = typer.Option(
        None, "--programme-end", help="Timecode of the first frame after the programme."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    project_dir: Path | None = PROJECT_OPTION,
) -> None:
    """Check picture, sound and subtitles in one decode pass; exit code 1 when any check fails."""
    from posthouse.cli.common import rich_progress
    from posthouse.core.errors import ProjectError
    from posthouse.core.project import find_project_root
    from posthouse.finish.qc import run_qc, write_reports
    from posthouse.finish.qc_subs import read_srt
    from posthouse.sound.loudness import LoudnessMeter

    cues = read_srt(subtitles) if subtitles is not None else None
    if out is None:
        try:
            out = find_project_root(project_dir) / "deliver" / "qc"
        except ProjectError:
            out = Path.cwd()
    with rich_progress(enabled=not as_json) as progress:
        started = False

        def tick(done: int, total: int) -> None:
            nonlocal started
            if not started:
                progress.start(f"QC {file.name}", total or None)
                started = True
            progress.advance()

        report = run_qc(
            file,
            spec,
            subtitles=cues,
            loudness_fn=LoudnessMeter,
            progress=tick,
            programme_start=programme_start,
            programme_end=programme_end,
        )
        progress.finish()
    j, h = write_reports(report, out)
    if as_json:
        print_json({**report.to_dict(), "html": str(h), "json": str(j)})
    else:
        verdict = "[red]FAIL[/]" if report.failed else "[green]PASS[/]"
        console.print(f"QC {file.name} against {report.spec}: {verdict}", highlight=False)
        for c in report.checks:
            if c.status in ("fail", "warn"):
                measured = f"{c.measured:.2f}" if isinstance(c.measured, float) else c.measured
                console.print(
                    f"  {c.status:<5} {c.category}/{c.name}: {measured} (spec {c.expected}) {c.message}",
                    highlight=False,
                )
        for e in report.events[:30]:
            console.print(f"  {e.start_tc}–{e.end_tc}  {e.check:<16} {e.detail}", highlight=False)
        if len(report.events) > 30:
            console.print(f"  … {len(report.events) - 30} more in the report", highlight=False)
        console.print(f"reports: {h}\n         {j}", highlight=False)
    if report.failed:
        raise typer.Exit(EXIT_PARTIAL)
