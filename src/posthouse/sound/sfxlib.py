"""Sound-effects library: UCS names and categories, an index of WAV/BWF files, and search by words.

The Universal Category System (UCS) names a file ``CatID_FXName_CreatorID_SourceID[_UserData].wav``
(``DOORWood_Knock Three Times Hollow_JD_Library.wav``); ``CatID`` is the short code of a category and
subcategory (``DOORWood`` = DOORS / WOOD) and may carry a user category after a hyphen
(``FEETHmn-Gravel_…``). The category table ships as ``ucs_categories.csv`` (a subset of UCS with our own
synonyms). The index is a JSON file (by default ``PROJECT/sound/sfx_index.json``) holding, per file, its
audio format, UCS fields, ``bext``/iXML/INFO text and BS.1770 loudness; re-indexing measures only files
whose size or modification time changed, and a file that cannot be read is listed with its reason.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import math
import os
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Final
from xml.etree import ElementTree as ET

from posthouse.core.errors import MediaError, UsageError
from posthouse.core.fsutil import atomic_write_text
from posthouse.core.progress import NULL_PROGRESS, CancelToken, Progress
from posthouse.sound.loudness import measure_file

__all__ = [
    "AUDIO_SUFFIXES",
    "INDEX_NAME",
    "IndexProblem",
    "IndexReport",
    "SearchHit",
    "SfxEntry",
    "SfxIndex",
    "UcsCategory",
    "UcsName",
    "cat_short",
    "category_matches",
    "default_index_path",
    "index_library",
    "load_index",
    "lookup_category",
    "parse_ucs_name",
    "scan_file",
    "search",
    "tokens",
    "ucs_categories",
]

AUDIO_SUFFIXES: Final = (".wav", ".wave", ".bwf")
"""File name endings the indexer reads (case-insensitive)."""

INDEX_NAME: Final = "sfx_index.json"
_FORMAT: Final = "posthouse.sfx_index"
_VERSION: Final = 1

# field weights of a search term match: the sound's own name counts most, category synonyms least
_W_NAME, _W_CATID, _W_CATEGORY, _W_KEYWORDS, _W_DESCRIPTION, _W_SYNONYM, _W_OTHER = (
    5.0,
    4.0,
    3.0,
    3.0,
    2.0,
    1.0,
    0.5,
)


# ---------------------------------------------------------------- UCS


@dataclass(frozen=True, slots=True)
class UcsCategory:
    """One row of the UCS table: ``CatID`` and its category, subcategory, synonyms and explanation."""

    cat_id: str
    category: str
    subcategory: str
    synonyms: tuple[str, ...] = ()
    explanation: str = ""

    @property
    def cat_short(self) -> str:
        """The category's short code: ``DOOR`` for ``DOORWood``, ``WHSH`` for ``WHSH``."""
        return cat_short(self.cat_id)


def cat_short(cat_id: str) -> str:
    """The upper-case category part of a CatID (``AMBForst`` → ``AMB``; ``RAIN`` → ``RAIN``)."""
    m = re.match(r"^([A-Z]+?)(?=[A-Z][a-z]|$)", cat_id)
    return m.group(1) if m else cat_id.upper()


@functools.lru_cache(maxsize=1)
def ucs_categories() -> Mapping[str, UcsCategory]:
    """The shipped UCS table (package data ``ucs_categories.csv``), keyed by CatID in table order."""
    try:
        text = resources.files("posthouse.sound").joinpath("ucs_categories.csv").read_text("utf-8")
    except (FileNotFoundError, OSError) as exc:  # a wheel built without the package data
        raise MediaError(
            f"the UCS category table is missing: {exc}",
            hint="reinstall posthouse (ucs_categories.csv must ship as package data)",
        ) from exc
    table: dict[str, UcsCategory] = {}
    for row in csv.DictReader(io.StringIO(text)):
        cat_id = (row.get("CatID") or "").strip()
        if not cat_id:
            continue
        table[cat_id] = UcsCategory(
            cat_id=cat_id,
            category=(row.get("Category") or "").strip(),
            subcategory=(row.get("SubCategory") or "").strip(),
            synonyms=tuple(s.strip() for s in (row.get("Synonyms") or "").split(";") if s.strip()),
            explanation=(row.get("Explanation") or "").strip(),
        )
    return table


@functools.lru_cache(maxsize=1)
def _folded() -> dict[str, UcsCategory]:
    return {k.lower(): v for k, v in ucs_categories().items()}


def lookup_category(cat_id: str) -> UcsCategory | None:
    """The table row of ``cat_id`` (exact, else case-insensitive); ``None`` when it is not in the table."""
    return ucs_categories().get(cat_id) or _folded().get(cat_id.lower())


@dataclass(frozen=True, slots=True)
class UcsName:
    """The blocks of a UCS file name; ``category`` is ``None`` for a CatID not in the shipped table."""

    cat_id: str
    fx_name: str
    creator_id: str = ""
    source_id: str = ""
    user_data: str = ""
    user_category: str = ""
    category: str | None = None
    subcategory: str | None = None


_CATID_SHAPE = re.compile(r"[A-Z]{2,}[A-Za-z]*")


def parse_ucs_name(name: str | Path) -> UcsName | None:
    """Split a UCS file name (with or without its extension) into its blocks.

    ``None`` when the first block is not a CatID: one from the table, or (for names with all four blocks)
    one shaped like a CatID (upper-case letters, then letters).
    """
    stem = Path(name).name
    if Path(stem).suffix.lower() in AUDIO_SUFFIXES:
        stem = Path(stem).stem
    blocks = [b.strip() for b in stem.split("_")]
    head, _, user_category = blocks[0].partition("-")
    cat = lookup_category(head)
    if cat is None and not (len(blocks) >= 4 and _CATID_SHAPE.fullmatch(head)):
        return None
    return UcsName(
        cat_id=cat.cat_id if cat is not None else head,
        fx_name=blocks[1] if len(blocks) > 1 else "",
        creator_id=blocks[2] if len(blocks) > 2 else "",
        source_id=blocks[3] if len(blocks) > 3 else "",
        user_data="_".join(blocks[4:]),
        user_category=user_category,
        category=cat.category if cat is not None else None,
        subcategory=cat.subcategory if cat is not None else None,
    )


# ---------------------------------------------------------------- entries


def _num(value: float) -> float | None:
    return None if math.isinf(value) or math.isnan(value) else round(value, 2)


@dataclass(frozen=True, slots=True)
class SfxEntry:
    """One indexed sound file: where it is, its format, its names and text, and its loudness."""

    path: str
    size: int
    mtime_ns: int
    sample_rate: int
    channels: int
    frames: int
    subtype: str = ""
    cat_id: str | None = None
    category: str | None = None
    subcategory: str | None = None
    fx_name: str = ""
    creator_id: str = ""
    source_id: str = ""
    user_data: str = ""
    user_category: str = ""
    title: str = ""
    description: str = ""
    originator: str = ""
    keywords: tuple[str, ...] = ()
    time_reference: int = 0
    integrated_lufs: float | None = None
    true_peak_dbtp: float | None = None
    sample_peak_dbfs: float | None = None

    @property
    def name(self) -> str:
        """The file name."""
        return Path(self.path).name

    @property
    def duration_s(self) -> float:
        """Length in seconds (for display and filters; editorial code uses :attr:`frames`)."""
        return self.frames / self.sample_rate if self.sample_rate else 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (with ``name`` and ``duration_s`` added)."""
        d: dict[str, Any] = {f: getattr(self, f) for f in self.__dataclass_fields__}
        d["keywords"] = list(self.keywords)
        d["name"] = self.name
        d["duration_s"] = round(self.duration_s, 6)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SfxEntry:
        """Inverse of :meth:`to_dict` (unknown keys ignored)."""
        kw = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        kw["keywords"] = tuple(kw.get("keywords") or ())
        return cls(**kw)


@dataclass(frozen=True, slots=True)
class IndexProblem:
    """A file the indexer could not read, and why."""

    path: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "reason": self.reason}


def _ixml_user(xml_text: str) -> dict[str, str]:
    """Upper-cased child tags of iXML ``USER`` (where library tools keep CATID, FXNAME, KEYWORDS …)
    plus ``NOTE``."""
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError:
        return {}
    out: dict[str, str] = {}
    note = root.find("NOTE")
    if note is not None and note.text:
        out["NOTE"] = note.text.strip()
    user = root.find("USER")
    if user is not None:
        for child in user:
            if child.text and child.text.strip():
                out[child.tag.upper()] = child.text.strip()
    return out


def _split_keywords(text: str | None) -> list[str]:
    if not text:
        return []
    return [k.strip() for k in re.split(r"[;,]", text) if k.strip()]


def _read_text_metadata(path: Path) -> dict[str, Any]:
    """``bext``, iXML and RIFF INFO text through ``wavinfo``; an empty dict when none can be read."""
    from wavinfo import WavInfoReader

    try:
        info = WavInfoReader(str(path))
    except Exception:  # wavinfo raises bare errors on odd RIFF layouts; the audio itself was readable
        return {}
    meta: dict[str, Any] = {}
    keywords: list[str] = []
    descr: list[str] = []
    if info.bext is not None:
        if info.bext.description:
            descr.append(str(info.bext.description).strip())
        meta["originator"] = str(info.bext.originator or "").strip()
        meta["time_reference"] = int(info.bext.time_reference or 0)
    if info.info is not None:
        ri = info.info
        meta["title"] = str(ri.title or "").strip()
        if ri.comment:
            descr.append(str(ri.comment).strip())
        if ri.subject:
            descr.append(str(ri.subject).strip())
        keywords += _split_keywords(ri.keywords)
        if not meta.get("originator") and ri.artist:
            meta["originator"] = str(ri.artist).strip()
    if info.ixml is not None:
        try:
            user = _ixml_user(info.ixml.xml_str())
        except Exception:  # a malformed iXML chunk is not worth failing the file for
            user = {}
        for key in ("DESCRIPTION", "NOTE"):
            if user.get(key):
                descr.append(user[key])
        keywords += _split_keywords(user.get("KEYWORDS"))
        for key in ("CATID", "CATEGORY", "SUBCATEGORY", "FXNAME", "TRACKTITLE"):
            if user.get(key):
                meta[key.lower()] = user[key]
    meta["description"] = " / ".join(dict.fromkeys(d for d in descr if d))
    meta["keywords"] = tuple(dict.fromkeys(keywords))
    return meta


def scan_file(path: str | Path, *, measure: bool = True) -> SfxEntry:
    """Read one WAV/BWF: format, UCS name, ``bext``/iXML/INFO text and (``measure``) its loudness.

    Raises ``MediaError`` naming the file when it is not readable audio.
    """
    import soundfile as sf

    p = Path(path).resolve()
    try:
        st = p.stat()
        info = sf.info(str(p))
    except (RuntimeError, OSError) as exc:  # soundfile raises LibsndfileError (a RuntimeError)
        raise MediaError(f"not a readable WAV: {exc}", path=p) from exc
    if info.frames <= 0 or info.samplerate <= 0:
        raise MediaError("no audio samples", path=p)
    meta = _read_text_metadata(p)
    ucs = parse_ucs_name(p.name)
    if ucs is None and meta.get("catid"):
        cat = lookup_category(str(meta["catid"]))
        ucs = UcsName(
            cat_id=cat.cat_id if cat is not None else str(meta["catid"]),
            fx_name=str(meta.get("fxname") or meta.get("tracktitle") or ""),
            category=cat.category if cat is not None else meta.get("category"),
            subcategory=cat.subcategory if cat is not None else meta.get("subcategory"),
        )
    loud: dict[str, float | None] = {}
    if measure:
        try:
            res = measure_file(p)
        except Exception as exc:  # any decoder failure: the file is listed as a problem by the caller
            raise MediaError(f"cannot measure loudness: {exc}", path=p) from exc
        loud = {
            "integrated_lufs": _num(res.integrated_lufs),
            "true_peak_dbtp": _num(res.true_peak_dbtp),
            "sample_peak_dbfs": _num(res.sample_peak_dbfs),
        }
    return SfxEntry(
        path=str(p),
        size=int(st.st_size),
        mtime_ns=int(st.st_mtime_ns),
        sample_rate=int(info.samplerate),
        channels=int(info.channels),
        frames=int(info.frames),
        subtype=str(info.subtype or ""),
        cat_id=ucs.cat_id if ucs else None,
        category=ucs.category if ucs else None,
        subcategory=ucs.subcategory if ucs else None,
        fx_name=(ucs.fx_name if ucs else "") or str(meta.get("fxname") or ""),
        creator_id=ucs.creator_id if ucs else "",
        source_id=ucs.source_id if ucs else "",
        user_data=ucs.user_data if ucs else "",
        user_category=ucs.user_category if ucs else "",
        title=str(meta.get("title") or ""),
        description=str(meta.get("description") or ""),
        originator=str(meta.get("originator") or ""),
        keywords=tuple(meta.get("keywords") or ()),
        time_reference=int(meta.get("time_reference") or 0),
        **loud,
    )


# ---------------------------------------------------------------- the index


@dataclass(slots=True)
class SfxIndex:
    """The index: entries sorted by path, the folders indexed, and the files that could not be read."""

    entries: list[SfxEntry] = field(default_factory=list)
    roots: list[str] = field(default_factory=list)
    problems: list[IndexProblem] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.entries)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (what :meth:`save` writes)."""
        return {
            "format": _FORMAT,
            "version": _VERSION,
            "roots": list(self.roots),
            "entries": [e.to_dict() for e in self.entries],
            "problems": [p.to_dict() for p in self.problems],
        }

    def save(self, path: str | Path) -> Path:
        """Write the index as JSON to ``path`` atomically; returns the path."""
        p = Path(path)
        atomic_write_text(p, json.dumps(self.to_dict(), ensure_ascii=False) + "\n")
        return p

    @classmethod
    def load(cls, path: str | Path) -> SfxIndex:
        """Read an index written by :meth:`save`."""
        p = Path(path)
        try:
            data = json.loads(p.read_text("utf-8"))
        except FileNotFoundError as exc:
            raise UsageError(
                "no effects library index here", path=p, hint="build it with `posthouse sfx index DIR`"
            ) from exc
        except (OSError, ValueError) as exc:
            raise MediaError(
                f"cannot read the effects index: {exc}", path=p, hint="re-index to rebuild it"
            ) from exc
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            raise MediaError("not a posthouse effects index", path=p, hint="re-index to rebuild it")
        try:
            return cls(
                entries=[SfxEntry.from_dict(e) for e in data.get("entries", [])],
                roots=[str(r) for r in data.get("roots", [])],
                problems=[IndexProblem(str(q["path"]), str(q["reason"])) for q in data.get("problems", [])],
            )
        except (KeyError, TypeError) as exc:
            raise MediaError(f"damaged effects index: {exc}", path=p, hint="re-index to rebuild it") from exc

    def search(
        self,
        words: str | Sequence[str],
        *,
        category: str | None = None,
        max_duration: float | None = None,
        min_duration: float | None = None,
        limit: int | None = None,
    ) -> list[SearchHit]:
        """Shorthand for :func:`search` on this index."""
        return search(
            self.entries,
            words,
            category=category,
            max_duration=max_duration,
            min_duration=min_duration,
            limit=limit,
        )


def load_index(path: str | Path) -> SfxIndex:
    """Read the index at ``path``."""
    return SfxIndex.load(path)


def default_index_path(project_root: str | Path) -> Path:
    """``PROJECT/sound/sfx_index.json``."""
    return Path(project_root) / "sound" / INDEX_NAME


@dataclass(frozen=True, slots=True)
class IndexReport:
    """What one indexing run did."""

    index_path: str
    entries: int
    added: tuple[str, ...]
    updated: tuple[str, ...]
    unchanged: int
    removed: tuple[str, ...]
    problems: tuple[IndexProblem, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "index": self.index_path,
            "entries": self.entries,
            "added": list(self.added),
            "updated": list(self.updated),
            "unchanged": self.unchanged,
            "removed": list(self.removed),
            "problems": [p.to_dict() for p in self.problems],
        }


def _audio_files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            # dot files: our own partial writes and macOS AppleDouble "._" companions
            if not name.startswith(".") and Path(name).suffix.lower() in AUDIO_SUFFIXES:
                found.append(Path(dirpath) / name)
    return sorted(found)


def _under(path: str, roots: Iterable[Path]) -> bool:
    p = Path(path)
    return any(p == r or r in p.parents for r in roots)


def index_library(
    dirs: Sequence[str | Path],
    index_path: str | Path,
    *,
    rescan: bool = False,
    progress: Progress = NULL_PROGRESS,
    cancel: CancelToken | None = None,
    checkpoint_s: float = 30.0,
) -> IndexReport:
    """Index the WAV/BWF files under ``dirs`` into the JSON index at ``index_path`` (written atomically).

    Files whose size and modification time match the index are kept as they are (``rescan`` measures every
    file again); files gone from an indexed folder leave the index; entries from other folders stay. A file
    that cannot be read is listed in the report and the index's ``problems`` and the rest proceeds. The
    index is saved every ``checkpoint_s`` seconds and when the run is cancelled, so a new run resumes.
    """
    roots = [Path(d).resolve() for d in dirs]
    if not roots:
        raise UsageError("no folders to index")
    for r in roots:
        if not r.exists():
            raise UsageError("no such folder", path=r, hint="check the path of the effects library")
    ipath = Path(index_path)
    old = SfxIndex.load(ipath) if ipath.exists() else SfxIndex()
    previous = {e.path: e for e in old.entries}
    files = sorted({f.resolve() for r in roots for f in _audio_files(r)})
    keys = {str(f) for f in files}
    all_roots = sorted({*old.roots, *(str(r) for r in roots)})
    # every previous entry stays until its file is seen again (a cancelled run keeps what it had)
    entries: dict[str, SfxEntry] = dict(previous)
    problems = {q.path: q for q in old.problems if not _under(q.path, roots) or q.path in keys}
    seen_problems: set[str] = set()
    added: list[str] = []
    updated: list[str] = []
    unchanged = 0

    def snapshot() -> SfxIndex:
        return SfxIndex(
            entries=[entries[k] for k in sorted(entries)],
            roots=all_roots,
            problems=[problems[k] for k in sorted(problems)],
        )

    progress.start("indexing effects", len(files))
    last_save = time.monotonic()
    try:
        for f in files:
            if cancel is not None:
                cancel.raise_if_cancelled()
            key = str(f)
            prev = previous.get(key)
            try:
                st = f.stat()
                if (
                    prev is not None
                    and not rescan
                    and (prev.size, prev.mtime_ns) == (st.st_size, st.st_mtime_ns)
                ):
                    unchanged += 1
                    problems.pop(key, None)
                    continue
                entries[key] = scan_file(f)
                problems.pop(key, None)
                (updated if prev is not None else added).append(key)
            except Exception as exc:  # one bad file never sinks the batch: it is listed with its reason
                reason = exc.message if isinstance(exc, MediaError) else f"{type(exc).__name__}: {exc}"
                entries.pop(key, None)
                problems[key] = IndexProblem(key, reason)
                seen_problems.add(key)
            finally:
                progress.advance()
            if time.monotonic() - last_save > checkpoint_s:
                snapshot().save(ipath)
                last_save = time.monotonic()
    except BaseException:
        snapshot().save(ipath)
        raise
    finally:
        progress.finish()
    removed = sorted(p for p in previous if _under(p, roots) and p not in keys)
    for p in removed:
        entries.pop(p, None)
    for k in [k for k in problems if _under(k, roots) and k not in seen_problems]:
        del problems[k]
    index = snapshot()
    index.save(ipath)
    return IndexReport(
        index_path=str(ipath),
        entries=len(index.entries),
        added=tuple(added),
        updated=tuple(updated),
        unchanged=unchanged,
        removed=tuple(removed),
        problems=tuple(problems[k] for k in sorted(seen_problems)),
    )


# ---------------------------------------------------------------- search


def tokens(text: str) -> list[str]:
    """Lower-case words and numbers of ``text`` (the unit of matching)."""
    return re.findall(r"[a-z0-9]+", text.lower())


@dataclass(frozen=True, slots=True)
class SearchHit:
    """An entry that matched every search word, with its score (higher is better)."""

    entry: SfxEntry
    score: float

    def to_dict(self) -> dict[str, Any]:
        """The entry's dict plus ``score``."""
        return {**self.entry.to_dict(), "score": round(self.score, 3)}


def _fields(e: SfxEntry) -> list[tuple[float, set[str]]]:
    cat = lookup_category(e.cat_id) if e.cat_id else None
    name = e.fx_name or (Path(e.path).stem if not e.cat_id else "")
    syn = " ".join(cat.synonyms) if cat is not None else ""
    other = " ".join(
        (e.creator_id, e.source_id, e.user_data, e.user_category, e.originator, Path(e.path).parent.name)
    )
    return [
        (_W_NAME, set(tokens(name))),
        (_W_CATID, {e.cat_id.lower()} if e.cat_id else set()),
        (_W_CATEGORY, set(tokens(f"{e.category or ''} {e.subcategory or ''}"))),
        (_W_KEYWORDS, set(tokens(" ".join(e.keywords) + " " + e.title))),
        (_W_DESCRIPTION, set(tokens(e.description))),
        (_W_SYNONYM, set(tokens(syn))),
        (_W_OTHER, set(tokens(other))),
    ]


def _quality(term: str, words: set[str]) -> float:
    """1 for the word itself, 0.9 for its plural or singular, 0.6 for a word it begins (3+ letters)."""
    if term in words:
        return 1.0
    best = 0.0
    for w in words:
        if w in (term + "s", term + "es") or term in (w + "s", w + "es"):
            return 0.9
        if len(term) >= 3 and w.startswith(term):
            best = 0.6
    return best


def category_matches(entry: SfxEntry, spec: str) -> bool:
    """Whether ``entry`` falls in ``spec``: a CatID (``DOORWood``), a category (``DOORS`` or ``door``),
    a category's short code (``AMB``), or ``CATEGORY/SUBCATEGORY``; several separated by commas."""
    for part in (s.strip() for s in spec.split(",")):
        if not part:
            continue
        if entry.cat_id and part.lower() == entry.cat_id.lower():
            return True
        if entry.cat_id and part.upper() == cat_short(entry.cat_id):
            return True
        cat = (entry.category or "").upper()
        sub = (entry.subcategory or "").upper()
        pair = re.fullmatch(r"([^/-]+)[/-](.+)", part.upper())
        if pair is not None:
            if pair.group(1).strip() == cat and pair.group(2).strip() == sub:
                return True
            continue
        head = part.upper()
        if cat and (head == cat or head.rstrip("S") == cat.rstrip("S")):
            return True
    return False


def search(
    entries: Iterable[SfxEntry] | SfxIndex,
    words: str | Sequence[str],
    *,
    category: str | None = None,
    max_duration: float | None = None,
    min_duration: float | None = None,
    limit: int | None = None,
) -> list[SearchHit]:
    """Entries matching every word of ``words``, best first (ties by file name, then path).

    A word matches the sound's name, CatID, category or subcategory, keywords or title, description,
    the category's synonyms, or its creator/source/folder, weighted in that order; plurals and word
    beginnings count for a little less. With no words, every entry passing the filters matches (score 0).
    """
    items = entries.entries if isinstance(entries, SfxIndex) else list(entries)
    text = words if isinstance(words, str) else " ".join(words)
    terms = list(dict.fromkeys(tokens(text)))
    hits: list[SearchHit] = []
    for e in items:
        if category and not category_matches(e, category):
            continue
        if max_duration is not None and e.duration_s > max_duration:
            continue
        if min_duration is not None and e.duration_s < min_duration:
            continue
        score = 0.0
        if terms:
            fields = _fields(e)
            for term in terms:
                s = sum(w * _quality(term, toks) for w, toks in fields)
                if s <= 0.0:
                    break
                score += s
            else:
                hits.append(SearchHit(e, score))
            continue
        hits.append(SearchHit(e, score))
    hits.sort(key=lambda h: (-round(h.score, 9), h.entry.name.lower(), h.entry.path))
    return hits[:limit] if limit is not None else hits
