"""`posthouse edit OPERATION CUT ...`: the editor's operations; each one saves a new cut version."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, cast

import typer

from posthouse.cli.common import console, handle_errors, print_json
from posthouse.cli.project import PROJECT_OPTION

app = typer.Typer(
    help="Fine-cut operations on a saved cut; each writes the next version.", no_args_is_help=True
)

CUT = typer.Argument(..., help="CUT or CUT@vN (the latest version when no version is given).")
TRACK = typer.Option("V1", "--track", "-t", help="Track name (V1, V2…, A1…).")
INDEX = typer.Option(..., "--index", "-i", help="Item index on the track (0-based; gaps count).")
UNLINK = typer.Option(False, "--unlinked", help="Leave linked picture/sound alone (may break sync).")
JSON = typer.Option(False, "--json", help="Print JSON for scripts.")


def _frame(timeline: Any, at: str) -> int:
    """A record position given as frames from the start of the cut or as record timecode."""
    from posthouse.core.errors import UsageError
    from posthouse.core.time import Timecode
    from posthouse.picture.edit import timeline_rate

    if at.lstrip("-").isdigit():
        return int(at)
    rate = timeline_rate(timeline)
    try:
        label = Timecode.parse(at, rate).frames
    except ValueError as exc:
        raise UsageError(f"--at {at!r} is neither a frame count nor a record timecode: {exc}") from exc
    start = round(timeline.global_start_time.value) if timeline.global_start_time is not None else 0
    return int(label - start)


def _apply(
    cut: str, project_dir: Path | None, as_json: bool, message: str, op: Callable[[Any], tuple[Any, Any]]
) -> None:
    from posthouse.core.project import Project
    from posthouse.picture.cuts import CutRef, CutStore

    project = Project.open(project_dir)
    store = CutStore(project.root / "cuts")
    ref = store.resolve(CutRef.parse(cut))
    timeline, report = op(store.open(ref))
    saved = store.save(ref.name, timeline, message=message)
    breaks = [
        {
            "link": b.link,
            "track": b.track,
            "clip": b.clip,
            "record_frame": b.record_frame,
            "frames": float(b.frames),
        }
        for b in report.sync_breaks
    ]
    if as_json:
        print_json(
            {
                "from": str(ref),
                "saved": str(saved),
                "operation": report.operation,
                "changes": list(report.changes),
                "sync_breaks": breaks,
            }
        )
        return
    console.print(f"{report.operation}: {ref} → [bold]{saved}[/]", highlight=False)
    for change in report.changes:
        console.print(f"  {change}", highlight=False)
    for b in breaks:
        console.print(
            f"  [red]out of sync[/] {b['track']} {b['clip']} by {b['frames']:+g} frames "
            f"(record frame {b['record_frame']})",
            highlight=False,
        )


@app.command("split")
@handle_errors
def split(
    cut: str = CUT,
    track: str = TRACK,
    at: str = typer.Option(..., "--at", help="Frame or record TC."),
    unlinked: bool = UNLINK,
    project_dir: Path | None = PROJECT_OPTION,
    as_json: bool = JSON,
) -> None:
    """Blade the clip under --at into two."""
    from posthouse.picture import edit

    _apply(
        cut,
        project_dir,
        as_json,
        f"split {track} at {at}",
        lambda tl: edit.split(tl, track, _frame(tl, at), linked=not unlinked),
    )


@app.command("lift")
@handle_errors
def lift(
    cut: str = CUT,
    track: str = TRACK,
    index: int = INDEX,
    unlinked: bool = UNLINK,
    project_dir: Path | None = PROJECT_OPTION,
    as_json: bool = JSON,
) -> None:
    """Remove a clip and leave a gap."""
    from posthouse.picture import edit

    _apply(
        cut,
        project_dir,
        as_json,
        f"lift {track}[{index}]",
        lambda tl: edit.lift(tl, track, index, linked=not unlinked),
    )


@app.command("extract")
@handle_errors
def extract(
    cut: str = CUT,
    track: str = TRACK,
    index: int = INDEX,
    unlinked: bool = UNLINK,
    project_dir: Path | None = PROJECT_OPTION,
    as_json: bool = JSON,
) -> None:
    """Remove a clip and close the gap (ripple delete)."""
    from posthouse.picture import edit

    _apply(
        cut,
        project_dir,
        as_json,
        f"extract {track}[{index}]",
        lambda tl: edit.extract(tl, track, index, linked=not unlinked),
    )


@app.command("trim")
@handle_errors
def trim(
    cut: str = CUT,
    track: str = TRACK,
    index: int = INDEX,
    head: int = typer.Option(
        0, "--head", help="Move the head edit N frames later in the source (shortens; negative lengthens)."
    ),
    tail: int = typer.Option(
        0, "--tail", help="Move the tail edit N frames later in the source (lengthens; negative shortens)."
    ),
    unlinked: bool = UNLINK,
    project_dir: Path | None = PROJECT_OPTION,
    as_json: bool = JSON,
) -> None:
    """Ripple trim: later material moves with the new length."""
    from posthouse.picture import edit

    _apply(
        cut,
        project_dir,
        as_json,
        f"ripple trim {track}[{index}] head {head} tail {tail}",
        lambda tl: edit.ripple_trim(tl, track, index, head=head, tail=tail, linked=not unlinked),
    )


@app.command("roll")
@handle_errors
def roll(
    cut: str = CUT,
    track: str = TRACK,
    index: int = INDEX,
    frames: int = typer.Option(..., "--frames", help="Move the edit after this clip by N frames."),
    unlinked: bool = UNLINK,
    project_dir: Path | None = PROJECT_OPTION,
    as_json: bool = JSON,
) -> None:
    """Roll the edit point between this clip and the next."""
    from posthouse.picture import edit

    _apply(
        cut,
        project_dir,
        as_json,
        f"roll {track}[{index}] {frames:+d}",
        lambda tl: edit.roll_trim(tl, track, index, frames, linked=not unlinked),
    )


@app.command("slip")
@handle_errors
def slip(
    cut: str = CUT,
    track: str = TRACK,
    index: int = INDEX,
    frames: int = typer.Option(..., "--frames", help="Source frames to slip by."),
    unlinked: bool = UNLINK,
    project_dir: Path | None = PROJECT_OPTION,
    as_json: bool = JSON,
) -> None:
    """Slip the clip's content; its place in the cut stays."""
    from posthouse.picture import edit

    _apply(
        cut,
        project_dir,
        as_json,
        f"slip {track}[{index}] {frames:+d}",
        lambda tl: edit.slip(tl, track, index, frames, linked=not unlinked),
    )


@app.command("slide")
@handle_errors
def slide(
    cut: str = CUT,
    track: str = TRACK,
    index: int = INDEX,
    frames: int = typer.Option(..., "--frames", help="Record frames to slide by."),
    unlinked: bool = UNLINK,
    project_dir: Path | None = PROJECT_OPTION,
    as_json: bool = JSON,
) -> None:
    """Slide the clip between its neighbours (they are trimmed to match)."""
    from posthouse.picture import edit

    _apply(
        cut,
        project_dir,
        as_json,
        f"slide {track}[{index}] {frames:+d}",
        lambda tl: edit.slide(tl, track, index, frames, linked=not unlinked),
    )


@app.command("move")
@handle_errors
def move(
    cut: str = CUT,
    track: str = TRACK,
    index: int = INDEX,
    to: str = typer.Option(..., "--to", help="Record frame or TC to move the clip to."),
    to_track: str | None = typer.Option(None, "--to-track", help="Another track of the same kind."),
    unlinked: bool = UNLINK,
    project_dir: Path | None = PROJECT_OPTION,
    as_json: bool = JSON,
) -> None:
    """Move a clip (lift, then overwrite at --to)."""
    from posthouse.picture import edit

    _apply(
        cut,
        project_dir,
        as_json,
        f"move {track}[{index}] to {to}",
        lambda tl: edit.move(tl, track, index, _frame(tl, to), to_track=to_track, linked=not unlinked),
    )


@app.command("transition")
@handle_errors
def transition(
    cut: str = CUT,
    track: str = TRACK,
    index: int = INDEX,
    frames: int = typer.Option(24, "--frames", help="Length, centred on the cut after this clip."),
    kind: str = typer.Option("dissolve", "--kind", help="dissolve, dip_to_black or wipe."),
    project_dir: Path | None = PROJECT_OPTION,
    as_json: bool = JSON,
) -> None:
    """Add a dissolve, dip to black or wipe at the cut after this clip."""
    from posthouse.core.errors import UsageError
    from posthouse.picture import edit

    if kind not in ("dissolve", "dip_to_black", "wipe"):
        raise UsageError(f"--kind must be dissolve, dip_to_black or wipe, got '{kind}'")
    chosen = cast(Literal["dissolve", "dip_to_black", "wipe"], kind)
    _apply(
        cut,
        project_dir,
        as_json,
        f"{kind} {frames} frames after {track}[{index}]",
        lambda tl: edit.add_transition(tl, track, index, frames, kind=chosen),
    )


@app.command("speed")
@handle_errors
def speed(
    cut: str = CUT,
    track: str = TRACK,
    index: int = INDEX,
    value: float = typer.Option(..., "--speed", help="Constant speed, e.g. 2 or 0.5."),
    unlinked: bool = UNLINK,
    project_dir: Path | None = PROJECT_OPTION,
    as_json: bool = JSON,
) -> None:
    """Set a constant speed on a clip."""
    from posthouse.picture import edit

    _apply(
        cut,
        project_dir,
        as_json,
        f"speed {track}[{index}] {value:g}",
        lambda tl: edit.set_speed(tl, track, index, value, linked=not unlinked),
    )


@app.command("freeze")
@handle_errors
def freeze(
    cut: str = CUT,
    track: str = TRACK,
    index: int = INDEX,
    project_dir: Path | None = PROJECT_OPTION,
    as_json: bool = JSON,
) -> None:
    """Freeze a clip on its first frame."""
    from posthouse.picture import edit

    _apply(
        cut, project_dir, as_json, f"freeze {track}[{index}]", lambda tl: edit.freeze_frame(tl, track, index)
    )


@app.command("level")
@handle_errors
def level(
    cut: str = CUT,
    track: str = typer.Option("A1", "--track", "-t", help="Audio track."),
    index: int = INDEX,
    gain_db: float | None = typer.Option(None, "--gain", help="Clip gain in dB."),
    fade_in: int | None = typer.Option(None, "--fade-in", help="Fade-in frames."),
    fade_out: int | None = typer.Option(None, "--fade-out", help="Fade-out frames."),
    unlinked: bool = UNLINK,
    project_dir: Path | None = PROJECT_OPTION,
    as_json: bool = JSON,
) -> None:
    """Set a sound clip's level and fades."""
    from posthouse.picture import edit

    _apply(
        cut,
        project_dir,
        as_json,
        f"level {track}[{index}]",
        lambda tl: edit.set_audio(
            tl, track, index, gain_db=gain_db, fade_in=fade_in, fade_out=fade_out, linked=not unlinked
        ),
    )


@app.command("marker")
@handle_errors
def marker(
    cut: str = CUT,
    at: str = typer.Option(..., "--at", help="Frame or record TC."),
    note: str = typer.Option(..., "--note", help="The note."),
    color: str = typer.Option("RED", "--color", help="Marker colour (RED, GREEN, BLUE…)."),
    project_dir: Path | None = PROJECT_OPTION,
    as_json: bool = JSON,
) -> None:
    """Add a marker with a note to the cut."""
    from posthouse.picture import edit

    _apply(
        cut,
        project_dir,
        as_json,
        f"marker at {at}",
        lambda tl: edit.add_marker(tl, _frame(tl, at), note, color=color.upper()),
    )


def _place(
    cut: str,
    clip: str,
    at: str,
    source_in: str | None,
    source_out: str | None,
    track: str,
    project_dir: Path | None,
    as_json: bool,
    how: str,
) -> None:
    from posthouse.core.errors import UsageError
    from posthouse.core.project import Project
    from posthouse.core.time import Timecode
    from posthouse.picture import edit
    from posthouse.picture.assemble import take_items
    from posthouse.picture.bins import select_media
    from posthouse.picture.syncing import synced_takes

    project = Project.open(project_dir)
    records = [
        r for r in select_media(project.catalog, role="picture") if (r.clip or "").upper() == clip.upper()
    ]
    if not records:
        raise UsageError(
            f"no camera clip named {clip} in the catalog", hint="see `posthouse catalog --kind video`"
        )
    take = synced_takes(project, records[:1])[0]
    rate = project.config.rate

    def tc(label: str | None) -> int | None:
        return None if label is None else Timecode.parse(label, rate).frames

    video, audio = take_items(take, rate, source_in=tc(source_in), source_out=tc(source_out))

    def op(tl: Any) -> tuple[Any, Any]:
        sound_tracks = [t.name for t in tl.tracks if t.kind == "Audio"]
        also = dict(zip(sound_tracks, audio, strict=False))
        frame = _frame(tl, at)
        if how == "insert":
            return edit.insert(tl, track, frame, video, also=also)
        return edit.overwrite(tl, track, frame, video, also=also)

    _apply(cut, project_dir, as_json, f"{how} {clip} at {at}", op)


@app.command("insert")
@handle_errors
def insert(
    cut: str = CUT,
    clip: str = typer.Option(..., "--clip", help="Camera clip name from the catalog."),
    at: str = typer.Option(..., "--at", help="Record frame or TC."),
    source_in: str | None = typer.Option(None, "--in", help="Source TC in (default: where sound starts)."),
    source_out: str | None = typer.Option(None, "--out", help="Source TC out (exclusive)."),
    track: str = TRACK,
    project_dir: Path | None = PROJECT_OPTION,
    as_json: bool = JSON,
) -> None:
    """Insert a catalogued take (picture and its synced sound) at --at; later material ripples."""
    _place(cut, clip, at, source_in, source_out, track, project_dir, as_json, "insert")


@app.command("overwrite")
@handle_errors
def overwrite(
    cut: str = CUT,
    clip: str = typer.Option(..., "--clip", help="Camera clip name from the catalog."),
    at: str = typer.Option(..., "--at", help="Record frame or TC."),
    source_in: str | None = typer.Option(None, "--in", help="Source TC in (default: where sound starts)."),
    source_out: str | None = typer.Option(None, "--out", help="Source TC out (exclusive)."),
    track: str = TRACK,
    project_dir: Path | None = PROJECT_OPTION,
    as_json: bool = JSON,
) -> None:
    """Overwrite a catalogued take (picture and its synced sound) over the cut at --at; no ripple."""
    _place(cut, clip, at, source_in, source_out, track, project_dir, as_json, "overwrite")
