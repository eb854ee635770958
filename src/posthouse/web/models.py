"""The review room's tables (created by migration ``0004``): users, sessions, share links and notes.

They live in the project's catalog database next to the departments' tables but on their own declarative
base, so the catalog's core models stay untouched.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = ["NoteRecord", "ReviewBase", "SessionRecord", "ShareRecord", "UserRecord"]


def _now() -> datetime:
    return datetime.now(UTC)


class ReviewBase(DeclarativeBase):
    """Declarative base of the review tables (schema owned by the catalog's Alembic migrations)."""


class UserRecord(ReviewBase):
    """A review-room account: name, argon2 password hash and role (see :data:`posthouse.web.auth.ROLES`)."""

    __tablename__ = "review_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class ShareRecord(ReviewBase):
    """An expiring share link to one cut version; only the SHA-256 of its token is stored."""

    __tablename__ = "review_shares"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    cut: Mapped[str] = mapped_column(String(255))
    version: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(16), default="reviewer")
    created_by: Mapped[str | None] = mapped_column(String(128), default=None)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    expires: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SessionRecord(ReviewBase):
    """A browser session (of a user, or of a share link's guest) with its CSRF token."""

    __tablename__ = "review_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("review_users.id", ondelete="CASCADE"), default=None
    )
    share_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("review_shares.id", ondelete="CASCADE"), default=None
    )
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    expires: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class NoteRecord(ReviewBase):
    """A note on a cut version at record ``frame`` (0 = the cut's first frame), ``duration`` frames long."""

    __tablename__ = "review_notes"
    __table_args__ = (Index("ix_review_notes_cut_version", "cut", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cut: Mapped[str] = mapped_column(String(255))
    version: Mapped[int] = mapped_column(Integer)
    frame: Mapped[int] = mapped_column(Integer)
    duration: Mapped[int] = mapped_column(Integer, default=0)
    text: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), default="open")
    cue: Mapped[str | None] = mapped_column(String(16), default=None)
    drawing: Mapped[Any] = mapped_column(JSON, nullable=True, default=None)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    updated: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, onupdate=_now)
