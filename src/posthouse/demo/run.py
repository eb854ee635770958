"""The end-to-end demo: shoot → offload → catalog → sync → dailies → assembly → lock → turnover → score →
sound → finish → deliver, with the wall time of every stage and a final HTML report linking every output.

It grows with every department. Each stage is resumable, so running it again does only what is left.
The demo measures itself against the shoot's ground truth (sync error per take) and says so.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from posthouse.core.catalog.scan import ScanReport
from posthouse.core.errors import UsageError
from posthouse.core.fsutil import atomic_write_text
from posthouse.core.jobs import Executor
from posthouse.core.progress import NULL_PROGRESS, CancelToken, Progress
from posthouse.core.project import CONFIG_NAME, Project
from posthouse.demo.deliver import run_deliver
from posthouse.demo.finish import run_finish, vfx_marker
from posthouse.demo.report import write_html_report
from posthouse.demo.score import run_score, spotting_markers
from posthouse.demo.shoot import ShootSpec, generate_shoot
from posthouse.demo.sound import run_sound

__all__ = ["DemoReport", "run_demo"]

# the demo's stages as job kinds of the job log (the cost report maps kinds to rates and accounts)
_JOB_KINDS = {"assembly": "editorial"}


@dataclass
class DemoReport:
    """What the demo run made and found."""

    root: Path
    shoot: Path
    project: Path
    scan: ScanReport
    stages: list[str] = field(default_factory=list)
    expected_damage: list[str] = field(default_factory=list)
    unexpected_damage: list[str] = field(default_factory=list)
    offload: dict[str, Any] = field(default_factory=dict)
    sync: list[dict[str, Any]] = field(default_factory=list)
    dailies: dict[str, Any] = field(default_factory=dict)
    editorial: dict[str, Any] = field(default_factory=dict)
    score: dict[str, Any] = field(default_factory=dict)
    sound: dict[str, Any] = field(default_factory=dict)
    finish: dict[str, Any] = field(default_factory=dict)
    deliver: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)  # wall seconds per stage, this run

    @property
    def sync_errors(self) -> list[str]:
        """Takes whose sync is off the ground truth by more than a sample (or a frame for slate sync)."""
        bad = []
        for s in self.sync:
            if s.get("truth_offset_samples") is None or s.get("offset_samples") is None:
                continue
            limit = 2002 if s["method"] == "slate" else 1
            if abs(s["offset_samples"] - s["truth_offset_samples"]) > limit:
                bad.append(s["picture"])
        return bad

    @property
    def ok(self) -> bool:
        return (
            not self.unexpected_damage
            and not self.scan.failed
            and not self.sync_errors
            and not self.offload.get("failed")
            and not self.dailies.get("failed")
            and all(m.get("passed") for m in self.sound.get("mix", {}).values())
            and bool(self.finish.get("conform", {}).get("ok", True))
            and not self.deliver.get("qc", {}).get("failed", False)
            and bool(self.deliver.get("streaming", {}).get("valid", True))
            and bool(self.deliver.get("archive", {}).get("verified", True))
            and bool(self.deliver.get("dcp", {}).get("hashes_ok", True))
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "root": str(self.root),
            "shoot": str(self.shoot),
            "project": str(self.project),
            "stages": self.stages,
            "catalogued": len(self.scan.added) + len(self.scan.updated) + len(self.scan.unchanged),
            "scan": self.scan.to_dict(),
            "expected_damage": self.expected_damage,
            "unexpected_damage": self.unexpected_damage,
            "offload": self.offload,
            "sync": self.sync,
            "sync_errors": self.sync_errors,
            "dailies": self.dailies,
            "editorial": self.editorial,
            "score": self.score,
            "sound": self.sound,
            "finish": self.finish,
            "deliver": self.deliver,
            "timings": self.timings,
            "ok": self.ok,
        }


def _editorial(project: Project, shoot_dir: Path) -> dict[str, Any]:
    """Assemble the circled takes (once), lock that version and write its turnover package."""
    from posthouse.picture.assemble import assemble, read_script
    from posthouse.picture.cuts import CutStore
    from posthouse.picture.guide import write_guide_track
    from posthouse.picture.lock import lock_cut
    from posthouse.picture.reference import render_reference
    from posthouse.picture.turnover import turnover

    store = CutStore(project.root / "cuts")
    if not store.versions("assembly"):
        timeline = assemble(
            project, read_script(shoot_dir / "script.fountain"), takes="circled", name="assembly"
        )
        spotting_markers(timeline, project.config.rate)  # the spotting session's notes, before lock
        vfx_marker(timeline, project.config.rate)  # and a shot for VFX
        store.save("assembly", timeline, message="demo assembly (circled takes)", author="posthouse demo")
    ref = store.resolve(store.versions("assembly")[0])
    timeline = store.open(ref)
    assert ref.version is not None
    record = lock_cut(
        timeline,
        cut_name=ref.name,
        version=ref.version,
        author="posthouse demo",
        locks_dir=project.root / "locks",
    )
    name = f"{ref.name}_v{ref.version:03d}"
    package = turnover(
        timeline,
        project.root / "turnovers" / name,
        name=name,
        rate=project.config.rate,
        bundle_media=False,
        author=record.author,
    )
    guide = write_guide_track(
        timeline, project.root / "turnovers" / name / f"{name}_guide.wav", rate=project.config.rate
    )
    movie = render_reference(
        timeline,
        project.root / "turnovers" / name / f"{name}_reference.mov",
        rate=project.config.rate,
        watermark=f"{ref.name} v{ref.version:03d}",
    )
    return {
        "cut": str(ref),
        "events": len(timeline.tracks[0]),
        "lock": str(record.path),
        "content_hash": record.content_hash,
        "turnover": str(project.root / "turnovers" / name),
        "files": {k: [p.name for p in v] for k, v in package.files.items()},
        "reference": movie.to_dict(),
        "guide_track": str(guide),
    }


def _record_lineage(project: Project, cut: str, version: int, music: Path, master: Path) -> None:
    """Record which inputs (by content) made each department's outputs, so ``posthouse status`` can tell
    when a stage went stale (a re-graded master, a changed cut…)."""
    from posthouse.pipeline.lineage import Lineage, run_stage

    root, base = project.root, f"{cut}_v{version:03d}"
    cut_file = root / "cuts" / cut / f"v{version:03d}.otio"
    media = root / "media"
    stages = {
        "score": ([cut_file], [root / "score" / base]),
        "sound": ([cut_file, music, media], [root / "sound" / base]),
        "finish": ([root / "turnovers" / base, media], [root / "finish" / base]),
        "deliver": ([master, root / "sound" / base / "mix"], [root / "deliver" / base]),
    }
    lineage = Lineage(project.catalog, log_jobs=False)  # the job log has the stages' real times
    for stage, (inputs, outputs) in stages.items():
        run_stage(
            lineage,
            stage,
            inputs,
            {"cut": f"{cut}@v{version}"},
            lambda: None,
            outputs=outputs,
            target=f"{stage}:{base}",
            force=True,
        )


def run_demo(
    root: str | Path,
    spec: ShootSpec | None = None,
    *,
    executor: Executor | None = None,
    progress: Progress = NULL_PROGRESS,
    cancel: CancelToken | None = None,
) -> DemoReport:
    """Run the pipeline on a generated shoot in ``root``; re-running resumes (finished work is kept)."""
    from posthouse.picture.dailies_project import run_dailies
    from posthouse.picture.logging import log_media
    from posthouse.picture.offload import offload
    from posthouse.picture.syncing import run_sync, synced_takes, write_takes_ale, write_takes_otio

    root = Path(root).resolve()
    shoot_dir, project_dir = root / "shoot", root / "project"
    stages: list[str] = []
    timings: dict[str, float] = {}
    clock = [time.perf_counter()]

    opened: list[Project] = []

    def done(*names: str) -> None:  # the stage(s) just finished: record the wall time since the last one
        now = time.perf_counter()
        stages.extend(names)
        took = now - clock[0]
        timings["+".join(names)] = round(took, 3)
        clock[0] = now
        if opened:  # the job log, which the cost report charges by the hour
            end = datetime.now(UTC)
            opened[0].catalog.log_job(
                _JOB_KINDS.get(names[0], names[0]),
                end - timedelta(seconds=took),
                end,
                params={"demo_stage": "+".join(names)},
            )

    if not (shoot_dir / "ground_truth.json").is_file():
        if shoot_dir.exists() and any(shoot_dir.iterdir()):
            raise UsageError(
                "an unfinished shoot is in the way", path=shoot_dir, hint="delete that folder and run again"
            )
        generate_shoot(shoot_dir, spec, executor=executor, progress=progress, cancel=cancel)
    done("shoot")
    truth = json.loads((shoot_dir / "ground_truth.json").read_text(encoding="utf-8"))
    if (project_dir / CONFIG_NAME).is_file():
        project = Project.open(project_dir)
    else:
        w, h = truth["resolution"]
        project = Project.init(project_dir, fps=truth["rate"], resolution=f"{w}x{h}", name="the-last-frame")
    done("project")
    opened.append(project)
    try:
        cards = sorted([*(shoot_dir / "camera").iterdir(), *(shoot_dir / "sound").iterdir()])
        cards.append(shoot_dir / "reports")
        media_dir = project.root / "media" / "day01"
        off = offload(cards, media_dir, progress=progress, cancel=cancel)
        done("offload")
        scan = log_media(project, [media_dir], executor=executor, progress=progress, cancel=cancel)
        done("catalog")
        results = run_sync(project, executor=executor, progress=progress, cancel=cancel)
        takes = synced_takes(project)
        write_takes_otio(project, takes, project.root / "turnovers" / "synced_dailies.otio")
        write_takes_ale(
            project, [t for t in takes if not t.picture.damaged], project.root / "turnovers" / "day01.ale"
        )
        done("sync")
        run = run_dailies(project, executor=executor, progress=progress, cancel=cancel)
        done("dailies")
        editorial = _editorial(project, shoot_dir)
        done("assembly", "lock", "turnover")
        cut_name, _, version = str(editorial["cut"]).partition("@v")
        score = run_score(project.root, cut_name, int(version), progress=progress, cancel=cancel)
        done("score")
        sound = run_sound(
            project.root,
            shoot_dir,
            cut_name,
            int(version),
            music=Path(score["music_edit"]),
            progress=progress,
            cancel=cancel,
        )
        done("sound")
        finish = run_finish(project, cut_name, int(version), progress=progress, cancel=cancel)
        done("finish")
        deliver = run_deliver(
            project,
            shoot_dir,
            cut_name,
            int(version),
            master=Path(finish["master"]["output"]),
            jobs=int(getattr(executor, "workers", 1)),
            progress=progress,
            cancel=cancel,
        )
        done("deliver")
        _record_lineage(
            project, cut_name, int(version), Path(score["music_edit"]), Path(finish["master"]["output"])
        )
    finally:
        project.close()
    planted = {Path(f["file"]).name for f in truth["faults"] if f["kind"] == "truncated_camera_file"}
    report = DemoReport(
        root=root, shoot=shoot_dir, project=project_dir, scan=scan, stages=stages, timings=timings
    )
    for path in scan.damaged:
        (report.expected_damage if Path(path).name in planted else report.unexpected_damage).append(path)
    report.offload = off.to_dict()
    clip_truth = {name: (t, c) for t in truth["takes"].values() for name, c in t["clips"].items()}
    for res in results:
        entry = res.to_dict()
        entry["picture"] = res.picture.name
        found = clip_truth.get(res.picture.stem)
        entry["truth_offset_samples"] = found[1]["offset_samples"] if found else None
        entry["truth_skew_ppm"] = found[0]["skew_ppm"] if found else None
        report.sync.append(entry)
    report.dailies = {**run.to_dict(), "failed": [o.take for o in run.failed]}
    report.editorial = editorial
    report.score = score
    report.sound = sound
    report.finish = finish
    report.deliver = deliver
    doc = report.to_dict()
    atomic_write_text(root / "demo_report.json", json.dumps(doc, indent=2, default=str))
    write_html_report(doc, root / "demo_report.html")
    return report
