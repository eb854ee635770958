"""VFX pulls and returns: EXR plates with handles out, vendor versions validated, approved, cut in."""

from __future__ import annotations

import csv
import json
import shutil
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import OpenImageIO as oiio
import opentimelineio as otio
import pytest
import typer
from typer.testing import CliRunner

from posthouse.core.media import VideoWriter, iter_video_frames
from posthouse.core.project import Project
from posthouse.core.time import Rate, Timecode, timecode_to_frames
from posthouse.finish.vfx import (
    FIRST_FRAME,
    VfxShot,
    approve,
    cut_in,
    find_vfx_shots,
    ingest_returns,
    load_shot_list,
    pull_plates,
    read_image,
    write_cut_in,
)

W, H, FPS, LENGTH = 160, 90, 24, 72
R24 = Rate.parse(FPS)
HALF_TOL = 2e-3  # half float has 11 bits of mantissa: < 1e-3 relative below 1.0


def _movie(path: Path, start_tc: str, reel: str, seed: int) -> Path:
    """A ProRes original whose frames differ (blue steps by frame) over a fixed gradient."""
    x = np.linspace(0, 255, W, dtype=np.float32)[None, :]
    y = np.linspace(0, 255, H, dtype=np.float32)[:, None]
    base = np.zeros((H, W, 3), np.float32)
    base[..., 0] = x
    base[..., 1] = y
    with VideoWriter(path, width=W, height=H, rate=Fraction(FPS), start_timecode=start_tc, reel=reel) as w:
        for n in range(LENGTH):
            frame = base.copy()
            frame[..., 2] = (seed * 40 + n * 3) % 256
            w.write_frame(frame.astype(np.uint8))
    return path


def _clip(name: str, path: Path, start_tc: str, src_offset: int, duration: int) -> otio.schema.Clip:
    start = timecode_to_frames(start_tc, R24)
    ref = otio.schema.ExternalReference(
        target_url=path.as_uri(),
        available_range=otio.opentime.TimeRange(
            otio.opentime.RationalTime(start, FPS), otio.opentime.RationalTime(LENGTH, FPS)
        ),
    )
    return otio.schema.Clip(
        name=name,
        media_reference=ref,
        source_range=otio.opentime.TimeRange(
            otio.opentime.RationalTime(start + src_offset, FPS), otio.opentime.RationalTime(duration, FPS)
        ),
        metadata={"posthouse": {"reel": name[:4]}},
    )


def _marker(clip: otio.schema.Clip, name: str, meta: dict[str, Any]) -> None:
    at = clip.source_range.start_time + otio.opentime.RationalTime(3, FPS)
    clip.markers.append(
        otio.schema.Marker(
            name=name,
            marked_range=otio.opentime.TimeRange(at, otio.opentime.RationalTime(1, FPS)),
            metadata={"posthouse": meta},
        )
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("vfx")
    originals = root / "originals"
    originals.mkdir()
    a = _movie(originals / "A001C001.mov", "10:00:00:00", "A001", 1)
    b = _movie(originals / "B001C002.mov", "11:00:00:00", "B001", 2)
    clip_a = _clip("A001C001", a, "10:00:00:00", 20, 24)  # VFX: full 8-frame handles
    clip_b = _clip("B001C002", b, "11:00:00:00", 30, 12)  # not VFX
    clip_c = _clip("A001C001b", a, "10:00:00:00", 2, 10)  # VFX with only 2 head frames in the original
    _marker(clip_a, "VFX", {"note": "wire removal"})
    _marker(clip_c, "VFX", {"vfx": {"shot": "SH050"}, "note": "sky replacement"})
    track = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    for c in (clip_a, clip_b, clip_c):
        track.append(c)
    tl = otio.schema.Timeline(name="cut", global_start_time=otio.opentime.RationalTime(86400, FPS))
    tl.tracks.append(track)
    project = Project.init(root / "proj", fps="24", resolution=f"{W}x{H}")
    pulls = project.root / "finish" / "cut_v001" / "vfx" / "pulls"
    report = pull_plates(tl, pulls, name="cut_v001")
    return {"root": root, "tl": tl, "project": project, "pulls": pulls, "report": report, "a": a}


def _plate_files(pulls: Path, shot: str) -> list[Path]:
    return sorted((pulls / f"{shot}_plate_v001").glob("*.exr"))


def test_pull_counts_handles_and_first_frame(world: dict[str, Any]) -> None:
    report, pulls = world["report"], world["pulls"]
    assert [s.shot for s in report.shots] == ["SH010", "SH050"]
    assert report.written == ["SH010", "SH050"]
    sh010, sh050 = report.shots
    files = _plate_files(pulls, "SH010")
    assert len(files) == 24 + 2 * 8 == sh010.frames
    assert files[0].name == "SH010_plate_v001.1001.exr" and files[-1].name == "SH010_plate_v001.1040.exr"
    # short head handle: the clip starts 2 frames into the original
    assert (sh050.handles_in, sh050.handles_out, sh050.short_handles) == (2, 8, True)
    assert len(_plate_files(pulls, "SH050")) == 10 + 2 + 8
    assert any("SH050" in w and "short handles" in w for w in report.warnings)
    # the first plate frame is the original's frame at source in − handles (frame index 12)
    original = dict(iter_video_frames(world["a"], format="rgb48le", start=11, count=3))
    plate = read_image(files[0])
    assert plate.shape == (H, W, 3)
    np.testing.assert_allclose(plate, original[12] / 65535.0, atol=HALF_TOL)
    assert np.abs(plate - original[13] / 65535.0).max() > 5 * HALF_TOL  # and not its neighbour
    # metadata: half float, zip, source timecode of the frame, shot and reel
    inp = oiio.ImageInput.open(str(files[0]))
    spec = inp.spec()
    inp.close()
    assert spec.format == oiio.HALF and spec.getattribute("compression") == "zip"
    assert spec.getattribute("posthouse:shot") == "SH010" and spec.getattribute("posthouse:reel") == "A001"
    assert spec.getattribute("posthouse:sourceTimecode") == "10:00:00:12"
    assert spec.getattribute("smpte:TimeCode")[0] == 0x10000012  # BCD 10:00:00:12
    assert (pulls / "SH010_ref.mov").is_file() and (pulls / "SH050_ref.mov").is_file()
    assert not list(pulls.glob(".*partial*"))


def test_shot_list_csv_and_json(world: dict[str, Any]) -> None:
    pulls = world["pulls"]
    rows = list(csv.DictReader((pulls / "cut_v001_vfx_shots.csv").open()))
    assert [r["shot"] for r in rows] == ["SH010", "SH050"]
    r = rows[0]
    assert (r["record_in"], r["record_out"]) == ("01:00:00:00", "01:00:01:00")
    assert (r["source_in"], r["source_out"]) == ("10:00:00:20", "10:00:01:20")
    assert (r["first_frame"], r["last_frame"], r["frames"]) == ("1001", "1040", "40")
    assert (r["reel"], r["width"], r["height"], r["description"]) == ("A001", "160", "90", "wire removal")
    doc = json.loads((pulls / "cut_v001_vfx_shots.json").read_text())
    assert (
        doc["shots"][1]["record_in"] == "01:00:01:12" and doc["shots"][1]["description"] == "sky replacement"
    )
    assert load_shot_list(pulls / "cut_v001_vfx_shots.csv") == load_shot_list(
        pulls / "cut_v001_vfx_shots.json"
    )


def test_pull_resumes(world: dict[str, Any]) -> None:
    pulls = world["pulls"]
    again = pull_plates(world["tl"], pulls, name="cut_v001")
    assert again.written == [] and again.resumed == ["SH010", "SH050"]
    _plate_files(pulls, "SH050")[5].unlink()  # an incomplete plate is pulled again
    third = pull_plates(world["tl"], pulls, name="cut_v001")
    assert third.written == ["SH050"] and third.resumed == ["SH010"]
    assert len(_plate_files(pulls, "SH050")) == 20


def _deliver(
    folder: Path, shot: VfxShot, plate_dir: Path, *, skip: int | None = None, size: Any = None
) -> None:
    """A vendor version: the plate with a red lift (or at the wrong size / with a frame missing)."""
    folder.mkdir(parents=True)
    for n in range(shot.first_frame, shot.last_frame + 1):
        if n == skip:
            continue
        img = read_image(plate_dir / f"{plate_dir.name}.{n:04d}.exr")
        img[..., 0] = np.minimum(img[..., 0] + 0.25, 1.0)
        if size is not None:
            img = img[: size[1], : size[0]]
        h, w = img.shape[:2]
        spec = oiio.ImageSpec(w, h, 3, oiio.HALF)
        spec.attribute("compression", "piz")
        path = folder / f"{folder.name}.{n:04d}.exr"
        out = oiio.ImageOutput.create(str(path))
        assert out.open(str(path), spec)
        out.write_image(np.ascontiguousarray(img))
        out.close()


def test_returns_validate_approve_and_cut_in(world: dict[str, Any]) -> None:
    project: Project = world["project"]
    pulls: Path = world["pulls"]
    shots = load_shot_list(pulls / "cut_v001_vfx_shots.json")
    sh010 = shots[0]
    plate = pulls / "SH010_plate_v001"
    deliveries = world["root"] / "deliveries"
    _deliver(deliveries / "SH010_comp_v002", sh010, plate)
    _deliver(deliveries / "SH010_comp_v003", sh010, plate, skip=1010)
    _deliver(deliveries / "SH010_comp_v004", sh010, plate, size=(80, 44))
    (deliveries / "SH010-comp-final").mkdir()

    checks = ingest_returns([deliveries], shots, catalog=project.catalog, store_path=project.relpath)
    verdict = {Path(c.path).name: c for c in checks}
    assert verdict["SH010_comp_v002"].status == "submitted" and verdict["SH010_comp_v002"].frames == 40
    assert verdict["SH010_comp_v003"].status == "rejected"
    assert "1 frame missing (1010)" in verdict["SH010_comp_v003"].reason
    assert verdict["SH010_comp_v004"].status == "rejected"
    assert "resolution" in verdict["SH010_comp_v004"].reason and "80x44" in verdict["SH010_comp_v004"].reason
    assert "SHOT_task_vNNN" in verdict["SH010-comp-final"].reason

    from posthouse.core.errors import UsageError

    with pytest.raises(UsageError, match="rejected"):
        approve(project.catalog, "SH010", 3)
    assert approve(project.catalog, "SH010", 2).status == "approved"

    tl = world["tl"]
    new, report = cut_in(tl, shots, project.catalog, resolve=project.abspath)
    assert [r["shot"] for r in report.replaced] == ["SH010"] and report.not_approved == ["SH050"]
    assert isinstance(new.video_tracks()[0][0].media_reference, otio.schema.ImageSequenceReference)
    assert isinstance(tl.video_tracks()[0][0].media_reference, otio.schema.ExternalReference)  # a copy
    dest = project.root / "finish" / "cut_v001" / "vfx" / "cut_v001_vfx.otio"
    write_cut_in(tl, shots, project.catalog, dest, resolve=project.abspath)
    back = otio.adapters.read_from_file(str(dest))
    old_track, new_track = tl.video_tracks()[0], back.video_tracks()[0]
    for old, cur in zip(old_track, new_track, strict=True):
        assert old_track.range_of_child(old) == new_track.range_of_child(cur)  # record unchanged
    clip = new_track[0]
    ref = clip.media_reference
    assert isinstance(ref, otio.schema.ImageSequenceReference)
    assert ref.name_prefix == "SH010_comp_v002." and ref.start_frame == FIRST_FRAME
    assert ref.frame_zero_padding == 4 and ref.name_suffix == ".exr"
    assert clip.source_range.start_time.value == FIRST_FRAME + 8
    assert clip.source_range.duration.value == 24
    assert clip.metadata["posthouse"]["vfx"]["shot"] == "SH010"
    assert clip.metadata["posthouse"]["vfx"]["version"] == 2
    # the record's first frame reads the delivered frame 1009 (the plate's 1009 with the red lift)
    number = int(clip.source_range.start_time.value) - ref.start_frame
    url = ref.target_url_for_image_number(number)
    frame = read_image(url.removeprefix("file://"))
    want = read_image(plate / "SH010_plate_v001.1009.exr")
    np.testing.assert_allclose(frame[..., 1:], want[..., 1:], atol=HALF_TOL)
    assert frame[..., 0].mean() > want[..., 0].mean() + 0.1
    assert isinstance(new_track[1].media_reference, otio.schema.ExternalReference)  # not VFX: untouched
    assert isinstance(new_track[2].media_reference, otio.schema.ExternalReference)  # SH050 not approved

    # the engine renders the cut-in: record frame 0 shows the delivered 1009 (code values, no transform)
    from posthouse.engine import iter_timeline_frames
    from posthouse.engine.plan import VideoClipPlan

    if "sequence" in VideoClipPlan.__slots__:  # image-sequence support in the engine
        first = next(iter(iter_timeline_frames(back))).astype(np.float32)
        assert np.abs(first - frame * 255).max() <= 1.0

    project.close()
    reopened = Project.open(project.root)
    assert reopened.catalog.revision() == "0005"
    rows = {(r.shot, r.version): r for r in reopened.catalog.vfx_versions()}
    assert rows["SH010", 2].status == "approved" and rows["SH010", 3].status == "rejected"
    assert "missing" in (rows["SH010", 3].reason or "") and rows["SH010", 4].width == 80
    assert rows["SH010", 2].path.endswith("deliveries/SH010_comp_v002")
    reopened.close()


def test_pull_list_and_marker_ids(world: dict[str, Any], tmp_path: Path) -> None:
    pulls = tmp_path / "pull_list.csv"
    pulls.write_text("shot,record_in,handles,note\nVFX,01:00:01:00,4,cleanup\n")
    shots = find_vfx_shots(world["tl"], pull_list=pulls)
    assert [(s.shot, s.clip, s.handles_in, s.description) for s in shots] == [
        ("SH010", "B001C002", 4, "cleanup")
    ]
    assert shots[0].source_in == str(Timecode(timecode_to_frames("11:00:00:00", R24) + 30, R24))


def test_cli_pull_ingest_approve_cutin(world: dict[str, Any], tmp_path: Path) -> None:
    from posthouse.cli import finish_vfx

    root = tmp_path / "cli"
    shutil.copytree(world["project"].root, root / "proj")
    tl_path = root / "cut.otio"
    otio.adapters.write_to_file(world["tl"], str(tl_path))
    app = typer.Typer()
    app.add_typer(finish_vfx.app, name="vfx")
    runner = CliRunner()
    proj = ["--project", str(root / "proj")]
    res = runner.invoke(app, ["vfx", "pull", str(tl_path), "--handles", "2", "--json", *proj])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert [s["frames"] for s in data["shots"]] == [24 + 2 + 2, 10 + 2 + 2]
    shot_list = root / "proj" / "finish" / "cut" / "vfx" / "pulls" / "cut_vfx_shots.json"
    shots = load_shot_list(shot_list)
    plate = shot_list.parent / "SH010_plate_v001"
    _deliver(root / "del" / "SH010_comp_v007", shots[0], plate)
    res = runner.invoke(app, ["vfx", "ingest", str(root / "del"), "--shots", str(shot_list), "--json", *proj])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)[0]["status"] == "submitted"
    res = runner.invoke(app, ["vfx", "approve", "SH010", "v007", *proj])
    assert res.exit_code == 0, res.output
    out = root / "cutin.otio"
    res = runner.invoke(app, ["vfx", "cutin", str(tl_path), "--out", str(out), "--json", *proj])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["replaced"][0]["version"] == 7
    clip = otio.adapters.read_from_file(str(out)).video_tracks()[0][0]
    assert clip.media_reference.name_prefix == "SH010_comp_v007."
    assert clip.source_range.start_time.value == FIRST_FRAME + 2
    res = runner.invoke(app, ["vfx", "list", "--json", *proj])
    assert res.exit_code == 0, res.output
    versions = json.loads(res.output)["versions"]
    assert ("SH010", 7, "approved") in {(v["shot"], v["version"], v["status"]) for v in versions}


def test_dpx_pull_ten_bit(world: dict[str, Any], tmp_path: Path) -> None:
    report = pull_plates(world["tl"], tmp_path, fmt="dpx", handles=1, reference=False)
    sh010 = report.shots[0]
    files = sorted((tmp_path / "SH010_plate_v001").glob("*.dpx"))
    assert len(files) == 24 + 2 == sh010.frames and files[0].name == "SH010_plate_v001.1001.dpx"
    inp = oiio.ImageInput.open(str(files[0]))
    spec = inp.spec()
    inp.close()
    assert spec.getattribute("oiio:BitsPerSample") == 10
    assert spec.getattribute("smpte:TimeCode")[0] == 0x10000019  # 10:00:00:19 = source in − 1
    original = dict(iter_video_frames(world["a"], format="rgb48le", start=19, count=1))[19]
    np.testing.assert_allclose(read_image(files[0]), original / 65535.0, atol=1.0 / 1023)


def test_turnover_pull_list_gives_the_marked_shots(world: dict[str, Any], tmp_path: Path) -> None:
    from dataclasses import asdict

    from posthouse.picture.turnover import vfx_pulls

    rows = [asdict(p) for p in vfx_pulls(world["tl"], "24", handles=6)]
    path = tmp_path / "cut_v001_vfx_pulls.json"
    path.write_text(json.dumps(rows))
    listed = find_vfx_shots(world["tl"], pull_list=path)
    marked = find_vfx_shots(world["tl"], handles=6)
    assert [(s.shot, s.record_in, s.source_in, s.frames) for s in listed] == [
        (s.shot, s.record_in, s.source_in, s.frames) for s in marked
    ]
    assert [s.shot for s in listed] == ["SH010", "SH050"] and listed[0].frames == 24 + 12
