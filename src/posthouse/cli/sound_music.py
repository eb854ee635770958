"""`posthouse sound import-music CUT@vN MUSIC.otio`: the music edit's tracks into the sound session."""

from __future__ import annotations

from pathlib import Path

import typer

from posthouse.cli.common import console, handle_errors, print_json
from posthouse.cli.project import PROJECT_OPTION
from posthouse.cli.sound_session import SESSION_ARG

__all__ = ["import_music"]


@handle_errors
def import_music(
    session_ref: str = SESSION_ARG,
    music: Path = typer.Argument(..., help="The music edit (.otio) for the same cut version."),
    project_dir: Path | None = PROJECT_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Put the music edit's audio tracks on the session as music (MX) tracks, replacing an earlier import."""
    from posthouse.cli.sound_session import open_session
    from posthouse.sound.session import import_tracks, load_session, save_session

    session, path, _ = open_session(session_ref, project_dir)
    names = import_tracks(session, load_session(music), stem="music", source="score")
    save_session(session, path)
    if as_json:
        print_json({"session": str(path), "tracks": names})
    else:
        console.print(f"{', '.join(names) or 'no tracks'} from {music} → {path}")
