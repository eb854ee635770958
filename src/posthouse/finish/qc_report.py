"""QC results: checks, timed events with thumbnails, and the JSON and HTML reports."""

from __future__ import annotations

import base64
import html
import json
import math
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from posthouse.core.fsutil import atomic_write_text

__all__ = ["Check", "QCEvent", "QCReport", "png_bytes", "write_html", "write_json"]

Severity = str  # "fail" | "warn" | "info"


@dataclass(slots=True)
class QCEvent:
    """Something found at a place in the file: ``start``/``end`` in seconds plus timecodes."""

    check: str
    severity: Severity
    start_s: float
    end_s: float
    start_tc: str
    end_tc: str
    detail: str = ""
    thumbnail: str | None = None  # base64 PNG

    def to_dict(self, *, thumbnails: bool = False) -> dict[str, Any]:
        d: dict[str, Any] = {
            "check": self.check,
            "severity": self.severity,
            "start_s": round(self.start_s, 4),
            "end_s": round(self.end_s, 4),
            "start_tc": self.start_tc,
            "end_tc": self.end_tc,
            "detail": self.detail,
        }
        if thumbnails and self.thumbnail:
            d["thumbnail_png"] = self.thumbnail
        return d


@dataclass(slots=True)
class Check:
    """One line of the spec: ``status`` is ``pass``, ``fail``, ``warn`` or ``skip``."""

    name: str
    category: str
    status: str
    measured: Any = None
    expected: Any = None
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        def clean(v: Any) -> Any:
            if isinstance(v, float) and not math.isfinite(v):
                return None
            return v

        return {
            "name": self.name,
            "category": self.category,
            "status": self.status,
            "measured": clean(self.measured),
            "expected": clean(self.expected),
            "message": self.message,
        }


@dataclass(slots=True)
class QCReport:
    """Everything QC found in one file."""

    path: str
    spec: str
    checks: list[Check] = field(default_factory=list)
    events: list[QCEvent] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        """True when any check failed."""
        return any(c.status == "fail" for c in self.checks)

    def events_of(self, check: str) -> list[QCEvent]:
        """The events a given check raised."""
        return [e for e in self.events if e.check == check]

    def to_dict(self, *, thumbnails: bool = False) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "path": self.path,
            "spec": self.spec,
            "result": "fail" if self.failed else "pass",
            "info": self.info,
            "checks": [c.to_dict() for c in self.checks],
            "events": [e.to_dict(thumbnails=thumbnails) for e in self.events],
        }


def png_bytes(rgb: npt.NDArray[np.uint8]) -> bytes:
    """Encode an ``(h, w, 3)`` uint8 image as PNG (zlib, no filter: thumbnails only)."""
    img = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w = img.shape[:2]
    raw = np.concatenate([np.zeros((h, 1), np.uint8), img.reshape(h, w * 3)], axis=1).tobytes()

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    head = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", head)
        + chunk(b"IDAT", zlib.compress(raw, 6))
        + chunk(b"IEND", b"")
    )


def thumbnail_b64(rgb: npt.NDArray[np.uint8]) -> str:
    """Base64 PNG of a small RGB image."""
    return base64.b64encode(png_bytes(rgb)).decode("ascii")


def write_json(report: QCReport, dest: str | Path) -> None:
    """Write the report as JSON (atomically; thumbnails left out)."""
    atomic_write_text(dest, json.dumps(report.to_dict(), indent=2) + "\n")


_CSS = """body{font:14px system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}.pass{color:#080}
.fail{color:#c00;font-weight:bold}.warn{color:#b60}.skip{color:#888}img{image-rendering:pixelated;width:160px}"""


def write_html(report: QCReport, dest: str | Path) -> None:
    """Write a self-contained HTML report: verdict, checks, events with timecodes and thumbnails."""
    e = html.escape
    verdict = "FAIL" if report.failed else "PASS"
    rows = "".join(
        f"<tr><td>{e(c.category)}</td><td>{e(c.name)}</td><td class='{e(c.status)}'>{e(c.status)}</td>"
        f"<td>{e(_fmt(c.measured))}</td><td>{e(_fmt(c.expected))}</td><td>{e(c.message)}</td></tr>"
        for c in report.checks
    )
    events = "".join(
        f"<tr><td>{e(ev.check)}</td><td class='{e(ev.severity)}'>{e(ev.severity)}</td>"
        f"<td>{e(ev.start_tc)}</td><td>{e(ev.end_tc)}</td><td>{e(ev.detail)}</td><td>"
        + (f"<img alt='frame' src='data:image/png;base64,{ev.thumbnail}'>" if ev.thumbnail else "")
        + "</td></tr>"
        for ev in report.events
    )
    info = "".join(f"<tr><th>{e(str(k))}</th><td>{_info_cell(v)}</td></tr>" for k, v in report.info.items())
    doc = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>QC {e(Path(report.path).name)}</title>"
        f"<style>{_CSS}</style></head><body><h1>QC: {e(Path(report.path).name)} "
        f"<span class='{'fail' if report.failed else 'pass'}'>{verdict}</span></h1>"
        f"<p>spec <b>{e(report.spec)}</b> — {e(report.path)}</p><table>{info}</table>"
        "<h2>Checks</h2><table><tr><th>area</th><th>check</th><th>status</th><th>measured</th>"
        f"<th>expected</th><th>note</th></tr>{rows}</table>"
        f"<h2>Events ({len(report.events)})</h2><table><tr><th>check</th><th>severity</th><th>start</th>"
        f"<th>end</th><th>detail</th><th>frame</th></tr>{events}</table></body></html>\n"
    )
    atomic_write_text(dest, doc)


def _info_cell(v: Any) -> str:
    """An info value as HTML: nested data (sync windows, DCP reels) as indented JSON."""
    if isinstance(v, dict) or (isinstance(v, list) and any(isinstance(x, dict) for x in v)):
        return f"<pre>{html.escape(json.dumps(v, indent=1))}</pre>"
    return html.escape(_fmt(v))


def _fmt(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return "—" if not math.isfinite(v) else f"{v:.3g}" if abs(v) < 1000 else f"{v:.0f}"
    if isinstance(v, (list, tuple)):
        return ", ".join(_fmt(x) for x in v)
    return str(v)
