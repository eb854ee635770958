"""Tempo solving time per cue: ``posthouse.score.tempo.solve_tempo`` vs an exhaustive click-book search.

Cues: random hit sets (3–12 hits, beats and downbeats, 23.976 fps, jitter under half a frame) made from a
single random tempo (60–160 bpm) in 4/4 or 3/4 with a random pickup. The exhaustive search tries every
meter × pickup × tempo on a 0.001 bpm grid from 40 to 208 bpm (168,001 tempos), NumPy over tempos × hits,
and keeps the tempo making the most hits, then the least total error, then the earlier meter and smaller
pickup — no coarse grid, no pruning. Both use the same rule (a hit is made within ±1 frame). Prints time
per cue, the ratio, and agreement: hits made, and tempo equal within 0.05 bpm or an octave apart. The
exhaustive search takes the least error; posthouse, among tempos that make every hit, prefers no pickup
and a tempo nearer 120 bpm, so sparse cues (3–5 hits fit many tempos) may differ. A second set (tempo
maps with 1–2 changes) times the solver alone: the exhaustive search has no tempo maps.

    .venv/bin/python bench/bench_tempo.py [--cues 50] [--seed 1]
"""

from __future__ import annotations

import argparse
import platform
import time
from typing import Any

import numpy as np

from posthouse.score.cues import HitPoint
from posthouse.score.tempo import DEFAULT_METERS, solve_tempo
from posthouse.score.tempomap import TempoChange, TempoMap

FPS = 24000 / 1001
TOL = 1.0


def _cue(rng: np.random.Generator, changes: int) -> tuple[TempoMap, list[HitPoint]]:
    meter = (4, 4) if rng.random() < 0.6 else (3, 4)
    bpb = meter[0]
    tempos = [TempoChange(1, 1.0, round(float(rng.uniform(60, 160)), 3))]
    bar = 1
    for _ in range(changes):
        bar += int(rng.integers(3, 9))
        tempos.append(TempoChange(bar, 1.0, round(float(rng.uniform(60, 160)), 3)))
    pickup = int(rng.integers(0, bpb)) if rng.random() < 0.3 else 0
    tmap = TempoMap(tuple(tempos), meter, pickup * 60.0 / tempos[0].bpm)
    beats = np.arange(1 - pickup, (bar + 8) * bpb)
    chosen = np.sort(rng.choice(beats, size=int(rng.integers(3, 13)), replace=False))
    secs = np.asarray(tmap.seconds_at_index(chosen.astype(float)))
    frames = np.rint(secs * FPS + rng.uniform(-0.45, 0.45, secs.size)).astype(int)
    hits: dict[int, HitPoint] = {}
    for f, i in zip(frames.tolist(), chosen.tolist(), strict=True):
        hits.setdefault(f, HitPoint(f, "downbeat" if i % bpb == 0 and rng.random() < 0.7 else "beat"))
    return tmap, list(hits.values())


def exhaustive(hits: list[HitPoint]) -> tuple[int, float, tuple[int, int], int, float]:
    """(hits made, bpm, meter, pickup, total |error| frames): every meter × pickup × 0.001-bpm tempo."""
    t = np.array([h.frame / FPS for h in hits])
    bar = np.array([h.kind == "downbeat" for h in hits])
    grid = np.round(np.arange(40.0, 208.0 + 5e-4, 0.001), 3)
    best: tuple[Any, ...] | None = None
    for rank, (bpb, den) in enumerate(DEFAULT_METERS):
        for pickup in range(bpb):
            for lo in range(0, grid.size, 20000):
                bpm = grid[lo : lo + 20000]
                spb = 60.0 / bpm[:, None]
                x = t[None, :] / spb - pickup  # beat index from bar 1 beat 1
                n = np.where(bar, np.rint(x / bpb) * bpb, np.rint(x))
                n = np.maximum(n, -pickup)
                err = np.abs((n + pickup) * spb - t[None, :]) * FPS
                made = (err <= TOL + 1e-9).sum(axis=1)
                total = np.where(err <= TOL + 1e-9, err, 0.0).sum(axis=1)
                k = int(np.lexsort((total, -made))[0])
                key = (-int(made[k]), float(total[k]), rank, pickup)
                if best is None or key < best[0]:
                    best = (key, float(bpm[k]), (bpb, den), pickup)
    assert best is not None
    return -best[0][0], best[1], best[2], best[3], best[0][1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cues", type=int, default=50)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    print(f"{platform.processor() or platform.machine()}, Python {platform.python_version()}")

    single = [_cue(rng, 0) for _ in range(args.cues)]
    t_ours = t_brute = 0.0
    agree_made = agree_bpm = 0
    ours_made = brute_made = total = 0
    err_ours = err_brute = 0.0
    for _, hits in single:
        t0 = time.perf_counter()
        sol = solve_tempo(hits, "23.976")
        t1 = time.perf_counter()
        made, bpm, _meter, _pickup, brute_err = exhaustive(hits)
        t2 = time.perf_counter()
        t_ours += t1 - t0
        t_brute += t2 - t1
        n_ours = len(hits) - len(sol.misses)
        ours_made += n_ours
        err_ours += sum(abs(h.error_frames) for h in sol.hits)
        err_brute += brute_err
        brute_made += made
        total += len(hits)
        agree_made += n_ours == made
        ratio = sol.tempo_map.changes[0].bpm / bpm
        agree_bpm += sol.changes == 0 and min(abs(ratio - k) * bpm for k in (0.5, 1.0, 2.0)) < 0.05
    n = len(single)
    print(f"single-tempo cues: {n}, hits {total}")
    print(
        f"  posthouse  {1000 * t_ours / n:8.2f} ms/cue, hits made {ours_made}/{total}, "
        f"mean |error| {err_ours / total:.3f} frames"
    )
    print(
        f"  exhaustive {1000 * t_brute / n:8.2f} ms/cue, hits made {brute_made}/{total}, "
        f"mean |error| {err_brute / total:.3f} frames"
    )
    print(f"  ratio (exhaustive / posthouse): {t_brute / t_ours:.1f}x")
    print(f"  agreement: same hits made {agree_made}/{n}, same tempo (or octave) {agree_bpm}/{n}")

    maps = [_cue(rng, int(rng.integers(1, 3))) for _ in range(args.cues)]
    t_maps = 0.0
    made_maps = total_maps = 0
    changes_ours = changes_true = 0
    for tmap, hits in maps:
        t0 = time.perf_counter()
        sol = solve_tempo(hits, "23.976")
        t_maps += time.perf_counter() - t0
        made_maps += len(hits) - len(sol.misses)
        total_maps += len(hits)
        changes_ours += sol.changes
        changes_true += len(tmap.changes) - 1
    print(f"tempo-map cues: {len(maps)} (1-2 changes each), hits {total_maps}")
    print(
        f"  posthouse  {1000 * t_maps / len(maps):8.2f} ms/cue, hits made {made_maps}/{total_maps}, "
        f"changes {changes_ours} (the generating maps had {changes_true})"
    )


if __name__ == "__main__":
    main()
