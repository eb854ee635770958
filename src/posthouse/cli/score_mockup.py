"""`posthouse score render` and `posthouse score place`: mock-up cues from MIDI and the music stem."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from posthouse.cli.common import EXIT_PARTIAL, console, err_console, handle_errors, print_json, rich_progress
from posthouse.cli.project import PROJECT_OPTION

if TYPE_CHECKING:
    pass

__all__ = ["place", "render"]


@handle_errors
def render(
    midi: Path = typer.Argument(..., help="The cue's MIDI file (General MIDI; drums on channel 10)."),
    out: Path = typer.Argument(..., help="The WAV to write (48 kHz stereo 24-bit BWF)."),
    start: str | None = typer.Option(
        None, "--start", help="Timecode of the cue's start (the BWF TimeReference), e.g. 01:02:03:04."
    ),
    rate: str = typer.Option("24", "--rate", help="Frame rate of --start: 23.976, 24, 25, 29.97 …"),
    soundfont: Path | None = typer.Option(
        None, "--soundfont", help="A .sf2 SoundFont (default: TimGM6mb.sf2, shipped with pretty_midi)."
    ),
    length: float | None = typer.Option(
        None, "--length", help="Seconds to keep (default: to the MIDI's last event)."
    ),
    tail: float = typer.Option(2.0, "--tail", help="Seconds rendered after the end for release tails."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Render a MIDI file with a General MIDI SoundFont to a Broadcast WAV stamped with its start timecode."""
    from posthouse.core.time import timecode_to_samples
    from posthouse.score.mockup import render_cue

    tref = timecode_to_samples(start, rate) if start else 0
    result = render_cue(
        midi, out, time_reference=tref, title=midi.stem, length_s=length, tail_s=tail, soundfont=soundfont
    )
    if as_json:
        print_json(result.to_dict())
        return
    d = result.to_dict()
    console.print(
        f"[bold]{out}[/]: {d['seconds']:.2f} s rendered with {d['engine']} in {d['render_s']:.2f} s "
        f"({d['realtime_factor']}× realtime), TimeReference {tref}"
    )
    for w in result.warnings:
        err_console.print(f"[yellow]warning:[/] {w}", highlight=False)


@handle_errors
def place(
    cut: str = typer.Argument(..., help="The cut version, CUT@vN."),
    cues_file: Path | None = typer.Option(
        None, "--cues", help="Cue list (default: PROJECT/score/CUT_vNNN/cues.json)."
    ),
    soundfont: Path | None = typer.Option(None, "--soundfont", help="A .sf2 SoundFont for the mock-ups."),
    tail: float = typer.Option(2.0, "--tail", help="Seconds of release tail rendered after each cue."),
    fade_in: int = typer.Option(1, "--fade-in", help="Fade-in frames at each cue's start."),
    fade_out: int = typer.Option(12, "--fade-out", help="Fade-out frames at the end of each cue's tail."),
    project_dir: Path | None = PROJECT_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Mock up every spotted cue and place it on the cut's music tracks; write music.otio and the stem.

    For each cue in the cue list, ``CUE/cue.mid`` is rendered when present, else a sketch is written
    (``CUE/sketch.mid``, on ``CUE/tempo.json`` when present, else 100 bpm 4/4) and rendered, to
    ``CUE/cue.wav``. Exit code 1 when a cue failed (the others are still placed).
    """
    from posthouse.core.errors import PosthouseError
    from posthouse.core.project import Project
    from posthouse.core.time import Rate, frames_to_samples, rational_time_to_frames
    from posthouse.picture.cuts import CutRef, CutStore
    from posthouse.score.cues import read_cues, score_dir
    from posthouse.score.mockup import render_cue, sketch_cue_midi
    from posthouse.score.music_edit import (
        MUSIC_EDIT_NAME,
        MUSIC_STEM_NAME,
        CuePlacement,
        build_music_edit,
        render_music_stem,
        save_music_edit,
    )
    from posthouse.score.tempomap import TempoMap

    project = Project.open(project_dir)
    store = CutStore(project.root / "cuts")
    ref = store.resolve(CutRef.parse(cut))
    version = int(ref.version or 1)
    timeline = store.open(ref)
    rate = Rate.parse((timeline.global_start_time or timeline.duration()).rate)
    start_frame = (
        rational_time_to_frames(timeline.global_start_time, rate) if timeline.global_start_time else 0
    )
    out_dir = score_dir(project.root, ref.name, version)
    cues = read_cues(cues_file or out_dir / "cues.json")

    placements: list[CuePlacement] = []
    report: list[dict[str, Any]] = []
    failed = 0
    with rich_progress(enabled=not as_json) as prog:
        prog.start("rendering cues", len(cues))
        for cue in cues:
            folder = out_dir / cue.cue_id
            entry: dict[str, Any] = {"cue_id": cue.cue_id, "title": cue.title}
            try:
                midi: Any = folder / "cue.mid"
                if midi.is_file():
                    entry["midi"] = str(midi)
                else:
                    tempo_path = folder / "tempo.json"
                    tmap = (
                        TempoMap.from_dict(json.loads(tempo_path.read_text(encoding="utf-8")))
                        if tempo_path.is_file()
                        else TempoMap.constant(100.0)
                    )
                    midi = folder / "sketch.mid"
                    sketch_cue_midi(cue, tmap, rate, path=midi)
                    entry["midi"] = str(midi)
                    entry["sketch"] = True
                result = render_cue(
                    midi,
                    folder / "cue.wav",
                    time_reference=frames_to_samples(start_frame + cue.start, rate),
                    cue_id=cue.cue_id,
                    title=cue.title,
                    length_s=float(cue.duration * rate.frame_duration),
                    tail_s=tail,
                    soundfont=soundfont,
                )
                entry.update(result.to_dict())
                placements.append(CuePlacement(cue, result.path, fade_in, fade_out))
            except (PosthouseError, OSError, ValueError) as exc:
                failed += 1
                entry["error"] = str(exc)
            report.append(entry)
            prog.advance()
        prog.finish()
        edit = build_music_edit(timeline, placements, cut_name=str(ref))
        edit_path = save_music_edit(edit, out_dir / MUSIC_EDIT_NAME)
        duration = rational_time_to_frames(edit.duration(), rate)
        prog.start("mixing the music stem", duration)
        done = [0]

        def tick(n: int, total: int) -> None:
            prog.advance(n - done[0])
            done[0] = n

        stem = render_music_stem(edit, out_dir / MUSIC_STEM_NAME, progress=tick)
        prog.finish()
    tracks = {
        str(c.metadata["posthouse"]["cue_id"]): t.name
        for t in edit.tracks
        if t.kind == "Audio"
        for c in t.find_clips()
    }
    for entry in report:
        entry["track"] = tracks.get(entry["cue_id"])
    doc = {"cut": str(ref), "music_edit": str(edit_path), "stem": stem.to_dict(), "cues": report}
    if as_json:
        print_json(doc)
    else:
        for e in report:
            if "error" in e:
                err_console.print(
                    f"[bold red]{e['cue_id']}:[/] {e['error']}", highlight=False, soft_wrap=True
                )
            else:
                how = "sketch" if e.get("sketch") else "MIDI"
                console.print(
                    f"{e['cue_id']:>6} {e['title'][:30]:<30} {how:<6} {e['seconds']:7.2f} s  "
                    f"{e['realtime_factor']}× realtime  on {e['track']}",
                    highlight=False,
                )
        console.print(f"music edit: [bold]{edit_path}[/]\nmusic stem: [bold]{stem.path}[/]")
        for p in stem.problems:
            err_console.print(f"[yellow]warning:[/] {p}", highlight=False)
    if failed:
        raise typer.Exit(EXIT_PARTIAL)
