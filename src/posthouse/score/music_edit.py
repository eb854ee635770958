"""The music edit: mock-up (or final) cue WAVs placed on the cut's music tracks, and the music stem.

A music edit is an OTIO timeline made from the cut: its picture tracks are copied as the reference
(``global_start_time`` kept), and music tracks ``MX1``, ``MX2`` … (``metadata["posthouse"]["stem"] =
"music"``) carry one audio clip per cue at the cue's start frame. A cue's WAV starts at the cue's start
and runs on past its end by the release tail; where that tail reaches into the next cue, the next cue goes
on the other track (checkerboarding). Clips follow the engine's conventions: record positions are whole
frames; the source range counts samples since midnight from the file's BWF ``TimeReference`` (the
reference's available range starts there and spans the file); fades and level are clip
``metadata["posthouse"]`` keys ``fade_in_frames``, ``fade_out_frames``, ``gain_db``, next to the cue's
``cue_id``, ``title``, ``composer``, ``publisher``, ``usage`` and ``source`` for the cue sheet.

The music stem is the engine's mix of the music edit: stereo, 48 kHz, 24-bit BWF whose ``TimeReference``
is the cut's start, streamed block by block.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import opentimelineio as otio

from posthouse.core.errors import MediaError, UsageError
from posthouse.core.fsutil import atomic_write_text
from posthouse.core.media.bwf import Bext, BwfWriter, read_bwf
from posthouse.core.progress import CancelToken
from posthouse.core.time import Rate, frames_to_samples, rational_time_to_frames, samples_to_frames
from posthouse.score.cues import MusicCue

__all__ = [
    "DEFAULT_FADE_IN_FRAMES",
    "DEFAULT_FADE_OUT_FRAMES",
    "MUSIC_EDIT_NAME",
    "MUSIC_STEM_NAME",
    "CuePlacement",
    "StemResult",
    "build_music_edit",
    "load_music_edit",
    "music_tracks",
    "render_music_stem",
    "save_music_edit",
]

MUSIC_EDIT_NAME: Final = "music.otio"
MUSIC_STEM_NAME: Final = "music_stem.wav"
DEFAULT_FADE_IN_FRAMES: Final = 1
DEFAULT_FADE_OUT_FRAMES: Final = 12
SAMPLE_RATE: Final = 48_000


@dataclass(frozen=True, slots=True)
class CuePlacement:
    """A cue and the WAV that plays it (starting at the cue's start), with its fades and level.

    ``fade_out_frames`` ends the clip: by default the fade covers the last frames of the file's tail
    (or of the cut, when the tail would run past it)."""

    cue: MusicCue
    wav: Path
    fade_in_frames: int = DEFAULT_FADE_IN_FRAMES
    fade_out_frames: int = DEFAULT_FADE_OUT_FRAMES
    gain_db: float = 0.0


@dataclass(frozen=True, slots=True)
class StemResult:
    """The rendered music stem."""

    path: Path
    samples: int
    sample_rate: int
    time_reference: int
    problems: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "samples": self.samples,
            "seconds": round(self.samples / self.sample_rate, 6),
            "sample_rate": self.sample_rate,
            "time_reference": self.time_reference,
            "problems": list(self.problems),
        }


def _rate_and_start(timeline: otio.schema.Timeline) -> tuple[Rate, int]:
    rt = timeline.global_start_time or timeline.duration()
    rate = Rate.parse(rt.rate)
    start = rational_time_to_frames(timeline.global_start_time, rate) if timeline.global_start_time else 0
    return rate, start


def _wav_facts(path: Path) -> tuple[int, int, int]:
    """``(samples, sample_rate, time_reference)`` of a WAV."""
    import soundfile as sf

    if not path.is_file():
        raise MediaError("cue WAV not found", path=path, hint="render the cue first (posthouse score render)")
    try:
        info = sf.info(str(path))
    except RuntimeError as exc:
        raise MediaError(f"cannot read WAV: {exc}", path=path) from exc
    bwf = read_bwf(path)
    tref = bwf.time_reference if bwf is not None and bwf.time_reference is not None else 0
    return int(info.frames), int(info.samplerate), int(tref)


def _is_music(track: otio.schema.Track) -> bool:
    meta = track.metadata.get("posthouse") or {}
    return bool(track.kind == otio.schema.TrackKind.Audio and meta.get("stem") == "music")


def music_tracks(timeline: otio.schema.Timeline) -> list[otio.schema.Track]:
    """The audio tracks of ``timeline`` that feed the music stem."""
    return [t for t in timeline.tracks if _is_music(t)]


def build_music_edit(
    cut: otio.schema.Timeline,
    placements: Sequence[CuePlacement],
    *,
    cut_name: str | None = None,
) -> otio.schema.Timeline:
    """The music edit of ``cut``: its picture tracks, then music tracks ``MX1``, ``MX2`` … with one clip per
    cue WAV at the cue's start frame. A clip runs to the end of its file (the release tail included) or
    the cut's end, whichever comes first; a cue whose clip would overlap the one before on a track goes on
    the next free track. Raises ``UsageError`` for a cue outside the cut, ``MediaError`` for an unreadable
    WAV or one not at 48 kHz."""
    rate, _ = _rate_and_start(cut)
    cut_frames = rational_time_to_frames(cut.duration(), rate)
    edit = otio.schema.Timeline(name=f"{cut.name} music", global_start_time=cut.global_start_time)
    edit.metadata["posthouse"] = {"music_edit": {"cut": cut_name or cut.name}}
    for track in cut.tracks:
        if track.kind == otio.schema.TrackKind.Video:
            edit.tracks.append(copy.deepcopy(track))
    tracks: list[tuple[otio.schema.Track, int]] = []  # (track, record frame after its last clip)
    for p in sorted(placements, key=lambda pl: (pl.cue.start, pl.cue.cue_id)):
        cue = p.cue
        if cue.start >= cut_frames:
            raise UsageError(
                f"cue {cue.cue_id} starts at record frame {cue.start}, after the cut's end ({cut_frames})",
                hint="spot the cues again on this cut version",
            )
        samples, sr, tref = _wav_facts(p.wav)
        if sr != SAMPLE_RATE:
            raise MediaError(f"cue {cue.cue_id}: sample rate {sr} Hz is not {SAMPLE_RATE} Hz", path=p.wav)
        frames = min(samples_to_frames(samples, sr, rate, "floor"), cut_frames - cue.start)
        if frames <= 0:
            raise MediaError(f"cue {cue.cue_id}: the WAV is shorter than a frame", path=p.wav)
        fade_in = max(0, min(p.fade_in_frames, frames))
        fade_out = max(0, min(p.fade_out_frames, frames - fade_in))
        slot = next((k for k, (_, end) in enumerate(tracks) if end <= cue.start), None)
        if slot is None:
            track = otio.schema.Track(name=f"MX{len(tracks) + 1}", kind=otio.schema.TrackKind.Audio)
            track.metadata["posthouse"] = {"stem": "music"}
            edit.tracks.append(track)
            tracks.append((track, 0))
            slot = len(tracks) - 1
        track, end = tracks[slot]
        if cue.start > end:
            track.append(
                otio.schema.Gap(duration=otio.opentime.RationalTime(cue.start - end, rate.otio_rate))
            )
        track.append(_clip(p, samples, tref, frames, fade_in, fade_out, rate))
        tracks[slot] = (track, cue.start + frames)
    if not tracks:
        track = otio.schema.Track(name="MX1", kind=otio.schema.TrackKind.Audio)
        track.metadata["posthouse"] = {"stem": "music"}
        edit.tracks.append(track)
    return edit


def _clip(
    p: CuePlacement, samples: int, tref: int, frames: int, fade_in: int, fade_out: int, rate: Rate
) -> otio.schema.Clip:
    cue = p.cue
    n = frames_to_samples(frames, rate, SAMPLE_RATE)
    ref = otio.schema.ExternalReference(
        target_url=p.wav.resolve().as_uri(),
        available_range=otio.opentime.TimeRange(
            otio.opentime.RationalTime(tref, SAMPLE_RATE), otio.opentime.RationalTime(samples, SAMPLE_RATE)
        ),
    )
    meta: dict[str, Any] = {
        "fade_in_frames": fade_in,
        "fade_out_frames": fade_out,
        "gain_db": float(p.gain_db),
        "cue_id": cue.cue_id,
        "title": cue.title,
        "description": cue.description,
        "composer": cue.composer,
        "publisher": cue.publisher,
        "usage": cue.usage,
        "source": cue.source,
        "cue_start": cue.start,
        "cue_end": cue.end,
    }
    return otio.schema.Clip(
        name=f"{cue.cue_id} {cue.title}".strip(),
        media_reference=ref,
        source_range=otio.opentime.TimeRange(
            otio.opentime.RationalTime(tref, SAMPLE_RATE), otio.opentime.RationalTime(n, SAMPLE_RATE)
        ),
        metadata={"posthouse": meta},
    )


def save_music_edit(timeline: otio.schema.Timeline, path: str | Path) -> Path:
    """Write the music edit as OTIO JSON, atomically; returns the path."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(p, otio.adapters.write_to_string(timeline, "otio_json"))
    return p


def load_music_edit(path: str | Path) -> otio.schema.Timeline:
    """Read a music edit (any OTIO timeline) from ``path``."""
    p = Path(path)
    try:
        tl = otio.adapters.read_from_file(str(p))
    except Exception as exc:  # OTIO raises many kinds for unreadable files
        raise MediaError(f"cannot read the music edit: {exc}", path=p) from exc
    if not isinstance(tl, otio.schema.Timeline):
        raise MediaError("not an OTIO timeline", path=p)
    return tl


def render_music_stem(
    music_edit: otio.schema.Timeline,
    out: str | Path,
    *,
    progress: Callable[[int, int], None] | None = None,
    cancel: CancelToken | None = None,
) -> StemResult:
    """Mix the music tracks of ``music_edit`` with the engine into a stereo 48 kHz 24-bit BWF at ``out``
    (``TimeReference`` = the cut's start), streaming block by block. ``progress(done, total)`` counts
    frames. Clips that cannot be read play silent and are listed in the result's ``problems``."""
    from posthouse.engine import plan_timeline
    from posthouse.engine.audio import iter_mix_blocks
    from posthouse.engine.plan import AudioClipPlan

    plan = plan_timeline(music_edit)
    audio = [t for t in music_edit.tracks if t.kind == otio.schema.TrackKind.Audio]
    plan.audio = [clips for clips, t in zip(plan.audio, audio, strict=True) if _is_music(t)]
    plan.audio_names = [n for n, t in zip(plan.audio_names, audio, strict=True) if _is_music(t)]
    tref = frames_to_samples(plan.start_frame, plan.rate, SAMPLE_RATE)
    problems: list[tuple[AudioClipPlan, str]] = []
    bext = Bext(
        description=f"music stem of {music_edit.name}"[:256],
        time_reference=tref,
        coding_history=f"A=PCM,F={SAMPLE_RATE}",
    )
    total = 0
    frames_per_block = 48
    with BwfWriter(out, 2, SAMPLE_RATE, bit_depth=24, bext=bext) as writer:
        for i, block in enumerate(
            iter_mix_blocks(
                plan,
                sample_rate=SAMPLE_RATE,
                frames_per_block=frames_per_block,
                problems=problems,
                cancel=cancel,
            )
        ):
            writer.write(block)
            total += block.shape[1]
            if progress is not None:
                progress(min((i + 1) * frames_per_block, plan.duration), plan.duration)
    notes = tuple(f"{c.track} {c.name!r}: {why}" for c, why in problems)
    return StemResult(Path(out), total, SAMPLE_RATE, tref, notes)
