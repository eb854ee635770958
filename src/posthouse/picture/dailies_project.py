"""Dailies for a project: every catalogued camera clip with its sync, rendered and reported."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from posthouse.core.jobs import Executor
from posthouse.core.progress import NULL_PROGRESS, CancelToken, Progress
from posthouse.core.project import Project
from posthouse.picture.dailies import DailiesOutput, DailiesTake, render_dailies, write_report
from posthouse.picture.interchange import SyncedTake
from posthouse.picture.syncing import synced_takes

__all__ = ["DailiesRun", "dailies_item", "run_dailies"]

_PROBLEM_WORDS = ("disagree", "wrong", "damaged", "no scratch", "low confidence", "conflict")


@dataclass
class DailiesRun:
    """What a dailies run made."""

    out_dir: Path
    report: Path
    outputs: list[DailiesOutput] = field(default_factory=list)
    faults: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[DailiesOutput]:
        return [o for o in self.outputs if o.error]

    def to_dict(self) -> dict[str, Any]:
        return {
            "out_dir": str(self.out_dir),
            "report": str(self.report),
            "outputs": [
                {
                    "take": o.take,
                    "review": str(o.review) if o.review else None,
                    "nle": str(o.nle) if o.nle else None,
                    "frames": o.frames,
                    "audio_samples": o.audio_samples,
                    "error": o.error,
                }
                for o in self.outputs
            ],
            "faults": self.faults,
        }


def dailies_item(project: Project, take: SyncedTake) -> DailiesTake:
    """The dailies input for one synced (or unsynced) camera clip."""
    pic, snd, sync = take.picture, take.sound, take.sync
    rate = Fraction(pic.rate) if pic.rate else project.config.rate.fps
    synced = sync is not None and sync.status == "synced"
    return DailiesTake(
        take=sync.take if sync is not None else f"{pic.scene or '?'}-{pic.take or '?'}",
        picture=take.picture_path,
        sound=take.sound_path if synced else None,
        offset_samples=sync.offset_samples if synced and sync is not None else None,
        drift_ppm=sync.drift_ppm if synced and sync is not None else None,
        scene=pic.scene,
        take_number=pic.take,
        camera=pic.camera,
        clip=pic.clip or take.picture_path.stem,
        circled=bool(pic.circled or (snd is not None and snd.circled)),
        start_timecode=pic.start_timecode,
        rate=rate,
        sound_timecode=snd.start_timecode if snd is not None else None,
        sync_method=sync.method if sync is not None else None,
        confidence=sync.confidence if sync is not None else None,
        status=sync.status if sync is not None else "unsynced",
        notes=tuple(sync.notes or ()) if sync is not None else (),
    )


def run_dailies(
    project: Project,
    out_dir: Path | None = None,
    *,
    lut: Path | None = None,
    cdl: Path | None = None,
    nle: bool = False,
    executor: Executor | None = None,
    progress: Progress = NULL_PROGRESS,
    cancel: CancelToken | None = None,
) -> DailiesRun:
    """Render dailies for every undamaged camera clip and write the dailies report beside them."""
    out = Path(out_dir) if out_dir is not None else project.root / "dailies"
    takes = synced_takes(project)
    faults: list[str] = []
    for rec in project.catalog.media():
        if rec.damaged:
            faults.append(f"damaged: {rec.path}: {'; '.join(rec.problems)}")
    usable = [t for t in takes if not t.picture.damaged]
    for t in usable:
        if t.sync is None:
            faults.append(f"not synced yet: {t.picture.path}")
        elif t.sync.status != "synced":
            faults.append(f"{t.sync.status}: {t.sync.take} {t.picture.path}: {'; '.join(t.sync.notes or [])}")
        else:
            # Routine notes ("4/4 windows agree") stay on the take's row; problems are faults too.
            problems = [n for n in t.sync.notes or [] if any(w in n for w in _PROBLEM_WORDS)]
            if problems:
                faults.append(f"synced with findings: {t.sync.take} {t.picture.path}: {'; '.join(problems)}")
    items = [dailies_item(project, t) for t in usable]
    outputs = render_dailies(
        items, out, lut=lut, cdl=cdl, nle=nle, executor=executor, progress=progress, cancel=cancel
    )
    faults.extend(f"render failed: {o.take}: {o.error}" for o in outputs if o.error)
    report = write_report(
        items, outputs, out / "dailies_report.html", title=f"Dailies — {project.config.name}", faults=faults
    )
    return DailiesRun(out_dir=out, report=report, outputs=list(outputs), faults=faults)
