"""The cut store: every saved cut version is an immutable OTIO file ``PROJECT/cuts/NAME/vNNN.otio``.

A version is written once, atomically, under the next free number and never overwritten. Its history
(message, author, UTC time, parent version) lives in ``timeline.metadata["posthouse"]["version"]``.
A reference is ``"NAME"`` (the latest version), ``"NAME@v3"`` or ``"NAME@3"``.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import opentimelineio as otio

from posthouse.core.errors import PosthouseError

__all__ = ["CutError", "CutRef", "CutStore"]

_NAME_RE: Final = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_. -]*")
_VERSION_RE: Final = re.compile(r"v(\d{3,})\.otio")
_REF_RE: Final = re.compile(r"(?P<name>[^@]+?)(?:@v?(?P<version>\d+))?")


class CutError(PosthouseError, ValueError):
    """A bad cut name or reference, or a cut version that does not exist."""


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name) or name.strip(". ") == "":
        raise CutError(
            f"invalid cut name {name!r}",
            hint="use letters, digits, '_', '-', '.' and spaces; no slashes, not dots only",
        )
    return name


@dataclass(frozen=True, slots=True)
class CutRef:
    """A cut by name and version number; ``version`` None means the latest."""

    name: str
    version: int | None = None

    def __post_init__(self) -> None:
        _check_name(self.name)
        if self.version is not None and (isinstance(self.version, bool) or self.version < 1):
            raise CutError(f"cut {self.name!r}: version must be 1 or more, not {self.version!r}")

    @classmethod
    def parse(cls, text: str | CutRef) -> CutRef:
        """Read ``"NAME"``, ``"NAME@v3"`` or ``"NAME@3"``."""
        if isinstance(text, CutRef):
            return text
        m = _REF_RE.fullmatch(text.strip()) if isinstance(text, str) else None
        if m is None:
            raise CutError(f"cannot read cut reference {text!r}", hint="write NAME, NAME@v3 or NAME@3")
        version = m.group("version")
        return cls(m.group("name"), int(version) if version is not None else None)

    def __str__(self) -> str:
        return self.name if self.version is None else f"{self.name}@v{self.version:03d}"


def _write_new(dest: Path, text: str) -> bool:
    """Write ``dest`` complete or not at all; False (nothing written) when it already exists."""
    fd, name = tempfile.mkstemp(prefix=f".{dest.stem}.", suffix=".partial.otio", dir=dest.parent)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(text.encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o444)  # versions are immutable
        try:
            os.link(tmp, dest)  # unlike rename, never replaces a version saved meanwhile
        except FileExistsError:
            return False
        except OSError:  # no hard links on this file system
            if dest.exists():
                return False
            os.replace(tmp, dest)
        return True
    finally:
        tmp.unlink(missing_ok=True)


class CutStore:
    """Saved cut versions under ``root`` (normally ``PROJECT/cuts``)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path(self, ref: str | CutRef) -> Path:
        """The file of a version (the latest when ``ref`` names no version); it must exist."""
        cut = self.resolve(ref)
        assert cut.version is not None
        return self.root / cut.name / f"v{cut.version:03d}.otio"

    def names(self) -> list[str]:
        """Names of the cuts that have at least one version, sorted."""
        if not self.root.is_dir():
            return []
        return sorted(d.name for d in self.root.iterdir() if d.is_dir() and self._numbers(d.name))

    def versions(self, name: str) -> list[CutRef]:
        """Every saved version of ``name``, oldest first (empty when there is none)."""
        return [CutRef(_check_name(name), n) for n in self._numbers(name)]

    def save(
        self, name: str, timeline: otio.schema.Timeline, *, message: str = "", author: str | None = None
    ) -> CutRef:
        """Write ``timeline`` as the next version of ``name`` (atomically; never overwrites) and return it.

        The caller's timeline is not modified; the saved copy records message, author, UTC time and the
        parent version in ``metadata["posthouse"]["version"]``.
        """
        _check_name(name)
        if not isinstance(timeline, otio.schema.Timeline):
            raise CutError(f"cut {name!r}: expected an OTIO Timeline, not {type(timeline).__name__}")
        folder = self.root / name
        folder.mkdir(parents=True, exist_ok=True)
        tl = timeline.deepcopy()
        while True:
            numbers = self._numbers(name)
            number = (numbers[-1] if numbers else 0) + 1
            dest = folder / f"v{number:03d}.otio"
            ph = dict(tl.metadata.get("posthouse", {}) or {})
            ph["version"] = {
                "cut": name,
                "number": number,
                "message": message,
                "author": author,
                "time": datetime.now(UTC).isoformat(timespec="seconds"),
                "parent": numbers[-1] if numbers else None,
            }
            tl.metadata["posthouse"] = ph
            text = otio.adapters.write_to_string(tl, adapter_name="otio_json")
            if _write_new(dest, text):
                return CutRef(name, number)

    def open(self, ref: str | CutRef) -> otio.schema.Timeline:
        """Read a saved version (the latest for ``"NAME"``)."""
        path = self.path(ref)
        try:
            tl = otio.adapters.read_from_file(str(path), adapter_name="otio_json")
        except Exception as exc:
            raise CutError(f"cannot read cut version: {exc}", path=path) from exc
        if not isinstance(tl, otio.schema.Timeline):
            raise CutError(f"not an OTIO timeline but a {type(tl).__name__}", path=path)
        return tl

    def resolve(self, ref: str | CutRef) -> CutRef:
        """``ref`` with its version number filled in (the latest for ``"NAME"``); it must exist."""
        ref = CutRef.parse(ref)
        numbers = self._numbers(ref.name)
        if ref.version is None and numbers:
            return CutRef(ref.name, numbers[-1])
        if ref.version is not None and ref.version in numbers:
            return ref
        have = ", ".join(f"v{n:03d}" for n in numbers) or "none"
        others = ", ".join(self.names()) or "none"
        raise CutError(
            f"cut {str(ref)!r} not found (versions of {ref.name!r}: {have}; cuts: {others})",
            path=self.root / ref.name,
            hint="save the cut first, or name an existing version",
        )

    # internals -----------------------------------------------------------------------------------------

    def _numbers(self, name: str) -> list[int]:
        folder = self.root / name
        if not folder.is_dir():
            return []
        found = (_VERSION_RE.fullmatch(p.name) for p in folder.iterdir())
        return sorted(int(m.group(1)) for m in found if m is not None)
