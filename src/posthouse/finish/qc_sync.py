"""Sync QC against the guide track: the offset between a programme's sound and the editor's reference audio
(the turnover's guide WAV or reference movie), measured in windows along the programme so drift is found.

Both signals are mixed to mono and streamed through a decimator to an analysis rate near 8 kHz (memory stays
bounded: a feature is ~170 MB at 8 kHz), then band-limited to 150–3,500 Hz (the dialogue band). The
programme is cut into equal windows (about ``window_s``); each is cross-correlated with the guide around the
same place by FFT, all windows of a batch at once, as a normalised cross-correlation coefficient per lag:

1. coarse, ± ``max_offset_s``, on onset envelopes (the slope of the 40 Hz amplitude envelope at 1 kHz):
   robust to a guide that is a different mix, and to drift smearing a window;
2. fine, ± 3 ms around it, on the band-limited waveforms, kept where they are coherent (coefficient ≥ 0.5);
   the peak refined by parabolic interpolation gives the offset to a fraction of a millisecond.

A window whose onset peak is weak (below ``min_correlation``, unless at least half of it and twice any rival)
or has a rival almost as high more than 30 ms away (periodic sound: a click track) is "no match", never a
guessed offset. Silent windows are skipped. A line fitted through the matched windows' offsets gives drift.

Sign: a positive offset means the programme's sound is late against the guide (heard after the picture).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from posthouse.core.errors import MediaError, UsageError
from posthouse.finish.qc_report import Check, QCEvent
from posthouse.finish.qc_specs import SyncSpec

__all__ = [
    "ANALYSIS_RATE",
    "AnalysisSignal",
    "SyncResult",
    "SyncWindow",
    "analysis_signal",
    "measure_sync",
    "read_analysis_signal",
    "sync_findings",
]

ANALYSIS_RATE = 8000.0
_BAND = (150.0, 3500.0)
_SILENT_RMS = 10 ** (-55 / 20)  # windows quieter than −55 dBFS RMS are not measured
_RIVAL_S = 0.030  # a second onset-envelope peak further than this from the best …
_RIVAL_RATIO = 0.9  # … and at least this high makes the window ambiguous
_DISTINCT_RATIO = 0.5  # a peak below min_correlation (≥ half of it) counts when all rivals are under half
_ENV_CUTOFF = 40.0  # Hz: onset envelope smoothing
_ENV_DECIMATE = 8  # onset envelope at 1 kHz
_FINE_LAG_S = 0.003  # the fine (waveform) search ± around the coarse (onset) offset
_DRIFT_MIN_WINDOWS = 3  # matched windows needed to measure drift
_DRIFT_MIN_FRAMES = 0.25  # the fitted change along the programme must exceed this to be drift
_FINE_MIN = 0.5  # waveform coherence needed to use the fine offset
_BATCH_BYTES = 64 << 20

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class SyncWindow:
    """One measured window: times in programme seconds, offset in ms (None when not measured)."""

    start_s: float
    end_s: float
    status: str  # "pass" | "fail" | "no_match" | "silent"
    offset_ms: float | None = None
    offset_frames: float | None = None
    correlation: float = 0.0


@dataclass(frozen=True, slots=True)
class SyncResult:
    """Sync along the whole programme."""

    windows: tuple[SyncWindow, ...]
    fps: float
    settings: SyncSpec
    offset_ms: float | None = None  # median over matched windows
    drift_ms_per_min: float | None = None  # slope of the fitted line (needs two matched windows)
    drift_ms: float | None = None  # the fitted line's change from the first to the last matched window
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def matched(self) -> list[SyncWindow]:
        """Windows where the guide was found."""
        return [w for w in self.windows if w.offset_ms is not None]

    @property
    def drifting(self) -> bool:
        """True when the offset changes faster than the spec allows and by over a quarter frame in all."""
        if self.drift_ms_per_min is None or self.drift_ms is None:
            return False
        floor = _DRIFT_MIN_FRAMES * 1000.0 / self.fps  # measurement scatter between windows is not drift
        return abs(self.drift_ms_per_min) > self.settings.max_drift_ms_per_min and abs(self.drift_ms) > floor

    @property
    def status(self) -> str:
        """``pass``, ``fail`` (a window out of tolerance, or drift) or ``no_match`` (guide not found)."""
        if not self.matched:
            return "no_match"
        if self.drifting or any(w.status == "fail" for w in self.windows):
            return "fail"
        return "pass"


class AnalysisSignal:
    """Streaming mono mixdown and decimation to about :data:`ANALYSIS_RATE`; ``push`` blocks of
    ``(channels, n)`` float samples, then ``result()``."""

    def __init__(self, sample_rate: int) -> None:
        from scipy import signal

        if sample_rate <= 0:
            raise UsageError(f"sample rate must be positive, got {sample_rate}", where="qc_sync")
        self.sample_rate = sample_rate
        self.factor = max(1, int(sample_rate // ANALYSIS_RATE))
        self.rate = sample_rate / self.factor
        cutoff = min(_BAND[1] * 1.1, 0.45 * self.rate)
        self._sos = signal.butter(8, cutoff, btype="low", fs=sample_rate, output="sos")
        self._zi = np.zeros((self._sos.shape[0], 2))
        self._phase = 0
        self._parts: list[npt.NDArray[np.float32]] = []
        self.samples = 0

    def push(self, block: npt.ArrayLike) -> None:
        """Add a block of sound (``(channels, n)`` or ``(n,)``)."""
        from scipy import signal

        arr = np.asarray(block, dtype=np.float64)
        mono = arr.mean(axis=0) if arr.ndim == 2 else arr
        if mono.size == 0:
            return
        self.samples += mono.size
        if self.factor > 1:
            low, self._zi = signal.sosfilt(self._sos, mono, zi=self._zi)
            kept = low[self._phase :: self.factor]
            self._phase = (self._phase - mono.size) % self.factor
        else:
            kept = mono
        self._parts.append(kept.astype(np.float32))

    def result(self) -> F64:
        """The decimated, band-limited (150–3,500 Hz, zero phase) mono signal at ``self.rate``."""
        from scipy import signal

        x = np.concatenate(self._parts).astype(np.float64) if self._parts else np.zeros(0)
        if x.size > 64:
            hi = min(_BAND[1], 0.45 * self.rate)
            sos = signal.butter(4, [_BAND[0], hi], btype="band", fs=self.rate, output="sos")
            x = signal.sosfiltfilt(sos, x)
        return x


def analysis_signal(blocks: Iterable[npt.ArrayLike], sample_rate: int) -> tuple[F64, float]:
    """Feed ``blocks`` through an :class:`AnalysisSignal`; returns the signal and its rate."""
    sig = AnalysisSignal(sample_rate)
    for b in blocks:
        sig.push(b)
    return sig.result(), sig.rate


def _match_rate(x: F64, rate: float, target: float) -> F64:
    """Resample ``x`` from ``rate`` to ``target`` (polyphase; only when the two differ)."""
    if abs(rate - target) < 1e-9 or x.size == 0:
        return x
    from fractions import Fraction

    from scipy import signal

    ratio = Fraction(target / rate).limit_denominator(1000)
    return np.asarray(signal.resample_poly(x, ratio.numerator, ratio.denominator), dtype=np.float64)


def _windows_ncc(
    prog: F64,
    guide: F64,
    starts: npt.NDArray[np.int64],
    win: int,
    lag: int,
    rival: int,
    centre: npt.NDArray[np.int64],
) -> tuple[F64, F64, F64]:
    """Normalised cross-correlation of each programme window with the guide around it.

    Window ``k`` (``prog[starts[k] : starts[k] + win]``) is compared with the guide at lags
    ``centre[k] - lag … centre[k] + lag`` (guide index − programme index). Returns, per window, the lag of
    the best peak refined by parabolic interpolation, its coefficient, and the best coefficient more than
    ``rival`` samples away from it (for ambiguity).
    """
    from scipy import fft

    seg = win + 2 * lag
    pad = lag + int(np.max(np.abs(centre), initial=0))
    gpad = np.concatenate([np.zeros(pad), guide, np.zeros(seg + pad)])
    nfft = fft.next_fast_len(win + seg - 1, real=True)
    best_lag, best_c, second = (np.empty(starts.size) for _ in range(3))
    batch = max(1, int(_BATCH_BYTES // (8 * nfft * 3)))
    idx = np.arange(win)[None, :]
    gidx = np.arange(seg)[None, :]
    lags = np.arange(2 * lag + 1)[None, :]
    for b0 in range(0, starts.size, batch):
        s = starts[b0 : b0 + batch, None]
        p = prog[s + idx]
        g = gpad[s + centre[b0 : b0 + batch, None] - lag + pad + gidx]
        p = p - p.mean(axis=1, keepdims=True)
        spec = np.conj(fft.rfft(p, nfft, axis=1)) * fft.rfft(g, nfft, axis=1)
        corr = fft.irfft(spec, nfft, axis=1)[:, : 2 * lag + 1]
        # sum and energy of the guide stretch under the window at every lag (cumulative sums)
        zero = np.zeros((g.shape[0], 1))
        c1 = np.concatenate([zero, np.cumsum(g, axis=1)], axis=1)
        c2 = np.concatenate([zero, np.cumsum(g * g, axis=1)], axis=1)
        gsum = c1[:, win : win + 2 * lag + 1] - c1[:, : 2 * lag + 1]
        gvar = np.maximum(c2[:, win : win + 2 * lag + 1] - c2[:, : 2 * lag + 1] - gsum * gsum / win, 0.0)
        pnorm = np.sqrt(np.sum(p * p, axis=1, keepdims=True))
        floor = 1e-6 * np.max(gvar, axis=1, keepdims=True) + 1e-20
        ncc = corr / (pnorm * np.sqrt(np.maximum(gvar, floor)) + 1e-20)
        j = np.argmax(ncc, axis=1)
        rows = np.arange(ncc.shape[0])
        peak = ncc[rows, j]
        left = ncc[rows, np.maximum(j - 1, 0)]
        right = ncc[rows, np.minimum(j + 1, 2 * lag)]
        denom = left - 2 * peak + right
        safe = np.where(np.abs(denom) > 1e-12, denom, 1.0)
        frac = np.clip(np.where(np.abs(denom) > 1e-12, 0.5 * (left - right) / safe, 0.0), -0.5, 0.5)
        far = np.abs(lags - j[:, None]) > rival
        best_lag[b0 : b0 + batch] = centre[b0 : b0 + batch] + j + frac - lag
        best_c[b0 : b0 + batch] = peak
        second[b0 : b0 + batch] = np.max(np.where(far, ncc, -np.inf), axis=1, initial=-np.inf)
    return best_lag, best_c, second


def _onsets(x: F64, rate: float) -> F64:
    """Onset envelope at ``rate / _ENV_DECIMATE``: the slope of the smoothed amplitude envelope."""
    from scipy import signal

    if x.size < 64:
        return np.zeros(max(0, x.size // _ENV_DECIMATE))
    sos = signal.butter(2, _ENV_CUTOFF, btype="low", fs=rate, output="sos")
    env = signal.sosfiltfilt(sos, np.abs(x))[::_ENV_DECIMATE]
    return np.diff(env, prepend=env[:1])


def measure_sync(
    programme: F64,
    guide: F64,
    rate: float,
    *,
    fps: float,
    settings: SyncSpec | None = None,
    guide_rate: float | None = None,
    guide_lead_s: float = 0.0,
) -> SyncResult:
    """Measure sync of ``programme`` against ``guide``, both analysis signals (:func:`analysis_signal`).

    ``guide_lead_s`` is where the programme's first sample sits in the guide (the guide starting earlier:
    positive). The programme is cut into equal windows back to back, as near ``settings.window_s`` long as
    divides it (a short programme is one window). ``fps`` turns milliseconds into frames.
    """
    st = settings or SyncSpec()
    if fps <= 0:
        raise UsageError(f"fps must be positive, got {fps}", where="measure_sync")
    if st.window_s <= 0 or st.max_offset_s <= 0:
        raise UsageError("sync window_s and max_offset_s must be positive", where="measure_sync")
    g = _match_rate(np.asarray(guide, np.float64), guide_rate or rate, rate)
    p = np.asarray(programme, np.float64)
    shift = round(guide_lead_s * rate)
    g = g[shift:] if shift >= 0 else np.concatenate([np.zeros(-shift), g])
    notes: list[str] = []
    min_len = int(0.5 * rate)
    if p.size < min_len or g.size < min_len:
        return SyncResult((), fps, st, notes=("programme or guide shorter than 0.5 s: not measured",))
    count = max(1, round(p.size / (st.window_s * rate)))  # equal windows covering the whole programme
    win = p.size // count
    lag = max(1, round(st.max_offset_s * rate))
    starts = np.arange(count, dtype=np.int64) * win
    # coarse: onset envelopes (robust to different mixes and to drift smearing a window)
    d = _ENV_DECIMATE
    pe, ge = _onsets(p, rate), _onsets(g, rate)
    rival = max(1, round(_RIVAL_S * rate / d))
    lag_e, coef, second = _windows_ncc(
        pe, ge, starts // d, win // d, max(1, lag // d), rival, np.zeros(starts.size, np.int64)
    )
    # fine: band-limited waveforms within ±3 ms of the coarse lag, kept where they are coherent
    coarse = lag_e * d
    fine_lag = max(2, round(_FINE_LAG_S * rate))
    lag_f, coef_f, _ = _windows_ncc(
        p, g, starts, win, fine_lag, 2 * fine_lag, np.rint(coarse).astype(np.int64)
    )
    use_fine = (coef_f >= _FINE_MIN) & (np.abs(lag_f - np.rint(coarse)) < fine_lag - 1)
    lag_s = np.where(use_fine, lag_f, coarse)
    ends = starts + win
    rms = np.sqrt(np.mean(p[: count * win].reshape(count, win) ** 2, axis=1))
    tol_ms = st.tolerance_frames * 1000.0 / fps
    windows: list[SyncWindow] = []
    for k in range(starts.size):
        t0, t1 = float(starts[k] / rate), float(ends[k] / rate)
        c = float(coef[k])
        if rms[k] < _SILENT_RMS:
            windows.append(SyncWindow(t0, t1, "silent"))
            continue
        clear = c >= st.min_correlation and second[k] < _RIVAL_RATIO * c
        # a weaker peak still counts when it stands out: at least twice anything else in the search range
        distinct = c >= 0.5 * st.min_correlation and second[k] <= _DISTINCT_RATIO * c
        if not math.isfinite(c) or not (clear or distinct):
            windows.append(
                SyncWindow(t0, t1, "no_match", correlation=round(c, 3) if math.isfinite(c) else 0.0)
            )
            continue
        off_ms = -float(lag_s[k]) / rate * 1000.0  # guide later than programme index → programme early
        status = "pass" if abs(off_ms) <= tol_ms + 1e-9 else "fail"
        windows.append(SyncWindow(t0, t1, status, off_ms, off_ms * fps / 1000.0, round(c, 3)))
    matched = [w for w in windows if w.offset_ms is not None]
    offset = float(np.median([w.offset_ms for w in matched])) if matched else None
    slope = drift = None
    if len(matched) >= _DRIFT_MIN_WINDOWS:
        t = np.array([(w.start_s + w.end_s) / 2 for w in matched])
        o = np.array([w.offset_ms for w in matched], dtype=np.float64)
        a, _ = np.polyfit(t, o, 1)
        slope, drift = float(a * 60.0), float(a * (t[-1] - t[0]))
    elif matched:
        notes.append(f"{len(matched)} matched window(s): drift needs {_DRIFT_MIN_WINDOWS}")
    if not matched:
        notes.append("the guide track was not found in the programme's sound (no match)")
    return SyncResult(tuple(windows), fps, st, offset, slope, drift, tuple(notes))


def read_analysis_signal(path: str | Path) -> tuple[F64, float]:
    """Decode a sound file or a movie's first sound stream to an analysis signal (streamed)."""
    from posthouse.core.media.decode import audio_sample_rate, iter_audio_blocks

    p = Path(path)
    if not p.is_file():
        raise MediaError("guide track not found", path=p, hint="give a WAV or a movie with sound")
    rate = audio_sample_rate(p)
    return analysis_signal(iter_audio_blocks(p, block=rate), rate)


def sync_findings(
    result: SyncResult, label: Callable[[float], str], *, offset_s: float = 0.0
) -> tuple[list[Check], list[QCEvent]]:
    """The report's ``sync`` checks and events (windows out of tolerance, no match, drift).

    ``label(seconds)`` gives the timecode of a time in the file; ``offset_s`` is where the measured
    programme starts in the file (the programme window).
    """
    tol_ms = result.settings.tolerance_frames * 1000.0 / result.fps
    events: list[QCEvent] = []
    for w in result.windows:
        t0, t1 = w.start_s + offset_s, w.end_s + offset_s
        if w.status == "fail" and w.offset_ms is not None:
            side = "late" if w.offset_ms > 0 else "early"
            detail = (
                f"sound {abs(w.offset_ms):.1f} ms ({abs(w.offset_frames or 0.0):.2f} frames) {side} against "
                f"the guide (tolerance ±{tol_ms:.1f} ms), correlation {w.correlation:.2f}"
            )
            events.append(QCEvent("sync", "fail", t0, t1, label(t0), label(t1), detail))
        elif w.status == "no_match":
            detail = f"guide track not found here (best correlation {w.correlation:.2f}): not measured"
            events.append(QCEvent("sync_match", "warn", t0, t1, label(t0), label(t1), detail))
    matched = result.matched
    if result.drifting and result.drift_ms_per_min is not None:
        t0, t1 = matched[0].start_s + offset_s, matched[-1].end_s + offset_s
        detail = (
            f"offset drifts {result.drift_ms_per_min:+.1f} ms/min ({result.drift_ms or 0.0:+.1f} ms from "
            f"{matched[0].offset_ms:+.1f} to {matched[-1].offset_ms:+.1f} ms): a speed or rate mismatch "
            f"(0.1 % = 60 ms/min, e.g. 24 against 23.976)"
        )
        events.append(QCEvent("sync_drift", "fail", t0, t1, label(t0), label(t1), detail))
    n_match = len(matched)
    measured = [w for w in result.windows if w.status != "silent"]
    checks = [
        Check(
            "sync_offset",
            "sync",
            "skip" if not matched else "fail" if any(w.status == "fail" for w in matched) else "pass",
            round(result.offset_ms, 2) if result.offset_ms is not None else None,
            f"± {tol_ms:.1f} ms ({result.settings.tolerance_frames:g} frames)",
            f"median of {n_match} window(s); worst {max(abs(w.offset_ms or 0.0) for w in matched):.1f} ms"
            if matched
            else "guide not found",
        ),
        Check(
            "sync_drift",
            "sync",
            "skip" if result.drift_ms_per_min is None else "fail" if result.drifting else "pass",
            round(result.drift_ms_per_min, 2) if result.drift_ms_per_min is not None else None,
            f"<= {result.settings.max_drift_ms_per_min:g} ms/min",
            "; ".join(result.notes),
        ),
        Check(
            "sync_match",
            "sync",
            "fail"
            if measured and not matched
            else "warn"
            if n_match < len(measured) or not measured
            else "pass",
            f"{n_match}/{len(measured)}",
            "guide found in every window with sound",
            "no match: the guide is not this programme's sound"
            if measured and not matched
            else "the programme's sound is silent: sync not measured"
            if not measured
            else "",
        ),
    ]
    return checks, events
