"""Signal processing for sync: whitened cross-correlation, sub-sample peaks, streaming decimation.

Pure NumPy/SciPy on float arrays, no file I/O. Conventions: a *lag* ``l`` found between a reference ``x`` and
a target ``y`` means ``x[i]`` lines up with ``y[i + l]``; it is negative when ``y`` starts after ``x``.

The correlation is GCC-PHAT generalised by an exponent ``beta`` (PHAT-β): the cross-spectrum is divided by
its magnitude to the power ``beta`` inside a pass band and zeroed outside it. Plain correlation
(``beta=0``) follows the strongest *energy*, which for a distant, reverberant camera mic is smeared by the
room; whitening keeps only the phase, where the direct sound wins.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
from scipy import fft as spfft
from scipy import signal as sps

__all__ = [
    "Correlation",
    "Decimator",
    "consensus",
    "fit_drift",
    "gcc_phat",
    "gcc_phat_peaks",
    "refine_peak",
]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

_EPS: Final = 1e-12
_EXCLUDE: Final = 8  # lags either side of the peak left out when looking for the runner-up


@dataclass(frozen=True, slots=True)
class Correlation:
    """The best lag of a whitened cross-correlation and how clear it is.

    ``lag`` is sub-sample (Newton refinement on the band-limited correlation); ``peak`` is the normalised
    correlation there (1.0: every frequency in the band agrees perfectly); ``ratio`` is the peak over the
    best other peak further than a few samples away (≥ 1; large is unambiguous); ``noise`` is the peak
    over the correlation's RMS (a peak-to-noise ratio).
    """

    lag: float
    peak: float
    ratio: float
    noise: float

    @property
    def integer_lag(self) -> int:
        return round(self.lag)


@functools.lru_cache(maxsize=16)
def _antialias(rate: int, factor: int, high: float, taps_per_phase: int) -> F64:
    """A linear-phase low-pass FIR with ``taps_per_phase · factor + 1`` taps: the same delay (in seconds)
    for every input rate decimated to the same output rate."""
    if factor == 1:
        return np.ones(1)
    taps: F64 = sps.firwin(taps_per_phase * factor + 1, min(high, 0.45 * rate / factor), fs=rate)
    return taps


@functools.lru_cache(maxsize=16)
def _highpass(rate: float, low: float) -> F64:
    sos: F64 = sps.butter(2, low, btype="highpass", fs=rate, output="sos")
    return sos


class Decimator:
    """Band-limit and decimate a stream block by block, with the filters' state carried across blocks.

    ``Decimator(48000, 6)`` turns 48 kHz into 8 kHz: a polyphase low-pass FIR at ``high`` Hz (only the kept
    samples are computed), then a gentle high-pass at ``low`` Hz at the low rate. Output sample ``k`` is
    input sample ``k * factor``, delayed by the filters (alike for every stream decimated to one rate).
    """

    def __init__(
        self, rate: int, factor: int, *, low: float = 200.0, high: float = 3400.0, taps_per_phase: int = 16
    ):
        if factor < 1:
            raise ValueError(f"decimation factor must be at least 1, not {factor}")
        self.rate = rate
        self.factor = factor
        self._fir = _antialias(rate, factor, high, taps_per_phase).astype(np.float32)
        self._sos = _highpass(rate / factor, low)
        self._zi: F64 = np.zeros((self._sos.shape[0], 2))
        self._history: F32 = np.zeros(self._fir.size - 1, np.float32)  # input before the next block
        self._pos = 0  # input samples pushed so far
        self._out: list[F32] = []

    def push(self, mono: npt.NDArray[np.floating]) -> None:
        """Filter one block of the stream (1-D) and keep every ``factor``-th sample."""
        if mono.size == 0:
            return
        q, taps = self.factor, self._fir.size
        # Start the buffer on a multiple of the factor, with at least a filter's length of history.
        keep = taps - 1 + (self._pos - (taps - 1)) % q
        buf = np.concatenate([self._history[self._history.size - keep :], np.asarray(mono, np.float32)])
        first = -(-keep // q)  # outputs whose whole filter span is inside the buffer
        last = (buf.size - 1) // q
        y = sps.upfirdn(self._fir, buf, 1, q)[first : last + 1]
        if y.size:
            y, self._zi = sps.sosfilt(self._sos, y, zi=self._zi)
            self._out.append(np.asarray(y, np.float32))
        self._pos += mono.size
        self._history = buf[max(0, buf.size - (taps - 1 + q)) :]

    def result(self) -> F32:
        """Everything decimated so far, as one array."""
        if not self._out:
            return np.zeros(0, np.float32)
        joined = np.concatenate(self._out)
        self._out = [joined]
        return joined


def _cross_spectrum(
    x: npt.NDArray[np.floating],
    y: npt.NDArray[np.floating],
    n: int,
    rate: float,
    band: tuple[float, float],
    beta: float,
) -> npt.NDArray[np.complex64]:
    """The weighted cross-spectrum ``Y·X*`` (single precision: ample for a correlation peak)."""
    xs = spfft.rfft(np.asarray(x, np.float32), n)
    ys = spfft.rfft(np.asarray(y, np.float32), n)
    g = ys * np.conj(xs)
    freqs = np.arange(g.size) * (rate / n)
    mask = (freqs >= band[0]) & (freqs <= band[1])
    if beta > 0:
        mag = np.abs(g)
        floor = _EPS + 1e-6 * float(np.mean(mag[mask])) if mask.any() else _EPS
        g /= (mag + np.float32(floor)) ** np.float32(beta)
    g[~mask] = 0.0
    result: npt.NDArray[np.complex64] = g.astype(np.complex64, copy=False)
    return result


def gcc_phat_peaks(
    x: npt.NDArray[np.floating],
    y: npt.NDArray[np.floating],
    rate: float,
    *,
    band: tuple[float, float] = (200.0, 4000.0),
    beta: float = 1.0,
    lags: tuple[int, int] | None = None,
    count: int = 1,
    separation: int = _EXCLUDE,
    refine: bool = True,
) -> list[Correlation]:
    """Up to ``count`` candidate lags of reference ``x`` in target ``y``, best first, at least
    ``separation`` samples apart (see :func:`gcc_phat`); each candidate's ``ratio`` is over the best
    correlation further than ``separation`` from it."""
    if len(x) == 0 or len(y) == 0:
        raise ValueError("cannot correlate an empty signal")
    if lags is not None and lags[0] >= 0 and lags[1] <= len(y) - len(x):
        n = spfft.next_fast_len(len(y), real=True)  # only full overlaps: a circular correlation will do
    else:
        n = spfft.next_fast_len(len(x) + len(y) - 1, real=True)
    g = _cross_spectrum(x, y, n, rate, band, beta)
    r = spfft.irfft(g, n)
    lo, hi = lags if lags is not None else (-(len(x) - 1), len(y) - 1)
    lo, hi = max(lo, -(len(x) - 1)), min(hi, len(y) - 1)  # beyond: no overlap at all
    if lo > hi:
        raise ValueError(f"empty lag range {lags}")
    idx = np.arange(lo, hi + 1)
    window = r[idx % n]
    rms = float(np.sqrt(np.mean(window**2))) + _EPS
    scale = float(np.sum(np.abs(g) * np.where(np.arange(g.size) == 0, 1.0, 2.0))) / n + _EPS
    left = window.copy()
    found: list[Correlation] = []
    for _ in range(max(1, count)):
        best = int(np.argmax(left))
        if not np.isfinite(left[best]):
            break
        lag0 = int(idx[best])
        peak = float(window[best])
        others = np.abs(idx - lag0) > separation
        runner = float(np.max(window[others])) if others.any() else 0.0
        around = (float(r[(lag0 - 1) % n]), float(r[lag0 % n]), float(r[(lag0 + 1) % n]))
        lag = refine_peak(g, n, lag0, around) if refine else float(lag0)
        found.append(
            Correlation(
                lag=lag,
                peak=peak / scale,
                ratio=peak / runner if runner > _EPS else float("inf"),
                noise=peak / rms,
            )
        )
        left[~others] = -np.inf
    return found


def gcc_phat(
    x: npt.NDArray[np.floating],
    y: npt.NDArray[np.floating],
    rate: float,
    *,
    band: tuple[float, float] = (200.0, 4000.0),
    beta: float = 1.0,
    lags: tuple[int, int] | None = None,
    refine: bool = True,
) -> Correlation:
    """Where reference ``x`` lies in target ``y``: the lag maximising their PHAT-β correlation.

    ``lags`` bounds the search (inclusive, default every full or partial overlap). With ``refine`` the lag
    is refined below a sample by Newton steps on the band-limited correlation itself.
    """
    return gcc_phat_peaks(x, y, rate, band=band, beta=beta, lags=lags, refine=refine)[0]


def refine_peak(
    g: npt.NDArray[np.complexfloating],
    n: int,
    lag: int,
    around: tuple[float, float, float] | None = None,
    iterations: int = 3,
) -> float:
    """Sub-sample maximum of ``irfft(g, n)`` near integer ``lag``: a parabola through the correlation at
    ``lag - 1, lag, lag + 1`` (``around``, computed when not given), then Newton steps on the exact
    band-limited interpolant (a sum of cosines over the non-zero bins)."""
    k = np.flatnonzero(g)
    if k.size == 0:
        return float(lag)
    weights = np.where((k == 0) | (2 * k == n), 1.0, 2.0) * g[k].astype(np.complex128)
    omega = 2.0 * np.pi * k / n

    def value(tau: float) -> float:
        return float(np.real(np.exp(1j * omega * tau) * weights).sum())

    r_m, r_0, r_p = around if around is not None else (value(lag - 1), value(lag), value(lag + 1))
    denom = r_m - 2.0 * r_0 + r_p
    tau = lag + (0.5 * (r_m - r_p) / denom if denom < 0 else 0.0)
    tau = float(np.clip(tau, lag - 0.5, lag + 0.5))
    for _ in range(iterations):
        phase = np.exp(1j * omega * tau) * weights
        d1 = float(-(omega * phase.imag).sum())
        d2 = float(-(omega**2 * phase.real).sum())
        if d2 >= 0:
            break
        step = -d1 / d2
        tau = float(np.clip(tau + step, lag - 1.0, lag + 1.0))
        if abs(step) < 1e-3:
            break
    return tau


def fit_drift(
    positions: npt.NDArray[np.floating],
    lags: npt.NDArray[np.floating],
    weights: npt.NDArray[np.floating] | None = None,
    *,
    tolerance: float = 2.0,
    max_ppm: float = 100.0,
) -> tuple[float, float, npt.NDArray[np.bool_]]:
    """Fit ``lags ≈ offset + slope · positions`` robustly; returns ``(offset, slope, inliers)``.

    ``positions`` are where each measurement was taken in the reference (samples) and ``lags`` the
    target's sample index found there. Points are first kept only when they agree with the best-supported
    offset (:func:`consensus`); then the worst point further than ``tolerance`` from the weighted
    least-squares line is dropped, one at a time. With fewer than two points (or no spread between them)
    the slope is 1: no drift measurable.
    """
    p = np.asarray(positions, np.float64)
    y = np.asarray(lags, np.float64)
    if p.size == 0:
        raise ValueError("no points to fit")
    w = np.ones_like(p) if weights is None else np.asarray(weights, np.float64)
    d = y - p
    keep = consensus(p, y, w, tolerance=tolerance, max_ppm=max_ppm)
    while True:
        slope, offset = 1.0, float(d[keep][np.argmax(w[keep])])
        if keep.sum() >= 2 and np.ptp(p[keep]) > 0:
            fitted = np.polyfit(p[keep], y[keep], 1, w=w[keep])
            if abs(fitted[0] - 1.0) <= max_ppm * 1e-6:
                slope, offset = float(fitted[0]), float(fitted[1])
        residual = np.abs(y - (offset + slope * p))
        residual[~keep] = -1.0
        worst = int(np.argmax(residual))
        if residual[worst] <= tolerance or keep.sum() <= 2:
            return float(offset), float(slope), keep
        keep[worst] = False


def consensus(
    positions: npt.NDArray[np.floating],
    lags: npt.NDArray[np.floating],
    weights: npt.NDArray[np.floating] | None = None,
    *,
    tolerance: float = 2.0,
    max_ppm: float = 100.0,
) -> npt.NDArray[np.bool_]:
    """The measurements that agree with the best-supported one: for each point, the summed weight of the
    points whose offset (``lags - positions``) lies within ``tolerance`` plus what ``max_ppm`` of drift
    over their distance could explain; the point with the most support and those agreeing with it win.
    Unlike a median, this holds even when most points are wrong, as long as the wrong ones disagree."""
    p = np.asarray(positions, np.float64)
    d = np.asarray(lags, np.float64) - p
    w = np.ones_like(p) if weights is None else np.asarray(weights, np.float64)
    allowance = tolerance + max_ppm * 1e-6 * np.abs(p[:, None] - p[None, :])
    agree = np.abs(d[:, None] - d[None, :]) <= allowance
    anchor = int(np.argmax(agree @ w))
    keep: npt.NDArray[np.bool_] = agree[anchor].copy()
    return keep
