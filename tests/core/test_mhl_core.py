"""core.mhl: sealing a folder and verifying it (the format code shared by offload and the archive)."""

from __future__ import annotations

from pathlib import Path

from posthouse.core import mhl
from posthouse.core.mhl import History, parse_hashlist, seal_root, verify_root
from posthouse.picture import mhl as picture_mhl


def test_picture_mhl_re_exports_core() -> None:
    assert picture_mhl.History is mhl.History and picture_mhl.parse_hashlist is mhl.parse_hashlist
    assert set(picture_mhl.__all__) == set(mhl.__all__)


def test_seal_then_verify_records_generations_and_catches_changes(tmp_path: Path) -> None:
    root = tmp_path / "pkg"
    (root / "a").mkdir(parents=True)
    (root / "a" / "one.bin").write_bytes(b"\x00" * 1000)
    (root / "two.txt").write_text("hello")
    (root / ".DS_Store").write_bytes(b"litter")
    gen = seal_root(root)
    assert gen.number == 1
    assert sorted(m.path for m in parse_hashlist(gen.path).hashes) == ["a/one.bin", "two.txt"]
    assert verify_root(root).passed

    (root / "a" / "one.bin").write_bytes(b"\x00" * 999 + b"\x01")
    (root / "two.txt").unlink()
    (root / "new.txt").write_text("x")
    check = verify_root(root, record=True)
    assert (check.changed, check.missing, check.extra) == (["a/one.bin"], ["two.txt"], ["new.txt"])
    history = History.load(root)
    assert not history.problems and len(history.generations) == 2
    actions = {m.path: m.hashes[0].action for m in history.generations[1].hashlist.hashes}
    assert actions == {"a/one.bin": "failed"}
    # the failed generation does not replace the good reference: still changed
    assert verify_root(root).changed == ["a/one.bin"]


def test_edited_generation_is_a_problem(tmp_path: Path) -> None:
    root = tmp_path / "pkg"
    root.mkdir()
    (root / "f.txt").write_text("data")
    gen = seal_root(root)
    gen.path.write_bytes(gen.path.read_bytes().replace(b"posthouse", b"posthousX"))
    check = verify_root(root)
    assert not check.passed and any("modified" in p for p in check.problems)
