"""Progress reporting and cancellation shared by every long step.

Library code takes a :class:`Progress` (default: :data:`NULL_PROGRESS`) and calls ``advance``; the CLI
passes a Rich-backed one. Cancellation is a :class:`CancelToken` checked between units of work.
"""

from __future__ import annotations

import threading
from typing import Protocol

__all__ = ["NULL_PROGRESS", "CancelToken", "Cancelled", "NullProgress", "Progress"]


class Progress(Protocol):
    """Something that shows how far a job has come."""

    def start(self, label: str, total: int | None) -> None:
        """Begin a step of ``total`` units (``None`` when unknown)."""

    def advance(self, n: int = 1) -> None:
        """Mark ``n`` more units done."""

    def finish(self) -> None:
        """End the current step."""


class NullProgress:
    """A Progress that shows nothing."""

    def start(self, label: str, total: int | None) -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass

    def finish(self) -> None:
        pass


NULL_PROGRESS = NullProgress()


class Cancelled(Exception):
    """Raised inside a job when its CancelToken was set."""


class CancelToken:
    """A thread-safe flag a caller sets to stop a job between units of work."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled("job cancelled")
