"""`posthouse dub --me M&E.wav --dialogue DUB.wav --language fr`: a localized printmaster per language."""

from __future__ import annotations

import json
import re
from pathlib import Path

import typer

from posthouse.cli.common import EXIT_PARTIAL, console, handle_errors, print_json

__all__ = ["dub"]


@handle_errors
def dub(
    me: Path = typer.Option(..., "--me", help="The M&E (5.1 or stereo BWF) from `posthouse mix`."),
    dialogue: Path = typer.Option(..., "--dialogue", help="The dubbed dialogue stem (mono, stereo or 5.1)."),
    language: str = typer.Option(
        ..., "--language", help="Language code for the file names (fr, de, es-419…)."
    ),
    spec: str = typer.Option("netflix", "--spec", help="Loudness spec (as for `posthouse mix`)."),
    out: Path | None = typer.Option(None, "--out", help="Folder (default: next to the M&E, in dub/LANG/)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Mix a dubbed dialogue stem over the M&E into localized printmasters (5.1 and Lo/Ro) normalised to
    the spec, placed by the files' TimeReference. Exit code 1 when the result misses the spec."""
    from posthouse.core.fsutil import atomic_write_text
    from posthouse.sound.dubbing import dub_mix
    from posthouse.sound.specs import load_spec

    name = re.sub(r"_ME_(51|20)$", "", me.stem)
    folder = out or me.parent / "dub" / language
    report = dub_mix(me, dialogue, folder, load_spec(spec), language=language, name=name)
    doc = report.to_dict()
    atomic_write_text(folder / f"dub_report_{language}.json", json.dumps(doc, indent=2) + "\n")
    if as_json:
        print_json(doc)
    else:
        for lay, path in report.outputs.items():
            console.print(
                f"{lay}: {path} — {report.measured_lufs[lay]:.2f} LUFS ({report.gating}-gated, target "
                f"{report.target_lufs:g}), true peak {report.true_peak_dbtp[lay]:.2f} dBTP"
            )
        for w in report.warnings:
            console.print(f"[yellow]warning:[/] {w}")
    if not report.passed:
        raise typer.Exit(EXIT_PARTIAL)
