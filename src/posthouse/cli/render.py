"""`posthouse render CUT[@vN] -o OUT`: a cut version rendered to a movie by the engine."""

from __future__ import annotations

from pathlib import Path

import typer

from posthouse.cli.common import EXIT_PARTIAL, console, handle_errors, print_json, rich_progress
from posthouse.cli.project import PROJECT_OPTION


@handle_errors
def render(
    cut: str = typer.Argument(..., help="CUT or CUT@vN (the latest version when no version is given)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output movie (.mp4 for h264, .mov for ProRes)."),
    preset: str = typer.Option("h264", "--preset", help="h264 (review), prores-hq (mezzanine), …"),
    size: str | None = typer.Option(None, "--size", help="WIDTHxHEIGHT (default: the first source's)."),
    burn_in: bool = typer.Option(
        True, "--burn-in/--no-burn-in", help="Record/source TC, clip name, version."
    ),
    subtitles: Path | None = typer.Option(
        None, "--subtitles", help="Burn in an .srt/.vtt file (cue times from the first frame)."
    ),
    project_dir: Path | None = PROJECT_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Render a cut version: tracks composited, transitions, speed effects, sound mixed, burn-ins.

    Missing media renders as a MEDIA OFFLINE slate and is listed (exit code 1); the render goes on.
    """
    from posthouse.core.project import Project, parse_resolution
    from posthouse.engine import BurnInSpec, render_timeline
    from posthouse.picture.cuts import CutRef, CutStore
    from posthouse.pipeline.track import timeline_media, track_stage

    project = Project.open(project_dir)
    store = CutStore(project.root / "cuts")
    ref = store.resolve(CutRef.parse(cut))
    spec = BurnInSpec(watermark=str(ref)) if burn_in else None
    dims = parse_resolution(size) if size else None
    timeline = store.open(ref)
    project.close()
    settings = {"cut": str(ref), "preset": preset, "size": size, "burn_in": burn_in}
    inputs = [store.path(ref), subtitles, *timeline_media(timeline)]
    with (
        track_stage(project_dir, "render", inputs, settings, target=out) as run,
        rich_progress(not as_json) as progress,
    ):
        report = render_timeline(
            timeline,
            out,
            preset=preset,
            size=dims,
            burn_in=spec,
            subtitles=subtitles,
            progress=progress,
        )
        run.outputs.append(Path(report.output or out))
    if as_json:
        print_json({"cut": str(ref), **report.to_dict()})
    else:
        console.print(
            f"rendered {ref}: {report.frames} frames, {report.audio_samples} samples → {report.output}",
            highlight=False,
        )
        for clip in report.offline:
            console.print(
                f"  [red]MEDIA OFFLINE[/] {clip.track} {clip.name} {clip.record_in}–{clip.record_out}: "
                f"{clip.reason}",
                highlight=False,
            )
        for warning in report.warnings:
            console.print(f"  [yellow]{warning}[/]", highlight=False)
    if report.offline:
        raise typer.Exit(EXIT_PARTIAL)
