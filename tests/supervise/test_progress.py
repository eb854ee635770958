"""Progress comes from what the project holds: outputs that exist and pass."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest

from posthouse.supervise.progress import stage_status, task_progress
from posthouse.supervise.schedule import compute, default_template

DEMO = Path("/tmp/demo4/project")


def touch(path: Path, text: str = "x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_stages_done_when_outputs_exist_and_pass(tmp_path: Path) -> None:
    root = tmp_path
    assert not stage_status(root, "dailies").done
    touch(root / "dailies" / "1A-1_A001C001.mp4")
    touch(root / "cuts" / "assembly" / "v001.otio")
    touch(root / "locks" / "assembly_v001.lock.json", "{}")
    assert stage_status(root, "dailies").done
    assert stage_status(root, "cut").done and stage_status(root, "cut:assembly").done
    assert not stage_status(root, "cut:3").done  # one version saved, three needed
    assert stage_status(root, "lock").done
    # a mix is done only when every mix report passed
    report = touch(
        root / "sound" / "assembly_v001" / "mix" / "netflix" / "mix_report.json", '{"passed": false}'
    )
    st = stage_status(root, "mix")
    assert not st.done and "did not pass" in st.reason
    report.write_text(json.dumps({"passed": True}))
    assert stage_status(root, "mix").done
    # QC: a failing report keeps QC and delivery open
    qc = touch(root / "deliver" / "qc" / "film_qc.json", '{"result": "fail"}')
    touch(root / "deliver" / "streaming" / "film" / "master.m3u8")
    assert not stage_status(root, "qc").done and not stage_status(root, "deliver").done
    qc.write_text('{"result": "pass"}')
    assert stage_status(root, "qc").done and stage_status(root, "deliver").done
    # a conform whose report is not ok is not done
    touch(root / "finish" / "assembly_v001" / "conform.otio")
    touch(root / "finish" / "assembly_v001" / "conform_report.json", '{"ok": false}')
    assert not stage_status(root, "conform").done
    assert "unknown stage" in stage_status(root, "telepathy").reason


def test_schedule_marks_done_what_the_project_holds(tmp_path: Path) -> None:
    tasks = default_template(date(2027, 3, 1), date(2027, 6, 15))
    touch(tmp_path / "dailies" / "a.mp4")
    touch(tmp_path / "locks" / "assembly_v001.lock.json", "{}")
    progress = task_progress(tmp_path, tasks)
    done = {k for k, v in progress.items() if v.done}
    assert {"dailies", "picture_lock"} <= done
    # the cuts before a lock are over, even if not saved under those names
    assert progress["producers_cut"].implied_by == "picture_lock"
    assert not progress["turnover"].done and not progress["delivery"].done
    plan = compute(tasks, delivery=date(2027, 6, 15), today=date(2027, 3, 10), done=done)
    assert plan["picture_lock"].done and not plan["picture_lock"].late
    assert plan["turnover"].late  # due 2027-03-03, nothing turned over yet


@pytest.mark.skipif(not (DEMO / "posthouse.toml").is_file(), reason="needs the demo run in /tmp/demo4")
def test_demo_pipeline_run_marks_its_stages_done(tmp_path: Path) -> None:
    root = tmp_path / "project"
    shutil.copytree(DEMO, root, ignore=shutil.ignore_patterns("*.mov", "*.wav", "*.mp4", "*.exr"))
    for pattern in ("dailies/*.mp4", "sound/*/dialogue/*.wav", "sound/*/adr/*.wav", "score/*/music_stem.wav"):
        for f in DEMO.glob(pattern):  # placeholders: progress looks at what exists, not at the media
            touch(root / f.relative_to(DEMO))
    for f in [*DEMO.glob("sound/*/mix/*/*_FOL_*.wav"), *DEMO.glob("finish/*/*_graded.mov")]:
        touch(root / f.relative_to(DEMO))
    tasks = default_template(date(2027, 3, 1), date(2027, 6, 15))
    progress = task_progress(root, tasks)
    explicit = {k for k, v in progress.items() if v.done and not v.implied_by}
    for stage_done in ("dailies", "picture_lock", "turnover", "dialogue_edit", "adr", "score_record", "mix"):
        assert stage_done in explicit, stage_done
    for stage_done in ("vfx_final", "conform", "grade"):
        assert stage_done in explicit, stage_done
    assert stage_status(root, "sync").done  # the catalog holds synced takes
    demo_has_qc = any((DEMO / "deliver" / "qc").glob("*_qc.json"))
    assert progress["qc"].done == demo_has_qc
