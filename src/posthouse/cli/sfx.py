"""`posthouse sfx index|search|spot`: the effects library (UCS names, loudness) and spotting to picture."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from posthouse.cli.common import EXIT_PARTIAL, console, err_console, handle_errors, print_json, rich_progress
from posthouse.cli.project import PROJECT_OPTION

if TYPE_CHECKING:
    from posthouse.core.project import Project

__all__ = ["app", "index", "search", "spot"]

app = typer.Typer(
    help="Sound-effects library: index folders of WAV/BWF, search them, spot sounds to markers or cuts.",
    no_args_is_help=True,
)

INDEX_OPTION = typer.Option(
    None, "--index", help="The index file (default: PROJECT/sound/sfx_index.json).", show_default=False
)
JSON = typer.Option(False, "--json", help="Print JSON for scripts.")


def _index_path(index_file: Path | None, project_dir: Path | None, project: Project | None = None) -> Path:
    from posthouse.core.errors import ProjectError, UsageError
    from posthouse.core.project import Project
    from posthouse.sound.sfxlib import default_index_path

    if index_file is not None:
        return index_file
    if project is not None:
        return default_index_path(project.root)
    try:
        return default_index_path(Project.open(project_dir).root)
    except ProjectError as exc:
        raise UsageError(
            "no project to keep the effects index in", hint="run inside a project or pass --index FILE"
        ) from exc


def _fmt_db(value: float | None, unit: str) -> str:
    return "-inf" if value is None else f"{value:.1f} {unit}"


@app.command("index")
@handle_errors
def index(
    dirs: list[Path] = typer.Argument(..., help="Folders (or files) of WAV/BWF effects to index."),
    index_file: Path | None = INDEX_OPTION,
    rescan: bool = typer.Option(False, "--rescan", help="Measure every file again, changed or not."),
    project_dir: Path | None = PROJECT_OPTION,
    as_json: bool = JSON,
) -> None:
    """Index effects libraries: UCS category and name, bext/iXML/INFO text, duration, loudness and peak.

    Files whose size and modification time did not change since the last run are not measured again.
    Exit code 1 when some file could not be read (it is listed; the others are indexed).
    """
    from posthouse.sound.sfxlib import index_library

    path = _index_path(index_file, project_dir)
    with rich_progress(enabled=not as_json) as progress:
        report = index_library(dirs, path, rescan=rescan, progress=progress)
    if as_json:
        print_json(report.to_dict())
    else:
        console.print(
            f"[bold]{report.entries}[/] sounds in {report.index_path}: {len(report.added)} added, "
            f"{len(report.updated)} updated, {report.unchanged} unchanged, {len(report.removed)} removed",
            highlight=False,
        )
        for q in report.problems:
            err_console.print(f"[bold red]error:[/] {q.path}: {q.reason}", highlight=False, soft_wrap=True)
    if report.problems:
        raise typer.Exit(EXIT_PARTIAL)


@app.command("search")
@handle_errors
def search(
    words: list[str] = typer.Argument(None, help="Words that must all match (name, description, category…)."),
    category: str | None = typer.Option(
        None, "--category", "-c", help="CatID (DOORWood), category (DOORS) or short code (AMB); comma list."
    ),
    max_duration: float | None = typer.Option(None, "--max-duration", help="Longest sound, seconds."),
    min_duration: float | None = typer.Option(None, "--min-duration", help="Shortest sound, seconds."),
    limit: int = typer.Option(20, "--limit", "-n", help="Show at most this many."),
    index_file: Path | None = INDEX_OPTION,
    project_dir: Path | None = PROJECT_OPTION,
    as_json: bool = JSON,
) -> None:
    """Search the effects index: every word must match; best first, ties by file name."""
    from rich.table import Table

    from posthouse.sound.sfxlib import load_index

    idx = load_index(_index_path(index_file, project_dir))
    hits = idx.search(
        words or [], category=category, max_duration=max_duration, min_duration=min_duration, limit=limit
    )
    if as_json:
        print_json([h.to_dict() for h in hits])
        return
    if not hits:
        console.print("no sounds match", highlight=False)
        return
    table = Table("score", "CatID", "length", "loudness", "peak", "file")
    table.columns[5].overflow = "fold"
    for h in hits:
        e = h.entry
        table.add_row(
            f"{h.score:.1f}",
            e.cat_id or "",
            f"{e.duration_s:.2f} s",
            _fmt_db(e.integrated_lufs, "LUFS"),
            _fmt_db(e.true_peak_dbtp, "dBTP"),
            e.path,
        )
    console.print(table)


@app.command("spot")
@handle_errors
def spot(
    session_ref: str = typer.Argument(
        ..., help="CUT@vN (its sound session in PROJECT/sound/CUT_vNNN/) or a session .otio."
    ),
    markers: bool = typer.Option(
        False,
        "--markers",
        help="Spot markers named SFX…/FX…/FOLEY…/BG… (the default when --cuts is not given).",
    ),
    cuts: str | None = typer.Option(
        None, "--cuts", help="Put the best match for these words on every cut of V1."
    ),
    stem: str | None = typer.Option(
        None,
        "--stem",
        help="Stem for --cuts: effects, foley or backgrounds (default: from the sound's category).",
    ),
    category: str | None = typer.Option(None, "--category", "-c", help="Category filter for --cuts."),
    track: str | None = typer.Option(None, "--track", help="Picture track whose cuts count (default V1)."),
    fade: int = typer.Option(1, "--fade", help="Fade in and out on each placed clip, frames."),
    crossfade: int = typer.Option(
        12, "--crossfade", help="Crossfade between repeats of a background, frames."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would be placed; save nothing."),
    index_file: Path | None = INDEX_OPTION,
    project_dir: Path | None = PROJECT_OPTION,
    as_json: bool = JSON,
) -> None:
    """Spot library sounds onto the session's FX, Foley and BG tracks at markers or picture cuts.

    Saves the session in place. Exit code 1 when some event found no sound in the library.
    """
    from rich.table import Table

    from posthouse.cli.sound_session import open_session
    from posthouse.core.errors import UsageError
    from posthouse.core.time import frames_to_timecode
    from posthouse.sound.session import STEMS, save_session, session_rate
    from posthouse.sound.sfxlib import load_index
    from posthouse.sound.spotting import SpotEvent, cut_events, marker_events
    from posthouse.sound.spotting import spot as spot_events

    if stem is not None and stem not in STEMS:
        raise UsageError(f"unknown stem {stem!r}", hint=f"one of {', '.join(STEMS)}")
    timeline, session_path, project = open_session(session_ref, project_dir)
    idx = load_index(_index_path(index_file, project_dir, project))
    events: list[SpotEvent] = []
    if markers or cuts is None:
        events += marker_events(timeline)
    if cuts is not None:
        events += cut_events(timeline, cuts, stem=stem, track=track, category=category)
    report = spot_events(timeline, idx, events, fade_frames=fade, crossfade_frames=crossfade)
    if report.placed and not dry_run:
        save_session(timeline, session_path)
    missing = [s for s in report.skipped if s.kind in ("no-match", "no-words", "outside")]
    if as_json:
        data: dict[str, Any] = report.to_dict()
        data["session"] = str(session_path)
        data["saved"] = bool(report.placed) and not dry_run
        print_json(data)
    else:
        rate = session_rate(timeline)
        start = 0
        if timeline.global_start_time is not None:
            start = round(timeline.global_start_time.value_rescaled_to(rate.otio_rate))
        table = Table(
            "record",
            "track",
            "sound",
            "frames",
            "event",
        )
        for p in report.placed:
            table.add_row(
                frames_to_timecode(start + p.record_in, rate),
                p.track,
                Path(p.path).name + (f" (repeat {p.piece})" if p.piece else ""),
                str(p.frames),
                f"{p.event.label}: {p.event.query}",
            )
        if report.placed:
            console.print(table)
        for s in report.skipped:
            colour = "red" if s in missing else "yellow"
            err_console.print(
                f"[{colour}]skipped[/] {s.event.label} at frame {s.event.frame}: {s.reason}", highlight=False
            )
        for w in report.warnings:
            err_console.print(f"[yellow]warning:[/] {w}", highlight=False)
        verb = "would place" if dry_run else "placed"
        n = len(report.placed)
        console.print(f"{verb} {n} clip{'' if n == 1 else 's'} in {session_path}", highlight=False)
    if missing:
        raise typer.Exit(EXIT_PARTIAL)
