"""ADR: the cue sheet, guide tracks with the three beeps, and aligned takes placed on the ADR tracks.

Which markers are ADR cues
    A marker on the session (on the timeline, on a track, or on a clip) is an ADR cue when its name starts
    with ``ADR`` (any case), its note starts with the word ``ADR`` (which is then dropped), or its
    ``metadata["posthouse"]["cue"]`` is ``"adr"``. The character, the line
    and the reason come from ``metadata["posthouse"]`` keys ``character``, ``line`` and ``reason`` when
    set; otherwise from the marker's note (``metadata["posthouse"]["note"]``, else its comment) written as

        ``MAYA: The sound is late again. | reason: plane``

    (``CHARACTER: line``, then ``| key: value`` fields; ``reason``, ``character`` and ``line`` are
    understood). A name like ``ADR MAYA`` names the character when nothing else does. The marker's
    duration gives the cue's in and out; a marker shorter than two frames gets :data:`DEFAULT_CUE_S`.

Cue IDs
    The usual ADR numbering: the character's two-letter code, the reel, and the cue's number for that
    character on that reel, two digits — ``MA101`` is Maya's first cue on reel 1, ``MA102`` her second.
    The code is the first two letters of the name; when two characters share them, the later one (in
    alphabetical order) takes its first letter and the next letter of its name not yet used that way.
    The reel is ``metadata["posthouse"]["reel"]`` of the timeline (its digits; default 1). Numbers follow
    record order, so a cue marked later renumbers those after it — unless a marker fixes its ID with
    ``metadata["posthouse"]["cue_id"]`` (kept as given; the numbering steps over it).

Timecode
    In and out are record timecode at the timeline's rate from its start (``global_start_time``),
    drop-frame when the timeline's ``metadata["posthouse"]["drop_frame"]`` says so (or ``drop=True``).

Guide tracks
    One two-channel Broadcast WAV per cue, three beeps and the production dialogue: see
    :mod:`posthouse.sound.adr_guides` (its names are importable from here too).

Aligning a take
    :func:`align_cue` cuts the guide of the cue (with :data:`HANDLE_S` either side), aligns the recorded
    take to it (:func:`posthouse.sound.align.align_take`), writes the aligned take as a BWF into the
    session folder's ``adr/`` and places it on the first free ``ADR`` track of the dialogue stem
    (``ADR1``, ``ADR2`` … made when needed), replacing an earlier take of the same cue.
"""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Final

import numpy as np
import opentimelineio as otio

from posthouse.core.errors import MediaError, UsageError
from posthouse.core.fsutil import atomic_write_text
from posthouse.core.media.bwf import Bext, IXml, read_bwf, write_bwf
from posthouse.core.time import (
    Rate,
    Timecode,
    frames_to_samples,
    rational_time_to_frames,
)
from posthouse.engine.plan import read_posthouse_meta
from posthouse.sound.adr_guides import (
    BEEP_DBFS,
    BEEP_HZ,
    F32,
    POSTROLL_S,
    PREROLL_S,
    _drop,
    _is_adr_track,
    _start_frame,
    beep_frames,
    guide_track,
    render_guide,
    write_guides,
)
from posthouse.sound.align import AlignResult, align_take
from posthouse.sound.session import add_track, audio_tracks, place_clip, session_rate, wav_clip

__all__ = [
    "BEEP_DBFS",
    "BEEP_HZ",
    "CSV_FIELDS",
    "DEFAULT_CUE_S",
    "HANDLE_S",
    "POSTROLL_S",
    "PREROLL_S",
    "AdrCue",
    "AlignedTake",
    "align_cue",
    "beep_frames",
    "cue_sheet_csv",
    "cue_sheet_html",
    "find_cue",
    "guide_track",
    "is_adr_marker",
    "parse_note",
    "read_cue_sheet",
    "render_guide",
    "timeline_cues",
    "write_cue_sheet",
    "write_guides",
]

DEFAULT_CUE_S: Final = 4
"""Length in timecode seconds of a cue whose marker has no duration."""
HANDLE_S: Final = Fraction(1, 2)
"""Seconds of guide either side of the cue that a take is aligned against (and placed with)."""

CSV_FIELDS: Final = ("cue", "reel", "character", "in", "out", "duration", "line", "reason", "marker")

_ADR_NOTE: Final = re.compile(r"^\s*ADR\b[\s:\-]*", re.I)
_NOTE_FIELD: Final = re.compile(r"^\s*([A-Za-z][\w ]*?)\s*:\s*(.*)$", re.S)


@dataclass(frozen=True, slots=True)
class AdrCue:
    """One ADR cue: record frames ``[record_in, record_out)`` from the timeline start and their timecode."""

    cue_id: str
    reel: int
    character: str
    line: str
    reason: str
    record_in: int
    record_out: int
    timecode_in: str
    timecode_out: str
    marker: str

    @property
    def duration(self) -> int:
        """Frames."""
        return self.record_out - self.record_in

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "cue": self.cue_id,
            "reel": self.reel,
            "character": self.character,
            "line": self.line,
            "reason": self.reason,
            "record_in": self.record_in,
            "record_out": self.record_out,
            "in": self.timecode_in,
            "out": self.timecode_out,
            "marker": self.marker,
        }


# ------------------------------------------------------------------------------------------ markers


def _note(marker: otio.schema.Marker) -> str:
    return str(read_posthouse_meta(marker).get("note") or marker.comment or "")


def is_adr_marker(marker: otio.schema.Marker) -> bool:
    """Whether ``marker`` is an ADR cue: named ``ADR…``, with a note starting ``ADR `` (what
    ``posthouse edit marker --note "ADR MAYA: …"`` makes) or ``metadata["posthouse"]["cue"] == "adr"``."""
    if (marker.name or "").strip().upper().startswith("ADR") or _ADR_NOTE.match(_note(marker)):
        return True
    return str(read_posthouse_meta(marker).get("cue", "")).strip().lower() == "adr"


def parse_note(text: str) -> dict[str, str]:
    """``"MAYA: The sound is late again. | reason: plane"`` → character, line and reason (and any other
    ``key: value`` fields, keys lower-case). A first part without ``NAME:`` is the line alone."""
    out: dict[str, str] = {}
    parts = [p.strip() for p in (text or "").split("|")]
    if not parts or not parts[0]:
        parts = parts[1:] if parts else []
        first = None
    else:
        first = parts[0]
        parts = parts[1:]
    if first is not None:
        m = _NOTE_FIELD.match(first)
        if m and m.group(1).strip().lower() not in ("reason", "line", "character"):
            out["character"], out["line"] = m.group(1).strip(), m.group(2).strip()
        elif m:
            out[m.group(1).strip().lower()] = m.group(2).strip()
        else:
            out["line"] = first
    for part in parts:
        m = _NOTE_FIELD.match(part)
        if m:
            out[m.group(1).strip().lower()] = m.group(2).strip()
    return out


def _iter_markers(
    timeline: otio.schema.Timeline, rate: Rate
) -> Iterator[tuple[otio.schema.Marker, int, int]]:
    """``(marker, record_frame, duration)`` of every marker: stack, track and item markers (item markers
    are in the item's source time), as :func:`posthouse.engine.plan_timeline` places them."""
    for marker in timeline.tracks.markers:
        rng = marker.marked_range
        yield (
            marker,
            rational_time_to_frames(rng.start_time, rate),
            rational_time_to_frames(rng.duration, rate),
        )
    for track in timeline.tracks:
        for marker in track.markers:
            rng = marker.marked_range
            yield (
                marker,
                rational_time_to_frames(rng.start_time, rate),
                rational_time_to_frames(rng.duration, rate),
            )
        for item in track.find_children(descended_from_type=otio.core.Item, shallow_search=True):
            if not item.markers:
                continue
            offset = rational_time_to_frames(track.range_of_child(item).start_time, rate)
            src_start = item.trimmed_range().start_time
            for marker in item.markers:
                rel = marker.marked_range.start_time - src_start
                yield (
                    marker,
                    offset + rational_time_to_frames(rel, rate, "nearest"),
                    rational_time_to_frames(marker.marked_range.duration, rate),
                )


def _codes(characters: Sequence[str]) -> dict[str, str]:
    """Two-letter character codes, unique on the sheet (see the module notes)."""
    taken: dict[str, str] = {}
    used: set[str] = set()
    for name in sorted(set(characters), key=lambda c: c.upper()):
        letters = "".join(ch for ch in name.upper() if ch.isalpha()) or "XX"
        letters = letters if len(letters) > 1 else letters + "X"
        code = letters[:2]
        if code in used:
            code = next((letters[0] + ch for ch in letters[2:] if letters[0] + ch not in used), code)
        k = 2
        base = code
        while code in used:
            code = f"{base[0]}{k}"
            k += 1
        used.add(code)
        taken[name] = code
    return taken


def _reel_number(value: object) -> int:
    digits = "".join(ch for ch in str(value or "") if ch.isdigit())
    return int(digits) if digits else 1


def timeline_cues(
    timeline: otio.schema.Timeline, *, reel: int | None = None, drop: bool | None = None
) -> list[AdrCue]:
    """The ADR cues marked on ``timeline``, in record order, numbered (see the module notes).

    Markers before the timeline start are skipped. Raises :class:`UsageError` for a drop-frame request
    at a rate that has no drop-frame.
    """
    rate = session_rate(timeline)
    start = _start_frame(timeline, rate)
    df = _drop(timeline, drop)
    if df and not rate.drop_capable:
        raise UsageError(f"{rate} fps has no drop-frame timecode", hint="use non-drop (drop=False)")
    reel_no = reel if reel is not None else _reel_number(read_posthouse_meta(timeline).get("reel"))
    default = DEFAULT_CUE_S * rate.timebase
    raw: list[tuple[int, int, str, str, str, str, str]] = []
    for marker, frame, dur in _iter_markers(timeline, rate):
        if not is_adr_marker(marker) or frame < 0:
            continue
        meta = read_posthouse_meta(marker)
        fields = parse_note(_ADR_NOTE.sub("", _note(marker), count=1))
        name_rest = re.sub(r"^\s*ADR[\s:_\-#0-9]*", "", marker.name or "", flags=re.I).strip()
        character = str(meta.get("character") or fields.get("character") or name_rest or "UNKNOWN").strip()
        line = str(meta.get("line") or fields.get("line") or "")
        reason = str(meta.get("reason") or fields.get("reason") or "")
        out = frame + (dur if dur >= 2 else default)
        fixed = str(meta.get("cue_id") or "").strip().upper()
        raw.append((frame, out, character.upper(), line, reason, marker.name or "", fixed))
    raw.sort(key=lambda r: (r[0], r[1], r[2]))
    codes = _codes([r[2] for r in raw])
    taken = {r[6] for r in raw if r[6]}
    counts: dict[str, int] = {}
    cues = []
    for frame, out, character, line, reason, name, fixed in raw:
        cue_id = fixed
        while not cue_id or (cue_id in taken and not fixed):
            counts[character] = counts.get(character, 0) + 1
            cue_id = f"{codes[character]}{reel_no}{counts[character]:02d}"
        cues.append(
            AdrCue(
                cue_id=cue_id,
                reel=reel_no,
                character=character,
                line=line,
                reason=reason,
                record_in=frame,
                record_out=out,
                timecode_in=str(Timecode.from_frames(start + frame, rate, df)),
                timecode_out=str(Timecode.from_frames(start + out, rate, df)),
                marker=name,
            )
        )
    return cues


def find_cue(cues: Sequence[AdrCue], cue_id: str) -> AdrCue:
    """The cue called ``cue_id`` (any case); :class:`UsageError` listing the cues when there is none."""
    for cue in cues:
        if cue.cue_id.upper() == cue_id.strip().upper():
            return cue
    known = ", ".join(c.cue_id for c in cues) or "none (mark cues with markers named ADR…)"
    raise UsageError(f"no ADR cue {cue_id!r}", hint=f"cues: {known}")


# ---------------------------------------------------------------------------------------- cue sheet


def _duration_tc(cue: AdrCue, rate: Rate) -> str:
    return str(Timecode.from_frames(cue.duration, rate, False))


def cue_sheet_csv(cues: Sequence[AdrCue], rate: Rate | str) -> str:
    """The cue sheet as CSV text with a header row (:data:`CSV_FIELDS`); duration is ``HH:MM:SS:FF``."""
    r = Rate.parse(rate)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for c in cues:
        row = (c.cue_id, c.reel, c.character, c.timecode_in, c.timecode_out, _duration_tc(c, r), c.line)
        writer.writerow((*row, c.reason, c.marker))
    return buf.getvalue()


def read_cue_sheet(path: str | Path) -> list[dict[str, str]]:
    """The rows of a cue sheet CSV as dicts keyed by :data:`CSV_FIELDS`."""
    p = Path(path)
    try:
        with open(p, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, csv.Error, UnicodeDecodeError) as exc:
        raise MediaError(f"cannot read the cue sheet: {exc}", path=p) from exc
    if rows and set(CSV_FIELDS) - set(rows[0]):
        raise MediaError("not a posthouse ADR cue sheet (columns missing)", path=p, where="line 1")
    return rows


_CSS: Final = """
body { font: 11pt/1.35 "Helvetica Neue", Arial, sans-serif; color: #111; margin: 2em; }
h1 { font-size: 16pt; margin: 0 0 .2em; }
p.meta { color: #555; margin: 0 0 1em; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #999; padding: .3em .5em; text-align: left; vertical-align: top; }
th { background: #eee; }
td.tc, td.id { font-family: "SF Mono", Menlo, Consolas, monospace; white-space: nowrap; }
td.line { width: 40%; }
tr { page-break-inside: avoid; break-inside: avoid; }
@media print {
  @page { size: A4 landscape; margin: 12mm; }
  body { margin: 0; font-size: 10pt; }
  thead { display: table-header-group; }
  th { background: #eee !important; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def cue_sheet_html(cues: Sequence[AdrCue], rate: Rate | str, *, title: str, drop: bool = False) -> str:
    """A printable HTML cue sheet (one table; print CSS: landscape, header row repeated on every page)."""
    r = Rate.parse(rate)
    e = html.escape
    rows = []
    for c in cues:
        rows.append(
            "<tr>"
            f'<td class="id">{e(c.cue_id)}</td><td>{e(c.character)}</td>'
            f'<td class="tc">{e(c.timecode_in)}</td><td class="tc">{e(c.timecode_out)}</td>'
            f'<td class="tc">{e(_duration_tc(c, r))}</td><td class="line">{e(c.line)}</td>'
            f"<td>{e(c.reason)}</td><td></td>"
            "</tr>"
        )
    body = "\n".join(rows) or '<tr><td colspan="8">No ADR cues marked.</td></tr>'
    characters = len({c.character for c in cues})
    kind = "drop-frame" if drop else "non-drop"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{e(title)} — ADR cue sheet</title>
<style>{_CSS}</style></head>
<body>
<h1>{e(title)} — ADR cue sheet</h1>
<p class="meta">{_plural(len(cues), "cue")}, {_plural(characters, "character")} · {e(str(r))} fps {kind}</p>
<table>
<thead><tr><th>Cue</th><th>Character</th><th>In</th><th>Out</th><th>Length</th><th>Line</th><th>Reason</th>
<th>Takes</th></tr></thead>
<tbody>
{body}
</tbody>
</table>
</body></html>
"""


def write_cue_sheet(
    timeline: otio.schema.Timeline,
    out_dir: str | Path,
    *,
    cues: Sequence[AdrCue] | None = None,
    title: str | None = None,
    drop: bool | None = None,
) -> tuple[Path, Path]:
    """Write ``adr_cues.csv`` and ``adr_cues.html`` into ``out_dir`` atomically; returns both paths."""
    rate = session_rate(timeline)
    found = list(cues) if cues is not None else timeline_cues(timeline, drop=drop)
    out = Path(out_dir)
    csv_path, html_path = out / "adr_cues.csv", out / "adr_cues.html"
    atomic_write_text(csv_path, cue_sheet_csv(found, rate))
    name = title or timeline.name or "untitled"
    atomic_write_text(html_path, cue_sheet_html(found, rate, title=name, drop=_drop(timeline, drop)))
    return csv_path, html_path


# ---------------------------------------------------------------------------------------- alignment


@dataclass(frozen=True, slots=True)
class AlignedTake:
    """An aligned take placed in the session."""

    cue: AdrCue
    take: Path
    path: Path  # the aligned BWF written under the session's adr/ folder
    track: str
    record_in: int  # record frame the clip starts at (the cue in minus the handle)
    frames: int
    result: AlignResult

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "cue": self.cue.cue_id,
            "take": str(self.take),
            "aligned": str(self.path),
            "track": self.track,
            "record_in": self.record_in,
            "frames": self.frames,
            **self.result.to_dict(),
        }


def _read_take(path: Path, sample_rate: int, channel: int | None) -> tuple[F32, int | None]:
    import soundfile as sf

    try:
        data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except RuntimeError as exc:
        raise MediaError(f"cannot read the take: {exc}", path=path) from exc
    if sr != sample_rate:
        raise MediaError(f"take is {sr} Hz, the session {sample_rate} Hz", path=path, hint="convert it first")
    if data.shape[0] == 0:
        raise MediaError("the take is empty", path=path)
    if channel is not None:
        if not 0 <= channel < data.shape[1]:
            raise UsageError(f"channel {channel} not in a {data.shape[1]}-channel take", path=path)
        mono = data[:, channel]
    else:
        mono = data.mean(axis=1)
    bwf = read_bwf(path)
    tref = bwf.time_reference if bwf is not None and bwf.time_reference else None
    return np.ascontiguousarray(mono, np.float32), tref


def _remove_cue_clips(timeline: otio.schema.Timeline, cue_id: str) -> None:
    """Replace earlier takes of ``cue_id`` on the dialogue tracks by gaps (merged with their neighbours)."""
    for track in audio_tracks(timeline, "dialogue"):
        children = list(track)
        if not any(
            isinstance(c, otio.schema.Clip) and (read_posthouse_meta(c).get("adr") or {}).get("cue") == cue_id
            for c in children
        ):
            continue
        merged: list[otio.core.Composable] = []
        for child in children:
            if (
                isinstance(child, otio.schema.Clip)
                and (read_posthouse_meta(child).get("adr") or {}).get("cue") == cue_id
            ):
                child = otio.schema.Gap(duration=child.duration())
            if isinstance(child, otio.schema.Gap) and merged and isinstance(merged[-1], otio.schema.Gap):
                merged[-1] = otio.schema.Gap(duration=merged[-1].duration() + child.duration())
            else:
                merged.append(child)
        while len(track):
            del track[0]
        for child in merged:
            track.append(child if child.parent() is None else child.clone())


def _place_on_adr_track(timeline: otio.schema.Timeline, clip: otio.schema.Clip, record_in: int) -> str:
    rate = session_rate(timeline)
    for track in audio_tracks(timeline, "dialogue"):
        if not _is_adr_track(track.name or ""):
            continue
        try:
            place_clip(track, clip, record_in, rate)
        except UsageError:
            continue
        return str(track.name)
    taken = {t.name for t in timeline.tracks}
    k = 1
    while f"ADR{k}" in taken:
        k += 1
    track = add_track(timeline, "dialogue", name=f"ADR{k}")
    place_clip(track, clip, record_in, rate)
    return str(track.name)


def align_cue(
    timeline: otio.schema.Timeline,
    cue: AdrCue,
    take: str | Path,
    out_dir: str | Path,
    *,
    guide_wav: str | Path | None = None,
    sample_rate: int = 48_000,
    channel: int | None = None,
    max_stretch: int = 3,
) -> AlignedTake:
    """Align the recorded ``take`` to ``cue``'s production guide and place it on an ``ADR`` track.

    The guide is the cue plus :data:`HANDLE_S` either side. A take with a ``TimeReference`` (recorded
    against timecode) is cut to that stretch first, with a second to spare either side; one without is
    searched whole. The aligned take — as long as the guide stretch, on its sample grid — is written to
    ``out_dir/CUE_TAKE_aligned.wav`` with the stretch's ``TimeReference`` and placed at its first frame
    (fades of one frame), replacing an earlier take of the cue. ``timeline`` is changed in place; save it
    with :func:`posthouse.sound.session.save_session`.
    """
    take_path = Path(take)
    rate = session_rate(timeline)
    handle = max(1, round(HANDLE_S * rate.fps))
    first, last = max(cue.record_in - handle, 0), cue.record_out + handle
    guide = render_guide(timeline, first, last, guide_wav=guide_wav, sample_rate=sample_rate)
    if float(np.max(np.abs(guide), initial=0.0)) == 0.0:
        raise UsageError(
            f"cue {cue.cue_id}: the guide is silent at {cue.timecode_in}-{cue.timecode_out}",
            hint="put the production dialogue on the DX tracks, or pass a guide WAV",
        )
    audio, tref = _read_take(take_path, sample_rate, channel)
    start_tc = _start_frame(timeline, rate)
    g0 = frames_to_samples(start_tc + first, rate, sample_rate)  # guide's first sample since midnight
    if tref is not None:
        spare = sample_rate
        a = max(g0 - tref - spare, 0)
        b = min(g0 - tref + guide.size + spare, audio.size)
        if b - a > sample_rate // 10:
            audio = audio[a:b]
    result = align_take(guide, audio, sample_rate, max_stretch=max_stretch)
    out = Path(out_dir) / f"{cue.cue_id}_{take_path.stem}_aligned.wav"
    write_bwf(
        out,
        result.audio,
        sample_rate,
        bext=Bext(
            description=f"ADR {cue.cue_id} {cue.character} aligned to guide: {cue.line}"[:256],
            time_reference=g0,
        ),
        ixml=IXml(project=timeline.name or "", scene=cue.cue_id, take=take_path.stem, note=cue.line),
    )
    frames = last - first
    clip = wav_clip(
        out,
        name=f"{cue.cue_id} {take_path.stem}",
        frames=frames,
        rate=rate,
        sample_rate=sample_rate,
        source_start=g0,
        time_reference=g0,
        file_samples=int(result.audio.shape[-1]),
        metadata={
            "fade_in_frames": 1,
            "fade_out_frames": 1,
            "adr": {"cue": cue.cue_id, "take": str(take_path.resolve()), **result.to_dict()},
        },
    )
    _remove_cue_clips(timeline, cue.cue_id)
    track = _place_on_adr_track(timeline, clip, first)
    return AlignedTake(cue, take_path, out, track, first, frames, result)
