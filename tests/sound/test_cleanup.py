"""Dialogue cleanup chain on the demo shoot's boom and on dialogue buried in synthetic noise."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from posthouse.core.errors import UsageError
from posthouse.core.jobs import SerialExecutor
from posthouse.core.media.decode import read_audio
from posthouse.demo.shoot import ShootSpec, generate_shoot
from posthouse.demo.soundscape import broadband_noise, mains_hum, room_tone
from posthouse.sound.cleanup import (
    clean,
    declick,
    deess,
    detect_clicks,
    detect_clipping,
    detect_hum,
    level_dialogue,
    noise_floor_dbfs,
    segmental_snr,
    snr_db,
)

F32 = npt.NDArray[np.float32]


@pytest.fixture(scope="module")
def take(tmp_path_factory: pytest.TempPathFactory) -> tuple[F32, F32, int]:
    """(production sound (3, n), clean dry dialogue summed over characters (n,), sample rate)."""
    root: Path = tmp_path_factory.mktemp("shoot")
    shot = generate_shoot(root, ShootSpec(scenes=1, takes=1, seed=4, faults=False), executor=SerialExecutor())
    info = next(iter(shot.truth["takes"].values()))
    prod, sr = read_audio(root / info["sound_file"])
    truth, sr_truth = read_audio(root / info["dialogue"]["file"])
    assert sr == sr_truth and prod.shape[1] == truth.shape[1]
    return prod, truth.sum(axis=0), sr


def _lag(a: F32, b: F32, span: int = 200) -> int:
    """Cross-correlation peak lag of ``a`` against ``b`` within ±``span`` samples."""
    n = len(a)
    c = np.fft.irfft(np.fft.rfft(a, 2 * n) * np.conj(np.fft.rfft(b, 2 * n)), 2 * n)
    lags = np.r_[0 : span + 1, -span:0]
    return int(lags[np.argmax(c[lags])])


def _noisy(ref: F32, sr: int, mains: int, seed: int = 1) -> F32:
    n, rng = len(ref), np.random.default_rng(seed)
    x = (
        0.5 * ref
        + mains_hum(n, sr, mains, -40.0)
        + room_tone(n, sr, rng, -48.0)
        + broadband_noise(n, rng, -52.0)
    )
    return np.asarray(x, np.float32)[np.newaxis]


def test_boom_hum_floor_and_sync(take: tuple[F32, F32, int]) -> None:
    prod, ref, sr = take
    boom = prod[:1]
    assert detect_hum(boom, sr) == 50
    res = clean(boom, sr)
    assert res.hum_hz == 50
    assert res.audio.shape == boom.shape and res.audio.dtype == np.float32
    assert res.noise_floor_dbfs_after < res.noise_floor_dbfs_before - 12.0
    assert _lag(res.audio[0], boom[0]) == 0
    # Against the dry truth the boom is limited by the room (reverb ~ -3.5 dB under the direct sound,
    # ±2 dB boom swing), which no denoiser removes: cleanup must not make it worse.
    assert segmental_snr(res.audio[0], ref, sr) >= segmental_snr(boom[0], ref, sr) - 0.2
    assert snr_db(res.audio[0], ref) >= snr_db(boom[0], ref) - 0.2


@pytest.mark.parametrize("mains", [50, 60])
def test_noisy_dialogue_snr_improves(take: tuple[F32, F32, int], mains: int) -> None:
    _, ref, sr = take
    x = _noisy(ref, sr, mains)
    res = clean(x, sr)
    assert res.hum_hz == mains
    y = res.audio[0]
    assert segmental_snr(y, ref, sr) >= segmental_snr(x[0], ref, sr) + 3.0
    assert snr_db(y, ref) >= snr_db(x[0], ref) + 3.0
    assert _lag(y, x[0]) == 0


def test_multichannel_shape_and_forced_mains(take: tuple[F32, F32, int]) -> None:
    prod, _, sr = take
    res = clean(prod, sr, mains=60, reduction_db=6.0)
    assert res.hum_hz == 60
    assert res.audio.shape == prod.shape and res.audio.dtype == np.float32
    assert np.all(np.isfinite(res.audio))


def test_mono_1d_and_no_reduction(take: tuple[F32, F32, int]) -> None:
    prod, _, sr = take
    res = clean(prod[0], sr, reduction_db=0.0)
    assert res.audio.shape == prod[0].shape
    assert not any(s.startswith("spectral gate") for s in res.steps)


@pytest.mark.parametrize("n", [0, 1, 100, 48000])
def test_silence_and_tiny_inputs(n: int) -> None:
    x = np.zeros((2, n), np.float32)
    res = clean(x, 48000)
    assert res.audio.shape == x.shape and res.audio.dtype == np.float32
    assert np.all(res.audio == 0.0)
    assert res.hum_hz is None
    assert np.isfinite(noise_floor_dbfs(x, 48000))


def test_bad_mains() -> None:
    with pytest.raises(UsageError, match="mains"):
        clean(np.zeros((1, 10), np.float32), 48000, mains=55)


# ------------------------------------------------------------------ de-click, de-ess, leveling, clipping


def test_declick_repairs_clicks_and_leaves_speech(take: tuple[F32, F32, int]) -> None:
    _, ref, sr = take
    clean_x = (0.5 * ref + broadband_noise(len(ref), np.random.default_rng(2), -70.0))[np.newaxis]
    clean_x = clean_x.astype(np.float32)
    rng = np.random.default_rng(3)
    at = rng.choice(np.arange(sr, len(ref) - sr, 997), 25, replace=False)
    clicky = clean_x.copy()
    for p in at:  # short, sharp clicks well over the dialogue
        clicky[0, p : p + 3] += np.float32(rng.choice([-1, 1]) * 0.3) * np.array([1, -0.6, 0.3], np.float32)
    mask = detect_clicks(clicky, sr)
    found = np.flatnonzero(mask[0])
    assert all(np.any(np.abs(found - p) < 8) for p in at)
    fixed = declick(clicky, sr)
    assert fixed.shape == clicky.shape and fixed.dtype == np.float32
    assert snr_db(fixed[0], clean_x[0], fit_gain=False) > snr_db(clicky[0], clean_x[0], fit_gain=False) + 20
    assert _lag(fixed[0], clean_x[0]) == 0
    # on clean dialogue it touches (almost) nothing, and what it leaves is bit-identical
    untouched = declick(clean_x, sr)
    changed = np.flatnonzero(untouched[0] != clean_x[0])
    assert len(changed) < 1e-4 * clean_x.shape[1]


def test_deess_turns_down_sibilance_only() -> None:
    sr = 48000
    rng = np.random.default_rng(5)
    t = np.arange(2 * sr) / sr
    vowel = 0.2 * np.sin(2 * np.pi * 220 * t) + 0.1 * np.sin(2 * np.pi * 660 * t)
    hiss = rng.standard_normal(len(t))
    from scipy import signal as sps

    ess = sps.sosfiltfilt(sps.butter(4, (5500, 8500), "bandpass", fs=sr, output="sos"), hiss)
    ess *= 0.15 / ess.std()
    x = vowel.copy()
    s0, s1 = sr // 2, sr // 2 + sr // 5  # 200 ms "s"
    x[s0:s1] = 0.02 * vowel[s0:s1] + ess[s0:s1]
    x32 = x.astype(np.float32)[np.newaxis]
    y = deess(x32, sr)
    assert y.shape == x32.shape and y.dtype == np.float32
    mid = slice(s0 + sr // 50, s1 - sr // 50)
    drop = 10 * np.log10(np.mean(x32[0, mid] ** 2) / np.mean(y[0, mid] ** 2))
    assert 3.0 < drop <= 8.5
    vow = slice(sr, 2 * sr - sr // 10)
    np.testing.assert_allclose(y[0, vow], x32[0, vow], atol=1e-6)  # vowels untouched
    assert _lag(y[0], x32[0]) == 0


def test_level_dialogue_hits_the_target_without_pumping(take: tuple[F32, F32, int]) -> None:
    import pyloudnorm as pyln

    _, ref, sr = take
    quiet = (0.1 * ref + room_tone(len(ref), sr, np.random.default_rng(1), -75.0)).astype(np.float32)
    res = level_dialogue(quiet[np.newaxis], sr, target_lufs=-27.0)
    y = res.audio[0]
    assert res.gain_db > 6.0 and res.loudness_before_lufs is not None
    speech = ref != 0
    gated = pyln.Meter(sr).integrated_loudness(y[speech].astype(np.float64))
    assert abs(gated - (-27.0)) < 1.5
    # gain moves slowly: no more than ~1 dB per 10 ms anywhere
    g = 20 * np.log10(np.abs(y[speech]) + 1e-9) - 20 * np.log10(np.abs(quiet[speech]) + 1e-9)
    assert np.nanmax(np.abs(np.diff(np.median(g[: len(g) // 480 * 480].reshape(-1, 480), axis=1)))) < 1.5
    assert _lag(y, quiet) == 0
    assert np.abs(y).max() <= 10 ** (-1 / 20) + 1e-3


def test_clean_chain_with_target(take: tuple[F32, F32, int]) -> None:
    _, ref, sr = take
    x = _noisy(ref, sr, 60)
    res = clean(x, sr, target_lufs=-27.0)
    assert res.level_gain_db is not None and res.loudness_before_lufs is not None
    assert any(s.startswith("de-click") for s in res.steps) and any(s.startswith("de-ess") for s in res.steps)
    assert segmental_snr(res.audio[0], ref, sr) >= segmental_snr(x[0], ref, sr) + 3.0
    assert _lag(res.audio[0], x[0]) == 0


def test_detect_clipping() -> None:
    x = np.zeros((2, 1000), np.float32)
    x[1, 100:110] = 1.0
    x[0, 500:502] = -1.0  # two samples: not a clip
    x[0, 700:705] = -0.9995
    assert detect_clipping(x) == [(100, 110), (700, 705)]
    assert detect_clipping(np.zeros((1, 0), np.float32)) == []
