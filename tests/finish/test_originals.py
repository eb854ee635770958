"""The index of camera originals: probed once, cached incrementally, bad files listed, fast TC lookup."""

from __future__ import annotations

import json
import os
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

import posthouse.finish.originals as originals
from posthouse.core.errors import PosthouseError
from posthouse.core.media import VideoWriter
from posthouse.core.time import Rate, Timecode
from posthouse.finish.originals import OriginalRecord, OriginalsIndex, cmx_reel, scan_originals, ticks


def _movie(path: Path, reel: str, tc: str, frames: int = 6, rate: int = 24) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with VideoWriter(
        path, width=64, height=36, rate=Fraction(rate), preset="prores-proxy", start_timecode=tc, reel=reel
    ) as vw:
        for i in range(frames):
            vw.write_frame(np.full((36, 64, 3), 20 * i, np.uint8))
    return path


def test_scan_probes_once_caches_and_lists_bad_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cam = tmp_path / "camera"
    a = _movie(cam / "A001" / "A001C001.mov", "A001", "10:00:00:00", frames=6)
    _movie(cam / "B001" / "B001C001.mov", "B001", "12:30:00:00", frames=4, rate=25)
    (cam / "A001" / "broken.mov").write_bytes(b"not a movie at all")
    (cam / "notes.txt").write_text("ignored")
    cache = tmp_path / "finish" / "originals.json"
    index = scan_originals([cam], cache=cache)
    assert [Path(r.path).name for r in index.records] == ["A001C001.mov", "B001C001.mov"]
    rec = index.records[0]
    assert (rec.reel, rec.clip_name, rec.start_timecode(), rec.duration) == (
        "A001",
        "A001C001",
        "10:00:00:00",
        6,
    )
    assert (rec.rate, rec.width, rec.height) == (Fraction(24), 64, 36)
    assert index.records[1].rate == Fraction(25)
    assert [Path(f["path"]).name for f in index.failures] == ["broken.mov"]
    assert json.loads(cache.read_text())["records"][0]["rate"] == "24/1"

    calls: list[Path] = []
    real = originals.probe_original

    def counting(path: str | Path) -> OriginalRecord:
        calls.append(Path(path))
        return real(path)

    monkeypatch.setattr(originals, "probe_original", counting)
    again = scan_originals([cam], cache=cache)
    assert again.records == index.records
    assert [p.name for p in calls] == ["broken.mov"]  # only the file not in the cache
    # a changed file (size/mtime) is probed again
    calls.clear()
    _movie(a, "A001", "10:00:00:00", frames=8)
    os.utime(a, ns=(a.stat().st_atime_ns, a.stat().st_mtime_ns + 1_000_000_000))
    third = scan_originals([cam], cache=cache)
    assert [p.name for p in calls] == ["A001C001.mov", "broken.mov"]
    assert third.records[0].duration == 8


def test_missing_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(PosthouseError, match="not found"):
        scan_originals([tmp_path / "nope"])


def _record(name: str, reel: str | None, tc: str, frames: int, rate: str = "24") -> OriginalRecord:
    r = Rate.parse(rate)
    return OriginalRecord(
        f"/o/{name}.mov", reel, name, Timecode.parse(tc, r).frames, frames, r.fps, 1920, 1080
    )


def test_interval_lookup_by_reel_name_and_alias() -> None:
    index = OriginalsIndex(
        [
            _record("A001C002", "A001", "10:05:00:00", 100),
            _record("A001C001", "A001", "10:00:00:00", 100),
            _record("B001C001", "B001_LONG_ROLL", "10:00:00:00", 100),
            _record("C001C001", "C001", "10:00:00:00", 100, rate="25"),
        ]
    )
    r24 = Rate.parse("24")

    def t(tc: str, plus: int = 0) -> int:
        return ticks(Timecode.parse(tc, r24).frames + plus, r24)

    assert [o.clip_name for o in index.containing("A001", t("10:00:00:10"), t("10:00:00:20"))] == ["A001C001"]
    assert [o.clip_name for o in index.containing("a001", t("10:05:00:00"), t("10:05:00:00", 100))] == [
        "A001C002"
    ]
    assert index.containing("A001", t("10:00:00:00", 90), t("10:00:00:00", 110)) == []
    assert [o.clip_name for o in index.overlapping("A001", t("10:00:00:00", 90), t("10:00:00:00", 110))] == [
        "A001C001"
    ]
    # 8-character CMX reels find the long reel name
    assert cmx_reel("B001_LONG_ROLL") == "B001_LON"
    assert index.resolve_reel("B001_LON") == ["B001_LONG_ROLL"]
    assert len(index.containing("B001_LON", t("10:00:00:00"), t("10:00:00:05"))) == 1
    # any reel: everything holding that range (the 25 fps original too: 100 frames = 4 s)
    assert len(index.containing(None, t("10:00:00:00"), t("10:00:00:00", 90))) == 3
    assert [o.clip_name for o in index.by_name("a001c002")] == ["A001C002"]
    assert index.containing("ZZZ", 0, 1) == []


def test_index_json_round_trip(tmp_path: Path) -> None:
    index = OriginalsIndex([_record("A001C001", "A001", "01:00:00:00", 10, rate="23.976")])
    index.save(tmp_path / "o.json")
    back = OriginalsIndex.load(tmp_path / "o.json")
    assert back.records == index.records and back.records[0].rate == Fraction(24000, 1001)
    (tmp_path / "bad.json").write_text("{oops")
    assert OriginalsIndex.load(tmp_path / "bad.json").records == []
