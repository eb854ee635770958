"""Change-list speed: ``diff_cuts`` on two synthetic 2,000-event cuts with ~50 scattered edits.

Builds cut A (one picture track, 2,000 clips from 200 media files, 24 fps, starting 01:00:00:00), then cut
B from A with scattered edits — inserts, extracts, head and tail ripple trims and moves (an event taken
out and put back ten events later) — times ``diff_cuts(A, B)`` (best of ``--rounds``) and checks that the
change list names exactly those edits with the right frame deltas. Exit 1 if it does not, or if a diff
takes a second or more::

    .venv/bin/python bench/bench_diff.py [--events 2000] [--edits 50] [--rounds 5] [--seed 1]
"""

from __future__ import annotations

import argparse
import random
import sys
import time

import opentimelineio as otio
from opentimelineio.opentime import RationalTime, TimeRange

from posthouse.picture.diff import diff_cuts

RATE = 24.0
Spec = tuple[str, str, int, int]  # name, media, source in, duration


def _timeline(name: str, specs: list[Spec]) -> otio.schema.Timeline:
    tl = otio.schema.Timeline(name=name)
    tl.global_start_time = RationalTime(86400, RATE)
    track = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    for clip_name, media, src, dur in specs:
        ref = otio.schema.ExternalReference(
            target_url=media, available_range=TimeRange(RationalTime(0, RATE), RationalTime(100_000, RATE))
        )
        track.append(
            otio.schema.Clip(
                name=clip_name,
                media_reference=ref,
                source_range=TimeRange(RationalTime(src, RATE), RationalTime(dur, RATE)),
            )
        )
    tl.tracks.append(track)
    return tl


def build(events: int, edits: int, seed: int = 1) -> tuple[list[Spec], list[Spec], dict[str, object]]:
    """Cut A, cut B, and the expected changes."""
    rng = random.Random(seed)
    a: list[Spec] = []
    for n in range(events):
        media, use = n % 200, n // 200
        a.append((f"e{n:04d}", f"file:///media/M{media:03d}.mov", 1000 + use * 400, rng.randint(24, 200)))
    b = list(a)
    kinds = ["insert", "extract", "tail", "head", "move"]
    slot = events // edits
    plan = sorted((k * slot + rng.randint(2, slot - 14), kinds[k % len(kinds)]) for k in range(edits))
    added: set[str] = set()
    removed: set[str] = set()
    trimmed: dict[str, tuple[int, int]] = {}
    moved: set[str] = set()
    for pos, kind in reversed(plan):  # from the end, so earlier positions stay valid
        name, media, src, dur = b[pos]
        if kind == "insert":
            new = f"n{pos:04d}"
            b.insert(pos, (new, f"file:///media/new{pos}.mov", 0, rng.randint(10, 100)))
            added.add(new)
        elif kind == "extract":
            del b[pos]
            removed.add(name)
        elif kind == "tail":
            delta = rng.choice([-1, 1]) * rng.randint(1, 20)
            b[pos] = (name, media, src, dur + delta)
            trimmed[name] = (0, delta)
        elif kind == "head":
            delta = rng.randint(1, 20)
            b[pos] = (name, media, src + delta, dur - delta)
            trimmed[name] = (delta, 0)
        else:
            spec = b.pop(pos)
            b.insert(pos + 10, spec)
            moved.add(name)
    return a, b, {"added": added, "removed": removed, "trimmed": trimmed, "moved": moved}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=2000)
    ap.add_argument("--edits", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    specs_a, specs_b, want = build(args.events, args.edits, args.seed)
    a, b = _timeline("A", specs_a), _timeline("B", specs_b)
    times = []
    for _ in range(args.rounds):
        t0 = time.perf_counter()
        changes = diff_cuts(a, b)
        times.append(time.perf_counter() - t0)
    got = {
        "added": {c.name for c in changes.of_kind("added")},
        "removed": {c.name for c in changes.of_kind("removed")},
        "trimmed": {c.name: (c.head_frames, c.tail_frames) for c in changes.of_kind("trimmed")},
        "moved": {c.name for c in changes.of_kind("moved")},
    }
    ok = got == want
    best = min(times)
    print(f"events: A {len(specs_a)}, B {len(specs_b)}; edits {args.edits}; changes {len(changes.changes)}")
    print(f"diff_cuts: best {best:.3f} s, median {sorted(times)[len(times) // 2]:.3f} s of {args.rounds}")
    print(f"changes match the edits made: {ok}")
    if not ok:
        for key in want:
            if got[key] != want[key]:
                print(f"  {key}: expected {want[key]!r}\n  {' ' * len(key)}  got      {got[key]!r}")
    return 0 if ok and best < 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
