"""ASC MHL v2 (the ASC Media Hash List, version 2.0): hash lists, generations, the chain, C4 ids.

The format-level code shared by every department (camera offload in ``posthouse.picture``, the archive
in ``posthouse.finish``); :mod:`posthouse.picture.mhl` re-exports it.

A folder whose integrity is tracked (a camera card at the destination, say) is an *MHL root*. Its
history lives in ``ROOT/ascmhl/``:

- one *generation* file per ingest or verification, named ``0001_<root folder name>_<YYYY-MM-DD_HHMMSS>Z.mhl``
  (UTC), an XML ``<hashlist version="2.0" xmlns="urn:ASC:MHL:v2.0">`` with ``creatorinfo``,
  ``processinfo`` and one ``<hash>`` per file (relative ``path`` with ``size`` and
  ``lastmodificationdate``, then e.g. ``<xxh64 action="original" hashdate="…">``);
- ``ascmhl_chain.xml``, an ``<ascmhldirectory xmlns="urn:ASC:MHL:DIRECTORY:v2.0">`` with one
  ``<hashlist sequencenr="N"><path>…</path><c4>…</c4></hashlist>`` per generation, the C4 id of that
  generation file, so a manifest edited after the fact is caught.

Generations are never rewritten: each ingest or verification adds one, and the chain file is rewritten
(atomically) with the new entry appended. The layout and XML follow the ``ascmhl`` reference
implementation, which reads and verifies what is written here.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import re
import socket
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from posthouse.core.checksum import ALGORITHMS, Hasher, new_hasher
from posthouse.core.errors import PosthouseError, UsageError
from posthouse.core.fsutil import atomic_write_bytes

__all__ = [
    "ACTIONS",
    "CHAIN_FILE",
    "CHAIN_NAMESPACE",
    "DEFAULT_IGNORE",
    "FOLDER",
    "HASH_FORMATS",
    "NAMESPACE",
    "PROCESS_TYPES",
    "C4Hasher",
    "ChainEntry",
    "CreatorInfo",
    "Generation",
    "HashEntry",
    "HashList",
    "History",
    "MHLError",
    "MediaHash",
    "RootCheck",
    "c4_file",
    "c4_from_digest",
    "c4_id",
    "chain_to_xml",
    "find_roots",
    "generation_filename",
    "hasher_for",
    "hashlist_to_xml",
    "is_ignored",
    "mtime_datetime",
    "new_hashlist",
    "parse_chain",
    "parse_hashlist",
    "seal_root",
    "verify_root",
]

NAMESPACE = "urn:ASC:MHL:v2.0"
CHAIN_NAMESPACE = "urn:ASC:MHL:DIRECTORY:v2.0"
FOLDER = "ascmhl"
CHAIN_FILE = "ascmhl_chain.xml"
PROCESS_TYPES = ("in-place", "transfer", "flatten")
ACTIONS = ("original", "verified", "failed")
HASH_FORMATS = ("xxh64", "xxh128", "xxh3", "md5", "sha1", "c4")
"""Hash formats computed here: :data:`posthouse.core.checksum.ALGORITHMS` plus ``xxh3`` and ``c4``."""

DEFAULT_IGNORE = (
    ".DS_Store",
    "._*",
    "Thumbs.db",
    "desktop.ini",
    ".Spotlight-V100/",
    ".Trashes/",
    ".fseventsd/",
    ".TemporaryItems/",
    ".DocumentRevisions-V100/",
    "$RECYCLE.BIN/",
    "System Volume Information/",
    "*.posthouse-partial",
    "ascmhl",
    "ascmhl/",
)
"""Operating-system litter, partial copies and the history itself (gitignore-style patterns)."""

_CHUNK = 8 << 20
_C4_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_SKIPPED = frozenset({"directoryhash", "roothash", "references", "metadata"})
_GENERATION_RE = re.compile(r"^(\d{4,})(?:_(.+))?\.mhl$")


class MHLError(PosthouseError):
    """An ASC MHL file that cannot be read or a history that cannot be written."""


# --- C4 ids (SMPTE ST 2114): SHA-512, base58, "c4" prefix, 90 characters --------------------------------


def c4_from_digest(digest: bytes) -> str:
    """The C4 id of a 64-byte SHA-512 digest."""
    if len(digest) != 64:
        raise ValueError(f"a C4 id needs a 64-byte SHA-512 digest, got {len(digest)} bytes")
    n = int.from_bytes(digest, "big")
    chars: list[str] = []
    while n:
        n, r = divmod(n, 58)
        chars.append(_C4_ALPHABET[r])
    return "c4" + "".join(reversed(chars)).rjust(88, "1")


def c4_id(data: bytes) -> str:
    """The C4 id of ``data``."""
    return c4_from_digest(hashlib.sha512(data).digest())


class C4Hasher:
    """A streaming C4 hasher with the :class:`~posthouse.core.checksum.Hasher` interface."""

    def __init__(self) -> None:
        self._sha = hashlib.sha512()

    def update(self, data: bytes, /) -> None:
        self._sha.update(data)

    def hexdigest(self) -> str:
        return c4_from_digest(self._sha.digest())


def c4_file(path: str | Path) -> str:
    """The C4 id of a file's bytes."""
    h = C4Hasher()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def hasher_for(fmt: str) -> Hasher:
    """A fresh hasher for one of :data:`HASH_FORMATS`."""
    if fmt in ALGORITHMS:
        return new_hasher(fmt)
    if fmt == "c4":
        return C4Hasher()
    if fmt == "xxh3":
        import xxhash

        h: Hasher = xxhash.xxh3_64()
        return h
    raise UsageError(f"unknown hash format '{fmt}'", hint=f"use one of {', '.join(HASH_FORMATS)}")


# --- the data model -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HashEntry:
    """One hash of one file: ``<xxh64 action="original" hashdate="…">value</xxh64>``."""

    format: str
    value: str
    action: str = "original"
    hashdate: datetime | None = None

    def matches(self, value: str) -> bool:
        """True when ``value`` is the same hash (hex compares case-insensitively; C4 exactly)."""
        if self.format == "c4":
            return self.value == value
        return self.value.lower() == value.lower()


@dataclass(frozen=True, slots=True)
class MediaHash:
    """A ``<hash>`` element: a file's path relative to the MHL root, its size and date, its hashes."""

    path: str
    hashes: tuple[HashEntry, ...]
    size: int | None = None
    last_modified: datetime | None = None

    def get(self, fmt: str) -> HashEntry | None:
        """The entry for hash format ``fmt``, if any."""
        return next((h for h in self.hashes if h.format == fmt), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "size": self.size,
            "last_modified": _iso(self.last_modified) if self.last_modified else None,
            "hashes": {h.format: h.value for h in self.hashes},
            "actions": {h.format: h.action for h in self.hashes},
        }


@dataclass(frozen=True, slots=True)
class CreatorInfo:
    """``<creatorinfo>``: when, on which host and with which tool a generation was made."""

    creation_date: datetime
    hostname: str
    tool: str
    tool_version: str
    location: str | None = None
    comment: str | None = None


@dataclass(frozen=True, slots=True)
class HashList:
    """One ASC MHL file (a generation): creator, process type, ignore patterns and file hashes."""

    creator: CreatorInfo
    process: str
    hashes: tuple[MediaHash, ...] = ()
    ignore: tuple[str, ...] = DEFAULT_IGNORE

    def __post_init__(self) -> None:
        if self.process not in PROCESS_TYPES:
            raise ValueError(f"process must be one of {PROCESS_TYPES}, not {self.process!r}")


@dataclass(frozen=True, slots=True)
class ChainEntry:
    """One ``<hashlist>`` of the chain file: a generation's number, file name and C4 id."""

    sequence: int
    path: str
    c4: str


@dataclass(frozen=True, slots=True)
class Generation:
    """A generation file in ``ROOT/ascmhl/`` and what it holds."""

    number: int
    path: Path
    hashlist: HashList


def new_hashlist(
    process: str,
    hashes: Iterable[MediaHash],
    *,
    now: datetime | None = None,
    ignore: Sequence[str] = DEFAULT_IGNORE,
    comment: str | None = None,
) -> HashList:
    """A hash list created now, on this host, by posthouse."""
    from posthouse import __version__

    creator = CreatorInfo(
        creation_date=(now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0),
        hostname=socket.gethostname() or "localhost",
        tool="posthouse",
        tool_version=__version__,
        comment=comment,
    )
    return HashList(creator=creator, process=process, hashes=tuple(hashes), ignore=tuple(ignore))


def mtime_datetime(st: os.stat_result) -> datetime:
    """A file's modification time as an aware UTC datetime, to the second (as MHL records it)."""
    return datetime.fromtimestamp(st.st_mtime_ns // 1_000_000_000, UTC)


# --- writing --------------------------------------------------------------------------------------------


def _iso(dt: datetime) -> str:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).isoformat(timespec="seconds")


def _text(tag: str, value: str, attrs: Iterable[tuple[str, str]] = ()) -> str:
    attr = "".join(f" {k}={quoteattr(v)}" for k, v in attrs)
    return f"<{tag}{attr}>{escape(value)}</{tag}>"


def hashlist_to_xml(hashlist: HashList) -> bytes:
    """Serialise a hash list as an ASC MHL v2 document (UTF-8)."""
    c = hashlist.creator
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<hashlist version="2.0" xmlns="{NAMESPACE}">',
        "  <creatorinfo>",
        "    " + _text("creationdate", _iso(c.creation_date)),
        "    " + _text("hostname", c.hostname),
        "    " + _text("tool", c.tool, [("version", c.tool_version)]),
    ]
    if c.location is not None:
        out.append("    " + _text("location", c.location))
    if c.comment is not None:
        out.append("    " + _text("comment", c.comment))
    out += ["  </creatorinfo>", "  <processinfo>", "    " + _text("process", hashlist.process)]
    if hashlist.ignore:
        out.append("    <ignore>")
        out += ["      " + _text("pattern", p) for p in hashlist.ignore]
        out.append("    </ignore>")
    out.append("  </processinfo>")
    if hashlist.hashes:  # the schema wants at least one entry inside <hashes>
        out.append("  <hashes>")
        for media in hashlist.hashes:
            attrs: list[tuple[str, str]] = []
            if media.size is not None:
                attrs.append(("size", str(media.size)))
            if media.last_modified is not None:
                attrs.append(("lastmodificationdate", _iso(media.last_modified)))
            out += ["    <hash>", "      " + _text("path", media.path, attrs)]
            for entry in media.hashes:
                eattrs = [("action", entry.action)]
                if entry.hashdate is not None:
                    eattrs.append(("hashdate", _iso(entry.hashdate)))
                out.append("      " + _text(entry.format, entry.value, eattrs))
            out.append("    </hash>")
        out.append("  </hashes>")
    out.append("</hashlist>")
    return ("\n".join(out) + "\n").encode("utf-8")


def chain_to_xml(entries: Sequence[ChainEntry]) -> bytes:
    """Serialise the chain file (``ascmhl_chain.xml``)."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>', f'<ascmhldirectory xmlns="{CHAIN_NAMESPACE}">']
    for e in entries:
        out += [
            f'  <hashlist sequencenr="{e.sequence}">',
            "    " + _text("path", e.path),
            "    " + _text("c4", e.c4),
            "  </hashlist>",
        ]
    out.append("</ascmhldirectory>")
    return ("\n".join(out) + "\n").encode("utf-8")


# --- reading --------------------------------------------------------------------------------------------


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _date(text: str | None, path: Path, where: str) -> datetime | None:
    if not text:
        return None
    try:
        dt = datetime.fromisoformat(text.strip())
    except ValueError:
        raise MHLError(f"'{text}' is not an ISO 8601 date", path=path, where=where) from None
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)


def _size(text: str | None, path: Path, where: str) -> int | None:
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise MHLError(f"size '{text}' is not a whole number", path=path, where=where) from None


def _iterparse(path: Path) -> Iterator[tuple[str, ET.Element]]:
    try:
        yield from ET.iterparse(path, events=("start", "end"))
    except ET.ParseError as err:
        line, col = err.position
        raise MHLError(
            f"not well-formed XML ({err.msg})",
            path=path,
            where=f"line {line}, column {col}",
            hint="the manifest is damaged; restore it from another copy of the media",
        ) from None
    except OSError as err:
        raise MHLError(f"cannot read: {err.strerror or err}", path=path) from None


def parse_hashlist(path: str | Path) -> HashList:
    """Read an ASC MHL v2 file. Directory and root hashes are skipped; file hashes are kept."""
    path = Path(path)
    creator: dict[str, str | None] = {}
    process = "in-place"
    ignore: list[str] = []
    hashes: list[MediaHash] = []
    root_seen = False
    media_path: str | None = None
    size: int | None = None
    modified: datetime | None = None
    entries: list[HashEntry] = []
    skip_depth = 0
    count = 0
    for event, elem in _iterparse(path):
        tag = _local(elem.tag)
        if not root_seen:
            root_seen = True
            if elem.tag != f"{{{NAMESPACE}}}hashlist":
                raise MHLError(
                    f"not an ASC MHL v2 file (root element <{tag}>, expected <hashlist> in {NAMESPACE})",
                    path=path,
                )
            if elem.get("version") != "2.0":
                raise MHLError(f"unsupported ASC MHL version {elem.get('version')!r}", path=path)
            continue
        if tag in _SKIPPED:  # directory and root hashes, references, metadata
            skip_depth += 1 if event == "start" else -1
            continue
        if event == "start" or skip_depth:
            continue
        text = (elem.text or "").strip()
        where = f"entry {count + 1}"
        if tag in ("creationdate", "hostname", "location", "comment"):
            creator[tag] = text
        elif tag == "tool":
            creator["tool"] = text
            creator["tool_version"] = elem.get("version", "")
        elif tag == "process":
            process = text
        elif tag == "pattern":
            ignore.append(text)
        elif tag == "path":
            media_path = text
            size = _size(elem.get("size"), path, where)
            modified = _date(elem.get("lastmodificationdate"), path, where)
        elif tag in HASH_FORMATS or tag in ("xxh32",):
            entries.append(
                HashEntry(tag, text, elem.get("action", "original"), _date(elem.get("hashdate"), path, where))
            )
        elif tag == "hash":
            count += 1
            if not media_path:
                raise MHLError("a <hash> element has no <path>", path=path, where=where)
            hashes.append(MediaHash(media_path, tuple(entries), size, modified))
            media_path, size, modified, entries = None, None, None, []
            elem.clear()
    created = _date(creator.get("creationdate"), path, "creatorinfo")
    if created is None:
        raise MHLError("no <creationdate> in <creatorinfo>", path=path)
    if process not in PROCESS_TYPES:
        raise MHLError(f"unknown process type '{process}'", path=path, where="processinfo")
    info = CreatorInfo(
        creation_date=created,
        hostname=creator.get("hostname") or "",
        tool=creator.get("tool") or "",
        tool_version=creator.get("tool_version") or "",
        location=creator.get("location"),
        comment=creator.get("comment"),
    )
    return HashList(creator=info, process=process, hashes=tuple(hashes), ignore=tuple(ignore))


def parse_chain(path: str | Path) -> list[ChainEntry]:
    """Read ``ascmhl_chain.xml``; entries in file order."""
    path = Path(path)
    entries: list[ChainEntry] = []
    seq: str | None = None
    gen_path = c4 = ""
    first = True
    for event, elem in _iterparse(path):
        tag = _local(elem.tag)
        if first:
            first = False
            if elem.tag != f"{{{CHAIN_NAMESPACE}}}ascmhldirectory":
                raise MHLError(f"not an ASC MHL chain file (root element <{tag}>)", path=path)
            continue
        if event == "start":
            if tag == "hashlist":
                seq, gen_path, c4 = elem.get("sequencenr"), "", ""
            continue
        if tag == "path":
            gen_path = (elem.text or "").strip()
        elif tag == "c4":
            c4 = (elem.text or "").strip()
        elif tag == "hashlist":
            where = f"hashlist {len(entries) + 1}"
            if not seq or not seq.isdigit() or not gen_path:
                raise MHLError("a <hashlist> entry lacks its sequencenr or path", path=path, where=where)
            entries.append(ChainEntry(int(seq), gen_path, c4))
    return entries


# --- a root's history -----------------------------------------------------------------------------------


def generation_filename(number: int, root_name: str, when: datetime) -> str:
    """``0001_<root name>_<YYYY-MM-DD_HHMMSS>Z.mhl`` (UTC), as the reference implementation names them."""
    stamp = when.astimezone(UTC).strftime("%Y-%m-%d_%H%M%S")
    return f"{number:04d}_{root_name}_{stamp}Z.mhl"


@dataclass
class History:
    """The generations and chain in ``ROOT/ascmhl/``, with what is wrong with them in ``problems``."""

    root: Path
    generations: list[Generation] = field(default_factory=list)
    chain: list[ChainEntry] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def folder(self) -> Path:
        return self.root / FOLDER

    @property
    def latest_number(self) -> int:
        numbers = [g.number for g in self.generations] + [e.sequence for e in self.chain]
        return max(numbers, default=0)

    @classmethod
    def load(cls, root: str | Path) -> History:
        """Read ``root/ascmhl`` (an empty history when it does not exist) and check it against its chain.

        A generation missing, altered since the chain recorded its C4 id, or absent from the chain is
        listed in ``problems``; a file that cannot be parsed raises :class:`MHLError`.
        """
        history = cls(Path(root))
        folder = history.folder
        if not folder.is_dir():
            return history
        found: dict[str, int] = {}
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            m = _GENERATION_RE.match(entry.name)
            if m and entry.is_file() and not entry.name.startswith("._"):
                found[entry.name] = int(m.group(1))
        chain_path = folder / CHAIN_FILE
        if chain_path.is_file():
            history.chain = parse_chain(chain_path)
        elif found:
            history.problems.append(f"{chain_path}: chain file missing; generations cannot be checked")
        chained = set()
        for link in history.chain:
            chained.add(link.path)
            gen_file = folder / link.path
            if not gen_file.is_file():
                history.problems.append(f"{gen_file}: generation {link.sequence} is missing")
            elif c4_file(gen_file) != link.c4:
                history.problems.append(
                    f"{gen_file}: generation {link.sequence} was modified after it was written "
                    "(its C4 id does not match the chain)"
                )
        for name, number in sorted(found.items(), key=lambda kv: (kv[1], kv[0])):
            if history.chain and name not in chained:
                history.problems.append(f"{folder / name}: generation {number} is not in the chain file")
            history.generations.append(Generation(number, folder / name, parse_hashlist(folder / name)))
        return history

    def reference(self) -> dict[str, MediaHash]:
        """Per file path, the newest hashes that were not recorded as failed (oldest generations first).

        This is what a verification compares against: a file recorded as ``failed`` keeps being
        compared to its last good hash, and a file missing from later generations keeps its older hash.
        """
        ref: dict[str, MediaHash] = {}
        for gen in self.generations:
            for media in gen.hashlist.hashes:
                good = tuple(h for h in media.hashes if h.action != "failed")
                if not good:
                    continue
                prev = ref.get(media.path)
                merged = {h.format: h for h in prev.hashes} if prev else {}
                merged.update({h.format: h for h in good})
                ref[media.path] = MediaHash(
                    media.path, tuple(merged.values()), media.size, media.last_modified
                )
        return ref

    def ignore_patterns(self) -> tuple[str, ...]:
        """The newest generation's ignore patterns, or :data:`DEFAULT_IGNORE`."""
        for gen in reversed(self.generations):
            if gen.hashlist.ignore:
                return gen.hashlist.ignore
        return DEFAULT_IGNORE

    def add_generation(self, hashlist: HashList) -> Generation:
        """Write ``hashlist`` as the next generation and append it to the chain; returns it."""
        number = self.latest_number + 1
        name = generation_filename(number, self.root.resolve().name, hashlist.creator.creation_date)
        path = self.folder / name
        if path.exists():
            raise MHLError("a generation of this name already exists; it is never rewritten", path=path)
        data = hashlist_to_xml(hashlist)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(path, data)
            chain = [*self.chain, ChainEntry(number, name, c4_id(data))]
            atomic_write_bytes(self.folder / CHAIN_FILE, chain_to_xml(chain))
        except OSError as err:
            raise MHLError(f"cannot write the ASC MHL: {err.strerror or err}", path=path) from None
        self.chain = chain
        gen = Generation(number, path, hashlist)
        self.generations.append(gen)
        return gen


def is_ignored(rel: str, is_dir: bool, patterns: Iterable[str]) -> bool:
    """Whether a path relative to the MHL root matches gitignore-style ``patterns`` (a simplified subset:
    a trailing ``/`` matches folders only; a pattern with a ``/`` matches the whole path, else the name)."""
    name = PurePosixPath(rel).name
    for pat in patterns:
        if pat.endswith("/"):
            if not is_dir:
                continue
            pat = pat[:-1]
        target = rel if "/" in pat else name
        if fnmatch.fnmatchcase(target, pat.lstrip("/")):
            return True
    return False


def find_roots(path: str | Path) -> list[Path]:
    """MHL roots at or under ``path`` (folders holding an ``ascmhl/`` folder), sorted."""
    path = Path(path)
    roots: list[Path] = []
    for dirpath, dirnames, _ in os.walk(path):
        if FOLDER in dirnames and (Path(dirpath) / FOLDER).is_dir():
            roots.append(Path(dirpath))
        dirnames[:] = sorted(d for d in dirnames if d != FOLDER and not d.startswith("."))
    return sorted(roots)


# --- sealing and verifying a whole root ------------------------------------------------------------------


def _walk_root(root: Path, patterns: Sequence[str]) -> list[str]:
    files: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = Path(dirpath).relative_to(root).as_posix()
        rel_dir = "" if rel_dir == "." else rel_dir + "/"
        dirnames[:] = sorted(d for d in dirnames if not is_ignored(rel_dir + d, True, patterns))
        files += [rel_dir + f for f in sorted(filenames) if not is_ignored(rel_dir + f, False, patterns)]
    return sorted(files)


def _hash_file(path: Path, fmt: str) -> str:
    h = hasher_for(fmt)
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def seal_root(
    root: str | Path,
    *,
    known: dict[str, str] | None = None,
    fmt: str = "xxh64",
    process: str = "in-place",
    comment: str | None = None,
    ignore: Sequence[str] = DEFAULT_IGNORE,
) -> Generation:
    """Hash every file under ``root`` (``known`` gives hashes already computed, by relative path) and write
    them as the root's next generation with ``action="original"``."""
    root = Path(root)
    now = datetime.now(UTC).replace(microsecond=0)
    known = known or {}
    entries: list[MediaHash] = []
    for rel in _walk_root(root, ignore):
        st = (root / rel).stat()
        value = known.get(rel) or _hash_file(root / rel, fmt)
        entries.append(
            MediaHash(rel, (HashEntry(fmt, value, "original", now),), st.st_size, mtime_datetime(st))
        )
    return History.load(root).add_generation(
        new_hashlist(process, entries, now=now, ignore=ignore, comment=comment)
    )


@dataclass
class RootCheck:
    """The result of :func:`verify_root`: relative paths that match, changed, are missing or are new."""

    root: Path
    ok: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not (self.changed or self.missing or self.extra or self.problems)

    def to_dict(self) -> dict[str, Any]:
        return {
            "root": str(self.root),
            "passed": self.passed,
            "ok": len(self.ok),
            "changed": self.changed,
            "missing": self.missing,
            "extra": self.extra,
            "problems": self.problems,
        }


def verify_root(root: str | Path, *, record: bool = False) -> RootCheck:
    """Re-hash every file of an MHL root against its history (the chain checked too).

    With ``record``, a new generation is written with ``verified``/``failed`` actions.
    """
    root = Path(root)
    history = History.load(root)
    check = RootCheck(root, problems=list(history.problems))
    if not history.generations:
        check.problems.append(f"{root}: no ASC MHL history (no {FOLDER}/ folder with generations)")
        return check
    reference = history.reference()
    patterns = history.ignore_patterns()
    present = set(_walk_root(root, patterns))
    now = datetime.now(UTC).replace(microsecond=0)
    recorded: list[MediaHash] = []
    for rel, media in sorted(reference.items()):
        if rel not in present:
            check.missing.append(rel)
            continue
        entry = next((h for h in media.hashes if h.format in HASH_FORMATS), None)
        if entry is None:
            check.problems.append(f"{root / rel}: no hash format that can be computed here")
            continue
        value = _hash_file(root / rel, entry.format)
        good = entry.matches(value)
        (check.ok if good else check.changed).append(rel)
        st = (root / rel).stat()
        action = "verified" if good else "failed"
        recorded.append(
            MediaHash(rel, (HashEntry(entry.format, value, action, now),), st.st_size, mtime_datetime(st))
        )
    check.extra = sorted(present - set(reference))
    if record and recorded:
        history.add_generation(new_hashlist("in-place", recorded, now=now, ignore=patterns))
    return check
