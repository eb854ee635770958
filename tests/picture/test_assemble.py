"""Assembly: synced takes in script order, circled first, picture and sound linked and in sync."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest

from posthouse.core.errors import UsageError
from posthouse.core.jobs import SerialExecutor
from posthouse.core.project import Project
from posthouse.demo.shoot import ShootSpec, generate_shoot
from posthouse.picture.assemble import assemble, read_script
from posthouse.picture.logging import log_media
from posthouse.picture.syncing import run_sync


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> tuple[Project, dict, Path]:  # type: ignore[type-arg]
    root = tmp_path_factory.mktemp("assemble")
    shoot = root / "shoot"
    generate_shoot(shoot, ShootSpec(scenes=2, takes=2, seed=3, faults=False), executor=SerialExecutor())
    project = Project.init(root / "project", fps="23.976")
    log_media(project, [shoot / "camera", shoot / "sound", shoot / "reports"], executor=SerialExecutor())
    run_sync(project)
    return project, json.loads((shoot / "ground_truth.json").read_text()), shoot


def test_circled_takes_in_script_order_with_linked_sound(synced) -> None:
    project, truth, shoot = synced
    tl = assemble(project, read_script(shoot / "script.json"), takes="circled")
    v1 = tl.tracks[0]
    circled = {t["scene"]: t for t in truth["takes"].values() if t["circled"]}
    assert [c.metadata["posthouse"]["scene"] for c in v1] == ["1A", "2A"]
    assert [c.metadata["posthouse"]["take"] for c in v1] == [
        str(circled[s]["take_number"]) for s in ("1A", "2A")
    ]
    assert [t.name for t in tl.tracks] == ["V1", "A1", "A2", "A3"]
    fps = 24000 / 1001
    assert otio_tc(tl.global_start_time, fps) == "01:00:00:00"
    for track in tl.tracks[1:]:
        assert round(track.duration().rescaled_to(fps).value) == round(v1.duration().value)
    # Sound under the first picture frame of each take is the truth's offset_samples.
    record = 0
    for clip in v1:
        take = circled[clip.metadata["posthouse"]["scene"]]
        link = clip.metadata["posthouse"]["link"]
        for track in tl.tracks[1:]:
            items = [c for c in track.find_clips() if c.metadata["posthouse"]["link"] == link]
            assert len(items) == 1
            audio = items[0]
            start = track.range_of_child(audio).start_time.rescaled_to(fps).value
            tref = audio.media_reference.available_range.start_time.value
            under_first_frame = audio.source_range.start_time.value - tref - (start - record) * 2002
            assert under_first_frame == take["offset_samples"]
        record += clip.source_range.duration.value
    assert v1[0].markers[0].metadata["posthouse"]["note"].startswith("INT. EDIT SUITE")
    # each scene's marker sits on its first frame (clip markers count in the clip's source time)
    from posthouse.engine import plan_timeline

    firsts = [0, round(v1[0].source_range.duration.value)]
    assert [m.record_frame for m in plan_timeline(tl).markers] == firsts


def test_all_takes_circled_first(synced) -> None:
    project, _, shoot = synced
    tl = assemble(project, read_script(shoot / "script.fountain"), takes="all")
    names = [(c.metadata["posthouse"]["scene"], c.metadata["posthouse"]["circled"]) for c in tl.tracks[0]]
    assert len(names) == 4
    assert names[0][1] and names[2][1]  # each scene opens on its circled take
    assert [n[0] for n in names] == ["1A", "1A", "2A", "2A"]


def test_script_errors_name_the_line(tmp_path: Path) -> None:
    p = tmp_path / "s.fountain"
    p.write_text("Title: x\n\nINT. HOUSE - DAY\n\nBOB\nHi.\n")
    with pytest.raises(UsageError, match="line 3"):
        read_script(p)
    with pytest.raises(UsageError, match="--takes"):
        assemble(Project.init(tmp_path / "p"), [], takes="some")


def otio_tc(t, fps: float) -> str:  # type: ignore[no-untyped-def]
    import opentimelineio as otio

    return otio.opentime.to_timecode(t, fps)


def test_spf_is_exact_at_23976() -> None:
    assert Fraction(48000) / Fraction(24000, 1001) == 2002
