"""Picture lock: freeze a cut version under a content hash.

A lock is ``locks_dir/NAME_vNNN.lock.json``: the SHA-256 of the timeline's canonical OTIO JSON (keys sorted,
compact separators, volatile metadata removed), when and by whom it was locked. Locks are immutable: writing
the same lock again is a no-op, writing a different one over it is refused.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import opentimelineio as otio

from posthouse.core.errors import PosthouseError, UsageError
from posthouse.core.fsutil import atomic_write_text

__all__ = [
    "VOLATILE_METADATA_KEYS",
    "LockError",
    "LockRecord",
    "canonical_json",
    "content_hash",
    "load_lock",
    "lock_cut",
    "lock_path",
    "verify_lock",
]

VOLATILE_METADATA_KEYS: Final = frozenset({"lock", "ui", "viewed_at", "last_opened", "modified_at", "cache"})
"""Keys dropped from every ``metadata`` dict (and its ``posthouse`` namespace) before hashing: they change
without changing the cut."""

_NAME_RE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_FORMAT: Final = "posthouse.lock/1"


class LockError(PosthouseError):
    """A lock that cannot be written, read or honoured."""


@dataclass(frozen=True, slots=True)
class LockRecord:
    """A frozen cut version: its content hash, when and by whom it was locked."""

    cut_name: str
    version: int
    content_hash: str
    locked_at: str
    author: str
    timeline_name: str
    path: Path | None = None

    def to_json(self) -> str:
        """The lock file's text."""
        data: dict[str, Any] = {"format": _FORMAT, **asdict(self)}
        data.pop("path")
        return json.dumps(data, indent=2, sort_keys=True) + "\n"


def _strip_volatile(node: Any) -> Any:
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "metadata" and isinstance(value, dict):
                out[key] = _strip_metadata(value)
            else:
                out[key] = _strip_volatile(value)
        return out
    if isinstance(node, list):
        return [_strip_volatile(v) for v in node]
    return node


def _strip_metadata(meta: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in meta.items():
        if key in VOLATILE_METADATA_KEYS:
            continue
        if isinstance(value, dict) and key == "posthouse":
            kept = _strip_metadata(value)
            if kept or not value:  # a namespace holding only volatile keys counts as absent
                out[key] = kept
        elif isinstance(value, dict):
            out[key] = _strip_volatile(value)
        else:
            out[key] = _strip_volatile(value)
    return out


def canonical_json(timeline: otio.schema.Timeline) -> str:
    """The timeline as OTIO JSON with sorted keys, compact separators and no volatile metadata."""
    data = json.loads(otio.adapters.write_to_string(timeline, adapter_name="otio_json"))
    return json.dumps(_strip_volatile(data), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(timeline: otio.schema.Timeline) -> str:
    """``sha256:`` + hex digest of :func:`canonical_json`."""
    return "sha256:" + hashlib.sha256(canonical_json(timeline).encode("utf-8")).hexdigest()


def lock_path(locks_dir: str | Path, cut_name: str, version: int) -> Path:
    """``locks_dir/NAME_vNNN.lock.json``."""
    if not _NAME_RE.fullmatch(cut_name):
        raise UsageError(
            f"cut name {cut_name!r} cannot name a lock file", hint="use letters, digits, '.', '_' or '-'"
        )
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise UsageError(f"cut version must be a positive integer, not {version!r}")
    return Path(locks_dir) / f"{cut_name}_v{version:03d}.lock.json"


def lock_cut(
    timeline: otio.schema.Timeline,
    *,
    cut_name: str,
    version: int,
    author: str,
    locks_dir: str | Path,
) -> LockRecord:
    """Lock ``timeline`` as ``cut_name`` version ``version``; write the lock file atomically.

    Locking the same content again returns the existing record; a different cut under an existing lock
    raises :class:`LockError`.
    """
    path = lock_path(locks_dir, cut_name, version)
    digest = content_hash(timeline)
    if path.exists():
        existing = load_lock(path)
        if existing.content_hash == digest:
            return existing
        raise LockError(
            f"{cut_name} v{version:03d} is already locked with {existing.content_hash} "
            f"by {existing.author} at {existing.locked_at}; this cut hashes to {digest}",
            path=path,
            hint="a lock is immutable: save the change as a new version",
        )
    record = LockRecord(
        cut_name=cut_name,
        version=version,
        content_hash=digest,
        locked_at=datetime.now(UTC).isoformat(timespec="seconds"),
        author=author,
        timeline_name=timeline.name or "",
        path=path,
    )
    atomic_write_text(path, record.to_json())
    return record


def load_lock(path: str | Path) -> LockRecord:
    """Read a lock file written by :func:`lock_cut`."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise LockError(f"cannot read lock: {exc.strerror or exc}", path=path) from None
    except json.JSONDecodeError as exc:
        raise LockError(f"not JSON: {exc.msg}", path=path, where=f"line {exc.lineno}") from None
    if not isinstance(data, dict) or data.get("format") != _FORMAT:
        raise LockError(f"not a posthouse lock (expected format {_FORMAT!r})", path=path)
    try:
        return LockRecord(
            cut_name=str(data["cut_name"]),
            version=int(data["version"]),
            content_hash=str(data["content_hash"]),
            locked_at=str(data["locked_at"]),
            author=str(data["author"]),
            timeline_name=str(data.get("timeline_name", "")),
            path=path,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise LockError(f"lock field missing or invalid: {exc}", path=path) from None


def verify_lock(timeline: otio.schema.Timeline, record: LockRecord) -> bool:
    """True when ``timeline`` still hashes to the locked content."""
    return content_hash(timeline) == record.content_hash
