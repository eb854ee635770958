"""The demo shoot's synthesis layer: slate and scene pictures, speech, and the sound of the set."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy import signal

from posthouse.demo.picture import flash_frame, scene_frame, slate_frame
from posthouse.demo.soundscape import (
    apply_drift,
    broadband_noise,
    clap,
    db_to_gain,
    mains_hum,
    mic_mix,
    room_tone,
)
from posthouse.demo.speech import Voice, synth_line, synth_line_timed, voice_for

SR = 48_000
MALE = Voice("Jonah", 110.0, 1.0)
FEMALE = Voice("Maya", 205.0, 1.17)
LONG_LINE = (
    "I told you the train was late again and nobody at the station could say when the next one would come"
)


def rms_db(x: NDArray[np.floating]) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(np.asarray(x, dtype=np.float64) ** 2)) + 1e-20))


# ----------------------------------------------------------------------------------------------- picture

SLATE = {
    "production": "THE LONG TAKE",
    "roll": "A001",
    "scene": "12A",
    "camera": "A",
    "date": "2025-11-24",
    "timecode": "01:02:03:04",
}


@pytest.mark.parametrize(("width", "height"), [(640, 360), (1920, 1080)])
def test_slate_frame_is_an_rgb_card_with_dark_and_bright_areas(width: int, height: int) -> None:
    img = slate_frame(width, height, take=1, sticks_closed=False, **SLATE)
    assert img.shape == (height, width, 3)
    assert img.dtype == np.uint8
    luma = img.mean(axis=2)
    assert (luma < 40).mean() > 0.2  # the card
    assert (luma > 200).mean() > 0.03  # chalk lines, text, white stripes


def test_slate_frame_shows_the_take_and_the_sticks() -> None:
    take1 = slate_frame(640, 360, take=1, sticks_closed=True, **SLATE)
    take2 = slate_frame(640, 360, take=2, sticks_closed=True, **SLATE)
    open_ = slate_frame(640, 360, take=1, sticks_closed=False, **SLATE)
    assert not np.array_equal(take1, take2)
    assert not np.array_equal(take1, open_)
    # Only the top of the frame (the sticks) changes when they close.
    changed = np.any(take1 != open_, axis=2)
    assert changed[: int(0.34 * 360)].any() and not changed[int(0.4 * 360) :].any()


def test_flash_frame_is_white() -> None:
    img = flash_frame(640, 360)
    assert img.shape == (360, 640, 3) and img.dtype == np.uint8
    assert (img == 255).all()


def _scene(
    scene: int = 0, take: int = 1, camera: str = "A", frame: int = 0, w: int = 320
) -> NDArray[np.uint8]:
    return scene_frame(
        w, w * 9 // 16, scene_index=scene, take=take, camera=camera, frame=frame, fps=24.0, seed=7
    )


def _diff(a: NDArray[np.uint8], b: NDArray[np.uint8]) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def test_scene_frame_shape_level_and_determinism() -> None:
    img = scene_frame(640, 360, scene_index=1, take=2, camera="B", frame=10, fps=23.976, seed=3)
    assert img.shape == (360, 640, 3) and img.dtype == np.uint8
    again = scene_frame(640, 360, scene_index=1, take=2, camera="B", frame=10, fps=23.976, seed=3)
    assert np.array_equal(img, again)
    for scene in range(5):
        luma = _scene(scene).mean()
        assert 20 < luma < 180  # well below the flash, never black


def test_scene_frame_differs_per_scene_take_camera_and_frame() -> None:
    base = _scene()
    assert _diff(base, _scene(scene=1)) > 20
    assert _diff(base, _scene(take=2)) > 2
    assert _diff(base, _scene(camera="B")) > 10
    # Consecutive frames differ (motion and grain) but only a little: the motion is smooth.
    nxt = _scene(frame=1)
    assert 0.5 < _diff(base, nxt) < 8


# ----------------------------------------------------------------------------------------------- speech


@pytest.fixture(scope="module")
def long_male() -> NDArray[np.float32]:
    return synth_line(LONG_LINE, MALE, SR, np.random.default_rng(1))


@pytest.fixture(scope="module")
def long_female() -> NDArray[np.float32]:
    return synth_line(LONG_LINE, FEMALE, SR, np.random.default_rng(1))


def test_voice_for_is_deterministic_and_sexed() -> None:
    a, b = voice_for("Maya"), voice_for(" maya ")
    assert (a.f0, a.formant_scale) == (b.f0, b.formant_scale) and a.name == "Maya"
    assert voice_for("Maya", female=True).f0 > 170 > voice_for("Maya", female=False).f0
    assert voice_for("Maya", female=True).formant_scale > 1.1


def test_synth_line_level_length_and_determinism(long_male: NDArray[np.float32]) -> None:
    short = synth_line("Cut.", MALE, SR, np.random.default_rng(1))
    assert long_male.dtype == np.float32 and long_male.ndim == 1
    assert 20 * np.log10(np.abs(long_male).max()) == pytest.approx(-6.0, abs=0.1)
    assert len(long_male) > 4 * len(short)
    # 26 syllables at roughly 4-5 per second, plus short pauses between words.
    assert 4.0 < len(long_male) / SR < 8.0
    assert np.array_equal(long_male, synth_line(LONG_LINE, MALE, SR, np.random.default_rng(1)))


def test_synth_line_word_timings() -> None:
    audio, words = synth_line_timed("Take two, from the top.", FEMALE, SR, np.random.default_rng(5))
    assert [w.word for w in words] == ["Take", "two", "from", "the", "top"]
    starts = [w.start for w in words]
    assert starts == sorted(starts) and all(w.start < w.end <= len(audio) for w in words)
    assert words[2].start - words[1].end > 0.15 * SR  # the comma's pause
    assert synth_line("...", MALE, SR, np.random.default_rng(0)).max() == 0.0


@pytest.mark.parametrize("which", ["long_male", "long_female"])
def test_synth_line_has_speech_spectrum(which: str, request: pytest.FixtureRequest) -> None:
    audio = request.getfixturevalue(which).astype(np.float64)
    power = np.abs(np.fft.rfft(audio)) ** 2
    freqs = np.fft.rfftfreq(len(audio), 1 / SR)
    assert power[(freqs >= 100) & (freqs <= 4000)].sum() / power.sum() > 0.9


def _modulation_spectrum(audio: NDArray[np.floating]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The spectrum of the amplitude envelope (rectified, low-passed at 30 Hz, sampled at 100 Hz)."""
    env = np.asarray(signal.sosfiltfilt(signal.butter(4, 30, fs=SR, output="sos"), np.abs(audio)), np.float64)
    env = env[::480] - env[::480].mean()
    spectrum = np.abs(np.fft.rfft(env * np.hanning(len(env)))) ** 2
    return np.fft.rfftfreq(len(env), 1 / 100).astype(np.float64), spectrum.astype(np.float64)


@pytest.mark.parametrize("which", ["long_male", "long_female"])
def test_synth_line_has_syllabic_envelope(which: str, request: pytest.FixtureRequest) -> None:
    freqs, spec = _modulation_spectrum(request.getfixturevalue(which).astype(np.float64))
    band = (freqs > 0.5) & (freqs < 20)
    assert 2.0 <= freqs[band][np.argmax(spec[band])] <= 10.0


@pytest.mark.parametrize("seed", [0, 1])
def test_synth_line_modulation_peaks_at_syllable_rate_despite_pauses(seed: int) -> None:
    """With sentence pauses, judged as usual by octave bands of modulation frequency (1, 2, 4, 8, 16 Hz)."""
    text = "Where were you last night? I waited for hours, and you never called."
    freqs, spec = _modulation_spectrum(synth_line(text, MALE, SR, np.random.default_rng(seed)))
    centres = (1.0, 2.0, 4.0, 8.0, 16.0)
    octaves = [spec[(freqs >= c / np.sqrt(2)) & (freqs < c * np.sqrt(2))].sum() for c in centres]
    assert 2.0 <= centres[int(np.argmax(octaves))] <= 8.0


# ----------------------------------------------------------------------------------------------- sound


def test_db_to_gain() -> None:
    assert db_to_gain(0.0) == 1.0
    assert db_to_gain(-6.0) == pytest.approx(0.501, abs=1e-3)
    assert db_to_gain(20.0) == pytest.approx(10.0)


@pytest.mark.parametrize("freq", [50.0, 60.0])
def test_mains_hum_peaks_at_the_mains_frequency(freq: float) -> None:
    hum = mains_hum(SR * 2, SR, freq, level_dbfs=-50.0)
    assert hum.dtype == np.float32
    assert rms_db(hum) == pytest.approx(-50.0, abs=0.1)
    spec = np.abs(np.fft.rfft(hum))
    freqs = np.fft.rfftfreq(len(hum), 1 / SR)
    assert freqs[np.argmax(spec)] == pytest.approx(freq, abs=0.5)
    assert spec[np.argmin(np.abs(freqs - 3 * freq))] > 0.1 * spec.max()  # the odd-harmonic buzz


def test_room_tone_and_noise_levels_and_colour() -> None:
    rng = np.random.default_rng(0)
    tone = room_tone(SR * 2, SR, rng, level_dbfs=-60.0)
    assert tone.dtype == np.float32 and len(tone) == SR * 2
    assert rms_db(tone) == pytest.approx(-60.0, abs=0.1)
    freqs, psd = signal.welch(tone, SR, nperseg=4096)
    assert psd[(freqs > 100) & (freqs < 400)].mean() > 100 * psd[(freqs > 5000) & (freqs < 10000)].mean()
    hiss = broadband_noise(SR, rng, -70.0)
    assert rms_db(hiss) == pytest.approx(-70.0, abs=0.1)
    assert np.array_equal(
        room_tone(1000, SR, np.random.default_rng(4)), room_tone(1000, SR, np.random.default_rng(4))
    )


def test_clap_is_a_transient() -> None:
    c = clap(SR, np.random.default_rng(0)).astype(np.float64)
    ms = SR // 1000
    assert np.argmax(np.abs(c)) < 5 * ms
    assert 20 * np.log10(np.abs(c).max()) == pytest.approx(-3.0, abs=0.1)
    head, later = np.sum(c[: 10 * ms] ** 2), np.sum(c[50 * ms : 60 * ms] ** 2)
    assert 10 * np.log10(head / later) > 25


def _shift(drifted: NDArray[np.float32], original: NDArray[np.float32], start: int, length: int) -> int:
    """Where original[start:start+length] sits in ``drifted``, relative to ``start``."""
    search = 100
    padded = np.pad(drifted.astype(np.float64), search)  # the segment may sit past either end
    seg = original[start : start + length].astype(np.float64)
    corr = signal.correlate(padded[start : start + length + 2 * search], seg, mode="valid")
    return int(np.argmax(corr)) - search


@pytest.mark.parametrize("ppm", [100.0, -50.0])
def test_apply_drift_is_measurable_by_cross_correlation(ppm: float) -> None:
    noise = np.random.default_rng(0).standard_normal(SR * 10).astype(np.float32)
    drifted = apply_drift(noise, ppm)
    assert drifted.dtype == np.float32
    assert len(drifted) - len(noise) == round(SR * 10 * ppm * 1e-6)  # 100 ppm: 48 samples more
    tenth = SR // 10
    first, last = _shift(drifted, noise, 0, tenth), _shift(drifted, noise, len(noise) - tenth, tenth)
    assert abs(first - 0.05 * SR * ppm * 1e-6) <= 1
    assert abs(last - 9.95 * SR * ppm * 1e-6) <= 1
    # From the first and last seconds, the drift over 10 s: 48 samples at +100 ppm.
    one_s = _shift(drifted, noise, 0, SR), _shift(drifted, noise, len(noise) - SR, SR)
    assert abs((one_s[1] - one_s[0]) * 10 / 9 - 10 * SR * ppm * 1e-6) <= 1


def test_apply_drift_keeps_channels_together() -> None:
    stereo = np.random.default_rng(1).standard_normal((2, SR)).astype(np.float32)
    out = apply_drift(stereo, 200.0)
    assert out.shape == (2, SR + round(SR * 200e-6))
    assert np.array_equal(out[1], apply_drift(stereo[1], 200.0))
    assert np.array_equal(apply_drift(stereo, 0.0), stereo)


@pytest.fixture(scope="module")
def two_speaker_take() -> tuple[list[NDArray[np.float32]], int]:
    """Speaker 1 in the first half, speaker 2 in the second."""
    a = synth_line("Where were you last night?", MALE, SR, np.random.default_rng(1))
    b = synth_line("At the studio, like I said.", FEMALE, SR, np.random.default_rng(2))
    half = max(len(a), len(b)) + SR // 4
    d1, d2 = np.zeros(2 * half, np.float32), np.zeros(2 * half, np.float32)
    d1[: len(a)] = a
    d2[half : half + len(b)] = b
    return [d1, d2], half


def test_mic_mix_lavs_favour_their_wearer(two_speaker_take: tuple[list[NDArray[np.float32]], int]) -> None:
    dialogue, half = two_speaker_take
    fx = np.zeros_like(dialogue[0])
    fx[half - SR // 8 : half - SR // 8 + 7200] = clap(SR, np.random.default_rng(3))
    mix = mic_mix(dialogue, SR, np.random.default_rng(0), effects=fx)
    n = len(dialogue[0])
    for track in (mix.boom, mix.camera, *mix.lavs):
        assert track.shape == (n,) and track.dtype == np.float32 and np.abs(track).max() < 1.0
    assert mix.recorder().shape == (3, n)
    lav1, lav2 = mix.lavs
    assert rms_db(lav1[:half]) - rms_db(lav1[half:]) >= 12
    assert rms_db(lav2[half:]) - rms_db(lav2[:half]) >= 12
    assert abs(rms_db(mix.boom[:half]) - rms_db(mix.boom[half:])) < 6  # the boom hears both
    # The camera's scratch track is band-limited and noisier than the boom.
    freqs, psd = signal.welch(mix.camera, SR, nperseg=4096)
    assert psd[freqs > 12000].sum() < 0.01 * psd[(freqs > 100) & (freqs < 8000)].sum()
    tail = slice(n - SR // 10, n)
    assert rms_db(mix.camera[tail]) > rms_db(mix.boom[tail]) + 6


@pytest.mark.parametrize(("propagation", "camera_lag"), [(False, 0), (True, round(3.5 / 343 * SR))])
def test_mic_mix_propagation_delays(
    two_speaker_take: tuple[list[NDArray[np.float32]], int], propagation: bool, camera_lag: int
) -> None:
    dialogue, _ = two_speaker_take
    mix = mic_mix(
        dialogue, SR, np.random.default_rng(0), propagation=propagation, room_tone_dbfs=None, rustle=False
    )

    def lag(track: NDArray[np.float32]) -> int:
        corr = signal.correlate(track.astype(np.float64), dialogue[0].astype(np.float64), method="fft")
        return int(np.argmax(corr)) - (len(track) - 1)

    assert lag(mix.lavs[0]) == 0  # close and nearly dry; its EQ is zero-phase
    assert abs(lag(mix.camera) - camera_lag) <= 4  # the room blurs the peak by a few samples at most
    with pytest.raises(ValueError, match="same length"):
        mic_mix([dialogue[0], dialogue[1][:-1]], SR, np.random.default_rng(0))
