"""`posthouse probe FILE...`: what each file is, and whether it is damaged."""

from __future__ import annotations

from pathlib import Path

import typer

from posthouse.cli.common import EXIT_PARTIAL, console, handle_errors, print_json


@handle_errors
def probe(
    files: list[Path] = typer.Argument(..., help="Media files to probe."),
    deep: bool = typer.Option(
        False, "--deep", help="Also decode every frame to find damage inside the file."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Probe media files: container, picture, sound, timecode, reel, BWF/iXML; report damaged files.

    Exit code 1 when any file is damaged or unreadable (the others are still reported).
    """
    from rich.table import Table

    from posthouse.core.errors import MediaError
    from posthouse.core.media import probe as probe_file

    results: list[dict[str, object]] = []
    bad = 0
    for f in files:
        try:
            info = probe_file(f, deep=deep)
            results.append(info.to_dict())
            bad += info.damaged
        except MediaError as exc:
            results.append({"path": str(f), "error": str(exc), "damaged": True})
            bad += 1
    if as_json:
        print_json(results if len(results) != 1 else results[0])
    else:
        for r in results:
            table = Table(title=str(r["path"]), show_header=False, title_justify="left")
            if "error" in r:
                table.add_row("[red]error[/]", str(r["error"]))
            else:
                _rows(table, r)
            console.print(table)
    if bad:
        raise typer.Exit(EXIT_PARTIAL)


def _rows(table: object, r: dict[str, object]) -> None:
    from rich.table import Table

    assert isinstance(table, Table)
    table.add_row("format", str(r["format"]))
    if r.get("duration_seconds") is not None:
        table.add_row("duration", f"{r['duration_seconds']:.3f} s ({r['duration']})")
    for key in ("start_timecode", "reel"):
        if r.get(key):
            table.add_row(key.replace("_", " "), str(r[key]))
    for v in r.get("video", []):  # type: ignore[attr-defined]
        table.add_row(
            f"video #{v['index']}",
            f"{v['codec']} {v['profile'] or ''} {v['width']}x{v['height']} {v['pix_fmt']} "
            f"{v['rate']} fps, {v['frames']} frames",
        )
    for a in r.get("audio", []):  # type: ignore[attr-defined]
        table.add_row(
            f"audio #{a['index']}",
            f"{a['codec']} {a['channels']} ch {a['sample_rate']} Hz {a['bit_depth'] or '?'}-bit, "
            f"{a['samples']} samples",
        )
    bwf = r.get("bwf")
    if isinstance(bwf, dict):
        for key in ("scene", "take", "tape", "circled", "time_reference"):
            if bwf.get(key) is not None:
                table.add_row(f"bwf {key}", str(bwf[key]))
        if bwf.get("track_names"):
            table.add_row("bwf tracks", ", ".join(bwf["track_names"]))
    if r.get("damaged"):
        for p in r.get("problems", []):  # type: ignore[attr-defined]
            table.add_row("[red]damaged[/]", str(p))
