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
from posthouse.sound.cleanup import clean, detect_hum, noise_floor_dbfs, segmental_snr, snr_db

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
