"""Mixer memory and speed as the timeline grows: 1, 10 and 30 minutes.

Builds a sound session per length from a few short source WAVs placed over and over (dialogue lines on
DX1/DX2, a stereo music cue on MX1, effects hits on FX1, a looping ambience on BG1: the clip count grows
with the length), then runs ``mix_session`` (5.1 + Lo/Ro, every stem, normalised to EBU R128) in a fresh
process per length and reports its peak resident memory (``ru_maxrss``) and realtime factor. For the
peer, the same process loads the printmaster it wrote into memory the way an in-memory mix would have to
hold it (the size a non-streaming mixer needs at least), printed as a ratio.

    .venv/bin/python bench/bench_mix.py [--minutes 1 10 30] [--work bench/_work/mix]
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import opentimelineio as otio
import soundfile as sf

SR = 48_000
RATE = "24"

CHILD = r"""
import json, resource, sys, time
from posthouse.sound.session import load_session
from posthouse.sound.mixer import mix_session
from posthouse.sound.specs import load_spec
session = load_session(sys.argv[1])
t0 = time.perf_counter()
report = mix_session(session, sys.argv[2], load_spec("ebu-r128"), name="bench")
wall = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"wall_s": wall, "peak_rss": peak, "duration_s": report.duration_s, "passes": report.passes,
                  "passed": report.passed, "clips": sum(1 for _ in session.find_clips())}))
"""


def _sources(folder: Path) -> dict[str, Path]:
    rng = np.random.default_rng(7)
    folder.mkdir(parents=True, exist_ok=True)
    t = np.arange(20 * SR) / SR
    line = np.sin(2 * np.pi * 180 * t[: 4 * SR]) * (np.sin(2 * np.pi * 4 * t[: 4 * SR]) > 0) * 0.2
    files = {
        "dx": (line + rng.standard_normal(4 * SR) * 1e-3, 1),
        "mx": (np.stack([np.sin(2 * np.pi * 220 * t), np.sin(2 * np.pi * 330 * t)]).T * 0.05, 2),
        "fx": (rng.standard_normal(SR) * np.exp(-np.arange(SR) / 4000) * 0.5, 1),
        "bg": (rng.standard_normal(20 * SR) * 0.01, 1),
    }
    out = {}
    for name, (data, _ch) in files.items():
        out[name] = folder / f"{name}.wav"
        sf.write(str(out[name]), np.asarray(data, np.float32), SR, subtype="PCM_24")
    return out


def _session(minutes: int, src: dict[str, Path], path: Path) -> None:
    from posthouse.sound.session import add_track, place_clip, save_session, wav_clip

    frames = minutes * 60 * 24
    tl = otio.schema.Timeline(name="bench", global_start_time=otio.opentime.RationalTime(86400, 24))
    lengths = {"dx": 96, "mx": 480, "fx": 24, "bg": 480}
    every = {"dx": 144, "mx": 720, "fx": 240, "bg": 480}
    for key, stem in (("dx", "dialogue"), ("mx", "music"), ("fx", "effects"), ("bg", "backgrounds")):
        track = add_track(tl, stem)
        n = int(sf.info(str(src[key])).frames)
        for at in range(0, frames - lengths[key], every[key]):
            clip = wav_clip(src[key], name=key, frames=lengths[key], rate=RATE, file_samples=n)
            place_clip(track, clip, at, RATE)
    save_session(tl, path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=int, nargs="+", default=[1, 10, 30])
    ap.add_argument("--work", type=Path, default=Path("bench/_work/mix"))
    args = ap.parse_args()
    src = _sources(args.work / "src")
    print(f"# {platform.processor() or platform.machine()}, Python {platform.python_version()}")
    print("| minutes | clips | wall s | realtime × | peak RSS MB | printmaster in memory MB | passes |")
    print("|--:|--:|--:|--:|--:|--:|--:|")
    for minutes in args.minutes:
        sess = args.work / f"session_{minutes}.otio"
        _session(minutes, src, sess)
        out = args.work / f"out_{minutes}"
        t0 = time.perf_counter()
        res = subprocess.run(
            [sys.executable, "-c", CHILD, str(sess), str(out)], capture_output=True, text=True
        )
        if res.returncode:
            print(res.stderr, file=sys.stderr)
            raise SystemExit(res.returncode)
        doc = json.loads(res.stdout.strip().splitlines()[-1])
        _ = time.perf_counter() - t0
        in_memory = minutes * 60 * SR * 6 * 4 / 1e6  # float32 5.1 printmaster alone
        print(
            f"| {minutes} | {doc['clips']} | {doc['wall_s']:.1f} | {doc['duration_s'] / doc['wall_s']:.1f} | "
            f"{doc['peak_rss'] / 1e6:.0f} | {in_memory:.0f} | {doc['passes']} |"
        )
        for f in out.glob("*.wav"):  # 30 minutes of stems is several GB
            f.unlink()


if __name__ == "__main__":
    main()
