"""Lineage: which inputs (by content hash) and settings made which outputs, per stage and target.

Every stage run is one row of ``stage_runs`` keyed by ``(stage, target)`` (the target names what the run
makes: an output file or folder). A run is *fresh* when it finished, its inputs still hash the same, its
settings hash the same, and its outputs are still there unchanged; re-running a fresh stage does nothing::

    lineage = Lineage(project.catalog)
    result = run_stage(lineage, "dcp-picture", [master], {"fps": 24}, encode, target=out_dir)
    result.state  # "ran" the first time, "fresh" afterwards

Chunked jobs also record each finished chunk in ``stage_chunks`` with a fingerprint (the stage's input
hashes, its settings and the chunk's range): a killed job resumes from the chunks whose fingerprint
matches and whose outputs are still whole. Workers record their own chunks (given the catalog URL), so
what finished survives a killed driver.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import DateTime, Index, Integer, String, UniqueConstraint, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from posthouse.core.catalog import Catalog, JobRecord, as_utc
from posthouse.core.catalog.models import Base
from posthouse.core.checksum import new_hasher
from posthouse.core.errors import ProjectError
from posthouse.core.progress import Cancelled

__all__ = [
    "MISSING",
    "FileState",
    "Lineage",
    "StageChunkRecord",
    "StageResult",
    "StageRunRecord",
    "file_state",
    "fingerprint",
    "run_stage",
    "settings_hash",
    "target_key",
]

T = TypeVar("T")

MISSING = "missing"
"""The hash recorded for a path that does not exist."""

_HASH = "xxh64"


def _now() -> datetime:
    return datetime.now(UTC)


# ------------------------------------------------------------------------------------------- tables


class StageRunRecord(Base):
    """The latest run of one stage for one target: its inputs, settings and outputs, with hashes."""

    __tablename__ = "stage_runs"
    __table_args__ = (UniqueConstraint("stage", "target_key", name="uq_stage_runs_stage_target"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stage: Mapped[str] = mapped_column(String(64), index=True)
    target: Mapped[str] = mapped_column(String(4096))
    target_key: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16))  # running, done, failed
    settings_hash: Mapped[str] = mapped_column(String(32))
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    inputs: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {"files": [FileState dicts]}
    outputs: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {"files": [FileState dicts]}
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)

    def input_states(self) -> list[FileState]:
        return [FileState.from_dict(d) for d in self.inputs.get("files", [])]

    def output_states(self) -> list[FileState]:
        return [FileState.from_dict(d) for d in self.outputs.get("files", [])]


class StageChunkRecord(Base):
    """One finished chunk of a chunked stage run, with the fingerprint it was made under."""

    __tablename__ = "stage_chunks"
    __table_args__ = (
        UniqueConstraint("stage", "target_key", "chunk", name="uq_stage_chunks_stage_target_chunk"),
        Index("ix_stage_chunks_target", "stage", "target_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stage: Mapped[str] = mapped_column(String(64))
    target_key: Mapped[str] = mapped_column(String(32))
    chunk: Mapped[int] = mapped_column(Integer)
    fingerprint: Mapped[str] = mapped_column(String(32))
    outputs: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {"files": [...], "info": {...}}
    finished_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


# ------------------------------------------------------------------------------------------ hashing


@dataclass(frozen=True, slots=True)
class FileState:
    """A file or folder by content: its absolute path, xxh64 hash (``"missing"`` when absent) and size.

    A folder hashes the names and contents of every file below it (hidden names skipped), in name order.
    """

    path: str
    hash: str
    size: int = 0

    @property
    def exists(self) -> bool:
        return self.hash != MISSING

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "hash": self.hash, "size": self.size}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> FileState:
        return cls(path=str(d["path"]), hash=str(d["hash"]), size=int(d.get("size", 0)))


def _hash_into(h: Any, path: Path) -> int:
    size = 0
    with open(path, "rb") as fh:
        while block := fh.read(8 << 20):
            h.update(block)
            size += len(block)
    return size


def file_state(path: str | Path) -> FileState:
    """Hash ``path`` (a file, or a folder of files) by content."""
    p = Path(path).absolute()
    if p.is_file():
        h = new_hasher(_HASH)
        size = _hash_into(h, p)
        return FileState(str(p), h.hexdigest(), size)
    if p.is_dir():
        h = new_hasher(_HASH)
        size = 0
        files = sorted(
            f
            for f in p.rglob("*")
            if f.is_file() and not any(part.startswith(".") for part in f.relative_to(p).parts)
        )
        for f in files:
            h.update(f.relative_to(p).as_posix().encode() + b"\0")
            size += _hash_into(h, f)
            h.update(b"\0")
        return FileState(str(p), h.hexdigest(), size)
    return FileState(str(p), MISSING, 0)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def settings_hash(settings: Mapping[str, Any]) -> str:
    """A stable hash of a stage's settings (canonical JSON: key order does not matter)."""
    h = new_hasher(_HASH)
    h.update(_canonical(dict(settings)).encode())
    return h.hexdigest()


def fingerprint(*parts: Any) -> str:
    """A stable hash of any JSON-able parts (used for chunks: input hashes, settings hash, frame range)."""
    h = new_hasher("xxh128")
    h.update(_canonical(list(parts)).encode())
    return h.hexdigest()


def target_key(target: str) -> str:
    """The fixed-length key a target is indexed by."""
    h = new_hasher("xxh128")
    h.update(target.encode())
    return h.hexdigest()


def _target(stage: str, target: str | Path | None, inputs: Sequence[str | Path]) -> str:
    if target is not None:
        return str(Path(target).absolute()) if isinstance(target, Path) else target
    if not inputs:
        raise ProjectError(f"stage {stage!r} has neither a target nor inputs to name it by")
    return "|".join(sorted(str(Path(p).absolute()) for p in inputs))


# ------------------------------------------------------------------------------------------ lineage


@dataclass(frozen=True, slots=True)
class StageResult:
    """What :func:`run_stage` did: ``"fresh"`` (nothing to do) or ``"ran"``, and the run's record."""

    state: str
    stage: str
    target: str
    outputs: tuple[FileState, ...] = ()
    value: Any = None
    reasons: tuple[str, ...] = field(default_factory=tuple)

    @property
    def fresh(self) -> bool:
        return self.state == "fresh"


class Lineage:
    """Stage-run and chunk records in a project's catalog (upgraded to the newest schema on open)."""

    def __init__(self, catalog: Catalog | str, *, upgrade: bool = True, log_jobs: bool = True) -> None:
        self._owns = isinstance(catalog, str)
        self.catalog = Catalog(catalog) if isinstance(catalog, str) else catalog
        self.log_jobs = log_jobs
        if upgrade:
            self.catalog.upgrade()

    @property
    def url(self) -> str:
        return self.catalog.url

    def close(self) -> None:
        """Close the catalog when this object opened it."""
        if self._owns:
            self.catalog.close()

    def __enter__(self) -> Lineage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --------------------------------------------------------------------------------------- runs

    def run(self, stage: str, target: str) -> StageRunRecord | None:
        """The recorded run of ``stage`` for ``target`` (``None`` when never run)."""
        with self.catalog.session() as s:
            return s.scalars(
                select(StageRunRecord).where(
                    StageRunRecord.stage == stage, StageRunRecord.target_key == target_key(target)
                )
            ).one_or_none()

    def runs(self, stage: str | None = None) -> list[StageRunRecord]:
        """Every recorded run, by stage and target."""
        stmt = select(StageRunRecord).order_by(StageRunRecord.stage, StageRunRecord.target)
        if stage:
            stmt = stmt.where(StageRunRecord.stage == stage)
        with self.catalog.session() as s:
            return list(s.scalars(stmt))

    def why_stale(
        self,
        stage: str,
        inputs: Sequence[str | Path],
        settings: Mapping[str, Any],
        *,
        target: str | Path | None = None,
        input_states: Sequence[FileState] | None = None,
    ) -> list[str]:
        """Why ``stage`` must run for these inputs and settings (empty when it is fresh)."""
        name = _target(stage, target, inputs)
        row = self.run(stage, name)
        if row is None:
            return ["never run"]
        if row.state != "done":
            return [f"last run did not finish ({row.state})"]
        reasons: list[str] = []
        if row.settings_hash != settings_hash(settings):
            changed = sorted(
                k
                for k in set(row.settings) | set(settings)
                if _canonical(row.settings.get(k)) != _canonical(settings.get(k))
            )
            reasons.append(f"settings changed: {', '.join(changed) or 'values'}")
        states = list(input_states) if input_states is not None else [file_state(p) for p in inputs]
        reasons += _compare(row.input_states(), states, "input")
        reasons += _compare_outputs(row.output_states())
        return reasons

    def is_fresh(
        self,
        stage: str,
        inputs: Sequence[str | Path],
        settings: Mapping[str, Any],
        *,
        target: str | Path | None = None,
    ) -> bool:
        """True when ``stage`` ran to the end with these inputs (same content) and settings, and its
        outputs are still there unchanged: running it again would do nothing new."""
        return not self.why_stale(stage, inputs, settings, target=target)

    def begin(
        self,
        stage: str,
        inputs: Sequence[str | Path] | Sequence[FileState],
        settings: Mapping[str, Any],
        *,
        target: str | Path | None = None,
    ) -> str:
        """Mark a run of ``stage`` as started (state ``running``); returns the target name.

        With ``log_jobs`` the run is also a job in the catalog's job log (kind = the stage), which
        :meth:`record` ends; a run of the same target left ``running`` by a killed job is closed as
        ``interrupted`` at its last finished chunk, so the time it did spend is still accounted for.
        """
        states = _states(inputs)
        name = _target(stage, target, [s.path for s in states])
        self._upsert(stage, name, "running", settings, states, [], finished=False)
        if self.log_jobs:
            self._close_interrupted_jobs(stage, name)
            self.catalog.start_job(stage, {"target": name})
        return name

    def record(
        self,
        stage: str,
        inputs: Sequence[str | Path] | Sequence[FileState],
        settings: Mapping[str, Any],
        outputs: Sequence[str | Path] | Sequence[FileState],
        *,
        target: str | Path | None = None,
        state: str = "done",
    ) -> StageRunRecord:
        """Record a finished run: its inputs and outputs are hashed now (unless given as FileStates)."""
        in_states = _states(inputs)
        name = _target(stage, target, [s.path for s in in_states])
        row = self._upsert(stage, name, state, settings, in_states, _states(outputs), finished=True)
        if self.log_jobs:
            for job in self._running_jobs(stage, name):
                self.catalog.finish_job(job.id, "done" if state == "done" else state)
        return row

    @contextmanager
    def batch_job(self, kind: str, total: int, **params: Any) -> Iterator[dict[str, int]]:
        """Log a batch (a dailies or QC batch on the farm) as one job; set ``counts["failed"]`` inside
        (and ``counts["total"]`` when the number of items is known only once it ran).

        The job ends ``done``, ``partial`` (some items failed), ``cancelled`` or ``failed`` (it raised).
        Nothing is logged when ``log_jobs`` is off.
        """
        counts = {"failed": 0}
        job = self.catalog.start_job(kind, dict(params), total=total) if self.log_jobs else None
        try:
            yield counts
        except BaseException as exc:
            if job is not None:
                state = "cancelled" if isinstance(exc, (Cancelled, KeyboardInterrupt)) else "failed"
                self.catalog.finish_job(job, state, failed=counts["failed"], message=str(exc)[:500])
            raise
        if job is not None:
            bad, n = counts["failed"], counts.get("total", total)
            self.catalog.finish_job(job, "partial" if bad else "done", done=n - bad, failed=bad, total=n)

    @contextmanager
    def jobs_end_on_error(self, stage: str, target: str) -> Iterator[None]:
        """Around a run's work: an error or a cancel ends its logged job (``failed``, ``cancelled``) and
        propagates; the run itself stays unfinished, so it runs again."""
        try:
            yield
        except BaseException as exc:
            state = "cancelled" if isinstance(exc, (Cancelled, KeyboardInterrupt)) else "failed"
            self.end_jobs(stage, target, state, str(exc))
            raise

    def end_jobs(self, stage: str, target: str, state: str, message: str | None = None) -> None:
        """End the logged job of a run that stopped without a :meth:`record` (it failed, was cancelled);
        the run itself stays unfinished, so it runs again."""
        if self.log_jobs:
            for job in self._running_jobs(stage, target):
                self.catalog.finish_job(job.id, state, message=(message or "")[:500] or None)

    def _running_jobs(self, stage: str, name: str) -> list[JobRecord]:
        return [j for j in self.catalog.jobs(kind=stage, state="running") if j.params.get("target") == name]

    def _close_interrupted_jobs(self, stage: str, name: str) -> None:
        chunks = self.chunks(stage, name)
        last = max((c.finished_at for c in chunks.values()), default=None)
        for job in self._running_jobs(stage, name):
            started = as_utc(job.started_at)
            end = max(started, as_utc(last)) if last is not None else started
            self.catalog.finish_job(job.id, "interrupted", finished=end, message="the job stopped unfinished")

    def _upsert(
        self,
        stage: str,
        name: str,
        state: str,
        settings: Mapping[str, Any],
        inputs: Sequence[FileState],
        outputs: Sequence[FileState],
        *,
        finished: bool,
    ) -> StageRunRecord:
        key = target_key(name)
        with self.catalog.session() as s:
            row = s.scalars(
                select(StageRunRecord).where(StageRunRecord.stage == stage, StageRunRecord.target_key == key)
            ).one_or_none()
            if row is None:
                row = StageRunRecord(stage=stage, target=name, target_key=key)
                s.add(row)
            row.state = state
            row.settings = json.loads(_canonical(dict(settings)))
            row.settings_hash = settings_hash(settings)
            row.inputs = {"files": [x.to_dict() for x in inputs]}
            row.outputs = {"files": [x.to_dict() for x in outputs]}
            if finished:
                row.finished_at = _now()
            else:
                row.started_at, row.finished_at = _now(), None
            s.flush()
            return row

    def forget(self, stage: str, target: str) -> None:
        """Drop the records of ``stage`` for ``target`` (its run and its chunks)."""
        key = target_key(target)
        with self.catalog.session() as s:
            s.execute(
                delete(StageRunRecord).where(StageRunRecord.stage == stage, StageRunRecord.target_key == key)
            )
            s.execute(
                delete(StageChunkRecord).where(
                    StageChunkRecord.stage == stage, StageChunkRecord.target_key == key
                )
            )

    # ------------------------------------------------------------------------------------- chunks

    def chunks(self, stage: str, target: str) -> dict[int, StageChunkRecord]:
        """The finished chunks recorded for ``stage`` and ``target``, by chunk index."""
        key = target_key(target)
        with self.catalog.session() as s:
            rows = s.scalars(
                select(StageChunkRecord).where(
                    StageChunkRecord.stage == stage, StageChunkRecord.target_key == key
                )
            )
            return {r.chunk: r for r in rows}

    def record_chunk(
        self, stage: str, target: str, chunk: int, chunk_fingerprint: str, outputs: Mapping[str, Any]
    ) -> None:
        """Record that ``chunk`` finished under ``chunk_fingerprint`` (replacing an older record)."""
        key = target_key(target)
        for attempt in range(3):
            try:
                with self.catalog.session() as s:
                    row = s.scalars(
                        select(StageChunkRecord).where(
                            StageChunkRecord.stage == stage,
                            StageChunkRecord.target_key == key,
                            StageChunkRecord.chunk == chunk,
                        )
                    ).one_or_none()
                    if row is None:
                        row = StageChunkRecord(stage=stage, target_key=key, chunk=chunk)
                        s.add(row)
                    row.fingerprint = chunk_fingerprint
                    row.outputs = json.loads(_canonical(dict(outputs)))
                    row.finished_at = _now()
                return
            except IntegrityError:  # another worker recorded the same chunk at the same moment
                if attempt == 2:
                    raise

    def clear_chunks(self, stage: str, target: str) -> None:
        """Forget the chunk records of ``stage`` for ``target`` (after the joined output is recorded)."""
        key = target_key(target)
        with self.catalog.session() as s:
            s.execute(
                delete(StageChunkRecord).where(
                    StageChunkRecord.stage == stage, StageChunkRecord.target_key == key
                )
            )


def _states(items: Sequence[str | Path] | Sequence[FileState]) -> list[FileState]:
    return [x if isinstance(x, FileState) else file_state(x) for x in items]


def _compare(recorded: Sequence[FileState], current: Sequence[FileState], what: str) -> list[str]:
    reasons: list[str] = []
    before = {s.path: s for s in recorded}
    now = {s.path: s for s in current}
    for path in sorted(set(before) | set(now)):
        old, new = before.get(path), now.get(path)
        if old is None:
            reasons.append(f"new {what}: {path}")
        elif new is None:
            reasons.append(f"{what} no longer used: {path}")
        elif not new.exists:
            reasons.append(f"{what} missing: {path}")
        elif old.hash != new.hash:
            reasons.append(f"{what} changed: {path}")
    return reasons


def _compare_outputs(recorded: Sequence[FileState]) -> list[str]:
    reasons: list[str] = []
    for old in recorded:
        if not os.path.exists(old.path):
            reasons.append(f"output missing: {old.path}")
            continue
        if file_state(old.path).hash != old.hash:
            reasons.append(f"output changed: {old.path}")
    return reasons


def run_stage(
    lineage: Lineage | None,
    stage: str,
    inputs: Sequence[str | Path],
    settings: Mapping[str, Any],
    work: Callable[[], T],
    *,
    outputs: Iterable[str | Path] | Callable[[T], Iterable[str | Path]] = (),
    target: str | Path | None = None,
    force: bool = False,
) -> StageResult:
    """Run ``work()`` unless ``stage`` is fresh for these inputs and settings, then record what it made.

    ``outputs`` are the paths it writes (or a function of ``work``'s value giving them). With
    ``lineage=None`` the work always runs and nothing is recorded. A run that raises is left recorded as
    ``running`` (so ``posthouse status`` shows it unfinished) and the error propagates.
    """
    name = _target(stage, target, inputs)
    if lineage is None:
        return StageResult("ran", stage, name, value=work())
    in_states = [file_state(p) for p in inputs]
    reasons = (
        ["forced"]
        if force
        else lineage.why_stale(stage, inputs, settings, target=name, input_states=in_states)
    )
    if not reasons:
        row = lineage.run(stage, name)
        outs = tuple(row.output_states()) if row is not None else ()
        return StageResult("fresh", stage, name, outs)
    lineage.begin(stage, in_states, settings, target=name)
    with lineage.jobs_end_on_error(stage, name):
        value = work()
    out_paths = list(outputs(value) if callable(outputs) else outputs)
    row = lineage.record(stage, in_states, settings, out_paths, target=name)
    return StageResult("ran", stage, name, tuple(row.output_states()), value, tuple(reasons))
