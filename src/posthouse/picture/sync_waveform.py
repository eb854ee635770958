"""Waveform sync: where a camera's scratch track lies in the production sound, and how the clocks drift.

Memory stays bounded by the coarse rate and a few short windows, whatever the take's length:

1. **Coarse.** Both signals are streamed once, low-passed and decimated to 8 kHz; up to
   ``coarse_span_s`` of the scratch (its loudest stretch) is located in the whole production sound by a
   GCC-PHAT correlation (200–3400 Hz), which keeps a few candidate peaks at least 50 ms apart.
2. **Fine.** Up to ``max_windows`` windows of ``window_s`` seconds, spread across the take where the
   scratch is loudest, are each correlated at the sound's full rate (PHAT, 200 Hz–8 kHz) within ±50 ms
   of where the candidate puts them, and refined below a sample. The windows that agree (a consensus,
   not a median: most may be wrong) are fitted with a straight line, whose value at the scratch's first
   sample is the offset at the picture's first frame and whose slope is the recorder's drift in ppm.
   When fewer than two windows agree, longer windows are tried (noise averages out over length), then
   the next candidate.

Whitening matters here: the camera mic is distant and reverberant, and a plain correlation locks onto
the room (a strong reflection, tens of milliseconds off), where the phase-only correlation keeps the
direct sound. Full-rate audio is kept from the first pass when a stream is shorter than ``keep_s``
seconds; longer streams are read again for just the windows.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
from scipy import signal as sps

from posthouse.picture.sync_dsp import Correlation, Decimator, fit_drift, gcc_phat, gcc_phat_peaks

__all__ = ["COARSE_RATE", "MonoStream", "WaveformFit", "align", "array_stream", "file_stream", "read_ranges"]

F32 = npt.NDArray[np.float32]

COARSE_RATE: Final = 8000
_COARSE_BAND: Final = (200.0, 3400.0)
_FINE_BAND: Final = (200.0, 8000.0)
_BLOCK: Final = 1 << 16
_WINDOW_NOISE_MIN: Final = 4.5  # a window's peak-to-RMS (over ±50 ms of lags) below this: no match
_FINE_SEARCH_S: Final = 0.05  # windows look this far either side of where the coarse offset puts them
_GOOD_ENOUGH: Final = 0.6  # stop trying coarse candidates once a fit is this confident
_MAX_PPM: Final = 100.0  # drift beyond this is not a clock, it is a wrong sample rate


@dataclass(frozen=True, slots=True)
class MonoStream:
    """A mono signal read from its first sample in 1-D float32 blocks by ``open()``, at ``rate`` Hz."""

    open: Callable[[], Iterator[F32]]
    rate: int


def array_stream(signal: npt.NDArray[np.floating], rate: int, block: int = _BLOCK) -> MonoStream:
    """A :class:`MonoStream` over an in-memory 1-D array (tests, or audio already decoded)."""
    data = np.asarray(signal, np.float32)

    def blocks() -> Iterator[F32]:
        for start in range(0, data.size, block):
            yield data[start : start + block]

    return MonoStream(blocks, int(rate))


def file_stream(path: str | Path, rate: int, *, channel: int | None = 0, stream: int = 0) -> MonoStream:
    """A :class:`MonoStream` decoding a file with :func:`~posthouse.core.media.iter_audio_blocks`.

    ``channel`` picks one channel (clamped to the channels present); ``None`` mixes them all.
    """
    from posthouse.core.media import iter_audio_blocks

    def blocks() -> Iterator[F32]:
        for chunk in iter_audio_blocks(path, block=_BLOCK, stream=stream):
            if channel is None:
                yield np.mean(chunk, axis=0, dtype=np.float32)
            else:
                yield np.array(chunk[min(channel, chunk.shape[0] - 1)], np.float32)

    return MonoStream(blocks, int(rate))


@dataclass(frozen=True, slots=True)
class WaveformFit:
    """Where the reference lies in the target.

    ``offset``: the target's (fractional) sample index under the reference's first sample, in target
    samples; ``drift_ppm``: target clock minus reference clock (positive: the target takes more samples a
    second), ``None`` when fewer than two windows agreed; ``confidence`` 0..1; ``windows``/``tried``: fine
    windows that agreed / were correlated; ``coarse_offset`` and ``coarse_noise`` (peak-to-RMS) from the
    8 kHz search.
    """

    offset: float
    drift_ppm: float | None
    confidence: float
    windows: int
    tried: int
    coarse_offset: float
    coarse_noise: float
    residual: float = 0.0  # RMS distance of the agreeing windows from the fitted line, in samples


@dataclass(slots=True)
class _Survey:
    low: F32  # at COARSE_RATE
    full: F32 | None  # at the stream's rate, when short enough to keep
    length: int  # samples at the stream's rate


def _survey(stream: MonoStream, keep: int) -> _Survey:
    factor = max(1, stream.rate // COARSE_RATE)
    dec = Decimator(stream.rate, factor, low=_COARSE_BAND[0], high=_COARSE_BAND[1])
    kept: list[F32] | None = []
    length = 0
    for block in stream.open():
        dec.push(block)
        length += block.size
        if kept is not None and length <= keep:
            kept.append(block)
        else:
            kept = None
    low = dec.result()
    ratio = Fraction(COARSE_RATE) / Fraction(stream.rate, factor)
    if ratio != 1 and low.size:
        low = sps.resample_poly(low, ratio.numerator, ratio.denominator).astype(np.float32)
    full = (np.concatenate(kept) if kept else np.zeros(0, np.float32)) if kept is not None else None
    return _Survey(low, full, length)


def read_ranges(stream: MonoStream, ranges: list[tuple[int, int]]) -> list[F32]:
    """Copy sample ranges ``[lo, hi)`` out of a stream in one pass (zero where the stream has ended)."""
    out = [np.zeros(max(0, hi - lo), np.float32) for lo, hi in ranges]
    end = max((hi for _, hi in ranges), default=0)
    pos = 0
    for block in stream.open():
        a, b = pos, pos + block.size
        for (lo, hi), buf in zip(ranges, out, strict=True):
            s, e = max(lo, a), min(hi, b)
            if s < e:
                buf[s - lo : e - lo] = block[s - a : e - a]
        pos = b
        if pos >= end:
            break
    return out


def _slices(stream: MonoStream, survey: _Survey, ranges: list[tuple[int, int]]) -> list[F32]:
    if survey.full is None:
        return read_ranges(stream, ranges)
    out = []
    for lo, hi in ranges:
        buf = np.zeros(hi - lo, np.float32)
        s, e = max(lo, 0), min(hi, survey.full.size)
        if s < e:
            buf[s - lo : e - lo] = survey.full[s:e]
        out.append(buf)
    return out


def _energy(low: F32, span: int) -> npt.NDArray[np.float64]:
    """Energy of every ``span``-sample stretch of ``low`` (index = start)."""
    c = np.concatenate(([0.0], np.cumsum(np.asarray(low, np.float64) ** 2)))
    result: npt.NDArray[np.float64] = c[span:] - c[:-span]
    return result


def _coarse(ref: _Survey, tgt: _Survey, span_s: float, count: int) -> tuple[list[Correlation], int, int]:
    """Locate (part of) the reference in the target at 8 kHz: candidate correlations (best first, at least
    the fine search's reach apart), and the reference segment's start and length (coarse samples)."""
    span = min(ref.low.size, round(span_s * COARSE_RATE))
    start = 0
    if span < ref.low.size:
        start = int(np.argmax(_energy(ref.low, span)[:: COARSE_RATE // 4])) * (COARSE_RATE // 4)
    apart = round(_FINE_SEARCH_S * COARSE_RATE)

    def peaks(a: int, b: int) -> list[Correlation]:
        return gcc_phat_peaks(
            ref.low[a:b], tgt.low, COARSE_RATE, band=_COARSE_BAND, count=count, separation=apart, refine=False
        )

    best = peaks(start, start + span)
    # Scratch that the sound does not cover only adds noise (and, with steady voices, pitch-period
    # ambiguity): correlate once more on the overlap alone and keep the clearer answer.
    shift = best[0].integer_lag - start  # target index under reference index 0
    a, b = max(start, -shift), min(start + span, tgt.low.size - shift)
    if b - a >= COARSE_RATE // 2 and (a > start or b < start + span):
        again = peaks(a, b)
        if again[0].noise > best[0].noise:
            return again, a, b - a
    return best, start, span


def _pick_windows(ref_low: F32, lo: int, hi: int, length: int, rate: int, count: int) -> list[int]:
    """Up to ``count`` window starts (reference samples) in ``[lo, hi]``, one per equal region, each at
    the loudest spot of its region (scored on the 8 kHz signal)."""
    if hi < lo:
        return []
    regions = max(1, min(count, (hi - lo) // max(1, length) + 1))
    span_c = max(1, round(length * COARSE_RATE / rate))
    energy = _energy(ref_low, span_c) if ref_low.size >= span_c else np.zeros(1)
    edges = np.linspace(lo, hi, regions + 1)
    step = max(1, rate // 20)
    starts: list[int] = []
    for a, b in itertools.pairwise(edges):
        candidates = np.arange(math.ceil(a), math.floor(b) + 1, step)
        if candidates.size == 0:
            candidates = np.array([round(a)])
        idx = np.minimum((candidates * COARSE_RATE) // rate, energy.size - 1)
        starts.append(int(candidates[int(np.argmax(energy[idx]))]))
    return sorted(set(starts))


def _score(x: float, low: float, high: float) -> float:
    return float(np.clip((x - low) / (high - low), 0.0, 1.0))


def _overlap(ref: _Survey, tgt: _Survey, offset: float, scale: float) -> tuple[int, int]:
    """First reference sample inside the target at ``offset``, and how many follow (reference samples)."""
    lo = max(0, math.ceil(-offset / scale))
    return lo, max(0, min(ref.length, math.floor((tgt.length - offset) / scale)) - lo)


@dataclass(frozen=True, slots=True)
class _Pass:
    """One coarse candidate, checked by fine windows of one length."""

    coarse_offset: float  # target samples under reference sample 0
    coarse_centre: float  # target position where the coarse figure holds (middle of its segment)
    coarse_noise: float
    length: int  # window length, reference samples


def _fine(
    reference: MonoStream, target: MonoStream, ref: _Survey, tgt: _Survey, plan: _Pass, max_windows: int
) -> WaveformFit:
    rr, tr = reference.rate, target.rate
    scale = tr / rr  # target samples per reference sample
    lo, overlap = _overlap(ref, tgt, plan.coarse_offset, scale)
    length = min(plan.length, overlap)
    starts = (
        _pick_windows(ref.low, lo, lo + overlap - length, length, rr, max_windows)
        if length >= rr // 8
        else []
    )
    positions: list[float] = []
    found: list[float] = []
    noise: list[float] = []
    if starts:
        windows = _slices(reference, ref, [(s, s + length) for s in starts])
        plans = []
        for s in starts:
            pos = s * scale
            drift = math.ceil(_MAX_PPM * 1e-6 * abs(pos - plan.coarse_centre))
            plans.append((pos, math.floor(plan.coarse_offset + pos), round(_FINE_SEARCH_S * tr) + drift + 2))
        span_t = math.ceil(length * scale)
        ranges = [(max(0, b - m), min(tgt.length, b + span_t + m)) for _, b, m in plans]
        segments = _slices(target, tgt, ranges)
        ratio = Fraction(tr, rr)
        for window, (pos, base, margin), (seg_lo, _), segment in zip(
            windows, plans, ranges, segments, strict=True
        ):
            if ratio != 1:
                window = sps.resample_poly(window, ratio.numerator, ratio.denominator).astype(np.float32)
            if segment.size < 16 or not np.any(window):
                continue
            c = gcc_phat(
                window, segment, tr, band=_FINE_BAND, lags=(base - margin - seg_lo, base + margin - seg_lo)
            )
            # A lag over a window is the drift's average across it: it holds at the window's centre.
            half = length * scale / 2
            positions.append(pos + half)
            found.append(seg_lo + c.lag + half)
            noise.append(c.noise)
    coarse_score = _score(plan.coarse_noise, 6.0, 16.0)
    usable = [i for i, n in enumerate(noise) if n >= _WINDOW_NOISE_MIN]
    if not usable:
        return WaveformFit(
            offset=plan.coarse_offset,
            drift_ppm=None,
            confidence=0.2 * coarse_score,
            windows=0,
            tried=len(noise),
            coarse_offset=plan.coarse_offset,
            coarse_noise=plan.coarse_noise,
        )
    p = np.array([positions[i] for i in usable])
    y = np.array([found[i] for i in usable])
    w = np.array([noise[i] for i in usable])
    offset, slope, inliers = fit_drift(p, y, w, tolerance=2.0, max_ppm=_MAX_PPM)
    used = int(inliers.sum())
    drift_ppm = (slope - 1.0) * 1e6 if used >= 2 and np.ptp(p[inliers]) >= 0.5 * tr else None
    if drift_ppm is None:
        slope = 1.0
        offset = float(np.average((y - p)[inliers], weights=w[inliers]))
    residual = float(np.sqrt(np.mean((y - (offset + slope * p))[inliers] ** 2)))
    # Each agreeing window is independent evidence: a clear peak in ±50 ms of lags is no accident, and
    # two windows landing on the same lag by chance even less so.
    doubt = float(np.prod([1.0 - _score(n, _WINDOW_NOISE_MIN, 9.0) for n in w[inliers]]))
    if used >= 2:
        doubt *= 0.5
    return WaveformFit(
        offset=offset,
        drift_ppm=drift_ppm,
        confidence=0.2 * coarse_score + 0.8 * (1.0 - doubt),
        windows=used,
        tried=len(noise),
        coarse_offset=plan.coarse_offset,
        coarse_noise=plan.coarse_noise,
        residual=residual,
    )


def align(
    reference: MonoStream,
    target: MonoStream,
    *,
    window_s: float = 2.0,
    max_windows: int = 6,
    coarse_span_s: float = 30.0,
    keep_s: float = 180.0,
    candidates: int = 3,
) -> WaveformFit | None:
    """Find where ``reference`` (the camera's scratch) lies in ``target`` (the production sound).

    Returns ``None`` when either is empty. Offsets and drift are in target samples; the reference may
    have another sample rate (its windows are resampled to the target's rate). When the windows do not
    agree, longer windows are tried (noise averages out over length), then the next coarse candidates.
    """
    ref = _survey(reference, round(keep_s * reference.rate))
    tgt = _survey(target, round(keep_s * target.rate))
    if ref.low.size < 16 or tgt.low.size < 16:
        return None
    tr = target.rate
    found, seg_start, seg_len = _coarse(ref, tgt, coarse_span_s, candidates)
    centre = (seg_start + seg_len / 2) * tr / COARSE_RATE
    best: WaveformFit | None = None
    for candidate in found:
        offset = (candidate.lag - seg_start) * tr / COARSE_RATE
        _, overlap = _overlap(ref, tgt, offset, tr / reference.rate)
        length = round(window_s * reference.rate)
        if overlap < 3 * length:  # a short overlap: shorter windows, so that drift stays measurable
            length = max(min(overlap, reference.rate // 2), overlap // 3)
        while length > 0:
            fit = _fine(
                reference, target, ref, tgt, _Pass(offset, centre, candidate.noise, length), max_windows
            )
            if best is None or fit.confidence > best.confidence:
                best = fit
            if fit.windows >= 2 or length >= overlap:
                break
            length = min(2 * length, overlap)
        if best is not None and best.confidence >= _GOOD_ENOUGH:
            break
    return best
