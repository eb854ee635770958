"""Errors that name the file and the place, and say what to do.

Every error a user can meet derives from :class:`PosthouseError`. The CLI prints ``str(err)`` and exits
with ``err.exit_code``; no traceback reaches the user for these.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "DamagedMediaError",
    "MediaError",
    "PosthouseError",
    "ProjectError",
    "TimecodeError",
    "UsageError",
]


class PosthouseError(Exception):
    """Base class: a message, plus optionally the file, the place in it, and a hint."""

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        where: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.path = str(path) if path is not None else None
        self.where = where
        self.hint = hint
        super().__init__(self.__str__())

    def __str__(self) -> str:
        head = ""
        if self.path:
            head = self.path
            if self.where:
                head += f" ({self.where})"
            head += ": "
        elif self.where:
            head = f"{self.where}: "
        text = head + self.message
        if self.hint:
            text += f" — {self.hint}"
        return text


class UsageError(PosthouseError):
    """The command was called with arguments that cannot work."""


class TimecodeError(PosthouseError, ValueError):
    """A timecode label, rate or frame count that is not valid."""


class MediaError(PosthouseError):
    """A media file could not be read or written."""


class DamagedMediaError(MediaError):
    """A media file exists but is damaged (truncated, corrupt, or not media at all)."""


class ProjectError(PosthouseError):
    """No project, a broken project file, or a catalog problem."""
