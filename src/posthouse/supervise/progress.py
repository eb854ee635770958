"""Progress from what the project holds, never from typing: a task is done when its stage's outputs exist
and pass.

A task names its stage in the ``stage`` column (``kind`` or ``kind:arg``):

==================  ===========================================================================
``dailies``         ``dailies/*.mp4|*.mov``
``sync``            synced takes in the catalog, and no sync conflicts
``cut``             a cut version ``cuts/NAME/vNNN.otio``; ``cut:NAME`` that cut; ``cut:3`` three versions
``lock``            ``locks/*.lock.json`` with a content hash
``turnover``        ``turnovers/*/*_turnover.json``
``spotting:sound``  ``sound/*/session.otio`` (the spotted session); ``spotting:score``: ``score/*/cues.csv``
``dialogue``        ``sound/*/dialogue/*.wav``;  ``sfx``: ``sound/*/session.otio``
``adr``             ``sound/*/adr/*.wav`` (recorded, aligned lines)
``foley``           ``sound/*/mix/*/*_FOL_*.wav``
``score``           ``score/*/music_stem.wav``
``mix``             ``sound/*/mix/*/mix_report.json``, every one passed
``vfx:pulls``       ``finish/*/vfx/pulls/*``;  ``vfx``: ``finish/*/conform_vfx.otio`` or an approved version
``conform``         ``finish/*/conform.otio`` with ``conform_report.json`` ok
``grade``           ``finish/*/*_graded.mov``
``qc``              ``deliver/**/qc/*_qc.json``, every one a pass
``deliver``         files under ``deliver/`` (besides QC reports), and no failed QC
==================  ===========================================================================

A task before a done task is done too (a picture lock means the cuts before it are over); such tasks are
marked ``implied``.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from posthouse.supervise.schedule import Task

__all__ = ["STAGES", "StageStatus", "stage_status", "task_progress"]


@dataclass(frozen=True, slots=True)
class StageStatus:
    """Whether a stage is done, the files (relative to the project) that show it, and why not."""

    stage: str
    done: bool
    evidence: tuple[str, ...] = ()
    reason: str = ""
    finished: date | None = None  # the newest evidence file's date
    implied_by: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "done": self.done,
            "evidence": list(self.evidence),
            "reason": self.reason,
            "finished": self.finished.isoformat() if self.finished else None,
            "implied_by": self.implied_by,
        }


def _files(root: Path, *patterns: str) -> list[Path]:
    out: set[Path] = set()
    for p in patterns:
        out.update(f for f in root.glob(p) if f.is_file() and not f.name.startswith("."))
    return sorted(out)


def _status(stage: str, root: Path, files: Sequence[Path], missing: str) -> StageStatus:
    if not files:
        return StageStatus(stage, False, reason=missing)
    newest = max(f.stat().st_mtime for f in files)
    return StageStatus(
        stage,
        True,
        tuple(f.relative_to(root).as_posix() for f in files[:20]),
        finished=datetime.fromtimestamp(newest, UTC).date(),
    )


def _json(path: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def _all_pass(
    stage: str, root: Path, files: Sequence[Path], ok: Callable[[dict[str, Any]], bool], what: str
) -> StageStatus:
    if not files:
        return StageStatus(stage, False, reason=f"no {what} yet")
    bad = [f for f in files if not ((doc := _json(f)) is not None and ok(doc))]
    if bad:
        names = ", ".join(f.relative_to(root).as_posix() for f in bad[:5])
        return StageStatus(stage, False, reason=f"{len(bad)} of {len(files)} {what} did not pass: {names}")
    return _status(stage, root, files, "")


def _catalog_rows(root: Path, sql: str) -> list[tuple[Any, ...]] | None:
    """Rows from the project's catalog (SQLite or the PostgreSQL URL in posthouse.toml); ``None`` when the
    project has no catalog yet or the query's table is missing."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import SQLAlchemyError

    from posthouse.core.catalog import sqlite_url
    from posthouse.core.errors import PosthouseError
    from posthouse.core.project import CONFIG_NAME, ProjectConfig

    path = root / CONFIG_NAME
    try:
        config = ProjectConfig.from_toml(tomllib.loads(path.read_text(encoding="utf-8")), path)
    except (PosthouseError, OSError, tomllib.TOMLDecodeError):
        return None
    url = config.catalog_url
    if url is None:
        db = root / ".posthouse" / "catalog.db"
        if not db.is_file():
            return None
        url = sqlite_url(db)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql))]
    except SQLAlchemyError:
        return None
    finally:
        engine.dispose()


def _cut(root: Path, arg: str) -> StageStatus:
    stage = f"cut:{arg}" if arg else "cut"
    if arg and not arg.isdigit():
        return _status(stage, root, _files(root, f"cuts/{arg}/v*.otio"), f"no version of cut '{arg}' saved")
    files = _files(root, "cuts/*/v*.otio")
    need = int(arg) if arg else 1
    if len(files) < need:
        return StageStatus(stage, False, reason=f"{len(files)} cut version(s) saved, {need} needed")
    return _status(stage, root, files, "")


def _sync(root: Path, _arg: str) -> StageStatus:
    rows = _catalog_rows(root, "SELECT status, COUNT(*) FROM syncs GROUP BY status")
    if rows is None:
        return StageStatus("sync", False, reason="no catalog")
    counts = {str(s): int(n) for s, n in rows}
    if counts.get("conflict"):
        return StageStatus("sync", False, reason=f"{counts['conflict']} sync conflict(s) to resolve")
    if not counts.get("synced"):
        return StageStatus("sync", False, reason="no synced takes in the catalog")
    return StageStatus("sync", True, (f"catalog: {counts['synced']} synced take(s)",))


def _vfx(root: Path, arg: str) -> StageStatus:
    if arg == "pulls":
        files = _files(root, "finish/*/vfx/pulls/*", "turnovers/*/*_vfx_pulls.json")
        return _status("vfx:pulls", root, files, "no VFX pulls yet")
    files = _files(root, "finish/*/conform_vfx.otio")
    if files:
        return _status("vfx", root, files, "")
    rows = _catalog_rows(root, "SELECT shot, version FROM vfx_versions WHERE status = 'approved'") or []
    if rows:
        return StageStatus("vfx", True, tuple(f"catalog: {s} v{int(v):03d} approved" for s, v in rows[:20]))
    return StageStatus("vfx", False, reason="no approved VFX versions conformed yet")


def _conform(root: Path, _arg: str) -> StageStatus:
    files = _files(root, "finish/*/conform.otio")
    if not files:
        return StageStatus("conform", False, reason="no conform yet")
    bad = [f for f in files if not ((d := _json(f.parent / "conform_report.json")) and d.get("ok"))]
    if bad:
        return StageStatus(
            "conform", False, reason=f"conform report not ok: {bad[0].parent.relative_to(root)}"
        )
    return _status("conform", root, files, "")


def _qc_ok(doc: dict[str, Any]) -> bool:
    return str(doc.get("result", "")).lower() == "pass"


def _deliver(root: Path, _arg: str) -> StageStatus:
    out = root / "deliver"
    files = [f for f in _files(root, "deliver/**/*") if "qc" not in f.relative_to(out).parts[:-1]]
    if not files:
        return StageStatus("deliver", False, reason="no deliverables yet")
    qc = _files(root, "deliver/**/qc/*_qc.json")
    bad = [f for f in qc if not ((d := _json(f)) and _qc_ok(d))]
    if bad:
        return StageStatus("deliver", False, reason=f"QC failed: {bad[0].relative_to(root).as_posix()}")
    return _status("deliver", root, files, "")


def _glob(stage: str, missing: str, *patterns: str) -> Callable[[Path, str], StageStatus]:
    def check(root: Path, _arg: str) -> StageStatus:
        return _status(stage, root, _files(root, *patterns), missing)

    return check


def _spotting(root: Path, arg: str) -> StageStatus:
    if arg == "score":
        return _status("spotting:score", root, _files(root, "score/*/cues.csv"), "no music spotting yet")
    return _status("spotting:sound", root, _files(root, "sound/*/session.otio"), "no sound spotting yet")


STAGES: dict[str, Callable[[Path, str], StageStatus]] = {
    "dailies": _glob("dailies", "no dailies yet", "dailies/*.mp4", "dailies/*.mov"),
    "sync": _sync,
    "cut": _cut,
    "lock": _glob("lock", "picture is not locked", "locks/*.lock.json"),
    "turnover": _glob("turnover", "no turnover yet", "turnovers/*/*_turnover.json"),
    "spotting": _spotting,
    "dialogue": _glob("dialogue", "no dialogue edit yet", "sound/*/dialogue/*.wav"),
    "sfx": _glob("sfx", "no effects session yet", "sound/*/session.otio"),
    "adr": _glob("adr", "no ADR recorded yet", "sound/*/adr/*.wav"),
    "foley": _glob("foley", "no Foley stem yet", "sound/*/mix/*/*_FOL_*.wav"),
    "score": _glob("score", "no score yet", "score/*/music_stem.wav"),
    "mix": lambda root, _a: _all_pass(
        "mix",
        root,
        _files(root, "sound/*/mix/*/mix_report.json"),
        lambda d: bool(d.get("passed")),
        "mix reports",
    ),
    "vfx": _vfx,
    "conform": _conform,
    "grade": _glob("grade", "no graded master yet", "finish/*/*_graded.mov"),
    "qc": lambda root, _a: _all_pass(
        "qc", root, _files(root, "deliver/**/qc/*_qc.json"), _qc_ok, "QC reports"
    ),
    "deliver": _deliver,
}


def stage_status(root: str | Path, stage: str) -> StageStatus:
    """Whether ``stage`` (``kind`` or ``kind:arg``) is done in the project at ``root``."""
    kind, _, arg = stage.partition(":")
    check = STAGES.get(kind.strip())
    if check is None:
        return StageStatus(stage, False, reason=f"unknown stage '{stage}' (known: {', '.join(STAGES)})")
    status = check(Path(root), arg.strip())
    return (
        status
        if status.stage == stage
        else StageStatus(stage, status.done, status.evidence, status.reason, status.finished)
    )


def task_progress(root: str | Path, tasks: Sequence[Task]) -> dict[str, StageStatus]:
    """The status of every task: from its stage's outputs, or implied by a done task after it."""
    out: dict[str, StageStatus] = {}
    for t in tasks:
        out[t.id] = (
            stage_status(root, t.stage) if t.stage else StageStatus("", False, reason="no stage to check")
        )
    by_id = {t.id: t for t in tasks}
    # walk backwards from every done task: what comes before it is over
    stack = [(t.id, t.id) for t in tasks if out[t.id].done]
    while stack:
        tid, source = stack.pop()
        for dep in by_id[tid].depends:
            prev = out.get(dep.task)
            if prev is None or prev.done:
                continue
            out[dep.task] = StageStatus(prev.stage, True, reason=f"implied by {source}", implied_by=source)
            stack.append((dep.task, source))
    return out
