"""The music cue sheet for the performing-rights societies, from the final cut's music (CSV, printable HTML).

Where the rows come from
    The music tracks of the final cut (an OTIO timeline): audio tracks whose ``metadata["posthouse"]
    ["stem"]`` is ``"music"`` or whose name starts with ``MX`` (muted or disabled tracks and disabled clips
    are left out). Each clip's ``metadata["posthouse"]`` may say ``cue_id``, ``title``, ``composer``,
    ``publisher``, ``usage``, ``source`` (true for licensed source music), ``pro``, ``share`` and
    ``rights_holder`` (the master's owner: a label, a library). Pieces of one cue (the same cue ID — or
    the same title when there is none — on one or several tracks) that overlap or touch make one use; a
    cue heard twice with picture between makes two rows with the same number. A clip without a cue ID takes
    the ID of the spotted cue (:class:`~posthouse.score.spotting.CueList`) it overlaps most, else the next
    free ``REEL M n`` in record order; missing titles, composers, publishers, usage come from that cue.
    With no music on the cut, the rows are the spotted cues themselves (:func:`cue_sheet_from_cues`).

Writers and publishers
    ``composer``/``publisher`` is a list of ``{"name", "pro", "share"}`` objects or text such as
    ``"Jane Doe (ASCAP) 50%; John Roe (BMI) 50%"`` (parties separated by ``;`` or `` / ``); plain names
    take the clip's ``pro`` and ``share`` keys (``;``-separated, one per name). Shares are percentages
    of the writer's (or publisher's) share; a warning is given when the stated shares do not add to 100,
    or when a society is not one we know.

Durations
    As the societies want them: minutes and seconds (``MM:SS``), and — common practice on US and UK cue
    sheets (ASCAP, BMI, PRS) — **rounded up** to the next whole second: any part of a second counts as
    one, so a cue of 2.1 s is listed as ``00:03`` and nothing is shorter than ``00:01``. Totals add the
    listed durations (per usage, score and source, all music). In and out stay record timecode.
"""

from __future__ import annotations

import csv
import html
import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import opentimelineio as otio

from posthouse.core.errors import UsageError
from posthouse.core.fsutil import atomic_write_text
from posthouse.core.time import Rate, Timecode, rational_time_to_frames
from posthouse.engine.plan import read_posthouse_meta
from posthouse.score.cues import USAGES, MusicCue, cue_id, parse_cue_id
from posthouse.score.spotting import CueList, cut_drop_frame, cut_rate, cut_start_frame, normalize_usage

__all__ = [
    "CSV_FIELDS",
    "PROS",
    "CueSheet",
    "CueSheetRow",
    "Party",
    "cue_sheet_csv",
    "cue_sheet_from_cues",
    "cue_sheet_from_timeline",
    "cue_sheet_html",
    "format_mmss",
    "format_parties",
    "is_music_track",
    "parse_parties",
    "pro_seconds",
    "write_cue_sheet",
]


CSV_FIELDS: Final = (
    "cue",
    "title",
    "composers",
    "publishers",
    "usage",
    "in",
    "out",
    "duration",
    "source",
    "rights holder",
)
"""Columns of ``cue_sheet.csv``; the rows after the cues (``TOTAL …``) carry the totals."""

PROS: Final = frozenset(
    {
        "AKM",
        "AMRA",
        "APRA",
        "ARTISJUS",
        "ASCAP",
        "BMI",
        "BUMA",
        "CASH",
        "COMPASS",
        "ECAD",
        "GEMA",
        "GMR",
        "IMRO",
        "IPRS",
        "JASRAC",
        "KODA",
        "KOMCA",
        "MCSC",
        "MUST",
        "NS",
        "OSA",
        "PRS",
        "SABAM",
        "SACEM",
        "SACM",
        "SADAIC",
        "SAMRO",
        "SESAC",
        "SGAE",
        "SIAE",
        "SOCAN",
        "SPA",
        "STIM",
        "SUISA",
        "TEOSTO",
        "TONO",
        "ZAIKS",
    }
)
"""Performing-rights societies we recognise (``NS``: no society); others are kept with a warning."""

_PARTY_RE: Final = re.compile(
    r"^(?P<name>.*?)\s*(?:\((?P<pro>[^)]*)\))?\s*(?:(?P<share>\d+(?:\.\d+)?)\s*%)?\s*$"
)
_SPLIT_RE: Final = re.compile(r"\s*;\s*|\s+/\s+|\n")


# ---------------------------------------------------------------------------------------------- parties


@dataclass(frozen=True, slots=True)
class Party:
    """A writer or publisher: name, performing-rights society, share in percent (``None``: not stated)."""

    name: str
    pro: str = ""
    share: float | None = None

    def __str__(self) -> str:
        text = self.name
        if self.pro:
            text += f" ({self.pro})"
        if self.share is not None:
            text += f" {self.share:g}%"
        return text


def _share(value: object) -> float | None:
    if value is None or value == "":
        return None
    try:
        share = float(str(value).strip().rstrip("%"))
    except ValueError:
        raise UsageError(f"share {value!r} is not a percentage", hint="write e.g. 50 or 50%") from None
    if not 0 <= share <= 100:
        raise UsageError(f"share {value!r} is not between 0 and 100 %")
    return share


def parse_parties(value: object, pro: object = None, share: object = None) -> tuple[Party, ...]:
    """Writers or publishers from clip metadata (see the module notes): a list of ``{name, pro, share}``
    dicts or of strings, or text ``"Name (PRO) 50%; Other (PRO) 50%"``; ``pro``/``share`` (text with
    ``;`` between values, or lists) fill in what the names leave out, one per name in order."""
    if value is None or value == "":
        return ()
    items: list[Any]
    if isinstance(value, str):
        items = [p for p in _SPLIT_RE.split(value.strip()) if p.strip()]
    elif isinstance(value, dict) or hasattr(value, "items"):
        items = [value]
    else:
        items = list(value) if hasattr(value, "__iter__") else [value]

    def spread(extra: object) -> list[Any]:
        if extra is None or extra == "":
            return []
        if isinstance(extra, str):
            return [p.strip() for p in extra.split(";")]
        if hasattr(extra, "__iter__"):
            return list(extra)
        return [extra]

    pros, shares = spread(pro), spread(share)
    out: list[Party] = []
    for i, item in enumerate(items):
        if hasattr(item, "items"):
            d = dict(item)
            name, p, s = str(d.get("name", "")).strip(), str(d.get("pro") or "").strip(), d.get("share")
        else:
            m = _PARTY_RE.match(str(item).strip())
            assert m is not None  # the pattern matches any text
            name, p, s = m.group("name").strip(), (m.group("pro") or "").strip(), m.group("share")
        if not p and i < len(pros):
            p = str(pros[i] or "").strip()
        if (s is None or s == "") and i < len(shares):
            s = shares[i]
        if name:
            out.append(Party(name, p.upper(), _share(s)))
    return tuple(out)


def format_parties(parties: Sequence[Party]) -> str:
    """``"Jane Doe (ASCAP) 50%; John Roe (BMI) 50%"``."""
    return "; ".join(str(p) for p in parties)


# ------------------------------------------------------------------------------------------- durations


def pro_seconds(frames: int, rate: Rate | str) -> int:
    """A length as the cue sheet lists it: whole seconds, any part of a second rounded up (at least 1)."""
    if frames <= 0:
        return 0
    seconds = Rate.parse(rate).frame_duration * frames
    return max(1, math.ceil(seconds))


def format_mmss(seconds: int) -> str:
    """``MM:SS`` (minutes go past 59 for long totals: ``92:05``)."""
    return f"{seconds // 60:02d}:{seconds % 60:02d}"


# ---------------------------------------------------------------------------------------------- sheet


@dataclass(frozen=True, slots=True)
class CueSheetRow:
    """One use of a cue on the final cut (record frames from the cut's first frame, end exclusive)."""

    cue_id: str
    title: str
    start: int
    end: int
    composers: tuple[Party, ...] = ()
    publishers: tuple[Party, ...] = ()
    usage: str = "background"
    source: bool = False
    rights_holder: str = ""

    @property
    def duration(self) -> int:
        """Frames."""
        return self.end - self.start


@dataclass(slots=True)
class CueSheet:
    """The cue sheet rows with what turns frames into labels; ``warnings`` for missing or odd data."""

    rows: list[CueSheetRow]
    rate: Rate
    start_frame: int
    drop: bool = False
    title: str = ""
    warnings: list[str] = field(default_factory=list)

    def tc(self, frame: int) -> str:
        """Record timecode of record frame ``frame``."""
        return str(Timecode.from_frames(self.start_frame + frame, self.rate, self.drop))

    def seconds(self, row: CueSheetRow) -> int:
        """The row's listed duration in whole seconds (rounded up)."""
        return pro_seconds(row.duration, self.rate)

    def to_dict(self) -> dict[str, Any]:
        """Rows with labels and listed durations, totals and warnings (for ``--json``)."""
        return {
            "title": self.title,
            "rate": str(self.rate),
            "drop_frame": self.drop,
            "rows": [
                {
                    "cue": r.cue_id,
                    "title": r.title,
                    "composers": [{"name": p.name, "pro": p.pro, "share": p.share} for p in r.composers],
                    "publishers": [{"name": p.name, "pro": p.pro, "share": p.share} for p in r.publishers],
                    "usage": r.usage,
                    "in": self.tc(r.start),
                    "out": self.tc(r.end),
                    "duration": format_mmss(self.seconds(r)),
                    "seconds": self.seconds(r),
                    "frames": r.duration,
                    "source": r.source,
                    "rights_holder": r.rights_holder,
                }
                for r in self.rows
            ],
            "totals": {k: format_mmss(v) for k, v in self.totals().items()},
            "warnings": list(self.warnings),
        }

    def totals(self) -> dict[str, int]:
        """Listed seconds: ``all``, ``score``, ``source`` and one entry per usage present."""
        out = {"all": 0, "score": 0, "source": 0}
        for row in self.rows:
            s = self.seconds(row)
            out["all"] += s
            out["source" if row.source else "score"] += s
            out[row.usage] = out.get(row.usage, 0) + s
        return out


def is_music_track(track: otio.schema.Track) -> bool:
    """An audio track of the music stem (``metadata["posthouse"]["stem"] == "music"``, or named ``MX…``)."""
    if track.kind != otio.schema.TrackKind.Audio:
        return False
    stem = read_posthouse_meta(track).get("stem")
    if stem:
        return str(stem).lower() == "music"
    return (track.name or "").strip().upper().startswith("MX")


def _truthy(value: object) -> bool:
    if isinstance(value, bool):
        return value
    return str(value or "").strip().lower() in ("1", "yes", "y", "true", "x", "source")


def _reel_number(value: object) -> int:
    digits = "".join(ch for ch in str(value or "") if ch.isdigit())
    return int(digits) if digits else 1


@dataclass(slots=True)
class _Piece:
    start: int
    end: int
    meta: dict[str, Any]
    name: str
    where: str


def _clip_pieces(timeline: otio.schema.Timeline, rate: Rate) -> list[_Piece]:
    pieces: list[_Piece] = []
    for t, track in enumerate(timeline.tracks):
        if not is_music_track(track) or not track.enabled or _truthy(read_posthouse_meta(track).get("mute")):
            continue
        tname = track.name or f"track {t + 1}"
        for clip in track.find_clips(shallow_search=True):
            if not clip.enabled:
                continue
            rng = track.range_of_child(clip)
            start = rational_time_to_frames(rng.start_time, rate, "nearest")
            end = start + rational_time_to_frames(rng.duration, rate, "nearest")
            if end > start:
                pieces.append(
                    _Piece(start, end, read_posthouse_meta(clip), clip.name or "", f"{tname} {clip.name!r}")
                )
    return pieces


def _best_cue(piece: _Piece, cues: Sequence[MusicCue]) -> MusicCue | None:
    best, most = None, 0
    for c in cues:
        overlap = min(piece.end, c.end) - max(piece.start, c.start)
        if overlap > most:
            best, most = c, overlap
    return best


def cue_sheet_from_timeline(
    timeline: otio.schema.Timeline,
    *,
    cues: CueList | None = None,
    drop: bool | None = None,
) -> CueSheet:
    """The cue sheet of a final cut from its music tracks (see the module notes); with no music on them,
    from ``cues`` (the spotted cue list). Raises :class:`UsageError` for a bad share or cue ID."""
    rate = cut_rate(timeline)
    start = cut_start_frame(timeline, rate)
    df = cut_drop_frame(timeline, drop)
    title = timeline.name or ""
    pieces = _clip_pieces(timeline, rate)
    if not pieces:
        if cues is not None and cues.cues:
            sheet = cue_sheet_from_cues(cues)
            sheet.rate, sheet.start_frame, sheet.drop, sheet.title = rate, start, df, title
            sheet.warnings.insert(0, "no music on the cut's music tracks: the sheet lists the spotted cues")
            return sheet
        return CueSheet(
            [],
            rate,
            start,
            df,
            title,
            ["no music: no clips on music tracks (stem music or MX…) and no spotted cues"],
        )
    spotted = list(cues.cues) if cues is not None else []
    warnings: list[str] = []
    reel = _reel_number(read_posthouse_meta(timeline).get("reel") or timeline.metadata.get("reel"))
    pieces.sort(key=lambda p: (p.start, p.end))
    # the cue each piece belongs to
    keyed: list[tuple[str, MusicCue | None, _Piece]] = []
    taken: set[str] = set()
    for piece in pieces:
        given = str(piece.meta.get("cue_id") or "").strip()
        match = None
        if given:
            try:
                r, n, s = parse_cue_id(given)
            except UsageError as exc:
                raise UsageError(exc.message, where=piece.where, hint=exc.hint) from exc
            given = cue_id(r, n, s)
            match = next((c for c in spotted if c.cue_id == given), None)
        else:
            match = _best_cue(piece, spotted)
            given = match.cue_id if match is not None else ""
        if given:
            taken.add(given)
        keyed.append((given, match, piece))
    # pieces with no cue: group by title, number in record order
    counter = 0
    by_title: dict[str, str] = {}
    numbered: list[tuple[str, MusicCue | None, _Piece]] = []
    for given, match, piece in keyed:
        if not given:
            name = str(piece.meta.get("title") or piece.name or "").strip().lower()
            if name and name in by_title:
                given = by_title[name]
            else:
                while not given or given in taken:
                    counter += 1
                    given = cue_id(reel, counter)
                taken.add(given)
                if name:
                    by_title[name] = given
        numbered.append((given, match, piece))
    # merge pieces of one cue that overlap or touch into uses
    groups: dict[str, list[tuple[MusicCue | None, _Piece]]] = {}
    for given, match, piece in numbered:
        groups.setdefault(given, []).append((match, piece))
    rows: list[CueSheetRow] = []
    for ident, members in groups.items():
        members.sort(key=lambda m: m[1].start)
        use: list[tuple[MusicCue | None, _Piece]] = []
        for member in members:
            if use and member[1].start > max(p.end for _, p in use):
                rows.append(_row(ident, use, members, warnings))
                use = []
            use.append(member)
        rows.append(_row(ident, use, members, warnings))
    rows.sort(key=lambda r: (r.start, r.end, r.cue_id))
    _check_parties(rows, warnings)
    return CueSheet(rows, rate, start, df, title, warnings)


def _first(members: Sequence[tuple[MusicCue | None, _Piece]], key: str) -> Any:
    for _, piece in members:
        value = piece.meta.get(key)
        if value not in (None, ""):
            return value
    return None


def _row(
    ident: str,
    use: Sequence[tuple[MusicCue | None, _Piece]],
    group: Sequence[tuple[MusicCue | None, _Piece]],
    warnings: list[str],
) -> CueSheetRow:
    """One use (``use``: overlapping pieces) of cue ``ident``; what its pieces leave out comes from the
    cue's other uses (``group``), then from the spotted cue."""
    members = [*use, *(m for m in group if m not in use)]
    cue = next((c for c, _ in members if c is not None), None)
    where = use[0][1].where
    title = str(_first(members, "title") or (cue.title if cue else "") or members[0][1].name or "")
    if not title:
        warnings.append(f"{ident} ({where}): no title")
    try:
        composers = parse_parties(
            _first(members, "composer") or (cue.composer if cue else ""),
            _first(members, "pro"),
            _first(members, "share"),
        )
        publishers = parse_parties(
            _first(members, "publisher") or (cue.publisher if cue else ""),
            _first(members, "publisher_pro"),
            _first(members, "publisher_share"),
        )
        usage_value = _first(members, "usage")
        usage = normalize_usage(str(usage_value)) if usage_value else (cue.usage if cue else "background")
    except UsageError as exc:
        raise UsageError(f"cue {ident}: {exc.message}", where=where, hint=exc.hint) from exc
    source_value = _first(members, "source")
    source = _truthy(source_value) if source_value is not None else bool(cue and cue.source)
    return CueSheetRow(
        cue_id=ident,
        title=title,
        start=min(p.start for _, p in use),
        end=max(p.end for _, p in use),
        composers=composers,
        publishers=publishers,
        usage=usage,
        source=source or usage == "source",
        rights_holder=str(_first(members, "rights_holder") or ""),
    )


def _check_parties(rows: Sequence[CueSheetRow], warnings: list[str]) -> None:
    for row in rows:
        if not row.composers:
            warnings.append(f"{row.cue_id} {row.title!r}: no composer")
        if row.source and not row.rights_holder and not row.publishers:
            warnings.append(f"{row.cue_id} {row.title!r}: source music with no publisher or rights holder")
        for what, parties in (("composer", row.composers), ("publisher", row.publishers)):
            for p in parties:
                if p.pro and p.pro not in PROS:
                    warnings.append(f"{row.cue_id}: {what} {p.name!r}: unknown society {p.pro!r}")
            shares = [p.share for p in parties if p.share is not None]
            if shares and (len(shares) != len(parties) or abs(sum(shares) - 100) > 0.01):
                warnings.append(f"{row.cue_id}: {what} shares add to {sum(shares):g}%, not 100%")


def cue_sheet_from_cues(cues: CueList) -> CueSheet:
    """A cue sheet from a spotted cue list (when the cut carries no music tracks)."""
    rows = []
    for c in cues.cues:
        rows.append(
            CueSheetRow(
                cue_id=c.cue_id,
                title=c.title,
                start=c.start,
                end=c.end,
                composers=parse_parties(c.composer),
                publishers=parse_parties(c.publisher),
                usage=c.usage,
                source=c.source,
                rights_holder=str(c.metadata.get("rights_holder", "")),
            )
        )
    rows.sort(key=lambda r: (r.start, r.end, r.cue_id))
    warnings: list[str] = []
    _check_parties(rows, warnings)
    return CueSheet(rows, cues.rate, cues.start_frame, cues.drop, cues.title, warnings)


# ---------------------------------------------------------------------------------------------- output


def cue_sheet_csv(sheet: CueSheet) -> str:
    """The cue sheet as CSV (:data:`CSV_FIELDS`), then total rows: all music, score, source, each usage."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for r in sheet.rows:
        writer.writerow(
            (
                r.cue_id,
                r.title,
                format_parties(r.composers),
                format_parties(r.publishers),
                r.usage,
                sheet.tc(r.start),
                sheet.tc(r.end),
                format_mmss(sheet.seconds(r)),
                "yes" if r.source else "",
                r.rights_holder,
            )
        )
    for label, seconds in _total_lines(sheet):
        writer.writerow(("TOTAL", label, "", "", "", "", "", format_mmss(seconds), "", ""))
    return buf.getvalue()


def _total_lines(sheet: CueSheet) -> list[tuple[str, int]]:
    totals = sheet.totals()
    lines = [("all music", totals["all"]), ("score", totals["score"]), ("source", totals["source"])]
    lines += [(u, totals[u]) for u in USAGES if u in totals and u != "source"]
    return lines


_CSS: Final = """
body { font: 10.5pt/1.35 "Helvetica Neue", Arial, sans-serif; color: #111; margin: 2em; }
h1 { font-size: 16pt; margin: 0 0 .2em; }
dl.meta { display: grid; grid-template-columns: max-content auto; gap: .1em 1em; margin: 0 0 1em; }
dl.meta dt { color: #555; } dl.meta dd { margin: 0; }
table { border-collapse: collapse; width: 100%; margin-bottom: 1em; }
th, td { border: 1px solid #999; padding: .3em .5em; text-align: left; vertical-align: top; }
th { background: #eee; }
td.tc, td.id, td.dur { font-family: "SF Mono", Menlo, Consolas, monospace; white-space: nowrap; }
td.dur { text-align: right; }
tr { page-break-inside: avoid; break-inside: avoid; }
p.warn { color: #a40; }
@media print {
  @page { size: A4 landscape; margin: 12mm; }
  body { margin: 0; font-size: 9.5pt; }
  thead { display: table-header-group; }
  th { background: #eee !important; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  p.warn { display: none; }
}
"""


def cue_sheet_html(sheet: CueSheet, *, title: str | None = None, company: str = "", episode: str = "") -> str:
    """A printable HTML cue sheet: production title, episode/reel, company; the cues; the totals."""
    e = html.escape
    name = title or sheet.title or "untitled"

    def parties(ps: Sequence[Party]) -> str:
        return "<br>".join(e(str(p)) for p in ps)

    rows = []
    for r in sheet.rows:
        rows.append(
            "<tr>"
            f'<td class="id">{e(r.cue_id)}</td><td>{e(r.title)}</td>'
            f"<td>{parties(r.composers)}</td><td>{parties(r.publishers)}</td><td>{e(r.usage)}</td>"
            f'<td class="tc">{e(sheet.tc(r.start))}</td><td class="tc">{e(sheet.tc(r.end))}</td>'
            f'<td class="dur">{format_mmss(sheet.seconds(r))}</td>'
            f"<td>{'source' if r.source else 'score'}</td><td>{e(r.rights_holder)}</td>"
            "</tr>"
        )
    body = "\n".join(rows) or '<tr><td colspan="10">No music on this cut.</td></tr>'
    totals = "\n".join(
        f'<tr><th>{e(label)}</th><td class="dur">{format_mmss(s)}</td></tr>'
        for label, s in _total_lines(sheet)
    )
    meta = [("Production", name)]
    meta += [("Episode / reel", episode)] if episode else []
    meta += [("Company", company)] if company else []
    kind = "drop-frame" if sheet.drop else "non-drop"
    meta += [("Timecode", f"{sheet.rate} fps {kind}, from {sheet.tc(0)}"), ("Cues", str(len(sheet.rows)))]
    dl = "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in meta)
    warn = "".join(f'<p class="warn">{e(w)}</p>' for w in sheet.warnings)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{e(name)} — music cue sheet</title>
<style>{_CSS}</style></head>
<body>
<h1>{e(name)} — music cue sheet</h1>
<dl class="meta">{dl}</dl>
{warn}
<table>
<thead><tr><th>Cue</th><th>Title</th><th>Composer(s)</th><th>Publisher(s)</th><th>Usage</th><th>In</th>
<th>Out</th><th>Duration</th><th>Score/source</th><th>Rights holder</th></tr></thead>
<tbody>
{body}
</tbody>
</table>
<table style="width:auto">
<thead><tr><th>Total</th><th>Duration</th></tr></thead>
<tbody>
{totals}
</tbody>
</table>
<p>Durations are whole seconds, rounded up.</p>
</body></html>
"""


def write_cue_sheet(
    sheet: CueSheet,
    out_dir: str | Path,
    *,
    title: str | None = None,
    company: str = "",
    episode: str = "",
) -> tuple[Path, Path]:
    """Write ``cue_sheet.csv`` and ``cue_sheet.html`` into ``out_dir`` atomically; returns both paths."""
    out = Path(out_dir)
    csv_path, html_path = out / "cue_sheet.csv", out / "cue_sheet.html"
    atomic_write_text(csv_path, cue_sheet_csv(sheet))
    atomic_write_text(html_path, cue_sheet_html(sheet, title=title, company=company, episode=episode))
    return csv_path, html_path
