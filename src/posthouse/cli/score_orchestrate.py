"""`posthouse score orchestrate THEME --palette NAME` and `posthouse score palettes`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from posthouse.cli.common import console, handle_errors, print_json

__all__ = ["orchestrate", "palettes"]


@handle_errors
def orchestrate(
    theme: Path = typer.Argument(
        ..., help="The theme: a MIDI (.mid) or MusicXML (.musicxml/.xml/.mxl) file."
    ),
    palette: str = typer.Option(
        ..., "--palette", "-p", help="A built-in palette (see `posthouse score palettes`) or a .toml file."
    ),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Output folder (default: THEME-PALETTE/ beside it)."
    ),
    doubling: bool = typer.Option(
        True,
        "--doubling/--no-doubling",
        help="Let spare instruments double the melody, bass or inner voices.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Arrange a theme for an ensemble: full score, parts (MusicXML), arrangement.mid and playability.json.

    The score and parts are transposed (written pitch, with MusicXML <transpose> for concert-pitch view).
    Playability problems (out of range, too fast, wide leaps) are listed with part, measure and beat.
    """
    from rich.table import Table

    from posthouse.score.orchestrate import orchestrate as run
    from posthouse.score.palette import load_palette

    pal = load_palette(palette)
    slug = Path(palette).stem if palette.lower().endswith(".toml") else palette.lower()
    out_dir = out if out is not None else theme.with_name(f"{theme.stem}-{slug}")
    result = run(theme, pal, out_dir, doubling=doubling)
    if as_json:
        print_json(result.to_dict())
        return
    doc: dict[str, Any] = result.to_dict()
    table = Table("instrument", "plays", "role", "notes", "range", "octave moves", title=pal.name)
    for p in doc["parts"]:
        table.add_row(
            p["instrument"],
            p["voice"],
            p["role"],
            str(p["notes"]),
            f"{p['lowest']}–{p['highest']}",
            str(len(p["displacements"])) if p["displacements"] else "",
        )
    console.print(table)
    if doc["unassigned_voices"]:
        console.print(
            f"[yellow]voices left out (no instrument free):[/] {', '.join(doc['unassigned_voices'])}"
        )
    for prob in result.problems:
        where = f"m. {prob.measure} beat {prob.beat:g}"
        console.print(f"[yellow]{prob.kind}[/] {prob.part}, {where}: {prob.message}", highlight=False)
    if not result.problems:
        console.print("[green]no playability problems[/]")
    console.print(
        f"wrote {result.score}, {len(result.parts)} parts, {result.midi.name}, {result.report.name}"
    )


@handle_errors
def palettes(
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """List the built-in sound palettes (ensembles) and their instruments."""
    from rich.table import Table

    from posthouse.score.palette import builtin_palettes, load_palette

    items = [(name, load_palette(name)) for name in builtin_palettes()]
    if as_json:
        print_json([{"id": name, **pal.to_dict()} for name, pal in items])
        return
    table = Table("palette", "name", "instruments")
    for name, pal in items:
        table.add_row(name, pal.name, ", ".join(i.name for i in pal.instruments))
    console.print(table)
