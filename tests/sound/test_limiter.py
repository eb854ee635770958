"""True-peak limiter and speech activity: the building blocks of normalisation and dialogue gating."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from posthouse.demo.speech import synth_line_timed, voice_for
from posthouse.sound.limiter import TruePeakLimiter
from posthouse.sound.speech import SpeechDetector

SR = 48_000


def _run(lim: TruePeakLimiter, x: np.ndarray, block: int) -> np.ndarray:
    parts = [lim.process(x[:, i : i + block]) for i in range(0, x.shape[1], block)]
    return np.concatenate([*parts, lim.flush()], axis=1)


def _tp_db(x: np.ndarray) -> float:
    return float(20 * np.log10(np.abs(signal.resample_poly(x, 8, 1, axis=1)).max()))


@pytest.mark.parametrize("block", [997, 48_000])
def test_limiter_keeps_the_ceiling_length_and_timing(block: int) -> None:
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((2, 5 * SR)) * 0.1).astype(np.float32)
    x[:, 2 * SR : 2 * SR + 200] *= 8  # +18 dB burst
    t = np.arange(5 * SR) / SR
    x[0, 3 * SR : 4 * SR] = 0.99 * np.sin(2 * np.pi * 11_025 * t[:SR] + 0.7)  # inter-sample peaks
    lim = TruePeakLimiter(SR, 2, -1.0)
    y = _run(lim, x, block)
    assert y.shape == x.shape
    assert _tp_db(y) <= -1.0 + 0.05
    assert lim.max_reduction_db > 6
    # untouched away from the peaks, and not moved in time
    quiet = slice(SR // 2, SR)
    assert np.abs(y[:, quiet] - x[:, quiet]).max() < 1e-6


def test_limiter_passes_quiet_audio_bit_exact() -> None:
    x = (np.random.default_rng(2).standard_normal((6, SR)) * 0.01).astype(np.float32)
    lim = TruePeakLimiter(SR, 6, -2.0)
    assert np.array_equal(_run(lim, x, 4096), x)
    assert lim.limited_samples == 0


def test_limiter_detect_channels_drive_all_channels() -> None:
    x = np.zeros((4, SR), np.float32)
    x[0, SR // 2] = 1.0  # detector channel has the peak
    x[2:, :] = 0.5  # followers are steady
    lim = TruePeakLimiter(SR, 4, -6.0, detect_channels=2)
    y = _run(lim, x, 1000)
    g = y[2, SR // 2] / 0.5
    assert g < 0.55  # followers ducked with the detector
    assert y[2, 0] == pytest.approx(0.5)


def test_speech_detector_finds_the_lines() -> None:
    rng = np.random.default_rng(5)
    audio = (rng.standard_normal(8 * SR) * 3e-4).astype(np.float32)  # room tone
    truth = np.zeros(audio.size, bool)
    for start, text in ((1.0, "We are late again today."), (5.0, "Then wait here.")):
        line, words = synth_line_timed(text, voice_for("MAYA"), SR, rng)
        a = int(start * SR)
        audio[a : a + line.size] += 0.2 * line / np.abs(line).max()
        truth[a + words[0].start : a + words[-1].end] = True
    det = SpeechDetector(SR)
    for i in range(0, audio.size, 12_345):
        det.push(audio[i : i + 12_345][np.newaxis])
    act = det.activity()
    assert act.size == 800
    truth10 = truth[: act.size * 480].reshape(act.size, 480).mean(1) > 0.5
    assert act[truth10].mean() > 0.8  # most of each line (its own short pauses may not count)
    near = np.convolve(truth10, np.ones(61), mode="same") > 0  # within 300 ms of a line
    assert not act[~near].any()  # room tone alone is never speech
