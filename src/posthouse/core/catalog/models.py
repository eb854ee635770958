"""The catalog's tables (SQLAlchemy 2 typed ORM). Schema changes go through Alembic migrations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = ["Base", "JobRecord", "MediaRecord", "SyncRecord", "VfxVersionRecord"]


def _now() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[str]: JSON}


class MediaRecord(Base):
    """One probed media file: where it is, what it is, and whether it is damaged."""

    __tablename__ = "media"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    path: Mapped[str] = mapped_column(String(4096), unique=True, index=True)
    kind: Mapped[str] = mapped_column(String(16))  # video, audio, unknown
    role: Mapped[str | None] = mapped_column(String(16), default=None)  # picture, sound
    size: Mapped[int] = mapped_column(BigInteger)
    mtime_ns: Mapped[int] = mapped_column(BigInteger)
    xxh64: Mapped[str | None] = mapped_column(String(16), default=None, index=True)
    format: Mapped[str | None] = mapped_column(String(64), default=None)
    codec: Mapped[str | None] = mapped_column(String(64), default=None)
    width: Mapped[int | None] = mapped_column(Integer, default=None)
    height: Mapped[int | None] = mapped_column(Integer, default=None)
    rate: Mapped[str | None] = mapped_column(String(32), default=None)  # exact fraction, e.g. 24000/1001
    frames: Mapped[int | None] = mapped_column(BigInteger, default=None)
    channels: Mapped[int | None] = mapped_column(Integer, default=None)
    sample_rate: Mapped[int | None] = mapped_column(Integer, default=None)
    samples: Mapped[int | None] = mapped_column(BigInteger, default=None)
    duration: Mapped[str | None] = mapped_column(String(64), default=None)  # exact seconds as a fraction
    start_timecode: Mapped[str | None] = mapped_column(String(16), default=None)
    reel: Mapped[str | None] = mapped_column(String(128), default=None, index=True)
    scene: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    take: Mapped[str | None] = mapped_column(String(32), default=None)
    circled: Mapped[bool | None] = mapped_column(Boolean, default=None)
    camera: Mapped[str | None] = mapped_column(String(16), default=None, index=True)
    clip: Mapped[str | None] = mapped_column(String(128), default=None)  # clip name, e.g. A001C003
    shoot_day: Mapped[str | None] = mapped_column(String(10), default=None, index=True)  # yyyy-mm-dd
    end_timecode: Mapped[str | None] = mapped_column(String(16), default=None)
    time_reference: Mapped[int | None] = mapped_column(BigInteger, default=None)  # BWF samples since midnight
    meta_sources: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # field -> where it came from
    damaged: Mapped[bool] = mapped_column(Boolean, default=False)
    problems: Mapped[list[str]] = mapped_column(JSON, default=list)
    probe: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, onupdate=_now)

    def to_dict(self) -> dict[str, Any]:
        keys = (
            "path",
            "kind",
            "role",
            "size",
            "xxh64",
            "format",
            "codec",
            "width",
            "height",
            "rate",
            "frames",
            "channels",
            "sample_rate",
            "samples",
            "duration",
            "start_timecode",
            "reel",
            "scene",
            "take",
            "circled",
            "damaged",
            "problems",
        )
        return {k: getattr(self, k) for k in keys}


class SyncRecord(Base):
    """The latest sync of one picture clip with its production sound."""

    __tablename__ = "syncs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    picture_id: Mapped[int] = mapped_column(ForeignKey("media.id", ondelete="CASCADE"), unique=True)
    sound_id: Mapped[int | None] = mapped_column(ForeignKey("media.id", ondelete="SET NULL"), default=None)
    take: Mapped[str] = mapped_column(String(64), index=True)
    method: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), index=True)  # synced, conflict, unsynced
    offset_samples: Mapped[int | None] = mapped_column(BigInteger, default=None)
    offset_frames: Mapped[float | None] = mapped_column(Float, default=None)
    drift_ppm: Mapped[float | None] = mapped_column(Float, default=None)
    confidence: Mapped[float] = mapped_column(Float, default=0.0)
    timecode_offset_samples: Mapped[int | None] = mapped_column(BigInteger, default=None)
    notes: Mapped[list[str]] = mapped_column(JSON, default=list)
    synced_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, onupdate=_now)


class JobRecord(Base):
    """One run of a long step: what it was asked, how far it came, how it ended."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(64), index=True)
    state: Mapped[str] = mapped_column(
        String(16), default="running"
    )  # running, done, partial, failed, cancelled
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    total: Mapped[int | None] = mapped_column(Integer, default=None)
    done: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str | None] = mapped_column(Text, default=None)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class VfxVersionRecord(Base):
    """One delivered version of a VFX shot (``SH010_comp_v002``): where it is, what it holds, its status."""

    __tablename__ = "vfx_versions"
    __table_args__ = (UniqueConstraint("shot", "task", "version", name="uq_vfx_versions_shot_task_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shot: Mapped[str] = mapped_column(String(64), index=True)
    task: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    path: Mapped[str] = mapped_column(String(4096))
    first: Mapped[int | None] = mapped_column(Integer, default=None)
    last: Mapped[int | None] = mapped_column(Integer, default=None)
    frames: Mapped[int] = mapped_column(Integer, default=0)
    width: Mapped[int | None] = mapped_column(Integer, default=None)
    height: Mapped[int | None] = mapped_column(Integer, default=None)
    status: Mapped[str] = mapped_column(String(16), index=True)  # submitted, approved, rejected
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)

    def to_dict(self) -> dict[str, Any]:
        keys = ("shot", "task", "version", "path", "first", "last", "frames", "width", "height", "status")
        out: dict[str, Any] = {k: getattr(self, k) for k in keys}
        out["reason"] = self.reason
        out["created"] = self.created.isoformat() if self.created else None
        return out
