"""A tiny synthetic sound-effects library: eight UCS-named 48 kHz 24-bit Broadcast WAVs.

Door knock and door close, footsteps on a wooden floor, a cup set down (Foley), a whoosh, a car pass-by,
wind in a forest and an office room tone, each with a ``bext`` description. Everything is synthesised
with NumPy/SciPy in well under a second, deterministic for a given seed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from scipy import signal as sps

from posthouse.core.media.bwf import Bext, IXml, write_bwf

__all__ = ["SFX_SAMPLE_RATE", "DemoSound", "demo_sounds", "generate_sfx_library"]

SFX_SAMPLE_RATE = 48_000

_F64 = NDArray[np.float64]
_Synth = Callable[[np.random.Generator, int], _F64]  # (rng, sample rate) -> (channels, n)


@dataclass(frozen=True, slots=True)
class DemoSound:
    """One file of the demo library: its UCS file name, ``bext`` description and keywords."""

    filename: str
    description: str
    keywords: str
    synth: _Synth


def _peak(x: _F64, dbfs: float) -> _F64:
    peak = float(np.max(np.abs(x))) or 1.0
    return np.asarray(x * (10.0 ** (dbfs / 20.0) / peak))


def _rms(x: _F64, dbfs: float) -> _F64:
    rms = float(np.sqrt(np.mean(x * x))) or 1.0
    return np.asarray(x * (10.0 ** (dbfs / 20.0) / rms))


def _bandpass(x: _F64, lo: float, hi: float, sr: int, order: int = 2) -> _F64:
    sos = sps.butter(order, (lo, hi), btype="bandpass", fs=sr, output="sos")
    return np.asarray(sps.sosfilt(sos, x, axis=-1))


def _lowpass(x: _F64, hi: float, sr: int, order: int = 2) -> _F64:
    sos = sps.butter(order, hi, btype="lowpass", fs=sr, output="sos")
    return np.asarray(sps.sosfilt(sos, x, axis=-1))


def _strikes(
    n: int, sr: int, times: list[float], modes: list[tuple[float, float, float]], rng: np.random.Generator
) -> _F64:
    """Struck-object hits at ``times``: damped sinusoids ``(freq Hz, decay s, amplitude)`` plus a click."""
    t = np.arange(n) / sr
    out = np.zeros(n)
    f = np.array([m[0] for m in modes])[:, None]
    tau = np.array([m[1] for m in modes])[:, None]
    amp = np.array([m[2] for m in modes])[:, None]
    for k, t0 in enumerate(times):  # a handful of hits, each vectorised over samples and modes
        dt = t - t0
        on = dt >= 0.0
        dtc = np.where(on, dt, 0.0)
        vary = 1.0 + 0.05 * rng.standard_normal((len(modes), 1))
        ring = (amp * np.exp(-dtc / tau) * np.sin(2 * math.pi * f * vary * dtc)).sum(axis=0)
        click = rng.standard_normal(n) * np.exp(-dtc / 0.002)
        out += on * (ring + 0.3 * click) * (0.8 + 0.2 * (k % 2))
    return out


def _door_knock(rng: np.random.Generator, sr: int) -> _F64:
    n = round(1.5 * sr)
    x = _strikes(
        n, sr, [0.02, 0.30, 0.58], [(185.0, 0.05, 1.0), (420.0, 0.03, 0.6), (960.0, 0.015, 0.3)], rng
    )
    return _peak(x, -6.0)[None, :]


def _door_close(rng: np.random.Generator, sr: int) -> _F64:
    n = round(1.2 * sr)
    thump = _strikes(n, sr, [0.05], [(85.0, 0.12, 1.0), (210.0, 0.06, 0.5), (540.0, 0.03, 0.2)], rng)
    latch = _strikes(n, sr, [0.07, 0.11], [(3100.0, 0.01, 0.4), (4700.0, 0.006, 0.3)], rng)
    return _peak(thump + latch, -4.0)[None, :]


def _footsteps(rng: np.random.Generator, sr: int) -> _F64:
    n = round(3.0 * sr)
    heels = [0.1 + 0.55 * k for k in range(5)]
    times = sorted([*heels, *(h + 0.09 for h in heels)])
    x = _strikes(n, sr, times, [(240.0, 0.025, 1.0), (610.0, 0.012, 0.4), (1500.0, 0.006, 0.2)], rng)
    return _peak(_lowpass(x, 6000.0, sr), -9.0)[None, :]


def _cup_down(rng: np.random.Generator, sr: int) -> _F64:
    n = round(0.5 * sr)
    x = _strikes(
        n,
        sr,
        [0.02],
        [(150.0, 0.02, 0.6), (2150.0, 0.05, 1.0), (3720.0, 0.04, 0.6), (5310.0, 0.03, 0.3)],
        rng,
    )
    return _peak(x, -10.0)[None, :]


def _whoosh(rng: np.random.Generator, sr: int) -> _F64:
    n = round(0.8 * sr)
    t = np.arange(n) / sr
    noise = rng.standard_normal(n)
    # a filter sweep made of three bands whose envelopes peak one after the other
    bands = [(200.0, 700.0, 0.30), (700.0, 2500.0, 0.45), (2500.0, 7000.0, 0.55)]
    x = np.zeros(n)
    for lo, hi, peak_t in bands:
        env = np.exp(-0.5 * ((t - peak_t) / 0.09) ** 2)
        x += _bandpass(noise, lo, hi, sr) * env
    pan = np.clip(t / t[-1], 0.0, 1.0)  # left to right
    stereo = np.stack((x * np.cos(pan * math.pi / 2), x * np.sin(pan * math.pi / 2)))
    return _peak(stereo, -6.0)


def _car_by(rng: np.random.Generator, sr: int) -> _F64:
    n = round(5.0 * sr)
    t = np.arange(n) / sr
    v, d0, t0, c = 15.0, 5.0, 2.5, 343.0  # m/s, closest distance m, pass time s, speed of sound
    xpos = v * (t - t0)
    dist = np.hypot(xpos, d0)
    doppler = c / (c + v * xpos / dist)  # approaching: higher; receding: lower
    f0 = 38.0 * doppler
    phase = 2 * math.pi * np.cumsum(f0) / sr
    engine = sum(np.sin(k * phase) / k for k in range(1, 9))
    tyres = _bandpass(rng.standard_normal(n), 300.0, 3000.0, sr)
    mono = (0.6 * engine + 1.5 * tyres) / dist
    pan = 0.5 + 0.5 * np.tanh(xpos / 8.0)
    stereo = np.stack((mono * np.cos(pan * math.pi / 2), mono * np.sin(pan * math.pi / 2)))
    return _peak(stereo, -6.0)


def _pink(rng: np.random.Generator, n: int) -> _F64:
    white = rng.standard_normal(n)
    b = [0.049922035, -0.095993537, 0.050612699, -0.004408786]
    a = [1.0, -2.494956002, 2.017265875, -0.522189400]
    return np.asarray(sps.lfilter(b, a, white))


def _wind_forest(rng: np.random.Generator, sr: int) -> _F64:
    n = round(6.0 * sr)
    t = np.arange(n) / sr
    chans = []
    for ch in range(2):
        body = _bandpass(_pink(rng, n), 150.0, 2500.0, sr)
        leaves = _bandpass(rng.standard_normal(n), 2500.0, 9000.0, sr)
        gust = 0.6 + 0.4 * np.sin(2 * math.pi * 0.21 * t + ch * 0.8) * np.sin(2 * math.pi * 0.07 * t + 1.0)
        chans.append((body + 0.3 * leaves * gust) * gust)
    return _rms(np.stack(chans), -30.0)


def _room_tone(rng: np.random.Generator, sr: int) -> _F64:
    n = round(4.0 * sr)
    t = np.arange(n) / sr
    chans = []
    for ch in range(2):
        air = _lowpass(_pink(rng, n), 3000.0, sr)
        hvac = 0.05 * np.sin(2 * math.pi * 120.0 * t + ch)
        chans.append(air / (np.std(air) or 1.0) + hvac)
    return _rms(np.stack(chans), -48.0)


def demo_sounds() -> list[DemoSound]:
    """The demo library's files, in name order."""
    sounds = [
        DemoSound(
            "DOORWood_Knock Three Times Hollow_PH_Demo.wav",
            "Door, wood: three knocks with the knuckles on a hollow interior door.",
            "door; knock; knocking; wood; knuckles",
            _door_knock,
        ),
        DemoSound(
            "DOORWood_Door Close Heavy Latch_PH_Demo.wav",
            "Door, wood: heavy interior door closes, latch catches.",
            "door; close; shut; latch; wood",
            _door_close,
        ),
        DemoSound(
            "FEETHmn_Footsteps Wood Floor Walk_PH_Demo.wav",
            "Footsteps, leather shoes walking slowly on a wooden floor, five steps.",
            "footsteps; walk; wood floor; shoes",
            _footsteps,
        ),
        DemoSound(
            "FOLYProp_Cup Set Down Ceramic_PH_Demo.wav",
            "Foley prop: ceramic coffee cup set down on a wooden table.",
            "cup; mug; set down; ceramic; table",
            _cup_down,
        ),
        DemoSound(
            "WHSH_Whoosh Fast Bright_PH_Demo.wav",
            "Whoosh, fast and bright, left to right: transition pass-by.",
            "whoosh; swoosh; transition; pass",
            _whoosh,
        ),
        DemoSound(
            "VEHCar_Car Pass By Medium Speed_PH_Demo.wav",
            "Car passes by left to right at medium speed, engine and tyres, Doppler.",
            "car; pass by; drive by; engine; tyres",
            _car_by,
        ),
        DemoSound(
            "AMBForst_Wind In Pine Trees Gentle_PH_Demo.wav",
            "Forest ambience: gentle wind through pine trees, no birds.",
            "wind; forest; trees; gentle; exterior",
            _wind_forest,
        ),
        DemoSound(
            "AMBRoom_Room Tone Quiet Office_PH_Demo.wav",
            "Room tone: quiet office interior, soft air conditioning.",
            "room tone; office; interior; air; quiet",
            _room_tone,
        ),
    ]
    return sorted(sounds, key=lambda s: s.filename)


def generate_sfx_library(directory: str | Path, seed: int = 0) -> list[Path]:
    """Write the demo library into ``directory`` (created if missing); returns the files in name order.

    Each file is a 48 kHz 24-bit Broadcast WAV with a ``bext`` description and an iXML note carrying its
    keywords; the same seed gives the same samples.
    """
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    paths = []
    for k, sound in enumerate(demo_sounds()):
        rng = np.random.default_rng([seed, k])
        audio = np.clip(sound.synth(rng, SFX_SAMPLE_RATE), -1.0, 1.0).astype(np.float32)
        path = root / sound.filename
        write_bwf(
            path,
            audio,
            SFX_SAMPLE_RATE,
            bit_depth=24,
            bext=Bext(description=sound.description, originator="posthouse demo", coding_history=""),
            ixml=IXml(project="posthouse demo library", note=f"Keywords: {sound.keywords}"),
        )
        paths.append(path)
    return paths
