"""Verified offload and re-verification: structure, untouched sources, resume, conflicts, MHL, CLI."""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import typer
import xxhash
from typer.testing import CliRunner

from posthouse.cli.ingest import ingest as ingest_command
from posthouse.cli.ingest import verify as verify_command
from posthouse.core.errors import UsageError
from posthouse.core.progress import Cancelled, CancelToken
from posthouse.picture import offload as offload_module
from posthouse.picture.mhl import History, parse_hashlist
from posthouse.picture.offload import PARTIAL_SUFFIX, offload, verify

CARDS = ("A001", "B001", "R001")
MEDIA = {  # what lands at the destination, relative to DEST
    "A001/CLIPS/A001C001.mov",
    "A001/CLIPS/A001C001.xml",
    "A001/CLIPS/A001C002.mov",
    "A001/CLIPS/PROXY/A001C001_proxy.mp4",
    "B001/CLIPS/A001C001.mov",
    "R001/1A-1.wav",
}


def _write(path: Path, size: int, seed: int, mtime: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(random.Random(seed).randbytes(size))
    os.utime(path, (mtime, mtime))


@pytest.fixture
def shoot(tmp_path: Path) -> Path:
    """Two camera cards (the same clip name on both), a sound roll, sidecars and OS litter."""
    src = tmp_path / "shoot"
    t = 1_700_000_000
    _write(src / "A001/CLIPS/A001C001.mov", 300_000, 1, t)
    _write(src / "A001/CLIPS/A001C002.mov", 200_000, 2, t + 1)
    _write(src / "A001/CLIPS/A001C001.xml", 700, 3, t + 2)
    _write(src / "A001/CLIPS/PROXY/A001C001_proxy.mp4", 100_000, 4, t + 3)
    _write(src / "B001/CLIPS/A001C001.mov", 250_000, 5, t + 4)
    _write(src / "R001/1A-1.wav", 150_000, 6, t + 5)
    _write(src / "A001/.DS_Store", 10, 7, t)
    _write(src / "A001/CLIPS/._A001C001.mov", 10, 8, t)
    _write(src / "A001/.Spotlight-V100/Store-V2/store.db", 10, 9, t)
    return src


def _sources(shoot: Path) -> list[Path]:
    return [shoot / c for c in CARDS]


def _snapshot(root: Path) -> dict[str, tuple[str, int, int]]:
    out = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        digest = hashlib.sha1(path.read_bytes()).hexdigest() if path.is_file() else "dir"
        out[path.relative_to(root).as_posix()] = (digest, st.st_size if path.is_file() else 0, st.st_mtime_ns)
    return out


def _files(root: Path) -> set[str]:
    return {
        p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and "ascmhl" not in p.parts
    }


def test_offload_copies_verified_with_structure_mtimes_and_mhl(shoot: Path, tmp_path: Path) -> None:
    dest = tmp_path / "raid"
    report = offload(_sources(shoot), dest)
    assert report.ok, report.to_dict()
    assert {p.relative_to(dest).as_posix() for p in report.copied} == MEDIA
    assert report.files == report.copied and report.skipped == []
    assert _files(dest) == MEDIA  # OS litter skipped, no partial files left
    for rel in MEDIA:
        src, dst = shoot / rel, dest / rel
        assert dst.read_bytes() == src.read_bytes()
        assert dst.stat().st_mtime_ns == src.stat().st_mtime_ns
    assert (dest / "A001/CLIPS/A001C001.mov").read_bytes() != (dest / "B001/CLIPS/A001C001.mov").read_bytes()
    assert report.bytes_copied == sum((shoot / rel).stat().st_size for rel in MEDIA)
    # one generation per card, the card root being the MHL root
    assert [p.parent.parent.name for p in report.mhl] == list(CARDS)
    hl = parse_hashlist(report.mhl[0])
    assert report.mhl[0].name.startswith("0001_A001_") and hl.process == "transfer"
    by_path = {m.path: m for m in hl.hashes}
    assert set(by_path) == {
        "CLIPS/A001C001.mov",
        "CLIPS/A001C001.xml",
        "CLIPS/A001C002.mov",
        "CLIPS/PROXY/A001C001_proxy.mp4",
    }
    media = by_path["CLIPS/A001C001.mov"]
    entry = media.get("xxh64")
    assert entry is not None and entry.action == "original"
    assert entry.value == xxhash.xxh64((shoot / "A001/CLIPS/A001C001.mov").read_bytes()).hexdigest()
    assert media.size == 300_000 and media.last_modified is not None
    assert int(media.last_modified.timestamp()) == 1_700_000_000


def test_the_source_is_never_written(shoot: Path, tmp_path: Path) -> None:
    before = _snapshot(shoot)
    dest = tmp_path / "raid"
    offload(_sources(shoot), dest)
    (dest / "A001/CLIPS/A001C002.mov").unlink()
    offload(_sources(shoot), dest)  # a re-run, with a copy and skips
    verify(dest / "A001")
    assert _snapshot(shoot) == before  # same files, bytes, sizes and modification times; nothing added


def test_verify_detects_one_changed_byte_missing_and_new_files(shoot: Path, tmp_path: Path) -> None:
    dest = tmp_path / "raid"
    offload(_sources(shoot), dest)
    card = dest / "A001"
    first = sorted((card / "ascmhl").glob("0001_*.mhl"))[0]
    first_bytes = first.read_bytes()
    clip = card / "CLIPS/A001C002.mov"
    st = clip.stat()
    with open(clip, "r+b") as fh:  # one byte, same size, modification time put back
        fh.seek(123_456)
        b = fh.read(1)
        fh.seek(123_456)
        fh.write(bytes([b[0] ^ 0x01]))
    os.utime(clip, ns=(st.st_atime_ns, st.st_mtime_ns))
    (card / "CLIPS/PROXY/A001C001_proxy.mp4").unlink()
    (card / "CLIPS/A001C003.mov").write_bytes(b"shot later")
    report = verify(card)
    assert not report.ok
    assert list(report.changed) == ["CLIPS/A001C002.mov"] and "xxh64" in report.changed["CLIPS/A001C002.mov"]
    assert report.missing == ["CLIPS/PROXY/A001C001_proxy.mp4"]
    assert report.new == ["CLIPS/A001C003.mov"]
    assert report.verified == ["CLIPS/A001C001.mov", "CLIPS/A001C001.xml"]
    assert report.mhl is not None and report.mhl.name.startswith("0002_A001_")
    assert first.read_bytes() == first_bytes  # earlier generations are never rewritten
    actions = {m.path: m.hashes[0].action for m in parse_hashlist(report.mhl).hashes}
    assert actions == {
        "CLIPS/A001C001.mov": "verified",
        "CLIPS/A001C001.xml": "verified",
        "CLIPS/A001C002.mov": "failed",
        "CLIPS/A001C003.mov": "original",
    }
    again = verify(card)  # still compared with the last good hash; the new file is now known
    assert list(again.changed) == ["CLIPS/A001C002.mov"] and again.new == []
    assert "CLIPS/A001C003.mov" in again.verified
    assert [g.number for g in History.load(card).generations] == [1, 2, 3]
    assert verify(dest / "B001").ok


def test_verify_reports_an_altered_manifest(shoot: Path, tmp_path: Path) -> None:
    dest = tmp_path / "raid"
    report = offload([shoot / "R001"], dest)
    gen = report.mhl[0]
    gen.write_text(gen.read_text().replace("<hostname>", "<hostname>x"))
    result = verify(dest / "R001")
    assert not result.ok and "modified after it was written" in result.problems[0]


def test_rerun_after_a_kill_copies_only_what_is_missing(
    shoot: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dest = tmp_path / "raid"
    offload(_sources(shoot), dest)
    # the kill: one clip never arrived, another was half-written under its temporary name
    (dest / "A001/CLIPS/A001C002.mov").unlink()
    partial = dest / "B001/CLIPS" / f".A001C001.mov{PARTIAL_SUFFIX}"
    (dest / "B001/CLIPS/A001C001.mov").rename(partial)
    with open(partial, "r+b") as fh:
        fh.truncate(100_000)
    hashed: list[Path] = []
    real = offload_module._hash_path

    def counting(path: Path, *args: Any) -> dict[str, str]:
        hashed.append(path)
        return real(path, *args)

    monkeypatch.setattr(offload_module, "_hash_path", counting)
    report = offload(_sources(shoot), dest)
    assert report.ok
    assert sorted(p.relative_to(dest).as_posix() for p in report.copied) == [
        "A001/CLIPS/A001C002.mov",
        "B001/CLIPS/A001C001.mov",
    ]
    assert len(report.skipped) == 4 and hashed == []  # skipped as recorded in the MHL: not even read
    assert report.cleaned == [partial] and not partial.exists()
    assert set(map(str, report.files)) == {str(dest / rel) for rel in MEDIA}
    assert _files(dest) == MEDIA
    assert (dest / "B001/CLIPS/A001C001.mov").read_bytes() == (shoot / "B001/CLIPS/A001C001.mov").read_bytes()
    assert [p.name[:4] for p in report.mhl] == ["0002", "0002"]  # A001 and B001 gained a generation
    assert [m.path for m in parse_hashlist(report.mhl[0]).hashes] == ["CLIPS/A001C002.mov"]
    assert all(verify(dest / c).ok for c in CARDS)


def test_rerun_without_a_history_compares_hashes(shoot: Path, tmp_path: Path) -> None:
    dest = tmp_path / "raid"
    offload([shoot / "A001"], dest)
    shutil.rmtree(dest / "A001/ascmhl")
    report = offload([shoot / "A001"], dest)
    assert report.ok and report.copied == [] and len(report.skipped) == 4
    assert len(parse_hashlist(report.mhl[0]).hashes) == 4  # identical by hash, so recorded again
    assert verify(dest / "A001").ok


def test_a_different_file_in_the_way_is_a_conflict(shoot: Path, tmp_path: Path) -> None:
    dest = tmp_path / "raid"
    same_size = dest / "A001/CLIPS/A001C001.mov"
    other_size = dest / "R001/1A-1.wav"
    _write(same_size, 300_000, 99, 1_600_000_000)
    _write(other_size, 10, 98, 1_600_000_000)
    before = same_size.read_bytes()
    report = offload(_sources(shoot), dest)
    assert not report.ok
    assert set(report.conflicts) == {str(same_size), str(other_size)}
    assert "xxh64 differs" in report.conflicts[str(same_size)]
    assert "10 bytes" in report.conflicts[str(other_size)]
    assert same_size.read_bytes() == before
    assert len(report.copied) == len(MEDIA) - 2  # the rest proceeded


def test_md5_and_sha1_on_request(shoot: Path, tmp_path: Path) -> None:
    report = offload([shoot / "R001"], tmp_path / "raid", algorithms=("xxh64", "md5", "sha1"))
    media = parse_hashlist(report.mhl[0]).hashes[0]
    data = (shoot / "R001/1A-1.wav").read_bytes()
    assert {h.format: h.value for h in media.hashes} == {
        "xxh64": xxhash.xxh64(data).hexdigest(),
        "md5": hashlib.md5(data).hexdigest(),
        "sha1": hashlib.sha1(data).hexdigest(),
    }
    assert verify(tmp_path / "raid/R001").ok


def test_an_unreadable_file_does_not_sink_the_batch(
    shoot: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = shoot / "A001/CLIPS/A001C002.mov"
    real = offload_module._open_source

    def flaky(path: Path) -> int:
        if path == bad:
            raise OSError(5, "Input/output error", str(path))
        return real(path)

    monkeypatch.setattr(offload_module, "_open_source", flaky)
    dest = tmp_path / "raid"
    report = offload(_sources(shoot), dest)
    assert list(report.failed) == [str(bad)] and "Input/output error" in report.failed[str(bad)]
    assert len(report.copied) == len(MEDIA) - 1 and _files(dest) == MEDIA - {"A001/CLIPS/A001C002.mov"}


def test_a_bad_write_is_caught_by_the_read_back(
    shoot: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = offload_module._write_all

    def corrupting(fd: int, data: bytes) -> None:
        real(fd, data[:-1] + bytes([data[-1] ^ 0xFF]))

    monkeypatch.setattr(offload_module, "_write_all", corrupting)
    dest = tmp_path / "raid"
    report = offload([shoot / "R001"], dest)
    message = report.failed[str(shoot / "R001/1A-1.wav")]
    assert "does not match the source" in message
    assert not (dest / "R001/1A-1.wav").exists() and list((dest / "R001").iterdir()) == []


def test_cancel_leaves_no_partial_files_and_a_rerun_finishes(shoot: Path, tmp_path: Path) -> None:
    token = CancelToken()

    class CancelAfterFirstChunk:
        def start(self, label: str, total: int | None) -> None:
            pass

        def advance(self, n: int = 1) -> None:
            token.cancel()

        def finish(self) -> None:
            pass

    dest = tmp_path / "raid"
    with pytest.raises(Cancelled):
        offload(_sources(shoot), dest, progress=CancelAfterFirstChunk(), cancel=token)
    assert not [p for p in dest.rglob("*") if p.name.endswith(PARTIAL_SUFFIX)]
    report = offload(_sources(shoot), dest)
    assert report.ok and _files(dest) == MEDIA


def test_single_files_land_at_the_destination_root(shoot: Path, tmp_path: Path) -> None:
    dest = tmp_path / "raid"
    report = offload([shoot / "R001/1A-1.wav", shoot / "A001/CLIPS/A001C001.xml"], dest)
    assert report.ok and sorted(p.name for p in report.files) == ["1A-1.wav", "A001C001.xml"]
    assert (dest / "1A-1.wav").is_file() and report.mhl[0].parent == dest / "ascmhl"
    assert verify(dest).ok


def test_usage_errors(shoot: Path, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file"):
        offload([shoot / "Z999"], tmp_path / "raid")
    with pytest.raises(UsageError, match="inside this source"):
        offload([shoot / "A001"], shoot / "A001/backup")
    twin = tmp_path / "elsewhere/A001"
    twin.mkdir(parents=True)
    with pytest.raises(UsageError, match="would both land"):
        offload([shoot / "A001", twin], tmp_path / "raid")
    with pytest.raises(UsageError, match="unknown hash"):
        offload([shoot / "A001"], tmp_path / "raid", algorithms=("crc32",))
    with pytest.raises(UsageError, match="no ASC MHL history"):
        verify(shoot / "A001")


def _ascmhl_debug() -> str | None:
    """The `ascmhl` reference implementation's verifier, when installed (e.g. ASCMHL_BIN=/path/to/bin)."""
    folder = os.environ.get("ASCMHL_BIN")
    found = shutil.which("ascmhl-debug", path=folder) if folder else shutil.which("ascmhl-debug")
    return found


@pytest.mark.skipif(_ascmhl_debug() is None, reason="the ascmhl reference implementation is not installed")
def test_the_reference_implementation_verifies_our_mhl(shoot: Path, tmp_path: Path) -> None:
    tool = _ascmhl_debug()
    assert tool is not None
    dest = tmp_path / "raid"
    offload(_sources(shoot), dest, algorithms=("xxh64", "md5"))
    verify(dest / "A001")  # a second generation, in-place
    for card in CARDS:
        done = subprocess.run([tool, "verify", str(dest / card)], capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
    with open(dest / "B001/CLIPS/A001C001.mov", "r+b") as fh:
        fh.seek(1000)
        fh.write(b"\x00")
    done = subprocess.run([tool, "verify", str(dest / "B001")], capture_output=True, text=True)
    assert done.returncode != 0 and "hash mismatch" in done.stdout + done.stderr


# --- the CLI, on a small app of its own ----------------------------------------------------------------

cli = typer.Typer()
cli.command("ingest")(ingest_command)
cli.command("verify")(verify_command)
runner = CliRunner()


def test_cli_exit_codes(shoot: Path, tmp_path: Path) -> None:
    dest = tmp_path / "raid"
    result = runner.invoke(
        cli, ["ingest", str(shoot / "A001"), str(shoot / "R001"), "--dest", str(dest), "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["ok"] and len(data["files"]) == 5 and len(data["mhl"]) == 2
    result = runner.invoke(cli, ["ingest", str(shoot / "A001"), "--dest", str(dest), "--hash", "md5,sha1"])
    assert result.exit_code == 0 and "4 already there" in result.stdout
    _write(dest / "B001/CLIPS/A001C001.mov", 5, 1, 1_600_000_000)
    result = runner.invoke(cli, ["ingest", str(shoot / "B001"), "--dest", str(dest)])
    assert result.exit_code == 1 and "conflict" in result.stdout
    result = runner.invoke(cli, ["ingest", str(shoot / "A001"), "--dest", str(dest), "--hash", "crc32"])
    assert result.exit_code == 2 and "crc32" in result.output
    result = runner.invoke(cli, ["ingest", str(shoot / "nope"), "--dest", str(dest)])
    assert result.exit_code == 2 and "nope" in result.output

    result = runner.invoke(cli, ["verify", str(dest / "A001"), "--json"])
    assert result.exit_code == 0, result.output
    assert [r["ok"] for r in json.loads(result.stdout)] == [True]
    (dest / "R001/1A-1.wav").write_bytes(b"changed")
    result = runner.invoke(cli, ["verify", str(dest)])  # every card below
    assert result.exit_code == 1 and "changed" in result.stdout and "1A-1.wav" in result.stdout
    result = runner.invoke(cli, ["verify", str(shoot)])
    assert result.exit_code == 2 and "no ASC MHL history" in result.output
