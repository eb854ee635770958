"""BS.1770-4 meter against generated EBU Tech 3341 (v4) and Tech 3342 test signals."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from posthouse.sound.loudness import LoudnessMeter, LoudnessResult, measure_file

FS = 48000
Arr = npt.NDArray[np.float64]


def _tone(level_dbfs: float, seconds: float, fs: int = FS, freq: float = 1000.0, start: int = 0) -> Arr:
    n = round(seconds * fs)
    t = (np.arange(n) + start) / fs
    return np.asarray(10 ** (level_dbfs / 20) * np.sin(2 * np.pi * freq * t))


def _seq(parts: list[tuple[float | None, float]], fs: int = FS) -> Arr:
    """Concatenate (level dBFS or None for silence, seconds) segments, phase-continuous."""
    out: list[Arr] = []
    pos = 0
    for level, sec in parts:
        n = round(sec * fs)
        out.append(np.zeros(n) if level is None else _tone(level, sec, fs, start=pos))
        pos += n
    return np.concatenate(out)


def _stereo(x: Arr) -> Arr:
    return np.stack([x, x])


def _run(x: Arr, fs: int = FS, block: int = 1 << 16) -> LoudnessMeter:
    x = np.atleast_2d(x)
    meter = LoudnessMeter(fs, x.shape[0])
    for i in range(0, x.shape[1], block):
        meter.push(x[:, i : i + block].astype(np.float32))
    return meter


# --- EBU Tech 3341: integrated (tests 1-6) -----------------------------------------------------------

INTEGRATED = {
    1: [(-23.0, 20.0)],
    2: [(-33.0, 20.0)],
    3: [(-36.0, 10.0), (-23.0, 60.0), (-36.0, 10.0)],
    4: [(-72.0, 10.0), (-36.0, 10.0), (-23.0, 60.0), (-36.0, 10.0), (-72.0, 10.0)],
    5: [(-26.0, 20.0), (-20.0, 20.1), (-26.0, 20.0)],
}
EXPECTED_I = {1: -23.0, 2: -33.0, 3: -23.0, 4: -23.0, 5: -23.0}


@pytest.mark.parametrize("case", sorted(INTEGRATED))
def test_3341_integrated(case: int) -> None:
    r = _run(_stereo(_seq(INTEGRATED[case]))).result()  # type: ignore[arg-type]
    assert r.integrated_lufs == pytest.approx(EXPECTED_I[case], abs=0.1)
    if case in (1, 2):  # steady tone: M and S equal I
        assert r.max_momentary_lufs == pytest.approx(EXPECTED_I[case], abs=0.1)
        assert r.max_short_term_lufs == pytest.approx(EXPECTED_I[case], abs=0.1)


def test_3341_case6_surround_weights_and_lfe_excluded() -> None:
    """5.1: L R -28, C -24, LFE (loud, must be ignored), Ls Rs -30 dBFS -> -23.0 LUFS."""
    levels = [-28.0, -28.0, -24.0, -6.0, -30.0, -30.0]
    x = np.stack([_tone(level, 20.0) for level in levels])
    assert _run(x).result().integrated_lufs == pytest.approx(-23.0, abs=0.1)


# --- EBU Tech 3341: short-term and momentary (tests 9-14) --------------------------------------------


def test_3341_case9_short_term_constant() -> None:
    x = _stereo(_seq([(-20.0, 1.34), (-30.0, 1.66)] * 5))
    s = _run(x).short_term_lufs(0.01)
    assert s.size > 1000
    assert np.all(np.abs(s + 23.0) <= 0.1)


def test_3341_case12_momentary_constant() -> None:
    x = _stereo(_seq([(-20.0, 0.18), (-30.0, 0.22)] * 25))
    m = _run(x).momentary_lufs(0.01)
    assert m.size > 900
    assert np.all(np.abs(m + 23.0) <= 0.1)


OFFSETS = [0.0, 0.0013, 0.0037, 0.0051, 0.0069, 0.0099]  # burst starts off the 10 ms / 100 ms grid


@pytest.mark.parametrize("offset", OFFSETS)
def test_3341_case10_max_short_term(offset: float) -> None:
    x = _stereo(_seq([(None, 1.0 + offset), (-23.0, 3.0), (None, 1.0)]))
    assert _run(x).result().max_short_term_lufs == pytest.approx(-23.0, abs=0.1)


@pytest.mark.parametrize("offset", OFFSETS)
def test_3341_case13_max_momentary(offset: float) -> None:
    x = _stereo(_seq([(None, 0.5 + offset), (-23.0, 0.4), (None, 0.5)]))
    assert _run(x).result().max_momentary_lufs == pytest.approx(-23.0, abs=0.1)


def _bursts(seconds: float) -> tuple[Arr, list[float]]:
    parts: list[tuple[float | None, float]] = []
    levels = [-38.0 + k for k in range(20)]
    for k, level in enumerate(levels):
        parts += [(None, seconds + 0.00731 * k), (level, seconds)]
    return _stereo(_seq(parts)), levels


def _peaks_per_burst(values: Arr, count: int, lead: int) -> list[float]:
    """Maxima of a series split at its silent stretches (one maximum per burst)."""
    loud = values > -70.0
    edges = np.flatnonzero(np.diff(loud.astype(np.int8)) == 1) + 1
    if loud[0]:
        edges = np.concatenate(([0], edges))
    stops = [*edges[1:].tolist(), values.size]
    assert len(edges) == count, (len(edges), lead)
    return [float(values[a:b].max()) for a, b in zip(edges, stops, strict=True)]


def test_3341_case11_short_term_levels() -> None:
    """Reconstructed: 20 bursts of 3 s at -38..-19 dBFS between silences; S peaks at each level."""
    x, levels = _bursts(3.0)
    got = _peaks_per_burst(_run(x).short_term_lufs(0.01), 20, 300)
    assert np.allclose(got, levels, atol=0.1)


def test_3341_case14_momentary_levels() -> None:
    """Reconstructed: 20 bursts of 0.4 s at -38..-19 dBFS between silences; M peaks at each level."""
    x, levels = _bursts(0.4)
    got = _peaks_per_burst(_run(x).momentary_lufs(0.01), 20, 40)
    assert np.allclose(got, levels, atol=0.1)


# --- EBU Tech 3341: true peak (tests 15-23) -----------------------------------------------------------


def _fs4(phase_deg: float, peak: float, fs: int = FS, freq: float | None = None) -> Arr:
    """Sine at fs/4 (or ``freq``) with a 10 ms raised-cosine fade in and out, 1 s."""
    f = fs / 4 if freq is None else freq
    n = fs
    x = peak * np.sin(2 * np.pi * f * np.arange(n) / fs + np.deg2rad(phase_deg))
    r = fs // 100
    w = 0.5 - 0.5 * np.cos(np.pi * np.arange(r) / r)
    x[:r] *= w
    x[-r:] *= w[::-1]
    return _stereo(x)


HALF = 10 ** (-6 / 20)
TRUE_PEAK = {
    15: (_fs4, (0.0, HALF), FS, -6.0),
    16: (_fs4, (45.0, HALF), FS, -6.0),
    17: (_fs4, (60.0, HALF), FS, -6.0),
    18: (_fs4, (67.5, HALF), FS, -6.0),
    19: (_fs4, (45.0, math.sqrt(2.0)), FS, 3.0),  # samples at +-1.0, inter-sample peak +3 dBTP
    # 20-23 reconstructed (not the EBU files): other rates and a tone near the top of the band
    20: (_fs4, (45.0, HALF), 44100, -6.0),
    21: (_fs4, (45.0, HALF), 96000, -6.0),
    22: (_fs4, (37.0, HALF), 192000, -6.0),
}


@pytest.mark.parametrize("case", sorted(TRUE_PEAK))
def test_3341_true_peak(case: int) -> None:
    gen, args, fs, expected = TRUE_PEAK[case]
    x = gen(*args, fs=fs)
    tp = _run(x, fs=fs).result().true_peak_dbtp
    assert expected - 0.4 <= tp <= expected + 0.2


def test_3341_case23_near_band_edge_true_peak() -> None:
    """Reconstructed: 19 kHz at 48 kHz, arbitrary phase, peak -6 dBFS -> -6 dBTP."""
    for phase in (0.0, 33.0, 77.0):
        x = _fs4(phase, HALF, freq=19000.0)
        tp = _run(x).result().true_peak_dbtp
        assert -6.4 <= tp <= -5.8


# --- EBU Tech 3342: loudness range ----------------------------------------------------------------------

LRA = {
    1: ([(-20.0, 20.0), (-30.0, 20.0)], 10.0),
    2: ([(-20.0, 20.0), (-15.0, 20.0)], 5.0),
    3: ([(-40.0, 20.0), (-20.0, 20.0)], 20.0),
    4: ([(-50.0, 20.0), (-35.0, 20.0), (-20.0, 20.0), (-35.0, 20.0), (-50.0, 20.0)], 15.0),
}


@pytest.mark.parametrize("case", sorted(LRA))
def test_3342_lra(case: int) -> None:
    parts, expected = LRA[case]
    r = _run(_stereo(_seq(parts))).result()  # type: ignore[arg-type]
    assert r.lra_lu == pytest.approx(expected, abs=1.0)


# --- behaviour --------------------------------------------------------------------------------------------


def _speech_like(seconds: float = 30.0, seed: int = 7) -> Arr:
    """Band-limited noise with a syllabic (~4 Hz) envelope and pauses; stereo, slightly different sides."""
    from scipy import signal

    rng = np.random.default_rng(seed)
    n = round(seconds * FS)
    sos = signal.butter(4, [150, 4000], btype="bandpass", fs=FS, output="sos")
    t = np.arange(n) / FS
    env = np.clip(np.sin(2 * np.pi * 4.1 * t) + 0.3, 0, None) * (np.sin(2 * np.pi * 0.23 * t) > -0.4)
    left = signal.sosfilt(sos, rng.standard_normal(n)) * env * 0.3
    right = 0.7 * left + 0.1 * signal.sosfilt(sos, rng.standard_normal(n)) * env
    return np.stack([left, right])


def test_block_size_does_not_change_result() -> None:
    x = _speech_like(12.0)
    ref = _run(x, block=1 << 20).result()
    for block in (4097, 480, 333):
        r = _run(x, block=block).result()
        for key, value in ref.to_dict().items():
            assert r.to_dict()[key] == pytest.approx(value, abs=1e-6), (block, key)


def test_silence_is_minus_inf_and_null_in_json() -> None:
    r = _run(np.zeros((2, FS * 5))).result()
    assert r.integrated_lufs == -math.inf
    assert r.true_peak_dbtp == -math.inf
    d = json.loads(json.dumps(r.to_dict()))
    for key in ("integrated_lufs", "max_momentary_lufs", "max_short_term_lufs", "true_peak_dbtp"):
        assert d[key] is None
    assert d["lra_lu"] == 0.0
    assert d["duration_s"] == 5.0


def test_json_keys() -> None:
    d = _run(_stereo(_tone(-23.0, 4.0))).result().to_dict()
    for key in ("integrated_lufs", "lra_lu", "max_momentary_lufs", "max_short_term_lufs", "true_peak_dbtp"):
        assert key in d


def test_agrees_with_pyloudnorm() -> None:
    pyln = pytest.importorskip("pyloudnorm")
    x = _speech_like()
    ours = _run(x).result().integrated_lufs
    theirs = pyln.Meter(FS).integrated_loudness(x.T)
    assert ours == pytest.approx(theirs, abs=0.1)


def test_measure_file_wav(tmp_path: Path) -> None:
    import soundfile as sf

    path = tmp_path / "tone.wav"
    sf.write(str(path), _stereo(_tone(-23.0, 10.0)).T, FS, subtype="PCM_24")
    r = measure_file(path)
    assert isinstance(r, LoudnessResult)
    assert r.integrated_lufs == pytest.approx(-23.0, abs=0.1)
    assert r.duration_s == pytest.approx(10.0)


def test_cli_json_and_damaged_file(tmp_path: Path) -> None:
    import soundfile as sf
    import typer
    from typer.testing import CliRunner

    from posthouse.cli.loudness import loudness

    good = tmp_path / "good.wav"
    sf.write(str(good), _stereo(_tone(-23.0, 5.0)).T, FS)
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF\x00\x00garbage")
    app = typer.Typer()
    app.command()(loudness)
    app.command("noop")(lambda: None)
    runner = CliRunner()
    res = runner.invoke(app, ["loudness", str(good), "--json"])
    assert res.exit_code == 0, res.output
    one = json.loads(res.stdout)
    assert one["path"] == str(good)
    assert one["integrated_lufs"] == pytest.approx(-23.0, abs=0.1)
    res = runner.invoke(app, ["loudness", str(good), str(bad), "--json"])
    assert res.exit_code == 1
    both = json.loads(res.stdout)
    assert both[0]["integrated_lufs"] == pytest.approx(-23.0, abs=0.1)
    assert "error" in both[1]
    res = runner.invoke(app, ["loudness", str(good), str(bad)])
    assert res.exit_code == 1
    assert "-23.0" in res.stdout


@pytest.mark.parametrize("fs", [22050, 32000, 44100, 96000, 192000])
def test_other_sample_rates(fs: int) -> None:
    """K-weighting is recomputed per rate; 22050 Hz has sub-blocks of uneven length."""
    x = _stereo(_tone(-23.0, 6.0, fs=fs))
    r = _run(x, fs=fs, block=7919).result()
    assert r.integrated_lufs == pytest.approx(-23.0, abs=0.1)
    assert r.max_short_term_lufs == pytest.approx(-23.0, abs=0.1)


def test_true_peak_skip_is_exact() -> None:
    """Blocks and points skipped by the polyphase L1 bound never hide a higher true peak: the streaming
    result equals the whole signal oversampled at once with the same filter."""
    from scipy import signal

    noise = np.random.default_rng(4).standard_normal((2, 8 * FS)) * 0.1
    for x in (_speech_like(8.0), noise, signal.lfilter([1.0], [1.0, -0.9], noise, axis=1) * 0.3):
        meter = _run(x, block=4800)
        x32 = x.astype(np.float32).astype(np.float64)
        # every in-between point of the whole signal (phase 0 is the samples themselves)
        points = [np.abs(x32).max()] + [
            np.abs(signal.convolve(x32, ph[np.newaxis, :].astype(np.float64))).max() for ph in meter._phases
        ]
        brute = 20 * math.log10(float(max(points)))
        assert meter.result().true_peak_dbtp == pytest.approx(brute, abs=1e-4)
