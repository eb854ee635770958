"""The film's archive: a self-describing, ASC MHL-sealed package of everything a locked cut needs.

:func:`create_archive` collects, for ``CUT@vN`` of a project:

- ``originals/``: every camera original and production sound file referenced by an event of the cut, each
  file whole (trimming originals to the used ranges is not done); the used ranges, with handles, are
  recorded per file in ``archive.json`` (``originals``);
- ``editorial/``: the cut's saved OTIO versions up to N, its lock file and the turnover package
  (``PROJECT/turnovers/CUT_vNNN/``: EDLs, FCP7 XML, AAF, OTIO, reference movie, VFX pulls);
- ``sound/`` (``PROJECT/sound/CUT_vNNN/``: session, mixes, stems), ``score/`` (``PROJECT/score/CUT_vNNN/``),
  ``finish/`` (``PROJECT/finish/CUT_vNNN/``: conform, grades, VFX, masters, reports), ``deliver/``
  (``PROJECT/deliver/CUT_vNNN/`` when it exists, else ``PROJECT/deliver/``), ``project/posthouse.toml``;

and copies them into ``DEST/NAME_archive/``. Every copy is hashed while read, then read back from the
destination and hashed again (xxh64); a file already copied and verified (recorded in the state file
``.posthouse-archive-state.json`` with its source's size and modification time) is skipped when the
command is run again, so an interrupted archive resumes. ``archive.json`` and ``README.txt`` describe
every file (role, archive path, source path, project path, size, xxh64), and the package root is sealed
with an ASC MHL v2 history (``ascmhl/``) written by :mod:`posthouse.core.mhl`.

:func:`verify_archive` re-hashes the package against its MHL history and lists changed, missing and extra
files; :func:`restore_archive` copies the files back into a project layout and verifies each copy.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any, Final
from urllib.parse import unquote, urlparse

from posthouse.core.checksum import new_hasher
from posthouse.core.errors import MediaError, ProjectError, UsageError
from posthouse.core.fsutil import atomic_write_text
from posthouse.core.mhl import DEFAULT_IGNORE, RootCheck, seal_root, verify_root
from posthouse.core.time import Rate, Timecode

__all__ = [
    "MANIFEST_NAME",
    "README_NAME",
    "STATE_NAME",
    "ArchiveCheck",
    "ArchiveFile",
    "ArchiveReport",
    "RestoreReport",
    "collect_archive",
    "create_archive",
    "restore_archive",
    "used_ranges",
    "verify_archive",
]

MANIFEST_NAME: Final = "archive.json"
README_NAME: Final = "README.txt"
STATE_NAME: Final = ".posthouse-archive-state.json"
_PARTIAL: Final = ".posthouse-partial"
_CHUNK: Final = 8 << 20
_FORMAT: Final = "posthouse-archive/1"

Progress = Callable[[str, int, int], None]
"""``progress(archive_path, files_done, files_total)``."""


@dataclass(frozen=True, slots=True)
class ArchiveFile:
    """One file of the package: what it is, where it goes in the archive and where it came from."""

    role: str
    archive_path: str  # relative to the package root, POSIX
    source: Path
    project_path: str  # where it is restored, relative to the project root
    size: int = 0
    xxh64: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "path": self.archive_path,
            "source": str(self.source),
            "project_path": self.project_path,
            "size": self.size,
            "xxh64": self.xxh64,
        }


@dataclass
class ArchiveReport:
    """What :func:`create_archive` did."""

    root: Path
    files: list[ArchiveFile] = field(default_factory=list)
    copied: int = 0
    skipped: int = 0
    bytes_copied: int = 0
    mhl: Path | None = None
    originals: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        roles: dict[str, int] = {}
        for f in self.files:
            roles[f.role] = roles.get(f.role, 0) + 1
        return {
            "archive": str(self.root),
            "files": len(self.files),
            "bytes": sum(f.size for f in self.files),
            "copied": self.copied,
            "skipped": self.skipped,
            "bytes_copied": self.bytes_copied,
            "roles": roles,
            "mhl": str(self.mhl) if self.mhl else None,
        }


@dataclass
class ArchiveCheck:
    """The result of :func:`verify_archive`: the MHL check plus the manifest's own consistency."""

    root: Path
    mhl: RootCheck
    manifest_problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.mhl.passed and not self.manifest_problems

    @property
    def changed(self) -> list[str]:
        return self.mhl.changed

    @property
    def missing(self) -> list[str]:
        return self.mhl.missing

    @property
    def extra(self) -> list[str]:
        return self.mhl.extra

    def to_dict(self) -> dict[str, Any]:
        return {
            "archive": str(self.root),
            "ok": self.ok,
            "verified": len(self.mhl.ok),
            "changed": self.changed,
            "missing": self.missing,
            "extra": self.extra,
            "problems": [*self.mhl.problems, *self.manifest_problems],
        }


@dataclass
class RestoreReport:
    """What :func:`restore_archive` did: files restored and any whose copy did not verify."""

    dest: Path
    restored: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    bytes: int = 0

    @property
    def ok(self) -> bool:
        return not self.failed

    def to_dict(self) -> dict[str, Any]:
        return {
            "dest": str(self.dest),
            "ok": self.ok,
            "restored": len(self.restored),
            "failed": self.failed,
            "bytes": self.bytes,
        }


# --- collecting -------------------------------------------------------------------------------------------


def _url_path(url: str) -> Path | None:
    if not url:
        return None
    parsed = urlparse(url)
    if parsed.scheme in ("file", ""):
        return Path(unquote(parsed.path))
    return None


def used_ranges(timeline: Any, *, handles: int = 24) -> dict[Path, dict[str, Any]]:
    """Per media file referenced by a clip of ``timeline`` (an OTIO timeline), the used ranges with handles.

    ``handles`` counts frames at the timeline's rate and is converted to each file's own rate; ranges are
    clamped to the file's available range and merged. Values are in the clip's source units (timecode
    frames for pictures, samples since midnight for BWF sound): ``{"kind", "rate", "ranges": [[start,
    end_exclusive], ...], "events"}``.
    """
    import opentimelineio as otio

    tl_rate = float(timeline.global_start_time.rate) if timeline.global_start_time else 0.0
    if tl_rate <= 0:
        tl_rate = next(
            (float(c.source_range.duration.rate) for c in timeline.find_clips() if c.source_range), 24.0
        )
    found: dict[Path, dict[str, Any]] = {}
    for track in timeline.tracks:
        for clip in track.find_clips():
            ref = clip.media_reference
            if not isinstance(ref, otio.schema.ExternalReference):
                continue
            path = _url_path(ref.target_url)
            if path is None:
                continue
            rng = clip.source_range or ref.available_range
            if rng is None:
                continue
            rate = float(rng.start_time.rate)
            pad = round(handles * rate / tl_rate)
            start = round(rng.start_time.value) - pad
            end = round(rng.start_time.value + rng.duration.value) + pad
            avail = ref.available_range
            if avail is not None:
                a0 = round(avail.start_time.rescaled_to(rate).value)
                a1 = a0 + round(avail.duration.rescaled_to(rate).value)
                start, end = max(start, a0), min(end, a1)
            entry = found.setdefault(
                path, {"kind": str(track.kind).lower(), "rate": rate, "ranges": [], "events": 0}
            )
            entry["ranges"].append([start, max(start, end)])
            entry["events"] += 1
    for entry in found.values():
        fps = Fraction(entry["rate"]).limit_denominator(1001)
        entry["rate"] = str(fps)
        merged: list[list[int]] = []
        for s, e in sorted(entry["ranges"]):
            if merged and s <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], e)
            else:
                merged.append([s, e])
        entry["ranges"] = merged
        if entry["kind"] == "video" and fps.denominator in (1, 1001):
            try:
                rate_obj = Rate.parse(fps)
                entry["timecodes"] = [
                    [str(Timecode.from_frames(s, rate_obj)), str(Timecode.from_frames(e, rate_obj))]
                    for s, e in merged
                ]
            except Exception:  # an unusual rate: frames only
                pass
    return found


def _tree(folder: Path, role: str, archive_dir: str, project_root: Path) -> list[ArchiveFile]:
    files: list[ArchiveFile] = []
    if not folder.is_dir():
        return files
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith(".") or _PARTIAL in name:
                continue
            src = Path(dirpath) / name
            rel = src.relative_to(folder).as_posix()
            files.append(
                ArchiveFile(role, f"{archive_dir}/{rel}", src, src.relative_to(project_root).as_posix())
            )
    return files


def _single(src: Path, role: str, archive_path: str, project_root: Path) -> list[ArchiveFile]:
    if not src.is_file():
        return []
    return [ArchiveFile(role, archive_path, src, src.relative_to(project_root).as_posix())]


def collect_archive(
    project_root: str | Path, cut: str, version: int, *, handles: int = 24
) -> tuple[list[ArchiveFile], list[dict[str, Any]]]:
    """Every file the archive of ``cut`` version ``version`` holds, and the originals' used ranges.

    Raises :class:`ProjectError` when the cut version does not exist and :class:`MediaError` when a
    referenced original is missing.
    """
    import opentimelineio as otio

    root = Path(project_root).resolve()
    tag = f"{cut}_v{version:03d}"
    cut_file = root / "cuts" / cut / f"v{version:03d}.otio"
    if not cut_file.is_file():
        raise ProjectError(
            f"cut {cut}@v{version} not found", path=cut_file, hint="name a saved cut version (CUT@vN)"
        )
    try:
        timeline = otio.adapters.read_from_file(str(cut_file), adapter_name="otio_json")
    except Exception as exc:
        raise ProjectError(f"cannot read the cut: {exc}", path=cut_file) from exc

    files: list[ArchiveFile] = []
    originals: list[dict[str, Any]] = []
    taken: set[str] = set()
    for src, info in sorted(used_ranges(timeline, handles=handles).items()):
        if not src.is_file():
            raise MediaError(
                "an original referenced by the cut is missing",
                path=src,
                where=f"{cut}@v{version}",
                hint="relink or restore the media before archiving",
            )
        src = src.resolve()
        try:
            project_path = src.relative_to(root).as_posix()
            arch = f"originals/{project_path}"
        except ValueError:  # outside the project: keep its folder and name
            project_path = arch = f"originals/external/{src.parent.name}/{src.name}"
        n = 1
        while arch in taken:
            n += 1
            project_path = arch = f"originals/external/{src.parent.name}/{src.stem}_{n}{src.suffix}"
        taken.add(arch)
        role = "camera-original" if info["kind"] == "video" else "production-sound"
        files.append(ArchiveFile(role, arch, src, project_path))
        originals.append({"path": arch, "source": str(src), "handles_frames": handles, **info})

    for v in range(1, version + 1):
        files += _single(
            root / "cuts" / cut / f"v{v:03d}.otio", "cut", f"editorial/cuts/{cut}/v{v:03d}.otio", root
        )
    files += _single(root / "locks" / f"{tag}.lock.json", "lock", f"editorial/locks/{tag}.lock.json", root)
    files += _tree(root / "turnovers" / tag, "turnover", f"editorial/turnover/{tag}", root)
    files += _tree(root / "sound" / tag, "sound", f"sound/{tag}", root)
    files += _tree(root / "score" / tag, "score", f"score/{tag}", root)
    files += _tree(root / "finish" / tag, "finish", f"finish/{tag}", root)
    deliver = root / "deliver" / tag
    files += _tree(deliver if deliver.is_dir() else root / "deliver", "deliverable", "deliver", root)
    files += _single(root / "posthouse.toml", "project", "project/posthouse.toml", root)
    return files, originals


# --- copying ---------------------------------------------------------------------------------------------


def _hash(path: Path) -> str:
    h = new_hasher("xxh64")
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _copy_verified(src: Path, dest: Path) -> tuple[str, int]:
    """Copy ``src`` to ``dest`` through a partial file, hashing the read; read back and compare."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + _PARTIAL)
    h = new_hasher("xxh64")
    size = 0
    try:
        with open(src, "rb") as fi, open(partial, "wb") as fo:
            while chunk := fi.read(_CHUNK):
                h.update(chunk)
                fo.write(chunk)
                size += len(chunk)
            fo.flush()
            os.fsync(fo.fileno())
        digest = h.hexdigest()
        back = _hash(partial)
        if back != digest:
            raise MediaError(
                f"the copy does not match its source (xxh64 {back} != {digest})",
                path=dest,
                hint="check the destination drive; run the command again to retry",
            )
        os.replace(partial, dest)
    except OSError as err:
        raise MediaError(f"cannot copy: {err.strerror or err}", path=src, where=str(dest)) from None
    finally:
        partial.unlink(missing_ok=True)
    return digest, size


def _readme(report: ArchiveReport, meta: dict[str, Any]) -> str:
    lines = [
        f"posthouse archive of {meta['cut']}@v{meta['version']} (project {meta['project']})",
        f"created {meta['created']} with posthouse {meta['tool_version']}",
        "",
        "Layout:",
        "  originals/   camera originals and production sound used by the cut, whole files",
        "               (used ranges with handles are listed in archive.json under 'originals')",
        "  editorial/   cut versions (OTIO), lock, turnover (EDL, FCP7 XML, AAF, OTIO, reference, VFX pulls)",
        "  sound/       sound session, mixes and stems",
        "  score/       score outputs",
        "  finish/      conform, grades, VFX, masters and reports",
        "  deliver/     deliverables",
        "  project/     the project settings",
        "  ascmhl/      ASC MHL v2 history sealing every file of this folder",
        "",
        "Verify:  posthouse archive verify THIS_FOLDER",
        "Restore: posthouse archive restore THIS_FOLDER --dest NEW_PROJECT_FOLDER",
        "",
        f"{len(report.files)} files, {sum(f.size for f in report.files)} bytes:",
        "",
    ]
    width = max((len(f.role) for f in report.files), default=4)
    for f in report.files:
        lines.append(f"{f.role:<{width}}  {f.xxh64}  {f.size:>12}  {f.archive_path}")
    return "\n".join(lines) + "\n"


def create_archive(
    project_root: str | Path,
    cut: str,
    version: int,
    dest: str | Path,
    *,
    name: str | None = None,
    handles: int = 24,
    progress: Progress | None = None,
) -> ArchiveReport:
    """Copy, verify and seal the archive of ``cut`` version ``version`` into ``DEST/NAME_archive/``.

    ``name`` defaults to ``CUT_vNNN``. Run again on the same destination, files already copied and
    verified are skipped and a new MHL generation is added.
    """
    root = Path(project_root).resolve()
    if version < 1:
        raise UsageError(f"cut version must be at least 1, not {version}")
    files, originals = collect_archive(root, cut, version, handles=handles)
    package = Path(dest) / f"{name or f'{cut}_v{version:03d}'}_archive"
    try:
        if package.resolve().is_relative_to(root):
            raise UsageError("the archive cannot be written inside the project", path=package)
    except OSError:
        pass
    package.mkdir(parents=True, exist_ok=True)
    state_path = package / STATE_NAME
    state: dict[str, Any] = {}
    if state_path.is_file():
        try:
            state = json.loads(state_path.read_text())
        except (OSError, ValueError):
            state = {}
    report = ArchiveReport(package, originals=originals)
    done: list[ArchiveFile] = []
    for i, item in enumerate(files):
        st = item.source.stat()
        target = package / item.archive_path
        prev = state.get(item.archive_path)
        if (
            prev
            and prev.get("size") == st.st_size
            and prev.get("mtime_ns") == st.st_mtime_ns
            and target.is_file()
            and target.stat().st_size == st.st_size
        ):
            digest, size = str(prev["xxh64"]), st.st_size
            report.skipped += 1
        else:
            digest, size = _copy_verified(item.source, target)
            report.copied += 1
            report.bytes_copied += size
            state[item.archive_path] = {"size": size, "mtime_ns": st.st_mtime_ns, "xxh64": digest}
            atomic_write_text(state_path, json.dumps(state, indent=1))
        done.append(ArchiveFile(item.role, item.archive_path, item.source, item.project_path, size, digest))
        if progress is not None:
            progress(item.archive_path, i + 1, len(files))
    report.files = done
    from posthouse import __version__

    meta = {
        "format": _FORMAT,
        "project": root.name,
        "project_root": str(root),
        "cut": cut,
        "version": version,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "tool": "posthouse",
        "tool_version": __version__,
        "handles_frames": handles,
        "note": "camera originals are archived whole; 'originals' lists the ranges used, with handles",
    }
    manifest = {
        **meta,
        "files": [f.to_dict() for f in done],
        "originals": originals,
    }
    atomic_write_text(package / MANIFEST_NAME, json.dumps(manifest, indent=2) + "\n")
    atomic_write_text(package / README_NAME, _readme(report, meta))
    known = {f.archive_path: f.xxh64 for f in done}
    gen = seal_root(
        package,
        known=known,
        comment=f"posthouse archive of {cut}@v{version}",
        ignore=(*DEFAULT_IGNORE, STATE_NAME),
    )
    report.mhl = gen.path
    return report


# --- verifying and restoring -----------------------------------------------------------------------------


def _load_manifest(package: Path) -> dict[str, Any]:
    path = package / MANIFEST_NAME
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise UsageError(
            f"not a posthouse archive (no {MANIFEST_NAME})", path=package, hint="give the NAME_archive folder"
        ) from None
    except (OSError, ValueError) as err:
        raise MediaError(f"cannot read the archive manifest: {err}", path=path) from None
    if not isinstance(data, dict) or data.get("format") != _FORMAT:
        raise MediaError(f"not a {_FORMAT} manifest", path=path)
    return data


def verify_archive(path: str | Path, *, record: bool = False) -> ArchiveCheck:
    """Re-hash every file of the archive against its ASC MHL history and its manifest.

    Lists files whose bytes changed, files missing and files not in the history. With ``record``, the
    verification is added to the MHL history as a new generation.
    """
    package = Path(path)
    manifest = _load_manifest(package)
    check = ArchiveCheck(package, verify_root(package, record=record))
    listed = {str(f["path"]) for f in manifest.get("files", [])}
    sealed = set(check.mhl.ok) | set(check.mhl.changed) | set(check.mhl.missing)
    for rel in sorted(listed - sealed):
        check.manifest_problems.append(f"{rel}: listed in {MANIFEST_NAME} but not sealed in the ASC MHL")
    return check


def restore_archive(
    path: str | Path, dest: str | Path, *, verify_first: bool = True, progress: Progress | None = None
) -> RestoreReport:
    """Copy the archive's files back into a project layout under ``dest`` and verify each copy.

    Each file goes to its ``project_path`` (camera originals from outside the project go to
    ``originals/external/``); existing files are never overwritten. With ``verify_first`` a damaged
    archive is refused before anything is copied.
    """
    package = Path(path)
    manifest = _load_manifest(package)
    if verify_first:
        check = verify_archive(package)
        if not check.ok:
            bad = [*check.changed, *check.missing][:5]
            raise MediaError(
                "the archive does not verify; refusing to restore",
                path=package,
                where=", ".join(bad) or None,
                hint="run 'posthouse archive verify' for the details, or restore from another copy",
            )
    dest = Path(dest)
    report = RestoreReport(dest)
    entries: Iterable[dict[str, Any]] = manifest.get("files", [])
    items = list(entries)
    for i, entry in enumerate(items):
        rel = str(entry["project_path"])
        target = (dest / rel).resolve()
        if not target.is_relative_to(dest.resolve()):
            raise MediaError(
                "a manifest path leaves the destination", path=package / MANIFEST_NAME, where=rel
            )
        if target.exists():
            raise UsageError(
                "refusing to overwrite an existing file", path=target, hint="restore into an empty folder"
            )
        digest, size = _copy_verified(package / str(entry["path"]), target)
        if digest != entry.get("xxh64"):
            report.failed.append(rel)
        else:
            report.restored.append(rel)
        report.bytes += size
        if progress is not None:
            progress(rel, i + 1, len(items))
    return report
