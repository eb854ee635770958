"""Subtitle QC inside ``posthouse qc``: the QC spec's limits applied with :mod:`posthouse.finish.subtitles`
(the same reader and rules as ``posthouse subtitles``), findings as QC events with start and end seconds."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Final

from posthouse.core.time import RateLike
from posthouse.finish.qc_specs import SubtitleSpec
from posthouse.finish.subtitle_formats import parse_srt as _parse_srt
from posthouse.finish.subtitle_formats import read_subtitles
from posthouse.finish.subtitles import SubtitleRules, SubtitleTrack, check_subtitles

__all__ = ["SubtitleIssue", "check_cues", "parse_srt", "read_srt"]

_CHECK: Final = {
    "duration": "subtitle_duration",
    "min_duration": "subtitle_duration",
    "max_duration": "subtitle_duration",
    "lines": "lines_per_cue",
}


@dataclass(frozen=True, slots=True)
class SubtitleIssue:
    """A cue (or pair of cues) breaking a rule, in seconds from the file's first frame."""

    check: str
    severity: str
    start: float
    end: float
    detail: str


def parse_srt(text: str, *, rate: RateLike = 24, path: str | Path | None = None) -> SubtitleTrack:
    """SubRip text as a :class:`SubtitleTrack`."""
    return _parse_srt(text, rate=rate, path=path)


def read_srt(path: str | Path, *, rate: RateLike = 24) -> SubtitleTrack:
    """A subtitle file (SRT, WebVTT or TTML, by its extension) as a :class:`SubtitleTrack`."""
    return read_subtitles(path, rate=rate)


def check_cues(track: SubtitleTrack, spec: SubtitleSpec) -> list[SubtitleIssue]:
    """Every rule of ``spec`` the track breaks, in time order."""
    frame = track.rate.frame_duration
    rules = SubtitleRules(
        max_chars_per_line=spec.max_line_length,
        max_lines=spec.max_lines,
        min_duration=Fraction(spec.min_duration_s).limit_denominator(1000),
        max_duration=Fraction(spec.max_duration_s).limit_denominator(1000),
        max_cps=Fraction(spec.max_chars_per_second).limit_denominator(1000),
        min_gap_frames=max(0, round(spec.min_gap_s / float(frame))),
    )
    by_index = {c.index: c for c in track.cues}
    out = []
    for issue in check_subtitles(track, rules):
        cue = by_index.get(issue.cue)
        start, end = (float(cue.start), float(cue.end)) if cue is not None else (0.0, 0.0)
        severity = "fail" if issue.severity == "error" else "warn"
        out.append(SubtitleIssue(_CHECK.get(issue.kind, issue.kind), severity, start, end, issue.message))
    return sorted(out, key=lambda i: (i.start, i.check))
