"""Picture/sound sync: the signal processing on synthetic signals, then a demo shoot against its truth."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import signal as sps

from posthouse.core.errors import UsageError
from posthouse.core.jobs import LocalExecutor, SerialExecutor
from posthouse.core.media import probe, read_audio, write_bwf
from posthouse.core.media.bwf import IXml
from posthouse.core.progress import Cancelled, CancelToken
from posthouse.core.time import Rate, frames_to_samples_exact, timecode_to_frames
from posthouse.demo.shoot import ShootSpec, generate_shoot
from posthouse.demo.soundscape import apply_drift, clap
from posthouse.picture.sync import (
    PictureClip,
    SoundClip,
    SyncResult,
    pair_clips,
    picture_clip_from_probe,
    sound_clip_from_probe,
    sync_all,
    sync_pair,
)
from posthouse.picture.sync_dsp import fit_drift, gcc_phat
from posthouse.picture.sync_slate import find_clap, flash_in_lumas
from posthouse.picture.sync_waveform import align, array_stream

SR = 48_000
FRAME = SR * 1001 / 24000  # samples per frame at 23.976

# ----------------------------------------------------------------------------- synthetic signals


def _speechy(seconds: float, rng: np.random.Generator) -> np.ndarray:
    """Syllable-like bursts of band-limited noise with pauses: enough structure to correlate."""
    n = round(seconds * SR)
    carrier = sps.sosfilt(sps.butter(2, (150, 5000), "bandpass", fs=SR, output="sos"), rng.standard_normal(n))
    t = np.arange(n) / SR
    envelope = np.clip(np.sin(2 * np.pi * 3.1 * t + rng.uniform(0, 6)), 0, None) ** 2
    envelope *= np.repeat(rng.random(int(seconds) + 1) > 0.3, SR)[:n]  # some silent seconds
    return 0.1 * carrier * envelope


def _room(x: np.ndarray, rng: np.random.Generator, noise_db: float = -50.0) -> np.ndarray:
    """What a distant camera mic hears: direct sound plus a strong reverberant tail, plus hiss."""
    tail_n = round(0.4 * SR)
    tail = rng.standard_normal(tail_n) * np.exp(-6.9 * np.arange(tail_n) / tail_n) * 0.05
    tail[0] = 1.0
    wet = sps.oaconvolve(x, tail)[: x.size]
    return wet + 10 ** (noise_db / 20) * rng.standard_normal(x.size)


@pytest.fixture(scope="module")
def world() -> np.ndarray:
    return _speechy(14.0, np.random.default_rng(3))


def test_gcc_phat_finds_integer_and_fractional_lags() -> None:
    rng = np.random.default_rng(1)
    x = sps.sosfilt(sps.butter(4, 6000, fs=SR, output="sos"), rng.standard_normal(SR))
    y = np.concatenate([np.zeros(1234), x])
    c = gcc_phat(x, y, SR, band=(200, 8000))
    assert abs(c.lag - 1234) < 0.01 and c.ratio > 3 and c.peak > 0.9
    # A fractional delay of 3.3 samples, made by a linear phase: refined well below a sample.
    n = x.size
    spec = np.fft.rfft(x) * np.exp(-2j * np.pi * np.fft.rfftfreq(n) * 3.3)
    z = np.fft.irfft(spec, n)
    assert abs(gcc_phat(x, z, SR, band=(200, 8000)).lag - 3.3) < 0.05
    assert abs(gcc_phat(z, x, SR, band=(200, 8000)).lag + 3.3) < 0.05


def test_fit_drift_drops_outliers() -> None:
    p = np.array([0.0, 96000, 192000, 288000, 384000])
    y = 500 + p * (1 + 20e-6)
    y[2] += 700  # a window that locked onto something else
    offset, slope, keep = fit_drift(p, y)
    assert keep.tolist() == [True, True, False, True, True]
    assert abs(offset - 500) < 1e-6 and abs((slope - 1) * 1e6 - 20) < 1e-6


@pytest.mark.parametrize("shift", [30_000, -20_000, 0])
def test_align_finds_a_known_shift(world: np.ndarray, shift: int) -> None:
    rng = np.random.default_rng(5)
    a, n = 40_000, 9 * SR  # the camera rolls at world sample a
    camera = _room(world[a : a + n], rng)
    start = a - shift  # the recorder rolled at world sample start: shift = sound sample under camera 0
    boom = world[start:] + 1e-4 * rng.standard_normal(world.size - start)
    fit = align(array_stream(camera, SR), array_stream(boom, SR))
    assert fit is not None
    assert abs(fit.offset - shift) < 0.5, fit
    assert fit.confidence > 0.5
    assert fit.drift_ppm is not None and abs(fit.drift_ppm) < 3


def test_align_measures_drift_at_the_first_frame(world: np.ndarray) -> None:
    rng = np.random.default_rng(6)
    ppm, a, n = -40.0, 60_000, 12 * SR
    camera = _room(world[a : a + n], rng)
    recorded = apply_drift(world, ppm)  # the recorder's clock is 40 ppm slow
    s0 = 10_000
    boom = recorded[s0:]
    fit = align(array_stream(camera, SR), array_stream(boom, SR))
    assert fit is not None and fit.drift_ppm is not None
    truth = a * (1 + ppm * 1e-6) - s0
    assert abs(fit.offset - truth) < 0.5, (fit.offset, truth)
    assert abs(fit.drift_ppm - ppm) < 2


def test_align_long_take_in_bounded_memory() -> None:
    """Scratch found deep inside a long sound, with the full-rate audio re-read for the windows only."""
    rng = np.random.default_rng(9)
    world = _speechy(60.0, rng)
    camera = _room(world[30 * SR : 50 * SR], rng)
    fit = align(array_stream(camera, SR), array_stream(world, SR), coarse_span_s=4.0, keep_s=2.0)
    assert fit is not None and abs(fit.offset - 30 * SR) < 0.5, fit
    assert fit.windows >= 3 and fit.drift_ppm is not None and abs(fit.drift_ppm) < 1


def test_align_at_another_sample_rate(world: np.ndarray) -> None:
    rng = np.random.default_rng(7)
    camera = _room(world[50_000 : 50_000 + 8 * SR], rng)
    boom96 = sps.resample_poly(world[20_000:], 2, 1)  # 96 kHz production sound
    fit = align(array_stream(camera, SR), array_stream(boom96, 2 * SR))
    assert fit is not None and abs(fit.offset - 60_000) < 1.0


def test_align_rejects_unrelated_audio(world: np.ndarray) -> None:
    rng = np.random.default_rng(8)
    other = _speechy(10.0, np.random.default_rng(99))
    fit = align(array_stream(_room(world[: 8 * SR], rng), SR), array_stream(other, SR))
    assert fit is not None and fit.confidence < 0.3


def test_flash_and_clap_detectors() -> None:
    lumas = [0.2] * 10 + [1.0] + [0.2] * 5 + [0.9] * 20  # a flash, later a cut to a bright shot
    found = flash_in_lumas(lumas)
    assert found is not None and found.frame == 10 and found.contrast > 0.7
    assert flash_in_lumas([0.2] * 10 + [0.95] * 10) is None
    rng = np.random.default_rng(2)
    x = 1e-3 * rng.standard_normal(2 * SR).astype(np.float32)
    x[30_000:] += 0.3 * _speechy(2.0, rng)[: 2 * SR - 30_000].astype(np.float32)
    c = clap(SR, rng)
    x[50_000 : 50_000 + c.size] += c
    hit = find_clap(x, SR)
    assert hit is not None and abs(hit.sample - 50_000) <= 24 and hit.jump_db > 25


# ------------------------------------------------------------------------------- timecode, pairing


def _picture(**kw: Any) -> PictureClip:
    base: dict[str, Any] = {
        "path": Path("/nowhere/A001C001.mov"),
        "name": "A001C001",
        "scene": "1A",
        "take": "1",
        "camera": "A",
        "start_timecode": "01:00:00:00",
        "rate": Fraction(24000, 1001),
        "frames": 240,
        "has_audio": False,
    }
    return PictureClip(**{**base, **kw})


def _sound(**kw: Any) -> SoundClip:
    base: dict[str, Any] = {
        "path": Path("/nowhere/1A-1.wav"),
        "name": "1A-1",
        "scene": "1A",
        "take": "1",
        "time_reference": None,
        "sample_rate": SR,
        "samples": 20 * SR,
        "channels": 3,
    }
    return SoundClip(**{**base, **kw})


def test_timecode_sync_drop_frame_jam_and_midnight() -> None:
    rate = Rate.parse("29.97")
    label = "01:00:00;00"
    start = int(frames_to_samples_exact(timecode_to_frames(label, rate), rate, SR))
    pic = _picture(start_timecode=label, rate=rate.fps)
    r = sync_pair(pic, _sound(time_reference=start - 1000), method="timecode")
    assert (r.status, r.method, r.offset_samples) == ("synced", "timecode", 1000)
    assert r.offset_frames == pytest.approx(1000 * 30000 / 1001 / SR, abs=1e-4)
    # A known jam error (recorder timecode 500 samples ahead of the truth) is taken out.
    r = sync_pair(pic, _sound(time_reference=start - 1000 + 500), method="timecode", jam_offset_samples=500)
    assert r.offset_samples == 1000
    # The sound rolled two seconds before midnight, the camera one second after.
    r = sync_pair(
        _picture(start_timecode="00:00:01:00", rate=Fraction(25)),
        _sound(time_reference=86_400 * SR - 2 * SR),
        method="timecode",
    )
    assert (r.status, r.offset_samples) == ("synced", 3 * SR)
    # A sound whose timecode is an hour away is not plausible.
    r = sync_pair(pic, _sound(time_reference=start + 3600 * SR), method="timecode")
    assert r.status == "unsynced" and r.timecode_offset_samples == -3600 * SR
    assert any("do not overlap" in n for n in r.notes)


def test_sync_at_96k_reports_sound_samples() -> None:
    rate = Rate.parse("23.976")
    start = int(frames_to_samples_exact(timecode_to_frames("01:00:00:00", rate), rate, 96_000))
    r = sync_pair(_picture(), _sound(time_reference=start - 96_000, sample_rate=96_000), method="timecode")
    assert r.offset_samples == 96_000 and r.offset_frames == pytest.approx(24000 / 1001, abs=1e-3)


def test_pairing_by_metadata_then_timecode() -> None:
    rate = Rate.parse("23.976")
    t = int(frames_to_samples_exact(timecode_to_frames("01:00:00:00", rate), rate, SR))
    s1 = _sound(name="a", time_reference=t - SR)
    s2 = _sound(name="b", scene="2A", take="03", time_reference=t + 3600 * SR)
    pics = [
        _picture(),  # 1A-1 by metadata
        _picture(scene="2A", take="3"),  # take "03" == "3"
        _picture(scene=None, take=None, start_timecode="02:00:05:00"),  # by timecode: inside s2
        _picture(scene=None, take=None, start_timecode="05:00:00:00"),  # nothing overlaps
    ]
    pairs = pair_clips(pics, [s1, s2])
    assert [s.name if s else None for _, s in pairs] == ["a", "b", "b", None]


def test_unsyncable_inputs_never_raise() -> None:
    r = sync_pair(_picture(damaged=True), _sound())
    assert (r.status, r.method, r.offset_samples) == ("unsynced", "none", None)
    assert "damaged" in r.notes[0]
    r = sync_pair(_picture(), None)
    assert r.status == "unsynced" and "no production sound" in r.notes[0]
    r = sync_pair(_picture(has_audio=True), _sound(time_reference=0))  # files do not exist
    assert r.status == "unsynced" and any("sync failed" in n for n in r.notes)
    with pytest.raises(UsageError):
        sync_pair(_picture(), _sound(), method="psychic")
    json.dumps(r.to_dict())


# ------------------------------------------------------------------------------------ demo shoot

SPEC = ShootSpec(scenes=2, takes=2, cameras=("A", "B"), size="small", seed=7)


@dataclass
class Shoot:
    root: Path
    truth: dict[str, Any]
    pictures: list[PictureClip]
    sounds: list[SoundClip]

    def clip(self, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """(take truth, clip truth) of a camera clip."""
        for take in self.truth["takes"].values():
            if name in take["clips"]:
                return take, take["clips"][name]
        raise KeyError(name)

    def fault(self, kind: str) -> dict[str, Any]:
        return next(f for f in self.truth["faults"] if f["kind"] == kind)


@pytest.fixture(scope="module")
def shoot(tmp_path_factory: pytest.TempPathFactory) -> Shoot:
    root = tmp_path_factory.mktemp("shoot")
    with LocalExecutor(2) as ex:
        generate_shoot(root, SPEC, executor=ex)
    truth = json.loads((root / "ground_truth.json").read_text())
    pictures = [picture_clip_from_probe(probe(p)) for p in sorted((root / "camera").rglob("*.mov"))]
    sounds = [sound_clip_from_probe(probe(p)) for p in sorted((root / "sound").rglob("*.wav"))]
    return Shoot(root, truth, pictures, sounds)


@pytest.fixture(scope="module")
def results(shoot: Shoot) -> dict[str, SyncResult]:
    with LocalExecutor(2) as ex:
        out = sync_all(shoot.pictures, shoot.sounds, executor=ex)
    assert len(out) == len(shoot.pictures)  # one result per clip, the damaged one included
    return {r.picture.stem: r for r in out}


def test_clips_from_probe(shoot: Shoot) -> None:
    pic = next(p for p in shoot.pictures if p.name == "A001C001")
    take, clip = shoot.clip("A001C001")
    assert (pic.scene, pic.take, pic.camera) == (take["scene"], str(take["take_number"]), "A")
    assert (pic.start_timecode, pic.frames, pic.rate) == (
        clip["start_timecode"],
        clip["frames"],
        Fraction(24000, 1001),
    )
    assert pic.has_audio and not pic.damaged
    snd = next(s for s in shoot.sounds if s.name == "1A-1")
    assert (snd.scene, snd.take, snd.channels, snd.sample_rate) == ("1A", "1", 3, SR)
    assert snd.time_reference == shoot.truth["takes"]["1A-1"]["time_reference"]
    truncated = Path(shoot.fault("truncated_camera_file")["file"]).stem
    assert next(p for p in shoot.pictures if p.name == truncated).damaged


def test_every_syncable_clip_within_a_sample(shoot: Shoot, results: dict[str, SyncResult]) -> None:
    checked = 0
    for name, r in results.items():
        take, clip = shoot.clip(name)
        if clip["truncated"] or not clip["scratch_audio"]:
            continue
        assert (r.status, r.method) == ("synced", "waveform"), (name, r)
        assert r.take == take["take"] and r.sound == shoot.root / take["sound_file"]
        assert abs(r.offset_samples - clip["offset_samples"]) <= 1, (name, r.offset_samples, clip)  # type: ignore[operator]
        assert r.drift_ppm is not None and abs(r.drift_ppm - take["skew_ppm"]) < 5, (name, r.drift_ppm)
        assert r.confidence >= 0.5
        assert r.offset_frames == pytest.approx(r.offset_samples / FRAME, abs=1e-3)  # type: ignore[operator]
        checked += 1
    assert checked == 6  # both cameras, camera B's own offsets included
    assert any(r.offset_samples < 0 for r in results.values() if r.offset_samples is not None)  # late sound


def test_wrong_sound_timecode_is_flagged_and_resolved(shoot: Shoot, results: dict[str, SyncResult]) -> None:
    fault = shoot.fault("wrong_sound_timecode")
    take = shoot.truth["takes"][fault["take"]]
    for name, clip in take["clips"].items():
        r = results[name]
        assert (r.status, r.method) == ("synced", "waveform")
        assert abs(r.offset_samples - clip["offset_samples"]) <= 1  # type: ignore[operator]
        assert r.timecode_offset_samples is not None
        assert abs(r.timecode_offset_samples - r.offset_samples - take["timecode_sync_error_samples"]) < FRAME  # type: ignore[operator]
        assert any(
            n.startswith("timecode disagrees with waveform by 2h13m07s: sound timecode wrong")
            for n in r.notes
        )
    others = [
        r for n, r in results.items() if shoot.clip(n)[0]["take"] != fault["take"] and r.status == "synced"
    ]
    assert all(any("timecode agrees" in n for n in r.notes) for r in others)


def test_no_scratch_take_is_synced_by_slate(shoot: Shoot, results: dict[str, SyncResult]) -> None:
    name = Path(shoot.fault("no_scratch_audio")["file"]).stem
    _, clip = shoot.clip(name)
    r = results[name]
    assert r.status == "synced" and r.method == "slate", r
    assert abs(r.offset_samples - clip["offset_samples"]) <= FRAME  # type: ignore[operator]
    assert any("timecode agrees with slate" in n for n in r.notes)  # verified both ways
    assert r.drift_ppm is None and 0.5 <= r.confidence < 0.9


def test_truncated_camera_file_is_reported(shoot: Shoot, results: dict[str, SyncResult]) -> None:
    name = Path(shoot.fault("truncated_camera_file")["file"]).stem
    r = results[name]
    assert (r.status, r.method, r.offset_samples, r.take) == ("unsynced", "none", None, name)
    assert any("damaged" in n for n in r.notes)


def test_forced_methods(shoot: Shoot) -> None:
    good = [p for p in shoot.pictures if not p.damaged]
    for r in sync_all(good, shoot.sounds, method="slate"):
        take, clip = shoot.clip(r.picture.stem)
        assert r.status == "synced" and r.method == "slate"
        assert abs(r.offset_samples - clip["offset_samples"]) <= FRAME, r  # type: ignore[operator]
    for r in sync_all(good, shoot.sounds, method="timecode", executor=SerialExecutor()):
        take, clip = shoot.clip(r.picture.stem)
        if take["take"] == shoot.fault("wrong_sound_timecode")["take"]:
            assert r.status == "unsynced" and r.timecode_offset_samples is not None
            continue
        assert (r.status, r.method) == ("synced", "timecode")
        error = take["timecode_sync_error_samples"]  # camera A's; B adds its own whole frames
        assert abs(r.offset_samples - clip["offset_samples"] - error) <= 1  # type: ignore[operator]


def test_pairing_without_metadata_uses_timecode(shoot: Shoot) -> None:
    bare = [replace(p, scene=None, take=None) for p in shoot.pictures]
    wrong = shoot.fault("wrong_sound_timecode")["take"]
    for picture, sound in pair_clips(bare, shoot.sounds):
        if picture.damaged:
            assert sound is None
            continue
        take, _ = shoot.clip(picture.name)
        if take["take"] == wrong:  # its sound's timecode is hours away: nothing to pair with
            assert sound is None
        else:
            assert sound is not None and sound.path == shoot.root / take["sound_file"]


def _write_variant(shoot: Shoot, take: str, name: str, audio: np.ndarray, rate: int, tref: int) -> SoundClip:
    t = shoot.truth["takes"][take]
    path = shoot.root / "variants" / f"{name}.wav"
    write_bwf(path, audio, rate, bit_depth=24, ixml=IXml(scene=t["scene"], take=str(t["take_number"])))
    return sound_clip_from_probe(probe(path), time_reference=tref)


def test_96k_mono_and_short_sound(shoot: Shoot) -> None:
    take = shoot.truth["takes"]["1A-1"]
    sound, _ = read_audio(shoot.root / take["sound_file"])
    pic = next(p for p in shoot.pictures if p.name == "A001C001")
    clip = take["clips"]["A001C001"]
    # 96 kHz polyphonic: offsets in the sound's own samples.
    hi = _write_variant(
        shoot, "1A-1", "96k", sps.resample_poly(sound, 2, 1, axis=1), 96_000, 2 * take["time_reference"]
    )
    r = sync_pair(pic, hi)
    assert (r.status, r.method) == ("synced", "waveform"), r
    assert abs(r.offset_samples - 2 * clip["offset_samples_exact"]) <= 2  # type: ignore[operator]
    assert abs(r.drift_ppm - take["skew_ppm"]) < 5  # type: ignore[operator]
    # Mono boom, rolled 3 s after the picture and cut before its end: sound shorter than picture.
    cut = clip["offset_samples"] + 3 * SR
    short = sound[:1, cut : cut + 4 * SR]
    mono = _write_variant(shoot, "1A-1", "mono_short", short, SR, take["time_reference"] + cut)
    assert mono.channels == 1 and mono.samples < pic.frames * FRAME
    r = sync_pair(pic, mono)
    assert (r.status, r.method) == ("synced", "waveform"), r
    assert abs(r.offset_samples - (clip["offset_samples"] - cut)) <= 1  # type: ignore[operator]
    assert r.offset_samples < 0  # type: ignore[operator]


def test_cancel_and_progress(shoot: Shoot) -> None:
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        sync_all(shoot.pictures, shoot.sounds, cancel=token)

    class Counter:
        def __init__(self) -> None:
            self.done = 0

        def start(self, label: str, total: int | None) -> None:
            self.total = total

        def advance(self, n: int = 1) -> None:
            self.done += n

        def finish(self) -> None:
            pass

    counter = Counter()
    sync_all(shoot.pictures[:2], shoot.sounds, method="timecode", progress=counter)
    assert counter.done == counter.total == 2


# ------------------------------------------------------------------------------------ auto policy


def _est(method: str, offset: float, confidence: float) -> Any:
    from posthouse.picture import sync as sync_module

    return sync_module._Estimate(method, offset, confidence, None, (f"{method} ran",))


@pytest.mark.parametrize(
    ("scratch", "timecode", "wf", "slate", "expected"),
    [
        # a confident waveform wins over timecode, which is flagged
        (True, True, (9000, 0.9), None, ("waveform", "synced", 9000, "disagrees")),
        # a weak waveform that timecode confirms
        (True, True, (1010, 0.2), None, ("waveform", "synced", 1010, "agrees")),
        # a weak waveform against timecode: the slate sides with timecode
        (True, True, (50_000, 0.2), 1005, ("slate", "synced", 1005, "agrees with slate")),
        # ... or with the waveform
        (True, True, (50_000, 0.2), 50_010, ("waveform", "synced", 50_000, "slate agrees")),
        # ... or is not there: nothing settles it
        (True, True, (50_000, 0.2), None, ("waveform", "conflict", 50_000, "disagrees")),
        # a weak waveform and nothing else
        (True, False, (50_000, 0.2), None, ("waveform", "unsynced", 50_000, "too low")),
        # no scratch audio: timecode checked by the slate
        (False, True, None, 1003, ("slate", "synced", 1003, "agrees with slate")),
        (False, True, None, None, ("timecode", "synced", 1000, "not verified")),
        (False, True, None, 11_000, ("slate", "conflict", 11_000, "disagrees with slate")),
        (False, False, None, 7000, ("slate", "synced", 7000, "slate ran")),
        (False, False, None, None, ("none", "unsynced", None, "no clap")),
    ],
)
def test_auto_policy(
    monkeypatch: pytest.MonkeyPatch,
    scratch: bool,
    timecode: bool,
    wf: tuple[float, float] | None,
    slate: float | None,
    expected: tuple[str, str, int | None, str],
) -> None:
    from posthouse.picture import sync as sync_module

    waveform_result = (_est("waveform", *wf), None) if wf else (None, "no scratch")
    slate_result = (_est("slate", slate, 0.6), "slate ran") if slate is not None else (None, "slate: no clap")
    monkeypatch.setattr(sync_module, "_waveform", lambda p, s: waveform_result)
    monkeypatch.setattr(sync_module, "_slate", lambda p, s, tc: slate_result)
    rate = Rate.parse("23.976")
    start = int(frames_to_samples_exact(timecode_to_frames("01:00:00:00", rate), rate, SR))
    sound = _sound(time_reference=start - 1000 if timecode else None)
    r = sync_pair(_picture(has_audio=scratch), sound)
    method, status, offset, note = expected
    assert (r.method, r.status, r.offset_samples) == (method, status, offset), r
    assert any(note in n for n in r.notes), r.notes
    assert r.timecode_offset_samples == (1000 if timecode else None)
