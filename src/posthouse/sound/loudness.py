"""ITU-R BS.1770-4 / EBU R128 loudness meter: integrated, LRA, momentary, short-term, true peak.

Streaming and bounded: audio is K-weighted block by block (filter state carried) and reduced to 10 ms
sub-block energies; 400 ms and 3 s windows are combined from those. Passes EBU Tech 3341 / 3342.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import ndimage, signal

from posthouse.core.errors import UsageError

__all__ = ["LoudnessMeter", "LoudnessResult", "channel_weights", "k_weighting_sos", "measure_file"]

_SUB_PER_S = 100  # 10 ms sub-blocks: fine enough to find max momentary within 0.05 LU (Tech 3341 test 13)
_MOMENTARY = 40  # 400 ms
_SHORT = 300  # 3 s
_HOP = 10  # gating blocks and LRA values step 100 ms
_ABS_GATE = -70.0
_REL_GATE = -10.0
_LRA_REL_GATE = -20.0

FloatArray = npt.NDArray[np.float64]


def k_weighting_sos(sample_rate: int) -> FloatArray:
    """The two K-weighting biquads (shelf, high-pass) for ``sample_rate``, from the analog prototype."""
    f0, gain_db, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = math.tan(math.pi * f0 / sample_rate)
    vh = 10.0 ** (gain_db / 20.0)
    vb = vh**0.4996667741545416
    a0 = 1.0 + k / q + k * k
    shelf = [
        (vh + vb * k / q + k * k) / a0,
        2.0 * (k * k - vh) / a0,
        (vh - vb * k / q + k * k) / a0,
        1.0,
        2.0 * (k * k - 1.0) / a0,
        (1.0 - k / q + k * k) / a0,
    ]
    f0, q = 38.13547087602444, 0.5003270373238773
    k = math.tan(math.pi * f0 / sample_rate)
    a0 = 1.0 + k / q + k * k
    highpass = [1.0, -2.0, 1.0, 1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0]
    return np.array([shelf, highpass], dtype=np.float64)


def channel_weights(channels: int, layout: str | None = None) -> FloatArray:
    """BS.1770 weights: L R C 1.0, surrounds 1.41, LFE 0 (5.1: L R C LFE Ls Rs; 7.1: + Lb Rb)."""
    name = (layout or "").lower()
    if channels == 6 or name in ("5.1", "5.1(side)"):
        if channels != 6:
            raise UsageError(f"layout {layout} needs 6 channels, got {channels}")
        return np.array([1.0, 1.0, 1.0, 0.0, 1.41, 1.41])
    if channels == 8 or name in ("7.1", "7.1(wide)"):
        if channels != 8:
            raise UsageError(f"layout {layout} needs 8 channels, got {channels}")
        return np.array([1.0, 1.0, 1.0, 0.0, 1.41, 1.41, 1.41, 1.41])
    if channels == 5 or name in ("5.0", "5.0(side)"):
        if channels != 5:
            raise UsageError(f"layout {layout} needs 5 channels, got {channels}")
        return np.array([1.0, 1.0, 1.0, 1.41, 1.41])
    if channels < 1:
        raise UsageError(f"channels must be at least 1, got {channels}")
    return np.ones(channels)


def _oversampling(sample_rate: int) -> int:
    if sample_rate < 88200:
        return 4
    return 2


def _lufs(mean_square: float) -> float:
    return -0.691 + 10.0 * math.log10(mean_square) if mean_square > 0.0 else -math.inf


def _db(x: float) -> float:
    return 20.0 * math.log10(x) if x > 0.0 else -math.inf


def _json(x: float) -> float | None:
    return None if math.isinf(x) or math.isnan(x) else round(x, 2)


@dataclass(frozen=True)
class LoudnessResult:
    """A finished measurement; ``-inf`` means silence (or too short to measure)."""

    integrated_lufs: float
    lra_lu: float
    max_momentary_lufs: float
    max_short_term_lufs: float
    true_peak_dbtp: float
    sample_peak_dbfs: float
    duration_s: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; ``-inf`` becomes ``None``."""
        return {
            "integrated_lufs": _json(self.integrated_lufs),
            "lra_lu": _json(self.lra_lu),
            "max_momentary_lufs": _json(self.max_momentary_lufs),
            "max_short_term_lufs": _json(self.max_short_term_lufs),
            "true_peak_dbtp": _json(self.true_peak_dbtp),
            "sample_peak_dbfs": _json(self.sample_peak_dbfs),
            "duration_s": round(self.duration_s, 3),
        }


class LoudnessMeter:
    """Streaming BS.1770-4 meter: :meth:`push` ``(channels, n)`` blocks, then :meth:`result`."""

    def __init__(self, sample_rate: int, channels: int, layout: str | None = None) -> None:
        if sample_rate < 8000:
            raise UsageError(f"sample rate {sample_rate} Hz is too low for BS.1770 metering")
        self.sample_rate = sample_rate
        self.channels = channels
        self._weights = channel_weights(channels, layout)
        self._sos = k_weighting_sos(sample_rate)
        self._zi = np.zeros((self._sos.shape[0], channels, 2))
        self._pos = 0  # samples pushed
        self._sub = 0  # complete sub-blocks so far
        self._partial = 0.0  # energy of the sub-block in progress
        # weighted energy sums per 10 ms sub-block and their lengths, kept small (8 bytes a sub-block:
        # 2.9 MB for two hours) because gating and LRA need the whole history
        self._sums: list[npt.NDArray[np.float32]] = []
        self._lens: list[npt.NDArray[np.int32]] = []
        self._up = _oversampling(sample_rate)
        if self._up > 1:
            # 24 taps per phase, Kaiser: flat within 0.01 dB to 19 kHz at 48 kHz, images below -40 dB;
            # odd length, so the delay is whole and the original samples fall on the output grid
            self._fir = self._up * signal.firwin(
                24 * self._up + 1, 0.5 / self._up, window=("kaiser", 8.0), fs=1.0
            )
        else:
            self._fir = np.ones(1)
        # polyphase: phase p gives the points p/up of the way between samples; phase 0 is the samples
        self._phases = [self._fir[p :: self._up].astype(np.float32) for p in range(1, self._up)]
        self._taps = max((len(ph) for ph in self._phases), default=1)
        self._phase_matrix = np.zeros((self._taps, max(1, self._up - 1)), np.float32)  # (L, phases)
        # a tighter screen than the L1 bound: the 4 largest taps of each phase exactly (in magnitude),
        # the rest bounded by their L1 norm times the window's largest input
        self._screen: list[tuple[npt.NDArray[np.intp], npt.NDArray[np.float32], float]] = []
        for i, ph in enumerate(self._phases):
            self._phase_matrix[: len(ph), i] = ph
            main = np.argsort(-np.abs(ph))[:4]
            tail = float(np.abs(ph).sum() - np.abs(ph[main]).sum())
            self._screen.append((main.astype(np.intp), np.abs(ph[main]).astype(np.float32), tail))
        self._hist = np.zeros((channels, -(-(len(self._fir) - 1) // self._up)), np.float32)
        self._gain_bound = max((float(np.abs(ph).sum()) for ph in self._phases), default=1.0)
        self._hist_peak = 0.0
        self._tp = 0.0
        self._sp = 0.0

    def _boundary(self, k: int) -> int:
        return (k * self.sample_rate) // _SUB_PER_S

    def push(self, block: npt.ArrayLike) -> None:
        """Add ``(channels, n)`` samples (any float dtype; ``(n,)`` accepted for mono)."""
        x = np.asarray(block, dtype=np.float64)
        if x.ndim == 1:
            x = x[np.newaxis, :]
        if x.ndim != 2 or x.shape[0] != self.channels:
            raise UsageError(f"expected ({self.channels}, n) samples, got shape {x.shape}")
        n = x.shape[1]
        if n == 0:
            return
        self._peaks(x)
        if x.any() or self._zi.any():
            y, self._zi = signal.sosfilt(self._sos, x, axis=1, zi=self._zi)
            power = self._weights @ (y * y)
        else:  # digital silence through a filter at rest (a stem with nothing on it): skip the filter
            power = np.zeros(n)
        cs = np.concatenate(([0.0], np.cumsum(power)))
        # sub-block boundaries b_k = k * fs // 100 with pos < b_k <= pos + n
        end = self._pos + n
        last = ((end + 1) * _SUB_PER_S - 1) // self.sample_rate
        ks = np.arange(self._sub + 1, last + 1, dtype=np.int64)
        if ks.size:
            bounds = ks * self.sample_rate // _SUB_PER_S
            vals = cs[bounds - self._pos]
            sums = np.diff(np.concatenate(([-self._partial], vals)))
            starts = np.concatenate(([self._boundary(self._sub)], bounds[:-1]))
            self._sums.append(sums.astype(np.float32))
            self._lens.append((bounds - starts).astype(np.int32))
            self._partial = float(cs[n] - vals[-1])
            self._sub = int(ks[-1])
        else:
            self._partial += float(cs[n])
        self._pos = end

    def _interp_peak(self, joined: npt.NDArray[np.float32], first: int, above: float = 0.0) -> float:
        """Peak of the in-between oversampled points (phases 1..up-1) from input ``first`` on, exact where
        it exceeds ``above`` (points that cannot exceed it are skipped: 0.0 is then returned for them).

        Interpolated point ``k`` is a dot product of the ``L`` inputs ending at ``k``, so it is at most
        the sum of its four largest taps times their inputs plus the other taps' L1 norm times the window's
        largest input; only points whose bound could beat ``above`` are computed, one small matrix product
        each (steady material: about a percent of them).
        """
        stop = joined.shape[1]
        if stop <= first:
            return 0.0
        taps = self._taps
        mag = np.abs(joined).max(axis=0)
        # window max of inputs k-L+1 .. k (a centred filter shifted by origin (L-1)//2, L even)
        win = ndimage.maximum_filter1d(mag, size=taps, mode="constant", cval=0.0, origin=(taps - 1) // 2)
        seg = slice(first, stop)
        bound = np.zeros(stop - first, np.float32)
        for main, weights, tail in self._screen:
            b = win[seg] * np.float32(tail)
            for j, w in zip(main, weights, strict=True):  # |h_j| · |x[k - j]|, k over the block
                b += w * mag[first - j : stop - j]
            np.maximum(bound, b, out=bound)
        cand = np.flatnonzero(bound > above) + first
        if cand.size == 0:
            return 0.0
        if cand.size * 8 > stop - first:  # dense: whole-block convolutions are cheaper
            peak = 0.0
            for phase in self._phases:
                y = signal.oaconvolve(joined, phase[np.newaxis, :], axes=1)[:, first:stop]
                peak = max(peak, float(np.max(np.abs(y))))
            return peak
        vals = joined[:, cand[:, np.newaxis] - np.arange(taps)[np.newaxis, :]]  # (ch, ncand, L)
        return float(np.abs(vals @ self._phase_matrix).max())

    def _peaks(self, x: FloatArray) -> None:
        block_peak = float(np.max(np.abs(x)))
        self._sp = max(self._sp, block_peak)
        self._tp = max(self._tp, block_peak)  # phase 0 of the oversampled signal is the samples
        if self._up == 1:
            return
        h = self._hist.shape[1]
        joined = np.concatenate((self._hist, x.astype(np.float32)), axis=1)
        self._hist = joined[:, joined.shape[1] - h :]
        # exact skip: no interpolated value can exceed (input peak) x (largest polyphase L1 norm)
        if max(block_peak, self._hist_peak) * self._gain_bound > self._tp:
            self._tp = max(self._tp, self._interp_peak(joined, h, self._tp))
        self._hist_peak = float(np.max(np.abs(self._hist))) if h else 0.0

    def _windows(self, width: int, hop: int) -> FloatArray:
        """Mean square of windows of ``width`` sub-blocks ending every ``hop`` sub-blocks."""
        if not self._sums or self._sub < width:
            return np.zeros(0)
        sums = np.concatenate(self._sums).astype(np.float64)
        lens = np.concatenate(self._lens).astype(np.float64)
        cs = np.concatenate(([0.0], np.cumsum(sums)))
        cl = np.concatenate(([0.0], np.cumsum(lens)))
        ends = np.arange(width, len(sums) + 1)
        if hop > 1:
            ends = ends[ends % hop == 0]
        return np.asarray((cs[ends] - cs[ends - width]) / (cl[ends] - cl[ends - width]))

    def momentary_lufs(self, step_s: float = 0.1) -> FloatArray:
        """Momentary loudness (400 ms) every ``step_s`` (multiple of 10 ms), first at 0.4 s."""
        return _to_lufs(self._windows(_MOMENTARY, max(1, round(step_s * _SUB_PER_S))))

    def short_term_lufs(self, step_s: float = 0.1) -> FloatArray:
        """Short-term loudness (3 s) every ``step_s`` (multiple of 10 ms), first at 3 s."""
        return _to_lufs(self._windows(_SHORT, max(1, round(step_s * _SUB_PER_S))))

    def gated_integrated(self, keep: npt.ArrayLike, *, min_fraction: float = 0.5) -> float:
        """Integrated loudness over only the 400 ms blocks where ``keep`` (one flag per 10 ms from the
        start, e.g. speech activity) is set in at least ``min_fraction`` of the block; absolute gate only,
        as dialogue gating does. ``-inf`` when no block qualifies."""
        blocks = self._windows(_MOMENTARY, _HOP)
        if blocks.size == 0:
            return -math.inf
        flags = np.zeros(self._sub, np.float64)
        k = np.asarray(keep, dtype=bool)[: self._sub]
        flags[: k.size] = k
        cs = np.concatenate(([0.0], np.cumsum(flags)))
        ends = np.arange(_MOMENTARY, self._sub + 1)
        ends = ends[ends % _HOP == 0][: blocks.size]
        frac = (cs[ends] - cs[ends - _MOMENTARY]) / _MOMENTARY
        chosen = blocks[: ends.size][frac >= min_fraction]
        return _gated(chosen, -math.inf) if chosen.size else -math.inf

    def result(self) -> LoudnessResult:
        """The measurement so far (the meter can keep taking blocks afterwards)."""
        blocks = self._windows(_MOMENTARY, _HOP)
        integrated = _gated(blocks, _REL_GATE)
        short = self._windows(_SHORT, _HOP)
        lra = _lra(short)
        mom_all = self._windows(_MOMENTARY, 1)
        short_all = self._windows(_SHORT, 1)
        # the true-peak tail: points between the last samples and the silence after them
        tp = self._tp
        if self._up > 1 and self._pos:
            h = self._hist.shape[1]
            pad = np.zeros((self.channels, h + 1), np.float32)
            tp = max(tp, self._interp_peak(np.concatenate((self._hist, pad), axis=1), h, tp))
        return LoudnessResult(
            integrated_lufs=integrated,
            lra_lu=lra,
            max_momentary_lufs=_lufs(float(mom_all.max())) if mom_all.size else -math.inf,
            max_short_term_lufs=_lufs(float(short_all.max())) if short_all.size else -math.inf,
            true_peak_dbtp=_db(tp),
            sample_peak_dbfs=_db(self._sp),
            duration_s=self._pos / self.sample_rate,
        )


def _to_lufs(ms: FloatArray) -> FloatArray:
    with np.errstate(divide="ignore"):
        return np.asarray(-0.691 + 10.0 * np.log10(ms))


def _gated(ms: FloatArray, relative: float) -> float:
    """BS.1770 two-stage gating of block mean squares; returns LUFS."""
    if ms.size == 0:
        return -math.inf
    with np.errstate(divide="ignore"):
        lk = -0.691 + 10.0 * np.log10(ms)
    ms = ms[lk > _ABS_GATE]
    lk = lk[lk > _ABS_GATE]
    if ms.size == 0:
        return -math.inf
    gate = _lufs(float(ms.mean())) + relative
    kept = ms[lk > gate]
    return _lufs(float(kept.mean())) if kept.size else -math.inf


def _lra(short: FloatArray) -> float:
    """EBU Tech 3342 loudness range from 3 s short-term mean squares (100 ms step)."""
    if short.size == 0:
        return 0.0
    with np.errstate(divide="ignore"):
        lk = -0.691 + 10.0 * np.log10(short)
    ms = short[lk > _ABS_GATE]
    lk = lk[lk > _ABS_GATE]
    if ms.size == 0:
        return 0.0
    gate = _lufs(float(ms.mean())) + _LRA_REL_GATE
    kept = lk[lk > gate]
    if kept.size == 0:
        return 0.0
    lo, hi = np.percentile(kept, [10.0, 95.0])
    return float(hi - lo)


def measure_file(path: str | Path, *, block: int = 1 << 16) -> LoudnessResult:
    """Measure a WAV or any movie's first sound stream, streaming."""
    from posthouse.core.errors import MediaError
    from posthouse.core.media.decode import audio_sample_rate, iter_audio_blocks

    p = Path(path)
    meter: LoudnessMeter | None = None
    for chunk in iter_audio_blocks(p, block=block):
        if meter is None:
            meter = LoudnessMeter(audio_sample_rate(p), chunk.shape[0])
        meter.push(chunk)
    if meter is None:
        try:
            rate = audio_sample_rate(p)
        except Exception as exc:
            raise MediaError(f"cannot read sound: {exc}", path=p) from exc
        meter = LoudnessMeter(rate, 1)
    return meter.result()
