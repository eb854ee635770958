"""An index of camera originals for conform: probe each file once, look up by reel and timecode fast.

Each movie under the originals folders is probed once (reel/tape, clip name, start timecode, duration,
rate, resolution); the records are cached as JSON (``originals.json`` in the finish folder) and a later scan
re-probes only files whose size or modification time changed. A file that cannot be probed is listed in
:attr:`OriginalsIndex.failures`, never fatal.

Lookups work on *ticks*: timecode label positions at 1200 ticks per timecode second (a multiple of every
supported timebase), so originals and events at different rates can be compared. Per reel, the records are
kept in NumPy arrays sorted by start; a lookup is a ``searchsorted`` plus a vectorised containment test.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from posthouse.core.errors import PosthouseError
from posthouse.core.fsutil import atomic_write_text
from posthouse.core.time import Rate, Timecode

__all__ = [
    "CACHE_NAME",
    "MOVIE_EXTENSIONS",
    "TICKS_PER_SECOND",
    "OriginalRecord",
    "OriginalsIndex",
    "cmx_reel",
    "probe_original",
    "scan_originals",
    "ticks",
]

CACHE_NAME: Final = "originals.json"
"""The cache file written in the finish folder."""

MOVIE_EXTENSIONS: Final = frozenset({".mov", ".mxf", ".mp4", ".m4v", ".mkv", ".avi"})
"""File extensions scanned as camera originals."""

TICKS_PER_SECOND: Final = 1200
"""Ticks per timecode second: the lcm of every supported timebase (24, 25, 30, 48, 50, 60)."""

_CACHE_VERSION: Final = 1


def ticks(frames: int, rate: Rate) -> int:
    """Timecode position ``frames`` (label count since midnight) in ticks at :data:`TICKS_PER_SECOND`."""
    return frames * (TICKS_PER_SECOND // rate.timebase)


def cmx_reel(name: str, length: int = 8) -> str:
    """The CMX 3600-safe form of a reel name (uppercase ``A–Z 0–9 _``, at most ``length`` characters)."""
    base = re.sub(r"[^A-Z0-9_]", "", re.sub(r"[\s.\-]+", "_", name.upper())).strip("_")
    return base[:length]


@dataclass(frozen=True, slots=True)
class OriginalRecord:
    """One camera original: where it is, its reel and clip name, and its timecode range at its rate."""

    path: str
    reel: str | None
    clip_name: str
    start: int  # timecode frames since midnight of its first frame, at ``rate``
    duration: int  # frames
    rate: Fraction  # frames per second
    width: int
    height: int
    drop: bool = False
    size: int = 0
    mtime_ns: int = 0

    @property
    def end(self) -> int:
        """Timecode frame after the last one."""
        return self.start + self.duration

    @property
    def picture_rate(self) -> Rate:
        """The rate as a :class:`Rate`."""
        return Rate.parse(self.rate)

    def start_timecode(self) -> str:
        """The first frame's timecode label."""
        return str(Timecode(self.start, self.picture_rate, self.drop))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the rate as ``"num/den"``)."""
        data = asdict(self)
        data["rate"] = f"{self.rate.numerator}/{self.rate.denominator}"
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OriginalRecord:
        """Inverse of :meth:`to_dict`."""
        values = dict(data)
        values["rate"] = Fraction(str(values["rate"]))
        return cls(**values)


def probe_original(path: str | Path) -> OriginalRecord:
    """Probe one movie into a record; raises :class:`PosthouseError` when it has no usable picture or TC."""
    from posthouse.core.media import probe

    p = Path(path)
    info = probe(p)
    if info.damaged or not info.video:
        reason = "; ".join(info.problems) or "no picture stream"
        raise PosthouseError(f"not a usable camera original: {reason}", path=p)
    video = info.video[0]
    if video.rate is None:
        raise PosthouseError("picture stream has no frame rate", path=p)
    rate = Rate.parse(video.rate)
    label = info.start_timecode or "00:00:00:00"
    tc = Timecode.parse(label, rate)
    st = p.stat()
    return OriginalRecord(
        path=str(p.resolve()),
        reel=info.reel or info.tags.get("camera_roll") or None,
        clip_name=p.stem,
        start=tc.frames,
        duration=video.frames,
        rate=rate.fps,
        width=video.width,
        height=video.height,
        drop=tc.drop,
        size=st.st_size,
        mtime_ns=st.st_mtime_ns,
    )


@dataclass(slots=True)
class _ReelTable:
    starts: npt.NDArray[np.int64]
    ends: npt.NDArray[np.int64]
    rows: npt.NDArray[np.int64]  # indices into OriginalsIndex.records


@dataclass(slots=True)
class OriginalsIndex:
    """Camera originals with per-reel interval lookup by timecode, and by clip name."""

    records: list[OriginalRecord]
    failures: list[dict[str, str]] = field(default_factory=list)
    _reels: dict[str, _ReelTable] = field(default_factory=dict, init=False, repr=False)
    _aliases: dict[str, list[str]] = field(default_factory=dict, init=False, repr=False)
    _names: dict[str, list[int]] = field(default_factory=dict, init=False, repr=False)
    _all: _ReelTable | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.records = sorted(self.records, key=lambda r: r.path)
        starts = np.array([ticks(r.start, r.picture_rate) for r in self.records], dtype=np.int64)
        ends = np.array([ticks(r.end, r.picture_rate) for r in self.records], dtype=np.int64)
        keys = [(r.reel or "").upper() for r in self.records]
        by_reel: dict[str, list[int]] = {}
        for i, key in enumerate(keys):
            if key:
                by_reel.setdefault(key, []).append(i)
            self._names.setdefault(self.records[i].clip_name.upper(), []).append(i)
        for key, idx in by_reel.items():
            self._reels[key] = _table(starts, ends, np.array(idx, dtype=np.int64))
            alias = cmx_reel(key)
            if alias != key:
                self._aliases.setdefault(alias, []).append(key)
        self._all = _table(starts, ends, np.arange(len(self.records), dtype=np.int64))

    # lookups --------------------------------------------------------------------------------------------

    @property
    def reels(self) -> list[str]:
        """Known reel names (uppercase)."""
        return sorted(self._reels)

    def resolve_reel(self, reel: str) -> list[str]:
        """Index reels a cut's reel name may mean: itself, or the originals whose CMX-safe 8-character
        form it is (``A001_C002_0101AB`` written as ``A001_C00``); a reel with stray punctuation
        (``Z677_4C.``) is read in its CMX-safe form too."""
        for key in dict.fromkeys((reel.upper(), cmx_reel(reel))):
            if key in self._reels:
                return [key]
            if key in self._aliases:
                return sorted(self._aliases[key])
        return []

    def by_name(self, name: str) -> list[OriginalRecord]:
        """Originals whose clip name (file stem) is ``name`` (case-insensitive)."""
        return [self.records[i] for i in self._names.get(name.upper(), [])]

    def containing(self, reel: str | None, start: int, end: int) -> list[OriginalRecord]:
        """Originals on ``reel`` (any reel when None) whose range holds ticks ``[start, end)``."""
        return [self.records[i] for i in self._query(reel, start, end, contain=True)]

    def overlapping(self, reel: str | None, start: int, end: int) -> list[OriginalRecord]:
        """Originals on ``reel`` (any reel when None) whose range overlaps ticks ``[start, end)``."""
        return [self.records[i] for i in self._query(reel, start, end, contain=False)]

    def _query(self, reel: str | None, start: int, end: int, *, contain: bool) -> list[int]:
        tables: list[_ReelTable] = []
        if reel is None:
            tables = [self._all] if self._all is not None else []
        else:
            tables = [self._reels[k] for k in self.resolve_reel(reel)]
        found: list[int] = []
        for t in tables:
            if contain:
                n = int(np.searchsorted(t.starts, start, side="right"))
                hit = np.nonzero(t.ends[:n] >= end)[0]
            else:
                n = int(np.searchsorted(t.starts, end, side="left"))
                hit = np.nonzero(t.ends[:n] > start)[0]
            found.extend(int(i) for i in t.rows[hit])
        return sorted(found)

    # persistence ----------------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The cache's JSON form."""
        return {
            "version": _CACHE_VERSION,
            "records": [r.to_dict() for r in self.records],
            "failures": list(self.failures),
        }

    def save(self, path: str | Path) -> None:
        """Write the cache atomically."""
        atomic_write_text(path, json.dumps(self.to_dict(), indent=1) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> OriginalsIndex:
        """Read a cache written by :meth:`save` (an unreadable or old cache gives an empty index)."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            if data.get("version") != _CACHE_VERSION:
                return cls([])
            return cls([OriginalRecord.from_dict(r) for r in data.get("records", [])])
        except (OSError, ValueError, TypeError, KeyError):
            return cls([])


def _table(
    starts: npt.NDArray[np.int64], ends: npt.NDArray[np.int64], idx: npt.NDArray[np.int64]
) -> _ReelTable:
    order = np.argsort(starts[idx], kind="stable")
    rows = idx[order]
    return _ReelTable(starts=starts[rows], ends=ends[rows], rows=rows)


def _walk(dirs: Sequence[str | Path]) -> list[Path]:
    found: list[Path] = []
    for d in dirs:
        root = Path(d)
        if root.is_file():
            found.append(root)
            continue
        if not root.is_dir():
            raise PosthouseError("originals folder not found", path=root, hint="check the --originals path")
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(n for n in dirnames if not n.startswith("."))
            found.extend(
                Path(dirpath) / n
                for n in sorted(filenames)
                if not n.startswith(".") and Path(n).suffix.lower() in MOVIE_EXTENSIONS
            )
    return found


def scan_originals(
    dirs: Iterable[str | Path],
    *,
    cache: str | Path | None = None,
) -> OriginalsIndex:
    """Index every movie under ``dirs``, probing only files not in ``cache`` with the same size and mtime.

    The cache (when given) is rewritten atomically. Files that cannot be probed go to ``failures``.
    """
    files = _walk(list(dirs))
    known: dict[str, OriginalRecord] = {}
    if cache is not None and Path(cache).exists():
        known = {r.path: r for r in OriginalsIndex.load(cache).records}
    records: list[OriginalRecord] = []
    failures: list[dict[str, str]] = []
    for f in files:
        key = str(f.resolve())
        try:
            st = f.stat()
        except OSError as exc:
            failures.append({"path": key, "error": exc.strerror or str(exc)})
            continue
        old = known.get(key)
        if old is not None and old.size == st.st_size and old.mtime_ns == st.st_mtime_ns:
            records.append(old)
            continue
        try:
            records.append(probe_original(f))
        except PosthouseError as exc:
            failures.append({"path": key, "error": exc.message})
    index = OriginalsIndex(records, failures)
    if cache is not None:
        index.save(cache)
    return index
