"""`posthouse qc FILE`: automated QC of a master (or of a DCP folder) against a delivery spec, as HTML and
JSON reports; `--guide` adds sync against the editor's guide track."""

from __future__ import annotations

from pathlib import Path

import typer

from posthouse.cli.common import EXIT_PARTIAL, console, handle_errors, print_json
from posthouse.cli.project import PROJECT_OPTION

__all__ = ["qc"]


@handle_errors
def qc(
    file: Path = typer.Argument(..., help="The master movie, or a DCP folder, to check (read only)."),
    spec: str | None = typer.Option(
        None,
        "--spec",
        help="Preset (netflix, ebu-r128, dci-dcp, apple-hls) or a spec .toml file "
        "(default: netflix for a file, dci-dcp for a DCP folder).",
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
    guide: Path | None = typer.Option(
        None,
        "--guide",
        help="The editor's guide track (WAV or reference movie) to check sync against, window by window.",
    ),
    guide_lead: float | None = typer.Option(
        None,
        "--guide-lead",
        help="Seconds of guide before the programme's first frame (default: from both timecodes, else 0).",
    ),
    full_decode: bool = typer.Option(
        False,
        "--full-decode",
        help="DCP: decode every JPEG 2000 resolution level for the picture checks (about 10x slower).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    project_dir: Path | None = PROJECT_OPTION,
) -> None:
    """Check picture, sound and subtitles in one decode pass; exit code 1 when any check fails."""
    from posthouse.cli.common import rich_progress
    from posthouse.core.errors import ProjectError, UsageError
    from posthouse.core.project import find_project_root
    from posthouse.finish.qc import run_qc, write_reports
    from posthouse.finish.qc_dcp import is_dcp, run_dcp_qc
    from posthouse.finish.qc_subs import read_srt
    from posthouse.pipeline.track import track_stage
    from posthouse.sound.loudness import LoudnessMeter

    cues = read_srt(subtitles) if subtitles is not None else None
    if out is None:
        try:
            out = find_project_root(project_dir) / "deliver" / "qc"
        except ProjectError:
            out = Path.cwd()
    settings = {
        "spec": spec,
        "programme": [programme_start, programme_end],
        "guide_lead": guide_lead,
        "full_decode": full_decode,
    }
    spec_file = Path(spec) if spec and spec.endswith(".toml") else None
    inputs = [file, subtitles, guide, spec_file]
    with track_stage(project_dir, "qc", inputs, settings, target=f"qc:{file.resolve()}") as run:
        with rich_progress(enabled=not as_json) as progress:
            started = False

            def tick(done: int, total: int) -> None:
                nonlocal started
                if not started:
                    progress.start(f"QC {file.name}", total or None)
                    started = True
                progress.advance()

            if file.is_dir():
                if not is_dcp(file):
                    raise UsageError("a folder must be a DCP (with an ASSETMAP)", path=file)
                if subtitles is not None or guide is not None or programme_start or programme_end:
                    raise UsageError(
                        "--subtitles, --guide and --programme-* apply to a master file, not a DCP", path=file
                    )
                report = run_dcp_qc(
                    file, spec or "dci-dcp", loudness_fn=LoudnessMeter, progress=tick, full_decode=full_decode
                )
            else:
                report = run_qc(
                    file,
                    spec or "netflix",
                    subtitles=cues,
                    loudness_fn=LoudnessMeter,
                    progress=tick,
                    programme_start=programme_start,
                    programme_end=programme_end,
                    guide=guide,
                    guide_lead_s=guide_lead,
                )
            progress.finish()
        j, h = write_reports(report, out, file.name if file.is_dir() else None)
        run.outputs += [j, h]
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
