"""Probe throughput: posthouse's probe vs ffprobe run once per file (the usual way pipelines probe).

Generates a batch of camera clips and BWF files (a demo shoot), then probes every file with
``posthouse.core.media.probe`` in one process and with ``ffprobe -show_format -show_streams -of json``
as a subprocess per file. Prints files per second for each and the ratio. Needs ``ffprobe`` on PATH
(Debian: ``apt-get install --no-install-recommends ffmpeg``).

    .venv/bin/python bench/bench_probe.py [--scenes 4] [--takes 3] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from posthouse.core.catalog.scan import find_media
from posthouse.core.jobs import get_executor
from posthouse.core.media import probe
from posthouse.demo.shoot import ShootSpec, generate_shoot


def _ffprobe(path: Path) -> dict[str, object]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)],
        capture_output=True,
        check=False,
    )
    return json.loads(out.stdout or b"{}")  # type: ignore[no-any-return]


def _rate(fn, files: list[Path], rounds: int) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(rounds):
        t = time.perf_counter()
        for f in files:
            fn(f)
        best = min(best, time.perf_counter() - t)
    return len(files) / best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenes", type=int, default=4)
    ap.add_argument("--takes", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    if not shutil.which("ffprobe"):
        print("ffprobe not found: apt-get install --no-install-recommends ffmpeg", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "shoot"
        spec = ShootSpec(scenes=args.scenes, takes=args.takes, cameras=("A", "B"), faults=False)
        with get_executor() as ex:
            generate_shoot(root, spec, executor=ex)
        files = find_media([root / "camera", root / "sound"])
        movs = [f for f in files if f.suffix == ".mov"]
        wavs = [f for f in files if f.suffix == ".wav"]
        # Both must see the same facts before speed is worth comparing.
        for f in files:
            ours, theirs = probe(f), _ffprobe(f)
            assert len(ours.video) + len(ours.audio) <= len(theirs["streams"]), f  # type: ignore[arg-type]
        _rate(probe, files[:2], 1)  # warm imports
        ffv = subprocess.run(["ffprobe", "-version"], capture_output=True, text=True, check=False)
        print(f"machine: {platform.machine()}, python {platform.python_version()}")
        print(f"ffprobe: {ffv.stdout.splitlines()[0]}")
        print(f"files: {len(movs)} .mov (640x360 ProRes/DNxHR) + {len(wavs)} .wav (3 ch BWF)")
        print(f"{'set':<8}{'posthouse files/s':>20}{'ffprobe files/s':>18}{'ratio':>8}")
        for name, batch in (("mov", movs), ("wav", wavs), ("all", files)):
            ours = _rate(probe, batch, args.rounds)
            theirs = _rate(_ffprobe, batch, args.rounds)
            print(f"{name:<8}{ours:>20.1f}{theirs:>18.1f}{ours / theirs:>7.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
