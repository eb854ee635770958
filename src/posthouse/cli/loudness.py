"""`posthouse loudness FILE...`: BS.1770-4 / EBU R128 loudness and true peak of each file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from posthouse.cli.common import EXIT_PARTIAL, console, err_console, handle_errors, print_json

__all__ = ["loudness"]


def _fmt(value: Any, unit: str) -> str:
    return "-inf" if value is None else f"{value:.1f} {unit}"


@handle_errors
def loudness(
    files: list[Path] = typer.Argument(..., help="WAV or movie files to measure."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Measure integrated loudness, loudness range, max momentary/short-term and true peak (EBU R128).

    Exit code 1 when any file is damaged or unreadable (the others are still measured).
    """
    from rich.table import Table

    from posthouse.core.errors import PosthouseError
    from posthouse.sound.loudness import measure_file

    results: list[dict[str, Any]] = []
    bad = 0
    for f in files:
        try:
            results.append({"path": str(f), **measure_file(f).to_dict()})
        except PosthouseError as exc:
            results.append({"path": str(f), "error": str(exc)})
            bad += 1
    if as_json:
        print_json(results if len(results) != 1 else results[0])
    else:
        table = Table("file", "integrated", "LRA", "max M", "max S", "true peak")
        table.columns[0].overflow = "fold"
        for r in results:
            if "error" in r:
                table.add_row(r["path"], "[red]error[/]", "", "", "", "")
                continue
            table.add_row(
                r["path"],
                _fmt(r["integrated_lufs"], "LUFS"),
                _fmt(r["lra_lu"], "LU"),
                _fmt(r["max_momentary_lufs"], "LUFS"),
                _fmt(r["max_short_term_lufs"], "LUFS"),
                _fmt(r["true_peak_dbtp"], "dBTP"),
            )
        console.print(table)
        for r in results:
            if "error" in r:
                err_console.print(f"[bold red]error:[/] {r['error']}", highlight=False, soft_wrap=True)
    if bad:
        raise typer.Exit(EXIT_PARTIAL)
