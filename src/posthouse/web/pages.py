"""What the review room's pages show, computed from the project folder and catalog (no HTML here).

Every function reads; none writes. Paths handed to templates are relative to the project root.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from posthouse.core.project import Project
from posthouse.picture.cuts import CutStore
from posthouse.web.media import dailies_items

__all__ = ["STAGE_FOLDERS", "Stage", "dashboard", "qc_reports", "stage_files", "supervision"]

STAGE_FOLDERS: Final = ("dailies", "turnovers", "locks", "sound", "score", "finish", "deliver")
MAX_FILES: Final = 500


@dataclass(frozen=True, slots=True)
class Stage:
    """One row of the dashboard: where a stage of post stands."""

    key: str
    title: str
    state: str  # "done", "partial", "todo"
    summary: str
    links: list[tuple[str, str]] = field(default_factory=list)  # (label, href)


def _json(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def _subdirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


def _per_version(root: Path, stage: str, marker: str) -> list[str]:
    """Names of ``PROJECT/STAGE/CUT_vNNN`` folders holding ``marker`` (a summary file)."""
    return [d.name for d in _subdirs(root / stage) if (d / marker).is_file()]


def dashboard(project: Project) -> list[Stage]:
    """Where each stage stands: dailies in, synced, cut versions, lock, turnovers, sound, score, conform,
    QC and deliverables, with links into each."""
    root = project.root
    store = CutStore(root / "cuts")
    stages: list[Stage] = []
    media = project.catalog.media()
    video = sum(1 for m in media if m.kind == "video")
    audio = sum(1 for m in media if m.kind == "audio")
    dailies = dailies_items(root)
    stages.append(
        Stage(
            "dailies",
            "Dailies in",
            "done" if dailies else ("partial" if media else "todo"),
            f"{video} picture and {audio} sound files catalogued; {len(dailies)} takes rendered as dailies",
            [("Dailies browser", "/dailies"), ("Dailies report", "/dailies/report")],
        )
    )
    synced = (root / "turnovers" / "synced_dailies.otio").is_file()
    stages.append(
        Stage(
            "synced",
            "Synced",
            "done" if synced else "todo",
            "synced dailies timeline written" if synced else "no synced dailies yet",
            [("Turnovers folder", "/stage/turnovers")] if synced else [],
        )
    )
    cut_links: list[tuple[str, str]] = []
    total = 0
    for name in store.names():
        versions = store.versions(name)
        total += len(versions)
        latest = versions[-1]
        cut_links.append(
            (f"{name} v{latest.version:03d} (latest of {len(versions)})", f"/cuts/{name}/v{latest.version}")
        )
    stages.append(
        Stage(
            "cuts",
            "Cut versions",
            "done" if total else "todo",
            f"{len(cut_links)} cuts, {total} versions",
            cut_links,
        )
    )
    locks = sorted((root / "locks").glob("*.lock.json")) if (root / "locks").is_dir() else []
    lock_text = ", ".join(
        f"{d.get('cut_name', p.stem)} v{int(d.get('version', 0)):03d}" for p in locks for d in [_json(p)]
    )
    stages.append(
        Stage(
            "lock",
            "Picture lock",
            "done" if locks else "todo",
            f"locked: {lock_text}" if locks else "not locked",
        )
    )
    checks = (
        ("turnovers", "Turnovers", "turnovers", None),
        ("sound", "Sound", "sound", "sound_summary.json"),
        ("score", "Score", "score", "score_summary.json"),
        ("conform", "Conform", "finish", "conform_report.json"),
    )
    for key, title, folder, marker in checks:
        done = (
            [d.name for d in _subdirs(root / folder) if any(d.glob("*_turnover.json"))]
            if marker is None
            else _per_version(root, folder, marker)
        )
        stages.append(
            Stage(
                key,
                title,
                "done" if done else "todo",
                ", ".join(done) if done else "nothing yet",
                [(f"{title} folder", f"/stage/{folder}")] if done else [],
            )
        )
    qc = qc_reports(root)
    failed = sum(1 for r in qc if r["result"] == "fail")
    stages.append(
        Stage(
            "qc",
            "QC",
            "todo" if not qc else ("partial" if failed else "done"),
            f"{len(qc)} reports, {failed} failed" if qc else "no QC reports yet",
            [("QC reports", "/qc")] if qc else [],
        )
    )
    deliver = root / "deliver"
    items = [p for p in deliver.iterdir() if p.name != "qc"] if deliver.is_dir() else []
    stages.append(
        Stage(
            "deliver",
            "Deliverables",
            "done" if items else "todo",
            f"{len(items)} items in deliver/" if items else "nothing delivered yet",
            [("Deliver folder", "/stage/deliver")] if items else [],
        )
    )
    return stages


def qc_reports(root: Path) -> list[dict[str, Any]]:
    """The QC reports anywhere under ``PROJECT/deliver`` (``deliver/qc``, ``deliver/CUT_vNNN/qc``…) and
    ``PROJECT/finish``, newest first."""
    found: list[Path] = []
    for folder in (root / "deliver", root / "finish"):
        if folder.is_dir():
            found += [p for p in sorted(folder.rglob("*_qc.json")) if p not in found and not p.is_symlink()]
    out: list[dict[str, Any]] = []
    for path in sorted(found, key=lambda p: p.stat().st_mtime, reverse=True):
        doc = _json(path)
        if "checks" not in doc:
            continue
        out.append(
            {
                "id": path.name.removesuffix("_qc.json"),
                "file": path.relative_to(root).as_posix(),
                "path": str(doc.get("path", "")),
                "spec": str(doc.get("spec", "")),
                "result": str(doc.get("result", "")),
                "info": doc.get("info") or {},
                "checks": [c for c in doc.get("checks") or [] if isinstance(c, dict)],
                "events": [e for e in doc.get("events") or [] if isinstance(e, dict)],
                "html": path.with_name(path.name.removesuffix(".json") + ".html").is_file(),
            }
        )
    return out


def stage_files(root: Path, stage: str) -> list[dict[str, Any]]:
    """Files under one stage folder (names relative to it, sizes), at most :data:`MAX_FILES`."""
    if stage not in STAGE_FOLDERS:
        return []
    folder = root / stage
    if not folder.is_dir():
        return []
    out: list[dict[str, Any]] = []
    for p in sorted(folder.rglob("*")):
        if (
            p.is_file()
            and not p.is_symlink()
            and not any(part.startswith(".") for part in p.parts[len(root.parts) :])
        ):
            out.append({"name": p.relative_to(folder).as_posix(), "size": p.stat().st_size})
            if len(out) >= MAX_FILES:
                break
    return out


def supervision(project: Project, role: str | None) -> dict[str, Any]:
    """The project page's schedule status, Gantt chart and (for roles allowed to see money) budget variance.

    ``{"plan": dashboard summary, "gantt": HTML fragment or ""}``; a broken schedule or budget file shows its
    error instead of failing the page.
    """
    from posthouse.core.errors import PosthouseError
    from posthouse.supervise.report import dashboard_summary, gantt_html, project_plan
    from posthouse.supervise.schedule_io import schedule_path

    try:
        summary = dashboard_summary(project, role=role)
        gantt = gantt_html(project_plan(project.root)) if schedule_path(project.root).is_file() else ""
    except PosthouseError as exc:
        return {"plan": {"error": str(exc)}, "gantt": ""}
    return {"plan": summary, "gantt": gantt}
