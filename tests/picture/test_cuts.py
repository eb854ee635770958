"""The cut store: immutable, numbered, re-openable versions."""

from __future__ import annotations

from pathlib import Path

import opentimelineio as otio
import pytest
from opentimelineio.opentime import RationalTime, TimeRange

from posthouse.picture.cuts import CutError, CutRef, CutStore


def timeline(names: str) -> otio.schema.Timeline:
    tl = otio.schema.Timeline(name="reel 1")
    tl.global_start_time = RationalTime(86400, 24)
    track = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    for n in names:
        ref = otio.schema.ExternalReference(
            target_url=f"file:///{n}.mov",
            available_range=TimeRange(RationalTime(0, 24), RationalTime(500, 24)),
        )
        track.append(
            otio.schema.Clip(
                name=n,
                media_reference=ref,
                source_range=TimeRange(RationalTime(10, 24), RationalTime(24, 24)),
            )
        )
    tl.tracks.append(track)
    return tl


def test_save_versions_and_reopen(tmp_path: Path) -> None:
    store = CutStore(tmp_path / "cuts")
    assert store.names() == [] and store.versions("reel1") == []
    first = timeline("ab")
    r1 = store.save("reel1", first, message="assembly", author="ed")
    r2 = store.save("reel1", timeline("abc"), message="added c")
    assert (r1, r2) == (CutRef("reel1", 1), CutRef("reel1", 2))
    assert store.path(r1) == tmp_path / "cuts" / "reel1" / "v001.otio"
    assert store.path("reel1") == tmp_path / "cuts" / "reel1" / "v002.otio"
    assert store.versions("reel1") == [r1, r2] and store.names() == ["reel1"]
    assert store.resolve("reel1") == r2 and store.resolve("reel1@1") == r1
    assert "version" not in first.metadata.get("posthouse", {})  # the caller's timeline is untouched
    latest = store.open("reel1")
    assert [c.name for c in latest.find_clips()] == ["a", "b", "c"]
    for ref in ("reel1@v1", "reel1@1", "reel1@v001", r1):
        tl = store.open(ref)
        assert [c.name for c in tl.find_clips()] == ["a", "b"]
    old = store.open(r1)  # keep the timeline alive while reading its metadata
    v1 = old.metadata["posthouse"]["version"]
    v2 = latest.metadata["posthouse"]["version"]
    assert (v1["number"], v1["message"], v1["author"], v1["parent"]) == (1, "assembly", "ed", None)
    assert (v2["number"], v2["parent"], v2["author"]) == (2, 1, None) and v2["time"].endswith("+00:00")
    assert latest.global_start_time == RationalTime(86400, 24)


def test_versions_are_immutable(tmp_path: Path) -> None:
    store = CutStore(tmp_path)
    r1 = store.save("reel1", timeline("ab"))
    before = store.path(r1).read_bytes()
    store.save("reel1", store.open(r1))  # saving what was opened makes v002; v001 stays as it was
    assert store.path(r1).read_bytes() == before
    assert [r.version for r in store.versions("reel1")] == [1, 2]
    latest = store.open("reel1")
    assert latest.metadata["posthouse"]["version"]["parent"] == 1
    assert not list((tmp_path / "reel1").glob(".*"))  # no temporary files left behind


def test_missing_and_bad_references(tmp_path: Path) -> None:
    store = CutStore(tmp_path)
    store.save("reel1", timeline("a"))
    store.save("reel1", timeline("a"))
    with pytest.raises(
        CutError, match=r"'reel1@v007' not found \(versions of 'reel1': v001, v002; cuts: reel1\)"
    ):
        store.open("reel1@7")
    with pytest.raises(CutError, match="versions of 'reel2': none"):
        store.open("reel2")
    for bad in ("../x", "a/b", "..", ".", "", "x@"):
        with pytest.raises(CutError):
            store.save(bad, timeline("a"))
    with pytest.raises(CutError):
        CutRef.parse("reel1@v0")
    assert str(CutRef.parse("reel 1@3")) == "reel 1@v003" and CutRef.parse("reel1").version is None
    (tmp_path / "reel1" / "v003.otio").write_text("not json")
    with pytest.raises(CutError, match=r"v003\.otio: cannot read cut version"):
        store.open("reel1")
