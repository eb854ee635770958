"""Which microphone plays each line of a take (for :func:`posthouse.sound.dialogue.clean_dialogue`).

The boom and lavs of one take (clips linked by ``metadata["posthouse"]["link"]`` that overlap in record
time) form a group. A record frame is speech when the mics stand ``_ACTIVE_DB`` over their own room tone
and at least two of them hear it (a lav alone — clothing rustle, a touch — is not a line); pauses shorter
than ``_LINE_GAP_S`` stay inside a line. The group is cut at the middle of the pauses between lines and
each line gets the mic with the best SNR (speech level over that mic's own room-tone floor); a change of
mic needs more than ``_HYSTERESIS_DB``. Stretches without speech keep the mic before them (else the
quietest). The chosen regions become the ``DX1`` lanes (``DX1B`` … when linked groups overlap in record
time), with short crossfades where the mic changes.

This module also holds what the dialogue modules share: the per-clip record (``_Input``), the roles of
the layout's tracks and a few small OTIO helpers (used by :mod:`posthouse.sound.room_tone` and
:mod:`posthouse.sound.dialogue_truth`).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import opentimelineio as otio
from scipy import ndimage

from posthouse.core.time import Rate, frames_to_samples, rational_time_to_frames
from posthouse.sound.session import posthouse_meta, set_track_stem, wav_clip

if TYPE_CHECKING:
    from posthouse.sound.dialogue import ClipReport

__all__ = ["RegionChoice"]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

_ROLE_CHOSEN, _ROLE_FILL, _ROLE_ALT, _ROLE_RAW = "chosen", "fill", "alternate", "raw"
_SPEECH_MARGIN_DB = 12.0  # a frame is speech when some mic is this far over its own room tone
_ACTIVE_DB = 20.0  # …and it belongs to a line when some mic is this far over (reverb tails excluded)
_LINE_GAP_S = 0.15  # pauses shorter than this stay inside one line
_HYSTERESIS_DB = 2.0  # change mics between lines only for more than this
_EPS = 1e-12


# ------------------------------------------------------------------------------------------ report


@dataclass(frozen=True)
class RegionChoice:
    """The mic chosen for one stretch of a linked group (a line, or the silence around it)."""

    link: str | None
    record_in: int
    record_out: int
    record_timecode_in: str
    record_timecode_out: str
    mic: str | None
    why: str
    snr_db: dict[str, float] = field(default_factory=dict)  # per mic (dBFS below zero where no speech)
    speech: bool = True


# ------------------------------------------------------------------------------------------ shared


def _role(track: otio.schema.Track) -> str | None:
    role = (track.metadata.get("posthouse") or {}).get("role")
    return str(role) if role is not None else None


@dataclass
class _Input:
    """One production clip, read and cleaned; keeps only what the layout needs (not the audio)."""

    index: int  # input track number (0-based)
    number: int  # running number of the clip among all inputs
    track: str
    clip: otio.schema.Clip
    record_in: int
    record_out: int
    mic: str
    link: str | None
    report: ClipReport
    output: Path | None = None
    time_reference: int = 0  # of the cleaned file, at the session rate
    file_samples: int = 0
    at_record_in: int = 0  # samples since midnight at record_in (the new clip's source start)
    frame_power: F64 | None = None  # mean power per record frame, cleaned before leveling
    floor_db: float = -200.0
    tone: F32 | None = None  # quietest stretch of the cleaned, leveled clip


def _record_samples(frame: int, rate: Rate, sample_rate: int) -> int:
    return frames_to_samples(frame, rate, sample_rate)


def _walk(track: otio.schema.Track, rate: Rate) -> list[tuple[otio.schema.Clip, int, int]]:
    out = []
    pos = 0
    for child in track:
        if isinstance(child, otio.schema.Transition):
            continue
        dur = rational_time_to_frames(child.duration(), rate)
        if isinstance(child, otio.schema.Clip):
            out.append((child, pos, pos + dur))
        pos += dur
    return out


# ---------------------------------------------------------------------------------------- choosing


def _speech_db(power: F64 | None, floor_db: float) -> float | None:
    """Mean level (dB) of the frames that stand ``_SPEECH_MARGIN_DB`` over ``floor_db``."""
    if power is None or not len(power):
        return None
    db = 10 * np.log10(power + _EPS)
    act = db > floor_db + _SPEECH_MARGIN_DB
    if not np.any(act):
        return None
    return float(10 * np.log10(power[act].mean() + _EPS))


@dataclass
class _Group:
    link: str | None
    members: list[_Input]
    start: int = 0
    end: int = 0
    regions: list[_Region] = field(default_factory=list)


def _groups(inputs: Sequence[_Input]) -> list[_Group]:
    """Linked clips that overlap in record time form a group (a take's mics); unlinked clips stand alone."""
    groups: list[_Group] = []
    for inp in sorted(inputs, key=lambda i: (i.record_in, i.index)):
        for g in groups:
            if (
                inp.link is not None
                and g.link == inp.link
                and inp.record_in < g.end
                and g.start < inp.record_out
            ):
                g.members.append(inp)
                g.start, g.end = min(g.start, inp.record_in), max(g.end, inp.record_out)
                break
        else:
            groups.append(_Group(inp.link, [inp], inp.record_in, inp.record_out))
    return groups


def _choose(group: _Group, rate: Rate) -> None:
    """Split the group at the middle of the pauses between lines and give each line the mic with the best
    speech-over-room-tone ratio (a change of mic only for more than ``_HYSTERESIS_DB``); stretches without
    speech keep the mic before them (else the quietest)."""
    live = [m for m in group.members if m.frame_power is not None]
    n = group.end - group.start
    if not live:
        group.regions = [_Region(group.start, group.end, None, {}, False)]
        return
    power = np.full((len(live), n), np.nan)
    for k, m in enumerate(live):
        assert m.frame_power is not None
        power[k, m.record_in - group.start : m.record_out - group.start] = m.frame_power
    floors = np.array([m.floor_db for m in live])
    level = 10 * np.log10(np.nan_to_num(power, nan=0.0) + _EPS)
    hot = np.where(np.isnan(power), False, level - floors[:, None] > _ACTIVE_DB)
    # speech reaches every mic of the take; a lav alone (clothing rustle, a touch) is not a line
    active = hot.sum(axis=0) >= min(2, len(live))
    gap = max(1, round(_LINE_GAP_S * float(rate.fps)))
    if np.any(active):
        padded = np.pad(active, gap)
        active = ndimage.binary_closing(padded, np.ones(gap, bool))[gap:-gap]
        active = ndimage.binary_opening(active, np.ones(2, bool))
    labels, count = ndimage.label(active)
    cuts = [0]
    if count:
        runs = ndimage.find_objects(labels)
        for left, right in itertools.pairwise(runs):
            cuts.append((left[0].stop + right[0].start) // 2)
    cuts.append(n)
    regions: list[_Region] = []
    for a, b in itertools.pairwise(cuts):
        sel = active[a:b]
        speech = bool(np.any(sel))
        scores: dict[str, float] = {}
        best: _Input | None = None
        best_score = -np.inf
        for k, m in enumerate(live):
            seg = power[k, a:b]
            if np.isnan(seg).any():
                continue  # this mic does not cover the whole region
            if speech:  # speech over the mic's room tone
                score = float(10 * np.log10(seg[sel].mean() + _EPS) - floors[k])
            else:  # how quiet it is here (dBFS; higher score = quieter)
                score = -float(10 * np.log10(seg.mean() + _EPS))
            scores[m.mic] = round(score, 1)
            if score > best_score:
                best, best_score = m, score
        prev = regions[-1].mic if regions else None
        if best is None:  # no mic covers it all: the one covering most
            best = live[int(np.argmin(np.isnan(power[:, a:b]).sum(axis=1)))]
        elif (
            prev is not None
            and prev.mic in scores
            and (not speech or scores[prev.mic] >= best_score - _HYSTERESIS_DB)
        ):
            best = prev  # not worth a change of mic
        regions.append(_Region(group.start + a, group.start + b, best, scores, speech))
    group.regions = regions


@dataclass
class _Region:
    start: int
    end: int
    mic: _Input | None
    scores: dict[str, float]
    speech: bool

    def why(self) -> str:
        mic, scores = self.mic, self.scores
        if mic is None:
            return "every microphone of this take is missing: silence"
        others = ", ".join(f"{k} {v:.1f}" for k, v in scores.items() if k != mic.mic)
        if not self.speech:
            quiet = ", ".join(f"{k} {-v:.1f}" for k, v in scores.items())
            return f"{mic.mic}: no speech here, the mic before it kept (level dBFS: {quiet})"
        own = scores.get(mic.mic)
        best = max(scores, key=lambda k: scores[k]) if scores else mic.mic
        head = f"{mic.mic}: speech {own:.1f} dB over its room tone" if own is not None else mic.mic
        if best != mic.mic:
            head += f", within {_HYSTERESIS_DB:g} dB of {best}: no mic change"
        return head + (f" (vs {others})" if others else "")


# ------------------------------------------------------------------------------------------ layout


def _region_clip(
    mic: _Input, start: int, end: int, rate: Rate, sample_rate: int, extra: dict[str, Any]
) -> otio.schema.Clip:
    assert mic.output is not None
    src = (
        mic.at_record_in
        + _record_samples(start, rate, sample_rate)
        - _record_samples(mic.record_in, rate, sample_rate)
    )
    meta = {
        "role": _ROLE_CHOSEN,
        "mic": mic.mic,
        "link": mic.link,
        "source_clip": mic.clip.name,
        "source_track": mic.track,
        **extra,
    }
    return wav_clip(
        mic.output,
        name=mic.clip.name,
        frames=end - start,
        rate=rate,
        sample_rate=sample_rate,
        source_start=src,
        time_reference=mic.time_reference,
        file_samples=mic.file_samples,
        metadata=meta,
    )


def _covers(mic: _Input, frame: int, rate: Rate, sample_rate: int) -> bool:
    """Whether the cleaned file of ``mic`` has audio at record frame boundary ``frame``."""
    idx = (
        mic.at_record_in
        - mic.time_reference
        + _record_samples(frame, rate, sample_rate)
        - _record_samples(mic.record_in, rate, sample_rate)
    )
    return 0 <= idx <= mic.file_samples


def _merged(regions: Sequence[_Region]) -> list[tuple[int, int, _Input | None]]:
    """Neighbouring regions on the same mic as one stretch."""
    out: list[tuple[int, int, _Input | None]] = []
    for r in regions:
        if out and out[-1][2] is r.mic and out[-1][1] == r.start:
            out[-1] = (out[-1][0], r.end, r.mic)
        else:
            out.append((r.start, r.end, r.mic))
    return out


def _lane_tracks(
    groups: Sequence[_Group], rate: Rate, sample_rate: int, crossfade: int
) -> list[otio.schema.Track]:
    lanes: list[list[_Group]] = []
    for g in sorted(groups, key=lambda g: g.start):
        if all(r.mic is None for r in g.regions):
            continue
        for lane in lanes:
            if lane[-1].end <= g.start:
                lane.append(g)
                break
        else:
            lanes.append([g])
    tracks = []
    for k, lane in enumerate(lanes or [[]]):
        track = otio.schema.Track(name="DX1" if k == 0 else f"DX1{chr(ord('A') + k)}", kind="Audio")
        set_track_stem(track, "dialogue")
        posthouse_meta(track)["role"] = _ROLE_CHOSEN
        pos = 0
        for g in lane:
            first = True
            prev: tuple[int, int, _Input] | None = None
            for a, b, mic in _merged(g.regions):
                if mic is None or mic.output is None:
                    continue
                if a > pos:
                    track.append(
                        otio.schema.Gap(duration=otio.opentime.RationalTime(a - pos, rate.otio_rate))
                    )
                orig = mic.clip.metadata.get("posthouse") or {}
                extra: dict[str, Any] = {}
                if "gain_db" in orig:
                    extra["gain_db"] = orig["gain_db"]
                if first and orig.get("fade_in_frames"):
                    extra["fade_in_frames"] = orig["fade_in_frames"]
                if b == g.end and orig.get("fade_out_frames"):
                    extra["fade_out_frames"] = orig["fade_out_frames"]
                if (
                    prev is not None
                    and prev[1] == a
                    and crossfade > 0
                    and min(prev[1] - prev[0], b - a) > 2 * crossfade
                    and _covers(prev[2], a + crossfade, rate, sample_rate)
                    and _covers(mic, a - crossfade, rate, sample_rate)
                ):
                    step = otio.opentime.RationalTime(crossfade, rate.otio_rate)
                    track.append(otio.schema.Transition(name="crossfade", in_offset=step, out_offset=step))
                track.append(_region_clip(mic, a, b, rate, sample_rate, extra))
                pos, first, prev = b, False, (a, b, mic)
        tracks.append(track)
    return tracks
