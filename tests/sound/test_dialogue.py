"""Dialogue editing on a tiny synthetic shoot: cleaned clips in sync, the speaker's lav per line, room-tone
fills, improvement against the clean dialogue, and bad input (44.1 kHz, clipping, missing files)."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import opentimelineio as otio
import pytest
import soundfile as sf
from scipy.signal import resample_poly
from typer.testing import CliRunner

from posthouse.core.media.bwf import Bext, IXml, read_bwf, write_bwf
from posthouse.demo.soundscape import broadband_noise, mains_hum, mic_mix
from posthouse.demo.speech import synth_line_timed, voice_for
from posthouse.engine import plan_timeline
from posthouse.engine.audio import iter_mix_blocks
from posthouse.sound.cleanup import noise_floor_dbfs
from posthouse.sound.dialogue import CleanReport, clean_dialogue
from posthouse.sound.dialogue_truth import measure_improvement
from posthouse.sound.session import add_track, load_session, place_clip, save_session, wav_clip

F32 = npt.NDArray[np.float32]
SR = 48_000
FPS = 24
SPF = SR // FPS  # samples a frame
HOUR = 3600 * SR


@dataclass
class Take:
    name: str
    path: Path
    truth: Path
    dry: list[F32]
    lines: list[tuple[str, int, int]]  # character, file sample start, end
    time_reference: int


def _take(root: Path, name: str, texts: list[tuple[str, str]], seed: int, tref: int) -> Take:
    rng = np.random.default_rng(seed)
    chars = ["MAYA", "THEO"]
    spoken = [synth_line_timed(t, voice_for(c), SR, rng)[0] for c, t in texts]
    n = int(0.8 * SR + sum(len(a) + 0.5 * SR for a in spoken))
    dry = [np.zeros(n, np.float32) for _ in chars]
    lines, at = [], int(0.6 * SR)
    for (c, _), a in zip(texts, spoken, strict=True):
        dry[chars.index(c)][at : at + len(a)] += 0.5 * a / np.abs(a).max()
        lines.append((c, at, at + len(a)))
        at += len(a) + int(0.5 * SR)
    mics = mic_mix(dry, SR, rng, propagation=False, rustle=False).recorder().astype(np.float64)
    mics[0] += mains_hum(n, SR, 50.0, -50.0) + broadband_noise(n, rng, -60.0)  # a noisy boom
    mics += np.stack([broadband_noise(n, rng, -75.0) for _ in range(3)])
    path = root / "sound" / f"{name}.wav"
    write_bwf(
        path,
        np.clip(mics, -1, 1).astype(np.float32),
        SR,
        bext=Bext(time_reference=tref),
        ixml=IXml(
            scene=name.split("-")[0], take=name.split("-")[1], track_names=("BOOM", "LAV1 MAYA", "LAV2 THEO")
        ),
    )
    truth = root / "truth" / f"{name}_dialogue.wav"
    truth.parent.mkdir(parents=True, exist_ok=True)
    sf.write(truth, np.stack(dry).T, SR, subtype="FLOAT")
    return Take(name, path, truth, dry, lines, tref)


MICS = ("BOOM", "LAV1 MAYA", "LAV2 THEO")


def _place(
    tl: otio.schema.Timeline, take: Take, record_in: int, *, skip: int, frames: int, missing: set[int]
) -> None:
    n = sf.info(str(take.path)).frames
    for ch, track in enumerate(t for t in tl.tracks if t.kind == otio.schema.TrackKind.Audio):
        path = take.path if ch not in missing else take.path.with_name("gone.wav")
        clip = wav_clip(
            path,
            name=f"{take.name} {MICS[ch]}",
            frames=frames,
            rate=FPS,
            source_start=take.time_reference + skip,
            time_reference=take.time_reference,
            file_samples=n,
            channel=ch,
            metadata={"link": f"{take.name}/A001", "track_name": MICS[ch]},
        )
        place_clip(track, clip, record_in, FPS)


@dataclass
class Shoot:
    root: Path
    session: otio.schema.Timeline
    original: otio.schema.Timeline
    report: CleanReport
    takes: list[Take]
    record_ins: list[int]
    skip: int


@pytest.fixture(scope="module")
def shoot(tmp_path_factory: pytest.TempPathFactory) -> Shoot:
    root = tmp_path_factory.mktemp("shoot")
    a = _take(root, "1A-1", [("MAYA", "The sound is late."), ("THEO", "Only by a frame.")], 5, HOUR)
    b = _take(root, "2A-1", [("MAYA", "A frame is a lifetime.")], 6, HOUR + 60 * SR)
    # a clipped burst on take B's boom, inside what plays
    mics, _ = sf.read(str(b.path), always_2d=True)
    burst = b.lines[0][1] + 2000
    mics[burst : burst + 40, 0] = 1.0
    write_bwf(b.path, mics.T.astype(np.float32), SR, bext=Bext(time_reference=b.time_reference))
    truth = {
        "takes": {
            t.name: {"sound_file": f"sound/{t.path.name}", "dialogue": {"file": f"truth/{t.truth.name}"}}
            for t in (a, b)
        }
    }
    (root / "ground_truth.json").write_text(json.dumps(truth))
    tl = otio.schema.Timeline(name="cut", global_start_time=otio.opentime.RationalTime(86400, FPS))
    for _ in range(3):
        add_track(tl, "dialogue")
    skip = int(0.25 * SR)
    fa = (sf.info(str(a.path)).frames - skip) // SPF - 6
    fb = (sf.info(str(b.path)).frames - skip) // SPF - 6
    _place(tl, a, 0, skip=skip, frames=fa, missing=set())
    _place(tl, b, fa + 12, skip=skip, frames=fb, missing={2})  # take B's LAV2 file is gone
    original = copy.deepcopy(tl)
    report = clean_dialogue(tl, root / "session" / "dialogue")
    return Shoot(root, tl, original, report, [a, b], [0, fa + 12], skip)


def _render(tl: otio.schema.Timeline, names: list[str]) -> F32:
    probe = otio.schema.Timeline(name="probe", global_start_time=tl.global_start_time)
    by_name = {t.name: t for t in tl.tracks}
    for name in names:
        probe.tracks.append(copy.deepcopy(by_name[name]))
    blocks = list(iter_mix_blocks(plan_timeline(probe), per_track=True))
    return np.concatenate(blocks, axis=1)


def _lag(a: F32, b: F32, span: int = 100) -> int:
    n = len(a)
    c = np.fft.irfft(np.fft.rfft(a, 2 * n) * np.conj(np.fft.rfft(b, 2 * n)), 2 * n)
    lags = np.r_[0 : span + 1, -span:0]
    return int(lags[np.argmax(c[lags])])


def _frame(shoot: Shoot, take: int, file_sample: int) -> int:
    """Record frame (from the session start) where sample ``file_sample`` of take ``take`` plays."""
    return shoot.record_ins[take] + (file_sample - shoot.skip) // SPF


def test_outputs_are_mono_bwf_with_time_reference(shoot: Shoot) -> None:
    done = [c for c in shoot.report.clips if c.output]
    assert len(done) == 5
    for c in done:
        info = sf.info(c.output)
        assert (info.channels, info.samplerate) == (1, SR)
        bwf = read_bwf(c.output)
        assert bwf is not None and bwf.time_reference is not None
        # one second of handle before the clip's first sample (its source starts 0.25 s into the take)
        take = shoot.takes[0] if c.clip.startswith("1A-1") else shoot.takes[1]
        assert bwf.time_reference == take.time_reference
        assert c.hum_hz == (50 if c.mic == "BOOM" else None)
        assert c.noise_floor_after_dbfs is not None and c.noise_floor_before_dbfs is not None
        assert c.noise_floor_after_dbfs < c.noise_floor_before_dbfs


def test_layout_tracks(shoot: Shoot) -> None:
    names = [t.name for t in shoot.session.tracks]
    assert names == ["DX1", "DX FILL", "DX ALT 1", "DX ALT 2", "DX ALT 3", "DX RAW 1", "DX RAW 2", "DX RAW 3"]
    meta = {t.name: t.metadata["posthouse"] for t in shoot.session.tracks}
    for name in names:
        assert meta[name]["stem"] == "dialogue"
        assert bool(meta[name].get("mute")) == (name.startswith("DX ALT") or name.startswith("DX RAW"))
    # the session survives a save and a reload
    path = shoot.root / "session" / "session.otio"
    save_session(shoot.session, path)
    reloaded = load_session(path)
    assert [t.name for t in reloaded.tracks] == names


def test_each_line_on_its_speakers_lav(shoot: Shoot) -> None:
    regions = [r for r in shoot.report.regions if r.speech]
    for take_no, take in enumerate(shoot.takes):
        for who, s, e in take.lines:
            mid = _frame(shoot, take_no, (s + e) // 2)
            hit = [r for r in regions if r.record_in <= mid < r.record_out]
            assert len(hit) == 1, (take.name, who)
            assert hit[0].mic == ("LAV1 MAYA" if who == "MAYA" else "LAV2 THEO"), hit[0].why
            assert "over its room tone" in hit[0].why


def test_cleaned_clips_play_in_sync(shoot: Shoot) -> None:
    mix = _render(shoot.session, ["DX RAW 1", "DX ALT 1", "DX RAW 2", "DX ALT 2", "DX1"])
    raw_boom, alt_boom, raw_lav, alt_lav, dx1 = mix
    assert _lag(alt_boom, raw_boom) == 0
    assert _lag(alt_lav, raw_lav) == 0
    # where DX1 plays MAYA's lav, it is exactly the cleaned lav alternate
    _, s, e = shoot.takes[0].lines[0]
    a, b = _frame(shoot, 0, s) * SPF, _frame(shoot, 0, e) * SPF
    np.testing.assert_allclose(dx1[a:b], alt_lav[a:b], atol=1e-6)


def test_room_tone_fills_the_gap(shoot: Shoot) -> None:
    fill = next(t for t in shoot.session.tracks if t.name == "DX FILL")
    clips = list(fill.find_clips())
    assert len(clips) == 1 and len(shoot.report.fills) == 1
    meta = clips[0].metadata["posthouse"]
    assert meta["fade_in_frames"] == 2 and meta["fade_out_frames"] == 2
    f = shoot.report.fills[0]
    gap_in = shoot.record_ins[1] - 12
    assert (f.record_in, f.record_out) == (gap_in - 2, shoot.record_ins[1] + 2)
    mix = _render(shoot.session, ["DX FILL", "DX1"])
    gap = mix[0, (gap_in + 3) * SPF : (shoot.record_ins[1] - 3) * SPF]
    level = 10 * np.log10(np.mean(gap.astype(np.float64) ** 2))
    # what DX1 plays just before the gap (the mic of the take's last line, in the pause after it)
    quiet = noise_floor_dbfs(mix[1:, (gap_in - 12) * SPF : gap_in * SPF], SR, seconds=0.25)
    assert -100 < level < -40  # room tone, not silence, not speech
    assert abs(level - quiet) < 3.0


def test_bad_input_reported(shoot: Shoot) -> None:
    rep = shoot.report
    assert rep.missing == [
        "DX3 2A-1 LAV2 THEO: file not found: " + str(shoot.takes[1].path.with_name("gone.wav"))
    ]
    assert any("becomes silence" in w for w in rep.warnings)
    clipped = [c for c in rep.clips if c.clipped]
    assert [c.clip for c in clipped] == ["2A-1 BOOM"]
    region = clipped[0].clipped[0]
    assert region.samples == 40
    frame = _frame(shoot, 1, shoot.takes[1].lines[0][1] + 2000)
    _, m, s_, f = region.record_timecode.split(":")
    assert int(f) + FPS * (int(s_) + 60 * int(m)) == frame
    assert region.source_timecode.startswith("01:01:")
    json.dumps(rep.to_dict())  # JSON-able


def test_improvement_against_clean_dialogue(shoot: Shoot) -> None:
    imp = measure_improvement(shoot.session, shoot.root)
    assert [t.take for t in imp.takes] == ["1A-1", "2A-1"]
    assert imp.snr_after_db > imp.snr_before_db + 3.0
    assert imp.segsnr_after_db > imp.segsnr_before_db + 3.0
    assert set(imp.per_track) == {f"DX {k} {n}" for k in ("RAW", "ALT") for n in (1, 2, 3)}
    assert imp.per_track["DX RAW 1"]["snr_db"] == imp.snr_before_db
    # the boom alone is limited by the room's reverb against the dry reference: cleanup (and its
    # leveling) must not make it noticeably worse; the gain comes from the lavs
    assert imp.per_track["DX ALT 1"]["snr_db"] >= imp.per_track["DX RAW 1"]["snr_db"] - 0.5


def test_rerun_starts_from_the_raw_tracks(shoot: Shoot, tmp_path: Path) -> None:
    tl = copy.deepcopy(shoot.session)
    rep = clean_dialogue(tl, tmp_path / "dialogue", target_lufs=-24.0)
    assert [t.name for t in tl.tracks] == [t.name for t in shoot.session.tracks]
    assert [r.mic for r in rep.regions] == [r.mic for r in shoot.report.regions]
    gains = {c.clip + c.mic: c.level_gain_db for c in shoot.report.clips if c.level_gain_db is not None}
    for c in rep.clips:
        if c.level_gain_db is not None:
            assert c.level_gain_db == pytest.approx(gains[c.clip + c.mic] + 3.0, abs=0.2)


def test_44k1_source_is_resampled_in_sync(tmp_path: Path) -> None:
    rng = np.random.default_rng(9)
    line = synth_line_timed("Forty four one.", voice_for("MAYA"), SR, rng)[0]
    dry = np.zeros(3 * SR, np.float32)
    dry[SR : SR + len(line)] = 0.3 * line / np.abs(line).max()
    x48 = dry + broadband_noise(len(dry), rng, -60.0)
    x44 = resample_poly(x48, 147, 160).astype(np.float32)
    tref44 = 3600 * 44100
    path = tmp_path / "sr44.wav"
    write_bwf(path, x44[np.newaxis], 44100, bext=Bext(time_reference=tref44))
    tl = otio.schema.Timeline(name="cut", global_start_time=otio.opentime.RationalTime(86400, FPS))
    track = add_track(tl, "dialogue")
    clip = wav_clip(
        path,
        name="sr44",
        frames=48,
        rate=FPS,
        sample_rate=44100,
        source_start=tref44 + 22050,
        time_reference=tref44,
        file_samples=len(x44),
    )
    place_clip(track, clip, 0, FPS)
    rep = clean_dialogue(tl, tmp_path / "dialogue")
    assert rep.resampled == [str(path)]
    assert any("44100 Hz" in w and "resampled" in w for w in rep.warnings)
    out = rep.clips[0].output
    assert out is not None and sf.info(out).samplerate == SR
    bwf = read_bwf(out)
    assert bwf is not None and bwf.time_reference == HOUR
    # the cleaned 48 kHz clip lines up with the 48 kHz original (within a sample)
    y, _ = sf.read(out, dtype="float32")
    assert abs(_lag(y[: len(x48)], dry[: len(y)], 20)) <= 1
    # and it plays through the engine (the 44.1 kHz original would be silent)
    mix = _render(tl, ["DX1"])
    assert np.abs(mix[0]).max() > 0.05


def test_cli_clean_json(shoot: Shoot, tmp_path: Path) -> None:
    from posthouse.cli.app import app

    path = tmp_path / "session.otio"
    save_session(shoot.original, path)
    res = CliRunner().invoke(app, ["sound", "clean", str(path), "--truth", str(shoot.root), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["improvement"]["snr_after_db"] > data["improvement"]["snr_before_db"]
    assert (tmp_path / "dialogue" / "clean_report.json").exists()
    assert len(list((tmp_path / "dialogue").glob("*.wav"))) == 6  # 5 clips and a fill
    saved = load_session(path)
    assert next(t.name for t in saved.tracks) == "DX1"
    res = CliRunner().invoke(app, ["sound", "clean", str(path)])
    assert res.exit_code == 0 and "DX1" in res.stdout


def test_no_dialogue_tracks(tmp_path: Path) -> None:
    from posthouse.core.errors import UsageError

    tl = otio.schema.Timeline(name="empty", global_start_time=otio.opentime.RationalTime(0, FPS))
    with pytest.raises(UsageError, match="no production dialogue"):
        clean_dialogue(tl, tmp_path)


def test_overlapping_takes_and_a_take_with_every_file_missing(shoot: Shoot, tmp_path: Path) -> None:
    a, b = shoot.takes
    tl = otio.schema.Timeline(name="cut", global_start_time=otio.opentime.RationalTime(86400, FPS))
    for _ in range(3):
        add_track(tl, "dialogue")
    # take B on DX1 only, overlapping take A (an editor's overlap on two tracks); take A everywhere missing
    tracks = list(tl.tracks)
    _place(tl, a, 0, skip=shoot.skip, frames=60, missing={0, 1, 2})
    n = sf.info(str(b.path)).frames
    clip = wav_clip(
        b.path,
        name="2A-1 BOOM",
        frames=60,
        rate=FPS,
        source_start=b.time_reference + shoot.skip,
        time_reference=b.time_reference,
        file_samples=n,
        channel=0,
        metadata={"link": "2A-1/A001"},
    )
    place_clip(tracks[1], clip, 90, FPS)
    other = wav_clip(
        a.path,
        name="1A-1 BOOM",
        frames=40,
        rate=FPS,
        source_start=a.time_reference + shoot.skip,
        time_reference=a.time_reference,
        file_samples=sf.info(str(a.path)).frames,
        channel=0,
        metadata={"link": "1A-1/B"},
    )
    place_clip(tracks[2], other, 100, FPS)  # overlaps take B on another track, another link
    rep = clean_dialogue(tl, tmp_path / "dialogue")
    assert len(rep.missing) == 3
    silent = [r for r in rep.regions if r.mic is None]
    assert [(r.record_in, r.record_out) for r in silent] == [(0, 60)]
    assert "missing" in silent[0].why
    names = [t.name for t in tl.tracks]
    assert names[:3] == ["DX1", "DX1B", "DX FILL"]
    lanes = {t.name: [c.name for c in t.find_clips()] for t in tl.tracks if t.name.startswith("DX1")}
    assert lanes == {"DX1": ["2A-1 BOOM"], "DX1B": ["1A-1 BOOM"]}
    # the gap between the silent take and take B gets room tone (fading in under the silent take's end)
    assert [(f.record_in, f.record_out) for f in rep.fills] == [(58, 92)]
