"""Tempo solving: the film-scoring calculation of a tempo (or a tempo map) and meter that makes a cue's hits.

Hits are record frames; a ``downbeat`` hit must land on beat 1 of a bar, a ``beat`` hit on any beat, and an
``any`` hit is reported but not solved. A hit is *made* when the nearest allowed beat lies within
``tolerance`` frames of the hit frame's start (``|error_frames| ≤ tolerance``, default one frame);
``error_frames`` is signed: positive when the beat comes after the hit frame.

How it solves (:func:`solve_tempo`):

1. The cue start is a beat (the first click). Bar 1 beat 1 is on it, or, when the hits ask for it, a
   pickup of whole beats later (fewer pickup beats preferred).
2. From an anchor (the cue start, or a tempo change) every tempo of a grid (40–208 bpm in 0.05 bpm steps,
   like a click-book search) is scored against the following hits at once (NumPy: tempos × hits), with
   each hit's tolerance widened by how far its error moves within half a grid step, so no tempo between
   grid points is lost. For the beat counts a grid tempo gives, the exact tempo interval that makes every
   hit is then the intersection of one interval per hit; the tempo is picked in it (least error, then
   nearest the preferred tempo, 120 bpm unless told).
3. When one tempo makes every hit (tried first, in every meter), that is the answer. Otherwise a beam
   search over hit indices builds a tempo map: each segment keeps one tempo for as many hits as it can
   make (or a few fewer), then changes tempo at a beat before the next hit; waiting states are ranked by
   misses, changes, then how far one more tempo would carry them (a vectorised look ahead), then error.
   The search minimises missed hits, then tempo changes, then error.
4. Meters (4/4, 3/4, 6/8, 2/4 unless one is given) are tried in order of preference; the map with fewest
   misses and changes wins, ties going to the earlier meter.
5. The chosen map's bpm are rounded to 0.001 and every hit is measured again on that final map, so the
   reported errors and misses are the map's own, never the search's estimate.

Hits no tempo can make (closer together than a beat at the fastest tempo, or than a bar for downbeats) are
reported as misses with a warning naming them. Seconds are floats here (see :mod:`posthouse.score.tempomap`);
frames and timecode labels come from them with the cue's rate.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, cast

import numpy as np
import numpy.typing as npt

from posthouse.core.errors import UsageError
from posthouse.core.fsutil import atomic_write_text
from posthouse.core.time import Rate, RateLike, Timecode
from posthouse.score.cues import HitPoint, MusicCue
from posthouse.score.tempomap import TempoChange, TempoMap

__all__ = [
    "BPM_RANGE",
    "DEFAULT_METERS",
    "HitResult",
    "TempoSolution",
    "bars_beats_to_frame",
    "bars_beats_to_timecode",
    "evaluate_hits",
    "frame_to_bars_beats",
    "parse_meter",
    "solve_cue",
    "solve_cues",
    "solve_tempo",
    "timecode_to_bars_beats",
]

DEFAULT_METERS: Final[tuple[tuple[int, int], ...]] = ((4, 4), (3, 4), (6, 8), (2, 4))
"""Meters tried when none is given, in order of preference."""

BPM_RANGE: Final = (40.0, 208.0)
"""The tempo range searched (a metronome's, as a click book's)."""

_KIND_CODE: Final = {"any": 0, "beat": 1, "downbeat": 2}
_GRID_STEP: Final = 0.05  # bpm
_COARSE_STEP: Final = 0.25  # bpm, for the look ahead
_BEAM: Final = 8  # states expanded per hit index
_PRESCORE: Final = 64  # states looked ahead from per hit index
_LENGTHS: Final = 5  # segment lengths tried from a state (the longest possible and shorter)
_TEMPO_CHOICES: Final = 3  # distinct tempos tried per segment length
_WINDOW: Final = 256  # hits one segment may make at most (bounds memory: grid × window)
_CHANGE_CHOICES: Final = 16  # change beats tried between two hits (at most)
_PREFER_WEIGHT: Final = 0.05  # frames of mean error worth one octave nearer the preferred tempo


# --------------------------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class HitResult:
    """Where one hit lands on the solved map."""

    frame: int  # record frame (timeline start = 0)
    kind: str
    label: str
    timecode: str
    bar: int
    beat: float
    error_frames: float  # beat time − hit frame start, in frames (positive: the beat is late)
    made: bool

    def to_dict(self) -> dict[str, Any]:
        beat: float | int = int(self.beat) if float(self.beat).is_integer() else round(self.beat, 4)
        return {
            "timecode": self.timecode,
            "bar": self.bar,
            "beat": beat,
            "error_frames": round(self.error_frames, 3) + 0.0,  # no -0.0
            "frame": self.frame,
            "kind": self.kind,
            "label": self.label,
            "made": self.made,
        }


@dataclass(frozen=True, slots=True)
class TempoSolution:
    """A solved cue: its tempo map, every hit's position and error, the misses and warnings."""

    tempo_map: TempoMap
    hits: tuple[HitResult, ...]
    rate: Rate
    cue_start: int  # record frame of the cue's first frame
    tolerance: float  # frames
    warnings: tuple[str, ...] = ()

    @property
    def misses(self) -> tuple[HitResult, ...]:
        """Hits the map does not make within the tolerance."""
        return tuple(h for h in self.hits if not h.made)

    @property
    def changes(self) -> int:
        """Tempo changes after the first tempo."""
        return len(self.tempo_map.changes) - 1

    @property
    def made_fraction(self) -> float:
        """Share of solved hits (not ``any``) that are made; 1.0 without any."""
        solved = [h for h in self.hits if h.kind != "any"]
        return sum(h.made for h in solved) / len(solved) if solved else 1.0

    def markers(self) -> list[tuple[float, str]]:
        """``(seconds from the cue start, text)`` of every hit, for ``write_midi(markers=...)``."""
        fps = float(self.rate.fps)
        return [((h.frame - self.cue_start) / fps, f"{h.label or h.kind} {h.timecode}") for h in self.hits]

    def write_json(self, path: str | Path) -> Path:
        """Write :meth:`to_dict` as JSON, atomically (``TempoMap.from_dict`` reads the map back)."""
        atomic_write_text(path, json.dumps(self.to_dict(), indent=2) + "\n")
        return Path(path)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the map (``tempos`` of ``{bar, beat, bpm}``, ``meter``, ``offset_s``), hits, misses."""
        return {
            **self.tempo_map.to_dict(),
            "rate": str(self.rate),
            "cue_start": self.cue_start,
            "tolerance_frames": self.tolerance,
            "changes": self.changes,
            "hits": [h.to_dict() for h in self.hits],
            "misses": [h.to_dict() for h in self.misses],
            "warnings": list(self.warnings),
        }


# --------------------------------------------------------------------------------------------- helpers


def parse_meter(text: str | tuple[int, int]) -> tuple[int, int]:
    """``"4/4"`` → ``(4, 4)``; raises :class:`UsageError` for anything that is not a time signature."""
    if isinstance(text, tuple):
        num, den = text
    else:
        try:
            a, b = str(text).strip().split("/")
            num, den = int(a), int(b)
        except ValueError:
            raise UsageError(f"not a meter: {text!r}", hint="write it as 4/4, 3/4, 6/8 …") from None
    if num < 1 or num > 32 or den not in (1, 2, 4, 8, 16, 32):
        raise UsageError(f"meter {num}/{den} is not a time signature", hint="write it as 4/4, 3/4, 6/8 …")
    return int(num), int(den)


def _origin(cut_start: int | str, rate: Rate) -> tuple[int, bool]:
    """(timecode frames since midnight, drop) of the cut's first frame."""
    if isinstance(cut_start, str):
        tc = Timecode.parse(cut_start, rate)
        return tc.frames, tc.drop
    return int(cut_start), False


def bars_beats_to_frame(
    tempo_map: TempoMap, bar: int, beat: float, rate: RateLike, *, cue_start: int = 0
) -> float:
    """Record frame (fractional) of ``bar``|``beat`` for a cue starting at record frame ``cue_start``."""
    fps = float(Rate.parse(rate).fps)
    return cue_start + tempo_map.seconds_at(bar, beat) * fps


def bars_beats_to_timecode(
    tempo_map: TempoMap,
    bar: int,
    beat: float,
    rate: RateLike,
    *,
    cue_start: int = 0,
    cut_start: int | str = 0,
    drop: bool | None = None,
) -> str:
    """Timecode label of the frame showing ``bar``|``beat`` (nearest frame start).

    ``cue_start`` is the cue's record frame; ``cut_start`` the cut's first frame as a label or a frame
    count since midnight. Drop-frame follows the label of ``cut_start`` unless ``drop`` says otherwise.
    """
    r = Rate.parse(rate)
    origin, label_drop = _origin(cut_start, r)
    frame = round(bars_beats_to_frame(tempo_map, bar, beat, r, cue_start=cue_start))
    return str(Timecode(origin + frame, r, label_drop if drop is None else drop))


def frame_to_bars_beats(
    tempo_map: TempoMap, frame: float, rate: RateLike, *, cue_start: int = 0
) -> tuple[int, float]:
    """``(bar, beat)`` at the start of record frame ``frame`` (beat fractional)."""
    fps = float(Rate.parse(rate).fps)
    return tempo_map.position_at((frame - cue_start) / fps)


def timecode_to_bars_beats(
    tempo_map: TempoMap,
    timecode: str,
    rate: RateLike,
    *,
    cue_start: int = 0,
    cut_start: int | str = 0,
) -> tuple[int, float]:
    """``(bar, beat)`` at a timecode label (cue at record frame ``cue_start``, cut at ``cut_start``)."""
    r = Rate.parse(rate)
    origin, _ = _origin(cut_start, r)
    record = Timecode.parse(timecode, r).frames - origin
    return frame_to_bars_beats(tempo_map, record, r, cue_start=cue_start)


def _as_hits(hits: Sequence[HitPoint | int]) -> list[HitPoint]:
    out = [h if isinstance(h, HitPoint) else HitPoint(int(h)) for h in hits]
    return sorted(out, key=lambda h: h.frame)


def _nearest_allowed(
    tempo_map: TempoMap, t: npt.NDArray[np.float64], codes: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Beat index and seconds of the nearest allowed beat (bar lines for downbeats) to each time."""
    bpb = tempo_map.beats_per_bar
    x = np.asarray(tempo_map.index_at(t), np.float64).reshape(-1)
    step = np.where(codes == 2, bpb, 1).astype(np.float64)
    lo = np.floor(x / step + 1e-9) * step
    cand = np.stack([lo, lo + step])
    secs = np.asarray(tempo_map.seconds_at_index(cand), np.float64).reshape(cand.shape)
    pick = np.argmin(np.abs(secs - t[None, :]), axis=0)
    cols = np.arange(t.size)
    return cand[pick, cols], secs[pick, cols]


def evaluate_hits(
    tempo_map: TempoMap,
    hits: Sequence[HitPoint | int],
    rate: RateLike,
    *,
    cue_start: int = 0,
    tolerance: float = 1.0,
    cut_start: int | str = 0,
    drop: bool | None = None,
) -> tuple[HitResult, ...]:
    """Measure every hit against ``tempo_map``: nearest allowed beat, bar|beat, error, made or missed."""
    r = Rate.parse(rate)
    fps = float(r.fps)
    origin, label_drop = _origin(cut_start, r)
    use_drop = label_drop if drop is None else drop
    hs = _as_hits(hits)
    if not hs:
        return ()
    t = np.array([(h.frame - cue_start) / fps for h in hs], np.float64)
    codes = np.array([_KIND_CODE[h.kind] for h in hs], np.int64)
    idx, secs = _nearest_allowed(tempo_map, t, codes)
    err = (secs - t) * fps
    out = []
    for h, i, e, c in zip(hs, idx.tolist(), err.tolist(), codes.tolist(), strict=True):
        bar, beat = tempo_map.bar_beat(i)
        made = c == 0 or abs(e) <= tolerance + 1e-6
        tc = str(Timecode(origin + h.frame, r, use_drop))
        out.append(HitResult(h.frame, h.kind, h.label, tc, bar, round(beat, 6), float(e), made))
    return tuple(out)


# --------------------------------------------------------------------------------------------- search


@dataclass(frozen=True, slots=True)
class _State:
    t0: float  # anchor, seconds from the cue start
    g0: int  # anchor's beat index (0 = bar 1 beat 1)
    i: int  # next hit to make
    segs: tuple[tuple[int, float], ...]  # closed segments: (start beat index, bpm)
    misses: int
    err: float

    def key(self) -> tuple[int, int, float]:
        return self.misses, len(self.segs), self.err


@dataclass(frozen=True, slots=True)
class _Final:
    segs: tuple[tuple[int, float], ...]
    misses: int
    err: float

    def key(self) -> tuple[int, int, float]:
        return self.misses, len(self.segs) - 1, self.err


class _Problem:
    """Hit times and kinds of one cue, one meter; scores tempo grids from an anchor."""

    def __init__(
        self,
        t: npt.NDArray[np.float64],
        codes: npt.NDArray[np.int64],
        fps: float,
        bpb: int,
        tolerance: float,
        bpm_range: tuple[float, float],
        prefer_bpm: float,
    ) -> None:
        self.t, self.codes, self.fps, self.bpb, self.tol = t, codes, fps, bpb, tolerance
        lo, hi = bpm_range
        self.grid = np.arange(lo, hi + _GRID_STEP / 2, _GRID_STEP)
        self.coarse = np.arange(lo, hi + _COARSE_STEP / 2, _COARSE_STEP)
        self.lo, self.hi = lo, hi
        self.prefer = prefer_bpm

    def errors(
        self, t0: float, g0: int, i: int, bpm: npt.NDArray[np.float64], j_end: int | None = None
    ) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
        """(error frames, beat counts from the anchor) of hits ``i:j_end`` for each tempo in ``bpm``.

        Large grids are scored in float32 (a few ten-thousandths of a frame over a 5-minute cue); the chosen
        tempo is then refined in float64.
        """
        dtype = np.float32 if bpm.size > 512 else np.float64
        dt = cast(npt.NDArray[np.floating[Any]], (self.t[i:j_end] - t0).astype(dtype)[None, :])
        bar = self.codes[i:j_end][None, :] == 2
        bps = cast(npt.NDArray[np.floating[Any]], (bpm / 60.0).astype(dtype)[:, None])
        x = dt * bps
        r = np.rint(np.where(bar, (x + g0) / self.bpb, x))
        n = np.where(bar, r * self.bpb - g0, r)
        n = np.where(n < 0, np.where(bar, n + self.bpb, 0), n)
        err = (n / bps - dt) * dtype(self.fps)
        return err, n

    def _runs(
        self, s: _State, grid: npt.NDArray[np.float64], step: float
    ) -> tuple[npt.NDArray[Any], npt.NDArray[Any], npt.NDArray[np.bool_], npt.NDArray[np.int64]]:
        """(errors, beat counts, hits no tempo makes, run of consecutive hits each tempo may make).

        A hit counts as made on a grid tempo when it is within the tolerance plus how far its error moves
        within half a grid step, so no tempo between grid points is lost; :meth:`_exact` then decides.
        """
        window = min(self.t.size, s.i + _WINDOW)
        err, n = self.errors(s.t0, s.g0, s.i, grid, window)
        slack = n * ((60.0 * step * 0.5 * self.fps) / grid**2)[:, None]
        ok = np.abs(err) <= self.tol + slack + 1e-9
        impossible: npt.NDArray[np.bool_] = ~np.any(ok, axis=0)
        okx = ok | impossible[None, :]
        run = np.where(okx.all(axis=1), okx.shape[1], np.argmin(okx, axis=1))
        return err, n, impossible, run.astype(np.int64)

    def reach(self, states: Sequence[_State]) -> npt.NDArray[np.int64]:
        """How many hits one tempo from each state's anchor may make (a coarse look ahead, all at once).

        The states wait at the same hit index; anchors × coarse tempos × hits are scored in chunks.
        """
        if not states:
            return np.zeros(0, np.int64)
        i = states[0].i
        window = min(self.t.size, i + _WINDOW)
        t = self.t[i:window]
        bar = (self.codes[i:window] == 2)[None, None, :]
        bps = (self.coarse / 60.0)[None, :, None]
        slack = (60.0 * _COARSE_STEP * 0.5 * self.fps) / self.coarse**2
        out = np.zeros(len(states), np.int64)
        chunk = max(1, 2_000_000 // (self.coarse.size * t.size))
        for lo in range(0, len(states), chunk):
            part = states[lo : lo + chunk]
            t0 = np.array([s.t0 for s in part])[:, None, None]
            g0 = np.array([s.g0 for s in part], np.float64)[:, None, None]
            dt = t[None, None, :] - t0
            x = dt * bps
            r = np.rint(np.where(bar, (x + g0) / self.bpb, x))
            n = np.where(bar, r * self.bpb - g0, r)
            n = np.where(n < 0, np.where(bar, n + self.bpb, 0), n)
            err = np.abs(n / bps - dt) * self.fps
            ok = err <= self.tol + n * slack[None, :, None] + 1e-9
            ok |= ~np.any(ok, axis=1, keepdims=True)  # hits no tempo makes do not stop a run
            run = np.where(ok.all(axis=2), ok.shape[2], np.argmin(ok, axis=2))
            out[lo : lo + len(part)] = run.max(axis=1)
        return out

    def _exact(
        self, s: _State, beats: npt.NDArray[Any], impossible: npt.NDArray[np.bool_]
    ) -> tuple[float, float, int] | None:
        """The tempo that makes hits ``s.i…`` on these beat counts from the anchor, exactly.

        Each hit bounds the seconds per beat to an interval; the intersection (within the bpm range) is
        searched at its ends, each hit's exact tempo and the preferred tempo, bpm rounded to 0.001.
        Returns (bpm, total error in frames, hits left to miss) or None when no tempo makes them all.
        """
        length = beats.size
        use = ~impossible
        nn = beats[use].astype(np.float64)
        tt = self.t[s.i : s.i + length][use] - s.t0
        tol_s = self.tol / self.fps
        pos = nn > 0
        if np.any(np.abs(tt[~pos]) > tol_s + 1e-12):
            return None
        lo, hi = 60.0 / self.hi, 60.0 / self.lo
        if pos.any():
            lo = max(lo, float(np.max((tt[pos] - tol_s) / nn[pos])))
            hi = min(hi, float(np.min((tt[pos] + tol_s) / nn[pos])))
        if lo > hi:
            return None
        pref = min(max(60.0 / self.prefer, lo), hi)
        cands = np.concatenate([[lo, hi, (lo + hi) / 2, pref], np.clip(tt[pos] / nn[pos], lo, hi)])
        bpm = np.round(60.0 / cands, 3)
        errs = (nn[None, :] * (60.0 / bpm)[:, None] - tt[None, :]) * self.fps
        total = np.abs(errs).sum(axis=1)
        good = np.all(np.abs(errs) <= self.tol + 1e-9, axis=1)
        if not good.any():
            return None
        cost = total / length + _PREFER_WEIGHT * np.abs(np.log2(bpm / self.prefer))
        k = int(np.argmin(np.where(good, cost, np.inf)))
        return float(bpm[k]), float(total[k]), int(impossible.sum())

    def _tempo_choices(
        self, err: npt.NDArray[Any], impossible: npt.NDArray[np.bool_], rows: npt.NDArray[np.bool_]
    ) -> list[int]:
        """Grid rows: the best tempo of each of the (up to three best) runs of tempos that may make them."""
        idx = np.flatnonzero(rows)
        if idx.size == 0:
            return []
        length = err.shape[1]
        total = np.where(impossible[None, :], 0.0, np.abs(err[idx])).sum(axis=1)
        cost = total / length + _PREFER_WEIGHT * np.abs(np.log2(self.grid[idx] / self.prefer))
        region = np.concatenate([[0], np.cumsum(np.diff(idx) > 1)])
        order = np.lexsort((cost, region))
        first = order[np.concatenate([[True], region[order][1:] != region[order][:-1]])]
        best = first[np.argsort(cost[first])][:_TEMPO_CHOICES]
        return [int(idx[k]) for k in best]

    def expand(self, s: _State, change: bool = True) -> tuple[list[_State], list[_Final]]:
        """Children of a state: segments that make 1… hits from its anchor, then (``change``) a new tempo."""
        m = self.t.size
        err, beats, impossible, run = self._runs(s, self.grid, _GRID_STEP)
        lmax = int(run.max())
        states: list[_State] = []
        finals: list[_Final] = []
        if not change and lmax < m - s.i:
            # the last tempo: the one making the most hits (not only the first ones), then least error
            ok = np.abs(err) <= self.tol + 1e-9
            made = ok.sum(axis=1)
            total = np.where(ok, np.abs(err), 0.0).sum(axis=1)
            k = int(np.lexsort((total, -made))[0])
            segs = (*s.segs, (s.g0, round(float(self.grid[k]), 3)))
            finals.append(_Final(segs, s.misses + (m - s.i) - int(made[k]), s.err + float(total[k])))
        for length in range(lmax, max(lmax - _LENGTHS, 0), -1):
            j = s.i + length
            for row in self._tempo_choices(err[:, :length], impossible[:length], run >= length):
                exact = self._exact(s, beats[row, :length], impossible[:length])
                if exact is None:
                    continue
                bpm, total, miss = exact
                segs = (*s.segs, (s.g0, bpm))
                if j >= m:
                    finals.append(_Final(segs, s.misses + miss, s.err + total))
                    break  # one tempo to the end: more choices only change the error
                if not change:
                    # no tempo change allowed: the rest of the hits are misses on this tempo
                    finals.append(_Final(segs, s.misses + miss + (m - j), s.err + total))
                    break
                spb = 60.0 / bpm
                _, n = self.errors(s.t0, s.g0, j - 1, np.array([bpm]), j)
                c_lo = max(s.g0 + int(n[0, 0]), s.g0 + 1, 1)
                c_hi = s.g0 + math.floor((self.t[j] - s.t0) / spb + 1e-9)
                if c_hi < c_lo:
                    continue
                cs = set(
                    np.linspace(c_lo, c_hi, min(_CHANGE_CHOICES, c_hi - c_lo + 1))
                    .round()
                    .astype(int)
                    .tolist()
                )
                bars = np.arange(-(-c_lo // self.bpb) * self.bpb, c_hi + 1, self.bpb)
                cs.update(bars[:: max(1, bars.size // 4)].tolist())
                for c in sorted(cs):
                    states.append(_State(s.t0 + (c - s.g0) * spb, c, j, segs, s.misses + miss, s.err + total))
        return states, finals

    def search(
        self,
        pickups: Sequence[int],
        max_changes: int | None,
        bound: tuple[int, int, bool] | None = None,
    ) -> list[_Final]:
        """Beam search over hit indices from the cue start (one start state per pickup).

        The states waiting at a hit index are ranked by misses, changes, then how far one more tempo
        would carry them (a look ahead), then error; the best few are expanded. ``bound`` is (misses,
        changes, ties allowed) of the best map found in another meter: states that cannot beat it are
        dropped.
        """
        m = self.t.size
        levels: list[list[_State]] = [[] for _ in range(m + 1)]
        levels[0] = [_State(0.0, -p, 0, (), 0, 0.0) for p in pickups]
        finals: list[_Final] = []
        for i in range(m):
            best = min((f.key()[:2] for f in finals), default=None)
            ranked = sorted(levels[i], key=_State.key)
            levels[i] = []
            pre: list[_State] = []
            seen: set[tuple[int, int, int]] = set()
            for s in ranked:
                sig = (s.g0, round(s.t0 * 1000), len(s.segs))
                if sig in seen:
                    continue
                if best is not None and (s.misses, len(s.segs)) > best:
                    continue
                if bound is not None:
                    mc = (s.misses, len(s.segs))
                    if mc > bound[:2] or (mc == bound[:2] and not bound[2]):
                        continue
                if max_changes is not None and len(s.segs) > max_changes:
                    continue
                seen.add(sig)
                pre.append(s)
                if len(pre) >= _PRESCORE:
                    break
            if i and len(pre) > _BEAM:
                reach = self.reach(pre).tolist()
                looked = sorted(((s.misses, len(s.segs), -reach[k], s.err), k) for k, s in enumerate(pre))
                pre = [pre[k] for _, k in looked[:_BEAM]]
            for s in pre:
                children, done = self.expand(s, max_changes is None or len(s.segs) < max_changes)
                finals.extend(done)
                for c in children:
                    levels[c.i].append(c)
        return finals


def _build_map(final: _Final, meter: tuple[int, int]) -> TempoMap:
    segs = final.segs
    pickup = -segs[0][0]
    changes = [TempoChange(1, 1.0, segs[0][1])]
    for g, bpm in segs[1:]:
        if bpm == changes[-1].bpm:
            continue
        bar, beat = divmod(g, meter[0])
        changes.append(TempoChange(bar + 1, float(beat + 1), bpm))
    return TempoMap(tuple(changes), meter, pickup * 60.0 / segs[0][1])


def _warnings(
    hs: Sequence[HitPoint],
    fps: float,
    meters: Sequence[tuple[int, int]],
    bpm_max: float,
    tol: float,
    label: Callable[[int], str],
) -> list[str]:
    """Neighbouring hits no tempo in range makes: too far apart to share a beat, too close for two."""
    out = []
    beat_s = 60.0 / bpm_max
    bar_s = beat_s * min(m[0] for m in meters)
    slack = 2 * tol / fps
    for a, b in itertools.pairwise(hs):
        if a.kind == "any" or b.kind == "any":
            continue
        gap = (b.frame - a.frame) / fps
        if gap <= slack + 1e-9:
            continue  # one beat can make both
        if gap + slack < beat_s:
            out.append(
                f"hits at {label(a.frame)} and {label(b.frame)} are {b.frame - a.frame} frames apart: "
                f"closer than one beat at {bpm_max:g} bpm"
            )
        elif a.kind == b.kind == "downbeat" and gap + slack < bar_s:
            out.append(
                f"downbeat hits at {label(a.frame)} and {label(b.frame)} are closer than one bar "
                f"at {bpm_max:g} bpm"
            )
    return out


def solve_tempo(
    hits: Sequence[HitPoint | int],
    rate: RateLike,
    *,
    cue_start: int = 0,
    tolerance: float = 1.0,
    meter: str | tuple[int, int] | None = None,
    meters: Sequence[tuple[int, int]] = DEFAULT_METERS,
    bpm_range: tuple[float, float] = BPM_RANGE,
    prefer_bpm: float = 120.0,
    pickup: bool = True,
    max_changes: int | None = None,
    cut_start: int | str = 0,
    drop: bool | None = None,
) -> TempoSolution:
    """Solve a tempo, or a tempo map with as few changes as possible, and a meter for a cue's hits.

    ``hits`` are record frames (timeline start = 0) or :class:`HitPoint` s; ``cue_start`` is the cue's
    first record frame, which becomes the first beat. ``meter`` fixes the meter (otherwise ``meters`` are
    tried in order of preference); ``pickup`` lets bar 1 start whole beats after the cue start;
    ``max_changes`` caps the tempo changes (misses are reported instead). ``cut_start`` (label or frames
    since midnight) and ``drop`` label the hits' timecodes. Misses come back in ``solution.misses``.
    """
    r = Rate.parse(rate)
    fps = float(r.fps)
    if tolerance <= 0:
        raise UsageError(f"tolerance must be positive, not {tolerance} frames")
    lo, hi = bpm_range
    if not 10.0 <= lo < hi <= 400.0:
        raise UsageError(f"bpm range {lo}-{hi} is not usable", hint="give a range within 10-400 bpm")
    hs = _as_hits(hits)
    origin, label_drop = _origin(cut_start, r)
    for h in hs:
        if h.frame < cue_start:
            raise UsageError(
                f"hit is {cue_start - h.frame} frames before the cue start",
                where=str(Timecode(origin + h.frame, r, label_drop if drop is None else drop)),
                hint="start the cue at or before its first hit",
            )
    tried = [parse_meter(meter)] if meter is not None else [parse_meter(m) for m in meters]
    prefer = min(max(prefer_bpm, lo), hi)
    use_drop = label_drop if drop is None else drop
    warnings = _warnings(hs, fps, tried, hi, tolerance, lambda f: str(Timecode(origin + f, r, use_drop)))
    t = np.array([(h.frame - cue_start) / fps for h in hs], np.float64)
    codes = np.array([_KIND_CODE[h.kind] for h in hs], np.int64)
    solved = codes > 0
    if not solved.any():
        tmap = TempoMap.constant(round(prefer, 3), tried[0])
        res = evaluate_hits(
            tmap, hs, r, cue_start=cue_start, tolerance=tolerance, cut_start=cut_start, drop=drop
        )
        return TempoSolution(tmap, res, r, cue_start, tolerance, tuple(warnings))
    best: tuple[tuple[int, int, int, int, float], TempoMap, tuple[HitResult, ...]] | None = None
    problems = [_Problem(t[solved], codes[solved], fps, m[0], tolerance, (lo, hi), prefer) for m in tried]

    def consider(finals: list[_Final], rank: int) -> None:
        nonlocal best
        finals.sort(key=_Final.key)
        for f in finals[:16]:
            tmap = _build_map(f, tried[rank])
            res = evaluate_hits(
                tmap, hs, r, cue_start=cue_start, tolerance=tolerance, cut_start=cut_start, drop=drop
            )
            misses = sum(not h.made for h in res)
            errs = [abs(h.error_frames) for h in res if h.kind != "any"]
            octaves = [abs(math.log2(c.bpm / prefer)) for c in tmap.changes]
            cost = sum(errs) / max(1, len(errs)) + _PREFER_WEIGHT * sum(octaves) / len(octaves)
            key = (misses, len(tmap.changes) - 1, rank, -f.segs[0][0], cost)
            if best is None or key < best[0]:
                best = (key, tmap, res)

    # first one tempo in every meter (cheap); a map with changes only when no meter makes every hit
    for rank, prob in enumerate(problems):
        consider(prob.search(range(prob.bpb) if pickup else [0], 0), rank)
    if max_changes != 0 and (best is None or best[0][0] > 0):
        for rank, prob in enumerate(problems):
            bound = None if best is None else (best[0][0], best[0][1], rank < best[0][2])
            consider(prob.search(range(prob.bpb) if pickup else [0], max_changes, bound), rank)
    if best is None:  # every start was cut off by max_changes
        tmap = TempoMap.constant(round(prefer, 3), tried[0])
        res = evaluate_hits(
            tmap, hs, r, cue_start=cue_start, tolerance=tolerance, cut_start=cut_start, drop=drop
        )
        return TempoSolution(tmap, res, r, cue_start, tolerance, tuple(warnings))
    return TempoSolution(best[1], best[2], r, cue_start, tolerance, tuple(warnings))


def solve_cue(
    cue: MusicCue,
    rate: RateLike,
    *,
    cut_start: int | str = 0,
    drop: bool | None = None,
    **options: Any,
) -> TempoSolution:
    """:func:`solve_tempo` for a :class:`MusicCue` (its hits, from its start frame)."""
    return solve_tempo(cue.hits, rate, cue_start=cue.start, cut_start=cut_start, drop=drop, **options)


def solve_cues(
    cues: Sequence[MusicCue],
    rate: RateLike,
    out_dir: str | Path,
    *,
    cut_start: int = 0,
    drop: bool | None = None,
    count_off_bars: int = 1,
    **options: Any,
) -> list[TempoSolution]:
    """Solve every cue and write, per cue, ``out_dir/CUE/tempo.json``, ``click.wav`` (with a count-off)
    and ``tempo.mid`` (tempo map, meter, hit markers, clicks). Returns the solutions in cue order."""
    from posthouse.score.click import write_click, write_midi

    r = Rate.parse(rate)
    solutions = []
    for cue in cues:
        folder = Path(out_dir) / cue.cue_id
        sol = solve_cue(cue, r, cut_start=cut_start, drop=drop, **options)
        sol.write_json(folder / "tempo.json")
        seconds = cue.duration / float(r.fps)
        write_click(
            folder / "click.wav",
            sol.tempo_map,
            seconds,
            rate=r,
            cue_start_tc=cut_start + cue.start,
            count_off_bars=count_off_bars,
            description=f"{cue.cue_id} {cue.title}".strip(),
        )
        write_midi(
            folder / "tempo.mid",
            sol.tempo_map,
            seconds,
            rate=r,
            cue_start_tc=cut_start + cue.start,
            markers=sol.markers(),
            name=f"{cue.cue_id} tempo map",
        )
        solutions.append(sol)
    return solutions
