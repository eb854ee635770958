"""`posthouse score streamers`: burn streamers and punches onto a reference picture for the conductor.

Two forms, one command:

* ``posthouse score streamers MOVIE --hits TC,TC [--start TC] [--length FRAMES] [--out OUT.mov]``: any
  movie; sync points are timecodes on the record clock whose first frame of action is ``--start``;
* ``posthouse score streamers CUT@vN``: the project's turnover reference movie
  (``turnovers/CUT_vNNN/CUT_vNNN_reference.mov``) and cue list (``score/CUT_vNNN/cues.json``); writes
  ``score/CUT_vNNN/CUT_vNNN_streamers.mov``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from posthouse.cli.common import console, handle_errors, print_json, rich_progress
from posthouse.cli.project import PROJECT_OPTION

if TYPE_CHECKING:
    from posthouse.core.time import Rate
    from posthouse.score.cues import MusicCue
    from posthouse.score.streamers import SyncEvent

__all__ = ["streamers"]


def _timecodes(text: str | None, rate: Rate, option: str) -> list[tuple[str, int]]:
    """``(label, timecode frames)`` of a comma-separated list."""
    from posthouse.core.errors import PosthouseError, UsageError
    from posthouse.core.time import Timecode

    out: list[tuple[str, int]] = []
    for part in (text or "").split(","):
        label = part.strip()
        if not label:
            continue
        try:
            out.append((label, Timecode.parse(label, rate).frames))
        except PosthouseError as exc:
            raise UsageError(
                f"{option}: {exc}", hint="write timecodes as HH:MM:SS:FF, comma-separated"
            ) from exc
    return out


def _movie_events(
    movie: Path,
    *,
    hits: str | None,
    starts: str | None,
    ends: str | None,
    rate_text: str | None,
    start: str | None,
    ffoa: int | None,
    length: int | None,
    flutter: int,
    bpm: float | None,
) -> tuple[list[SyncEvent], int, Rate, list[str]]:
    """Events, first-frame-of-action index, rate and notes for the movie form."""
    from posthouse.core.errors import MediaError, UsageError
    from posthouse.core.media import probe
    from posthouse.core.time import Rate, Timecode
    from posthouse.score.streamers import SyncEvent, default_length

    info = probe(movie)
    if not info.video or info.video[0].rate is None:
        raise MediaError("no picture stream with a frame rate", path=movie)
    rate = Rate.parse(rate_text or info.video[0].rate)
    movie_tc = Timecode.parse(info.start_timecode, rate).frames if info.start_timecode else 0
    notes: list[str] = []
    if ffoa is None:
        if start is None:
            ffoa = 0
            notes.append("no --start: the movie's first frame is taken as the first frame of action")
        else:
            ffoa = (Timecode.parse(start, rate) - Timecode(movie_tc, rate)) % rate.frames_per_day()
            if not info.start_timecode:
                notes.append("the movie has no timecode: it is taken to start at 00:00:00:00")
    if ffoa < 0 or (info.video[0].frames and ffoa >= info.video[0].frames):
        raise UsageError(
            f"first frame of action at picture frame {ffoa} is outside the movie "
            f"({info.video[0].frames} frames)",
            path=movie,
            hint="check --start against the movie's start timecode, or give --ffoa",
        )
    ffoa_tc = Timecode.parse(start, rate).frames if start is not None else movie_tc + ffoa
    n = length if length is not None else default_length(rate)
    day = rate.frames_per_day()
    events: list[SyncEvent] = []
    for option, kind, text in (
        ("--starts", "start", starts),
        ("--hits", "hit", hits),
        ("--ends", "end", ends),
    ):
        for label, frames in _timecodes(text, rate, option):
            rec = (frames - ffoa_tc + day // 2) % day - day // 2  # signed, nearest across midnight
            events.append(SyncEvent(rec, kind, n, label=f"{kind.upper()} {label}"))
    if not events:
        raise UsageError("no sync points", hint="give --hits TC,TC (and/or --starts, --ends)")
    if flutter:
        if bpm is None:
            raise UsageError("--flutter needs --bpm in the movie form")
        events += _lead_in_beats([e.frame for e in events if e.kind == "hit"], bpm, rate, flutter)
    return events, ffoa, rate, notes


def _lead_in_beats(hits: list[int], bpm: float, rate: Rate, beats: int) -> list[SyncEvent]:
    """Flutter punches on the ``beats`` beats before each hit at a steady ``bpm``, the grid on the hit."""
    from posthouse.score.streamers import flutter_events
    from posthouse.score.tempomap import TempoMap

    out: list[SyncEvent] = []
    span = beats * 60.0 / bpm
    for hit in hits:
        cue_start = hit - round(span * float(rate.fps))
        times = TempoMap.constant(bpm).beat_times(span + 1e-6)
        out += flutter_events(times, cue_start=cue_start, rate=rate, hits=[hit], beats=beats)
    return out


def _project_events(
    ref_text: str,
    project_dir: Path | None,
    *,
    rate_text: str | None,
    ffoa: int | None,
    length: int | None,
    only: list[str],
    flutter: int,
) -> tuple[Path, Path, list[SyncEvent], int, Rate, list[str]]:
    """Movie, default output, events, FFOA index, rate and notes for the ``CUT@vN`` form."""
    from posthouse.core.errors import MediaError, UsageError
    from posthouse.core.media import probe
    from posthouse.core.project import Project
    from posthouse.core.time import Rate, Timecode, rational_time_to_frames
    from posthouse.picture.cuts import CutRef, CutStore
    from posthouse.picture.reference import LEADER_SECONDS
    from posthouse.score.cues import read_cues, score_dir
    from posthouse.score.streamers import cue_events, default_length, flutter_events
    from posthouse.score.tempomap import TempoMap

    project = Project.open(project_dir)
    store = CutStore(project.root / "cuts")
    ref = store.resolve(CutRef.parse(ref_text))
    assert ref.version is not None  # resolve() fills it in
    name = f"{ref.name}_v{ref.version:03d}"
    movie = project.root / "turnovers" / name / f"{name}_reference.mov"
    if not movie.is_file():
        raise MediaError(
            "no turnover reference movie",
            path=movie,
            hint=f"run `posthouse turnover {ref.name}@v{ref.version}` (with --reference) first",
        )
    folder = score_dir(project.root, ref.name, ref.version)
    cues_path = folder / "cues.json"
    if not cues_path.is_file():
        raise UsageError(
            "no cue list for this cut version",
            path=cues_path,
            hint="spot the music first, or use the movie form: posthouse score streamers MOVIE --hits TC,TC",
        )
    cues: list[MusicCue] = read_cues(cues_path)
    if only:
        wanted = {c.upper() for c in only}
        missing = wanted - {c.cue_id.upper() for c in cues}
        if missing:
            raise UsageError(f"cue(s) {', '.join(sorted(missing))} not in the cue list", path=cues_path)
        cues = [c for c in cues if c.cue_id.upper() in wanted]
    rate = Rate.parse(rate_text or project.config.rate)
    notes: list[str] = []
    if ffoa is None:
        info = probe(movie)
        timeline = store.open(ref)
        if info.start_timecode and timeline.global_start_time is not None:
            cut_start = rational_time_to_frames(timeline.global_start_time, rate)
            movie_start = Timecode.parse(info.start_timecode, rate).frames
            ffoa = (cut_start - movie_start) % rate.frames_per_day()
        else:
            ffoa = LEADER_SECONDS * rate.timebase
            notes.append(f"first frame of action taken after the {LEADER_SECONDS} s leader: frame {ffoa}")
    n = length if length is not None else default_length(rate)
    events = cue_events(cues, length=n)
    if flutter:
        for cue in cues:
            tempo_path = folder / cue.cue_id / "tempo.json"
            if not tempo_path.is_file() or not cue.hits:
                notes.append(f"{cue.cue_id}: no flutter punches (no hits or no {tempo_path.name})")
                continue
            import json

            try:
                tempo = TempoMap.from_dict(json.loads(tempo_path.read_text(encoding="utf-8")))
            except (OSError, ValueError) as exc:
                raise UsageError(f"cannot read tempo map: {exc}", path=tempo_path) from exc
            times = tempo.beat_times(cue.duration / float(rate.fps))
            hits = [h.frame for h in cue.hits]
            events += flutter_events(times, cue_start=cue.start, rate=rate, hits=hits, beats=flutter)
    return movie, folder / f"{name}_streamers.mov", events, ffoa, rate, notes


@handle_errors
def streamers(
    target: str = typer.Argument(
        ...,
        help="A movie file, or CUT@vN: the project's turnover reference movie and score/CUT_vNNN/cues.json.",
    ),
    hits: str | None = typer.Option(None, "--hits", help="Movie form: hit timecodes, comma-separated."),
    starts: str | None = typer.Option(None, "--starts", help="Movie form: cue-start timecodes (yellow)."),
    ends: str | None = typer.Option(None, "--ends", help="Movie form: cue-end timecodes (red)."),
    rate: str | None = typer.Option(
        None, "--rate", help="Frame rate (default: the movie's / the project's)."
    ),
    start: str | None = typer.Option(
        None,
        "--start",
        help="Movie form: timecode of the first frame of action (default: the movie's first).",
    ),
    ffoa: int | None = typer.Option(
        None, "--ffoa", help="Picture frame index of the first frame of action (overrides the timecodes)."
    ),
    length: int | None = typer.Option(
        None, "--length", min=0, help="Streamer length in frames (default: 2 s, 48 at 24 fps)."
    ),
    punch_frames: int = typer.Option(1, "--punch-frames", min=1, max=4, help="Frames the punch is held."),
    flutter: int = typer.Option(
        0,
        "--flutter",
        min=0,
        help="Flutter punches on the N beats before each hit (--bpm, or CUE/tempo.json).",
    ),
    bpm: float | None = typer.Option(None, "--bpm", help="Movie form: tempo of the flutter punches."),
    cue: list[str] = typer.Option([], "--cue", help="Project form: only this cue (repeatable)."),
    no_labels: bool = typer.Option(False, "--no-labels", help="Do not burn in the cue ID / hit labels."),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Output movie (.mov: H.264+PCM; .mp4: H.264+AAC)."
    ),
    preset: str | None = typer.Option(None, "--preset", help="Encoding preset (default from the suffix)."),
    project_dir: Path | None = PROJECT_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Burn streamers (yellow start, green hit, red end) and punches onto a reference picture.

    Each streamer sweeps left to right over --length frames; its right edge reaches the right side of
    the picture on the sync frame, where the punch flashes. Sound and start timecode are kept.
    """
    from posthouse.score.streamers import StreamerStyle, render_streamers

    movie = Path(target)
    if movie.is_file():
        events, first, r, notes = _movie_events(
            movie,
            hits=hits,
            starts=starts,
            ends=ends,
            rate_text=rate,
            start=start,
            ffoa=ffoa,
            length=length,
            flutter=flutter,
            bpm=bpm,
        )
        default_out = movie.with_name(f"{movie.stem}_streamers.mov")
    else:
        from posthouse.core.errors import UsageError

        if movie.suffix.lower() in (".mov", ".mp4", ".mxf", ".avi", ".mkv") or any(
            x is not None for x in (hits, starts, ends)
        ):
            raise UsageError("movie not found", path=movie, hint="give an existing movie, or CUT@vN")
        movie, default_out, events, first, r, notes = _project_events(
            target, project_dir, rate_text=rate, ffoa=ffoa, length=length, only=cue, flutter=flutter
        )
        default_out.parent.mkdir(parents=True, exist_ok=True)
    dest = out or default_out
    style = StreamerStyle(punch_frames=punch_frames, labels=not no_labels)
    with rich_progress(not as_json) as progress:
        report = render_streamers(
            movie,
            dest,
            events,
            first_frame_of_action=first,
            rate=r,
            style=style,
            preset=preset,
            progress=progress,
        )
    if as_json:
        data: dict[str, Any] = {"source": str(movie), **report.to_dict(), "notes": notes}
        print_json(data)
        return
    drawn = len(report.events) - len(report.outside)
    console.print(
        f"{report.output}: {drawn} of {len(report.events)} sync points drawn on {report.frames} frames "
        f"(first frame of action at picture frame {first}; {report.rate} fps"
        f"{'; sound copied' if report.audio_channels else '; no sound'})",
        highlight=False,
    )
    for note in notes:
        console.print(f"  {note}", highlight=False)
    for problem in report.problems:
        console.print(f"  [yellow]{problem}[/]", highlight=False)
