"""Verified offload of camera cards and sound rolls, and re-verification, with ASC MHL v2.

:func:`offload` copies each source folder to ``DEST/<folder name>/…`` (a single file to
``DEST/<file name>``), so equal file names on two cards never meet. Every file is read once: 8 MiB chunks go
into all hashers and into a temporary file (``.<name>.posthouse-partial``) beside its destination. The copy
is then fsynced, dropped from the page cache and read back from the disk; only when its hashes match the
source's is it given the source's modification time and renamed into place. A background thread verifies
file N while file N+1 is copied, so the source is read sequentially while the destination's write-back and
read-back overlap the next copy. Each card's root gets an ASC MHL generation (``process`` ``transfer``) for
what was hashed, in ``DEST/<card>/ascmhl/`` (single files: ``DEST/ascmhl/``).

The house rules kept here: the source is only ever opened read-only; a different file already at the
destination is never overwritten (it is reported as a conflict and the rest proceeds); an identical one is
skipped (same size and modification time as the destination's MHL recorded, or else the same hashes), so
a re-run after a kill copies only what is missing and removes the partial files the kill left; one
unreadable file is reported as failed and never sinks the batch; progress is in bytes and a
:class:`~posthouse.core.progress.CancelToken` is honoured between chunks.

:func:`verify` re-hashes everything under an MHL root against the newest good hashes of its history (after
checking the generations against the chain), reports missing, changed and new files, and adds a
verification generation (``in-place``): ``verified`` entries, ``failed`` for changed files, ``original``
for new ones.
"""

from __future__ import annotations

import os
import queue
import stat
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from posthouse.core.errors import UsageError
from posthouse.core.progress import NULL_PROGRESS, Cancelled, CancelToken, Progress
from posthouse.picture.mhl import (
    DEFAULT_IGNORE,
    FOLDER,
    HASH_FORMATS,
    HashEntry,
    History,
    MediaHash,
    MHLError,
    hasher_for,
    is_ignored,
    mtime_datetime,
    new_hashlist,
)

__all__ = ["CHUNK", "PARTIAL_SUFFIX", "OffloadReport", "VerifyReport", "offload", "verify"]

CHUNK = 8 << 20
PARTIAL_SUFFIX = ".posthouse-partial"
_PENDING = 2  # copies waiting for their read-back at most (bounds the unverified temporary files)
_O_NOATIME = getattr(os, "O_NOATIME", 0)
_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # never hang on a FIFO in a card tree; no effect on files


@dataclass
class OffloadReport:
    """What an offload did. ``files`` lists every copied or skipped file at the destination, in order."""

    dest: Path
    algorithms: tuple[str, ...] = ("xxh64",)
    files: list[Path] = field(default_factory=list)
    copied: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    conflicts: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    cleaned: list[Path] = field(default_factory=list)
    mhl: list[Path] = field(default_factory=list)
    bytes_copied: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.conflicts and not self.failed

    @property
    def mb_per_s(self) -> float:
        return self.bytes_copied / self.seconds / 1e6 if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "dest": str(self.dest),
            "algorithms": list(self.algorithms),
            "ok": self.ok,
            "files": [str(p) for p in self.files],
            "copied": [str(p) for p in self.copied],
            "skipped": [str(p) for p in self.skipped],
            "conflicts": self.conflicts,
            "failed": self.failed,
            "cleaned": [str(p) for p in self.cleaned],
            "mhl": [str(p) for p in self.mhl],
            "bytes_copied": self.bytes_copied,
            "seconds": round(self.seconds, 3),
            "mb_per_s": round(self.mb_per_s, 1),
        }


@dataclass
class VerifyReport:
    """What a verification found under one MHL root; paths are relative to it (POSIX)."""

    root: Path
    verified: list[str] = field(default_factory=list)
    changed: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    new: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    mhl: Path | None = None
    bytes_hashed: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """No file changed, missing or unreadable, and the history matches its chain (new files are fine)."""
        return not (self.changed or self.missing or self.failed or self.problems)

    def to_dict(self) -> dict[str, Any]:
        return {
            "root": str(self.root),
            "ok": self.ok,
            "verified": self.verified,
            "changed": self.changed,
            "missing": self.missing,
            "new": self.new,
            "failed": self.failed,
            "problems": self.problems,
            "mhl": str(self.mhl) if self.mhl else None,
            "bytes_hashed": self.bytes_hashed,
            "seconds": round(self.seconds, 3),
        }


# --- plumbing -------------------------------------------------------------------------------------------


class _Stop:
    """The caller's CancelToken plus our own stop flag, checked between chunks on both threads."""

    def __init__(self, cancel: CancelToken | None) -> None:
        self._cancel = cancel
        self._event = threading.Event()

    def set(self) -> None:
        self._event.set()

    def check(self) -> None:
        if self._event.is_set() or (self._cancel is not None and self._cancel.cancelled):
            raise Cancelled("offload cancelled")


class _LockedProgress:
    """Serialises calls to a Progress that two threads advance."""

    def __init__(self, inner: Progress) -> None:
        self._inner = inner
        self._lock = threading.Lock()

    def start(self, label: str, total: int | None) -> None:
        with self._lock:
            self._inner.start(label, total)

    def advance(self, n: int = 1) -> None:
        with self._lock:
            self._inner.advance(n)

    def finish(self) -> None:
        with self._lock:
            self._inner.finish()


class _CopyError(Exception):
    """A copy that cannot be trusted (source changed while read, read-back mismatch)."""


def _why(err: OSError) -> str:
    return err.strerror or str(err)


def _partial_path(dst: Path) -> Path:
    name = f".{dst.name}{PARTIAL_SUFFIX}"
    if len(name.encode()) > 255:
        import hashlib

        name = f".{hashlib.sha1(dst.name.encode()).hexdigest()}{PARTIAL_SUFFIX}"
    return dst.with_name(name)


def _open_source(path: Path) -> int:
    """Open a source file read-only, without touching its access time where the OS allows."""
    try:
        fd = os.open(path, os.O_RDONLY | _O_NONBLOCK | _O_NOATIME)
    except PermissionError:
        if not _O_NOATIME:
            raise
        fd = os.open(path, os.O_RDONLY | _O_NONBLOCK)  # O_NOATIME needs ownership
    if hasattr(os, "posix_fadvise"):
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)
    return fd


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _hash_fd(fd: int, formats: Sequence[str], progress: Progress, stop: _Stop) -> tuple[dict[str, str], int]:
    hashers = [(f, hasher_for(f)) for f in formats]
    n = 0
    while chunk := os.read(fd, CHUNK):
        stop.check()
        for _, h in hashers:
            h.update(chunk)
        n += len(chunk)
        progress.advance(len(chunk))
    return {f: h.hexdigest() for f, h in hashers}, n


def _hash_path(path: Path, formats: Sequence[str], progress: Progress, stop: _Stop) -> dict[str, str]:
    """Hash a file (read-only) with all ``formats`` in one read."""
    fd = _open_source(path)
    try:
        return _hash_fd(fd, formats, progress, stop)[0]
    finally:
        os.close(fd)


def _walk(
    root: Path,
    patterns: Sequence[str],
    errors: Callable[[OSError], None],
    *,
    skip_nested_roots: bool = False,
) -> Iterator[tuple[Path, str]]:
    """Files under ``root`` as (path, POSIX path relative to root), sorted, ignored names left out."""
    for dirpath, dirnames, filenames in os.walk(root, onerror=errors):
        here = Path(dirpath)
        prefix = here.relative_to(root).as_posix()
        prefix = "" if prefix == "." else prefix + "/"
        keep = []
        for name in sorted(dirnames):
            if is_ignored(prefix + name, True, patterns):
                continue
            if skip_nested_roots and (here / name / FOLDER).is_dir():
                continue  # a folder with its own history is verified on its own
            keep.append(name)
        dirnames[:] = keep
        for name in sorted(filenames):
            if not is_ignored(prefix + name, False, patterns):
                yield here / name, prefix + name


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot fsync a folder
    finally:
        os.close(fd)


def _check_algorithms(algorithms: Sequence[str]) -> tuple[str, ...]:
    algos = tuple(dict.fromkeys(a.strip().lower() for a in algorithms if a.strip()))
    if not algos:
        raise UsageError("no hash algorithm given", hint="use xxh64 (the ASC MHL preferred hash)")
    for a in algos:
        if a not in HASH_FORMATS:
            raise UsageError(f"unknown hash algorithm '{a}'", hint=f"use one of {', '.join(HASH_FORMATS)}")
    return algos


# --- planning -------------------------------------------------------------------------------------------


@dataclass
class _Card:
    """One MHL root at the destination and the files that land in it, with their sizes."""

    root: Path
    files: list[tuple[Path, str]] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)


def _plan(sources: Sequence[Path], dest: Path, report: OffloadReport) -> list[_Card]:
    if not sources:
        raise UsageError("nothing to offload", hint="name camera card or sound roll folders")
    missing = [str(s) for s in sources if not os.path.lexists(s)]
    if missing:
        raise UsageError(f"no such file or folder: {', '.join(missing)}")
    if dest.exists() and not dest.is_dir():
        raise UsageError("the destination is not a folder", path=dest)
    dest_abs = dest.resolve()
    landing: dict[str, Path] = {}
    cards: list[_Card] = []
    singles = _Card(dest)

    def onerror(err: OSError) -> None:
        report.failed[str(err.filename)] = f"cannot list folder: {_why(err)}"

    for src in dict.fromkeys(Path(s) for s in sources):
        src_abs = src.resolve()
        if dest_abs == src_abs or dest_abs.is_relative_to(src_abs):
            raise UsageError(
                "the destination is inside this source", path=src, hint="offload to another folder"
            )
        if src_abs.is_relative_to(dest_abs):
            raise UsageError(f"this source is inside the destination {dest}", path=src)
        name = src_abs.name
        if name in landing and landing[name] != src_abs:
            raise UsageError(
                f"{landing[name]} and {src} would both land as {dest / name}",
                hint="offload sources of the same name to different destinations",
            )
        landing[name] = src_abs
        if src.is_dir():
            cards.append(_Card(dest / name, list(_walk(src, DEFAULT_IGNORE, onerror))))
        else:
            singles.files.append((src, name))
    if singles.files:
        cards.append(singles)
    for card in cards:
        for path, _ in card.files:
            try:
                card.sizes.append(os.stat(path).st_size)
            except OSError:
                card.sizes.append(0)  # reported when it is copied
    return cards


# --- copying and verifying ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Job:
    src: Path
    st: os.stat_result
    rel: str
    dst: Path
    partial: Path
    digests: dict[str, str]


@dataclass(frozen=True, slots=True)
class _Outcome:
    job: _Job
    media: MediaHash | None
    error: str | None


def _copy(
    src: Path, partial: Path, algos: Sequence[str], progress: Progress, stop: _Stop
) -> tuple[os.stat_result, dict[str, str]] | str:
    """Copy ``src`` to ``partial``, hashing on the way: (source stat, digests), or why it failed."""
    try:
        fd_in = _open_source(src)
    except OSError as err:
        return f"cannot read: {_why(err)}"
    try:
        st = os.fstat(fd_in)
        if not stat.S_ISREG(st.st_mode):
            return "not a regular file"
        partial.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd_out = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            return f"another offload is writing {partial}; left alone"
        try:
            hashers = [(a, hasher_for(a)) for a in algos]
            n = 0
            while True:
                stop.check()
                try:
                    chunk = os.read(fd_in, CHUNK)
                except OSError as err:
                    raise _CopyError(f"cannot read at byte {n}: {_why(err)}") from None
                if not chunk:
                    break
                for _, h in hashers:
                    h.update(chunk)
                _write_all(fd_out, chunk)
                n += len(chunk)
                progress.advance(len(chunk))
        finally:
            os.close(fd_out)
        after = os.fstat(fd_in)
        if n != st.st_size or after.st_size != st.st_size or after.st_mtime_ns != st.st_mtime_ns:
            raise _CopyError("the source changed while it was copied; offload it again when it is complete")
        digests = {a: h.hexdigest() for a, h in hashers}
    except _CopyError as err:
        partial.unlink(missing_ok=True)
        return str(err)
    except OSError as err:  # reading errors became _CopyError above
        partial.unlink(missing_ok=True)
        return f"cannot write the copy {partial}: {_why(err)}"
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        os.close(fd_in)
    return st, digests


def _read_back(job: _Job, progress: Progress, stop: _Stop) -> MediaHash:
    """fsync the copy, drop it from the page cache, re-hash it from disk, then rename it into place."""
    fd = os.open(job.partial, os.O_RDONLY)
    try:
        os.fsync(fd)
        if hasattr(os, "posix_fadvise"):
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)  # read back from the disk, not memory
        digests, _ = _hash_fd(fd, list(job.digests), progress, stop)
    finally:
        os.close(fd)
    for fmt, value in job.digests.items():
        if digests[fmt] != value:
            raise _CopyError(
                f"the copy does not match the source ({fmt} {value} read, {digests[fmt]} written back)"
            )
    os.utime(job.partial, ns=(job.st.st_atime_ns, job.st.st_mtime_ns))
    if os.path.lexists(job.dst):
        raise _CopyError("a file appeared at the destination during the offload; it was left alone")
    os.rename(job.partial, job.dst)
    now = datetime.now(UTC)
    entries = tuple(HashEntry(fmt, value, "original", now) for fmt, value in job.digests.items())
    return MediaHash(job.rel, entries, job.st.st_size, mtime_datetime(job.st))


class _Verifier:
    """One background thread that reads copies back, in submission order."""

    def __init__(self, progress: Progress, stop: _Stop) -> None:
        self._progress = progress
        self._stop = stop
        self._jobs: queue.Queue[_Job | None] = queue.Queue(maxsize=_PENDING)
        self._done: queue.Queue[_Outcome] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="posthouse-read-back", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            try:
                self._stop.check()
                out = _Outcome(job, _read_back(job, self._progress, self._stop), None)
            except Cancelled:
                out = _Outcome(job, None, "cancelled")
            except _CopyError as err:
                out = _Outcome(job, None, str(err))
            except OSError as err:
                out = _Outcome(job, None, f"cannot verify the copy: {_why(err)}")
            except Exception as err:  # keep the thread alive; the job is reported
                out = _Outcome(job, None, f"unexpected error while verifying: {err!r}")
            if out.media is None:
                job.partial.unlink(missing_ok=True)
            self._done.put(out)

    def submit(self, job: _Job) -> None:
        self._jobs.put(job)

    def ready(self) -> list[_Outcome]:
        """Outcomes finished so far."""
        outs = []
        while True:
            try:
                outs.append(self._done.get_nowait())
            except queue.Empty:
                return outs

    def close(self) -> list[_Outcome]:
        """Wait for the queued copies (they stop early when the stop flag is set); their outcomes."""
        if self._thread.is_alive():
            self._jobs.put(None)
            self._thread.join()
        return self.ready()


def _settle_existing(
    src: Path,
    dst: Path,
    rel: str,
    recorded: MediaHash | None,
    algos: Sequence[str],
    progress: Progress,
    stop: _Stop,
) -> MediaHash | str | None:
    """A file is already at ``dst``: None (skip, as recorded), an entry (skip and record) or a conflict."""
    try:
        s = os.stat(src)
        d = os.stat(dst)
    except OSError as err:
        return f"cannot compare with the existing file: {_why(err)}"
    if not stat.S_ISREG(d.st_mode):
        return "something other than a file is in the way"
    if d.st_size != s.st_size:
        return f"a different file is already there ({d.st_size} bytes; the source has {s.st_size})"
    if (
        recorded is not None
        and recorded.size == s.st_size
        and recorded.last_modified is not None
        and int(recorded.last_modified.timestamp()) == s.st_mtime_ns // 10**9 == d.st_mtime_ns // 10**9
    ):
        progress.advance(2 * s.st_size)
        return None  # verified before, unchanged since
    try:
        ours = _hash_path(src, algos, progress, stop)
        theirs = _hash_path(dst, algos, progress, stop)
    except OSError as err:
        return f"cannot compare with the existing file: {_why(err)}"
    differs = [a for a in algos if ours[a] != theirs[a]]
    if differs:
        return f"a different file of the same size is already there ({differs[0]} differs)"
    action = "verified" if recorded is not None else "original"
    now = datetime.now(UTC)
    entries = tuple(HashEntry(a, ours[a], action, now) for a in algos)
    return MediaHash(rel, entries, d.st_size, mtime_datetime(d))


def _offload_card(
    card: _Card, algos: tuple[str, ...], report: OffloadReport, progress: Progress, stop: _Stop
) -> None:
    try:
        history = History.load(card.root)
    except MHLError as err:
        report.failed[str(card.root / FOLDER)] = f"{err}; nothing was copied into {card.root}"
        progress.advance(2 * sum(card.sizes))
        return
    recorded = history.reference()
    entries: list[MediaHash] = []
    folders: set[Path] = set()
    verifier = _Verifier(progress, stop)

    def settle(outcomes: list[_Outcome]) -> None:
        for out in outcomes:
            if out.media is None:
                report.failed[str(out.job.src)] = out.error or "failed"
                continue
            entries.append(out.media)
            report.copied.append(out.job.dst)
            report.files.append(out.job.dst)
            report.bytes_copied += out.media.size or 0
            folders.add(out.job.dst.parent)

    try:
        for (src, rel), size in zip(card.files, card.sizes, strict=True):
            stop.check()
            dst = card.root / rel
            partial = _partial_path(dst)
            if os.path.lexists(partial):  # left by a killed run
                partial.unlink()
                report.cleaned.append(partial)
            if os.path.lexists(dst):
                settled = _settle_existing(src, dst, rel, recorded.get(rel), algos, progress, stop)
                if isinstance(settled, str):
                    report.conflicts[str(dst)] = settled
                    progress.advance(2 * size)
                    continue
                if settled is not None:
                    entries.append(settled)
                report.skipped.append(dst)
                report.files.append(dst)
                continue
            copied = _copy(src, partial, algos, progress, stop)
            if isinstance(copied, str):
                report.failed[str(src)] = copied
                progress.advance(2 * size)
                continue
            verifier.submit(_Job(src, copied[0], rel, dst, partial, copied[1]))
            settle(verifier.ready())
    except BaseException:
        stop.set()  # queued read-backs stop early and remove their temporary files
        raise
    finally:
        settle(verifier.close())
        for folder in sorted(folders):
            _fsync_dir(folder)
        if entries:
            try:
                gen = history.add_generation(new_hashlist("transfer", entries))
                report.mhl.append(gen.path)
            except MHLError as err:
                report.failed[str(history.folder)] = str(err)


def offload(
    sources: Sequence[Path],
    dest: Path,
    *,
    algorithms: Sequence[str] = ("xxh64",),
    progress: Progress = NULL_PROGRESS,
    cancel: CancelToken | None = None,
) -> OffloadReport:
    """Copy camera cards and sound rolls to ``dest``, verified, with an ASC MHL generation per card.

    Each source folder lands as ``dest/<folder name>/…`` and is an MHL root; single files land as
    ``dest/<file name>`` with their history in ``dest/ascmhl/``. ``algorithms`` are the hash formats
    recorded (xxh64, the ASC MHL preferred one, by default; also xxh128, xxh3, md5, sha1, c4); all are
    computed in the one read of each source file and checked again on the read-back. Progress is in bytes
    (each byte counts once read and once read back).

    Raises :class:`~posthouse.core.errors.UsageError` for missing sources, an unknown algorithm, two
    sources of the same name or a destination inside a source; everything else is in the report.
    """
    started = time.perf_counter()
    algos = _check_algorithms(algorithms)
    dest = Path(dest)
    report = OffloadReport(dest=dest, algorithms=algos)
    cards = _plan([Path(s) for s in sources], dest, report)
    dest.mkdir(parents=True, exist_ok=True)
    locked = _LockedProgress(progress)
    stop = _Stop(cancel)
    locked.start("offloading", 2 * sum(sum(c.sizes) for c in cards))
    try:
        for card in cards:
            _offload_card(card, algos, report, locked, stop)
    finally:
        locked.finish()
        report.seconds = time.perf_counter() - started
    return report


def verify(
    root: Path,
    *,
    progress: Progress = NULL_PROGRESS,
    cancel: CancelToken | None = None,
) -> VerifyReport:
    """Re-hash every file under the MHL root ``root`` and compare with its history; add a generation.

    Files are compared with the newest hashes not recorded as failed, in the formats recorded for them
    (new files get xxh64). Folders holding their own ``ascmhl/`` are left to their own verification.
    Raises :class:`~posthouse.core.errors.UsageError` when ``root`` has no history and
    :class:`~posthouse.picture.mhl.MHLError` when a manifest cannot be read.
    """
    started = time.perf_counter()
    root = Path(root)
    if not (root / FOLDER).is_dir():
        raise UsageError(
            "no ASC MHL history here (no ascmhl/ folder)",
            path=root,
            hint="point at a card folder offloaded with `posthouse ingest`",
        )
    history = History.load(root)
    if not history.generations:
        raise MHLError("the ascmhl folder holds no generation", path=history.folder)
    report = VerifyReport(root=root, problems=list(history.problems))
    recorded = history.reference()
    patterns = tuple(dict.fromkeys((*history.ignore_patterns(), "*" + PARTIAL_SUFFIX, FOLDER, FOLDER + "/")))

    def onerror(err: OSError) -> None:
        report.failed[str(err.filename)] = f"cannot list folder: {_why(err)}"

    present = {rel: path for path, rel in _walk(root, patterns, onerror, skip_nested_roots=True)}
    report.missing = sorted(set(recorded) - set(present))
    sizes = {}
    for rel, path in present.items():
        try:
            sizes[rel] = os.stat(path).st_size
        except OSError:
            sizes[rel] = 0
    stop = _Stop(cancel)
    entries: list[MediaHash] = []
    progress.start(f"verifying {root.name}", sum(sizes.values()))
    try:
        for rel in sorted(present):
            stop.check()
            ref = recorded.get(rel)
            formats = [h.format for h in ref.hashes if h.format in HASH_FORMATS] if ref else ["xxh64"]
            if not formats:
                report.failed[rel] = "no recorded hash is in a format posthouse computes"
                continue
            try:
                st = os.stat(present[rel])
                digests = _hash_path(present[rel], formats, progress, stop)
            except OSError as err:
                report.failed[rel] = f"cannot read: {_why(err)}"
                continue
            report.bytes_hashed += st.st_size
            if ref is None:
                report.new.append(rel)
                action = "original"
            else:
                bad = []
                if ref.size is not None and ref.size != st.st_size:
                    bad.append(f"size {ref.size} recorded, {st.st_size} now")
                for fmt in formats:
                    entry = ref.get(fmt)
                    if entry is not None and not entry.matches(digests[fmt]):
                        bad.append(f"{fmt} {entry.value} recorded, {digests[fmt]} now")
                if bad:
                    report.changed[rel] = "; ".join(bad)
                    action = "failed"
                else:
                    report.verified.append(rel)
                    action = "verified"
            now = datetime.now(UTC)
            hashes = tuple(HashEntry(fmt, digests[fmt], action, now) for fmt in formats)
            entries.append(MediaHash(rel, hashes, st.st_size, mtime_datetime(st)))
    finally:
        progress.finish()
    if entries:
        report.mhl = history.add_generation(new_hashlist("in-place", entries, ignore=patterns)).path
    report.seconds = time.perf_counter() - started
    return report
