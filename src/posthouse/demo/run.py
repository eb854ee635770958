"""The end-to-end demo: today, shoot → project → catalog; it grows with every department."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from posthouse.core.catalog.scan import ScanReport, scan_into_catalog
from posthouse.core.errors import UsageError
from posthouse.core.fsutil import atomic_write_text
from posthouse.core.jobs import Executor
from posthouse.core.progress import NULL_PROGRESS, CancelToken, Progress
from posthouse.core.project import CONFIG_NAME, Project
from posthouse.demo.shoot import ShootSpec, generate_shoot

__all__ = ["DemoReport", "run_demo"]


@dataclass
class DemoReport:
    """What the demo run made and found."""

    root: Path
    shoot: Path
    project: Path
    scan: ScanReport
    expected_damage: list[str] = field(default_factory=list)
    unexpected_damage: list[str] = field(default_factory=list)
    stages: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.unexpected_damage and not self.scan.failed

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
            "ok": self.ok,
        }


def run_demo(
    root: str | Path,
    spec: ShootSpec | None = None,
    *,
    executor: Executor | None = None,
    progress: Progress = NULL_PROGRESS,
    cancel: CancelToken | None = None,
) -> DemoReport:
    """Run the pipeline on a generated shoot in ``root``; re-running resumes (existing stages are kept)."""
    root = Path(root).resolve()
    shoot_dir, project_dir = root / "shoot", root / "project"
    stages: list[str] = []
    if not (shoot_dir / "ground_truth.json").is_file():
        if shoot_dir.exists() and any(shoot_dir.iterdir()):
            raise UsageError(
                "an unfinished shoot is in the way", path=shoot_dir, hint="delete that folder and run again"
            )
        generate_shoot(shoot_dir, spec, executor=executor, progress=progress, cancel=cancel)
        stages.append("shoot")
    truth = json.loads((shoot_dir / "ground_truth.json").read_text(encoding="utf-8"))
    if (project_dir / CONFIG_NAME).is_file():
        project = Project.open(project_dir)
    else:
        w, h = truth["resolution"]
        project = Project.init(project_dir, fps=truth["rate"], resolution=f"{w}x{h}", name="the-last-frame")
        stages.append("project")
    try:
        scan = scan_into_catalog(
            project.catalog,
            [shoot_dir / "camera", shoot_dir / "sound"],
            relpath=project.relpath,
            executor=executor,
            progress=progress,
            cancel=cancel,
        )
    finally:
        project.close()
    stages.append("catalog")
    planted = {
        (shoot_dir / f["file"]).resolve() for f in truth["faults"] if f["kind"] == "truncated_camera_file"
    }
    report = DemoReport(root=root, shoot=shoot_dir, project=project_dir, scan=scan, stages=stages)
    for path in scan.damaged:
        absolute = project.abspath(path).resolve()
        (report.expected_damage if absolute in planted else report.unexpected_damage).append(path)
    atomic_write_text(root / "demo_report.json", json.dumps(report.to_dict(), indent=2))
    return report
