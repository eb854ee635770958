"""The dailies report: one self-contained HTML page (thumbnails embedded), written atomically.

A summary, every fault found (damaged or unreadable files, render failures, sync conflicts, unsynced
takes), and the take list: thumbnail, take, scene, camera, clip, circled ★, TC in/out, duration, sync
method, offset in samples and frames, drift, confidence, status and the review copy. Circled takes are
highlighted. All text is escaped.
"""

from __future__ import annotations

import base64
import html
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

from posthouse.core.errors import TimecodeError
from posthouse.core.fsutil import atomic_write_text
from posthouse.core.time import Rate, Timecode

if TYPE_CHECKING:
    from posthouse.picture.dailies import DailiesOutput, DailiesTake

__all__ = ["report_faults", "write_report"]

_CSS = """
body{font:14px/1.4 system-ui,-apple-system,Segoe UI,sans-serif;margin:24px;color:#1d1d1f;background:#fafafa}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:24px 0 8px}
.meta{color:#666;margin-bottom:16px}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border-bottom:1px solid #e3e3e3;padding:6px 8px;text-align:left;vertical-align:middle}
th{background:#f0f0f0;font-weight:600;position:sticky;top:0}
td.num{text-align:right;font-variant-numeric:tabular-nums}
td.tc{font-family:ui-monospace,Menlo,Consolas,monospace;white-space:nowrap}
tr.circled td{background:#fff7d6}
tr.failed td{background:#fde8e8}
.star{color:#d99a00;font-size:16px}
.st-synced{color:#18794e;font-weight:600}.st-conflict{color:#b35c00;font-weight:600}
.st-unsynced,.st-failed{color:#c0262d;font-weight:600}
.faults li{margin:2px 0}.ok{color:#18794e}
img.thumb{width:160px;height:auto;display:block;border-radius:2px}
.small{color:#666;font-size:12px}
td.notes{min-width:22em;font-size:12px;color:#444}
"""


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _pair(
    items: Sequence[DailiesTake], outputs: Sequence[DailiesOutput]
) -> list[tuple[DailiesTake, DailiesOutput | None]]:
    """Outputs in the items' order (as :func:`render_dailies` returns them), else matched by take+clip."""
    if len(items) == len(outputs) and all(
        o.take == i.take and o.clip in (None, i.clip) for i, o in zip(items, outputs, strict=True)
    ):
        return list(zip(items, outputs, strict=True))
    by_key = {(o.take, o.clip): o for o in outputs}
    return [(i, by_key.get((i.take, i.clip)) or by_key.get((i.take, None))) for i in items]


def report_faults(
    items: Sequence[DailiesTake], outputs: Sequence[DailiesOutput], faults: Sequence[str] = ()
) -> list[str]:
    """``faults`` plus what the takes show (failed renders, conflicts, unsynced), without repeats."""
    found = list(faults)

    def known(*needles: str) -> bool:
        return any(all(n in f for n in needles) for f in found)

    for item, out in _pair(items, outputs):
        name = f"{item.take} {item.clip}"
        if out is None:
            line = f"not rendered: {name} ({item.picture})"
            if not known(str(item.picture)):
                found.append(line)
        elif out.error and not known(out.error):
            found.append(f"render failed: {name}: {out.error}")
        if item.status == "conflict" and not known(str(item.picture), "conflict"):
            detail = "; ".join(item.notes) or "the sync methods disagree"
            found.append(f"sync conflict: {name} ({item.picture}): {detail}")
        elif item.status != "synced" and item.status != "conflict" and not known(str(item.picture)):
            found.append(f"unsynced: {name} ({item.picture}): scratch audio in the review copy")
    return found


def _rate(item: DailiesTake) -> Rate | None:
    try:
        return Rate.parse(item.rate)
    except TimecodeError:
        return None


def _tc_in_out(item: DailiesTake, frames: int) -> tuple[str, str, str]:
    rate = _rate(item)
    if rate is None:
        return "—", "—", f"{frames} fr" if frames else "—"
    duration = f"{Timecode.from_frames(frames, rate)} ({frames} fr)" if frames else "—"
    if not item.start_timecode:
        return "—", "—", duration
    try:
        start = Timecode.parse(item.start_timecode, rate)
    except TimecodeError:
        return item.start_timecode, "—", duration
    end = str(start + (frames - 1)) if frames else "—"
    return str(start), end, duration


def _offset(item: DailiesTake, out: DailiesOutput | None) -> str:
    if item.offset_samples is None:
        return "—"
    sr = (out.sample_rate if out is not None else None) or 48000
    frames = Fraction(item.offset_samples) * Fraction(item.rate) / sr if item.rate else None
    text = f"{item.offset_samples:+d} smp"
    if frames is not None:
        text += f"<br><span class=small>{float(frames):+.2f} fr</span>"
    return text


def _thumb(path: Path | None) -> str:
    if path is None:
        return ""
    try:
        data = path.read_bytes()
    except OSError:
        return ""
    b64 = base64.b64encode(data).decode("ascii")
    return f'<img class=thumb alt="" src="data:image/jpeg;base64,{b64}">'


def _link(path: Path | None, base: Path) -> str:
    if path is None:
        return ""
    try:
        rel = os.path.relpath(path, base)
    except ValueError:  # another drive on Windows
        rel = str(path)
    return f'<a href="{_e(Path(rel).as_posix())}">{_e(path.name)}</a>'


def _row(item: DailiesTake, out: DailiesOutput | None, base: Path) -> str:
    failed = out is None or out.error is not None
    frames = out.frames if out is not None else 0
    tc_in, tc_out, duration = _tc_in_out(item, frames)
    status = "failed" if failed else item.status
    cls = " ".join(c for c in ("circled" if item.circled else "", "failed" if failed else "") if c)
    notes = list(item.notes)
    if out is not None:
        notes.extend(out.warnings)
        if out.error:
            notes.insert(0, out.error)
        if out.sound_source and out.sound_source != "production":
            notes.append(f"review sound: {out.sound_source}")
    drift = f"{item.drift_ppm:+.2f} ppm" if item.drift_ppm is not None else "—"
    conf = f"{item.confidence:.2f}" if item.confidence is not None else "—"
    cells = [
        _thumb(out.thumbnail if out is not None else None),
        f"<b>{_e(item.take)}</b>",
        _e(item.scene or "—"),
        _e(item.camera or "—"),
        _e(item.clip),
        '<span class=star title="circled">★</span>' if item.circled else "",
        f'<td class=tc>{_e(tc_in)}</td><td class=tc>{_e(tc_out)}</td><td class="tc num">{_e(duration)}</td>',
        _e(item.sync_method or "—"),
        _offset(item, out),
        _e(drift),
        _e(conf),
        f"<span class=st-{_e(status)}>{_e(status)}</span>",
        _link(out.review if out is not None else None, base),
        f"<td class=notes>{'<br>'.join(_e(n) for n in notes)}</td>",
    ]
    tds = "".join(c if c.startswith("<td") else f"<td>{c}</td>" for c in cells)
    return f'<tr class="{cls}">{tds}</tr>' if cls else f"<tr>{tds}</tr>"


def write_report(
    items: Sequence[DailiesTake],
    outputs: Sequence[DailiesOutput],
    path: Path,
    *,
    title: str,
    faults: Sequence[str] = (),
) -> Path:
    """Write the HTML dailies report to ``path`` atomically and return ``path``.

    ``outputs`` are those of :func:`~posthouse.picture.dailies.render_dailies` for ``items``; ``faults``
    (damaged files found upstream, sync findings) are listed with those the takes themselves show.
    """
    path = Path(path)
    base = path.parent
    pairs = _pair(items, outputs)
    all_faults = report_faults(items, outputs, faults)
    count = {s: sum(1 for i, _ in pairs if i.status == s) for s in ("synced", "conflict", "unsynced")}
    failed = sum(1 for _, o in pairs if o is None or o.error)
    circled = sum(1 for i, _ in pairs if i.circled)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    head = (
        f"{len(pairs)} takes · {circled} circled · {count['synced']} synced · {count['conflict']} conflict · "
        f"{count['unsynced']} unsynced · {failed} failed · written {stamp}"
    )
    columns = (
        "",
        "Take",
        "Scene",
        "Cam",
        "Clip",
        "★",
        "TC in",
        "TC out",
        "Duration",
        "Sync",
        "Offset",
        "Drift",
        "Conf.",
        "Status",
        "Review",
        "Notes",
    )
    fault_html = (
        "<ul class=faults>" + "".join(f"<li>{_e(f)}</li>" for f in all_faults) + "</ul>"
        if all_faults
        else "<p class=ok>No faults found.</p>"
    )
    rows = "\n".join(_row(i, o, base) for i, o in pairs)
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title><style>{_CSS}</style></head>
<body>
<h1>{_e(title)}</h1>
<div class=meta>{_e(head)}</div>
<h2>Faults ({len(all_faults)})</h2>
{fault_html}
<h2>Takes</h2>
<table>
<thead><tr>{"".join(f"<th>{_e(c)}</th>" for c in columns)}</tr></thead>
<tbody>
{rows}
</tbody></table>
</body></html>
"""
    atomic_write_text(path, page)
    return path
