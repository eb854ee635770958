"""Time-aligning an ADR take to the production guide (dynamic time warping, as VocALign does).

The take and the guide become log-mel spectrogram features every ``hop`` (5 ms at 48 kHz by default), each
band normalised per file so level, microphone colour and noise floor matter less than what is said. A
dynamic-time-warping path through the frame-to-frame cost matrix is constrained in slope: every step
advances *both* files, by ``(1, 1)``, ``(1, k)`` or ``(k, 1)`` frames for ``k ≤ max_stretch``, so the take
is never sped up or slowed down by more than that factor. The path's corners make a piecewise-linear time
map from guide time to take time; a short Hann smoothing rounds it (it stays monotone and within the slope
limits), and the take is read along it with the house's band-limited fractional resampler
(:func:`posthouse.core.resample.read_at`) — varispeed, as VocALign does, so a word sped up 10 % is 10 %
higher for its length, and nothing else changes.

The residual misalignment is measured, not assumed: the aligned take is compared with the guide by a second
DTW pass, and the path's deviation from the diagonal over the frames where the guide has speech is
reported in milliseconds (median, 95th percentile, max).

Everything is vectorised: the accumulated-cost recursion loops over guide frames in Python, each step a
few NumPy operations over a whole row; memory is ``O(N·M)``, so long lines use a coarser hop (the product
of frame counts stays under :data:`MAX_CELLS`). Cut long passages into cues of a line or two.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from scipy import signal

from posthouse.core.errors import UsageError
from posthouse.core.resample import read_at

__all__ = [
    "MAX_CELLS",
    "AlignResult",
    "TimeMap",
    "align_take",
    "apply_time_map",
    "coarse_offset",
    "dtw_path",
    "features",
    "residual_ms",
]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

MAX_CELLS: Final = 8_000_000
"""Most guide × take frames one DTW works on (about 13 bytes a cell, ~170 MB at most with temporaries: two
14 s lines at the 5 ms hop); a longer pair gets a coarser hop (10 ms, and onsets to within ~15 ms)."""

_N_MELS: Final = 40
_FMIN: Final = 80.0
_FMAX: Final = 7600.0
_WINDOW_S: Final = 0.025
_FLOOR_DB: Final = 55.0  # everything more than this below the file's loudest band level is floor
_OUT_OF_BAND: Final = 1000.0  # cost of a cell outside the band (finite, so prefix sums stay exact)
_MARGIN_S: Final = 1.0  # take kept either side of the coarse match
_ACTIVE_DB: Final = 30.0  # frames within this of the loudest set the normalisation
_MATCH: Final = 0.6  # least normalised correlation for an onset to count as found in the take
_NAN: Final = float("nan")
_SPEECH_DB: Final = 35.0  # a guide frame within this of its loudest is speech (for the residual)


# ----------------------------------------------------------------------------------------------- features


@functools.lru_cache(maxsize=8)
def _mel_bank(sample_rate: int, n_fft: int) -> F64:
    """Triangular mel filters ``(n_mels, n_fft // 2 + 1)`` (HTK mel scale), area-normalised."""

    def mel(f: F64 | float) -> Any:
        return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)

    def hz(m: F64) -> F64:
        return np.asarray(700.0 * (10.0 ** (m / 2595.0) - 1.0), np.float64)

    top = min(_FMAX, 0.45 * sample_rate)
    edges = hz(np.linspace(mel(_FMIN), mel(top), _N_MELS + 2))
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    up = (freqs[None, :] - lo) / (mid - lo)
    down = (hi - freqs[None, :]) / (hi - mid)
    bank = np.clip(np.minimum(up, down), 0.0, None)
    bank /= bank.sum(axis=1, keepdims=True) + 1e-12
    return np.asarray(bank, np.float64)


def _mono(audio: npt.NDArray[np.floating]) -> F64:
    a = np.asarray(audio, np.float64)
    if a.ndim == 2:
        a = a.mean(axis=0)
    if a.ndim != 1:
        raise UsageError(f"audio must be (samples,) or (channels, samples), not shape {a.shape}")
    return a


def features(audio: npt.NDArray[np.floating], sample_rate: int, hop: int) -> F32:
    """Normalised log-mel frames ``(frames, 40)`` of ``audio`` (mono, or channels averaged).

    Frame ``k`` is centred on sample ``k * hop`` (frames = ``len // hop + 1``). Each band is floored
    :data:`_FLOOR_DB` below the file's loudest band level, then standardised over the file (zero mean,
    unit variance), so gain, microphone colour and noise floor largely cancel between two recordings.
    """
    x = _mono(audio)
    win = max(hop * 2, round(_WINDOW_S * sample_rate))
    n_fft = 1 << (win - 1).bit_length()
    frames = x.size // hop + 1
    pad = np.pad(x, (n_fft // 2, n_fft // 2 + hop))
    idx = np.arange(frames)[:, None] * hop + np.arange(n_fft)[None, :]
    window = np.zeros(n_fft)
    window[(n_fft - win) // 2 : (n_fft - win) // 2 + win] = signal.windows.hann(win, sym=False)
    spec = np.abs(np.fft.rfft(pad[idx] * window, axis=1)) ** 2
    mel = spec @ _mel_bank(sample_rate, n_fft).T
    db = 10.0 * np.log10(mel + 1e-20)
    db = np.maximum(db, db.max() - _FLOOR_DB)
    level = 10.0 * np.log10(mel.sum(axis=1) + 1e-20)
    active = level >= level.max() - _ACTIVE_DB  # statistics from the sounding frames, not the silence
    if active.sum() < 2:
        active[:] = True
    db -= db[active].mean(axis=0, keepdims=True)
    db /= db[active].std(axis=0, keepdims=True) + 1e-3
    return np.asarray(db, np.float32)


def _cost(a: F32, b: F32) -> F32:
    """Cosine distance between every frame of ``a`` and every frame of ``b``: ``(len(a), len(b))``."""
    an = a / (np.linalg.norm(a, axis=1, keepdims=True) + 1e-6)
    bn = b / (np.linalg.norm(b, axis=1, keepdims=True) + 1e-6)
    out = an @ bn.T
    np.subtract(np.float32(1.0), out, out=out)
    return np.asarray(np.clip(out, 0.0, 2.0, out=out), np.float32)


# ----------------------------------------------------------------------------------------------------- DTW


def dtw_path(cost: npt.NDArray[np.floating], *, max_stretch: int = 3, band: int | None = None) -> I64:
    """The cheapest slope-constrained warping path through ``cost`` ``(N, M)``: ``(P, 2)`` frame pairs.

    Steps are ``(1, 1)``, ``(1, k)`` and ``(k, 1)`` for ``2 ≤ k ≤ max_stretch``, each paying for the cells
    it crosses (a diagonal step twice, a ``k``-step ``(k + 1) / k`` a cell, so paths of different shapes
    weigh alike); both indices strictly increase along the path, so it is a monotone map with slopes in
    ``[1/max_stretch, max_stretch]``. The path starts on the first row or column and ends on the last row
    or column (an actor starting late or early); running along that edge costs the cells it crosses.
    ``band`` keeps the path within that many frames of the straight line between the corners.
    """
    c = np.asarray(cost, np.float32)
    if c.ndim != 2 or min(c.shape) < 2 or not np.all(np.isfinite(c)):
        raise UsageError(f"cost matrix must be finite, 2-D, with at least 2 frames a side (shape {c.shape})")
    if not 1 <= max_stretch <= 8:
        raise UsageError(f"max_stretch must be 1..8, not {max_stretch}")
    n, m = c.shape
    k_max = pad = max_stretch
    if band is not None:
        ii = np.arange(n, dtype=np.float32)[:, None] * np.float32((m - 1) / max(n - 1, 1))
        c = np.where(
            np.abs(np.arange(m, dtype=np.float32)[None, :] - ii) <= band, c, np.float32(_OUT_OF_BAND)
        )
    # Accumulated cost, padded by k_max rows on top and columns on the left; a step code per cell.
    dd = np.full((n + pad, m + pad), np.inf)
    step = np.zeros((n, m), np.int8)
    # Edges: the first row and column are reached by running along them (open begin).
    dd[pad, pad:] = c[0, 0] + np.cumsum(c[0], dtype=np.float64)
    dd[pad:, pad] = c[0, 0] + np.cumsum(c[:, 0], dtype=np.float64)
    step[0, 1:] = -1  # along the first row
    step[1:, 0] = -2  # along the first column
    codes = [(1, 1)] + [(1, k) for k in range(2, k_max + 1)] + [(k, 1) for k in range(2, k_max + 1)]
    cols = np.arange(1, m)
    cands = np.empty((len(codes), m - 1))
    row = np.zeros(m + k_max)
    for i in range(1, n):
        here = c[i, 1:].astype(np.float64)
        cands[0] = dd[pad + i - 1, pad + cols - 1] + 2.0 * here
        row[k_max:] = c[i]
        across = here.copy()  # cells (i, j-k+1 .. j)
        down = here.copy()  # cells (i-k+1 .. i, j)
        for k in range(2, k_max + 1):
            across += row[k_max + 1 - (k - 1) : k_max + m - (k - 1)]
            if i - k + 1 >= 0:
                down += c[i - k + 1, 1:]
            w = (k + 1) / k
            cands[k - 1] = dd[pad + i - 1, pad + cols - k] + w * across
            cands[k_max + k - 2] = dd[pad + i - k, pad + cols - 1] + w * down
        best = np.argmin(cands, axis=0)
        val = np.take_along_axis(cands, best[None, :], axis=0)[0]
        better = val < dd[pad + i, pad + 1 :]
        dd[pad + i, pad + 1 :] = np.where(better, val, dd[pad + i, pad + 1 :])
        step[i, 1:] = np.where(better, best, step[i, 1:])
    # Open end: finish on the last row or column, paying for the rest of that edge.
    d = dd[pad:, pad:]
    rest_row = np.concatenate([np.cumsum(c[n - 1, ::-1], dtype=np.float64)[::-1][1:], [0.0]])
    rest_col = np.concatenate([np.cumsum(c[::-1, m - 1], dtype=np.float64)[::-1][1:], [0.0]])
    end_row, end_col = d[n - 1, :] + rest_row, d[:, m - 1] + rest_col
    if np.min(end_row) <= np.min(end_col):
        i, jj = n - 1, int(np.argmin(end_row))
    else:
        i, jj = int(np.argmin(end_col)), m - 1
    path = [(i, jj)]
    while i > 0 or jj > 0:  # one Python step per path step (≤ N + M), not per sample
        code = int(step[i, jj])
        if code == -1 or (i == 0 and jj > 0):
            jj -= 1
        elif code == -2 or jj == 0:
            i -= 1
        else:
            di, dj = codes[code]
            i, jj = max(i - di, 0), max(jj - dj, 0)
        path.append((i, jj))
    return np.asarray(path[::-1], np.int64)


# --------------------------------------------------------------------------------------------- time map


@dataclass(frozen=True, slots=True)
class TimeMap:
    """A monotone map from guide samples to take samples: knots ``guide[k] → take[k]``, linear between
    them and with slope 1 beyond the ends."""

    guide: F64
    take: F64

    def take_at(self, guide_samples: npt.ArrayLike) -> F64:
        """Take sample positions (fractional) heard at ``guide_samples`` once aligned."""
        g = np.asarray(guide_samples, np.float64)
        out = np.interp(g, self.guide, self.take)
        out = np.where(g < self.guide[0], self.take[0] + (g - self.guide[0]), out)
        out = np.where(g > self.guide[-1], self.take[-1] + (g - self.guide[-1]), out)
        return np.asarray(out, np.float64)

    def guide_at(self, take_samples: npt.ArrayLike) -> F64:
        """Where take sample positions land on the guide once aligned (the inverse map)."""
        return TimeMap(self.take, self.guide).take_at(take_samples)

    def stretch_range(self, at: npt.ArrayLike | None = None) -> tuple[float, float]:
        """The least and greatest local speed (take samples per guide sample) along the map, or the 5th
        and 95th percentiles of it at guide samples ``at``."""
        slope = np.diff(self.take) / np.maximum(np.diff(self.guide), 1e-9)
        if at is None:
            return float(slope.min()), float(slope.max())
        idx = np.clip(np.searchsorted(self.guide, np.asarray(at, np.float64)) - 1, 0, slope.size - 1)
        if idx.size == 0:
            return 1.0, 1.0
        return float(np.percentile(slope[idx], 5)), float(np.percentile(slope[idx], 95))


def _path_map(path: I64, hop: int, smooth_frames: int) -> TimeMap:
    """A time map through the path's points, evaluated on every guide frame and Hann-smoothed."""
    g, t = path[:, 0].astype(np.float64), path[:, 1].astype(np.float64)
    # Runs along the first/last row or column (the open begin and end) are not part of the warp: the map
    # starts where the path leaves the edge and ends where it reaches the far edge (slope 1 beyond).
    both = np.flatnonzero((np.diff(g) > 0) & (np.diff(t) > 0))
    if both.size:
        g, t = g[both[0] : both[-1] + 2], t[both[0] : both[-1] + 2]
    grid = np.arange(g[0], g[-1] + 1.0)
    tt = np.interp(grid, g, t)
    if smooth_frames >= 3 and grid.size > smooth_frames:
        win = signal.windows.hann(smooth_frames + 2)[1:-1]
        win /= win.sum()
        half = smooth_frames // 2
        ramp = np.arange(1.0, half + 1.0)
        padded = np.concatenate([tt[0] - ramp[::-1], tt, tt[-1] + ramp])  # slope 1 beyond the ends
        tt = np.convolve(padded, win, mode="valid")
    return TimeMap(grid * hop, tt * hop)


def _smooth_frames(sample_rate: int, hop: int, smooth_ms: float) -> int:
    return max(1, round(smooth_ms * sample_rate / 1000.0 / hop)) | 1


def _choose_hop(sample_rate: int, hop_ms: float, n_guide: int, n_take: int) -> int:
    hop = max(1, round(hop_ms * sample_rate / 1000.0))
    while (n_guide // hop + 1) * (n_take // hop + 1) > MAX_CELLS:
        hop *= 2
    return hop


def _speech_frames(frame_db: F64) -> npt.NDArray[np.bool_]:
    """Frames louder than both the noise floor + 15 dB and the loudest frame − :data:`_SPEECH_DB`."""
    floor = float(np.percentile(frame_db, 10))
    return np.asarray(frame_db >= max(floor + 15.0, float(frame_db.max()) - _SPEECH_DB))


def _frame_db(audio: npt.NDArray[np.floating], hop: int) -> F64:
    x = _mono(audio)
    frames = x.size // hop + 1
    pad = np.pad(x, (hop, 2 * hop))
    idx = np.arange(frames)[:, None] * hop + np.arange(2 * hop)[None, :]
    return np.asarray(10.0 * np.log10(np.mean(pad[idx] ** 2, axis=1) + 1e-20), np.float64)


def _envelope_db(x: F64, step: int) -> tuple[F64, float]:
    """Log RMS every ``step`` samples over ``2 * step`` relative to its peak, and its floor (10 dB over the
    noise floor, at most 50 dB down)."""
    frames = x.size // step + 1
    pad = np.pad(x, (step, 2 * step))
    idx = np.arange(frames)[:, None] * step + np.arange(2 * step)[None, :]
    db = 10.0 * np.log10(np.mean(pad[idx] ** 2, axis=1) + 1e-20)
    db -= db.max()
    return np.asarray(db, np.float64), max(float(np.percentile(db, 10)) + 10.0, -50.0)


def residual_ms(
    guide: npt.NDArray[np.floating],
    aligned: npt.NDArray[np.floating],
    sample_rate: int,
    *,
    search_ms: float = 30.0,
) -> tuple[float, float, float, int]:
    """How far ``aligned`` still sits from ``guide`` at the guide's onsets: ``(median, p95, max, count)``.

    Onsets are the sharpest rises of the guide's level envelope (1 ms steps, at least 60 ms apart, the
    strongest one per 150 ms of speech). At each, 160 ms of the guide's envelope (in dB, both floored at
    the same level under their peaks) is cross-correlated with ``aligned``'s within ``search_ms`` either
    side; the lag of the best match is that onset's misalignment (so ``search_ms`` caps the report).
    Onsets whose best correlation stays under 0.6 (a noise, a line that is not in the take) are left out;
    with none left the figures are NaN.
    """
    g, a = _mono(guide), _mono(aligned)
    step = max(1, sample_rate // 1000)
    (eg, floor_g), (ea, floor_a) = _envelope_db(g, step), _envelope_db(a, step)
    floor = max(floor_g, floor_a)  # the same floor for both, so a rise starts at the same level in each
    eg, ea = np.maximum(eg, floor), np.maximum(ea, floor)
    n = min(eg.size, ea.size)
    fg = np.clip(np.diff(eg[:n], prepend=eg[0]), 0.0, None)
    fg = np.convolve(fg, np.ones(5) / 5, mode="same")
    half = 80
    lag = max(1, round(search_ms))
    peaks, _ = signal.find_peaks(fg, distance=60, prominence=2.0)
    peaks = peaks[(peaks >= half + lag) & (peaks < n - half - lag)]
    if peaks.size == 0:
        return _NAN, _NAN, _NAN, 0
    keep = max(1, round(n / 150 * float(np.mean(eg[:n] > eg.min() + 10.0))))
    peaks = np.sort(peaks[np.argsort(fg[peaks])[::-1][:keep]])
    offs = np.arange(-half, half + 1)
    lags = np.arange(-lag, lag + 1)
    ref = eg[peaks[:, None] + offs[None, :]]  # (onsets, window)
    ref = ref - ref.mean(axis=1, keepdims=True)
    ref /= np.linalg.norm(ref, axis=1, keepdims=True) + 1e-9
    cand = ea[peaks[:, None, None] + lags[None, :, None] + offs[None, None, :]]  # (onsets, lags, window)
    cand = cand - cand.mean(axis=2, keepdims=True)
    cand /= np.linalg.norm(cand, axis=2, keepdims=True) + 1e-9
    score = np.einsum("ow,olw->ol", ref, cand)  # normalised cross-correlation of the level envelopes
    matched = (
        score.max(axis=1) >= _MATCH
    )  # an onset the take does not have (a noise, another line) is left out
    if not np.any(matched):
        return _NAN, _NAN, _NAN, 0
    best = lags[np.argmax(score[matched], axis=1)]
    dev = np.abs(best).astype(np.float64) * step * 1000.0 / sample_rate
    return float(np.median(dev)), float(np.percentile(dev, 95)), float(dev.max()), int(dev.size)


# ------------------------------------------------------------------------------------------------ align


def coarse_offset(guide: npt.NDArray[np.floating], take: npt.NDArray[np.floating], sample_rate: int) -> int:
    """Where in ``take`` (samples) the guide's start best fits: the lag of the greatest normalised
    cross-correlation of the two level envelopes (10 ms steps, in dB, each floored 25 dB under its
    loudest step so that noise floors and digital silence look alike)."""
    step = max(1, sample_rate // 100)

    def env(x: F64) -> F64:
        db = _frame_db(x, step)
        return np.asarray(np.maximum(db, db.max() - 25.0) - db.max(), np.float64)

    eg, et = env(_mono(guide)), env(_mono(take))
    n = eg.size
    if et.size <= n:
        return 0
    ref = eg - eg.mean()
    ref /= np.linalg.norm(ref) + 1e-9
    dot = signal.correlate(et, ref, mode="valid", method="fft")  # ref is zero-mean: window mean drops out
    c1 = np.concatenate([[0.0], np.cumsum(et)])
    c2 = np.concatenate([[0.0], np.cumsum(et**2)])
    s1, s2 = c1[n:] - c1[:-n], c2[n:] - c2[:-n]
    spread = np.sqrt(np.maximum(s2 - s1**2 / n, 0.0)) + 1e-6
    return int(np.argmax(dot / spread)) * step


def apply_time_map(take: npt.NDArray[np.floating], time_map: TimeMap, length: int) -> F32:
    """``take`` (``(n,)`` or ``(channels, n)``) read along ``time_map`` for ``length`` guide samples
    (band-limited varispeed, :func:`posthouse.core.resample.read_at`); float32 ``(channels, length)``."""
    src = np.asarray(take, np.float32)
    if src.ndim == 1:
        src = src[None, :]
    return read_at(src, time_map.take_at(np.arange(length, dtype=np.float64)))


def _ms(value: float) -> float | None:
    return None if np.isnan(value) else round(value, 2)


@dataclass(frozen=True, slots=True)
class AlignResult:
    """An aligned take: ``audio`` ``(channels, len(guide))`` plays in sync with the guide."""

    audio: F32
    time_map: TimeMap
    sample_rate: int
    hop: int
    offset_ms: float  # take time minus guide time, median over the guide's speech (the actor was late > 0)
    residual_median_ms: float
    residual_p95_ms: float
    residual_max_ms: float
    stretch: tuple[float, float]  # 5th and 95th percentile of the local speed applied over the speech
    onsets: int  # guide onsets the residual was measured at

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (no samples)."""
        return {
            "sample_rate": self.sample_rate,
            "samples": int(self.audio.shape[-1]),
            "hop_ms": round(self.hop * 1000.0 / self.sample_rate, 3),
            "offset_ms": _ms(self.offset_ms),
            "residual_median_ms": _ms(self.residual_median_ms),
            "residual_p95_ms": _ms(self.residual_p95_ms),
            "residual_max_ms": _ms(self.residual_max_ms),
            "residual_onsets": self.onsets,
            "stretch_min": round(self.stretch[0], 4),
            "stretch_max": round(self.stretch[1], 4),
        }


_ANCHOR_DB: Final = 20.0
"""Take frames within this of the take's loudest are voiced for sure: the warp is trusted from the first
to the last of them and held rigid outside."""


def _rigid_edges(tmap: TimeMap, first: float, last: float) -> TimeMap:
    """Before guide sample ``first`` and after ``last``, play the take at its own speed.

    Outside the voiced part, the guide holds mostly room tone (a weak onset such as the "th" of "the" is
    under it), so the warp has nothing to follow and smears the take's quiet lead-in over the noise; held
    rigid from the first voiced frame, the lead-in keeps its natural distance to the vowel after it."""
    inner = (tmap.guide > first) & (tmap.guide < last)
    g = np.concatenate(([first], tmap.guide[inner], [last]))
    t = np.concatenate((tmap.take_at([first]), tmap.take[inner], tmap.take_at([last])))
    return TimeMap(g, t)


def align_take(
    guide: npt.NDArray[np.floating],
    take: npt.NDArray[np.floating],
    sample_rate: int,
    *,
    hop_ms: float = 5.0,
    max_stretch: int = 3,
    band_s: float | None = 2.0,
    smooth_ms: float = 30.0,
    measure: bool = True,
) -> AlignResult:
    """Warp ``take`` (``(n,)`` or ``(channels, n)``) onto ``guide``'s timing; both at ``sample_rate``.

    The result is as long as the guide. A take much longer than the guide (a whole recorded pass) is
    first cut down to the guide's length plus a second either side around its :func:`coarse_offset`.
    ``max_stretch`` bounds the local speed change (``3``: between a third and three times); ``band_s``
    keeps the warp within that many seconds of a uniform stretch (``None``: no band). ``measure=False``
    skips the residual pass (reported as NaN).
    """
    g, tk = _mono(guide), np.asarray(take, np.float32)
    if tk.ndim == 1:
        tk = tk[None, :]
    if g.size < sample_rate // 20 or tk.shape[-1] < sample_rate // 20:
        raise UsageError("guide and take must each be at least 50 ms long")
    full = tk
    lead = 0
    margin = round(_MARGIN_S * sample_rate)
    if tk.shape[-1] > g.size + 2 * margin:  # a long take: cut out the part that sounds like the guide
        lead = max(0, coarse_offset(g, tk, sample_rate) - margin)
        tk = tk[:, lead : lead + g.size + 2 * margin]
    hop = _choose_hop(sample_rate, hop_ms, g.size, tk.shape[-1])
    fg, ft = features(g, sample_rate, hop), features(tk, sample_rate, hop)
    band = None if band_s is None else max(4, round(band_s * sample_rate / hop))
    if band is not None:  # the band must at least admit the corner-to-corner line plus the length change
        band = max(band, abs(fg.shape[0] - ft.shape[0]) // 2 + 4)
    path = dtw_path(_cost(fg, ft), max_stretch=max_stretch, band=band)
    tmap = _path_map(path, hop, _smooth_frames(sample_rate, hop, smooth_ms))
    tdb = _frame_db(_mono(tk), hop)
    loud = np.flatnonzero(tdb > tdb.max() - _ANCHOR_DB)  # the take is clean: its loud frames are voiced
    if loud.size:
        edges = tmap.guide_at(np.array([loud[0], loud[-1] + 1], np.float64) * hop)
        tmap = _rigid_edges(tmap, float(edges[0]), float(edges[1]))
    speech = np.flatnonzero(_speech_frames(_frame_db(g, hop))) * float(hop)
    tmap = TimeMap(tmap.guide, tmap.take + lead)
    audio = apply_time_map(full, tmap, g.size)
    shift = tmap.take_at(speech) - speech if speech.size else np.zeros(1)
    offset = float(np.median(shift)) * 1000.0 / sample_rate
    med = p95 = worst = float("nan")
    onsets = 0
    if measure:
        med, p95, worst, onsets = residual_ms(g, audio, sample_rate)
    return AlignResult(
        audio=audio,
        time_map=tmap,
        sample_rate=sample_rate,
        hop=hop,
        offset_ms=offset,
        residual_median_ms=med,
        residual_p95_ms=p95,
        residual_max_ms=worst,
        stretch=tmap.stretch_range(speech),
        onsets=onsets,
    )
