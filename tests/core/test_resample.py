"""The shared windowed-sinc reader: sub-sample accuracy, silence outside, shapes kept."""

from __future__ import annotations

import numpy as np

from posthouse.core.resample import read_at


def test_integer_positions_return_the_samples() -> None:
    # Band-limited content (the kernel cuts at 0.95 Nyquist): sines up to 10 kHz at 48 kHz.
    t = np.arange(1000) / 48000
    x = np.stack([np.sin(2 * np.pi * f * t + f) for f in (440.0, 10000.0)]).astype(np.float32)
    y = read_at(x, np.arange(100, 900, dtype=np.float64))
    assert y.shape == (2, 800)
    assert np.max(np.abs(y - x[:, 100:900])) < 1e-3


def test_fractional_positions_of_a_sine() -> None:
    sr, f = 48000, 1000.0
    t = np.arange(48000) / sr
    x = np.sin(2 * np.pi * f * t).astype(np.float32)
    pos = np.arange(1000, 47000, dtype=np.float64) + 0.37
    y = read_at(x, pos)
    want = np.sin(2 * np.pi * f * pos / sr)
    assert np.max(np.abs(y - want)) < 2e-3


def test_outside_is_silence_and_one_dimensional_input_stays_so() -> None:
    x = np.ones(100, np.float32)
    y = read_at(x, np.array([-500.0, -200.5, 50.0, 400.25]))
    assert y.shape == (4,)
    assert y[0] == 0 and y[1] == 0 and y[3] == 0
    assert abs(y[2] - 1.0) < 1e-3


def test_long_reads_cross_chunk_boundaries_seamlessly() -> None:
    x = np.sin(2 * np.pi * 3000.0 * np.arange(600_000) / 48000).astype(np.float32)
    pos = np.arange(590_000, dtype=np.float64) * (1 + 5e-6) + 3.0
    y = read_at(x, pos)
    near = np.rint(pos).astype(int)
    close = np.abs(pos - near) < 1e-4
    assert np.max(np.abs(y[close] - x[near[close]])) < 5e-3
