"""DTW alignment of an ADR take to the production guide: word onsets land within 10 ms."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pytest

from posthouse.core.errors import UsageError
from posthouse.demo.soundscape import room_tone
from posthouse.demo.speech import synth_line_timed, voice_for
from posthouse.sound.align import align_take, apply_time_map, coarse_offset, dtw_path, residual_ms

SR = 48_000
# No word starts with an unvoiced stop (p, t, k): their closure is silence, so the word's "start" is not
# audible and no aligner (nor ear) can place it; every other onset is.
TEXT = "Maya, the sound is late again. I said it once, and nobody listens."
TARGETS = (1.15, 0.85, 1.0, 1.12, 0.88)  # word length of the take against the guide's, cycled


@dataclass
class Pair:
    guide: npt.NDArray[np.float64]
    guide_onsets: npt.NDArray[np.int64]  # samples of the guide where each word starts
    take: npt.NDArray[np.float64]
    take_onsets: npt.NDArray[np.int64]
    ratios: npt.NDArray[np.float64]  # take word length / guide word length


def make_pair(seed: int, *, late_s: float = 0.15, pause_extra_s: float = 0.25) -> Pair:
    """A production guide (one reading, room tone at -54 dBFS) and an ADR take of the same line: each word
    from whichever of 16 other readings comes closest to ±15 % of the guide's length, a pause 250 ms
    longer, a 150 ms late start, 6 dB quieter, in a quiet studio."""
    voice = voice_for("MAYA")
    g, g_words = synth_line_timed(TEXT, voice, SR, np.random.default_rng(seed))
    readings = [
        synth_line_timed(TEXT, voice, SR, np.random.default_rng(s))
        for s in range(100 + seed * 20, 116 + seed * 20)
    ]
    head = int(0.3 * SR)
    guide = np.concatenate([np.zeros(head), g, np.zeros(head)])
    guide += room_tone(guide.size, SR, np.random.default_rng(seed + 1), -54.0)
    margin = int(0.008 * SR)  # each word is cut a little wide, and faded at its edges
    parts = [np.zeros(head + int(late_s * SR))]
    pos = parts[0].size
    onsets, ratios = [], []
    for k, w in enumerate(g_words):
        want = TARGETS[k % len(TARGETS)]
        audio, words = min(
            readings, key=lambda r: abs((r[1][k].end - r[1][k].start) / (w.end - w.start) - want)
        )
        x = words[k]
        a = max(x.start - margin, 0)
        seg = audio[a : x.end + margin].astype(np.float64)
        edge = np.minimum(np.arange(seg.size), np.arange(seg.size)[::-1])
        seg *= np.minimum(1.0, edge / (margin / 2))
        onsets.append(pos + x.start - a)
        ratios.append((x.end - x.start) / (w.end - w.start))
        parts.append(seg)
        pos += seg.size
        if k + 1 < len(g_words):
            gap = max(g_words[k + 1].start - w.end - 2 * margin, 0) + (
                int(pause_extra_s * SR) if k == 5 else 0
            )
            parts.append(np.zeros(gap))
            pos += gap
    parts.append(np.zeros(head))
    take = 0.5 * np.concatenate(parts)
    take += room_tone(take.size, SR, np.random.default_rng(seed + 2), -72.0)
    return Pair(
        guide,
        np.array([w.start for w in g_words]) + head,
        take,
        np.array(onsets),
        np.array(ratios),
    )


@pytest.fixture(scope="module")
def pairs() -> list[Pair]:
    return [make_pair(seed) for seed in (1, 2, 3)]


def _envelope_db(x: npt.NDArray[np.floating], n: int = 96) -> npt.NDArray[np.float64]:
    e = np.convolve(np.asarray(x, np.float64) ** 2, np.ones(n) / n, mode="same")
    return np.asarray(10 * np.log10(e + 1e-12), np.float64)


def test_take_really_differs(pairs: list[Pair]) -> None:
    for p in pairs:
        assert p.ratios.min() < 0.9 and p.ratios.max() > 1.12
        raw = (p.take_onsets - p.guide_onsets) / SR * 1000
        assert np.abs(raw).max() > 150  # unaligned, words are far off


def test_aligned_word_onsets_within_10ms(pairs: list[Pair]) -> None:
    for p in pairs:
        r = align_take(p.guide, p.take, SR)
        assert r.audio.shape == (1, p.guide.size)
        landed = r.time_map.guide_at(p.take_onsets)
        err_ms = np.abs(landed - p.guide_onsets) / SR * 1000
        assert err_ms.max() < 10.0, err_ms
        assert np.median(err_ms) < 4.0
        # the measured residual agrees with the truth
        assert r.residual_median_ms <= 5.0 and r.residual_max_ms <= 15.0
        assert r.onsets >= 8
        assert 100 < r.offset_ms < 500  # median lateness: ~120 ms before the longer pause, ~370 after


def test_rendered_audio_puts_each_word_onset_at_the_guide(pairs: list[Pair]) -> None:
    """Independent of the time map: find each take word's first 60 ms in the aligned audio by
    cross-correlating level envelopes, and compare with the guide's word onset."""
    p = pairs[0]
    r = align_take(p.guide, p.take, SR)
    env_out = _envelope_db(r.audio[0])
    env_take = _envelope_db(p.take)
    win, search = int(0.06 * SR), int(0.04 * SR)
    for t_on, g_on in zip(p.take_onsets, p.guide_onsets, strict=True):
        ref = env_take[t_on - win // 3 : t_on + win]
        ref = ref - ref.mean()
        lags = np.arange(-search, search + 1, 24)
        scores = []
        for lag in lags:
            seg = env_out[g_on + lag - win // 3 : g_on + lag + win]
            seg = seg - seg.mean()
            scores.append(float(ref @ seg) / (np.linalg.norm(seg) + 1e-9))
        assert abs(lags[int(np.argmax(scores))]) / SR * 1000 <= 10.0


def test_identity_and_pure_delay() -> None:
    p = make_pair(4, late_s=0.0, pause_extra_s=0.0)
    same = align_take(p.guide, p.guide, SR)
    probe = np.linspace(0.2 * SR, p.guide.size - 0.2 * SR, 50)
    assert np.abs(same.time_map.take_at(probe) - probe).max() / SR * 1000 < 1.0
    assert same.residual_max_ms == 0.0
    delay = int(0.1234 * SR)
    late = np.concatenate([np.zeros(delay), p.guide])
    shifted = align_take(p.guide, late, SR)
    speech = probe[(probe > p.guide_onsets[0]) & (probe < p.guide_onsets[-1])]
    assert np.abs(shifted.time_map.take_at(speech) - speech - delay).max() / SR * 1000 < 2.0
    assert abs(shifted.offset_ms - 123.4) < 2.0


def test_long_take_is_found_by_coarse_offset(pairs: list[Pair]) -> None:
    p = pairs[1]
    pre = 3 * SR
    take = np.concatenate([np.zeros(pre), p.take, np.zeros(2 * SR)])
    # a single lag for the whole line (one pause is 250 ms longer): near enough to cut the take around it
    assert abs(coarse_offset(p.guide, take, SR) - pre - 0.15 * SR) < 0.5 * SR
    r = align_take(p.guide, take, SR, measure=False)
    err_ms = np.abs(r.time_map.guide_at(p.take_onsets + pre) - p.guide_onsets) / SR * 1000
    assert err_ms.max() < 10.0


def test_apply_time_map_is_band_limited_varispeed(pairs: list[Pair]) -> None:
    t = np.arange(SR) / SR
    tone = np.sin(2 * np.pi * 440 * t)
    p = pairs[0]
    r = align_take(p.guide, p.take, SR, measure=False)
    warped = apply_time_map(tone, r.time_map, 2000)
    expect = np.sin(2 * np.pi * 440 * r.time_map.take_at(np.arange(2000)) / SR)
    inside = (r.time_map.take_at(np.arange(2000)) > 40) & (r.time_map.take_at(np.arange(2000)) < SR - 40)
    assert np.abs(warped[0][inside] - expect[inside]).max() < 1e-3


def test_dtw_path_keeps_slope_limits() -> None:
    rng = np.random.default_rng(0)
    cost = rng.random((80, 130))
    path = dtw_path(cost, max_stretch=3)
    steps = np.diff(path, axis=0)
    interior = (steps[:, 0] > 0) & (steps[:, 1] > 0)
    s = steps[interior]
    assert np.all((s.min(axis=1) == 1) & (s.max(axis=1) <= 3))
    # along the first/last row or column only single steps
    assert np.all(steps[~interior].sum(axis=1) == 1)
    assert tuple(path[0]) in {(0, j) for j in range(130)} | {(i, 0) for i in range(80)}
    assert path[-1][0] == 79 or path[-1][1] == 129
    # a cheap diagonal valley is followed exactly
    valley = np.ones((50, 50))
    valley[np.arange(50), np.arange(50)] = 0.0
    assert np.array_equal(dtw_path(valley), np.stack([np.arange(50), np.arange(50)], axis=1))


def test_residual_measures_a_known_shift() -> None:
    p = make_pair(2, late_s=0.0)
    shifted = np.concatenate([np.zeros(240), p.guide])[: p.guide.size]  # 5 ms late
    med, _p95, worst, n = residual_ms(p.guide, shifted, SR)
    assert n >= 8 and med == pytest.approx(5.0, abs=0.5) and worst <= 6.0


def test_ten_second_line_aligns_fast() -> None:
    p = make_pair(5)
    guide = np.concatenate([p.guide, p.guide])[: 10 * SR]
    take = np.concatenate([p.take, p.take])[: 10 * SR + SR // 3]
    t0 = time.perf_counter()
    align_take(guide, take, SR)
    assert time.perf_counter() - t0 < 5.0


def test_bad_input() -> None:
    with pytest.raises(UsageError):
        align_take(np.zeros(100), np.zeros(SR), SR)
    with pytest.raises(UsageError):
        dtw_path(np.ones((1, 5)))
    with pytest.raises(UsageError):
        dtw_path(np.ones((5, 5)), max_stretch=0)
