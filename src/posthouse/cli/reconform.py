"""`posthouse reconform OLD NEW`: carry the downstream work of a cut version over to a re-cut."""

from __future__ import annotations

from pathlib import Path

import typer

from posthouse.cli.common import EXIT_PARTIAL, console, handle_errors, print_json
from posthouse.cli.project import PROJECT_OPTION

__all__ = ["reconform"]


@handle_errors
def reconform(
    old: str = typer.Argument(..., help="The cut version the work was done on, CUT@vN (e.g. assembly@v1)."),
    new: str = typer.Argument(..., help="The re-cut version, CUT@vN (CUT alone: its latest version)."),
    removed: str = typer.Option(
        "drop", "--removed", help="Sound on removed picture: 'drop' it, or 'mute' it on a disabled track."
    ),
    originals: list[Path] = typer.Option(
        [], "--originals", "-o", help="Camera originals to index when the project has no originals.json."
    ),
    subtitles: list[Path] = typer.Option(
        [], "--subtitles", "-s", help="Subtitle files (.srt/.vtt; default: PROJECT/deliver/subtitles/*)."
    ),
    only: list[str] = typer.Option(
        [], "--only", help="Departments to update (sound, score, vfx, conform, subtitles; repeatable)."
    ),
    resolve: bool = typer.Option(
        True, "--resolve/--no-resolve", help="Solve the tempo again of cues whose hits moved."
    ),
    verify: bool = typer.Option(
        True, "--verify/--no-verify", help="Compare re-matched conform events with the offline media."
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Output folder (default PROJECT/reconform/CUT_vOLD_to_vNEW/)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report summary as JSON."),
    project_dir: Path | None = PROJECT_OPTION,
) -> None:
    """Update the sound session, music cues, VFX pull list, conform and subtitles of OLD for NEW.

    Reads the old version's outputs (never changing them), moves everything with its picture, re-solves
    cues whose hits moved, re-conforms only added and trimmed events, and writes the updated files with
    ``report.json`` and ``report.html``: what moved, by how much, and what needs a human. Exit code 1
    when a department failed (the others are still written).
    """
    from posthouse.core.errors import UsageError
    from posthouse.core.project import Project
    from posthouse.pipeline.reconform import DEPARTMENTS
    from posthouse.pipeline.reconform import reconform as run

    if removed not in ("drop", "mute"):
        raise UsageError(f"--removed must be 'drop' or 'mute', not {removed!r}")
    project = Project.open(project_dir)
    report = run(
        project.root,
        old,
        new,
        removed="mute" if removed == "mute" else "drop",
        originals=originals,
        subtitles=subtitles,
        out_dir=out,
        resolve=resolve,
        verify=verify,
        departments=tuple(only) or DEPARTMENTS,
    )
    if as_json:
        doc = report.to_dict()
        print_json(
            {k: v for k, v in doc.items() if k != "map"} | {"report": str(report.out_dir / "report.json")}
        )
    else:
        console.print(report.to_text(), highlight=False, soft_wrap=True, markup=False)
    if report.failed:
        raise typer.Exit(EXIT_PARTIAL)
