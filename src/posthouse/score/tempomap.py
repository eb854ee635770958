"""Tempo maps: bars|beats ↔ seconds from a cue's start, with tempo changes at beats.

A map is a meter (``4/4``: beats per bar and the beat's note value) and tempo changes, each at a bar and
beat (1-based; ``beat`` may be fractional), the first at bar 1 beat 1. The tempo is constant up to the next
change (a step, as film-scoring tempo maps and click tracks are built). ``offset_s`` is where bar 1 beat 1
falls after the cue's first frame (0: the downbeat on the cue start). Seconds are floats here: a map's
times are the composer's, and frames come from them with the cue's rate.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from posthouse.core.errors import UsageError

__all__ = ["TempoChange", "TempoMap"]


@dataclass(frozen=True, slots=True)
class TempoChange:
    """From ``bar``|``beat`` on, ``bpm`` beats (of the meter's note value) a minute."""

    bar: int
    beat: float
    bpm: float

    def to_dict(self) -> dict[str, Any]:
        return {"bar": self.bar, "beat": self.beat, "bpm": self.bpm}


@dataclass(frozen=True, slots=True)
class TempoMap:
    """A meter and a list of tempo changes; converts bars|beats to seconds from the cue start and back."""

    changes: tuple[TempoChange, ...]
    meter: tuple[int, int] = (4, 4)
    offset_s: float = 0.0

    def __post_init__(self) -> None:
        if not self.changes:
            raise UsageError("a tempo map needs at least one tempo")
        first = self.changes[0]
        if (first.bar, first.beat) != (1, 1):
            raise UsageError(f"the first tempo must be at bar 1 beat 1, not {first.bar}|{first.beat}")
        num, den = self.meter
        if num < 1 or den not in (1, 2, 4, 8, 16, 32):
            raise UsageError(f"meter {num}/{den} is not a time signature")
        idx = [self.beat_index(c.bar, c.beat) for c in self.changes]
        if any(b <= a for a, b in itertools.pairwise(idx)):
            raise UsageError("tempo changes must be in order, one per position")
        if any(not 10.0 <= c.bpm <= 400.0 for c in self.changes):
            raise UsageError("tempos must be between 10 and 400 bpm")

    @classmethod
    def constant(cls, bpm: float, meter: tuple[int, int] = (4, 4), offset_s: float = 0.0) -> TempoMap:
        """One tempo throughout."""
        return cls((TempoChange(1, 1.0, float(bpm)),), meter, offset_s)

    @property
    def beats_per_bar(self) -> int:
        return self.meter[0]

    def beat_index(self, bar: int, beat: float) -> float:
        """Beats from bar 1 beat 1 (0-based)."""
        return (bar - 1) * self.beats_per_bar + (beat - 1.0)

    def bar_beat(self, index: float) -> tuple[int, float]:
        """``(bar, beat)`` (1-based) of a 0-based beat index (negative: before bar 1, in a pickup bar 0…)."""
        bar, rest = divmod(index, self.beats_per_bar)
        return int(bar) + 1, float(rest) + 1.0

    def _knots(self) -> tuple[list[float], list[float], list[float]]:
        """Beat index, seconds and seconds-per-beat at each change."""
        idx: list[float] = []
        secs: list[float] = []
        spb: list[float] = []
        t = self.offset_s
        for k, c in enumerate(self.changes):
            i = self.beat_index(c.bar, c.beat)
            if k:
                t += (i - idx[-1]) * spb[-1]
            idx.append(i)
            secs.append(t)
            spb.append(60.0 / c.bpm)
        return idx, secs, spb

    def seconds_at_index(self, index: float | npt.ArrayLike) -> Any:
        """Seconds from the cue start at beat index(es) ``index`` (before bar 1: at the first tempo)."""
        idx, secs, spb = self._knots()
        x = np.asarray(index, np.float64)
        k = np.clip(np.searchsorted(np.asarray(idx), x, side="right") - 1, 0, len(idx) - 1)
        out = np.asarray(secs)[k] + (x - np.asarray(idx)[k]) * np.asarray(spb)[k]
        return float(out) if out.ndim == 0 else out

    def seconds_at(self, bar: int, beat: float = 1.0) -> float:
        """Seconds from the cue start at ``bar``|``beat``."""
        return float(self.seconds_at_index(self.beat_index(bar, beat)))

    def index_at(self, seconds: float | npt.ArrayLike) -> Any:
        """Beat index (fractional) at seconds from the cue start."""
        idx, secs, spb = self._knots()
        x = np.asarray(seconds, np.float64)
        k = np.clip(np.searchsorted(np.asarray(secs), x, side="right") - 1, 0, len(secs) - 1)
        out = np.asarray(idx)[k] + (x - np.asarray(secs)[k]) / np.asarray(spb)[k]
        return float(out) if out.ndim == 0 else out

    def position_at(self, seconds: float) -> tuple[int, float]:
        """``(bar, beat)`` at seconds from the cue start."""
        return self.bar_beat(float(self.index_at(seconds)))

    def bpm_at(self, seconds: float) -> float:
        """The tempo in force at ``seconds``."""
        _, secs, _ = self._knots()
        return self.changes[max(0, bisect.bisect_right(secs, seconds) - 1)].bpm

    def beat_times(self, until_s: float) -> npt.NDArray[np.float64]:
        """Seconds of every beat from bar 1 beat 1 up to ``until_s``."""
        last = int(np.floor(float(self.index_at(until_s)) + 1e-9))
        if last < 0:
            return np.zeros(0)
        return np.asarray(self.seconds_at_index(np.arange(last + 1, dtype=np.float64)), np.float64)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``tempos`` of ``{bar, beat, bpm}``, ``meter`` as ``"4/4"``, ``offset_s``."""
        return {
            "tempos": [c.to_dict() for c in self.changes],
            "meter": f"{self.meter[0]}/{self.meter[1]}",
            "offset_s": self.offset_s,
        }

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> TempoMap:
        """Inverse of :meth:`to_dict`."""
        try:
            num, den = (int(x) for x in str(doc.get("meter", "4/4")).split("/"))
            tempos: Sequence[dict[str, Any]] = doc["tempos"]
            changes = tuple(TempoChange(int(t["bar"]), float(t["beat"]), float(t["bpm"])) for t in tempos)
        except (KeyError, ValueError, TypeError) as exc:
            raise UsageError(f"not a tempo map: {exc}") from exc
        return cls(changes, (num, den), float(doc.get("offset_s", 0.0)))
