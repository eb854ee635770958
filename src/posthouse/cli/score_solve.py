"""`posthouse score solve CUT@vN`: a tempo map, click track and MIDI tempo map for every spotted cue."""

from __future__ import annotations

from pathlib import Path

import typer

from posthouse.cli.common import console, handle_errors, print_json
from posthouse.cli.project import PROJECT_OPTION

__all__ = ["solve"]


@handle_errors
def solve(
    cut: str = typer.Argument(..., help="CUT@vN whose cues were spotted (PROJECT/score/CUT_vNNN/cues.json)."),
    tolerance: float = typer.Option(1.0, "--tolerance", help="Frames a hit may miss its beat by."),
    meter: str | None = typer.Option(
        None, "--meter", help="Fix the meter (4/4, 3/4, 6/8 …); default: solved."
    ),
    count_off: int = typer.Option(1, "--count-off", help="Count-off bars before each click track."),
    project_dir: Path | None = PROJECT_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Solve every spotted cue: CUE/tempo.json (the map, each hit's bar|beat and error), CUE/click.wav
    (stamped at the cue's timecode, with a count-off) and CUE/tempo.mid. Misses are listed (exit code 1)."""
    from posthouse.core.project import Project
    from posthouse.picture.cuts import CutRef, CutStore
    from posthouse.score.cues import score_dir
    from posthouse.score.spotting import load_cues
    from posthouse.score.tempo import solve_cues

    project = Project.open(project_dir)
    ref = CutStore(project.root / "cuts").resolve(CutRef.parse(cut))
    folder = score_dir(project.root, ref.name, int(ref.version or 1))
    cues = load_cues(folder / "cues.json")
    solutions = solve_cues(
        cues.cues,
        cues.rate,
        folder,
        cut_start=cues.start_frame,
        drop=cues.drop,
        count_off_bars=count_off,
        tolerance=tolerance,
        meter=meter,
    )
    doc = [{"cue": c.cue_id, **s.to_dict()} for c, s in zip(cues.cues, solutions, strict=True)]
    if as_json:
        print_json(doc)
    else:
        for c, s in zip(cues.cues, solutions, strict=True):
            tempos = ", ".join(f"{t.bpm:g} bpm at {t.bar}|{t.beat:g}" for t in s.tempo_map.changes)
            meter_text = f"{s.tempo_map.meter[0]}/{s.tempo_map.meter[1]}"
            made = len(s.hits) - len(s.misses)
            console.print(
                f"{c.cue_id} {meter_text} {tempos}: {made}/{len(s.hits)} hits made → {folder / c.cue_id}"
            )
            for h in s.misses:
                console.print(f"  [red]miss[/] {h.timecode} ({h.kind}) by {h.error_frames:+.2f} frames")
    if any(s.misses for s in solutions):
        raise typer.Exit(1)
