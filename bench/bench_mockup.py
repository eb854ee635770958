"""Mock-up rendering speed: seconds of synthesis per minute of music, as × realtime.

Sketches a ``--seconds`` (default 60) cue with :func:`posthouse.score.mockup.sketch_cue_midi` — strings,
horn, piano, contrabass, timpani and drums (6 parts) on a tempo map with a change, a hit every 8 s — and
times :func:`posthouse.score.mockup.render_midi` (TinySoundFont with ``TimGM6mb.sf2``, 48 kHz stereo),
best of ``--rounds``. For reference it also times ``pretty_midi``'s own sine ``synthesize()`` (the peer a
user reaches for first; 44.1 kHz mono sines, far less work per note) on the same MIDI, and the whole
cue (render + 24-bit BWF write) with :func:`posthouse.score.mockup.render_cue`.

    .venv/bin/python bench/bench_mockup.py [--seconds 60] [--rounds 3]
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path


def _best(fn: Callable[[], object], rounds: int) -> float:
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
    args = ap.parse_args()

    from posthouse.score.cues import HitPoint, MusicCue
    from posthouse.score.mockup import load_midi, render_cue, render_midi, sketch_cue_midi
    from posthouse.score.tempomap import TempoChange, TempoMap

    fps = 24
    frames = round(args.seconds * fps)
    hits = tuple(HitPoint(f, "any") for f in range(8 * fps, frames, 8 * fps))
    cue = MusicCue("1M1", 0, frames, hits=hits, title="bench")
    tmap = TempoMap((TempoChange(1, 1.0, 112.0), TempoChange(9, 1.0, 84.0)), (4, 4))
    pm = load_midi(sketch_cue_midi(cue, tmap, fps))
    notes = sum(len(i.notes) for i in pm.instruments)
    music_s = frames / fps
    tail = 2.0

    t_sketch = _best(lambda: sketch_cue_midi(cue, tmap, fps), args.rounds)
    t_tsf = _best(lambda: render_midi(pm, length_s=music_s, tail_s=tail), args.rounds)
    t_sine = _best(lambda: pm.synthesize(fs=44_100), args.rounds)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "cue.wav"
        t_cue = _best(lambda: render_cue(pm, out, length_s=music_s, tail_s=tail), args.rounds)

    per_min = 60.0 / music_s
    cpu = platform.processor() or platform.machine()
    print(f"mock-up rendering — {cpu}, python {platform.python_version()}")
    print(f"cue: {music_s:.0f} s of music (+{tail:.0f} s tail), {len(pm.instruments)} parts, {notes} notes")
    print(f"{'step':<44} {'s per minute':>12} {'× realtime':>11}")
    rows = [
        ("sketch MIDI (mido, tempo map)", t_sketch),
        ("render: tinysoundfont TimGM6mb 48k stereo", t_tsf),
        ("render + 24-bit BWF write (render_cue)", t_cue),
        ("peer: pretty_midi synthesize() 44.1k mono sine", t_sine),
    ]
    for label, t in rows:
        print(f"{label:<44} {t * per_min:>12.3f} {music_s / t:>10.1f}x")
    print(f"tinysoundfont vs pretty_midi sine: {t_sine / t_tsf:.2f}x the speed")


if __name__ == "__main__":
    main()
