"""Sound QC in one streaming pass: loudness and true peak (through an injected BS.1770 meter), clipping,
silence, dropouts, phase correlation and channel count.

The finishing department may not import ``posthouse.sound``, so the loudness meter is passed in: any
factory ``(sample_rate, channels) -> meter`` whose meter has ``push(block)``, ``result()`` (with
``integrated_lufs`` and ``true_peak_dbtp``) and ``momentary_lufs(step_s)`` — the CLI injects
``posthouse.sound.loudness.LoudnessMeter``. Without one, loudness checks are skipped, not passed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from posthouse.finish.qc_specs import AudioSpec

__all__ = ["AudioAnalyzer", "AudioEvent", "AudioSummary", "LoudnessFactory", "MeterLike"]

_SUB_PER_S = 100  # 10 ms analysis steps
_CLIP_LEVEL = 0.999
_MAX_CLIP_EVENTS = 200


class MeterLike(Protocol):
    """What QC needs of a BS.1770 meter."""

    def push(self, block: Any) -> None: ...

    def result(self) -> Any: ...

    def momentary_lufs(self, step_s: float = 0.1) -> npt.NDArray[np.float64]: ...


LoudnessFactory = Callable[[int, int], MeterLike]


@dataclass(slots=True)
class AudioEvent:
    """A flagged stretch of sound, in seconds."""

    check: str
    severity: str
    start_s: float
    end_s: float
    detail: str


@dataclass(slots=True)
class AudioSummary:
    """Whole-file numbers."""

    integrated_lufs: float = math.nan
    true_peak_dbtp: float = math.nan
    max_momentary_lufs: float = math.nan
    sample_peak_dbfs: float = -math.inf
    phase_correlation: float = math.nan
    duration_s: float = 0.0
    clipped_samples: int = 0


class AudioAnalyzer:
    """Feed ``(channels, n)`` float blocks with :meth:`push`; :meth:`finish` returns events and numbers."""

    def __init__(
        self, sample_rate: int, channels: int, spec: AudioSpec, loudness_fn: LoudnessFactory | None = None
    ) -> None:
        self.rate, self.channels, self.spec = sample_rate, channels, spec
        self.meter = loudness_fn(sample_rate, channels) if loudness_fn is not None else None
        self.sub = sample_rate // _SUB_PER_S
        self._carry = np.zeros((channels, 0), np.float32)
        self._pos = 0
        self._ms: list[npt.NDArray[np.float32]] = []
        self._zero: list[npt.NDArray[np.bool_]] = []
        self._lr: list[npt.NDArray[np.float64]] = []  # (3, subs): LL, RR, LR
        self._clips: list[tuple[int, int]] = []
        self.clipped = 0
        self.peak = 0.0

    def push(self, block: npt.NDArray[np.float32]) -> None:
        """Add one block of samples (any length)."""
        x = np.asarray(block, np.float32)
        if x.ndim == 1:
            x = x[np.newaxis]
        if self.meter is not None:
            self.meter.push(x)
        if x.shape[1]:
            self.peak = max(self.peak, float(np.max(np.abs(x))))
        self._find_clips(x, self._pos + self._carry.shape[1])
        x = np.concatenate((self._carry, x), axis=1) if self._carry.shape[1] else x
        n = (x.shape[1] // self.sub) * self.sub
        self._carry = x[:, n:].copy()
        self._subs(x[:, :n])

    def _subs(self, x: npt.NDArray[np.float32]) -> None:
        if not x.shape[1]:
            return
        k = x.shape[1] // self.sub
        blocks = x.reshape(self.channels, k, self.sub)
        sq = blocks.astype(np.float64) ** 2
        self._ms.append(sq.mean(axis=(0, 2)).astype(np.float32))
        self._zero.append(~np.any(blocks != 0, axis=(0, 2)))
        if self.channels >= 2:
            lr = (blocks[0].astype(np.float64) * blocks[1]).sum(axis=1)
            self._lr.append(np.stack((sq[0].sum(axis=1), sq[1].sum(axis=1), lr)))
        self._pos += x.shape[1]

    def _find_clips(self, x: npt.NDArray[np.float32], offset: int) -> None:
        hot = np.abs(x) >= _CLIP_LEVEL
        if not hot.any():
            return
        edges = np.diff(hot.astype(np.int8), axis=1, prepend=0, append=0)
        for ch in range(x.shape[0]):
            starts = np.flatnonzero(edges[ch] == 1)
            ends = np.flatnonzero(edges[ch] == -1)
            long = (ends - starts) >= self.spec.clip_run
            self.clipped += int((ends - starts)[long].sum())
            for s, e in zip(starts[long].tolist(), ends[long].tolist(), strict=True):
                if len(self._clips) < _MAX_CLIP_EVENTS * 10:
                    self._clips.append((offset + s, offset + e))

    def finish(self) -> tuple[list[AudioEvent], AudioSummary]:
        """Flush and compute every event and whole-file number."""
        spec = self.spec
        self._subs(self._carry[:, : (self._carry.shape[1] // self.sub) * self.sub])
        total = self._pos + self._carry.shape[1] % self.sub
        summ = AudioSummary(duration_s=total / self.rate, clipped_samples=self.clipped)
        summ.sample_peak_dbfs = 20 * math.log10(self.peak) if self.peak > 0 else -math.inf
        events: list[AudioEvent] = []
        ms = np.concatenate(self._ms) if self._ms else np.zeros(0, np.float32)
        zero = np.concatenate(self._zero) if self._zero else np.zeros(0, bool)
        step = 1.0 / _SUB_PER_S
        # silence (long and quiet) and dropouts (short digital zero inside programme)
        quiet = 10 * np.log10(ms.astype(np.float64) + 1e-20) < spec.silence_dbfs
        for s, e in _runs(quiet):
            if (e - s) * step >= spec.silence_min_s:
                events.append(
                    AudioEvent("silence", "warn", s * step, e * step, f"{(e - s) * step:.2f} s silent")
                )
        for s, e in _runs(zero):
            dur = (e - s) * step
            if dur <= spec.dropout_max_s and s > 0 and e < zero.size:
                events.append(
                    AudioEvent("dropout", "fail", s * step, e * step, f"{dur * 1000:.0f} ms of digital zero")
                )
        # clipping, merged within 0.5 s
        merged: list[list[int]] = []
        for s, e in sorted(self._clips):
            if merged and s - merged[-1][1] < self.rate // 2:
                merged[-1][1] = max(merged[-1][1], e)
            else:
                merged.append([s, e])
        for s, e in merged[:_MAX_CLIP_EVENTS]:
            events.append(
                AudioEvent("clipping", "fail", s / self.rate, e / self.rate, "samples at full scale")
            )
        # phase correlation (first two channels), whole file and 1 s windows with sound in them
        if self._lr:
            lr = np.concatenate(self._lr, axis=1)
            tot = lr.sum(axis=1)
            den = math.sqrt(tot[0] * tot[1])
            summ.phase_correlation = float(tot[2] / den) if den > 0 else math.nan
            w = _SUB_PER_S
            k = lr.shape[1] // w
            if k:
                win = lr[:, : k * w].reshape(3, k, w).sum(axis=2)
                dn = np.sqrt(win[0] * win[1])
                loud = dn / (w * self.sub) > 10 ** (spec.silence_dbfs / 10)
                corr = np.where(dn > 0, win[2] / np.maximum(dn, 1e-30), 1.0)
                bad = loud & (corr < spec.min_phase_correlation)
                for s, e in _runs(bad):
                    events.append(
                        AudioEvent(
                            "phase", "warn", float(s), float(e), f"L/R correlation {corr[s:e].min():.2f}"
                        )
                    )
        # loudness
        if self.meter is not None:
            res = self.meter.result()
            summ.integrated_lufs = float(res.integrated_lufs)
            summ.true_peak_dbtp = float(res.true_peak_dbtp)
            mom = np.asarray(self.meter.momentary_lufs(0.1), np.float64)
            summ.max_momentary_lufs = float(mom.max()) if mom.size else -math.inf
            if math.isfinite(spec.max_momentary_lufs) and mom.size:
                # momentary value i covers [0.1 i, 0.1 i + 0.4): report the span the loud windows cover
                for s, e in _runs(mom > spec.max_momentary_lufs):
                    events.append(
                        AudioEvent(
                            "over_loud",
                            "fail",
                            0.1 * s,
                            0.1 * (e - 1) + 0.4,
                            f"momentary loudness up to {mom[s:e].max():.1f} LUFS",
                        )
                    )
        return sorted(events, key=lambda ev: (ev.start_s, ev.check)), summ


def _runs(flags: npt.NDArray[np.bool_]) -> list[tuple[int, int]]:
    """``[start, end)`` index pairs of the True runs."""
    if not flags.size:
        return []
    edges = np.diff(flags.astype(np.int8), prepend=0, append=0)
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(), strict=True))
