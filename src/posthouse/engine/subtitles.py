"""Subtitles burned in: a minimal SRT / WebVTT reader and a bottom-centred, boxed two-line painter.

Cue times are timeline-relative: ``00:00:00,000`` is the first record frame, whatever the timeline's
start timecode. Record frame ``r`` shows a cue when ``start <= r / fps < end``. Tags (``<i>``,
``{\\an8}``...) are stripped; a cue keeps at most two lines (longer text is word-wrapped to 90 % of the
frame width and cut to two lines).
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

from posthouse.core.errors import MediaError, UsageError
from posthouse.engine.text import TextPainter, painter

__all__ = ["Cue", "SubtitleTrack", "parse_subtitles"]

_TIME: Final = re.compile(
    r"(?:(\d+):)?(\d{1,2}):(\d{2})[,.](\d{1,3})\s*-->\s*(?:(\d+):)?(\d{1,2}):(\d{2})[,.](\d{1,3})"
)
_TAG: Final = re.compile(r"<[^>]*>|\{[^}]*\}")


@dataclass(frozen=True, slots=True)
class Cue:
    """One subtitle: seconds from the first record frame, and its text lines."""

    start: Fraction
    end: Fraction
    lines: tuple[str, ...]


def _seconds(h: str | None, m: str, s: str, ms: str) -> Fraction:
    return Fraction(int(h or 0) * 3600 + int(m) * 60 + int(s)) + Fraction(int(ms.ljust(3, "0")), 1000)


def parse_subtitles(path: Path) -> list[Cue]:
    """Cues of an ``.srt`` or ``.vtt`` file, in time order."""
    if path.suffix.lower() not in (".srt", ".vtt"):
        raise UsageError("subtitles must be an .srt or .vtt file", path=path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise MediaError(f"cannot read subtitles: {exc.strerror or exc}", path=path) from exc
    cues: list[Cue] = []
    for n, block in enumerate(re.split(r"\n\s*\n", text.replace("\r\n", "\n").replace("\r", "\n"))):
        rows = block.strip("\n").split("\n")
        for i, row in enumerate(rows):
            m = _TIME.search(row)
            if m is None:
                continue
            start, end = _seconds(*m.group(1, 2, 3, 4)), _seconds(*m.group(5, 6, 7, 8))
            if end <= start:
                raise UsageError("cue ends before it starts", path=path, where=f"cue {n + 1}: {row.strip()}")
            lines = tuple(t for t in (_TAG.sub("", r).strip() for r in rows[i + 1 :]) if t)
            if lines:
                cues.append(Cue(start, end, lines))
            break
    cues.sort(key=lambda c: c.start)
    return cues


def _wrap(text: TextPainter, lines: tuple[str, ...], width: int) -> list[str]:
    out: list[str] = []
    for line in lines:
        current = ""
        for word in line.split():
            trial = f"{current} {word}" if current else word
            if current and text.width(trial) > width:
                out.append(current)
                current = word
            else:
                current = trial
        if current:
            out.append(current)
    if len(out) > 2:
        out = [out[0], " ".join(out[1:])]
    return out


class SubtitleTrack:
    """Cues placed on record frames, drawn onto frames bottom-centred over a dimmed box."""

    def __init__(self, cues: list[Cue], fps: Fraction, size: tuple[int, int]) -> None:
        self.cues, self.fps, self.size = cues, fps, size
        w, h = size
        self.text = painter(max(8, h // 16))
        self._starts = [c.start * fps for c in cues]
        self._ends = [c.end * fps for c in cues]
        self._wrapped = [_wrap(self.text, c.lines, w * 9 // 10) for c in cues]

    def lines_at(self, record: int) -> list[str]:
        """Lines on screen at record frame ``record`` (empty when no cue)."""
        out: list[str] = []
        last = bisect.bisect_right(self._starts, record)
        for i in range(max(0, last - 4), last):  # overlapping cues: the last few that started
            if record < self._ends[i]:
                out.extend(self._wrapped[i])
        return out[:2]

    def draw(self, frame: npt.NDArray[np.uint8], record: int) -> npt.NDArray[np.uint8]:
        """``frame`` with the cue of ``record`` drawn on a copy (``frame`` itself when there is none)."""
        lines = self.lines_at(record)
        if not lines:
            return frame
        out = frame.copy()
        w, h = self.size
        step = self.text.height + max(2, self.text.size // 6) * 2
        bottom = h - max(4, h // 12)
        for i, line in enumerate(reversed(lines)):
            y = bottom - (i + 1) * step
            self.text.draw(out, line, (w - self.text.width(line)) // 2, y, color=(255, 255, 235))
        return out
