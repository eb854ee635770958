"""Subtitle QC: a tiny SRT reader and the timing/layout checks (reading speed, line length, lines per cue,
duration, gaps, overlaps)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from posthouse.core.errors import MediaError
from posthouse.finish.qc_specs import SubtitleSpec

__all__ = ["Cue", "SubtitleIssue", "check_cues", "parse_srt", "read_srt"]

_TIME = re.compile(r"(\d+):(\d{2}):(\d{2})[,.](\d{3})\s*-->\s*(\d+):(\d{2}):(\d{2})[,.](\d{3})")
_TAG = re.compile(r"<[^>]+>|\{\\[^}]*\}")


@dataclass(frozen=True, slots=True)
class Cue:
    """One subtitle: times in seconds, text with ``\\n`` between lines."""

    start: float
    end: float
    text: str


@dataclass(frozen=True, slots=True)
class SubtitleIssue:
    """A cue (or pair of cues) breaking a rule."""

    check: str
    severity: str
    start: float
    end: float
    detail: str


def parse_srt(text: str, *, path: str | Path | None = None) -> list[Cue]:
    """Parse SubRip text into cues (formatting tags removed)."""
    cues: list[Cue] = []
    for n, block in enumerate(re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip("\ufeff\n ")), 1):
        lines = [ln for ln in block.split("\n") if ln.strip()]
        if not lines:
            continue
        at = next((i for i, ln in enumerate(lines) if _TIME.search(ln)), None)
        if at is None:
            raise MediaError("subtitle block without a 'start --> end' line", path=path, where=f"block {n}")
        g = [int(x) for x in _TIME.search(lines[at]).groups()]  # type: ignore[union-attr]
        start = g[0] * 3600 + g[1] * 60 + g[2] + g[3] / 1000
        end = g[4] * 3600 + g[5] * 60 + g[6] + g[7] / 1000
        cues.append(Cue(start, end, _TAG.sub("", "\n".join(lines[at + 1 :]))))
    return cues


def read_srt(path: str | Path) -> list[Cue]:
    """Read an SRT file (UTF-8, BOM allowed)."""
    p = Path(path)
    try:
        return parse_srt(p.read_text(encoding="utf-8-sig"), path=p)
    except FileNotFoundError as exc:
        raise MediaError("subtitle file not found", path=p) from exc
    except UnicodeDecodeError as exc:
        raise MediaError(f"subtitle file is not UTF-8: {exc}", path=p) from exc


def check_cues(cues: list[Cue], spec: SubtitleSpec) -> list[SubtitleIssue]:
    """Every rule broken, in time order. Reading speed counts characters without line breaks."""
    out: list[SubtitleIssue] = []
    ordered = sorted(cues, key=lambda c: (c.start, c.end))
    for i, c in enumerate(ordered):
        dur = c.end - c.start
        lines = c.text.split("\n")
        chars = sum(len(ln) for ln in lines)
        if dur <= 0:
            out.append(SubtitleIssue("subtitle_duration", "fail", c.start, c.end, "ends before it starts"))
            continue
        if dur < spec.min_duration_s - 1e-6:
            out.append(SubtitleIssue("subtitle_duration", "fail", c.start, c.end, f"on screen {dur:.2f} s"))
        if dur > spec.max_duration_s + 1e-6:
            out.append(SubtitleIssue("subtitle_duration", "fail", c.start, c.end, f"on screen {dur:.2f} s"))
        if chars / dur > spec.max_chars_per_second:
            out.append(
                SubtitleIssue(
                    "reading_speed", "fail", c.start, c.end, f"{chars / dur:.1f} characters a second"
                )
            )
        longest = max(len(ln) for ln in lines)
        if longest > spec.max_line_length:
            out.append(
                SubtitleIssue("line_length", "fail", c.start, c.end, f"a line of {longest} characters")
            )
        if len(lines) > spec.max_lines:
            out.append(SubtitleIssue("lines_per_cue", "fail", c.start, c.end, f"{len(lines)} lines"))
        if i + 1 < len(ordered):
            nxt = ordered[i + 1]
            gap = nxt.start - c.end
            if gap < -1e-6:
                out.append(
                    SubtitleIssue(
                        "overlap", "fail", nxt.start, c.end, f"overlaps the next cue by {-gap:.3f} s"
                    )
                )
            elif gap < spec.min_gap_s - 1e-6:
                out.append(
                    SubtitleIssue("gap", "warn", c.end, nxt.start, f"gap of {gap:.3f} s to the next cue")
                )
    return out
