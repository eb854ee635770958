"""`posthouse sound …`: the sound editor's commands on a cut's sound session."""

from __future__ import annotations

import typer

from posthouse.cli import sound_clean, sound_daw, sound_music

__all__ = ["app"]

app = typer.Typer(
    help="Sound editorial on a cut's sound session (PROJECT/sound/CUT_vNNN/session.otio).",
    no_args_is_help=True,
)
app.command("clean")(sound_clean.clean)
app.command("export")(sound_daw.export)
app.command("import-stems")(sound_daw.import_stems)
app.command("import-music")(sound_music.import_music)
