"""Probe files into the catalog: walk folders, probe and hash in parallel, record, report.

Unchanged files (same size and modification time as recorded) are skipped, so a re-run after a kill
only does what is left. A damaged or unreadable file is recorded and reported; it never stops the batch.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from posthouse.core.catalog.models import MediaRecord
from posthouse.core.jobs import Executor, SerialExecutor
from posthouse.core.media.probe import MediaInfo, probe
from posthouse.core.progress import NULL_PROGRESS, CancelToken, Progress

__all__ = ["MEDIA_EXTENSIONS", "ScanReport", "find_media", "probe_and_hash", "scan_into_catalog"]

VIDEO_EXTENSIONS = frozenset({".mov", ".mp4", ".m4v", ".mxf", ".avi", ".mkv", ".mts", ".m2ts"})
AUDIO_EXTENSIONS = frozenset({".wav", ".bwf", ".aif", ".aiff", ".flac", ".mp3", ".m4a"})
MEDIA_EXTENSIONS = VIDEO_EXTENSIONS | AUDIO_EXTENSIONS


@dataclass(frozen=True, slots=True)
class ScannedFile:
    """The result of probing and hashing one file in a worker."""

    info: MediaInfo
    xxh64: str | None
    mtime_ns: int


@dataclass
class ScanReport:
    """What a scan did: counts, and the files that are damaged or failed."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    damaged: dict[str, list[str]] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.damaged and not self.failed

    def to_dict(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "damaged": self.damaged,
            "failed": self.failed,
        }


def find_media(paths: Iterable[str | Path]) -> list[Path]:
    """Media files under ``paths`` (files are taken as given), sorted; hidden and partial files skipped."""
    found: set[Path] = set()
    for p in map(Path, paths):
        if p.is_file():
            found.add(p.resolve())
            continue
        for dirpath, dirnames, filenames in os.walk(p):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            for name in filenames:
                if name.startswith(".") or Path(name).suffix.lower() not in MEDIA_EXTENSIONS:
                    continue
                found.add((Path(dirpath) / name).resolve())
    return sorted(found)


def probe_and_hash(path: Path) -> ScannedFile:
    """Probe and xxh64-hash one file (runs in a worker process)."""
    from posthouse.core.checksum import hash_file

    st = path.stat()
    info = probe(path)
    digest = hash_file(path)["xxh64"]
    return ScannedFile(info=info, xxh64=digest, mtime_ns=st.st_mtime_ns)


def _fill(rec: MediaRecord, path: str, scanned: ScannedFile) -> None:
    info = scanned.info
    rec.path = path
    rec.kind = info.kind
    rec.role = {"video": "picture", "audio": "sound"}.get(info.kind)
    rec.size = info.size
    rec.mtime_ns = scanned.mtime_ns
    rec.xxh64 = scanned.xxh64
    rec.format = info.format
    rec.damaged = info.damaged
    rec.problems = list(info.problems)
    rec.probe = info.to_dict()
    rec.start_timecode = info.start_timecode
    rec.reel = info.reel
    d = info.duration
    rec.duration = None if d is None else f"{d.numerator}/{d.denominator}"
    if info.video:
        v = info.video[0]
        rec.codec, rec.width, rec.height, rec.frames = v.codec, v.width, v.height, v.frames
        rec.rate = None if v.rate is None else f"{v.rate.numerator}/{v.rate.denominator}"
    if info.audio:
        a = info.audio[0]
        if not info.video:
            rec.codec = a.codec
        rec.channels, rec.sample_rate, rec.samples = a.channels, a.sample_rate, a.samples
    tags = info.tags
    bwf = info.bwf
    rec.scene = (bwf.scene if bwf else None) or tags.get("scene")
    rec.take = (bwf.take if bwf else None) or tags.get("take")
    circled = bwf.circled if bwf else None
    if circled is None and "circled" in tags:
        circled = tags["circled"].strip().lower() in ("1", "true", "yes")
    rec.circled = circled


def scan_into_catalog(
    catalog: Any,
    paths: Sequence[str | Path],
    *,
    relpath: Any = None,
    executor: Executor | None = None,
    progress: Progress = NULL_PROGRESS,
    cancel: CancelToken | None = None,
    rescan: bool = False,
) -> ScanReport:
    """Probe every media file under ``paths`` into ``catalog`` and report what happened.

    ``relpath`` maps an absolute path to the string stored (a project's :meth:`Project.relpath`).
    """
    to_key = relpath or (lambda p: Path(p).as_posix())
    files = find_media(paths)
    report = ScanReport()
    with catalog.session() as s:
        known = {r.path: (r.size, r.mtime_ns) for r in s.scalars(select(MediaRecord))}
    todo: list[Path] = []
    for f in files:
        st = f.stat()
        if not rescan and known.get(to_key(f)) == (st.st_size, st.st_mtime_ns):
            report.unchanged.append(to_key(f))
        else:
            todo.append(f)
    ex = executor or SerialExecutor()
    outcomes = ex.map(probe_and_hash, todo, label="probing", progress=progress, cancel=cancel)
    with catalog.session() as s:
        for f, outcome in zip(todo, outcomes, strict=True):
            key = to_key(f)
            if not outcome.ok or outcome.value is None:
                report.failed[key] = outcome.error.message if outcome.error else "unknown error"
                continue
            scanned: ScannedFile = outcome.value
            rec = s.scalars(select(MediaRecord).where(MediaRecord.path == key)).one_or_none()
            if rec is None:
                rec = MediaRecord()
                s.add(rec)
                report.added.append(key)
            else:
                report.updated.append(key)
            _fill(rec, key, scanned)
            if scanned.info.damaged:
                report.damaged[key] = list(scanned.info.problems)
    return report
