"""The archive: collects what a cut needs, copies with verification, resumes, verifies, restores."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import opentimelineio as otio
import pytest
import soundfile as sf
import typer
import xxhash
from typer.testing import CliRunner

import posthouse.finish.archive as archive_module
from posthouse.cli import deliver_archive
from posthouse.core.errors import MediaError
from posthouse.core.media import VideoWriter
from posthouse.core.mhl import History, parse_hashlist
from posthouse.core.project import Project
from posthouse.finish.archive import create_archive, restore_archive, verify_archive
from posthouse.picture.cuts import CutStore


def _xxh(path: Path) -> str:
    return xxhash.xxh64(path.read_bytes()).hexdigest()


def _movie(path: Path, reel: str, tc: str, frames: int = 12) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with VideoWriter(
        path, width=64, height=36, rate=Fraction(24), preset="prores-proxy", start_timecode=tc, reel=reel
    ) as vw:
        for i in range(frames):
            vw.write_frame(np.full((36, 64, 3), 15 * i, np.uint8))
    return path


def _clip(
    path: Path, start_tc_frames: int, frames: int, in_offset: int, dur: int, reel: str
) -> otio.schema.Clip:
    ref = otio.schema.ExternalReference(
        target_url=path.resolve().as_uri(),
        available_range=otio.opentime.TimeRange(
            otio.opentime.RationalTime(start_tc_frames, 24), otio.opentime.RationalTime(frames, 24)
        ),
    )
    return otio.schema.Clip(
        name=path.stem,
        media_reference=ref,
        source_range=otio.opentime.TimeRange(
            otio.opentime.RationalTime(start_tc_frames + in_offset, 24), otio.opentime.RationalTime(dur, 24)
        ),
        metadata={"posthouse": {"reel": reel}},
    )


@pytest.fixture()
def project(tmp_path: Path) -> dict[str, Any]:
    proj = Project.init(tmp_path / "film", fps="24")
    root = proj.root
    tc_a = 10 * 3600 * 24
    tc_b = 11 * 3600 * 24
    a = _movie(root / "media" / "day01" / "A001" / "A001C001.mov", "A001", "10:00:00:00")
    b = _movie(tmp_path / "elsewhere" / "B001" / "B001C002.mov", "B001", "11:00:00:00")
    unused = _movie(root / "media" / "day01" / "A001" / "A001C009.mov", "A001", "12:00:00:00", frames=4)
    tl = otio.schema.Timeline(name="film")
    tl.global_start_time = otio.opentime.RationalTime(86400, 24)
    track = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    track.append(_clip(a, tc_a, 12, 4, 4, "A001"))
    track.append(_clip(b, tc_b, 12, 2, 6, "B001"))
    tl.tracks.append(track)
    ref = CutStore(root / "cuts").save("film", tl, message="locked")
    assert ref.version == 1
    tag = "film_v001"
    (root / "locks").mkdir(exist_ok=True)
    (root / "locks" / f"{tag}.lock.json").write_text('{"locked": true}')
    turnover = root / "turnovers" / tag
    turnover.mkdir(parents=True)
    (turnover / f"{tag}_V1.edl").write_text("TITLE: film\n")
    mix = root / "sound" / tag / "mix"
    mix.mkdir(parents=True)
    sf.write(mix / "printmaster.wav", np.zeros((4800, 2), np.float32), 48000, subtype="PCM_24")
    score = root / "score" / tag
    score.mkdir(parents=True)
    sf.write(score / "music_stem.wav", np.full((4800, 2), 0.1, np.float32), 48000, subtype="PCM_24")
    (root / "deliver").mkdir(exist_ok=True)
    (root / "deliver" / "film_stereo.wav").write_bytes(b"RIFF-fake-deliverable")
    return {"root": root, "a": a, "b": b, "unused": unused, "tmp": tmp_path}


def test_archive_collects_verifies_and_catches_a_changed_byte(project: dict[str, Any]) -> None:
    root: Path = project["root"]
    dest: Path = project["tmp"] / "vault"
    report = create_archive(root, "film", 1, dest, handles=2)
    pkg = report.root
    assert pkg == dest / "film_v001_archive"
    manifest = json.loads((pkg / "archive.json").read_text())
    by_path = {f["path"]: f for f in manifest["files"]}
    # the originals used, not the unused one; the external one under originals/external/
    assert "originals/media/day01/A001/A001C001.mov" in by_path
    assert "originals/external/B001/B001C002.mov" in by_path
    assert not any("A001C009" in p for p in by_path)
    for rel in (
        "editorial/cuts/film/v001.otio",
        "editorial/locks/film_v001.lock.json",
        "editorial/turnover/film_v001/film_v001_V1.edl",
        "sound/film_v001/mix/printmaster.wav",
        "score/film_v001/music_stem.wav",
        "deliver/film_stereo.wav",
        "project/posthouse.toml",
    ):
        assert rel in by_path, rel
        assert by_path[rel]["xxh64"] == _xxh(pkg / rel)
        assert by_path[rel]["size"] == (pkg / rel).stat().st_size
    assert by_path["sound/film_v001/mix/printmaster.wav"]["role"] == "sound"
    assert by_path["originals/external/B001/B001C002.mov"]["role"] == "camera-original"
    # used ranges with handles (2 frames each side, clamped to the file)
    used = {Path(o["path"]).name: o for o in manifest["originals"]}
    tc_a = 10 * 3600 * 24
    assert used["A001C001.mov"]["ranges"] == [[tc_a + 2, tc_a + 10]]
    assert used["A001C001.mov"]["timecodes"] == [["10:00:00:02", "10:00:00:10"]]
    assert used["B001C002.mov"]["ranges"] == [[11 * 3600 * 24, 11 * 3600 * 24 + 10]]
    # the copy is byte-identical, the originals are untouched
    assert _xxh(pkg / "originals/media/day01/A001/A001C001.mov") == _xxh(project["a"])
    # the MHL: a chain and one generation listing every file with its xxh64; README describes the files
    history = History.load(pkg)
    assert not history.problems and len(history.generations) == 1
    hashes = {m.path: m.get("xxh64") for m in parse_hashlist(history.generations[0].path).hashes}
    assert set(by_path) <= set(hashes) and {"archive.json", "README.txt"} <= set(hashes)
    assert all(h is not None and h.value == by_path[p]["xxh64"] for p, h in hashes.items() if p in by_path)
    assert "sound/film_v001/mix/printmaster.wav" in (pkg / "README.txt").read_text()

    ok = verify_archive(pkg)
    assert ok.ok and not ok.changed and not ok.missing and not ok.extra

    # one changed byte is caught, and named
    victim = pkg / "score/film_v001/music_stem.wav"
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0x01
    victim.write_bytes(bytes(data))
    bad = verify_archive(pkg)
    assert not bad.ok and bad.changed == ["score/film_v001/music_stem.wav"] and not bad.missing
    # a deleted file is missing; a stray file is extra
    (pkg / "editorial/locks/film_v001.lock.json").unlink()
    (pkg / "stray.txt").write_text("not archived")
    worse = verify_archive(pkg).to_dict()
    assert worse["missing"] == ["editorial/locks/film_v001.lock.json"]
    assert worse["extra"] == ["stray.txt"]
    assert worse["changed"] == ["score/film_v001/music_stem.wav"]
    # a damaged archive is not restored
    with pytest.raises(MediaError, match="does not verify"):
        restore_archive(pkg, project["tmp"] / "restored")


def test_resume_skips_verified_files_and_restore_gives_identical_files(
    project: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    root: Path = project["root"]
    dest: Path = project["tmp"] / "vault"
    first = create_archive(root, "film", 1, dest)
    assert first.copied == len(first.files) and first.skipped == 0

    copies: list[Path] = []
    real = archive_module._copy_verified

    def counting(src: Path, target: Path) -> tuple[str, int]:
        copies.append(src)
        return real(src, target)

    monkeypatch.setattr(archive_module, "_copy_verified", counting)
    # a file lost from the package (an interrupted copy) and a changed source are copied again; the rest skip
    (first.root / "deliver/film_stereo.wav").unlink()
    mix = root / "sound/film_v001/mix/printmaster.wav"
    sf.write(mix, np.full((4800, 2), 0.2, np.float32), 48000, subtype="PCM_24")
    again = create_archive(root, "film", 1, dest)
    assert sorted(p.name for p in copies) == ["film_stereo.wav", "printmaster.wav"]
    assert again.skipped == len(again.files) - 2
    assert len(History.load(again.root).generations) == 2
    assert verify_archive(again.root).ok

    out = project["tmp"] / "restored"
    restored = restore_archive(again.root, out)
    assert restored.ok and len(restored.restored) == len(again.files)
    manifest = json.loads((again.root / "archive.json").read_text())
    for entry in manifest["files"]:
        source = Path(entry["source"])
        assert _xxh(out / entry["project_path"]) == _xxh(source) == entry["xxh64"]
    assert (out / "media/day01/A001/A001C001.mov").is_file()
    assert (out / "originals/external/B001/B001C002.mov").is_file()
    assert (out / "cuts/film/v001.otio").is_file()
    with pytest.raises(Exception, match="overwrite"):
        restore_archive(again.root, out)


def test_missing_original_is_reported(project: dict[str, Any]) -> None:
    shutil.move(project["b"], project["b"].with_suffix(".moved"))
    with pytest.raises(MediaError, match="missing") as info:
        create_archive(project["root"], "film", 1, project["tmp"] / "vault")
    assert "B001C002.mov" in str(info.value)


def test_cli_create_verify_restore(project: dict[str, Any]) -> None:
    app = typer.Typer()
    app.add_typer(deliver_archive.app, name="archive")
    runner = CliRunner()
    root: Path = project["root"]
    dest = project["tmp"] / "vault"
    res = runner.invoke(app, ["archive", "create", "film@v1", "--dest", str(dest), "--json", "-p", str(root)])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    pkg = Path(data["archive"])
    assert data["roles"]["camera-original"] == 2
    res = runner.invoke(app, ["archive", "verify", str(pkg), "--json"])
    assert res.exit_code == 0 and json.loads(res.output)["ok"] is True
    res = runner.invoke(app, ["archive", "restore", str(pkg), "--dest", str(project["tmp"] / "r"), "--json"])
    assert res.exit_code == 0 and json.loads(res.output)["ok"] is True
    victim = pkg / "deliver/film_stereo.wav"
    victim.write_bytes(victim.read_bytes()[:-1] + b"X")
    res = runner.invoke(app, ["archive", "verify", str(pkg), "--json"])
    assert res.exit_code == 1
    assert json.loads(res.output)["changed"] == ["deliver/film_stereo.wav"]


def _ascmhl_debug() -> str | None:
    """The `ascmhl` reference implementation's verifier, when installed (e.g. ASCMHL_BIN=/path/to/bin)."""
    folder = os.environ.get("ASCMHL_BIN")
    return shutil.which("ascmhl-debug", path=folder) if folder else shutil.which("ascmhl-debug")


@pytest.mark.skipif(_ascmhl_debug() is None, reason="the ascmhl reference implementation is not installed")
def test_the_reference_implementation_verifies_the_archive(project: dict[str, Any]) -> None:
    tool = _ascmhl_debug()
    assert tool is not None
    pkg = create_archive(project["root"], "film", 1, project["tmp"] / "vault").root
    done = subprocess.run([tool, "verify", str(pkg)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    victim = pkg / "originals/media/day01/A001/A001C001.mov"
    with open(victim, "r+b") as fh:
        fh.seek(500)
        byte = fh.read(1)
        fh.seek(500)
        fh.write(bytes([byte[0] ^ 0xFF]))
    done = subprocess.run([tool, "verify", str(pkg)], capture_output=True, text=True)
    assert done.returncode != 0 and "hash mismatch" in done.stdout + done.stderr
