"""Subtitles: the cue model, cues built from a timed script, and subtitle QC.

Times are exact: a :class:`Cue` holds its start and end as :class:`~fractions.Fraction` seconds from the
programme's start (``00:00:00:00``). Readers and writers for SRT, WebVTT, IMSC1 TTML and SMPTE DCP timed text
live in :mod:`posthouse.finish.subtitle_formats`.

The default :class:`SubtitleRules` follow the common streaming style guide (Netflix-style, English): at most
2 lines of 42 characters, a cue on screen 5/6 s to 7 s, at most 17 characters a second, and at least 2 frames
between cues.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any, Literal, TypeAlias

from posthouse.core.errors import UsageError
from posthouse.core.time import Rate, RateLike, frames_to_timecode, seconds_to_frames

__all__ = [
    "Cue",
    "Issue",
    "Position",
    "SubtitleRules",
    "SubtitleTrack",
    "TimedLine",
    "check_subtitles",
    "cue_timecode",
    "cues_from_timed_lines",
    "wrap_text",
]

Position: TypeAlias = Literal["bottom", "top"]
TimedLine: TypeAlias = tuple[Fraction | float | int, Fraction | float | int, str | None, str]
"""``(start_s, end_s, character, text)``: one spoken line of a timed script."""


@dataclass(frozen=True, slots=True)
class Cue:
    """One subtitle: number, exact start/end seconds, text lines, and presentation."""

    index: int
    start: Fraction
    end: Fraction
    lines: tuple[str, ...]
    italic: bool = False
    position: Position = "bottom"
    character: str | None = None

    @property
    def duration(self) -> Fraction:
        """Seconds on screen."""
        return self.end - self.start

    @property
    def chars(self) -> int:
        """Characters shown (spaces counted, line breaks not), as reading-speed rules count them."""
        return sum(len(line) for line in self.lines)

    @property
    def cps(self) -> float:
        """Reading speed in characters a second."""
        return float(self.chars / self.duration) if self.duration > 0 else math.inf

    @property
    def text(self) -> str:
        """The lines joined with newlines."""
        return "\n".join(self.lines)


@dataclass(frozen=True, slots=True)
class SubtitleTrack:
    """A language's cues, at the picture's frame rate (for frame-based times, gaps and timecodes)."""

    language: str
    cues: tuple[Cue, ...]
    rate: Rate = field(default_factory=lambda: Rate(24))
    title: str = ""

    def renumbered(self) -> SubtitleTrack:
        """The cues sorted by start and numbered from 1."""
        cues = sorted(self.cues, key=lambda c: (c.start, c.end))
        return replace(self, cues=tuple(replace(c, index=i) for i, c in enumerate(cues, 1)))


@dataclass(frozen=True, slots=True)
class SubtitleRules:
    """Style-guide limits used to build cues and to QC them."""

    max_chars_per_line: int = 42
    max_lines: int = 2
    min_duration: Fraction = Fraction(5, 6)
    max_duration: Fraction = Fraction(7)
    max_cps: Fraction = Fraction(17)
    min_gap_frames: int = 2
    max_lead: Fraction = Fraction(1, 2)
    """How long before the speech a built cue may appear to gain reading time (building only, not QC)."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly numbers."""
        return {
            "max_chars_per_line": self.max_chars_per_line,
            "max_lines": self.max_lines,
            "min_duration_s": float(self.min_duration),
            "max_duration_s": float(self.max_duration),
            "max_cps": float(self.max_cps),
            "min_gap_frames": self.min_gap_frames,
            "max_lead_s": float(self.max_lead),
        }


@dataclass(frozen=True, slots=True)
class Issue:
    """One QC finding, naming the cue and its timecode."""

    kind: str
    cue: int
    timecode: str
    message: str
    severity: Literal["error", "warning"] = "error"

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {
            "kind": self.kind,
            "cue": self.cue,
            "timecode": self.timecode,
            "message": self.message,
            "severity": self.severity,
        }

    def __str__(self) -> str:
        return f"cue {self.cue} at {self.timecode}: {self.message}"


def cue_timecode(seconds: Fraction, rate: RateLike) -> str:
    """The non-drop timecode label of the frame showing at ``seconds``."""
    return frames_to_timecode(seconds_to_frames(seconds, rate, rounding="floor"), rate)


# ----------------------------------------------------------------------------------------- line breaking


def _best_split(words: Sequence[str], max_chars: int) -> tuple[str, str] | None:
    """Two lines from ``words``, both ≤ ``max_chars``, as balanced as can be (bottom line the longer on
    ties, the usual pyramid); None when no split fits."""
    best: tuple[int, int, str, str] | None = None
    for i in range(1, len(words)):
        top, bottom = " ".join(words[:i]), " ".join(words[i:])
        if len(top) > max_chars or len(bottom) > max_chars:
            continue
        key = (max(len(top), len(bottom)), 0 if len(bottom) >= len(top) else 1)
        if best is None or key < best[:2]:
            best = (key[0], key[1], top, bottom)
    return None if best is None else (best[2], best[3])


def wrap_text(text: str, max_chars: int = 42) -> list[str]:
    """Break ``text`` at word boundaries into lines of at most ``max_chars`` (a longer single word stays
    whole). Two-line results are balanced; longer text fills lines greedily."""
    words = text.split()
    if not words:
        return []
    joined = " ".join(words)
    if len(joined) <= max_chars:
        return [joined]
    pair = _best_split(words, max_chars)
    if pair is not None:
        return list(pair)
    lines: list[str] = []
    current = ""
    for word in words:
        if current and len(current) + 1 + len(word) > max_chars:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    lines.append(current)
    return lines


def _split_words(words: list[str], parts: int) -> list[list[str]]:
    """``words`` cut into ``parts`` consecutive groups of about equal characters."""
    total = sum(len(w) + 1 for w in words)
    groups: list[list[str]] = [[]]
    acc = 0
    for word in words:
        target = total * len(groups) / parts
        if groups[-1] and acc + (len(word) + 1) / 2 > target and len(groups) < parts:
            groups.append([])
        groups[-1].append(word)
        acc += len(word) + 1
    return groups


def _chunks(text: str, span: Fraction, rules: SubtitleRules) -> list[list[str]]:
    """Cue texts (each a list of lines) for one spoken line lasting ``span`` seconds."""
    words = text.split()
    if not words:
        return []
    parts = max(1, math.ceil(span / rules.max_duration)) if span > 0 else 1
    while True:
        groups = _split_words(words, parts) if parts > 1 else [words]
        wrapped = [wrap_text(" ".join(g), rules.max_chars_per_line) for g in groups]
        if all(len(w) <= rules.max_lines for w in wrapped) or parts >= len(words):
            return wrapped
        parts += 1


def cues_from_timed_lines(
    lines: Iterable[TimedLine],
    *,
    language: str = "en",
    rate: RateLike = 24,
    rules: SubtitleRules | None = None,
    title: str = "",
    show_character: bool = False,
) -> SubtitleTrack:
    """Build cues from a timed script: ``(start_s, end_s, character, text)`` per spoken line.

    Each line is broken at word boundaries into cues of at most ``rules.max_lines`` lines of
    ``rules.max_chars_per_line`` characters, the line's time shared between its cues by characters. Cues are
    then held for at least ``rules.min_duration`` and long enough to read at ``rules.max_cps``, but never
    past ``rules.max_duration`` nor closer than ``rules.min_gap_frames`` frames to the next cue; when the
    next cue leaves too little room, a cue may come up to ``rules.max_lead`` early.
    ``show_character`` prefixes each cue with ``CHARACTER:``.
    """
    rules = rules or SubtitleRules()
    fps = Rate.parse(rate)
    gap = rules.min_gap_frames * fps.frame_duration
    raw: list[tuple[Fraction, Fraction, list[str], str | None]] = []
    for start_v, end_v, character, text in lines:
        start, end = Fraction(start_v), Fraction(end_v)
        if end < start:
            raise UsageError(f"timed line {text!r} ends ({float(end):.3f} s) before it starts")
        body = f"{character}: {text}" if show_character and character else text
        chunks = _chunks(body, end - start, rules)
        weights = [sum(len(x) for x in c) for c in chunks]
        total = sum(weights) or 1
        t = start
        for chunk, w in zip(chunks, weights, strict=True):
            t_end = t + (end - start) * Fraction(w, total)
            raw.append((t, t_end, chunk, character))
            t = t_end
    raw.sort(key=lambda r: r[0])
    # snap to frames, then lengthen for reading speed and minimum duration within the room available
    snapped = [
        (
            seconds_to_frames(s, fps, rounding="nearest") * fps.frame_duration,
            seconds_to_frames(e, fps, rounding="nearest") * fps.frame_duration,
            chunk,
            ch,
        )
        for s, e, chunk, ch in raw
    ]
    cues: list[Cue] = []
    for i, (s, e, chunk, ch) in enumerate(snapped):
        chars = sum(len(x) for x in chunk)
        want = max(e - s, rules.min_duration, Fraction(chars) / rules.max_cps)
        want = min(want, rules.max_duration)
        end = s + want
        end = max(seconds_to_frames(end, fps, rounding="ceil") * fps.frame_duration, e)
        end = min(end, seconds_to_frames(s + rules.max_duration, fps) * fps.frame_duration)
        if i + 1 < len(snapped):
            end = min(end, snapped[i + 1][0] - gap)
        end = max(end, s + fps.frame_duration)
        if end - s < want and rules.max_lead > 0:
            # still short of reading time: come up a little before the speech, after the previous cue
            earliest = seconds_to_frames(s - rules.max_lead, fps, rounding="ceil") * fps.frame_duration
            if cues:
                earliest = max(earliest, cues[-1].end + gap)
            target = seconds_to_frames(end - want, fps, rounding="floor") * fps.frame_duration
            s = min(s, max(earliest, target, Fraction(0)))
        cues.append(Cue(index=i + 1, start=s, end=end, lines=tuple(chunk), character=ch))
    return SubtitleTrack(language=language, cues=tuple(cues), rate=fps, title=title)


# --------------------------------------------------------------------------------------------------- QC


def check_subtitles(track: SubtitleTrack, rules: SubtitleRules | None = None) -> list[Issue]:
    """QC every cue against ``rules``: reading speed, line length, lines per cue, minimum and maximum
    duration, gaps shorter than ``rules.min_gap_frames`` frames and overlaps. Issues come in cue order."""
    rules = rules or SubtitleRules()
    rate = track.rate
    cues = sorted(track.cues, key=lambda c: (c.start, c.end))
    issues: list[Issue] = []
    frame = rate.frame_duration
    for n, cue in enumerate(cues):
        tc = cue_timecode(cue.start, rate)

        def add(kind: str, message: str, severity: Literal["error", "warning"] = "error") -> None:
            issues.append(Issue(kind, cue.index, tc, message, severity))  # noqa: B023

        if cue.end <= cue.start:
            add("duration", "ends before it starts")
            continue
        if cue.duration < rules.min_duration:
            add("min_duration", f"on screen {float(cue.duration):.3f} s < {float(rules.min_duration):.3f} s")
        if cue.duration > rules.max_duration:
            add("max_duration", f"on screen {float(cue.duration):.3f} s > {float(rules.max_duration):.3f} s")
        if cue.chars / cue.duration > rules.max_cps:
            add("reading_speed", f"{cue.cps:.1f} characters/s > {float(rules.max_cps):g}")
        if len(cue.lines) > rules.max_lines:
            add("lines", f"{len(cue.lines)} lines > {rules.max_lines}")
        if not any(line.strip() for line in cue.lines):
            add("empty", "no text", "warning")
        for k, line in enumerate(cue.lines, 1):
            if len(line) > rules.max_chars_per_line:
                add("line_length", f"line {k} has {len(line)} characters > {rules.max_chars_per_line}")
        if n + 1 < len(cues):
            nxt = cues[n + 1]
            if nxt.start < cue.end:
                add("overlap", f"overlaps cue {nxt.index} by {float(cue.end - nxt.start):.3f} s")
            elif nxt.start - cue.end < rules.min_gap_frames * frame:
                gap_frames = (nxt.start - cue.end) / frame
                add(
                    "gap",
                    f"gap to cue {nxt.index} is {float(gap_frames):.2g} frames < {rules.min_gap_frames}",
                    "warning",
                )
    return issues
