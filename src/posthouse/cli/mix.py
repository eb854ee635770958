"""`posthouse mix CUT --spec NAME`: stems, M&E and printmaster normalised to a loudness spec."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from posthouse.cli.common import EXIT_PARTIAL, console, err_console, handle_errors, print_json, rich_progress
from posthouse.cli.project import PROJECT_OPTION
from posthouse.cli.sound_session import SESSION_ARG

__all__ = ["mix"]


def _f(x: Any, unit: str) -> str:
    return "-inf" if x is None else f"{x:.1f} {unit}"


@handle_errors
def mix(
    session_ref: str = SESSION_ARG,
    spec: str = typer.Option(
        "ebu-r128", "--spec", help="ebu-r128, atsc-a85, netflix, cinema, or a spec .toml file."
    ),
    layout: list[str] = typer.Option(
        [], "--layout", help="5.1 and/or stereo (Lo/Ro); default: the spec's layouts."
    ),
    stems: bool = typer.Option(True, "--stems/--no-stems", help="Write every stem, not only PM and M&E."),
    normalize: bool = typer.Option(True, "--normalize/--no-normalize", help="Normalise to the spec."),
    out: Path | None = typer.Option(None, "--out", help="Folder (default: the session's mix/SPEC/)."),
    project_dir: Path | None = PROJECT_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print the mix report as JSON."),
) -> None:
    """Mix the cut's sound session: dialogue, music, effects, Foley and backgrounds stems, the M&E and
    the printmaster (5.1 and a Lo/Ro stereo downmix), normalised with a true-peak limiter.

    Writes BWF files and mix_report.json; exit code 1 when the printmaster misses the spec.
    """
    from posthouse.cli.sound_session import open_session
    from posthouse.core.fsutil import atomic_write_text
    from posthouse.pipeline.track import timeline_media, track_stage
    from posthouse.sound.mixer import mix_session
    from posthouse.sound.specs import load_spec

    loud_spec = load_spec(spec)
    session, path, _project = open_session(session_ref, project_dir)
    folder = out or path.parent / "mix" / loud_spec.name
    base = path.parent.name if path.name == "session.otio" else path.stem
    settings = {"spec": loud_spec.name, "layouts": list(layout), "stems": stems, "normalize": normalize}
    inputs = [path, Path(spec) if spec.endswith(".toml") else None, *timeline_media(session)]
    with (
        track_stage(project_dir, "mix", inputs, settings, target=folder) as run,
        rich_progress(enabled=not as_json) as progress,
    ):
        report = mix_session(
            session,
            folder,
            loud_spec,
            name=base,
            layouts=tuple(layout) or None,
            stems=stems,
            normalize=normalize,
            progress=progress,
        )
        doc = report.to_dict()
        atomic_write_text(folder / "mix_report.json", json.dumps(doc, indent=2) + "\n")
        run.outputs.append(folder)
    if as_json:
        print_json(doc)
    else:
        from rich.table import Table

        table = Table("layout", "stem", "integrated", "true peak", "LRA")
        for o in report.outputs:
            d = o.loudness
            table.add_row(
                o.layout,
                o.stem,
                _f(d["integrated_lufs"], "LUFS"),
                _f(d["true_peak_dbtp"], "dBTP"),
                _f(d["lra_lu"], "LU"),
            )
        console.print(table)
        for lay, level in report.measured_after.items():
            console.print(
                f"{lay}: printmaster {level:.2f} LUFS ({report.gating}-gated; target {report.target_lufs:g}"
                f" ±{loud_spec.tolerance_lu:g}), true peak {report.true_peak_after[lay]:.2f} dBTP "
                f"(ceiling {loud_spec.true_peak_dbtp:g}), gain {report.gain_db[lay]:+.2f} dB, limiter "
                f"{report.limiter_db[lay]:.2f} dB"
            )
        for w in report.warnings:
            err_console.print(f"[yellow]warning:[/] {w}")
        for c in report.clipping:
            err_console.print(f"[yellow]clipping:[/] {c['message']}")
        verdict = "[green]meets[/]" if report.passed else "[red]misses[/]"
        console.print(f"{verdict} {loud_spec.name}; report: {folder / 'mix_report.json'}")
    if not report.passed:
        raise typer.Exit(EXIT_PARTIAL)
