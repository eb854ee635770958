"""`posthouse score …`: the composer's and music editor's commands."""

from __future__ import annotations

import typer

from posthouse.cli import (
    score_mockup,
    score_orchestrate,
    score_solve,
    score_spot,
    score_streamers,
    score_tempo,
)

__all__ = ["app"]

app = typer.Typer(
    help="Scoring: spotting, tempo maps and clicks, orchestration, mock-ups, cue sheets.",
    no_args_is_help=True,
)
app.command("spot")(score_spot.spot)
app.command("tempo")(score_tempo.tempo)
app.command("solve")(score_solve.solve)
app.command("orchestrate")(score_orchestrate.orchestrate)
app.command("palettes")(score_orchestrate.palettes)
app.command("render")(score_mockup.render)
app.command("place")(score_mockup.place)
app.command("streamers")(score_streamers.streamers)
app.command("cuesheet")(score_spot.cuesheet)
