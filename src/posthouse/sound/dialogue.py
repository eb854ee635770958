"""Dialogue editing on a sound session: clean every production clip, pick the best mic, fill the gaps.

For each clip on the session's production dialogue tracks (``DX1``, ``DX2`` … as made from the cut; the
boom and lavs of one take are linked by ``metadata["posthouse"]["link"]``) the clip's audio is read with
handles, run through :func:`posthouse.sound.cleanup.clean` (high-pass, hum, de-click, spectral gate,
de-ess) and leveled to a dialogue target, and written as a mono BWF whose ``TimeReference`` puts every
sample exactly where the original played. The session then gets a new dialogue layout:

- ``DX1``: per line (speech region), the cleaned clip of the mic with the best measured SNR (speech
  level over that mic's own room-tone floor), with short crossfades where the mic changes;
  ``DX1B`` … only when linked groups overlap in record time;
- ``DX FILL``: room tone from the neighbouring take's quietest stretch, looped with crossfades, under
  every gap between takes on DX1 (faded in and out under the dialogue);
- ``DX ALT n``: every cleaned clip of input track ``n`` at its place, muted (the alternates);
- ``DX RAW n``: the original tracks, muted; a second run starts again from them.

Bad input never stops the run: a 44.1 kHz (or any other rate) file is resampled to the session rate with
a warning, clipped passages are listed with their timecode, and a clip whose file is missing or unreadable
becomes silence and is listed. :func:`measure_improvement` scores the layout against the demo shoot's
clean dialogue (``shoot/truth/TAKE_dialogue.wav``).
"""

from __future__ import annotations

import copy
import itertools
import json
import math
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import numpy as np
import numpy.typing as npt
import opentimelineio as otio
from scipy import ndimage

from posthouse.core.errors import MediaError, UsageError
from posthouse.core.media.bwf import Bext, IXml, read_bwf, write_bwf
from posthouse.core.progress import NULL_PROGRESS, CancelToken, Progress
from posthouse.core.time import (
    Rate,
    frames_to_samples,
    frames_to_timecode,
    rational_time_to_frames,
    rational_time_to_seconds,
    samples_to_timecode,
)
from posthouse.sound.cleanup import (
    clean,
    detect_clipping,
    level_dialogue,
    noise_floor_dbfs,
    segmental_snr,
    snr_db,
)
from posthouse.sound.session import audio_tracks, place_clip, session_rate, set_track_stem, wav_clip

__all__ = [
    "CleanReport",
    "ClipReport",
    "ClippedRegion",
    "FillReport",
    "Improvement",
    "RegionChoice",
    "TakeImprovement",
    "clean_dialogue",
    "measure_improvement",
]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

_ROLE_CHOSEN, _ROLE_FILL, _ROLE_ALT, _ROLE_RAW = "chosen", "fill", "alternate", "raw"
_SPEECH_MARGIN_DB = 12.0  # a frame is speech when some mic is this far over its own room tone
_ACTIVE_DB = 20.0  # …and it belongs to a line when some mic is this far over (reverb tails excluded)
_LINE_GAP_S = 0.15  # pauses shorter than this stay inside one line
_HYSTERESIS_DB = 2.0  # change mics between lines only for more than this
_TONE_S = 1.0  # room tone stretch taken from a take for fills
_EPS = 1e-12
_OUTPUT_NAME = re.compile(r"[A-Za-z0-9._-]+_\d{3}_[A-Za-z0-9._-]+\.wav|fill_\d{3}\.wav")  # what we write


# ------------------------------------------------------------------------------------------ report


@dataclass(frozen=True)
class ClippedRegion:
    """A run of full-scale samples in a source file (flagged, not repaired)."""

    samples: int
    source_timecode: str
    record_timecode: str


@dataclass(frozen=True)
class ClipReport:
    """What happened to one production clip."""

    track: str
    clip: str
    mic: str
    link: str | None
    source: str
    record_in: int  # record frames from the session start
    record_out: int
    record_timecode: str
    output: str | None = None
    hum_hz: int | None = None
    clicks: int = 0
    deess_max_db: float = 0.0
    noise_floor_before_dbfs: float | None = None
    noise_floor_after_dbfs: float | None = None
    loudness_before_lufs: float | None = None
    level_gain_db: float | None = None
    snr_db: float | None = None  # speech over the mic's own room tone, after cleanup
    clipped: tuple[ClippedRegion, ...] = ()
    resampled_from: int | None = None
    missing: str | None = None  # why the clip became silence
    steps: tuple[str, ...] = ()


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


@dataclass(frozen=True)
class FillReport:
    """Room tone laid under a gap of the dialogue track."""

    record_in: int
    record_out: int
    record_timecode_in: str
    source_mic: str
    source_clip: str
    output: str


@dataclass(frozen=True)
class TakeImprovement:
    """SNR of one cut clip against the shoot's clean dialogue, before (as cut) and after cleanup."""

    take: str
    clip: str
    record_in: int
    record_out: int
    snr_before_db: float
    snr_after_db: float
    segsnr_before_db: float
    segsnr_after_db: float


@dataclass(frozen=True)
class Improvement:
    """Measured improvement over every cut clip that has ground truth (gain fitted by least squares)."""

    takes: tuple[TakeImprovement, ...]
    snr_before_db: float
    snr_after_db: float
    segsnr_before_db: float
    segsnr_after_db: float
    before_track: str
    after_tracks: tuple[str, ...]
    skipped: tuple[str, ...] = ()
    # every raw and cleaned alternate track alone over the same clips: what cleanup does per mic
    per_track: dict[str, dict[str, float]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class CleanReport:
    """Everything :func:`clean_dialogue` did (JSON-able through :meth:`to_dict`)."""

    session: str
    out_dir: str
    sample_rate: int
    target_lufs: float
    clips: list[ClipReport] = field(default_factory=list)
    regions: list[RegionChoice] = field(default_factory=list)
    fills: list[FillReport] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    improvement: Improvement | None = None

    @property
    def resampled(self) -> list[str]:
        """Source files resampled to the session rate."""
        return sorted({c.source for c in self.clips if c.resampled_from is not None})

    @property
    def missing(self) -> list[str]:
        """Clips that became silence, with why."""
        return [f"{c.track} {c.clip}: {c.missing}" for c in self.clips if c.missing]

    @property
    def clipped(self) -> list[str]:
        """Clipped passages as ``track clip: record TC (source TC), n samples``."""
        return [
            f"{c.track} {c.clip}: {r.record_timecode} (source {r.source_timecode}), {r.samples} samples"
            for c in self.clips
            for r in c.clipped
        ]

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["improvement"] = self.improvement.to_dict() if self.improvement is not None else None
        out["resampled"] = self.resampled
        out["missing"] = self.missing
        out["clipped"] = self.clipped
        return out


# ----------------------------------------------------------------------------------------- helpers


def _meta(obj: Any) -> dict[str, Any]:
    meta = obj.metadata.get("posthouse")
    if meta is None:
        obj.metadata["posthouse"] = {}
        meta = obj.metadata["posthouse"]
    return meta  # type: ignore[no-any-return]


def _role(track: otio.schema.Track) -> str | None:
    role = (track.metadata.get("posthouse") or {}).get("role")
    return str(role) if role is not None else None


def _path_of(clip: otio.schema.Clip) -> Path | None:
    ref = clip.media_reference
    if not isinstance(ref, otio.schema.ExternalReference) or not ref.target_url:
        return None
    url = str(ref.target_url)
    return Path(unquote(urlparse(url).path)) if url.startswith("file:") else Path(url)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "clip"


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


# -------------------------------------------------------------------------------------- reading


def _read_input(
    inp: _Input,
    rate: Rate,
    start_frame: int,
    sample_rate: int,
    handle_s: float,
) -> tuple[F32, int, int] | None:
    """The clip's source with handles at ``sample_rate``: ``(audio, time_reference, index of record_in)``;
    ``None`` (with ``inp.report.missing`` set) when it cannot be read."""
    import soundfile as sf

    clip = inp.clip
    path = _path_of(clip)
    n48 = _record_samples(inp.record_out, rate, sample_rate) - _record_samples(
        inp.record_in, rate, sample_rate
    )
    if path is None:
        _set(inp, missing="no media reference")
        return None
    if not path.exists():
        _set(inp, missing=f"file not found: {path}")
        return None
    try:
        info = sf.info(str(path))
    except (RuntimeError, OSError) as exc:
        _set(inp, missing=f"cannot read {path.name}: {exc}")
        return None
    fsr, frames, chans = int(info.samplerate), int(info.frames), int(info.channels)
    meta = clip.metadata.get("posthouse") or {}
    channel = meta.get("channel")
    if channel is not None and not 0 <= int(channel) < chans:
        _set(inp, missing=f"channel {channel} not in the {chans}-channel file {path.name}")
        return None
    ref = clip.media_reference
    avail = ref.available_range if ref is not None else None
    avail_s = rational_time_to_seconds(avail.start_time) if avail is not None else Fraction(0)
    src_s = rational_time_to_seconds(clip.source_range.start_time) if clip.source_range else avail_s
    s0 = round((src_s - avail_s) * fsr)  # file sample at record_in
    n_file = math.ceil(n48 * fsr / sample_rate)
    h = round(handle_s * fsr)
    a, b = max(0, s0 - h), min(frames, s0 + n_file + h)
    if b <= a or b <= s0 or s0 + n_file <= 0:
        _set(inp, missing=f"the clip's source range lies outside {path.name}")
        return None
    try:
        data, _ = sf.read(str(path), start=a, stop=b, dtype="float32", always_2d=True)
    except (RuntimeError, OSError) as exc:
        _set(inp, missing=f"cannot read {path.name}: {exc}")
        return None
    raw = np.ascontiguousarray(data.T[int(channel)] if channel is not None else data.T.mean(axis=0))
    # clipped passages inside the part that plays
    lo, hi = max(s0, a) - a, min(s0 + n_file, b) - a
    clipped = []
    for c0, c1 in detect_clipping(raw[lo:hi]):
        at = lo + c0 + a  # file sample
        since_midnight = round(avail_s * fsr) + at
        rec = inp.record_in + math.floor(Fraction(at - s0, fsr) * rate.fps)
        clipped.append(
            ClippedRegion(
                samples=c1 - c0,
                source_timecode=samples_to_timecode(since_midnight, fsr, rate),
                record_timecode=frames_to_timecode(start_frame + rec, rate),
            )
        )
    resampled: int | None = None
    x = raw
    if fsr != sample_rate:
        from scipy.signal import resample_poly

        g = math.gcd(sample_rate, fsr)
        x = np.asarray(resample_poly(raw, sample_rate // g, fsr // g), np.float32)
        resampled = fsr
    tref = round((avail_s + Fraction(a, fsr)) * sample_rate)
    at_ri = round(src_s * sample_rate)
    off = at_ri - tref
    if off < 0:  # the clip starts before the file: silence first
        x = np.concatenate((np.zeros(-off, np.float32), x))
        tref += off
        off = 0
    if off + n48 > len(x):  # …or runs past its end
        x = np.concatenate((x, np.zeros(off + n48 - len(x), np.float32)))
    inp.report = _replace(inp.report, clipped=tuple(clipped), resampled_from=resampled)
    inp.time_reference, inp.at_record_in = tref, at_ri
    return x, tref, off


def _replace(report: ClipReport, **changes: Any) -> ClipReport:
    from dataclasses import replace

    return replace(report, **changes)


def _set(inp: _Input, **changes: Any) -> None:
    inp.report = _replace(inp.report, **changes)


def _process(
    inp: _Input,
    rate: Rate,
    start_frame: int,
    sample_rate: int,
    out_dir: Path,
    target_lufs: float,
    handle_s: float,
    reduction_db: float,
    warnings: list[str],
) -> None:
    got = _read_input(inp, rate, start_frame, sample_rate, handle_s)
    if got is None:
        warnings.append(f"{inp.track} {inp.clip.name}: {inp.report.missing} — it becomes silence")
        return
    x, tref, off = got
    if inp.report.resampled_from is not None:
        warnings.append(
            f"{inp.report.source}: {inp.report.resampled_from} Hz in a {sample_rate} Hz session, "
            f"resampled (cleaned copy at {sample_rate} Hz)"
        )
    res = clean(x, sample_rate, reduction_db=reduction_db)
    lv = level_dialogue(res.audio, sample_rate, target_lufs=target_lufs)
    y = lv.audio.reshape(-1)
    # per record frame power of the cleaned (pre-level) clip, for the mic choice
    frames = np.arange(inp.record_in, inp.record_out + 1, dtype=np.int64)
    fps = rate.fps  # frames_to_samples (ceil) for every frame boundary at once
    bounds = -((-frames * sample_rate * fps.denominator) // fps.numerator)
    bounds = bounds - bounds[0] + off
    pw = np.asarray(res.audio, np.float64) ** 2
    sums = np.add.reduceat(pw, bounds[:-1]) if len(bounds) > 1 else np.zeros(0)
    inp.frame_power = sums / np.maximum(np.diff(bounds), 1)
    inp.floor_db = noise_floor_dbfs(res.audio, sample_rate)
    inp.tone = _room_tone(y, sample_rate)
    speech = _speech_db(inp.frame_power, inp.floor_db)
    name = f"{_safe(inp.track)}_{inp.number:03d}_{_safe(inp.clip.name)}.wav"
    out = out_dir / name
    src = Path(inp.report.source)
    scene = take = ""
    try:
        info = read_bwf(src)
        if info is not None:
            scene, take = info.scene or "", info.take or ""
    except MediaError:
        pass
    steps = (*res.steps, f"level {target_lufs:g} LUFS ({lv.gain_db:+.1f} dB)")
    write_bwf(
        out,
        y[np.newaxis],
        sample_rate,
        bext=Bext(
            description=f"posthouse dialogue clean: {inp.mic} from {src.name}",
            time_reference=tref,
            coding_history="; ".join(steps),
        ),
        ixml=IXml(scene=scene, take=take, note="cleaned dialogue", track_names=(inp.mic,)),
    )
    inp.output, inp.file_samples = out, len(y)
    _set(
        inp,
        output=str(out),
        hum_hz=res.hum_hz,
        clicks=res.clicks,
        deess_max_db=round(res.deess_max_db, 2),
        noise_floor_before_dbfs=round(res.noise_floor_dbfs_before, 2),
        noise_floor_after_dbfs=round(noise_floor_dbfs(y, sample_rate), 2),
        loudness_before_lufs=None if lv.loudness_before_lufs is None else round(lv.loudness_before_lufs, 2),
        level_gain_db=round(lv.gain_db, 2),
        snr_db=None if speech is None else round(speech - inp.floor_db, 2),
        steps=steps,
    )


def _speech_db(power: F64 | None, floor_db: float) -> float | None:
    """Mean level (dB) of the frames that stand ``_SPEECH_MARGIN_DB`` over ``floor_db``."""
    if power is None or not len(power):
        return None
    db = 10 * np.log10(power + _EPS)
    act = db > floor_db + _SPEECH_MARGIN_DB
    if not np.any(act):
        return None
    return float(10 * np.log10(power[act].mean() + _EPS))


# --------------------------------------------------------------------------------------- choosing


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


# ----------------------------------------------------------------------------------------- layout


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
        _meta(track)["role"] = _ROLE_CHOSEN
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
    _meta(track)["role"] = _ROLE_FILL
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


def _alternate(track_no: int, inputs: Sequence[_Input], rate: Rate, sample_rate: int) -> otio.schema.Track:
    track = otio.schema.Track(name=f"DX ALT {track_no + 1}", kind="Audio")
    set_track_stem(track, "dialogue")
    meta = _meta(track)
    meta.update({"role": _ROLE_ALT, "mute": True})
    for inp in inputs:
        if inp.output is None:
            continue
        orig = dict(inp.clip.metadata.get("posthouse") or {})
        orig.pop("channel", None)
        orig.update({"role": _ROLE_ALT, "mic": inp.mic, "source_clip": inp.clip.name})
        clip = _region_clip(inp, inp.record_in, inp.record_out, rate, sample_rate, orig)
        _meta(clip)["role"] = _ROLE_ALT
        place_clip(track, clip, inp.record_in, rate)
    return track


# ------------------------------------------------------------------------------------------ public


def clean_dialogue(
    session: otio.schema.Timeline,
    out_dir: str | Path,
    *,
    target_lufs: float = -27.0,
    sample_rate: int = 48_000,
    handle_s: float = 1.0,
    reduction_db: float = 12.0,
    crossfade_frames: int = 1,
    fill_fade_frames: int = 2,
    progress: Progress = NULL_PROGRESS,
    cancel: CancelToken | None = None,
) -> CleanReport:
    """Clean every production dialogue clip of ``session`` into ``out_dir`` and lay out the new dialogue
    tracks in ``session`` (modified in place; save it with :func:`posthouse.sound.session.save_session`).

    Input tracks are the unmuted dialogue tracks named ``DXn`` (or, on a second run, the ``DX RAW`` tracks
    the first one kept). Returns the :class:`CleanReport`; no single bad clip stops the run.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rate = session_rate(session)
    start_frame = rational_time_to_frames(session.global_start_time, rate) if session.global_start_time else 0
    dialogue = audio_tracks(session, "dialogue")
    raw = [t for t in dialogue if _role(t) == _ROLE_RAW]
    if raw:
        for t in dialogue:
            if _role(t) in (_ROLE_CHOSEN, _ROLE_FILL, _ROLE_ALT):
                session.tracks.remove(t)
        inputs_tracks = raw
    else:
        inputs_tracks = [
            t
            for t in dialogue
            if _role(t) is None
            and not (t.metadata.get("posthouse") or {}).get("mute")
            and re.fullmatch(r"DX\d+", t.name or "")
        ]
    if not inputs_tracks:
        raise UsageError(
            f"session {session.name!r} has no production dialogue tracks (DX1, DX2 …)",
            hint="make the session from a cut with production sound (posthouse sound session)",
        )
    report = CleanReport(
        session=session.name, out_dir=str(out), sample_rate=sample_rate, target_lufs=target_lufs
    )
    inputs: list[_Input] = []
    for i, track in enumerate(inputs_tracks):
        label = str((track.metadata.get("posthouse") or {}).get("dx_input") or track.name)
        for clip, ri, ro in _walk(track, rate):
            meta = clip.metadata.get("posthouse") or {}
            mic_name = str(meta.get("track_name") or clip.name or label)
            path = _path_of(clip)
            inputs.append(
                _Input(
                    index=i,
                    number=len(inputs) + 1,
                    track=label,
                    clip=clip,
                    record_in=ri,
                    record_out=ro,
                    mic=mic_name,
                    link=meta.get("link"),
                    report=ClipReport(
                        track=label,
                        clip=clip.name,
                        mic=mic_name,
                        link=meta.get("link"),
                        source=str(path) if path is not None else "",
                        record_in=ri,
                        record_out=ro,
                        record_timecode=frames_to_timecode(start_frame + ri, rate),
                    ),
                )
            )
    progress.start("cleaning dialogue", len(inputs))
    for inp in inputs:
        if cancel is not None:
            cancel.raise_if_cancelled()
        _process(
            inp, rate, start_frame, sample_rate, out, target_lufs, handle_s, reduction_db, report.warnings
        )
        progress.advance()
    progress.finish()
    for inp in inputs:
        for region in inp.report.clipped:
            report.warnings.append(
                f"{inp.track} {inp.clip.name}: clipped at {region.record_timecode} "
                f"(source {region.source_timecode}), {region.samples} samples"
            )
    groups = _groups(inputs)
    for g in groups:
        _choose(g, rate)
        for r in g.regions:
            report.regions.append(
                RegionChoice(
                    link=g.link,
                    record_in=r.start,
                    record_out=r.end,
                    record_timecode_in=frames_to_timecode(start_frame + r.start, rate),
                    record_timecode_out=frames_to_timecode(start_frame + r.end, rate),
                    mic=r.mic.mic if r.mic is not None else None,
                    why=r.why(),
                    snr_db=r.scores,
                    speech=r.speech,
                )
            )
    lanes = _lane_tracks(groups, rate, sample_rate, crossfade_frames)
    fill, report.fills = _fills(
        groups, rate, start_frame, sample_rate, out, fill_fade_frames, report.warnings
    )
    alts = [
        _alternate(i, [inp for inp in inputs if inp.index == i], rate, sample_rate)
        for i in range(len(inputs_tracks))
    ]
    where = min(list(session.tracks).index(t) for t in inputs_tracks)
    for i, t in enumerate(inputs_tracks):
        session.tracks.remove(t)
        meta = _meta(t)
        meta.setdefault("dx_input", t.name)
        meta.update({"role": _ROLE_RAW, "mute": True})
        t.name = f"DX RAW {i + 1}"
    for k, t in enumerate([*lanes, fill, *alts, *inputs_tracks]):
        session.tracks.insert(where + k, t)
    report.clips = [inp.report for inp in inputs]
    written = {Path(c.output).name for c in report.clips if c.output} | {
        Path(f.output).name for f in report.fills
    }
    for old in out.glob("*.wav"):  # outputs of an earlier run that this layout no longer uses
        if old.name not in written and _OUTPUT_NAME.fullmatch(old.name):
            old.unlink()
    return report


def measure_improvement(
    session: otio.schema.Timeline, shoot_dir: str | Path, *, sample_rate: int = 48_000
) -> Improvement:
    """SNR and segmental SNR of the dialogue against the demo shoot's clean dialogue, per cut clip:
    before = the first production track as cut (``DX RAW 1``), after = the cleaned layout (``DX1``…);
    ``per_track`` scores each raw track and each cleaned alternate alone over the same clips.

    Both are rendered by the engine, so this also checks that the cleaned clips play in sync. The
    reference is the shoot's ``truth/TAKE_dialogue.wav`` (all characters summed), found through
    ``ground_truth.json`` by the clip's sound file name.
    """
    from posthouse.engine import plan_timeline
    from posthouse.engine.audio import iter_mix_blocks

    shoot = Path(shoot_dir)
    gt_path = shoot / "ground_truth.json"
    try:
        truth = json.loads(gt_path.read_text())
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read the shoot's ground truth: {exc}", path=gt_path) from exc
    by_file = {
        Path(t["sound_file"]).name: (name, shoot / t["dialogue"]["file"])
        for name, t in truth.get("takes", {}).items()
        if "dialogue" in t
    }
    tracks = list(session.tracks)
    raw = [t for t in tracks if _role(t) == _ROLE_RAW]
    chosen = [t for t in tracks if _role(t) == _ROLE_CHOSEN]
    if not raw or not chosen:
        raise UsageError(
            f"session {session.name!r} has no cleaned dialogue layout", hint="run posthouse sound clean first"
        )
    before = raw[0]
    ref_track = copy.deepcopy(before)
    ref_track.name = "TRUTH"
    skipped: list[str] = []
    for clip in ref_track.find_clips():
        path = _path_of(clip)
        hit = by_file.get(path.name) if path is not None else None
        if hit is None or not hit[1].exists():
            skipped.append(f"{clip.name}: no ground truth for {path.name if path else 'it'}")
            clip.media_reference = otio.schema.MissingReference()
            continue
        ref = clip.media_reference
        ref.target_url = hit[1].resolve().as_uri()
        _meta(clip).pop("channel", None)
    others = [t for t in tracks if _role(t) == _ROLE_ALT] + raw[1:]
    probe = otio.schema.Timeline(name="measure", global_start_time=session.global_start_time)
    for t in [ref_track, before, *chosen, *others]:
        probe.tracks.append(copy.deepcopy(t))
    plan = plan_timeline(probe)
    audio = np.concatenate(list(iter_mix_blocks(plan, sample_rate=sample_rate, per_track=True)), axis=1)
    ref, bef = audio[0], audio[1]
    aft = audio[2 : 2 + len(chosen)].sum(axis=0)
    rate = session_rate(session)
    takes: list[TakeImprovement] = []
    spans: list[tuple[int, int]] = []
    for clip, ri, ro in _walk(before, rate):
        path = _path_of(clip)
        hit = by_file.get(path.name) if path is not None else None
        if hit is None or not hit[1].exists():
            continue
        a, b = _record_samples(ri, rate, sample_rate), _record_samples(ro, rate, sample_rate)
        if not np.any(ref[a:b]):
            skipped.append(f"{clip.name}: the ground truth is silent there")
            continue
        spans.append((a, b))
        takes.append(
            TakeImprovement(
                take=hit[0],
                clip=clip.name,
                record_in=ri,
                record_out=ro,
                snr_before_db=round(snr_db(bef[a:b], ref[a:b]), 2),
                snr_after_db=round(snr_db(aft[a:b], ref[a:b]), 2),
                segsnr_before_db=round(segmental_snr(bef[a:b], ref[a:b], sample_rate), 2),
                segsnr_after_db=round(segmental_snr(aft[a:b], ref[a:b], sample_rate), 2),
            )
        )
    if not spans:
        raise UsageError("no cut clip has ground truth in this shoot", path=gt_path)
    weights = np.array([b - a for a, b in spans], np.float64)

    def mean(values: list[float]) -> float:
        v = np.array(values)
        ok = np.isfinite(v)
        return round(float(np.average(v[ok], weights=weights[ok])), 2) if np.any(ok) else float("nan")

    per_track: dict[str, dict[str, float]] = {}
    for k, t in enumerate([before, *others]):
        sig = audio[1] if k == 0 else audio[2 + len(chosen) + k - 1]
        per_track[t.name] = {
            "snr_db": mean([snr_db(sig[a:b], ref[a:b]) for a, b in spans]),
            "segsnr_db": mean([segmental_snr(sig[a:b], ref[a:b], sample_rate) for a, b in spans]),
        }
    return Improvement(
        takes=tuple(takes),
        snr_before_db=mean([t.snr_before_db for t in takes]),
        snr_after_db=mean([t.snr_after_db for t in takes]),
        segsnr_before_db=mean([t.segsnr_before_db for t in takes]),
        segsnr_after_db=mean([t.segsnr_after_db for t in takes]),
        before_track=before.name,
        after_tracks=tuple(t.name for t in chosen),
        skipped=tuple(skipped),
        per_track=per_track,
    )
