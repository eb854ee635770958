"""ADR guide tracks: what the actor hears before and under a cue (three beeps, then the production line).

One two-channel Broadcast WAV per cue: channel 1 ``BEEPS`` holds three 1 kHz beeps, one frame long, on
the frames one, two and three timecode seconds before the cue's in point (the fourth beat, at the in
point, is silent: the actor speaks there); channel 2 ``GUIDE`` is the production dialogue (the session's
dialogue tracks that are not ``ADR`` tracks and not muted, or a given guide WAV). The file starts
:data:`PREROLL_S` timecode seconds before the in point and ends :data:`POSTROLL_S` after the out
point; its ``TimeReference`` puts its first sample at that timecode, so it lines up with the cut.

:func:`render_guide` is also the guide a take is aligned against (:func:`posthouse.sound.adr.align_cue`).
This module also reads the timeline settings the cue sheet shares (start frame, drop-frame, the
``posthouse`` metadata), so :mod:`posthouse.sound.adr` imports them from here and not the other way round.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Final

import numpy as np
import numpy.typing as npt
import opentimelineio as otio

from posthouse.core.errors import MediaError
from posthouse.core.media.bwf import Bext, IXml, read_bwf, write_bwf
from posthouse.core.time import Rate, frames_to_samples, rational_time_to_frames
from posthouse.engine.audio import iter_mix_blocks
from posthouse.engine.plan import AudioClipPlan, TimelinePlan, plan_timeline, read_posthouse_meta
from posthouse.sound.session import audio_tracks, session_rate

if TYPE_CHECKING:
    from posthouse.sound.adr import AdrCue

__all__ = [
    "BEEP_DBFS",
    "BEEP_HZ",
    "POSTROLL_S",
    "PREROLL_S",
    "beep_frames",
    "guide_track",
    "render_guide",
    "write_guides",
]

F32 = npt.NDArray[np.float32]

PREROLL_S: Final = 4
"""Timecode seconds of guide track before the in point (the three beeps fall in the last three)."""
POSTROLL_S: Final = 1
"""Timecode seconds of guide track after the out point."""
BEEP_HZ: Final = 1000.0
BEEP_DBFS: Final = -18.0
"""RMS level of the beeps (the sine's peak is 3 dB higher)."""


# ----------------------------------------------------------------------------------------- timeline


def _drop(timeline: otio.schema.Timeline, drop: bool | None) -> bool:
    if drop is not None:
        return drop
    return bool(read_posthouse_meta(timeline).get("drop_frame", False))


def _start_frame(timeline: otio.schema.Timeline, rate: Rate) -> int:
    gst = timeline.global_start_time
    return rational_time_to_frames(gst, rate, "nearest") if gst is not None else 0


# -------------------------------------------------------------------------------------- guide audio


def _muted(track: otio.schema.Track) -> bool:
    return bool(read_posthouse_meta(track).get("mute", False))


def _is_adr_track(name: str) -> bool:
    return name.strip().upper().startswith("ADR")


def _window_plan(plan: TimelinePlan, keep: set[str], first: int, last: int) -> TimelinePlan:
    """``plan`` cut to record frames ``[first, last)`` (renumbered from 0), only the tracks in ``keep``."""
    fps = plan.rate.fps
    tracks: list[list[AudioClipPlan]] = []
    names: list[str] = []
    for name, clips in zip(plan.audio_names, plan.audio, strict=True):
        if name not in keep:
            continue
        out = []
        for clip in clips:
            if clip.end <= first or clip.start >= last:
                continue
            moved = dataclasses.replace(
                clip, record_in=clip.record_in - first, record_out=clip.record_out - first
            )
            if moved.start < 0:  # starts before the window: begin it at the window, further into its file
                cut = -moved.record_in
                moved = dataclasses.replace(
                    moved,
                    record_in=0,
                    head=0,
                    fade_in=0,
                    source_offset=clip.source_offset + Fraction(cut) / fps,
                )
            out.append(moved)
        tracks.append(out)
        names.append(name)
    return TimelinePlan(
        name=plan.name, rate=plan.rate, start_frame=plan.start_frame + first, duration=last - first,
        audio=tracks, audio_names=names,
    )  # fmt: skip


def render_guide(
    timeline: otio.schema.Timeline,
    first: int,
    last: int,
    *,
    guide_wav: str | Path | None = None,
    sample_rate: int = 48_000,
) -> F32:
    """Mono production dialogue of record frames ``[first, last)`` (may reach before the timeline start:
    silence there): the session's dialogue tracks that are not ``ADR`` tracks and not muted, or
    ``guide_wav`` (its channels averaged) placed by its ``TimeReference`` (a file without one is taken to
    start at the timeline start)."""
    rate = session_rate(timeline)
    n_first = frames_to_samples(first, rate, sample_rate)
    n = frames_to_samples(last, rate, sample_rate) - n_first
    if guide_wav is not None:
        return _guide_from_wav(Path(guide_wav), timeline, n_first, n, sample_rate)
    keep = {
        t.name
        for t in audio_tracks(timeline, "dialogue")
        if not _muted(t) and not _is_adr_track(t.name or "")
    }
    plan = _window_plan(plan_timeline(timeline), keep, first, last)
    problems: list[tuple[AudioClipPlan, str]] = []
    blocks = list(iter_mix_blocks(plan, sample_rate=sample_rate, problems=problems))
    if problems:
        clip, why = problems[0]
        raise MediaError(f"cannot render the guide: {clip.name}: {why}", path=clip.path, where=clip.track)
    mix = np.concatenate(blocks, axis=1) if blocks else np.zeros((2, 0), np.float32)
    mono = mix.mean(axis=0).astype(np.float32)
    return np.asarray(mono[:n] if mono.size >= n else np.pad(mono, (0, n - mono.size)), np.float32)


def _guide_from_wav(path: Path, timeline: otio.schema.Timeline, n_first: int, n: int, sr: int) -> F32:
    import soundfile as sf

    rate = session_rate(timeline)
    try:
        info = sf.info(str(path))
    except RuntimeError as exc:
        raise MediaError(f"cannot read the guide: {exc}", path=path) from exc
    if int(info.samplerate) != sr:
        raise MediaError(f"guide is {info.samplerate} Hz, not {sr} Hz", path=path, hint="convert it first")
    bwf = read_bwf(path)
    tref = bwf.time_reference if bwf is not None and bwf.time_reference else None
    if tref is None:  # no TimeReference: the file starts at the timeline start
        tref = frames_to_samples(_start_frame(timeline, rate), rate, sr)
    at = frames_to_samples(_start_frame(timeline, rate), rate, sr) + n_first - tref  # file sample
    out = np.zeros(n, np.float32)
    a, b = max(at, 0), min(at + n, int(info.frames))
    if a < b:
        with sf.SoundFile(str(path)) as fh:
            fh.seek(a)
            data = fh.read(b - a, dtype="float32", always_2d=True)
        out[a - at : b - at] = data.mean(axis=1)
    return out


def beep_frames(cue: AdrCue, rate: Rate | str) -> tuple[int, int, int]:
    """Record frames of the three beeps: three, two and one timecode seconds before the cue's in point."""
    tb = Rate.parse(rate).timebase
    return cue.record_in - 3 * tb, cue.record_in - 2 * tb, cue.record_in - tb


def guide_track(
    timeline: otio.schema.Timeline,
    cue: AdrCue,
    *,
    guide_wav: str | Path | None = None,
    sample_rate: int = 48_000,
) -> tuple[F32, int, int]:
    """The guide track of ``cue``: ``(audio (2, n), first record frame, TimeReference)`` — channel 0 the
    beeps, channel 1 the production guide (see the module notes)."""
    rate = session_rate(timeline)
    tb = rate.timebase
    first, last = cue.record_in - PREROLL_S * tb, cue.record_out + POSTROLL_S * tb
    guide = render_guide(timeline, first, last, guide_wav=guide_wav, sample_rate=sample_rate)
    beeps = np.zeros_like(guide)
    amp = np.float32(10.0 ** (BEEP_DBFS / 20.0) * np.sqrt(2.0))
    base = frames_to_samples(first, rate, sample_rate)
    for frame in beep_frames(cue, rate):
        a = frames_to_samples(frame, rate, sample_rate) - base
        b = frames_to_samples(frame + 1, rate, sample_rate) - base
        t = (np.arange(b - a) + 0.5) / sample_rate  # half a sample in: no sample of the beep is zero
        beeps[a:b] = amp * np.sin(2.0 * np.pi * BEEP_HZ * t)
    start_tc = _start_frame(timeline, rate) + first
    tref = frames_to_samples(start_tc, rate, sample_rate) if start_tc > 0 else 0
    return np.stack([beeps, guide]), first, tref


def write_guides(
    timeline: otio.schema.Timeline,
    cues: Sequence[AdrCue],
    out_dir: str | Path,
    *,
    guide_wav: str | Path | None = None,
    sample_rate: int = 48_000,
    drop: bool | None = None,
) -> list[Path]:
    """Write ``CUE_guide.wav`` for each cue into ``out_dir`` (24-bit BWF, atomically); returns the paths."""
    rate = session_rate(timeline)
    df = _drop(timeline, drop)
    paths = []
    for cue in cues:
        audio, _, tref = guide_track(timeline, cue, guide_wav=guide_wav, sample_rate=sample_rate)
        path = Path(out_dir) / f"{cue.cue_id}_guide.wav"
        write_bwf(
            path,
            audio,
            sample_rate,
            bext=Bext(
                description=f"ADR guide {cue.cue_id} {cue.character}: {cue.line}"[:256],
                time_reference=tref,
            ),
            ixml=IXml(
                project=timeline.name or "",
                scene=cue.cue_id,
                note=f"in {cue.timecode_in} out {cue.timecode_out}; beeps 3-2-1 s before in",
                track_names=("BEEPS", "GUIDE"),
                timecode_rate=rate.fps,
                timecode_drop=df,
            ),
        )
        paths.append(path)
    return paths
