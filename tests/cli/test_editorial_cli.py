"""The editor's day on the command line: assemble, edit, diff, lock, turnover (on the demo shoot)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from posthouse.cli.app import app
from posthouse.core.jobs import SerialExecutor
from posthouse.core.project import Project
from posthouse.demo.shoot import ShootSpec, generate_shoot
from posthouse.picture.logging import log_media
from posthouse.picture.syncing import run_sync

runner = CliRunner()


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("editorial")
    shoot = root / "shoot"
    generate_shoot(shoot, ShootSpec(scenes=2, takes=2, seed=9, faults=False), executor=SerialExecutor())
    proj = Project.init(root / "project", fps="23.976")
    log_media(proj, [shoot / "camera", shoot / "sound", shoot / "reports"], executor=SerialExecutor())
    run_sync(proj)
    return proj.root, shoot


def _run(args: list[str], root: Path) -> dict:  # type: ignore[type-arg]
    result = runner.invoke(app, [*args, "--project", str(root), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_assemble_edit_diff_lock_turnover(project: tuple[Path, Path]) -> None:
    from posthouse.picture.cuts import CutStore
    from posthouse.picture.edl import read_edl

    root, shoot = project
    made = _run(
        ["assemble", "--script", str(shoot / "script.json"), "--takes", "all", "--name", "reel1"], root
    )
    assert made["cut"] == "reel1@v001" and made["events"] == 4
    trimmed = _run(["edit", "trim", "reel1", "--track", "V1", "--index", "1", "--head", "10"], root)
    assert trimmed["saved"] == "reel1@v002" and not trimmed["sync_breaks"]  # linked sound followed
    slipped = _run(["edit", "slip", "reel1", "-t", "V1", "-i", "1", "--frames=-2", "--unlinked"], root)
    assert {abs(b["frames"]) for b in slipped["sync_breaks"]} == {2.0}  # says so, and by how much
    changes = _run(["diff", "reel1@v1", "reel1@v2"], root)
    trims = [c for c in changes["changes"] if c["kind"] == "trimmed" and c["track"] == "V1"]
    assert len(trims) == 1 and trims[0]["head_frames"] == 10
    assert not [c for c in changes["changes"] if c["kind"] in ("added", "removed", "moved")]

    locked = _run(["lock", "reel1@v2"], root)
    assert locked["content_hash"].startswith("sha256:")
    package = _run(["turnover", "reel1@v2"], root)
    out = Path(package["out_dir"])
    edl = out / "reel1_v002_V1.edl"
    assert edl.is_file() and (out / "reel1_v002.aaf").is_file() and (out / "reel1_v002.xml").is_file()
    from posthouse.core.media import probe, read_audio

    guide = probe(package["guide_track"])
    assert guide.bwf is not None and guide.bwf.time_reference == 172_972_800  # 01:00:00:00 at 23.976
    assert guide.audio[0].samples == made_frames(root, "reel1@v2") * 2002
    assert float(abs(read_audio(package["guide_track"])[0]).max()) > 0.05  # carries the dialogue
    ref = package["reference"]
    assert ref["ffoa_frame"] - ref["two_pop_frame"] == 48  # the 2-pop, two seconds before action
    assert ref["lfoa_frame"] - ref["ffoa_frame"] + 1 == ref["cut_frames"] == made_frames(root, "reel1@v2")
    cut = CutStore(root / "cuts").open("reel1@v2")
    back = read_edl(edl, "23.976")
    assert back.global_start_time is not None
    fps = 24000 / 1001
    assert round(back.global_start_time.value) == round(cut.global_start_time.value)  # 01:00:00:00
    ours = [
        (c.source_range.start_time.value, c.source_range.duration.value) for c in cut.tracks[0].find_clips()
    ]
    theirs = [
        (c.source_range.start_time.rescaled_to(fps).value, c.source_range.duration.rescaled_to(fps).value)
        for c in back.tracks[0].find_clips()
    ]
    assert [(round(a), round(b)) for a, b in theirs] == [(round(a), round(b)) for a, b in ours]


def made_frames(root: Path, cut: str) -> int:
    from posthouse.picture.cuts import CutStore

    return round(CutStore(root / "cuts").open(cut).tracks[0].duration().value)


def test_turnover_refuses_an_unlocked_cut(project: tuple[Path, Path]) -> None:
    root, shoot = project
    _run(["assemble", "--script", str(shoot / "script.json"), "--name", "reel2"], root)
    result = runner.invoke(app, ["turnover", "reel2", "--project", str(root)])
    assert result.exit_code == 2 and "not locked" in result.output


def test_insert_a_catalogued_take_with_its_sound(project: tuple[Path, Path]) -> None:
    from posthouse.picture.cuts import CutStore
    from posthouse.picture.edit import sync_breaks

    root, shoot = project
    _run(["assemble", "--script", str(shoot / "script.json"), "--name", "reel3"], root)
    before = CutStore(root / "cuts").open("reel3")
    clip = next(iter(before.tracks[0].find_clips())).name
    done = _run(["edit", "insert", "reel3", "--clip", clip, "--at", "0"], root)
    assert done["saved"] == "reel3@v002" and not done["sync_breaks"]
    after = CutStore(root / "cuts").open("reel3@v2")
    assert len(after.tracks[0]) == len(before.tracks[0]) + 1
    assert all(len(t) == len(before.tracks[i]) + 1 for i, t in enumerate(after.tracks))  # sound came too
    assert not sync_breaks(after)
    grew = round(after.tracks[0].duration().value - before.tracks[0].duration().value)
    assert grew == round(after.tracks[0][0].source_range.duration.value)
