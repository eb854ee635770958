"""The synthetic shoot: probe reads back everything it wrote, the faults are there, the truth is true."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from posthouse.core.errors import UsageError
from posthouse.core.jobs import LocalExecutor, SerialExecutor
from posthouse.core.media import probe, read_audio
from posthouse.core.time import Rate, Timecode
from posthouse.demo.shoot import ShootSpec, generate_shoot

SPEC = ShootSpec(scenes=2, takes=2, cameras=("A", "B"), size="small", seed=7)


@pytest.fixture(scope="module")
def shoot(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:  # type: ignore[type-arg]
    root = tmp_path_factory.mktemp("shoot")
    with LocalExecutor(2) as ex:
        generate_shoot(root, SPEC, executor=ex)
    return root, json.loads((root / "ground_truth.json").read_text())


def _phat_lag(ref: np.ndarray, sig: np.ndarray) -> int:
    """Lag of ``ref`` inside ``sig`` by GCC-PHAT (an independent check of the truth)."""
    n = 1 << int(np.ceil(np.log2(len(ref) + len(sig))))
    x = np.fft.rfft(sig, n) * np.conj(np.fft.rfft(ref, n))
    r = np.fft.irfft(x / (np.abs(x) + 1e-12), n)
    lag = int(np.argmax(r))
    return lag if lag < n // 2 else lag - n


def test_layout_and_files(shoot) -> None:
    root, truth = shoot
    for name in ("script.fountain", "script.json", "reports/camera_report.csv", "reports/sound_report.csv"):
        assert (root / name).is_file(), name
    assert len(truth["takes"]) == 4
    assert sorted(truth["takes"]) == ["1A-1", "1A-2", "2A-1", "2A-2"]
    assert sum(t["circled"] for t in truth["takes"].values()) == 2  # one circled take per scene
    assert "INT. EDIT SUITE - NIGHT #1#" in (root / "script.fountain").read_text()


def test_probe_reads_back_camera_metadata(shoot) -> None:
    root, truth = shoot
    for take in truth["takes"].values():
        for clip_name, clip in take["clips"].items():
            info = probe(root / clip["path"])
            if clip["truncated"]:
                assert info.damaged and any("moov" in p for p in info.problems)
                continue
            assert not info.damaged, info.problems
            assert info.start_timecode == clip["start_timecode"]
            assert info.reel == clip["reel"]
            assert (info.tags["scene"], info.tags["take"]) == (take["scene"], str(take["take_number"]))
            assert info.tags["camera"] == clip["camera"]
            v = info.video[0]
            assert (v.width, v.height, v.frames) == (640, 360, clip["frames"])
            assert v.rate == Rate.parse("23.976").fps
            assert v.codec == ("prores" if clip["camera"] == "A" else "dnxhd")
            assert bool(info.audio) == clip["scratch_audio"], clip_name


def test_probe_reads_back_sound_metadata(shoot) -> None:
    root, truth = shoot
    rate = Rate.parse("23.976")
    for take in truth["takes"].values():
        info = probe(root / take["sound_file"])
        assert not info.damaged
        a = info.audio[0]
        assert (a.channels, a.sample_rate, a.bit_depth, a.samples) == (3, 48000, 24, take["sound_samples"])
        bwf = info.bwf
        assert bwf is not None
        assert (bwf.scene, bwf.take, bwf.tape, bwf.circled) == (
            take["scene"],
            str(take["take_number"]),
            "R001",
            take["circled"],
        )
        assert bwf.track_names[0] == "BOOM" and bwf.track_names[1].startswith("LAV1")
        assert bwf.time_reference == take["time_reference"]
        assert info.start_timecode == str(Timecode.from_samples(take["time_reference"], 48000, rate))


def test_planted_faults(shoot) -> None:
    _, truth = shoot
    kinds = {f["kind"] for f in truth["faults"]}
    assert kinds == {"truncated_camera_file", "no_scratch_audio", "wrong_sound_timecode"}
    wrong = next(f for f in truth["faults"] if f["kind"] == "wrong_sound_timecode")
    take = truth["takes"][wrong["take"]]
    # Timecode sync would be off by hours on that take, and by under a frame and a half elsewhere.
    assert abs(take["timecode_sync_error_samples"]) > 3600 * 48000
    others = [t for t in truth["takes"].values() if t["take"] != wrong["take"]]
    assert all(abs(t["timecode_sync_error_samples"]) < 1.5 * 2002 for t in others)
    assert any(t["offset_samples"] < 0 for t in truth["takes"].values())  # sound rolled late once


def test_sync_truth_matches_the_recordings(shoot) -> None:
    root, truth = shoot
    checked = 0
    for take in truth["takes"].values():
        sound, _ = read_audio(root / take["sound_file"])
        for clip in take["clips"].values():
            if clip["truncated"] or not clip["scratch_audio"]:
                continue
            scratch, _ = read_audio(root / clip["path"])
            lag = _phat_lag(scratch[0], sound[0])
            assert abs(lag - clip["offset_samples"]) <= 2, (clip["path"], lag, clip["offset_samples"])
            checked += 1
        # The clap: the sound file's boom peaks at the truth's clap sample.
        c = take["clap"]["sound_sample"]
        window = np.abs(sound[0, c - 480 : c + 480])
        assert abs(int(np.argmax(window)) - 480) < 48
    assert checked >= 5


def test_clean_dialogue_lies_under_the_boom(shoot) -> None:
    root, truth = shoot
    take = truth["takes"]["1A-1"]
    clean, _ = read_audio(root / take["dialogue"]["file"])
    sound, _ = read_audio(root / take["sound_file"])
    assert clean.shape[1] == sound.shape[1]
    line = take["dialogue"]["lines"][0]
    seg = slice(line["start_sample"], line["end_sample"])
    speaking = np.sqrt(np.mean(clean[:, seg] ** 2))
    assert speaking > 0.01
    corr = np.corrcoef(clean[:, seg].sum(0), sound[0, seg])[0, 1]
    assert corr > 0.5  # the boom carries that very dialogue, noisy


def test_reports_agree_with_the_files(shoot) -> None:
    root, truth = shoot
    rows = list(csv.DictReader((root / "reports/camera_report.csv").open()))
    assert len(rows) == 8
    for row in rows:
        clip = truth["takes"][f"{row['Scene']}-{row['Take']}"]["clips"][row["Clip"]]
        assert row["Start TC"] == clip["start_timecode"]
    sound_rows = list(csv.DictReader((root / "reports/sound_report.csv").open()))
    assert {r["File"] for r in sound_rows} == {Path(t["sound_file"]).name for t in truth["takes"].values()}


def test_deterministic_for_a_seed(tmp_path: Path) -> None:
    spec = ShootSpec(scenes=1, takes=1, size="small", seed=3, faults=False)
    a = generate_shoot(tmp_path / "a", spec, executor=SerialExecutor())
    b = generate_shoot(tmp_path / "b", spec, executor=SerialExecutor())
    ta = json.dumps(a.truth["takes"], sort_keys=True)
    assert ta == json.dumps(b.truth["takes"], sort_keys=True)
    wav = next(iter(a.truth["takes"].values()))["sound_file"]
    assert (tmp_path / "a" / wav).read_bytes() == (tmp_path / "b" / wav).read_bytes()
    c = generate_shoot(
        tmp_path / "c", ShootSpec(scenes=1, takes=1, seed=4, faults=False), executor=SerialExecutor()
    )
    assert json.dumps(c.truth["takes"], sort_keys=True) != ta


def test_bad_spec_and_non_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="--size"):
        generate_shoot(tmp_path / "x", ShootSpec(size="imax"))
    with pytest.raises(UsageError, match="cameras"):
        generate_shoot(tmp_path / "x", ShootSpec(cameras=("A", "A")))
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    with pytest.raises(UsageError, match="not empty"):
        generate_shoot(tmp_path / "full", ShootSpec())
    assert (tmp_path / "full" / "keep.txt").read_text() == "mine"
