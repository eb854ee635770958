"""Picture lock: a stable content hash, immutable lock files, change detection."""

from __future__ import annotations

import json
from pathlib import Path

import opentimelineio as otio
import pytest
from opentimelineio.opentime import RationalTime as RT
from opentimelineio.opentime import TimeRange as TR

from posthouse.core.errors import UsageError
from posthouse.picture.lock import LockError, content_hash, load_lock, lock_cut, verify_lock

FPS = 24000 / 1001


def make_cut() -> otio.schema.Timeline:
    tl = otio.schema.Timeline(name="reel1")
    tl.global_start_time = RT(86_400, FPS)
    v1 = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    for i, (start, dur) in enumerate([(90_000, 48), (90_500, 60), (91_000, 72), (92_000, 36)]):
        ref = otio.schema.ExternalReference(
            target_url=f"file:///media/A00{i}.mov", available_range=TR(RT(start, FPS), RT(1000, FPS))
        )
        clip = otio.schema.Clip(
            name=f"A00{i}", media_reference=ref, source_range=TR(RT(start, FPS), RT(dur, FPS))
        )
        clip.metadata["posthouse"] = {"reel": f"A00{i}"}
        v1.append(clip)
    v1[1].markers.append(otio.schema.Marker(name="VFX", marked_range=TR(RT(90_510, FPS), RT(1, FPS))))
    tl.tracks.append(v1)
    return tl


def test_hash_is_stable_and_ignores_volatile_metadata() -> None:
    a, b = make_cut(), make_cut()
    assert content_hash(a) == content_hash(b)
    assert content_hash(a).startswith("sha256:") and len(content_hash(a)) == 7 + 64
    b.metadata["posthouse"] = {"lock": {"by": "someone"}, "ui": {"zoom": 3}}
    b.tracks[0][0].metadata["posthouse"]["viewed_at"] = "2026-01-01T00:00:00Z"
    assert content_hash(a) == content_hash(b)
    b.metadata["posthouse"]["cut_note"] = "director's cut"
    assert content_hash(a) != content_hash(b)


def test_lock_verify_and_detect_a_changed_frame(tmp_path: Path) -> None:
    cut = make_cut()
    record = lock_cut(cut, cut_name="REEL1", version=3, author="editor", locks_dir=tmp_path)
    assert record.path == tmp_path / "REEL1_v003.lock.json"
    saved = json.loads(record.path.read_text())
    assert saved["content_hash"] == content_hash(cut) and saved["author"] == "editor"
    assert saved["locked_at"].endswith("+00:00")
    assert verify_lock(make_cut(), record)
    assert load_lock(record.path) == record

    trimmed = make_cut()
    clip = trimmed.tracks[0][2]
    clip.source_range = TR(clip.source_range.start_time + RT(1, FPS), clip.source_range.duration)
    assert not verify_lock(trimmed, record)
    # locking the same content again is a no-op; a different cut under the same lock is refused
    assert lock_cut(make_cut(), cut_name="REEL1", version=3, author="x", locks_dir=tmp_path) == record
    with pytest.raises(LockError, match="already locked") as err:
        lock_cut(trimmed, cut_name="REEL1", version=3, author="editor", locks_dir=tmp_path)
    assert str(record.path) in str(err.value)
    assert load_lock(record.path).content_hash == record.content_hash
    assert [p.name for p in tmp_path.iterdir()] == ["REEL1_v003.lock.json"]  # no temporary left


def test_bad_names_and_files(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        lock_cut(make_cut(), cut_name="../x", version=1, author="e", locks_dir=tmp_path)
    with pytest.raises(UsageError):
        lock_cut(make_cut(), cut_name="R", version=0, author="e", locks_dir=tmp_path)
    bad = tmp_path / "R_v001.lock.json"
    bad.write_text('{"format": "posthouse.lock/1",\n "cut_name": }')
    with pytest.raises(LockError, match=r"line 2"):
        load_lock(bad)
    other = tmp_path / "other.json"
    other.write_text("{}")
    with pytest.raises(LockError, match="not a posthouse lock"):
        load_lock(other)
