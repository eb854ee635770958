"""Music cues: the unit every scoring step works on (spotting, tempo, orchestration, mock-ups, cue sheets).

Positions are record frames from the cut's first frame (timeline start = 0), at the cut's rate; the
cut's start timecode (``start_frame``, e.g. 01:00:00:00) turns them into labels. A cue's ID follows the
trade's numbering: reel, ``M``, number within the reel (``1M1``, ``1M2``, ``2M1`` …).

Outputs for cut version ``CUT@vN`` live in ``PROJECT/score/CUT_vNNN/`` (:func:`score_dir`): the cue list
(``cues.csv``, ``cues.html``) and one folder per cue (``1M1/``: tempo map, click, MIDI, audio, score).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

from posthouse.core.errors import UsageError
from posthouse.core.time import Rate, Timecode

__all__ = [
    "HIT_KINDS",
    "USAGES",
    "CueTimes",
    "HitPoint",
    "MusicCue",
    "cue_id",
    "parse_cue_id",
    "read_cues",
    "score_dir",
]

HIT_KINDS: Final = ("downbeat", "beat", "any")
"""Where a hit must land: on a bar's first beat, on any beat, or anywhere (a soft sync, not solved)."""

USAGES: Final = ("background", "visual vocal", "background vocal", "visual instrumental", "theme", "source")
"""Cue-sheet usage codes (as the performing-rights societies ask for them)."""

_ID_RE: Final = re.compile(r"^\s*(\d+)\s*M\s*(\d+)([A-Z]?)\s*$", re.IGNORECASE)


def cue_id(reel: int, number: int, suffix: str = "") -> str:
    """``1M1``-style ID; ``suffix`` for an inserted cue (``1M2A``)."""
    return f"{int(reel)}M{int(number)}{suffix.upper()}"


def parse_cue_id(text: str) -> tuple[int, int, str]:
    """``(reel, number, suffix)`` of ``1M2`` / ``1m2a``; raises ``UsageError`` otherwise."""
    m = _ID_RE.match(text)
    if m is None:
        raise UsageError(f"not a cue ID: {text!r}", hint="write REEL M NUMBER, e.g. 1M3 or 2M1A")
    return int(m.group(1)), int(m.group(2)), m.group(3).upper()


@dataclass(frozen=True, slots=True)
class HitPoint:
    """A frame the music must hit (record frame, timeline start = 0)."""

    frame: int
    kind: str = "downbeat"
    label: str = ""

    def __post_init__(self) -> None:
        if self.kind not in HIT_KINDS:
            raise UsageError(f"hit kind {self.kind!r} is not one of {', '.join(HIT_KINDS)}")


@dataclass(frozen=True, slots=True)
class CueTimes:
    """A cue's labels at the cut's rate and start."""

    start: str
    end: str
    duration: str
    hits: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MusicCue:
    """One music cue of a cut: where it starts and ends, what it must hit, what it is."""

    cue_id: str
    start: int  # record frame, inclusive
    end: int  # record frame, exclusive
    hits: tuple[HitPoint, ...] = ()
    title: str = ""
    description: str = ""
    usage: str = "background"
    source: bool = False  # licensed source music rather than score
    composer: str = ""
    publisher: str = ""
    metadata: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        parse_cue_id(self.cue_id)
        if self.end <= self.start:
            raise UsageError(f"cue {self.cue_id}: end frame {self.end} is not after start {self.start}")
        if self.usage not in USAGES:
            raise UsageError(f"cue {self.cue_id}: usage {self.usage!r} is not one of {', '.join(USAGES)}")
        for h in self.hits:
            if not self.start <= h.frame < self.end:
                raise UsageError(
                    f"cue {self.cue_id}: hit at record frame {h.frame} is outside {self.start}-{self.end}"
                )

    @property
    def reel(self) -> int:
        return parse_cue_id(self.cue_id)[0]

    @property
    def duration(self) -> int:
        """Frames."""
        return self.end - self.start

    def times(self, rate: Rate | str, start_frame: int, drop: bool = False) -> CueTimes:
        """Timecode labels for a cut whose first frame is at timecode frame ``start_frame``."""
        r = Rate.parse(rate)

        def tc(frame: int) -> str:
            return str(Timecode(start_frame + frame, r, drop))

        return CueTimes(
            start=tc(self.start),
            end=tc(self.end),
            duration=str(Timecode(self.duration, r, False)),  # a length, not a position: never drop-frame
            hits=tuple(tc(h.frame) for h in self.hits),
        )

    def with_hits(self, hits: tuple[HitPoint, ...]) -> MusicCue:
        """The same cue with other hit points."""
        return replace(self, hits=hits)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (hits as ``{frame, kind, label}``); :meth:`from_dict` reads them back."""
        return {
            "cue_id": self.cue_id,
            "start": self.start,
            "end": self.end,
            "hits": [{"frame": h.frame, "kind": h.kind, "label": h.label} for h in self.hits],
            "title": self.title,
            "description": self.description,
            "usage": self.usage,
            "source": self.source,
            "composer": self.composer,
            "publisher": self.publisher,
            "metadata": dict(self.metadata),
        }

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> MusicCue:
        """A cue from :meth:`to_dict`'s fields; other keys (timecode labels…) are kept in ``metadata``
        unless the document has a ``metadata`` of its own. Raises ``UsageError``, ``KeyError``,
        ``TypeError`` or ``ValueError`` on a malformed document."""
        known = {
            "cue_id",
            "start",
            "end",
            "hits",
            "title",
            "description",
            "usage",
            "source",
            "composer",
            "publisher",
            "metadata",
        }
        hits = tuple(
            HitPoint(int(h["frame"]), str(h.get("kind", "downbeat")), str(h.get("label", "")))
            for h in doc.get("hits", ())
        )
        meta = doc.get("metadata")
        extra = dict(meta) if isinstance(meta, dict) else {k: v for k, v in doc.items() if k not in known}
        return cls(
            cue_id=str(doc["cue_id"]),
            start=int(doc["start"]),
            end=int(doc["end"]),
            hits=hits,
            title=str(doc.get("title", "")),
            description=str(doc.get("description", "")),
            usage=str(doc.get("usage", "background")),
            source=bool(doc.get("source", False)),
            composer=str(doc.get("composer", "")),
            publisher=str(doc.get("publisher", "")),
            metadata=extra,
        )


def read_cues(path: str | Path) -> list[MusicCue]:
    """The cues of a ``cues.json``: the spotting step's file (``posthouse score spot``), or a JSON list (or
    ``{"cues": [...]}``) of :class:`MusicCue` fields with hits as ``{frame, kind, label}``."""
    p = Path(path)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise UsageError("cue list not found", path=p, hint="spot the cut's music first") from exc
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read cue list: {exc}", path=p) from exc
    items = doc.get("cues") if isinstance(doc, dict) else doc
    if not isinstance(items, list):
        raise UsageError("cue list must be a JSON list of cues (or {'cues': [...]})", path=p)
    cues: list[MusicCue] = []
    for n, item in enumerate(items):
        where = f"cue {n + 1}"
        if not isinstance(item, dict):
            raise UsageError("a cue must be a JSON object", path=p, where=where)
        try:
            cues.append(MusicCue.from_dict(item))
        except UsageError as exc:
            raise UsageError(exc.message, path=p, where=where, hint=exc.hint) from exc
        except (KeyError, TypeError, ValueError) as exc:
            raise UsageError(f"not a cue: {exc!r}", path=p, where=where) from exc
    return cues


def score_dir(project_root: str | Path, cut_name: str, version: int) -> Path:
    """``PROJECT/score/CUT_vNNN``: the cue list and every scoring output for that cut version."""
    return Path(project_root) / "score" / f"{cut_name}_v{version:03d}"
