"""Dialogue cleanup chain: high-pass, mains-hum notches, de-click, spectral-gate noise reduction, de-ess
and leveling to a dialogue target.

Every node takes float32 ``(channels, samples)`` plus the sample rate and returns the same shape and
dtype. All filtering is zero-phase (forward-backward), gains are computed over the whole clip and applied
without look-ahead delay, and clicks are repaired in place, so the clip never moves against picture.
The noise profile is learnt from the take itself: its quietest ~0.5 s of short-term frames (room tone).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import fft as sfft
from scipy import ndimage, signal

from posthouse.core.errors import UsageError

__all__ = [
    "CleanResult",
    "LevelResult",
    "clean",
    "declick",
    "deess",
    "detect_clicks",
    "detect_clipping",
    "detect_hum",
    "highpass",
    "hum_harmonics",
    "level_dialogue",
    "noise_floor_dbfs",
    "remove_hum",
    "segmental_snr",
    "snr_db",
    "spectral_gate",
]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
Audio = npt.NDArray[np.floating[Any]]
"""Input audio: any float dtype, ``(channels, samples)`` (``(samples,)`` accepted where noted)."""

_EPS = 1e-12
_NPERSEG = 2048  # ~43 ms at 48 kHz
_HOP = 512
_PROFILE_S = 0.5
_FLOOR_FRAME_S = 0.05
_WORKERS = 2


@dataclass(frozen=True)
class CleanResult:
    """Output of :func:`clean`: the cleaned audio and what was done to it."""

    audio: F32
    hum_hz: int | None
    noise_floor_dbfs_before: float
    noise_floor_dbfs_after: float
    steps: tuple[str, ...]
    clicks: int = 0  # click samples repaired
    deess_max_db: float = 0.0  # deepest de-ess reduction, dB (measured on the band's level)
    loudness_before_lufs: float | None = None  # dialogue-gated loudness before leveling
    level_gain_db: float | None = None  # static leveling gain (None when not leveled)


def _as_2d(audio: npt.NDArray[np.floating]) -> F64:
    a = np.asarray(audio, dtype=np.float64)
    if a.ndim == 1:
        a = a[np.newaxis]
    if a.ndim != 2:
        raise UsageError(f"audio must be (channels, samples), got shape {a.shape}")
    return a


def _zero_phase(sos: F64, x: F64) -> F64:
    n = x.shape[-1]
    if n < 2:
        return x.copy()
    padlen = min(3 * (2 * len(sos) + 1), n - 1)
    return np.asarray(signal.sosfiltfilt(sos, x, axis=-1, padlen=padlen))


def highpass(audio: Audio, sample_rate: int, *, cutoff_hz: float = 80.0, order: int = 4) -> F32:
    """Zero-phase Butterworth high-pass (rumble, handling noise, mains fundamental's lower skirt)."""
    x = _as_2d(audio)
    sos = signal.butter(order, cutoff_hz, btype="highpass", fs=sample_rate, output="sos")
    return _zero_phase(np.asarray(sos), x).astype(np.float32)


def _mono_psd(x: F64, sample_rate: int) -> tuple[F64, F64]:
    mono = x.mean(axis=0)
    nper = min(len(mono), 4 * sample_rate)  # 0.25 Hz bins: 50/60 Hz harmonics well resolved
    f, p = signal.welch(mono, fs=sample_rate, nperseg=nper, noverlap=nper // 2)
    return np.asarray(f), np.asarray(p)


def _hum_score(f: F64, p: F64, mains: int, harmonics: int = 6) -> float:
    """Mean dB prominence of the first ``harmonics`` multiples of ``mains`` over their ±15 Hz surround."""
    return float(np.mean(_prominences(f, p, mains, harmonics)) if harmonics else 0.0)


def _prominences(f: F64, p: F64, mains: int, harmonics: int) -> list[float]:
    scores: list[float] = []
    for k in range(1, harmonics + 1):
        fk = k * mains
        if fk + 15 > f[-1]:
            break
        peak = p[np.abs(f - fk) <= 1.0].max()
        ring = p[(np.abs(f - fk) > 3.0) & (np.abs(f - fk) <= 15.0)]
        scores.append(float(10 * np.log10((peak + _EPS) / (np.median(ring) + _EPS))))
    return scores or [0.0]


def detect_hum(audio: Audio, sample_rate: int, *, min_prominence_db: float = 6.0) -> int | None:
    """50 or 60 when the spectrum shows mains harmonics standing clear of their neighbourhood, else None."""
    x = _as_2d(audio)
    if x.shape[-1] < sample_rate // 4 or not np.any(x):
        return None
    return _detect_hum_psd(*_mono_psd(x, sample_rate), min_prominence_db)


def _detect_hum_psd(f: F64, p: F64, min_prominence_db: float) -> int | None:
    """Mains whose first six harmonics stand out on average, the fundamental or second one clearly (a
    voice whose pitch sits on a multiple of 50 Hz lights up a few harmonics, never the low ones)."""
    best: tuple[float, int] | None = None
    for mains in (50, 60):
        prom = _prominences(f, p, mains, 6)
        score = float(np.mean(prom))
        clear = score >= min_prominence_db and max(prom[:2]) >= min_prominence_db + 4.0
        if clear and (best is None or score > best[0]):
            best = (score, mains)
    return best[1] if best is not None else None


def hum_harmonics(
    audio: Audio, sample_rate: int, mains_hz: int, *, max_hz: float = 1000.0, min_prominence_db: float = 6.0
) -> tuple[int, ...]:
    """Harmonic numbers of ``mains_hz`` up to ``max_hz`` that stand out of the spectrum (1 always)."""
    x = _as_2d(audio)
    top = int(min(max_hz, sample_rate / 2 - 16) // mains_hz)
    if x.shape[-1] < sample_rate // 4 or not np.any(x) or top < 1:
        return (1,)
    return _harmonics_psd(*_mono_psd(x, sample_rate), mains_hz, top, min_prominence_db)


def _harmonics_psd(f: F64, p: F64, mains_hz: int, top: int, min_prominence_db: float) -> tuple[int, ...]:
    found = [k for k in range(2, top + 1) if _hum_score(f, p, k * mains_hz, 1) >= min_prominence_db]
    return (1, *found)


def remove_hum(
    audio: Audio,
    sample_rate: int,
    mains_hz: float,
    *,
    harmonics: Sequence[int] | None = None,
    max_hz: float = 1000.0,
    bandwidth_hz: float = 1.0,
) -> F32:
    """Zero-phase notches ``bandwidth_hz`` wide at ``mains_hz`` times each of ``harmonics``.

    ``harmonics`` defaults to every multiple up to ``max_hz``; notching only those present
    (:func:`hum_harmonics`) takes less of the voice.
    """
    x = _as_2d(audio)
    ks = range(1, int(max_hz // mains_hz) + 1) if harmonics is None else harmonics
    sos = []
    for k in ks:
        fk = k * mains_hz
        if fk >= sample_rate / 2:
            break
        b, a = signal.iirnotch(fk, fk / bandwidth_hz, fs=sample_rate)
        sos.append(signal.tf2sos(b, a))
    if not sos:
        return x.astype(np.float32)
    return _zero_phase(np.concatenate(sos), x).astype(np.float32)


def _frame_rms_db(x: F64, frame: int) -> F64:
    """Short-term RMS (dBFS, power-averaged over channels) in non-overlapping frames of ``frame``."""
    n = x.shape[-1] // frame
    if n == 0:
        ms = np.array([np.mean(x**2)]) if x.size else np.array([0.0])
    else:
        ms = (x[:, : n * frame].reshape(x.shape[0], n, frame) ** 2).mean(axis=(0, 2))
    return np.asarray(10 * np.log10(ms + _EPS))


def noise_floor_dbfs(audio: Audio, sample_rate: int, *, seconds: float = _PROFILE_S) -> float:
    """RMS level (dBFS) of the quietest ``seconds`` of 50 ms frames: the room-tone floor."""
    x = _as_2d(audio)
    frame = max(1, round(_FLOOR_FRAME_S * sample_rate))
    db = np.sort(_frame_rms_db(x, frame))
    k = max(1, min(len(db), round(seconds / _FLOOR_FRAME_S)))
    return float(10 * np.log10(np.mean(10 ** (db[:k] / 10)) + _EPS))


def _stft(x: F32, nper: int, hop: int) -> tuple[npt.NDArray[np.complex64], F32, int]:
    """Hann-windowed STFT of ``(channels, n)`` as ``(channels, frames, bins)``; frames centred on
    multiples of ``hop`` (the signal padded by ``nper // 2`` both sides). Returns spectra, window, pad."""
    pad = nper // 2
    n = x.shape[-1]
    frames = -(-(n + 2 * pad - nper) // hop) + 1
    total = (frames - 1) * hop + nper
    xp = np.zeros((x.shape[0], total), np.float32)
    xp[:, pad : pad + n] = x
    win = signal.get_window("hann", nper).astype(np.float32)
    view = np.lib.stride_tricks.sliding_window_view(xp, nper, axis=-1)[:, ::hop, :]
    z = sfft.rfft(view * win, axis=-1, workers=_WORKERS)
    return np.asarray(z, np.complex64), win, pad


def _istft(z: npt.NDArray[np.complex64], win: F32, hop: int, pad: int, n: int) -> F32:
    """Inverse of :func:`_stft` by weighted overlap-add (``len(win)`` a multiple of ``hop``)."""
    nper = len(win)
    q = nper // hop
    ch, frames = z.shape[0], z.shape[1]
    y = np.asarray(sfft.irfft(z, n=nper, axis=-1, workers=_WORKERS), np.float32) * win
    chunks = y.reshape(ch, frames, q, hop)
    out = np.zeros((ch, frames + q - 1, hop), np.float32)
    w2 = (win * win).reshape(q, hop)
    norm = np.zeros((frames + q - 1, hop), np.float32)
    for k in range(q):  # q (= 4) shifted adds, each vectorised over every frame
        out[:, k : k + frames] += chunks[:, :, k, :]
        norm[k : k + frames] += w2[k]
    flat = out.reshape(ch, -1)[:, pad : pad + n]
    den = norm.reshape(-1)[pad : pad + n]
    return np.asarray(flat / np.maximum(den, np.float32(1e-6)), np.float32)


def spectral_gate(
    audio: Audio,
    sample_rate: int,
    *,
    reduction_db: float = 12.0,
    profile_s: float = _PROFILE_S,
    over_subtraction: float = 1.5,
    smooth_bins: int = 5,
    smooth_frames: int = 5,
) -> F32:
    """Broadband noise reduction: power subtraction against the take's own room-tone profile.

    The profile is the mean power spectrum of the quietest STFT frames totalling ``profile_s`` (picked
    on all channels together). The gain mask is smoothed over ``smooth_bins`` × ``smooth_frames`` to
    avoid musical noise and never drops below ``-reduction_db``.
    """
    x = _as_2d(audio)
    n = x.shape[-1]
    if n < _NPERSEG or not np.any(x):
        return x.astype(np.float32)
    z, win, pad = _stft(x.astype(np.float32), _NPERSEG, _HOP)  # complex64: half the memory traffic
    power = z.real**2 + z.imag**2  # (channels, frames, bins)
    eps = np.float32(_EPS)
    frame_energy = power.sum(axis=(0, 2))
    starts = np.arange(len(frame_energy)) * _HOP - pad
    inside = np.flatnonzero((starts >= 0) & (starts + _NPERSEG <= n))  # frames free of edge padding
    cand = inside if len(inside) else np.arange(len(frame_energy))
    k = max(1, min(len(cand), round(profile_s * sample_rate / _HOP)))
    quiet = cand[np.argpartition(frame_energy[cand], k - 1)[:k]]
    noise = power[:, quiet, :].mean(axis=1, keepdims=True)
    gain = np.sqrt(np.clip(1.0 - np.float32(over_subtraction) * noise / (power + eps), 0.0, 1.0))
    gain = ndimage.uniform_filter(gain, size=(1, smooth_frames, smooth_bins), mode="nearest")
    floor = np.float32(10 ** (-abs(reduction_db) / 20))
    gain = floor + (np.float32(1.0) - floor) * gain
    return _istft(z * gain, win, _HOP, pad, n)


def _levinson(r: F64, order: int) -> F64:
    """LPC polynomials ``(blocks, order + 1)`` from autocorrelations ``(blocks, >order)``, all blocks at
    once (the recursion runs over the order, vectorised over blocks)."""
    a = np.zeros((r.shape[0], order + 1))
    a[:, 0] = 1.0
    err = r[:, 0].copy()
    for i in range(1, order + 1):
        acc = np.einsum("bj,bj->b", a[:, :i], r[:, i:0:-1])
        k = -acc / np.maximum(err, _EPS)
        a[:, 1 : i + 1] = a[:, 1 : i + 1] + k[:, None] * a[:, i - 1 :: -1][:, :i]
        err = err * (1.0 - k * k)
    return a


def _lpc_residual(x: F64, block: int, order: int) -> F32:
    """Prediction error of ``x`` (1-D) by a block-wise LPC model fitted on each block and its neighbours."""
    n = len(x)
    nb = -(-n // block)
    xp = np.zeros(nb * block + block, np.float32)
    xp[block // 2 : block // 2 + n] = x
    frames = np.lib.stride_tricks.sliding_window_view(xp, 2 * block)[::block][:nb]
    win = np.hanning(2 * block).astype(np.float32)
    nfft = sfft.next_fast_len(2 * block + order + 1, real=True)  # no circular wrap up to lag ``order``
    spec = sfft.rfft(frames * win, n=nfft, axis=-1, workers=_WORKERS)
    # the first order + 1 autocorrelation lags straight from the power spectrum: one small matrix product
    k = np.arange(spec.shape[-1])
    w = np.where((k == 0) | (2 * k == nfft), 1.0, 2.0) / nfft
    basis = (w[:, None] * np.cos(2 * np.pi * np.outer(k, np.arange(order + 1)) / nfft)).astype(np.float32)
    r = np.asarray((spec.real**2 + spec.imag**2) @ basis, np.float64)
    r[:, 0] *= 1.0 + 1e-4  # white-noise correction: a stable, well-conditioned predictor
    r[:, 0] += _EPS
    a = _levinson(r, order).astype(np.float32)
    hist = np.zeros(nb * block + order, np.float32)
    hist[order : order + n] = x
    e = np.zeros((nb, block), np.float32)
    for j in range(order + 1):  # e[t] = sum_j a_j x[t - j]: one vectorised pass per coefficient
        e += a[:, j : j + 1] * hist[order - j : order - j + nb * block].reshape(nb, block)
    return e.reshape(-1)[:n]


def detect_clicks(
    audio: Audio,
    sample_rate: int,
    *,
    threshold: float = 10.0,
    max_click_ms: float = 1.5,
    order: int = 16,
) -> npt.NDArray[np.bool_]:
    """Samples ``(channels, samples)`` that are impulsive clicks.

    A sample is suspect when its LPC prediction error exceeds ``threshold`` times the error's robust
    scale (median absolute value) in its ~20 ms block; suspect runs (widened by a few samples) longer than
    ``max_click_ms`` are left alone, as they are speech (plosives, fricatives), not clicks.
    """
    x = _as_2d(audio)
    mask = np.zeros(x.shape, bool)
    n = x.shape[-1]
    block = max(64, int(2 ** round(np.log2(0.02 * sample_rate))))
    if n < 4 * order or not np.any(x):
        return mask
    max_len = max(1, round(max_click_ms * 1e-3 * sample_rate))
    for c in range(x.shape[0]):
        e = _lpc_residual(x[c], block, order)
        nb = -(-n // block)
        ab = np.zeros(nb * block, np.float32)
        ab[:n] = np.abs(e)
        scale = np.median(ab.reshape(nb, block), axis=1).astype(np.float64) / 0.6745
        scale = ndimage.maximum_filter1d(scale, 3, mode="nearest")  # onsets: trust the louder neighbour
        floor = np.median(scale) * 1e-3 + _EPS
        limit = (threshold * np.maximum(scale, floor)).astype(np.float32)
        hit = (ab.reshape(nb, block) > limit[:, None]).reshape(-1)[:n]
        if not np.any(hit):
            continue
        idx = _widen(np.flatnonzero(hit), 2, n)  # the click's smear through the predictor
        run = np.concatenate(([0], np.cumsum(np.diff(idx) > 1)))  # run number of each sample
        sizes = np.bincount(run)
        mask[c, idx[sizes[run] <= max_len]] = True
    return mask


def _widen(idx: npt.NDArray[np.intp], by: int, n: int) -> npt.NDArray[np.intp]:
    """Sorted unique sample indices within ``by`` of any of ``idx`` (a sparse binary dilation)."""
    out = (idx[:, None] + np.arange(-by, by + 1)).ravel()
    return np.unique(out[(out >= 0) & (out < n)])


def declick(
    audio: Audio,
    sample_rate: int,
    *,
    threshold: float = 10.0,
    max_click_ms: float = 1.5,
    mask: npt.NDArray[np.bool_] | None = None,
) -> F32:
    """Repair impulsive clicks (:func:`detect_clicks`, or ``mask``) by cubic-spline interpolation from the
    good samples around each one; everything else is returned bit for bit."""
    x = _as_2d(audio)
    bad = (
        detect_clicks(x, sample_rate, threshold=threshold, max_click_ms=max_click_ms)
        if mask is None
        else mask
    )
    y = x.astype(np.float32)
    if not np.any(bad):
        return y
    from scipy.interpolate import CubicSpline

    span = 16  # good samples each side used as knots
    for c in range(x.shape[0]):
        b = bad[c]
        if not np.any(b):
            continue
        holes = np.flatnonzero(b)
        near = _widen(holes, span, x.shape[-1])
        knots = near[~b[near]]
        if len(knots) < 4:
            y[c, holes] = 0.0
            continue
        spline = CubicSpline(knots, x[c, knots], extrapolate=True)
        y[c, holes] = spline(holes).astype(np.float32)
    return y


def _frame_power(x: F64, hop: int) -> F64:
    """Mean power of non-overlapping ``hop``-sample frames, summed over channels: ``(frames,)`` (the last
    partial frame included)."""
    n = x.shape[-1]
    nf = -(-n // hop)
    p = np.zeros((x.shape[0], nf * hop))
    p[:, :n] = x * x
    return np.asarray(p.reshape(x.shape[0], nf, hop).mean(axis=2).sum(axis=0))


def deess(
    audio: Audio,
    sample_rate: int,
    *,
    band_hz: tuple[float, float] = (5000.0, 9000.0),
    threshold_db: float = -12.0,
    max_reduction_db: float = 8.0,
    ratio: float = 3.0,
) -> F32:
    """Dynamic attenuation of the ``band_hz`` band while the sound is sibilant.

    The band is split off with a zero-phase band-pass (the remainder is the exact complement). In 5 ms
    frames, the band's share of the total power (dB) is compared with ``threshold_db``; above it, and well
    above the band's own noise floor, the band is turned down like a ``ratio``:1 compressor, by at most
    ``max_reduction_db``. The gain is smoothed both ways in time; where nothing is sibilant the output
    equals the input.
    """
    return _deess(
        audio,
        sample_rate,
        band_hz=band_hz,
        threshold_db=threshold_db,
        max_reduction_db=max_reduction_db,
        ratio=ratio,
    )[0]


def _deess(
    audio: Audio,
    sample_rate: int,
    *,
    band_hz: tuple[float, float] = (5000.0, 9000.0),
    threshold_db: float = -12.0,
    max_reduction_db: float = 8.0,
    ratio: float = 3.0,
) -> tuple[F32, float]:
    x = _as_2d(audio)
    n = x.shape[-1]
    lo, hi = band_hz[0], min(band_hz[1], 0.45 * sample_rate)
    if n < 64 or hi <= lo * 1.1 or not np.any(x):
        return x.astype(np.float32), 0.0
    sos = signal.butter(3, (lo, hi), btype="bandpass", fs=sample_rate, output="sos")
    band = _zero_phase(np.asarray(sos), x)
    hop = max(1, round(0.005 * sample_rate))
    pb = ndimage.uniform_filter1d(_frame_power(band, hop), 3, mode="nearest")
    pt = ndimage.uniform_filter1d(_frame_power(x, hop), 3, mode="nearest")
    share_db = 10 * np.log10((pb + _EPS) / (pt + _EPS))
    band_db = 10 * np.log10(pb + _EPS)
    band_floor = np.percentile(band_db, 10)
    over = np.clip(share_db - threshold_db, 0.0, None) * (1.0 - 1.0 / ratio)
    red = np.where(band_db > band_floor + 10.0, np.minimum(over, max_reduction_db), 0.0)
    if not np.any(red > 0):
        return x.astype(np.float32), 0.0
    red = ndimage.maximum_filter1d(red, 3, mode="nearest")  # reach the sibilant's edges…
    red = ndimage.uniform_filter1d(red, 3, mode="nearest")  # …with a smooth, symmetric ramp
    centres = (np.arange(len(red)) + 0.5) * hop
    gain = 10 ** (-np.interp(np.arange(n), centres, red) / 20.0)
    return (x + (gain - 1.0) * band).astype(np.float32), float(red.max())


@dataclass(frozen=True)
class LevelResult:
    """Output of :func:`level_dialogue`."""

    audio: F32
    loudness_before_lufs: float | None  # dialogue-gated (speech-active) loudness
    gain_db: float  # the static part of the gain
    ride_db: tuple[float, float]  # (min, max) of the riding around it


def _momentary(x: F64, sample_rate: int, hop: int) -> F64:
    """K-weighted 400 ms loudness (LUFS) every ``hop`` samples (block ``k`` centred on ``(k + .5)·hop``)."""
    from posthouse.sound.loudness import k_weighting_sos

    kw = signal.sosfilt(k_weighting_sos(sample_rate), x, axis=-1)
    p = _frame_power(kw, hop)
    width = max(1, round(0.4 * sample_rate / hop))
    ms = ndimage.uniform_filter1d(p, width, mode="nearest")
    return np.asarray(-0.691 + 10 * np.log10(ms + _EPS))


def level_dialogue(
    audio: Audio,
    sample_rate: int,
    *,
    target_lufs: float = -27.0,
    ride: float = 0.5,
    max_ride_db: float = 6.0,
    smooth_s: float = 0.5,
    ceiling_dbfs: float = -1.0,
) -> LevelResult:
    """Level dialogue to ``target_lufs`` (dialogue-gated, BS.1770 K-weighting), riding gently.

    Speech-active 400 ms blocks (above −70 LUFS, 10 LU over the clip's quietest blocks and within 20 LU
    of its loudest speech) set a static gain to the target; each active block's deviation from the target
    is then taken ``ride`` of the way back (at most ``max_ride_db``). Pauses hold the gain of the speech
    around them (no pumping up of room tone), and the gain curve is smoothed over ``smooth_s`` both ways
    (zero latency). Peaks over ``ceiling_dbfs`` get a local, smoothed dip.
    """
    x = _as_2d(audio)
    n = x.shape[-1]
    hop = max(1, round(0.1 * sample_rate))
    if n < hop or not np.any(x):
        return LevelResult(x.astype(np.float32), None, 0.0, (0.0, 0.0))
    mom = _momentary(x, sample_rate, hop)
    quiet = np.percentile(mom, 10)
    active = (mom > -70.0) & (mom > quiet + 10.0)
    if np.any(active):
        active &= mom > mom[active].max() - 20.0
    if not np.any(active):
        return LevelResult(x.astype(np.float32), None, 0.0, (0.0, 0.0))
    power = 10 ** ((mom[active] + 0.691) / 10)
    loud = float(-0.691 + 10 * np.log10(power.mean()))
    static = target_lufs - loud
    dev = mom + static - target_lufs
    corr = np.clip(-ride * dev, -max_ride_db, max_ride_db)
    idx = np.flatnonzero(active)
    corr = np.interp(np.arange(len(mom)), idx, corr[idx])  # hold through pauses
    sigma = max(smooth_s * sample_rate / hop / 2.0, 0.5)
    corr = ndimage.gaussian_filter1d(corr, sigma, mode="nearest")
    gain_db = static + corr
    # keep peaks under the ceiling: a local dip, widened before smoothing so it still covers the peak
    need = np.minimum(0.0, ceiling_dbfs - (20 * np.log10(_block_peak(x, hop) + _EPS) + gain_db))
    if np.any(need < 0):
        dip = ndimage.gaussian_filter1d(
            ndimage.minimum_filter1d(need, 5, mode="nearest"), 1.0, mode="nearest"
        )
        gain_db = gain_db + np.minimum(1.2 * dip, 0.0)
    centres = (np.arange(len(gain_db)) + 0.5) * hop
    g = 10 ** (np.interp(np.arange(n), centres, gain_db) / 20.0)
    y = np.clip(x * g, -1.0, 1.0)
    return LevelResult(y.astype(np.float32), loud, float(static), (float(corr.min()), float(corr.max())))


def _block_peak(x: F64, hop: int) -> F64:
    n = x.shape[-1]
    nf = -(-n // hop)
    a = np.zeros((x.shape[0], nf * hop))
    a[:, :n] = np.abs(x)
    return np.asarray(a.reshape(x.shape[0], nf, hop).max(axis=(0, 2)))


def detect_clipping(audio: Audio, *, level: float = 0.999, min_run: int = 3) -> list[tuple[int, int]]:
    """Sample ranges ``[start, end)`` where any channel sits at full scale (``|x| >= level``) for at least
    ``min_run`` consecutive samples: clipped on the recorder or in a converter."""
    x = _as_2d(audio)
    if x.size == 0:
        return []
    hot = (np.abs(x) >= level).any(axis=0)
    if not np.any(hot):
        return []
    edges = np.diff(np.concatenate(([0], hot.astype(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    keep = ends - starts >= min_run
    return [(int(a), int(b)) for a, b in zip(starts[keep], ends[keep], strict=True)]


def clean(
    audio: Audio,
    sample_rate: int,
    *,
    mains: int | None = None,
    reduction_db: float = 12.0,
    declick_clicks: bool = True,
    deess_band: bool = True,
    target_lufs: float | None = None,
) -> CleanResult:
    """The dialogue chain: high-pass 80 Hz, notch detected (or given) mains hum to 1 kHz, repair clicks,
    spectral-gate the room tone, de-ess 5–9 kHz, and (with ``target_lufs``) level the dialogue."""
    if mains not in (None, 50, 60):
        raise UsageError(f"mains must be None, 50 or 60, got {mains!r}")
    src = np.asarray(audio)
    x = _as_2d(src)
    x32 = x.astype(np.float32)
    before = noise_floor_dbfs(x32, sample_rate)
    steps = ["highpass 80 Hz"]
    y = highpass(x32, sample_rate)
    long_enough = x.shape[-1] >= sample_rate // 4 and bool(np.any(x))
    f, p = _mono_psd(x, sample_rate) if long_enough and mains is None else (np.zeros(0), np.zeros(0))
    hum = mains if mains is not None else (_detect_hum_psd(f, p, 6.0) if long_enough else None)
    if hum is not None:
        top = int(min(1000.0, sample_rate / 2 - 16) // hum)
        if not long_enough or top < 1:
            ks: tuple[int, ...] = (1,)
        else:
            if not len(f):
                f, p = _mono_psd(x, sample_rate)
            ks = _harmonics_psd(f, p, hum, top, 6.0)
        y = remove_hum(y, sample_rate, hum, harmonics=ks)
        steps.append(f"hum notch {hum} Hz x{','.join(map(str, ks))}")
    clicks = 0
    if declick_clicks:
        mask = detect_clicks(y, sample_rate)
        clicks = int(mask.sum())
        if clicks:
            y = declick(y, sample_rate, mask=mask)
        steps.append(f"de-click ({clicks} samples)")
    if reduction_db > 0:
        y = spectral_gate(y, sample_rate, reduction_db=reduction_db)
        steps.append(f"spectral gate {reduction_db:g} dB")
    deess_db = 0.0
    if deess_band:
        y, deess_db = _deess(y, sample_rate)
        steps.append(f"de-ess 5-9 kHz (max {deess_db:.1f} dB)")
    loud: float | None = None
    gain: float | None = None
    floor_after = noise_floor_dbfs(y, sample_rate)
    if target_lufs is not None:
        lv = level_dialogue(y, sample_rate, target_lufs=target_lufs)
        y, loud, gain = lv.audio, lv.loudness_before_lufs, lv.gain_db
        floor_after = noise_floor_dbfs(y, sample_rate)
        lo, hi = lv.ride_db
        steps.append(f"level {target_lufs:g} LUFS dialogue ({gain:+.1f} dB, ride {lo:+.1f}..{hi:+.1f} dB)")
    if src.ndim == 1:
        y = y[0]
    return CleanResult(
        audio=np.asarray(y, np.float32),
        hum_hz=hum,
        noise_floor_dbfs_before=before,
        noise_floor_dbfs_after=floor_after,
        steps=tuple(steps),
        clicks=clicks,
        deess_max_db=deess_db,
        loudness_before_lufs=loud,
        level_gain_db=gain,
    )


def _fit(processed: npt.ArrayLike, reference: npt.ArrayLike, fit_gain: bool) -> tuple[F64, F64]:
    p = np.asarray(processed, dtype=np.float64).ravel()
    r = np.asarray(reference, dtype=np.float64).ravel()
    if p.shape != r.shape:
        raise UsageError(f"processed {p.shape} and reference {r.shape} differ in length")
    if fit_gain:
        g = float(np.dot(p, r) / (np.dot(p, p) + _EPS))  # least squares: min |g·p - r|²
        p = g * p
    return p, r


def snr_db(processed: npt.ArrayLike, reference: npt.ArrayLike, *, fit_gain: bool = True) -> float:
    """Global SNR (dB) of mono ``processed`` against ``reference`` (gain fitted by least squares)."""
    p, r = _fit(processed, reference, fit_gain)
    return float(10 * np.log10((np.sum(r**2) + _EPS) / (np.sum((p - r) ** 2) + _EPS)))


def segmental_snr(
    processed: npt.ArrayLike,
    reference: npt.ArrayLike,
    sample_rate: int,
    *,
    frame_ms: float = 25.0,
    active_db: float = -40.0,
    fit_gain: bool = True,
) -> float:
    """Classic segmental SNR: per-frame SNR clamped to −10..35 dB, averaged over active frames.

    A frame is active when the reference's energy is within ``active_db`` of its loudest frame.
    """
    p, r = _fit(processed, reference, fit_gain)
    frame = max(1, round(frame_ms * 1e-3 * sample_rate))
    n = len(r) // frame
    if n == 0:
        return float("nan")
    rf = r[: n * frame].reshape(n, frame)
    ef = (p[: n * frame].reshape(n, frame) - rf) ** 2
    sig = (rf**2).sum(axis=1)
    active = sig > sig.max() * 10 ** (active_db / 10)
    if not np.any(active):
        return float("nan")
    seg = 10 * np.log10((sig[active] + _EPS) / (ef.sum(axis=1)[active] + _EPS))
    return float(np.mean(np.clip(seg, -10.0, 35.0)))
