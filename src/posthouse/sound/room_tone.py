"""Room tone under the gaps of the dialogue: the ``DX FILL`` track of the cleaned dialogue layout.

Each cleaned clip keeps its room tone: its quietest stretch of ``_TONE_S`` (handles included), or a
shorter one when that would reach into speech. Every gap between takes on ``DX1`` gets the tone of the
take before it (else the one after), looped seamlessly with equal-power crossfades, written as a mono BWF
and faded in and out under the dialogue on either side.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import opentimelineio as otio

from posthouse.core.media.bwf import Bext, IXml, write_bwf
from posthouse.core.time import Rate, frames_to_timecode
from posthouse.sound.cleanup import noise_floor_dbfs
from posthouse.sound.mic_choice import _EPS, _ROLE_FILL, F32, _Group, _Input, _record_samples
from posthouse.sound.session import place_clip, posthouse_meta, set_track_stem, wav_clip

__all__ = ["FillReport"]

_TONE_S = 1.0  # room tone stretch taken from a take for fills


# ------------------------------------------------------------------------------------------ report


@dataclass(frozen=True)
class FillReport:
    """Room tone laid under a gap of the dialogue track."""

    record_in: int
    record_out: int
    record_timecode_in: str
    source_mic: str
    source_clip: str
    output: str


# -------------------------------------------------------------------------------------------- tone


def _quietest(y: F32, sample_rate: int, seconds: float) -> F32:
    """The quietest ``seconds`` stretch of ``y`` (sliding RMS by cumulative sums)."""
    w = min(len(y), round(seconds * sample_rate))
    if w <= 0:
        return np.zeros(0, np.float32)
    c = np.concatenate(([0.0], np.cumsum(np.asarray(y, np.float64) ** 2)))
    hop = max(1, sample_rate // 100)
    starts = np.arange(0, len(y) - w + 1, hop)
    best = int(starts[np.argmin(c[starts + w] - c[starts])])
    return np.asarray(y[best : best + w], np.float32)


def _room_tone(y: F32, sample_rate: int) -> F32:
    """The take's room tone: its quietest stretch of ``_TONE_S`` (handles included), or a shorter one
    when that would reach into speech (more than 3 dB over the take's floor)."""
    floor = noise_floor_dbfs(y, sample_rate, seconds=0.25)
    tone = np.zeros(0, np.float32)
    for seconds in (_TONE_S, _TONE_S / 2, _TONE_S / 4):
        tone = _quietest(y, sample_rate, seconds)
        if len(tone) and 10 * np.log10(np.mean(tone.astype(np.float64) ** 2) + _EPS) <= floor + 3.0:
            break
    return tone


def _loop(tone: F32, n: int, sample_rate: int) -> F32:
    """``n`` samples of ``tone`` looped seamlessly (equal-power crossfade of its tail into its head)."""
    xf = min(len(tone) // 4, round(0.05 * sample_rate))
    if xf < 1 or len(tone) < 2:
        return np.resize(tone, n).astype(np.float32) if len(tone) else np.zeros(n, np.float32)
    t = (np.arange(xf) + 0.5) / xf
    cell = tone[: len(tone) - xf].astype(np.float64)
    cell[:xf] = tone[:xf] * np.sin(t * math.pi / 2) + tone[len(tone) - xf :] * np.cos(t * math.pi / 2)
    return np.resize(cell, n).astype(np.float32)


# ------------------------------------------------------------------------------------------- fills


def _fills(
    groups: Sequence[_Group],
    rate: Rate,
    start_frame: int,
    sample_rate: int,
    out_dir: Path,
    fade: int,
    warnings: list[str],
) -> tuple[otio.schema.Track, list[FillReport]]:
    track = otio.schema.Track(name="DX FILL", kind="Audio")
    set_track_stem(track, "dialogue")
    posthouse_meta(track)["role"] = _ROLE_FILL
    reports: list[FillReport] = []
    spans = sorted((g.start, g.end, g) for g in groups)
    merged: list[list[Any]] = []
    for a, b, g in spans:
        if merged and a <= merged[-1][1]:
            if b >= merged[-1][1]:
                merged[-1][1], merged[-1][3] = b, g
        else:
            merged.append([a, b, g, g])  # start, end, first group, last group
    last_end = 0
    for left, right in itertools.pairwise(merged):
        gap_in, gap_out = left[1], right[0]
        source = _tone_source(left[3], last=True) or _tone_source(right[2], last=False)
        if source is None or source.tone is None or len(source.tone) < sample_rate // 10:
            warnings.append(
                f"no room tone for the gap at {frames_to_timecode(start_frame + gap_in, rate)}: left empty"
            )
            continue
        a = max(gap_in - fade, last_end, 0)
        b = gap_out + fade
        n = _record_samples(b, rate, sample_rate) - _record_samples(a, rate, sample_rate)
        audio = _loop(source.tone, n, sample_rate)
        out = out_dir / f"fill_{len(reports) + 1:03d}.wav"
        write_bwf(
            out,
            audio[np.newaxis],
            sample_rate,
            bext=Bext(description=f"posthouse room tone fill from {source.mic} {source.clip.name}"),
            ixml=IXml(note="room tone fill", track_names=("FILL",)),
        )
        clip = wav_clip(
            out,
            name=f"fill {source.clip.name}",
            frames=b - a,
            rate=rate,
            sample_rate=sample_rate,
            file_samples=n,
            metadata={
                "role": _ROLE_FILL,
                "mic": source.mic,
                "source_clip": source.clip.name,
                "fade_in_frames": gap_in - a,
                "fade_out_frames": b - gap_out,
            },
        )
        place_clip(track, clip, a, rate)
        last_end = b
        reports.append(
            FillReport(
                record_in=a,
                record_out=b,
                record_timecode_in=frames_to_timecode(start_frame + a, rate),
                source_mic=source.mic,
                source_clip=source.clip.name,
                output=str(out),
            )
        )
    return track, reports


def _tone_source(group: _Group, *, last: bool) -> _Input | None:
    mics = [r.mic for r in group.regions if r.mic is not None and r.mic.tone is not None]
    if not mics:
        return None
    return mics[-1] if last else mics[0]
