"""The demo's sound stage: from the locked cut to a printmaster for every loudness spec.

Session from the locked cut → dialogue cleanup (best mic per line, room tone) with its SNR against the
shoot's clean dialogue → an ADR line re-recorded and aligned to the guide → effects spotted from a
generated UCS library (backgrounds per shot, markers for a knock and a Foley cup) → the score's music
edit (or a stand-in cue) → the mix for each spec (stems and M&E) → the DAW export (AAF + OTIO with WAV media).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import opentimelineio as otio

from posthouse.core.fsutil import atomic_write_text
from posthouse.core.progress import NULL_PROGRESS, CancelToken, Progress
from posthouse.core.time import Rate, frames_to_samples, rational_time_to_frames

__all__ = ["DEMO_SPECS", "run_sound"]

DEMO_SPECS = ("ebu-r128", "atsc-a85", "netflix", "cinema")


def _done(sdir: Path) -> dict[str, Any] | None:
    summary = sdir / "sound_summary.json"
    if not summary.is_file():
        return None
    doc: dict[str, Any] = json.loads(summary.read_text(encoding="utf-8"))
    return doc if all(Path(m["report"]).is_file() for m in doc.get("mix", {}).values()) else None


def _markers(session: otio.schema.Timeline, rate: Rate, duration: int) -> None:
    """The sound supervisor's spotting notes as markers: a knock early on, a cup set down later."""
    for frac, name, comment in ((0.2, "SFX knock", "door knock"), (0.6, "FOLEY cup", "cup set down")):
        frame = int(duration * frac)
        session.tracks.markers.append(
            otio.schema.Marker(
                name=name,
                marked_range=otio.opentime.TimeRange(
                    otio.opentime.RationalTime(frame, rate.otio_rate),
                    otio.opentime.RationalTime(1, rate.otio_rate),
                ),
                color=otio.schema.MarkerColor.CYAN,
                comment=comment,
            )
        )


def _adr(
    session: otio.schema.Timeline, cut: otio.schema.Timeline, shoot_dir: Path, sdir: Path, root: Path
) -> dict[str, Any]:
    """Mark the cut's first line for ADR, "record" it (the same line read again with other timing), align
    it to the guide and measure where its words land against the ground truth."""
    import numpy as np
    import soundfile as sf

    from posthouse.core.time import samples_to_frames
    from posthouse.demo.shoot import FEMALE
    from posthouse.demo.soundscape import room_tone
    from posthouse.demo.speech import synth_line_timed, voice_for
    from posthouse.engine import plan_timeline
    from posthouse.sound.adr import align_cue, timeline_cues, write_cue_sheet
    from posthouse.sound.adr_guides import write_guides

    sr = 48_000
    truth = json.loads((shoot_dir / "ground_truth.json").read_text(encoding="utf-8"))
    plan = plan_timeline(cut)
    rate = plan.rate
    first = plan.audio[0][0]
    line = truth["takes"][first.name.split()[0]]["dialogue"]["lines"][0]
    shift = frames_to_samples(first.record_in, rate, sr) - round(float(first.source_offset) * sr)
    f_in = max(0, samples_to_frames(line["start_sample"] + shift, sr, rate) - 6)
    f_out = samples_to_frames(line["end_sample"] + shift, sr, rate) + 6
    note = f"{line['character']}: {line['text']} | reason: plane over the boom"
    session.tracks.markers.append(
        otio.schema.Marker(
            name="ADR",
            marked_range=otio.opentime.TimeRange(
                otio.opentime.RationalTime(f_in, rate.otio_rate),
                otio.opentime.RationalTime(f_out - f_in, rate.otio_rate),
            ),
            color=otio.schema.MarkerColor.RED,
            comment=note,
        )
    )
    cues = timeline_cues(session)
    cue = cues[0]
    write_cue_sheet(session, sdir / "adr", cues=cues)
    write_guides(session, cues, sdir / "adr" / "guides")
    # the actor's new read: same words, its own timing, 0.9 s into the recording, in a quiet booth
    rng = np.random.default_rng(77)
    voice = voice_for(line["character"], female=line["character"] in FEMALE)
    audio, words = synth_line_timed(line["text"], voice, sr, rng)
    lead = round(0.9 * sr)
    take = np.concatenate([np.zeros(lead), 0.6 * audio, np.zeros(sr)])
    take = take + room_tone(take.size, sr, np.random.default_rng(5), -70)
    take_path = root / "adr_recording" / f"{cue.cue_id}_take1.wav"
    take_path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(take_path), take.astype(np.float32), sr, subtype="PCM_24")
    placed = align_cue(session, cue, take_path, sdir / "adr")
    start = frames_to_samples(placed.record_in, rate, sr)
    landed = placed.result.time_map.guide_at(np.array([w.start for w in words], float) + lead) + start
    expected = np.array([w["start_sample"] + shift for w in line["words"]], float)
    errors = (landed - expected) / sr * 1000.0
    return {
        "cue": cue.cue_id,
        "line": line["text"],
        "track": placed.track,
        "aligned": str(placed.path),
        "residual_median_ms": placed.result.residual_median_ms,
        "residual_max_ms": placed.result.residual_max_ms,
        "word_errors_ms": [round(float(e), 1) for e in errors],
        "word_error_max_ms": float(np.abs(errors).max()),
    }


def run_sound(
    project_root: Path,
    shoot_dir: Path,
    cut_name: str,
    version: int,
    *,
    music: Path | None = None,
    progress: Progress = NULL_PROGRESS,
    cancel: CancelToken | None = None,
) -> dict[str, Any]:
    """Run the sound stage for ``cut_name@v{version}``; returns (and saves) its summary. ``music`` is the
    score department's music edit (``.otio``), imported as the music tracks; without one a stand-in cue
    is laid. Resumes: a finished stage is not run again."""
    from posthouse.demo.music import write_music_cue
    from posthouse.demo.sfx import generate_sfx_library
    from posthouse.sound.daw import export_session
    from posthouse.sound.dialogue import clean_dialogue
    from posthouse.sound.dialogue_truth import measure_improvement
    from posthouse.sound.mixer import mix_session
    from posthouse.sound.session import (
        free_track,
        import_tracks,
        load_session,
        place_clip,
        save_session,
        session_from_cut,
        session_rate,
        wav_clip,
    )
    from posthouse.sound.sfxlib import index_library, load_index
    from posthouse.sound.specs import load_spec
    from posthouse.sound.spotting import cut_events, marker_events, spot

    base = f"{cut_name}_v{version:03d}"
    sdir = project_root / "sound" / base
    cached = _done(sdir)
    if cached is not None:
        return cached
    cut = otio.adapters.read_from_file(str(project_root / "cuts" / cut_name / f"v{version:03d}.otio"))
    session = session_from_cut(cut, cut_name=f"{cut_name}@v{version}")
    rate = session_rate(session)
    frames = rational_time_to_frames(session.duration(), rate)
    summary: dict[str, Any] = {"session": str(sdir / "session.otio")}

    clean = clean_dialogue(session, sdir / "dialogue", progress=progress, cancel=cancel)
    improvement = measure_improvement(session, shoot_dir)
    summary["dialogue"] = {
        "clips": len(clean.clips),
        "fills": len(clean.fills),
        "warnings": list(clean.warnings),
        "snr_before_db": round(improvement.snr_before_db, 2),
        "snr_after_db": round(improvement.snr_after_db, 2),
        "segsnr_before_db": round(improvement.segsnr_before_db, 2),
        "segsnr_after_db": round(improvement.segsnr_after_db, 2),
    }

    summary["adr"] = _adr(session, cut, shoot_dir, sdir, project_root.parent)

    library = generate_sfx_library(project_root.parent / "sfx_library", seed=1)
    index_path = project_root / "sound" / "sfx_index.json"
    index_library([library[0].parent], index_path)
    index = load_index(index_path)
    _markers(session, rate, frames)
    events = [*cut_events(session, "room tone", stem="backgrounds"), *marker_events(session)]
    spotted = spot(session, index, events)
    summary["effects"] = {
        "library_files": len(library),
        "placed": [f"{p.track} {Path(p.path).name} @ {p.event.frame}" for p in spotted.placed],
        "skipped": [s.to_dict() for s in spotted.skipped],
    }

    if music is not None and music.is_file():  # the score department's music edit
        summary["music"] = {"from": str(music), "tracks": import_tracks(session, load_session(music))}
    else:  # a stand-in pad under the whole cut
        cue = write_music_cue(sdir / "music" / "1M1.wav", seconds=frames / float(rate.fps))
        track = free_track(session, "music", 0, frames)
        clip = wav_clip(
            cue,
            name="1M1",
            frames=frames,
            rate=rate,
            file_samples=frames_to_samples(frames, rate, 48_000),
            metadata={"gain_db": -6.0, "fade_in_frames": 24, "fade_out_frames": 48},
        )
        place_clip(track, clip, 0, rate)
        summary["music"] = {"from": str(cue), "tracks": [track.name]}
    save_session(session, sdir / "session.otio")

    summary["mix"] = {}
    for name in DEMO_SPECS:
        out = sdir / "mix" / name
        report = mix_session(
            session,
            out,
            load_spec(name),
            name=base,
            stems=name == "netflix",
            progress=progress,
            cancel=cancel,
        )
        atomic_write_text(out / "mix_report.json", json.dumps(report.to_dict(), indent=2) + "\n")
        summary["mix"][name] = {
            "passed": report.passed,
            "gating": report.gating,
            "target_lufs": report.target_lufs,
            "measured_lufs": {k: round(v, 2) for k, v in report.measured_after.items()},
            "true_peak_dbtp": {k: round(v, 2) for k, v in report.true_peak_after.items()},
            "printmaster": {o.layout: str(o.path) for o in report.outputs if o.stem == "printmaster"},
            "me": {o.layout: str(o.path) for o in report.outputs if o.stem == "me"},
            "report": str(out / "mix_report.json"),
        }

    daw = export_session(session, sdir / "daw" / base, name=base)
    summary["daw"] = {"aaf": str(daw.aaf_path), "otio": str(daw.otio_path), "clips": len(daw.clips)}
    atomic_write_text(sdir / "sound_summary.json", json.dumps(summary, indent=2) + "\n")
    return summary
