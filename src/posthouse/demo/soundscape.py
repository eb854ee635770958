"""The sound of the set for the demo shoot: room tone, hum, hiss, the clap, clock drift and microphones.

Everything is float32 NumPy, mono ``(samples,)`` unless said otherwise, deterministic through the
``np.random.Generator`` passed in, and free of file I/O. Levels are dBFS, full scale being ±1.0: noise
levels are RMS, the clap's is its peak.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import signal as sps

from posthouse.core.resample import read_at

__all__ = [
    "MicMix",
    "apply_drift",
    "broadband_noise",
    "clap",
    "db_to_gain",
    "mains_hum",
    "mic_mix",
    "room_tone",
]

_F32 = NDArray[np.float32]
_F64 = NDArray[np.float64]
_SPEED_OF_SOUND = 343.0  # m/s


def db_to_gain(db: float) -> float:
    """Amplitude gain of ``db`` decibels: ``10 ** (db / 20)``."""
    return float(10.0 ** (db / 20.0))


def _at_rms(x: _F64, level_dbfs: float) -> _F32:
    rms = float(np.sqrt(np.mean(x * x))) if x.size else 0.0
    scale = db_to_gain(level_dbfs) / rms if rms > 0 else 0.0
    return (x * scale).astype(np.float32)


@functools.lru_cache(maxsize=32)
def _sos(order: int, cutoff: float | tuple[float, float], btype: str, sample_rate: int) -> _F64:
    nyq = 0.5 * sample_rate
    if isinstance(cutoff, tuple):
        cut: float | tuple[float, float] = (cutoff[0], min(cutoff[1], 0.95 * nyq))
    else:
        cut = min(cutoff, 0.95 * nyq)
    sos: _F64 = sps.butter(order, cut, btype=btype, fs=sample_rate, output="sos")
    return sos


def _filt(x: _F64, order: int, cutoff: float | tuple[float, float], btype: str, sample_rate: int) -> _F64:
    y: _F64 = sps.sosfilt(_sos(order, cutoff, btype, sample_rate), x)
    return y


def _eq(x: _F64, order: int, cutoff: float | tuple[float, float], btype: str, sample_rate: int) -> _F64:
    """Zero-phase filtering, so a mic's EQ never shifts it in time against the other tracks."""
    y: _F64 = sps.sosfiltfilt(_sos(order, cutoff, btype, sample_rate), x)
    return y


# ---------------------------------------------------------------------------------------------- beds


def room_tone(
    n_samples: int, sample_rate: int, rng: np.random.Generator, level_dbfs: float = -60.0
) -> NDArray[np.float32]:
    """Steady interior room tone at ``level_dbfs`` RMS: pink noise darkened above ~4 kHz, plus HVAC rumble."""
    warm = sample_rate // 5  # let the filters settle before the first returned sample
    white = rng.standard_normal(n_samples + warm)
    # Pink (−3 dB/octave) by Kellet's three-pole approximation, then air and furnishings soak up the top.
    pink = sps.lfilter(
        [0.049922035, -0.095993537, 0.050612699, -0.004408786],
        [1.0, -2.494956002, 2.017265875, -0.522189400],
        white,
    )
    pink = _filt(pink, 2, 4000.0, "lowpass", sample_rate)
    rumble = sps.lfilter([1.0], [1.0, -0.995], rng.standard_normal(n_samples + warm))  # brown
    rumble = _filt(rumble, 2, (25.0, 180.0), "bandpass", sample_rate)
    pink /= np.std(pink[warm:]) + 1e-12
    rumble /= np.std(rumble[warm:]) + 1e-12
    bed = _filt(pink + 0.7 * rumble, 2, 20.0, "highpass", sample_rate)
    return _at_rms(bed[warm:], level_dbfs)


_HUM_DB = (0.0, -10.0, -6.0, -18.0, -12.0, -24.0, -18.0, -30.0, -24.0, -36.0, -30.0)


def mains_hum(
    n_samples: int,
    sample_rate: int,
    freq: float = 50.0,
    level_dbfs: float = -50.0,
    harmonics: Sequence[float] | None = None,
) -> NDArray[np.float32]:
    """Mains hum and buzz at ``level_dbfs`` RMS: ``freq`` (50 or 60 Hz) and its harmonics.

    ``harmonics`` gives each harmonic's level in dB relative to the fundamental, starting with the
    fundamental itself (0.0); the default has odd harmonics stronger than even ones, falling off with
    order, as from a ground loop near a transformer. Harmonics at or above Nyquist are dropped.
    """
    levels = tuple(_HUM_DB if harmonics is None else harmonics)
    t = np.arange(n_samples) / sample_rate
    hum = np.zeros(n_samples)
    for k, db in enumerate(levels, start=1):
        if k * freq < 0.5 * sample_rate:
            hum += db_to_gain(db) * np.sin(2 * np.pi * k * freq * t + 0.9 * k)
    return _at_rms(hum, level_dbfs)


def broadband_noise(n_samples: int, rng: np.random.Generator, level_dbfs: float) -> NDArray[np.float32]:
    """White Gaussian hiss (preamp or converter noise) at ``level_dbfs`` RMS."""
    return _at_rms(rng.standard_normal(n_samples), level_dbfs)


def clap(sample_rate: int, rng: np.random.Generator) -> NDArray[np.float32]:
    """A clapperboard's clap, dry: a sharp broadband crack peaking at −3 dBFS in its first millisecond.

    Wood-on-wood: a click, a burst of noise falling about 40 dB in 50 ms and two short-lived stick modes.
    150 ms long; sample 0 is the moment the sticks meet.
    """
    n = round(0.15 * sample_rate)
    t = np.arange(n) / sample_rate
    decay = np.exp(-t / 0.011)
    burst = rng.standard_normal(n) * decay * (1.0 - np.exp(-t / 0.0002))
    modes = sum(
        a * np.sin(2 * np.pi * f * t + p) * np.exp(-t / tau)
        for a, f, tau, p in ((0.5, 1250.0, 0.008, 0.3), (0.35, 2900.0, 0.005, 1.1))
    )
    click = np.zeros(n)
    k = max(1, round(0.0003 * sample_rate))
    click[k] = 4.0
    x = _filt(burst + modes + click, 2, 150.0, "highpass", sample_rate)
    x *= db_to_gain(-3.0) / np.max(np.abs(x))
    return x.astype(np.float32)


# ---------------------------------------------------------------------------------------------- drift


def apply_drift(signal: NDArray[np.floating], ppm: float) -> NDArray[np.float32]:
    """Resample ``signal`` as recorded by a clock running ``ppm`` parts per million fast.

    Sign convention: a recorder whose clock runs fast by ``+ppm`` takes MORE samples in the same real
    time, so its file is longer and events land later: output length is ``round(n * (1 + ppm·1e-6))``
    and input sample ``i`` appears at output position ``i * (1 + ppm·1e-6)`` (e.g. +100 ppm at 48 kHz
    moves an event at 10 s later by 48 samples). Negative ``ppm`` is a slow clock: shorter, earlier.

    Band-limited interpolation (a 32-tap Kaiser-windowed sinc, vectorised); works on the last axis, so a
    ``(channels, samples)`` array drifts every channel alike.
    """
    x = np.asarray(signal, dtype=np.float32)
    ratio = 1.0 + ppm * 1e-6
    n_in = x.shape[-1]
    if ppm == 0.0 or n_in == 0:
        return x.copy()
    n_out = round(n_in * ratio)
    return read_at(x, np.arange(n_out, dtype=np.float64) / ratio)


# ---------------------------------------------------------------------------------------------- mics


def _reverb_tail(sample_rate: int, rng: np.random.Generator, rt60_s: float) -> _F64:
    """A room's reverberant response (no direct sound), with about the energy of a unit direct impulse.

    Sparse early reflections over a diffuse tail that builds up in ~12 ms, decays 60 dB in ``rt60_s`` and
    loses its top (air absorption).
    """
    n = max(16, round(1.1 * rt60_s * sample_rate))
    t = np.arange(n) / sample_rate
    tail = rng.standard_normal(n) * np.exp(-6.91 * t / rt60_s) * np.clip(t / 0.012, 0.0, 1.0)
    tail = _filt(tail, 2, 6000.0, "lowpass", sample_rate)
    tail /= np.sqrt(np.sum(tail**2))
    # Early reflections: weak enough that none outdoes the direct sound even far beyond critical distance.
    k = np.minimum((rng.uniform(0.002, 0.02, 6) * sample_rate).astype(np.intp), n - 1)
    tail[k] += rng.choice([-1.0, 1.0], 6) * rng.uniform(0.04, 0.15, 6)
    return tail


def _delay(x: _F64, samples: int) -> _F64:
    if samples <= 0:
        return x
    y = np.zeros_like(x)
    y[samples:] = x[: len(x) - samples]
    return y


def _wander(n: int, sample_rate: int, rng: np.random.Generator, depth_db: float, every_s: float) -> _F64:
    """A slow random gain (a boom swinging between actors): ±``depth_db`` dB, a new target per ``every_s``."""
    knots = np.arange(0.0, n / sample_rate + 2 * every_s, every_s)
    db = depth_db * np.tanh(rng.standard_normal(len(knots)))
    g: _F64 = 10.0 ** (np.interp(np.arange(n) / sample_rate, knots, db) / 20.0)
    return g


def _rustle(n: int, sample_rate: int, rng: np.random.Generator, level_dbfs: float) -> _F64:
    """Clothing rubbing on a lavalier: a few crackly bursts of 0.1–0.5 s, about one per 8 s."""
    out = np.zeros(n)
    for _ in range(int(rng.poisson(n / sample_rate / 8.0))):
        m = min(n, round(rng.uniform(0.1, 0.5) * sample_rate))
        start = int(rng.integers(0, n - m + 1))
        crackle = sps.lfilter([1.0], [1.0, -0.98], (rng.random(m) < 0.01) * rng.standard_normal(m))
        noise = _filt(
            rng.standard_normal(m) * (0.3 + np.abs(crackle)), 2, (400.0, 7000.0), "bandpass", sample_rate
        )
        noise *= np.hanning(m) * db_to_gain(level_dbfs) / (np.std(noise) + 1e-12)
        out[start : start + m] += noise
    return out


def _limit(x: _F64, knee: float = 0.8, ceiling: float = 0.98) -> _F32:
    """A recorder's soft limiter: linear below ``knee``, never beyond ``ceiling``."""
    mag = np.abs(x)
    over = mag > knee
    span = ceiling - knee
    y = np.where(over, np.sign(x) * (knee + span * np.tanh((mag - knee) / span)), x)
    return y.astype(np.float32)


@dataclass(frozen=True, slots=True)
class MicMix:
    """The microphones of one take: float32 mono tracks as long as the dialogue given to :func:`mic_mix`."""

    boom: NDArray[np.float32]
    lavs: tuple[NDArray[np.float32], ...]  # lavs[i] is worn by the speaker of dialogue[i]
    camera: NDArray[np.float32]  # the camera's scratch mic

    def recorder(self) -> NDArray[np.float32]:
        """The sound recorder's polyphonic take, ``(channels, samples)``: boom, then lav 1, lav 2, …"""
        return np.stack([self.boom, *self.lavs])


def mic_mix(
    dialogue: Sequence[NDArray[np.float32]],
    sample_rate: int,
    rng: np.random.Generator,
    *,
    effects: NDArray[np.float32] | None = None,
    boom_distance_m: float = 0.7,
    camera_distance_m: float = 3.5,
    actor_spacing_m: float = 1.5,
    lav_bleed_db: float = -20.0,
    rt60_s: float = 0.4,
    room_tone_dbfs: float | None = -62.0,
    rustle: bool = True,
    propagation: bool = True,
) -> MicMix:
    """What the boom, each actor's lavalier and the camera's scratch mic hear of one take.

    ``dialogue[i]`` is the dry track of speaker ``i`` (all of equal length, as spoken at the actor's
    mouth); ``effects`` is other on-set sound made beside the camera, such as the slate's :func:`clap`.
    Each mic is gain-staged on its own speaker(s), as a mixer would:

    - boom: every speaker at ``boom_distance_m`` (direct sound at the dry level, swinging ±2 dB as the
      boom moves) and effects from 1 m, plus the room; high-passed at 80 Hz; the room tone at
      ``room_tone_dbfs``;
    - lav ``i``: speaker ``i`` close and bright (high-passed at 100 Hz, +5 dB shelf above 3 kHz), the
      others ``actor_spacing_m`` away bleeding at ``lav_bleed_db`` plus a little room; clothing rustle
      when ``rustle``; the room tone 6 dB lower;
    - camera: everything from ``camera_distance_m`` (effects from 1 m), much more room and hiss,
      band-limited to 100 Hz–8 kHz; the room tone 6 dB higher.

    With ``propagation`` each path is delayed by its distance at 343 m/s, as on a real set: dialogue
    reaches the boom ≈ 2 ms and the camera ≈ 10 ms after the dry track, effects reach both ≈ 3 ms after;
    turn it off for sample-exact alignment between every track and the dry dialogue. Every track goes
    through a soft limiter, so nothing exceeds ±0.98. ``room_tone_dbfs=None`` leaves out the room tone.
    """
    sr = int(sample_rate)
    trim = db_to_gain(-4.0)  # the mixer's headroom: dialogue peaks around −10 dBFS
    dry = [np.asarray(d, dtype=np.float64) for d in dialogue]
    if not dry:
        raise ValueError("mic_mix needs at least one dialogue track")
    n = len(dry[0])
    if any(len(d) != n for d in dry) or (effects is not None and len(effects) != n):
        raise ValueError("mic_mix: every dialogue track (and effects) must have the same length")
    fx = np.zeros(n) if effects is None else np.asarray(effects, dtype=np.float64)

    def lag(metres: float) -> int:
        return round(metres / _SPEED_OF_SOUND * sr) if propagation else 0

    def bed(level: float) -> _F64:
        if room_tone_dbfs is None:
            return np.zeros(n)
        return room_tone(n, sr, rng, room_tone_dbfs + level).astype(np.float64)

    # Critical distances below are for rt60 0.4 s; a deader room (same size) has less reverberant energy.
    wet = math.sqrt(rt60_s / 0.4)
    set_tail, camera_tail = wet * _reverb_tail(sr, rng, rt60_s), wet * _reverb_tail(sr, rng, rt60_s * 1.1)

    def room(x: _F64, tail: _F64) -> _F64:
        y: _F64 = sps.oaconvolve(x, tail)[:n]
        return y

    # Boom: a hypercardioid (critical distance ~1.5 m) aimed at whoever speaks.
    d0 = boom_distance_m
    swung = sum((d * _wander(n, sr, rng, 2.0, 0.7) for d in dry), np.zeros(n))
    direct = _delay(swung, lag(d0)) + d0 * _delay(fx, lag(1.0))  # swung to the slate, 1 m, for the clap
    boom = direct + (d0 / 1.5) * _delay(room(swung + fx, set_tail), lag(d0))
    boom = trim * _eq(boom, 1, 80.0, "highpass", sr) + bed(0.0) + broadband_noise(n, rng, -80.0)

    # Lavs: one omni on each actor's chest.
    everyone = room(sum(dry, np.zeros(n)) + fx, set_tail)
    bleed, lav_room = db_to_gain(lav_bleed_db), db_to_gain(lav_bleed_db - 8.0)
    lavs: list[_F32] = []
    for i, own in enumerate(dry):
        others = sum((d for j, d in enumerate(dry) if j != i), np.zeros(n))
        lav = own + bleed * _delay(others, lag(actor_spacing_m)) + lav_room * _delay(everyone, lag(0.3))
        lav += (0.25 / camera_distance_m) * _delay(fx, lag(camera_distance_m))
        lav = _eq(lav, 1, 100.0, "highpass", sr)
        lav += (db_to_gain(5.0) - 1.0) * _eq(lav, 1, 3000.0, "highpass", sr)
        lav *= trim
        lav += bed(-6.0) + broadband_noise(n, rng, -76.0)
        if rustle:
            lav += _rustle(n, sr, rng, -38.0)
        lavs.append(_limit(lav))

    # Camera: an on-camera shotgun (critical distance ~2 m) far from the actors, near the slate.
    far = camera_distance_m
    voices = sum(dry, np.zeros(n))
    cam = (
        _delay(voices, lag(far))
        + far * _delay(fx, lag(1.0))
        + (far / 2.0) * _delay(room(voices + fx, camera_tail), lag(far))
    )
    cam = 0.35 * _eq(cam, 1, (100.0, 8000.0), "bandpass", sr) + bed(6.0) + broadband_noise(n, rng, -58.0)
    return MicMix(boom=_limit(boom), lavs=tuple(lavs), camera=_limit(cam))
