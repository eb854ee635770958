"""The catalog database: an engine, sessions, and schema upgrades through Alembic.

SQLite by default (a file inside the project); any SQLAlchemy URL (``postgresql+psycopg://...``) works
unchanged because the schema is created by migrations, never by ``create_all``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, select
from sqlalchemy.orm import Session, sessionmaker

from posthouse.core.catalog.models import JobRecord, MediaRecord, VfxVersionRecord
from posthouse.core.errors import ProjectError

__all__ = ["Catalog", "as_utc", "sqlite_url"]


def as_utc(dt: datetime) -> datetime:
    """A catalog time as an aware UTC datetime: SQLite hands them back naive, and all are stored as UTC."""
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)


def sqlite_url(path: str | Path) -> str:
    """The SQLAlchemy URL of a SQLite file."""
    return f"sqlite:///{Path(path).resolve()}"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")  # readers (the review room) never block the writer
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


class Catalog:
    """A handle on one project's catalog database."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine = create_engine(url, future=True)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def upgrade(self) -> None:
        """Bring the schema to the newest migration (idempotent)."""
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", "posthouse.core:migrations")
        cfg.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        try:
            with self.engine.begin() as conn:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "heads")
        except Exception as exc:
            raise ProjectError(f"cannot upgrade the catalog database: {exc}", path=self.url) from exc

    def revision(self) -> str | None:
        """The schema revision the database is at (``None`` for an empty database; heads joined by commas)."""
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as conn:
            heads = MigrationContext.configure(conn).get_current_heads()
        return ",".join(sorted(heads)) if heads else None

    def tables(self) -> list[str]:
        return sorted(inspect(self.engine).get_table_names())

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on error."""
        with self._sessions() as s, s.begin():
            yield s

    def media(self, *, kind: str | None = None) -> list[MediaRecord]:
        """All media records, optionally of one kind, ordered by path."""
        stmt = select(MediaRecord).order_by(MediaRecord.path)
        if kind:
            stmt = stmt.where(MediaRecord.kind == kind)
        with self.session() as s:
            return list(s.scalars(stmt))

    # ------------------------------------------------------------------------------------ job log

    def start_job(self, kind: str, params: dict[str, Any] | None = None, *, total: int | None = None) -> int:
        """Log a job as running from now (the cost report charges its hours once it ends); returns its id."""
        with self.session() as s:
            row = JobRecord(kind=kind, state="running", params=dict(params or {}), total=total)
            s.add(row)
            s.flush()
            return int(row.id)

    def finish_job(
        self,
        job_id: int,
        state: str = "done",
        *,
        done: int | None = None,
        failed: int = 0,
        total: int | None = None,
        message: str | None = None,
        finished: datetime | None = None,
    ) -> None:
        """Mark a logged job ended (``done``, ``partial``, ``failed``, ``cancelled``, ``interrupted``)."""
        with self.session() as s:
            row = s.get(JobRecord, job_id)
            if row is None:
                raise ProjectError(f"no job {job_id} in the catalog", path=self.url)
            row.state = state
            row.finished_at = finished or datetime.now(UTC)
            if done is not None:
                row.done = done
            if total is not None:
                row.total = total
            row.failed = failed
            row.message = message

    def log_job(
        self,
        kind: str,
        started: datetime,
        finished: datetime,
        *,
        state: str = "done",
        params: dict[str, Any] | None = None,
    ) -> int:
        """Log a job that already ran from ``started`` to ``finished``; returns its id."""
        with self.session() as s:
            row = JobRecord(
                kind=kind, state=state, params=dict(params or {}), started_at=started, finished_at=finished
            )
            s.add(row)
            s.flush()
            return int(row.id)

    def jobs(self, *, kind: str | None = None, state: str | None = None) -> list[JobRecord]:
        """The logged jobs, oldest first, optionally of one kind and state."""
        stmt = select(JobRecord).order_by(JobRecord.id)
        if kind:
            stmt = stmt.where(JobRecord.kind == kind)
        if state:
            stmt = stmt.where(JobRecord.state == state)
        with self.session() as s:
            return list(s.scalars(stmt))

    def record_vfx_version(
        self,
        *,
        shot: str,
        task: str,
        version: int,
        path: str,
        first: int | None,
        last: int | None,
        frames: int,
        width: int | None,
        height: int | None,
        status: str,
        reason: str | None = None,
    ) -> VfxVersionRecord:
        """Add one delivered VFX version, or refresh it when ``(shot, task, version)`` is known already.

        A re-delivery of an approved version that still validates keeps its approval.
        """
        with self.session() as s:
            row = s.scalars(
                select(VfxVersionRecord).where(
                    VfxVersionRecord.shot == shot,
                    VfxVersionRecord.task == task,
                    VfxVersionRecord.version == version,
                )
            ).one_or_none()
            if row is None:
                row = VfxVersionRecord(shot=shot, task=task, version=version, status=status)
                s.add(row)
            elif not (row.status == "approved" and status == "submitted"):
                row.status = status
            row.path, row.first, row.last, row.frames = path, first, last, frames
            row.width, row.height, row.reason = width, height, reason
            s.flush()
            return row

    def vfx_versions(self, *, shot: str | None = None, status: str | None = None) -> list[VfxVersionRecord]:
        """VFX versions ordered by shot, task and version, optionally of one shot and/or status."""
        stmt = select(VfxVersionRecord).order_by(
            VfxVersionRecord.shot, VfxVersionRecord.task, VfxVersionRecord.version
        )
        if shot:
            stmt = stmt.where(VfxVersionRecord.shot == shot)
        if status:
            stmt = stmt.where(VfxVersionRecord.status == status)
        with self.session() as s:
            return list(s.scalars(stmt))

    def set_vfx_status(
        self, shot: str, version: int, status: str, *, task: str | None = None, reason: str | None = None
    ) -> VfxVersionRecord:
        """Set the status of one version; ``task`` is needed only when two tasks share the number."""
        stmt = select(VfxVersionRecord).where(
            VfxVersionRecord.shot == shot, VfxVersionRecord.version == version
        )
        if task:
            stmt = stmt.where(VfxVersionRecord.task == task)
        with self.session() as s:
            rows = list(s.scalars(stmt))
            if not rows:
                raise ProjectError(
                    f"no VFX version {shot} v{version:03d}{f' ({task})' if task else ''} in the catalog",
                    path=self.url,
                    hint="ingest the delivery first",
                )
            if len(rows) > 1:
                tasks = ", ".join(sorted(r.task for r in rows))
                raise ProjectError(
                    f"{shot} v{version:03d} exists for several tasks ({tasks})", hint="name the task"
                )
            row = rows[0]
            row.status = status
            if reason is not None:
                row.reason = reason
            s.flush()
            return row

    def latest_approved_vfx(self, shot: str) -> VfxVersionRecord | None:
        """The approved version of ``shot`` with the highest number (``None`` when none is approved)."""
        stmt = (
            select(VfxVersionRecord)
            .where(VfxVersionRecord.shot == shot, VfxVersionRecord.status == "approved")
            .order_by(VfxVersionRecord.version.desc(), VfxVersionRecord.created.desc())
            .limit(1)
        )
        with self.session() as s:
            return s.scalars(stmt).one_or_none()

    def close(self) -> None:
        self.engine.dispose()
