"""`posthouse adr cues|guides|align`: the ADR cue sheet, guide tracks with beeps, and aligned takes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from posthouse.cli.common import console, handle_errors, print_json
from posthouse.cli.project import PROJECT_OPTION
from posthouse.cli.sound_session import SESSION_ARG

__all__ = ["align", "app", "cues", "guides"]

app = typer.Typer(
    help="ADR: cue sheets from ADR markers, guide tracks with three beeps, takes aligned to the guide.",
    no_args_is_help=True,
)

JSON = typer.Option(False, "--json", help="Print JSON for scripts.")
DROP = typer.Option(
    None,
    "--drop/--non-drop",
    help="Drop-frame timecode (default: the session's drop_frame setting).",
    show_default=False,
)
GUIDE = typer.Option(
    None,
    "--guide",
    help="Guide WAV (e.g. the turnover's guide track, placed by its TimeReference) instead of the DX tracks.",
    show_default=False,
)


def _adr_dir(session_path: Path) -> Path:
    """``SESSION_DIR/adr``: the session's folder (PROJECT/sound/CUT_vNNN, or the .otio's folder)."""
    return session_path.parent / "adr"


@app.command("cues")
@handle_errors
def cues(
    session_ref: str = SESSION_ARG,
    out: Path | None = typer.Option(
        None,
        "--out",
        help="Folder for adr_cues.csv and .html (default: SESSION_DIR/adr).",
        show_default=False,
    ),
    drop: bool | None = DROP,
    project_dir: Path | None = PROJECT_OPTION,
    as_json: bool = JSON,
) -> None:
    """Build the ADR cue sheet (CSV and printable HTML) from the session's ADR markers.

    A marker is a cue when its name starts with ADR or its metadata says cue=adr; its note reads
    "CHARACTER: line | reason: why". Cue IDs are character code + reel + number (MA101).
    """
    from rich.table import Table

    from posthouse.cli.sound_session import open_session
    from posthouse.sound.adr import timeline_cues, write_cue_sheet

    timeline, session_path, _ = open_session(session_ref, project_dir)
    found = timeline_cues(timeline, drop=drop)
    csv_path, html_path = write_cue_sheet(timeline, out or _adr_dir(session_path), cues=found, drop=drop)
    if as_json:
        print_json({"csv": csv_path, "html": html_path, "cues": [c.to_dict() for c in found]})
        return
    table = Table("cue", "character", "in", "out", "line", "reason")
    table.columns[4].overflow = "fold"
    for c in found:
        table.add_row(c.cue_id, c.character, c.timecode_in, c.timecode_out, c.line, c.reason)
    console.print(table)
    console.print(f"{len(found)} cues → {csv_path}, {html_path}", highlight=False)


@app.command("guides")
@handle_errors
def guides(
    session_ref: str = SESSION_ARG,
    cue: list[str] = typer.Option([], "--cue", help="Only these cue IDs (repeatable; default: all)."),
    out: Path | None = typer.Option(
        None, "--out", help="Folder for the guide WAVs (default: SESSION_DIR/adr/guides).", show_default=False
    ),
    guide_wav: Path | None = GUIDE,
    drop: bool | None = DROP,
    project_dir: Path | None = PROJECT_OPTION,
    as_json: bool = JSON,
) -> None:
    """Write a guide track per cue: BWF with three 1 kHz beeps (channel 1) before the in point and the
    production dialogue (channel 2), its TimeReference lined up with the cut."""
    from posthouse.cli.sound_session import open_session
    from posthouse.sound.adr import find_cue, timeline_cues
    from posthouse.sound.adr_guides import write_guides

    timeline, session_path, _ = open_session(session_ref, project_dir)
    found = timeline_cues(timeline, drop=drop)
    chosen = [find_cue(found, c) for c in cue] if cue else found
    paths = write_guides(
        timeline, chosen, out or _adr_dir(session_path) / "guides", guide_wav=guide_wav, drop=drop
    )
    if as_json:
        print_json(
            [{"cue": c.cue_id, "in": c.timecode_in, "path": p} for c, p in zip(chosen, paths, strict=True)]
        )
        return
    for c, p in zip(chosen, paths, strict=True):
        console.print(f"{c.cue_id}  {c.timecode_in}  {p}", highlight=False)
    console.print(f"{len(paths)} guide tracks written", highlight=False)


@app.command("align")
@handle_errors
def align(
    session_ref: str = SESSION_ARG,
    take: Path = typer.Argument(..., help="The recorded ADR take (WAV/BWF at the session's 48 kHz)."),
    cue: str = typer.Option(..., "--cue", help="The cue ID (as on the cue sheet, e.g. MA101)."),
    guide_wav: Path | None = GUIDE,
    channel: int | None = typer.Option(
        None,
        "--channel",
        help="Take channel to use (0-based; default: all mixed to mono).",
        show_default=False,
    ),
    max_stretch: int = typer.Option(3, "--max-stretch", help="Most local speed change, as a factor (2..8)."),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Align and write the WAV but do not save the session."
    ),
    drop: bool | None = DROP,
    project_dir: Path | None = PROJECT_OPTION,
    as_json: bool = JSON,
) -> None:
    """Align a recorded ADR take to the cue's production guide (DTW) and place it on an ADR track.

    Writes SESSION_DIR/adr/CUE_TAKE_aligned.wav, places it on the first free ADR track of the dialogue
    stem (replacing an earlier take of the cue), saves the session, and prints the residual
    misalignment (ms) measured at the guide's onsets.
    """
    from posthouse.cli.sound_session import open_session
    from posthouse.core.errors import UsageError
    from posthouse.sound.adr import align_cue, find_cue, timeline_cues
    from posthouse.sound.session import save_session

    if not 2 <= max_stretch <= 8:
        raise UsageError(f"--max-stretch must be 2..8, not {max_stretch}")
    if not take.exists():
        raise UsageError("take not found", path=take)
    timeline, session_path, _ = open_session(session_ref, project_dir)
    the_cue = find_cue(timeline_cues(timeline, drop=drop), cue)
    placed = align_cue(
        timeline,
        the_cue,
        take,
        _adr_dir(session_path),
        guide_wav=guide_wav,
        channel=channel,
        max_stretch=max_stretch,
    )
    if not dry_run:
        save_session(timeline, session_path)
    if as_json:
        data: dict[str, Any] = placed.to_dict()
        data["session"] = str(session_path)
        data["saved"] = not dry_run
        print_json(data)
        return
    r = placed.result
    console.print(
        f"{the_cue.cue_id} {the_cue.character} {the_cue.timecode_in}: take was {r.offset_ms:+.0f} ms off; "
        f"residual median {r.residual_median_ms:.1f} ms, max {r.residual_max_ms:.1f} ms "
        f"({r.onsets} onsets); speed {r.stretch[0]:.2f}-{r.stretch[1]:.2f}",
        highlight=False,
    )
    console.print(
        f"→ {placed.path} on {placed.track}" + ("" if dry_run else f"; session saved: {session_path}"),
        highlight=False,
    )
