"""Catalog metadata from tags, iXML, reports and file names; bins; ALE and OTIO interchange."""

from __future__ import annotations

import json
from pathlib import Path

import opentimelineio as otio
import pytest

from posthouse.core.catalog.scan import scan_into_catalog
from posthouse.core.errors import UsageError
from posthouse.core.jobs import SerialExecutor
from posthouse.core.project import Project
from posthouse.core.time import Rate
from posthouse.demo.shoot import ShootSpec, generate_shoot
from posthouse.picture.bins import make_bins, select_media
from posthouse.picture.interchange import SyncedTake, write_ale, write_sync_otio
from posthouse.picture.metadata import apply_metadata, find_reports, parse_filename, read_report


@pytest.fixture(scope="module")
def catalogued(tmp_path_factory: pytest.TempPathFactory) -> tuple[Project, dict, Path]:  # type: ignore[type-arg]
    root = tmp_path_factory.mktemp("meta")
    shoot = root / "shoot"
    generate_shoot(shoot, ShootSpec(scenes=2, takes=2, seed=11), executor=SerialExecutor())
    project = Project.init(root / "project", fps="23.976")
    scan_into_catalog(
        project.catalog,
        [shoot / "camera", shoot / "sound"],
        relpath=project.relpath,
        executor=SerialExecutor(),
    )
    reports = find_reports([shoot])
    apply_metadata(project.catalog, reports=reports, rate=project.config.rate)
    return project, json.loads((shoot / "ground_truth.json").read_text()), shoot


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("A001C003.mov", {"reel": "A001", "camera": "A", "clip": "A001C003"}),
        ("B012C114_261124_R2CD.mov", {"reel": "B012", "camera": "B", "clip": "B012C114"}),
        ("12A-3.wav", {"scene": "12A", "take": "3"}),
        ("12A_T03.WAV", {"scene": "12A", "take": "3"}),
        ("SC4_TK2.wav", {"scene": "4", "take": "2"}),
    ],
)
def test_filename_patterns(name: str, expected: dict[str, str]) -> None:
    found = parse_filename(name)
    assert {k: found[k] for k in expected} == expected


def test_bad_pattern_is_a_clear_error() -> None:
    with pytest.raises(UsageError, match="regular expression"):
        parse_filename("x.mov", ["(unclosed"])


def test_report_without_key_column_names_the_file(tmp_path: Path) -> None:
    p = tmp_path / "odd.csv"
    p.write_text("a,b\n1,2\n")
    with pytest.raises(UsageError, match=r"odd\.csv"):
        read_report(p)


def test_every_file_gets_scene_take_camera_day(catalogued) -> None:
    project, truth, _ = catalogued
    records = project.catalog.media()
    assert len(records) == 8
    for rec in records:
        if rec.damaged:
            continue
        name = Path(rec.path).stem
        take = next(
            t for t in truth["takes"].values() if name in t["clips"] or Path(t["sound_file"]).stem == name
        )
        assert (rec.scene, rec.take) == (take["scene"], str(take["take_number"])), rec.path
        assert rec.circled == take["circled"], rec.path
        assert rec.shoot_day == truth["date"]
        if rec.kind == "video":
            clip = take["clips"][name]
            assert (rec.camera, rec.reel, rec.clip) == (clip["camera"], clip["reel"], name)
            assert rec.end_timecode is not None
        else:
            assert rec.reel == "R001" and rec.time_reference == take["time_reference"]
            assert rec.start_timecode and rec.end_timecode


def test_damaged_clip_still_gets_metadata_from_report_and_name(catalogued) -> None:
    project, truth, _ = catalogued
    broken = [r for r in project.catalog.media() if r.damaged]
    assert len(broken) == 1
    rec = broken[0]
    fault = next(f for f in truth["faults"] if f["kind"] == "truncated_camera_file")
    assert rec.path.endswith(fault["file"])
    assert rec.scene and rec.take and rec.camera == "A"  # from the camera report and the file name
    assert rec.meta_sources["scene"].startswith("report line")


def test_bins(catalogued) -> None:
    project, _, _ = catalogued
    by_scene = make_bins(project.catalog, "scene")
    assert list(by_scene) == ["1A", "2A"]
    assert all(len(v) == 4 for v in by_scene.values())
    assert list(make_bins(project.catalog, "day")) == ["2026-11-02"]
    assert [r.take for r in select_media(project.catalog, scene="1A", role="picture")] == ["1", "2"]
    with pytest.raises(UsageError, match="bin"):
        make_bins(project.catalog, "lens")


def test_ale_reads_back_with_otio(catalogued, tmp_path: Path) -> None:
    project, truth, _ = catalogued
    pics = select_media(project.catalog, role="picture", include_damaged=False)
    takes = [SyncedTake(p, None, None, project.abspath(p.path), None) for p in pics]
    path = write_ale(takes, tmp_path / "day1.ale", Rate.parse("23.976"))
    coll = otio.adapters.read_from_file(str(path))
    clips = list(coll.find_clips())
    assert [c.name for c in clips] == [p.clip for p in pics]
    first = clips[0]
    meta = first.metadata["ALE"]
    take = truth["takes"][f"{meta['Scene']}-{meta['Take']}"]
    clip_truth = take["clips"][first.name]
    assert (
        otio.opentime.to_timecode(first.source_range.start_time, 24000 / 1001) == clip_truth["start_timecode"]
    )
    assert first.source_range.duration.value == clip_truth["frames"]
    assert meta["Tape"] == clip_truth["reel"]
    assert "FPS\t23.976\n" in path.read_text()


def test_sync_otio_places_sound_under_picture(catalogued, tmp_path: Path) -> None:
    from posthouse.core.catalog import SyncRecord

    project, truth, _ = catalogued
    pic = next(r for r in project.catalog.media() if r.clip == "A001C001")
    snd = next(
        r
        for r in project.catalog.media()
        if r.kind == "audio" and r.scene == pic.scene and r.take == pic.take
    )
    t = truth["takes"][f"{pic.scene}-{pic.take}"]
    sync = SyncRecord(
        take=t["take"],
        method="waveform",
        status="synced",
        offset_samples=t["offset_samples"],
        drift_ppm=t["skew_ppm"],
        confidence=1.0,
        notes=[],
    )
    take = SyncedTake(pic, snd, sync, project.abspath(pic.path), project.abspath(snd.path))
    path = write_sync_otio([take], tmp_path / "synced.otio", Rate.parse("23.976"))
    tl = otio.adapters.read_from_file(str(path))[0]
    assert [tr.kind for tr in tl.tracks] == ["Video", "Audio", "Audio", "Audio"]
    a1 = tl.tracks[1][0]
    assert a1.metadata["posthouse"]["track_name"] == "BOOM"
    # The audio clip starts at the sound sample under picture frame 0.
    assert a1.source_range.start_time.value == snd.time_reference + t["offset_samples"]
