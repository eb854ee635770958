"""A streaming look-ahead true-peak limiter, vectorised (no per-sample Python).

Per sample the required gain is ``ceiling / true peak`` (4× oversampled, as BS.1770's meter sees it),
capped at 1. A sliding minimum over ±W samples followed by a moving average over ±W gives a smooth gain
that is never above the requirement at any sample (every average window only holds minima that include
that sample), so the attack is 2W long and needs no feedback. The release is a one-pole smoothing of that
gain (the lower of the two wins), so the level comes back gently. All channels share one gain, which keeps
the image and lets stems limited with the printmaster's gain still sum to it.

The output lags the input by :attr:`TruePeakLimiter.latency` samples; :meth:`process` returns what is
ready and :meth:`flush` the rest, so the total output length equals the input length.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from scipy import ndimage, signal

__all__ = ["TruePeakLimiter"]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

_OVERSAMPLE = 4
_TP_MARGIN = 24  # input samples either side the 4x interpolator needs


class TruePeakLimiter:
    """Limit ``(channels, n)`` float blocks to ``ceiling_dbtp`` true peak.

    With ``detect_channels`` only the first that many channels set the gain (a printmaster, say); the
    gain is applied to every channel (the stems stacked after it), so they stay in step."""

    def __init__(
        self,
        sample_rate: int,
        channels: int,
        ceiling_dbtp: float,
        *,
        attack_ms: float = 2.5,
        release_ms: float = 80.0,
        margin_db: float = 0.15,
        detect_channels: int | None = None,
    ) -> None:
        self.channels = channels
        self._detect = detect_channels or channels
        self.ceiling = 10.0 ** ((ceiling_dbtp - margin_db) / 20.0)
        self._w = max(1, round(attack_ms * sample_rate / 2000.0))
        self._a = math.exp(-1.0 / max(1.0, release_ms * sample_rate / 1000.0))
        self.latency = 2 * self._w + _TP_MARGIN
        self._back = 2 * self._w + _TP_MARGIN  # history kept before the next output sample
        self._buf = np.zeros((channels, self._back), np.float32)  # silence before the start
        self._zi = np.array([1.0])  # release smoother state: unity gain
        self._in = 0
        self._out = 0
        self.max_reduction_db = 0.0
        self.limited_samples = 0

    def _gain(self, x: F32, first: int, count: int) -> F64:
        """Gains for ``count`` samples starting at ``x[:, first]`` (``x`` holds the margins around them)."""
        up = signal.resample_poly(x.astype(np.float64), _OVERSAMPLE, 1, axis=1)
        peak = np.abs(up).reshape(x.shape[0], x.shape[1], _OVERSAMPLE).max(axis=(0, 2))
        peak = np.maximum(peak, np.abs(x).max(axis=0))
        with np.errstate(divide="ignore"):
            req = np.minimum(1.0, self.ceiling / np.maximum(peak, 1e-12))
        w = self._w
        lo = first - 2 * w
        hi = first + count + 2 * w
        seg = req[lo:hi]
        h = ndimage.minimum_filter1d(seg, size=2 * w + 1, mode="nearest")
        cs = np.concatenate(([0.0], np.cumsum(h)))
        k = np.arange(w, w + count)  # output j averages h[j - w .. j + w]; k = j - w in seg's indices
        fast = (cs[k + 2 * w + 1] - cs[k]) / (2 * w + 1)
        slow, self._zi = signal.lfilter([1.0 - self._a], [1.0, -self._a], fast, zi=self._zi)
        gain: F64 = np.minimum(fast, slow)
        return gain

    def _run(self, final: bool) -> F32:
        total = self._in + (self.latency if final else 0)
        if final:
            self._buf = np.concatenate((self._buf, np.zeros((self.channels, self.latency), np.float32)), 1)
        ready = total - self.latency - self._out
        if ready <= 0:
            return np.zeros((self.channels, 0), np.float32)
        first = self._back
        x = self._buf[:, : first + ready + self.latency]
        g = self._gain(x[: self._detect], first, ready)
        out = (x[:, first : first + ready] * g.astype(np.float32)).astype(np.float32)
        below = g < 0.9999
        if below.any():
            self.limited_samples += int(below.sum())
            self.max_reduction_db = max(self.max_reduction_db, -20.0 * math.log10(float(g.min())))
        self._out += ready
        self._buf = self._buf[:, ready:]
        return out

    def process(self, block: npt.ArrayLike) -> F32:
        """Push ``(channels, n)`` samples; returns the limited samples that are ready (maybe none)."""
        x = np.asarray(block, dtype=np.float32)
        if x.ndim == 1:
            x = x[np.newaxis]
        self._buf = np.concatenate((self._buf, x), axis=1)
        self._in += x.shape[1]
        return self._run(False)

    def flush(self) -> F32:
        """The remaining samples after the last :meth:`process` (the limiter's latency worth)."""
        return self._run(True)
