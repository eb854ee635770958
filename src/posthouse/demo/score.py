"""The demo's scoring stage: spotting notes on the cut → cue list → tempo maps that hit the sync points →
click tracks and MIDI tempo maps → the theme orchestrated for a string quartet → mock-ups rendered with
the General MIDI SoundFont → the music edit and stem → streamers on the reference picture → the cue sheet.

The spotting notes (a cue over the cut with hit points at random frames) are put on the assembly before it
is locked, by :func:`spotting_markers`, as a music editor would after the spotting session.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import opentimelineio as otio

from posthouse.core.fsutil import atomic_write_text
from posthouse.core.progress import NULL_PROGRESS, CancelToken, Progress
from posthouse.core.time import frames_to_samples, rational_time_to_frames

__all__ = ["run_score", "spotting_markers"]

PALETTE = "string-quartet"


def spotting_markers(cut: otio.schema.Timeline, rate: Any, seed: int = 1) -> list[int]:
    """Mark one cue on ``cut`` (MUSIC IN a second in, MUSIC OUT a second before the end) with three hit
    points at random frames between; returns the hit frames."""
    duration = rational_time_to_frames(cut.duration(), rate)
    fps = round(float(rate.fps))
    start, end = fps, max(fps + 4 * fps, duration - fps)
    rng = np.random.default_rng(seed)
    hits = sorted(int(h) for h in rng.choice(np.arange(start + fps, end - fps // 2), size=3, replace=False))

    def mark(name: str, frame: int, comment: str = "") -> None:
        cut.tracks.markers.append(
            otio.schema.Marker(
                name=name,
                marked_range=otio.opentime.TimeRange(
                    otio.opentime.RationalTime(frame, rate.otio_rate),
                    otio.opentime.RationalTime(1, rate.otio_rate),
                ),
                color=otio.schema.MarkerColor.PURPLE,
                comment=comment,
            )
        )

    mark("MUSIC IN", start, "The Last Frame | usage: background | composer: Demo Composer")
    for k, h in enumerate(hits, 1):
        mark("HIT beat" if k == 2 else "HIT", h, f"sync {k}")  # the middle one on any beat
    mark("MUSIC OUT", end)
    return hits


def run_score(
    project_root: Path,
    cut_name: str,
    version: int,
    *,
    progress: Progress = NULL_PROGRESS,
    cancel: CancelToken | None = None,
) -> dict[str, Any]:
    """Run the scoring stage for ``cut_name@v{version}``; returns (and saves) its summary. Resumes: a
    finished stage is not run again."""
    from posthouse.demo.theme import demo_theme
    from posthouse.score.cues import score_dir
    from posthouse.score.cuesheet import cue_sheet_from_timeline, write_cue_sheet
    from posthouse.score.mockup import render_cue, sketch_cue_midi
    from posthouse.score.music_edit import CuePlacement, build_music_edit, render_music_stem, save_music_edit
    from posthouse.score.orchestrate import orchestrate
    from posthouse.score.palette import load_palette
    from posthouse.score.spotting import cut_rate, cut_start_frame, spot_cues, write_cue_list
    from posthouse.score.streamers import cue_events, default_length, render_streamers
    from posthouse.score.tempo import solve_cues

    base = f"{cut_name}_v{version:03d}"
    sdir = score_dir(project_root, cut_name, version)
    summary_path = sdir / "score_summary.json"
    if summary_path.is_file():
        done: dict[str, Any] = json.loads(summary_path.read_text(encoding="utf-8"))
        if Path(done["music_edit"]).is_file():
            return done
    cut = otio.adapters.read_from_file(str(project_root / "cuts" / cut_name / f"v{version:03d}.otio"))
    rate, start = cut_rate(cut), cut_start_frame(cut)
    cues = spot_cues(cut)
    write_cue_list(cues, sdir, title=base)
    summary: dict[str, Any] = {"cues": [], "warnings": list(cues.warnings)}

    theme = demo_theme(sdir / "theme" / "theme.mid")
    arranged = orchestrate(theme, load_palette(PALETTE), sdir / "theme" / PALETTE)
    summary["orchestration"] = {
        "palette": PALETTE,
        "score": str(arranged.score),
        "parts": [str(p) for p in arranged.parts],
        "problems": [p.to_dict() for p in arranged.problems],
    }

    solutions = solve_cues(cues.cues, rate, sdir, cut_start=start, drop=cues.drop)
    placements = []
    made = total = 0
    for cue, solution in zip(cues.cues, solutions, strict=True):
        cdir = sdir / cue.cue_id
        sketch_cue_midi(cue, solution.tempo_map, rate, path=cdir / "sketch.mid")
        tref = frames_to_samples(start + cue.start, rate, 48_000)
        wav = render_cue(
            cdir / "sketch.mid", cdir / "cue.wav", time_reference=tref, cue_id=cue.cue_id, title=cue.title
        )
        placements.append(CuePlacement(cue, wav.path))
        solved = [h for h in solution.hits if h.kind != "any"]
        made += sum(h.made for h in solved)
        total += len(solved)
        summary["cues"].append(
            {
                "cue": cue.cue_id,
                "title": cue.title,
                **solution.to_dict(),
                "click": str(cdir / "click.wav"),
                "tempo_midi": str(cdir / "tempo.mid"),
                "wav": str(wav.path),
            }
        )
    summary["hits_made"], summary["hits_total"] = made, total

    edit = build_music_edit(cut, placements, cut_name=f"{cut_name}@v{version}")
    music_path = save_music_edit(edit, sdir / "music.otio")
    stem = render_music_stem(edit, sdir / "music_stem.wav", cancel=cancel)
    summary["music_stem"] = str(stem.path)
    sheet = cue_sheet_from_timeline(edit, cues=cues)
    csv_path, _html = write_cue_sheet(sheet, sdir, title="The Last Frame", company="posthouse demo")
    summary["cue_sheet"] = str(csv_path)

    reference = project_root / "turnovers" / base / f"{base}_reference.mov"
    if reference.is_file():
        events = cue_events(cues.cues, length=default_length(rate))
        out = sdir / f"{base}_streamers.mov"
        render_streamers(reference, out, events, first_frame_of_action=round(8 * float(rate.fps)), rate=rate)
        summary["streamers"] = str(out)
    summary["music_edit"] = str(music_path)
    atomic_write_text(summary_path, json.dumps(summary, indent=2, default=str) + "\n")
    return summary
