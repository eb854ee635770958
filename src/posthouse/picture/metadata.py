"""Clip metadata from every place a shoot keeps it: embedded tags, iXML/BWF, reports, file names.

Precedence per field: what the file says about itself (camera tags, iXML) first, then the camera and
sound reports, then the file name. ``circled`` is true when any source circles the take. Each record
remembers where each field came from (``meta_sources``).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from posthouse.core.catalog import Catalog, MediaRecord
from posthouse.core.errors import UsageError
from posthouse.core.time import Rate, Timecode

__all__ = [
    "DEFAULT_PATTERNS",
    "ReportRow",
    "apply_metadata",
    "find_reports",
    "parse_filename",
    "read_report",
]

# Camera clips: ARRI/RED/Sony style A001C003 (camera A, roll 001, clip 003), optionally followed by more.
# Sound takes: 12A-3, 12A_T3, 12A_T03, SC12A_TK3.
DEFAULT_PATTERNS: tuple[str, ...] = (
    r"^(?P<reel>(?P<camera>[A-Z])(?P<roll>\d{3}))C(?P<clip_number>\d{3})",
    r"^(?:SC)?(?P<scene>\d+[A-Z]{0,2})[-_](?:T|TK)?(?P<take>\d{1,3})(?:$|[^0-9])",
)

_ALIASES: dict[str, tuple[str, ...]] = {
    "clip": ("clip", "clip name", "clip_name", "name"),
    "file": ("file", "file name", "filename", "sound file"),
    "scene": ("scene", "sc", "slate"),
    "take": ("take", "tk"),
    "circled": ("circled", "circle", "print", "good"),
    "camera": ("camera", "cam"),
    "roll": ("roll", "reel", "camroll", "mag", "sound roll", "soundroll", "tape"),
    "date": ("date", "shoot date", "day"),
    "notes": ("notes", "comments", "remarks"),
}


@dataclass(frozen=True, slots=True)
class ReportRow:
    """One row of a camera or sound report, normalised."""

    key: str  # clip name (camera report) or file stem (sound report), upper case
    fields: dict[str, str] = field(default_factory=dict)


def parse_filename(name: str, patterns: Sequence[str] = DEFAULT_PATTERNS) -> dict[str, str]:
    """Fields found in a file name by the first pattern that matches (named groups), else ``{}``."""
    stem = Path(name).stem
    for pattern in patterns:
        try:
            m = re.search(pattern, stem, flags=re.IGNORECASE)
        except re.error as exc:
            raise UsageError(
                f"file-name pattern {pattern!r} is not a valid regular expression: {exc}",
                hint="fix [metadata] filename_patterns in posthouse.toml",
            ) from exc
        if m:
            found = {k: v.upper() for k, v in m.groupdict().items() if v}
            if found.get("take", "").isdigit():
                found["take"] = str(int(found["take"]))
            if "clip_number" in found:
                found["clip"] = m.group(0).upper()
            return found
    return {}


def _truthy(text: str) -> bool:
    return text.strip().lower() in ("y", "yes", "true", "1", "x", "*", "circled", "✓")


def read_report(path: str | Path) -> list[ReportRow]:
    """Rows of a camera or sound report CSV (column names are matched loosely, case-insensitive)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read report: {exc}", path=path) from exc
    reader = csv.DictReader(text.splitlines())
    if not reader.fieldnames:
        raise UsageError("report has no header row", path=path)
    columns: dict[str, str] = {}
    for raw in reader.fieldnames:
        norm = raw.strip().lower()
        for canon, names in _ALIASES.items():
            if norm in names and canon not in columns:
                columns[canon] = raw
    if "clip" not in columns and "file" not in columns:
        raise UsageError(
            "report has neither a Clip nor a File column",
            path=path,
            where="line 1",
            hint="a camera report needs Clip, a sound report File",
        )
    rows: list[ReportRow] = []
    for line_no, row in enumerate(reader, start=2):
        key_col = columns.get("clip") or columns["file"]
        key = (row.get(key_col) or "").strip()
        if not key:
            continue
        values = {canon: (row.get(raw) or "").strip() for canon, raw in columns.items()}
        values["line"] = str(line_no)
        rows.append(ReportRow(Path(key).stem.upper(), values))
    return rows


def find_reports(paths: Iterable[str | Path]) -> list[Path]:
    """CSV files under ``paths`` whose header makes them a camera or sound report."""
    found: list[Path] = []
    for p in map(Path, paths):
        candidates = [p] if p.is_file() else sorted(p.rglob("*.csv"))
        for c in candidates:
            if c.suffix.lower() != ".csv" or c.name.startswith("."):
                continue
            try:
                read_report(c)
            except UsageError:
                continue
            found.append(c)
    return found


def _shoot_day(rec: MediaRecord) -> str | None:
    tags = (rec.probe or {}).get("tags", {})
    created = str(tags.get("creation_time", ""))
    if re.match(r"\d{4}-\d{2}-\d{2}", created):
        return created[:10]
    bwf = (rec.probe or {}).get("bwf") or {}
    date = str(bwf.get("origination_date") or "")
    if re.match(r"\d{4}-\d{2}-\d{2}", date):
        return date[:10]
    return None


def _set(rec: MediaRecord, sources: dict[str, str], name: str, value: Any, source: str) -> None:
    if value in (None, ""):
        return
    if getattr(rec, name) in (None, ""):
        setattr(rec, name, value)
        sources[name] = source


def apply_metadata(
    catalog: Catalog,
    *,
    reports: Iterable[str | Path] = (),
    patterns: Sequence[str] = DEFAULT_PATTERNS,
    rate: Rate | None = None,
    drop_frame: bool = False,
) -> int:
    """Fill scene, take, camera, clip, reel, circled, shoot day and timecodes on every catalogued file.

    Returns the number of records changed. ``rate`` is the project rate, used for sound files whose
    iXML gives none when turning the BWF TimeReference into a start timecode.
    """
    rows: dict[str, ReportRow] = {}
    for report in reports:
        for row in read_report(report):
            rows[row.key] = row
    changed = 0
    with catalog.session() as s:
        for rec in s.scalars(select(MediaRecord)):
            before = rec.to_dict()
            sources = dict(rec.meta_sources or {})
            embedded = "iXML" if rec.kind == "audio" else "camera tags"
            for name in ("scene", "take", "reel"):
                if getattr(rec, name) and name not in sources:
                    sources[name] = embedded
            tags = (rec.probe or {}).get("tags", {})
            _set(rec, sources, "camera", tags.get("camera"), embedded)
            bwf = (rec.probe or {}).get("bwf") or {}
            if rec.time_reference is None and bwf.get("time_reference") is not None:
                rec.time_reference = int(bwf["time_reference"])
            stem = Path(rec.path).stem.upper()
            found = rows.get(stem)
            if found is not None:
                row = found
                where = f"report line {row.fields['line']}"
                _set(rec, sources, "scene", row.fields.get("scene", "").upper(), where)
                take = row.fields.get("take", "")
                _set(rec, sources, "take", str(int(take)) if take.isdigit() else take, where)
                _set(rec, sources, "camera", row.fields.get("camera", "").upper(), where)
                _set(rec, sources, "reel", row.fields.get("roll", "").upper(), where)
                if row.fields.get("circled") and _truthy(row.fields["circled"]):
                    rec.circled = True
                    sources["circled"] = where
                elif rec.circled is None and "circled" in row.fields:
                    rec.circled = False
                    sources["circled"] = where
                date = row.fields.get("date", "")
                if re.match(r"\d{4}-\d{2}-\d{2}$", date):
                    _set(rec, sources, "shoot_day", date, where)
            named = parse_filename(rec.path, patterns)
            for key in ("scene", "take", "camera", "reel", "clip"):
                _set(rec, sources, key, named.get(key), "file name")
            if rec.kind == "video" and not rec.clip:
                rec.clip = Path(rec.path).stem
            _set(rec, sources, "shoot_day", _shoot_day(rec), embedded)
            _timecodes(rec, rate, drop_frame)
            rec.meta_sources = sources
            if rec.to_dict() != before:
                changed += 1
    return changed


def _timecodes(rec: MediaRecord, rate: Rate | None, drop_frame: bool) -> None:
    """End timecode (exclusive, as ALE/EDL record-out) for picture; start timecode for sound."""
    try:
        if rec.kind == "video" and rec.start_timecode and rec.rate and rec.frames:
            clip_rate = Rate.parse(rec.rate)
            start = Timecode.parse(rec.start_timecode, clip_rate)
            rec.end_timecode = str(start + rec.frames)
        elif rec.kind == "audio" and rec.time_reference is not None and rec.sample_rate and rec.samples:
            tc_rate = rate or Rate.parse("24")
            if not rec.start_timecode:
                rec.start_timecode = str(
                    Timecode.from_samples(
                        rec.time_reference, rec.sample_rate, tc_rate, drop_frame and tc_rate.drop_capable
                    )
                )
            end = Timecode.from_samples(
                rec.time_reference + rec.samples, rec.sample_rate, tc_rate, ";" in rec.start_timecode
            )
            rec.end_timecode = str(end)
    except ValueError:
        pass  # a label we cannot read stays as it is; probe already reported it
