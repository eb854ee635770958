"""The demo's final HTML report: one section per stage with its wall time, its headline figures and a
link to every output file the stage reported."""

from __future__ import annotations

import html
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from posthouse.core.fsutil import atomic_write_text

__all__ = ["write_html_report"]

_SECTIONS = (
    ("offload", "Offload", "offload"),
    ("dailies", "Dailies", "dailies"),
    ("editorial", "Editorial: assembly, lock, turnover", "assembly+lock+turnover"),
    ("score", "Score", "score"),
    ("sound", "Sound", "sound"),
    ("finish", "Finishing", "finish"),
    ("deliver", "Deliverables", "deliver"),
)


def _files(value: Any, key: str = "") -> Iterator[tuple[str, Path]]:
    """Every (label, existing path) inside a stage's summary, depth first, each path once."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _files(v, f"{key}.{k}" if key else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _files(v, f"{key}[{i}]")
    elif isinstance(value, str) and ("/" in value or "\\" in value) and len(value) < 1024:
        p = Path(value)
        if p.is_absolute() and p.exists():
            yield key, p


def _link(label: str, path: Path, base: Path) -> str:
    try:
        href = os.path.relpath(path, base)
    except ValueError:
        href = path.as_uri()
    name = html.escape(path.name)
    return f'<li><code>{html.escape(label)}</code>: <a href="{html.escape(href)}">{name}</a></li>'


def write_html_report(doc: dict[str, Any], dest: Path) -> Path:
    """Write the demo report ``doc`` (``DemoReport.to_dict()``) as HTML at ``dest``; returns ``dest``."""
    base = dest.parent
    timings: dict[str, float] = doc.get("timings", {})
    ok = doc.get("ok")
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>posthouse demo report</title>",
        "<style>body{font:14px system-ui,sans-serif;margin:2em;max-width:70em}td,th{padding:2px 10px;"
        "text-align:left}.ok{color:#080}.bad{color:#b00}code{color:#555}</style></head><body>",
        "<h1>posthouse demo report</h1>",
        f"<p>Result: <b class='{'ok' if ok else 'bad'}'>{'all checks passed' if ok else 'problems found'}</b>"
        f" · project <code>{html.escape(str(doc.get('project', '')))}</code></p>",
        "<h2>Wall time per stage</h2><table><tr><th>stage</th><th>seconds</th></tr>",
        *(f"<tr><td>{html.escape(k)}</td><td>{v:.1f}</td></tr>" for k, v in timings.items()),
        f"<tr><th>total</th><th>{sum(timings.values()):.1f}</th></tr></table>",
    ]
    for key, title, stage in _SECTIONS:
        section = doc.get(key)
        if not section:
            continue
        seen: set[Path] = set()
        links = []
        for label, path in _files(section):
            if path not in seen:
                seen.add(path)
                links.append(_link(label, path, base))
        secs = f" ({timings[stage]:.1f} s)" if stage in timings else ""
        parts.append(f"<h2>{html.escape(title)}{secs}</h2>")
        parts.append("<ul>" + "".join(links) + "</ul>" if links else "<p>(no files)</p>")
    parts.append("</body></html>")
    atomic_write_text(dest, "\n".join(parts) + "\n")
    return dest
