"""Dialogue cleanup chain speed: realtime factor of the full chain on 48 kHz mono dialogue.

Builds ``--seconds`` (default 60) of synthetic production dialogue (formant-synthesised lines with pauses,
room tone, 50 Hz hum with harmonics, hiss and a few clicks), then times
``posthouse.sound.cleanup.clean(..., target_lufs=-27)`` — high-pass, hum detection and notches, de-click,
spectral gate, de-ess, leveling — pinned to ``--cores`` CPU cores (default 2) where the OS allows it.
Prints each node's time, the whole chain's best of ``--rounds``, and the realtime factor (target ≥ 50x).

    .venv/bin/python bench/bench_cleanup.py [--seconds 60] [--rounds 3] [--cores 2]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable
from typing import Any

import numpy as np

SR = 48_000


def _dialogue(seconds: float, seed: int = 1) -> np.ndarray[Any, np.dtype[np.float32]]:
    from posthouse.demo.soundscape import broadband_noise, mains_hum, room_tone
    from posthouse.demo.speech import synth_line_timed, voice_for

    rng = np.random.default_rng(seed)
    n = round(seconds * SR)
    lines = ["The sound is late again.", "Only by a frame or two.", "A frame is a lifetime in here."]
    parts: list[np.ndarray[Any, np.dtype[np.float32]]] = []
    k = 0
    while sum(len(p) for p in parts) < n:
        who = ("MAYA", "THEO")[k % 2]
        audio, _ = synth_line_timed(lines[k % 3], voice_for(who), SR, rng)
        parts += [0.3 * audio / np.abs(audio).max(), np.zeros(round(rng.uniform(0.4, 1.2) * SR), np.float32)]
        k += 1
    x = np.concatenate(parts)[:n].astype(np.float64)
    x += mains_hum(n, SR, 50.0, -50.0) + room_tone(n, SR, rng, -60.0) + broadband_noise(n, rng, -72.0)
    for p in rng.integers(0, n - 4, max(1, round(seconds / 2))):
        x[p : p + 3] += 0.2 * np.array([1.0, -0.6, 0.3])
    return x.astype(np.float32)[np.newaxis]


def _best(fn: Callable[[], Any], rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--cores", type=int, default=2)
    args = ap.parse_args()
    pinned = "not pinned"
    if hasattr(os, "sched_setaffinity"):
        cores = sorted(os.sched_getaffinity(0))[: args.cores]
        os.sched_setaffinity(0, cores)
        pinned = f"pinned to cores {cores}"

    from posthouse.sound import cleanup

    x = _dialogue(args.seconds)
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, {pinned}")
    print(f"input: {args.seconds:g} s of 48 kHz mono dialogue with hum, room tone, hiss and clicks\n")
    cleanup.clean(x[:, : SR * 2], SR, target_lufs=-27.0)  # warm up imports and FFT plans
    nodes: list[tuple[str, Callable[[], Any]]] = [
        ("highpass", lambda: cleanup.highpass(x, SR)),
        ("detect_hum", lambda: cleanup.detect_hum(x, SR)),
        ("remove_hum", lambda: cleanup.remove_hum(x, SR, 50, harmonics=(1, 2, 3, 5, 7))),
        ("declick", lambda: cleanup.declick(x, SR)),
        ("spectral_gate", lambda: cleanup.spectral_gate(x, SR)),
        ("deess", lambda: cleanup.deess(x, SR)),
        ("level_dialogue", lambda: cleanup.level_dialogue(x, SR)),
    ]
    for name, fn in nodes:
        t = _best(fn, args.rounds)
        print(f"  {name:<15} {t * 1000:8.1f} ms   {args.seconds / t:7.0f}x realtime")
    t = _best(lambda: cleanup.clean(x, SR, target_lufs=-27.0), args.rounds)
    res = cleanup.clean(x, SR, target_lufs=-27.0)
    print(f"\nfull chain: {t:.3f} s for {args.seconds:g} s → {args.seconds / t:.0f}x realtime (target ≥ 50x)")
    print("steps: " + "; ".join(res.steps))


if __name__ == "__main__":
    main()
