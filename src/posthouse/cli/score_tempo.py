"""`posthouse score tempo --hits TC,TC,… --rate R`: solve one cue's tempo map from its hit timecodes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from posthouse.cli.common import console, err_console, handle_errors, print_json

__all__ = ["tempo"]


def _parse_hits(text: str, rate: Any, default_kind: str) -> list[tuple[int, str, str, bool]]:
    """``TC[/kind][=label]`` items → (frames since midnight, kind, label, drop)."""
    from posthouse.core.errors import UsageError
    from posthouse.core.time import Timecode
    from posthouse.score.cues import HIT_KINDS

    out = []
    for n, raw in enumerate(x.strip() for x in text.split(",")):
        if not raw:
            continue
        item, _, label = raw.partition("=")
        tc_text, _, kind = item.partition("/")
        kind = kind.strip().lower() or default_kind
        if kind not in HIT_KINDS:
            raise UsageError(
                f"hit {n + 1} ({raw!r}): kind {kind!r} is not one of {', '.join(HIT_KINDS)}",
                where="--hits",
                hint="write TC, TC/beat, TC/downbeat or TC/any",
            )
        try:
            tc = Timecode.parse(tc_text.strip(), rate)
        except Exception as exc:
            raise UsageError(
                f"hit {n + 1}: {exc}", where="--hits", hint="write HH:MM:SS:FF (;FF for DF)"
            ) from None
        out.append((tc.frames, kind, label.strip(), tc.drop))
    if not out:
        raise UsageError("no hits given", where="--hits", hint="e.g. --hits 01:00:10:00,01:00:14:12/beat")
    return out


@handle_errors
def tempo(
    hits: str = typer.Option(
        ...,
        "--hits",
        help="Hit timecodes, comma-separated; TC/beat, TC/downbeat, TC/any; TC=label names one.",
    ),
    rate: str = typer.Option(..., "--rate", help="Frame rate of the timecodes (23.976, 24, 25, 29.97 …)."),
    start: str | None = typer.Option(None, "--start", help="Cue start timecode (default: the first hit)."),
    end: str | None = typer.Option(
        None, "--end", help="Cue end timecode (click/MIDI length; default: last hit + 2 s)."
    ),
    tolerance: float = typer.Option(1.0, "--tolerance", help="Frames a beat may miss its hit by."),
    meter: str | None = typer.Option(
        None, "--meter", help="Fix the meter (4/4, 3/4, 6/8 …); default: try 4/4, 3/4, 6/8, 2/4."
    ),
    kind: str = typer.Option("downbeat", "--kind", help="Kind of hits without /kind: downbeat, beat or any."),
    max_changes: int | None = typer.Option(None, "--max-changes", help="At most this many tempo changes."),
    prefer_bpm: float = typer.Option(120.0, "--prefer-bpm", help="Tempo preferred when the hits allow many."),
    no_pickup: bool = typer.Option(False, "--no-pickup", help="Bar 1 beat 1 is always on the cue start."),
    click: Path | None = typer.Option(
        None, "--click", help="Write the click track here (48 kHz 24-bit BWF)."
    ),
    count_off: int = typer.Option(1, "--count-off", help="Count-off bars before the cue in the click."),
    midi: Path | None = typer.Option(
        None, "--midi", help="Write the MIDI tempo map (with click notes) here."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Solve a tempo (or a tempo map with as few changes as possible) and meter that make the hits.

    Prints each tempo's bar|beat and bpm, and each hit's bar|beat and error in frames.

    Hits no tempo map can make within the tolerance are listed as misses (exit code 0 all the same).

    --click writes the click (a BWF at the cue's timecode), --midi the tempo map as a MIDI file.
    """
    from rich.table import Table

    from posthouse.core.errors import UsageError
    from posthouse.core.time import Rate, Timecode
    from posthouse.score.click import write_click, write_midi
    from posthouse.score.cues import HitPoint
    from posthouse.score.tempo import solve_tempo

    r = Rate.parse(rate)
    parsed = _parse_hits(hits, r, kind.lower())
    if start is not None:
        try:
            start_tc = Timecode.parse(start, r)
        except Exception as exc:
            raise UsageError(str(exc), where="--start") from None
    else:
        first = min(parsed)
        start_tc = Timecode(first[0], r, first[3])
    hit_points = [HitPoint(f - start_tc.frames, k, lab) for f, k, lab, _ in parsed]
    sol = solve_tempo(
        hit_points,
        r,
        tolerance=tolerance,
        meter=meter,
        prefer_bpm=prefer_bpm,
        pickup=not no_pickup,
        max_changes=max_changes,
        cut_start=str(start_tc),
    )
    fps = float(r.fps)
    if end is not None:
        try:
            end_frames = Timecode.parse(end, r).frames - start_tc.frames
        except Exception as exc:
            raise UsageError(str(exc), where="--end") from None
        if end_frames <= 0:
            raise UsageError(f"cue end {end} is not after the cue start {start_tc}", where="--end")
        duration = end_frames / fps
    else:
        duration = max(h.frame for h in hit_points) / fps + 2.0
    doc: dict[str, Any] = {"start": str(start_tc), **sol.to_dict()}
    if click is not None:
        ct = write_click(
            click, sol.tempo_map, duration, rate=r, cue_start_tc=str(start_tc), count_off_bars=count_off
        )
        doc["click"] = ct.to_dict()
    if midi is not None:
        write_midi(midi, sol.tempo_map, duration, rate=r, cue_start_tc=str(start_tc), markers=sol.markers())
        doc["midi"] = str(midi)
    if as_json:
        print_json(doc)
        return
    tm = sol.tempo_map
    console.print(
        f"cue start {start_tc}  meter {tm.meter[0]}/{tm.meter[1]}  "
        f"{sol.changes} tempo change{'s' if sol.changes != 1 else ''}"
        + (f"  pickup {tm.offset_s:.3f} s" if tm.offset_s else "")
    )
    tempos = Table("bar|beat", "bpm", "frames/beat")
    for c in tm.changes:
        tempos.add_row(f"{c.bar}|{c.beat:g}", f"{c.bpm:.3f}", f"{60.0 / c.bpm * fps:.3f}")
    console.print(tempos)
    table = Table("hit", "timecode", "kind", "bar|beat", "error (frames)", "")
    for n, h in enumerate(sol.hits, 1):
        table.add_row(
            h.label or str(n),
            h.timecode,
            h.kind,
            f"{h.bar}|{h.beat:g}",
            f"{h.error_frames:+.2f}",
            "[green]made[/]" if h.made else "[red]MISSED[/]",
        )
    console.print(table)
    for w in sol.warnings:
        err_console.print(f"[yellow]warning:[/] {w}", highlight=False, soft_wrap=True)
    if sol.misses:
        err_console.print(
            f"[red]{len(sol.misses)} hit{'s' if len(sol.misses) != 1 else ''} missed:[/] "
            + ", ".join(f"{h.timecode} ({h.error_frames:+.2f} fr)" for h in sol.misses),
            highlight=False,
            soft_wrap=True,
        )
    if click is not None:
        console.print(f"click: {click}")
    if midi is not None:
        console.print(f"MIDI: {midi}")
