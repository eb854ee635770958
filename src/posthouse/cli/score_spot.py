"""`posthouse score spot|cuesheet`: the music cue list from the cut's markers; the cue sheet for the PROs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from posthouse.cli.common import console, err_console, handle_errors, print_json
from posthouse.cli.project import PROJECT_OPTION

if TYPE_CHECKING:
    import opentimelineio as otio

    from posthouse.core.project import Project

__all__ = ["cuesheet", "open_cut", "spot"]

JSON = typer.Option(False, "--json", help="Print JSON for scripts.")
DROP = typer.Option(
    None,
    "--drop/--non-drop",
    help="Drop-frame timecode (default: the cut's drop_frame setting, else the project's).",
    show_default=False,
)


def open_cut(
    ref: str, project_dir: Path | None
) -> tuple[otio.schema.Timeline, Path | None, Project | None, str]:
    """``(timeline, score folder, project, label)`` for ``CUT@vN`` (folder ``PROJECT/score/CUT_vNNN``; a
    warning when that version is not locked) or a ``.otio`` path (no folder: the caller picks one)."""
    import opentimelineio as otio

    from posthouse.core.errors import UsageError
    from posthouse.core.project import Project
    from posthouse.score.cues import score_dir

    as_path = Path(ref)
    if ref.endswith(".otio"):
        if not as_path.exists():
            raise UsageError("no such timeline", path=as_path)
        try:
            tl = otio.adapters.read_from_file(str(as_path))
        except Exception as exc:
            raise UsageError(f"cannot read the timeline: {exc}", path=as_path) from exc
        if not isinstance(tl, otio.schema.Timeline):
            raise UsageError(f"not an OTIO timeline but a {type(tl).__name__}", path=as_path)
        project = None
        if project_dir is not None:
            project = Project.open(project_dir)
        return tl, None, project, as_path.name

    from posthouse.picture.cuts import CutRef, CutStore
    from posthouse.picture.lock import load_lock, lock_path, verify_lock

    project = Project.open(project_dir)
    store = CutStore(project.root / "cuts")
    cut_ref = store.resolve(CutRef.parse(ref))
    version = int(cut_ref.version or 1)
    timeline = store.open(cut_ref)
    lock = lock_path(project.root / "locks", cut_ref.name, version)
    if not lock.exists() or not verify_lock(timeline, load_lock(lock)):
        err_console.print(
            f"[yellow]warning:[/] {cut_ref.name}@v{version} is not locked; working on an open cut"
        )
    return (
        timeline,
        score_dir(project.root, cut_ref.name, version),
        project,
        f"{cut_ref.name}@v{version}",
    )


def _drop(timeline: otio.schema.Timeline, drop: bool | None, project: Project | None) -> bool | None:
    """The explicit choice, else the cut's setting, else the project's (where the rate has drop-frame)."""
    from posthouse.score.spotting import cut_rate

    if drop is not None:
        return drop
    meta = timeline.metadata.get("posthouse") or {}
    if "drop_frame" in meta:
        return bool(meta["drop_frame"])
    if project is not None and project.config.drop_frame and cut_rate(timeline).drop_capable:
        return True
    return None


@handle_errors
def spot(
    cut: str = typer.Argument(..., help="CUT@vN (the locked cut) or a .otio timeline."),
    out: Path | None = typer.Option(
        None,
        "--out",
        help="Folder for cues.csv/.html/.json (default: PROJECT/score/CUT_vNNN).",
        show_default=False,
    ),
    from_csv: Path | None = typer.Option(
        None,
        "--from-csv",
        help="Read an edited cue list CSV back (instead of the markers) and write cues.json and cues.html.",
        show_default=False,
    ),
    force: bool = typer.Option(
        False, "--force", help="Re-spot from the markers even when cues.csv was edited since it was written."
    ),
    reel: int | None = typer.Option(
        None, "--reel", help="Reel number (default: the cut's reel, else 1).", show_default=False
    ),
    drop: bool | None = DROP,
    project_dir: Path | None = PROJECT_OPTION,
    as_json: bool = JSON,
) -> None:
    """Spot the music: turn the cut's MUSIC IN / MUSIC OUT / HIT markers into the cue list (1M1, 1M2 …).

    Writes cues.csv (edit it in a spreadsheet, then --from-csv), a printable cues.html and cues.json
    (what the other scoring steps read).
    """
    from rich.table import Table

    from posthouse.core.errors import UsageError
    from posthouse.core.fsutil import atomic_write_text
    from posthouse.score.spotting import (
        cue_list_csv,
        cue_list_html,
        cut_drop_frame,
        cut_rate,
        cut_start_frame,
        read_cue_list,
        save_cues,
        spot_cues,
    )

    timeline, folder, project, label = open_cut(cut, project_dir)
    dest = out or folder
    if dest is None:
        dest = Path(cut).parent / f"{Path(cut).stem}_score"
    csv_path, html_path, json_path = dest / "cues.csv", dest / "cues.html", dest / "cues.json"
    df = cut_drop_frame(timeline, _drop(timeline, drop, project))
    if from_csv is not None:
        rate = cut_rate(timeline)
        explicit = _drop(timeline, drop, project)
        cues = read_cue_list(
            from_csv, rate=rate, start_frame=cut_start_frame(timeline, rate), drop=explicit, title=label
        )
        if from_csv.resolve() != csv_path.resolve():
            atomic_write_text(csv_path, cue_list_csv(cues))
    else:
        if csv_path.exists() and not force:
            edited = not json_path.exists() or csv_path.stat().st_mtime > json_path.stat().st_mtime
            if edited:
                raise UsageError(
                    "cues.csv was edited after the cue list was spotted (it is newer than cues.json); "
                    "not overwriting it",
                    path=csv_path,
                    hint=f"read it back with --from-csv {csv_path}, or re-spot from the markers with --force",
                )
        cues = spot_cues(timeline, reel=reel, drop=df)
        cues.title = label
        atomic_write_text(csv_path, cue_list_csv(cues))
    atomic_write_text(html_path, cue_list_html(cues))
    save_cues(cues, json_path)
    for w in cues.warnings:
        err_console.print(f"[yellow]warning:[/] {w}", highlight=False)
    if as_json:
        print_json(
            {
                "csv": csv_path,
                "html": html_path,
                "json": json_path,
                **cues.to_dict(),
                "warnings": cues.warnings,
            }
        )
        return
    table = Table("cue", "title", "in", "out", "length", "hits", "usage")
    for c in cues.cues:
        table.add_row(
            c.cue_id,
            c.title,
            cues.tc(c.start),
            cues.tc(c.end),
            cues.duration_tc(c.duration),
            str(len(c.hits)),
            c.usage + (" (source)" if c.source else ""),
        )
    console.print(table)
    n = len(cues.cues)
    console.print(f"{n} cue{'' if n == 1 else 's'} → {csv_path}, {html_path}, {json_path}", highlight=False)


@handle_errors
def cuesheet(
    cut: str = typer.Argument(..., help="CUT@vN (the final cut) or a .otio timeline with the music tracks."),
    title: str | None = typer.Option(None, "--title", help="Production title (default: the project's name)."),
    company: str = typer.Option("", "--company", help="Production company."),
    episode: str = typer.Option("", "--episode", help="Episode or reel, as printed on the sheet."),
    cues_json: Path | None = typer.Option(
        None,
        "--cues",
        help="The spotted cue list (cues.json) for IDs and titles (default: the cut's score folder).",
        show_default=False,
    ),
    out: Path | None = typer.Option(
        None,
        "--out",
        help="Folder for cue_sheet.csv/.html (default: PROJECT/score/CUT_vNNN).",
        show_default=False,
    ),
    drop: bool | None = DROP,
    project_dir: Path | None = PROJECT_OPTION,
    as_json: bool = JSON,
) -> None:
    """Write the music cue sheet for the performing-rights societies (CSV and printable HTML).

    Rows come from the cut's music tracks (stem music / MX…, clip metadata cue_id, title, composer,
    publisher, usage, source, pro, share), else from the spotted cue list; durations MM:SS rounded up.
    """
    from rich.table import Table

    from posthouse.score.cuesheet import cue_sheet_from_timeline, format_mmss, format_parties, write_cue_sheet
    from posthouse.score.spotting import load_cues, spot_cues

    timeline, folder, project, label = open_cut(cut, project_dir)
    dest = out or folder or Path(cut).parent
    if cues_json is not None:
        cues = load_cues(cues_json)
    elif folder is not None and (folder / "cues.json").exists():
        cues = load_cues(folder / "cues.json")
    else:
        cues = spot_cues(timeline, drop=_drop(timeline, drop, project))
    sheet = cue_sheet_from_timeline(timeline, cues=cues, drop=_drop(timeline, drop, project))
    name = title or (project.config.name if project is not None else "") or timeline.name or label
    csv_path, html_path = write_cue_sheet(sheet, dest, title=name, company=company, episode=episode)
    for w in sheet.warnings:
        err_console.print(f"[yellow]warning:[/] {w}", highlight=False)
    if as_json:
        print_json({"csv": csv_path, "html": html_path, **sheet.to_dict()})
        return
    table = Table("cue", "title", "composers", "usage", "in", "out", "duration")
    for r in sheet.rows:
        table.add_row(
            r.cue_id,
            r.title,
            format_parties(r.composers),
            r.usage + (" (source)" if r.source else ""),
            sheet.tc(r.start),
            sheet.tc(r.end),
            format_mmss(sheet.seconds(r)),
        )
    console.print(table)
    total = format_mmss(sheet.totals()["all"])
    n = len(sheet.rows)
    console.print(
        f"{n} cue{'' if n == 1 else 's'}, {total} of music → {csv_path}, {html_path}", highlight=False
    )
