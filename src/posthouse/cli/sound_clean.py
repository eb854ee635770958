"""`posthouse sound clean CUT@vN`: dialogue cleanup, best mic per line, room-tone fills, in sync."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from posthouse.cli.common import console, err_console, handle_errors, print_json, rich_progress
from posthouse.cli.project import PROJECT_OPTION
from posthouse.cli.sound_session import SESSION_ARG

__all__ = ["clean"]


def _db(value: float | None, unit: str = "dB") -> str:
    return "-" if value is None else f"{value:.1f} {unit}"


@handle_errors
def clean(
    session_ref: str = SESSION_ARG,
    truth: Path | None = typer.Option(
        None, "--truth", help="Demo shoot folder: measure SNR against its clean dialogue (truth/*.wav)."
    ),
    target_lufs: float = typer.Option(-27.0, "--target-lufs", help="Dialogue level target (LUFS, gated)."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON for scripts."),
    project_dir: Path | None = PROJECT_OPTION,
) -> None:
    """Clean every production dialogue clip (high-pass, hum, de-click, noise reduction, de-ess, level),
    choose the best mic per line onto DX1, fill gaps with room tone, and save the session.

    Cleaned mono BWFs go to SESSION_DIR/dialogue/ with the report clean_report.json. Missing files become
    silence and are listed; other-rate files are resampled with a warning.
    """
    import json

    from rich.table import Table

    from posthouse.cli.sound_session import open_session
    from posthouse.core.fsutil import atomic_write_text
    from posthouse.sound.dialogue import clean_dialogue
    from posthouse.sound.dialogue_truth import measure_improvement
    from posthouse.sound.session import save_session

    session, path, project = open_session(session_ref, project_dir)
    sample_rate = project.config.sample_rate if project is not None else 48_000
    out_dir = path.parent / "dialogue"
    with rich_progress(enabled=not as_json) as progress:
        report = clean_dialogue(
            session, out_dir, target_lufs=target_lufs, sample_rate=sample_rate, progress=progress
        )
    save_session(session, path)
    if truth is not None:
        report.improvement = measure_improvement(session, truth, sample_rate=sample_rate)
    data: dict[str, Any] = report.to_dict()
    data["session_path"] = str(path)
    atomic_write_text(out_dir / "clean_report.json", json.dumps(data, indent=2) + "\n")
    if as_json:
        print_json(data)
        return
    table = Table("track", "clip", "mic", "hum", "floor before", "floor after", "SNR", "level", "notes")
    for c in report.clips:
        notes = []
        if c.missing:
            notes.append(f"[red]silence: {c.missing}[/]")
        if c.resampled_from:
            notes.append(f"[yellow]resampled from {c.resampled_from} Hz[/]")
        if c.clipped:
            notes.append(f"[red]clipped ×{len(c.clipped)} at {c.clipped[0].record_timecode}[/]")
        if c.clicks:
            notes.append(f"{c.clicks} click samples")
        table.add_row(
            c.track,
            c.clip,
            c.mic,
            f"{c.hum_hz} Hz" if c.hum_hz else "-",
            _db(c.noise_floor_before_dbfs, "dBFS"),
            _db(c.noise_floor_after_dbfs, "dBFS"),
            _db(c.snr_db),
            _db(c.level_gain_db),
            ", ".join(notes),
        )
    console.print(table)
    regions = Table("record in", "record out", "mic on DX1", "why")
    for r in report.regions:
        regions.add_row(r.record_timecode_in, r.record_timecode_out, r.mic or "[red]silence[/]", r.why)
    console.print(regions)
    if report.fills:
        console.print(f"room tone fills: {len(report.fills)} on DX FILL")
    imp = report.improvement
    if imp is not None:
        console.print(
            f"against the clean dialogue: SNR {imp.snr_before_db:.1f} → {imp.snr_after_db:.1f} dB, "
            f"segmental SNR {imp.segsnr_before_db:.1f} → {imp.segsnr_after_db:.1f} dB"
        )
    for w in report.warnings:
        err_console.print(f"[yellow]warning:[/] {w}", highlight=False, soft_wrap=True)
    console.print(f"session saved: {path}\nreport: {out_dir / 'clean_report.json'}", highlight=False)
