"""`posthouse subtitles IN.srt|IN.vtt|script.json --to srt,vtt,ttml,dcp`: subtitle deliverables, QC'd."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from posthouse.cli.common import EXIT_PARTIAL, console, handle_errors, print_json
from posthouse.cli.project import PROJECT_OPTION

__all__ = ["subtitles"]


def _deliver_dir(project_dir: Path | None, source: Path) -> Path:
    """PROJECT/deliver/subtitles when a project is found, else the input's folder."""
    from posthouse.core.project import Project

    try:
        return Project.open(project_dir).root / "deliver" / "subtitles"
    except Exception:  # a bare subtitle file needs no project
        return source.resolve().parent


@handle_errors
def subtitles(
    source: Path = typer.Argument(..., help="Subtitles (.srt, .vtt, .ttml) or a timed script (.json)."),
    to: str = typer.Option("srt,vtt,ttml,dcp", "--to", help="Comma-separated formats: srt, vtt, ttml, dcp."),
    rate: str = typer.Option("24", "--rate", help="Picture frame rate (e.g. 23.976, 24, 25)."),
    language: str = typer.Option("en", "--language", help="Language tag (BCP 47 / RFC 5646), e.g. en, fr."),
    title: str | None = typer.Option(
        None, "--title", help="Content title (DCP ContentTitleText, TTML title)."
    ),
    ttml_time: str = typer.Option("media", "--ttml-time", help="TTML times: media (HH:MM:SS.mmm) or frames."),
    out: Path | None = typer.Option(
        None, "--out", help="Output folder (default PROJECT/deliver/subtitles/, or the input's folder)."
    ),
    strict: bool = typer.Option(False, "--strict", help="Exit 1 when QC finds an error."),
    project_dir: Path | None = PROJECT_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Convert subtitles or a timed script into SRT, WebVTT, IMSC1 TTML and DCP timed text, and QC them
    (reading speed, line length, lines, duration, gaps, overlaps)."""
    from dataclasses import replace

    from rich.table import Table

    from posthouse.core.errors import UsageError
    from posthouse.core.time import Rate
    from posthouse.finish.subtitle_formats import EXTENSIONS, FORMATS, read_subtitles, write_subtitles
    from posthouse.finish.subtitles import SubtitleRules, check_subtitles
    from posthouse.pipeline.track import track_stage

    formats = [f.strip().lower() for f in to.split(",") if f.strip()]
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise UsageError(f"unknown format(s) {', '.join(bad) or '(none)'}", hint=f"--to {','.join(FORMATS)}")
    if ttml_time not in ("media", "frames"):
        raise UsageError(f"--ttml-time must be media or frames, not {ttml_time!r}")
    if not source.is_file():
        raise UsageError("no such file", path=source)
    fps = Rate.parse(rate)
    rules = SubtitleRules()
    track = read_subtitles(source, language=language, rate=fps, rules=rules)
    track = replace(track, language=language, rate=fps, title=title or track.title or source.stem)
    dest_dir = out or _deliver_dir(project_dir, source)
    written: dict[str, str] = {}
    settings = {"formats": formats, "rate": str(fps), "language": language, "title": title, "ttml": ttml_time}
    target = f"subtitles:{dest_dir.resolve() / f'{source.stem}_{language}'}"
    with track_stage(project_dir, "subtitles", [source], settings, target=target) as run:
        for fmt in formats:
            dest = dest_dir / f"{source.stem}_{language}{EXTENSIONS[fmt]}"
            if dest.resolve() == source.resolve():
                raise UsageError("would overwrite the input", path=dest, hint="pass --out to another folder")
            write_subtitles(track, fmt, dest, ttml_time="frames" if ttml_time == "frames" else "media")
            written[fmt] = str(dest)
            run.outputs.append(dest)
    issues = check_subtitles(track, rules)
    errors = sum(1 for i in issues if i.severity == "error")
    result: dict[str, Any] = {
        "source": str(source),
        "language": language,
        "rate": str(fps),
        "cues": len(track.cues),
        "outputs": written,
        "rules": rules.to_dict(),
        "qc": {"errors": errors, "warnings": len(issues) - errors, "issues": [i.to_dict() for i in issues]},
    }
    if as_json:
        print_json(result)
    else:
        console.print(f"{len(track.cues)} cues from {source} ({language}, {fps} fps)", highlight=False)
        for fmt, path in written.items():
            console.print(f"  {fmt:5s} {path}", highlight=False, soft_wrap=True)
        if issues:
            table = Table("cue", "timecode", "check", "severity", "detail")
            for i in issues:
                colour = "red" if i.severity == "error" else "yellow"
                table.add_row(str(i.cue), i.timecode, i.kind, f"[{colour}]{i.severity}[/]", i.message)
            console.print(table)
        console.print(f"QC: {errors} error(s), {len(issues) - errors} warning(s)", highlight=False)
    if strict and errors:
        raise typer.Exit(EXIT_PARTIAL)
