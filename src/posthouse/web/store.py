"""The review room's records in the project catalog: users, sessions, share links and notes.

Every method opens its own short transaction on the catalog's engine (SQLite or PostgreSQL) and returns
plain frozen dataclasses, never live ORM rows.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from posthouse.core.catalog import Catalog, as_utc
from posthouse.core.errors import ProjectError, UsageError
from posthouse.web.auth import check_role, hash_password, hash_token, new_token, verify_password
from posthouse.web.models import NoteRecord, SessionRecord, ShareRecord, UserRecord

__all__ = [
    "CUE_KINDS",
    "NOTE_STATUSES",
    "Note",
    "ReviewStore",
    "SessionInfo",
    "Share",
    "User",
    "check_drawing",
]

NOTE_STATUSES: Final = ("open", "addressed")
CUE_KINDS: Final = ("adr", "music", "vfx")
SESSION_HOURS: Final = 12.0
MAX_TEXT: Final = 10_000
MAX_STROKES: Final = 200
MAX_POINTS: Final = 5_000


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class User:
    """An account."""

    id: int
    name: str
    role: str
    created: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "role": self.role, "created": self.created.isoformat()}


@dataclass(frozen=True, slots=True)
class Share:
    """A share link (its token is known only to whoever received it)."""

    id: int
    cut: str
    version: int
    role: str
    created_by: str | None
    expires: datetime

    @property
    def expired(self) -> bool:
        return self.expires <= _now()


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """A live session: a user's, or a share link guest's (then ``share`` is set and ``user`` is None)."""

    id: int
    csrf: str
    expires: datetime
    user: User | None
    share: Share | None

    @property
    def role(self) -> str:
        if self.user is not None:
            return self.user.role
        return self.share.role if self.share is not None else "reviewer"

    @property
    def name(self) -> str:
        return self.user.name if self.user is not None else "guest"


@dataclass(frozen=True, slots=True)
class Note:
    """A note on cut version ``cut@v{version}`` at record frames ``[frame, frame + duration)``."""

    id: int
    cut: str
    version: int
    frame: int
    duration: int
    text: str
    author: str
    status: str
    cue: str | None
    drawing: list[list[list[float]]] | None
    created: datetime
    updated: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "cut": self.cut,
            "version": self.version,
            "frame": self.frame,
            "duration": self.duration,
            "text": self.text,
            "author": self.author,
            "status": self.status,
            "cue": self.cue,
            "drawing": self.drawing,
            "created": self.created.isoformat(),
            "updated": self.updated.isoformat(),
        }


def _user(row: UserRecord) -> User:
    return User(row.id, row.name, row.role, as_utc(row.created))


def _share(row: ShareRecord) -> Share:
    return Share(row.id, row.cut, row.version, row.role, row.created_by, as_utc(row.expires))


def _note(row: NoteRecord) -> Note:
    return Note(
        row.id,
        row.cut,
        row.version,
        row.frame,
        row.duration,
        row.text,
        row.author,
        row.status,
        row.cue,
        row.drawing,
        as_utc(row.created),
        as_utc(row.updated),
    )


def check_drawing(drawing: Any) -> list[list[list[float]]] | None:
    """A drawing over the frame: strokes of ``[x, y]`` points in 0–1 picture coordinates (or None)."""
    if drawing is None:
        return None
    bad = UsageError("a drawing is a list of strokes, each a list of [x, y] points between 0 and 1")
    if not isinstance(drawing, list) or len(drawing) > MAX_STROKES:
        raise bad
    out: list[list[list[float]]] = []
    total = 0
    for stroke in drawing:
        if not isinstance(stroke, list):
            raise bad
        pts: list[list[float]] = []
        for pt in stroke:
            if (
                not isinstance(pt, list | tuple)
                or len(pt) != 2
                or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in pt)
                or not all(0.0 <= float(v) <= 1.0 for v in pt)
            ):
                raise bad
            pts.append([round(float(pt[0]), 4), round(float(pt[1]), 4)])
        total += len(pts)
        if pts:
            out.append(pts)
    if total > MAX_POINTS:
        raise UsageError(f"a drawing may have at most {MAX_POINTS} points")
    return out or None


class ReviewStore:
    """Users, sessions, share links and notes in one project's catalog."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    # users ---------------------------------------------------------------------------------------------

    def add_user(self, name: str, password: str, role: str = "reviewer") -> User:
        """Create an account; refuses a name that exists."""
        name = name.strip()
        if not name or len(name) > 128:
            raise UsageError("a user name needs 1 to 128 characters")
        row = UserRecord(name=name, password_hash=hash_password(password), role=check_role(role))
        try:
            with self.catalog.session() as s:
                s.add(row)
                s.flush()
                return _user(row)
        except IntegrityError:
            raise UsageError(f"user {name!r} exists already", hint="use `posthouse users passwd`") from None

    def users(self) -> list[User]:
        """Every account, by name."""
        with self.catalog.session() as s:
            return [_user(r) for r in s.scalars(select(UserRecord).order_by(UserRecord.name))]

    def set_password(self, name: str, password: str, *, role: str | None = None) -> User:
        """Change a user's password (and role when given); their open sessions end."""
        digest = hash_password(password)
        with self.catalog.session() as s:
            row = s.scalars(select(UserRecord).where(UserRecord.name == name)).one_or_none()
            if row is None:
                raise UsageError(f"no user {name!r}", hint="add one with `posthouse users add`")
            row.password_hash = digest
            if role is not None:
                row.role = check_role(role)
            s.execute(delete(SessionRecord).where(SessionRecord.user_id == row.id))
            s.flush()
            return _user(row)

    def authenticate(self, name: str, password: str) -> User | None:
        """The user when ``password`` is theirs, else None."""
        with self.catalog.session() as s:
            row = s.scalars(select(UserRecord).where(UserRecord.name == name)).one_or_none()
            if row is None:
                verify_password(_dummy_hash(), password)  # same work whether or not the name exists
                return None
            return _user(row) if verify_password(row.password_hash, password) else None

    # sessions ------------------------------------------------------------------------------------------

    def open_session(
        self, *, user: User | None = None, share: Share | None = None, hours: float = SESSION_HOURS
    ) -> tuple[str, SessionInfo]:
        """A new session token (give it to the browser; only its hash is stored) and the session."""
        if (user is None) == (share is None):
            raise UsageError("a session belongs to a user or to a share link")
        token = new_token()
        expires = _now() + timedelta(hours=hours)
        if share is not None:
            expires = min(expires, share.expires)
        row = SessionRecord(
            token_hash=hash_token(token),
            csrf=new_token(24),
            user_id=user.id if user else None,
            share_id=share.id if share else None,
            expires=expires,
        )
        with self.catalog.session() as s:
            s.add(row)
            s.flush()
            return token, SessionInfo(row.id, row.csrf, expires, user, share)

    def session(self, token: str | None) -> SessionInfo | None:
        """The live session of ``token`` (None when unknown or expired, or its share link expired)."""
        if not token or len(token) > 256:
            return None
        now = _now()
        with self.catalog.session() as s:
            row = s.scalars(
                select(SessionRecord).where(SessionRecord.token_hash == hash_token(token))
            ).one_or_none()
            if row is None:
                return None
            if as_utc(row.expires) <= now:
                s.delete(row)
                return None
            user = share = None
            if row.user_id is not None:
                u = s.get(UserRecord, row.user_id)
                user = _user(u) if u is not None else None
            if row.share_id is not None:
                sh = s.get(ShareRecord, row.share_id)
                share = _share(sh) if sh is not None else None
                if share is None or share.expired:
                    return None
            if user is None and share is None:
                return None
            return SessionInfo(row.id, row.csrf, as_utc(row.expires), user, share)

    def close_session(self, token: str | None) -> None:
        """End a session (log out)."""
        if token:
            with self.catalog.session() as s:
                s.execute(delete(SessionRecord).where(SessionRecord.token_hash == hash_token(token)))

    # share links ---------------------------------------------------------------------------------------

    def create_share(
        self, cut: str, version: int, *, hours: float = 48.0, created_by: str | None = None
    ) -> tuple[str, Share]:
        """A new share link token for one cut version, valid ``hours`` from now (role reviewer)."""
        if not 0 < hours <= 24 * 365:
            raise UsageError(f"a share link lasts more than 0 and at most 8760 hours, not {hours}")
        token = new_token()
        row = ShareRecord(
            token_hash=hash_token(token),
            cut=cut,
            version=version,
            role="reviewer",
            created_by=created_by,
            expires=_now() + timedelta(hours=hours),
        )
        with self.catalog.session() as s:
            s.add(row)
            s.flush()
            return token, _share(row)

    def share(self, token: str) -> Share | None:
        """The share link of ``token``, expired or not (None when unknown)."""
        if not token or len(token) > 256:
            return None
        with self.catalog.session() as s:
            row = s.scalars(
                select(ShareRecord).where(ShareRecord.token_hash == hash_token(token))
            ).one_or_none()
            return _share(row) if row is not None else None

    def shares(self) -> list[Share]:
        """Every share link, newest first."""
        with self.catalog.session() as s:
            return [_share(r) for r in s.scalars(select(ShareRecord).order_by(ShareRecord.id.desc()))]

    # notes ---------------------------------------------------------------------------------------------

    def add_note(
        self,
        cut: str,
        version: int,
        *,
        frame: int,
        text: str,
        author: str,
        duration: int = 0,
        drawing: Any = None,
        length: int | None = None,
    ) -> Note:
        """Add an open note at record ``frame`` (``length``: the cut's frames, to check the range)."""
        text = text.strip()
        if not text:
            raise UsageError("a note needs some text")
        if len(text) > MAX_TEXT:
            raise UsageError(f"a note may have at most {MAX_TEXT} characters")
        if isinstance(frame, bool) or not isinstance(frame, int) or frame < 0:
            raise UsageError(f"a note's frame must be a whole number ≥ 0, not {frame!r}")
        if isinstance(duration, bool) or not isinstance(duration, int) or duration < 0:
            raise UsageError(f"a note's duration must be a whole number ≥ 0, not {duration!r}")
        if length is not None and (frame >= length or frame + duration > length):
            raise UsageError(f"frames {frame}–{frame + duration} are outside the cut (0–{length - 1})")
        row = NoteRecord(
            cut=cut,
            version=version,
            frame=frame,
            duration=duration,
            text=text,
            author=(author.strip() or "anonymous")[:128],
            status="open",
            drawing=check_drawing(drawing),
        )
        with self.catalog.session() as s:
            s.add(row)
            s.flush()
            return _note(row)

    def notes(self, cut: str, version: int) -> list[Note]:
        """The notes of one cut version in record order."""
        stmt = (
            select(NoteRecord)
            .where(NoteRecord.cut == cut, NoteRecord.version == version)
            .order_by(NoteRecord.frame, NoteRecord.id)
        )
        with self.catalog.session() as s:
            return [_note(r) for r in s.scalars(stmt)]

    def note(self, note_id: int) -> Note:
        """One note by id."""
        with self.catalog.session() as s:
            row = s.get(NoteRecord, note_id)
            if row is None:
                raise ProjectError(f"no note {note_id}", path=self.catalog.url)
            return _note(row)

    def update_note(self, note_id: int, *, status: str | None = None, cue: str | None = None) -> Note:
        """Set a note's status (open, addressed) and/or turn it into a cue (adr, music, vfx; "" clears)."""
        if status is not None and status not in NOTE_STATUSES:
            raise UsageError(f"unknown note status {status!r}", hint=f"use {' or '.join(NOTE_STATUSES)}")
        if cue is not None and cue not in (*CUE_KINDS, ""):
            raise UsageError(f"unknown cue kind {cue!r}", hint=f"use one of {', '.join(CUE_KINDS)}")
        with self.catalog.session() as s:
            row = s.get(NoteRecord, note_id)
            if row is None:
                raise ProjectError(f"no note {note_id}", path=self.catalog.url)
            if status is not None:
                row.status = status
            if cue is not None:
                row.cue = cue or None
            row.updated = _now()
            s.flush()
            return _note(row)

    def note_counts(self, cuts: Sequence[tuple[str, int]]) -> dict[tuple[str, int], tuple[int, int]]:
        """``(open, addressed)`` note counts of each cut version."""
        out: dict[tuple[str, int], tuple[int, int]] = {}
        with self.catalog.session() as s:
            for cut, version in cuts:
                rows = s.scalars(
                    select(NoteRecord.status).where(NoteRecord.cut == cut, NoteRecord.version == version)
                ).all()
                out[(cut, version)] = (sum(r == "open" for r in rows), sum(r == "addressed" for r in rows))
        return out


@functools.cache
def _dummy_hash() -> str:
    return hash_password("not-a-real-password-0")
