"""Waveform sync accuracy and speed: posthouse's picture/sound sync vs syncstart, against a known truth.

Generates a clean demo shoot (default 10 scenes × 5 takes, camera A, small, no faults) whose
``ground_truth.json`` gives the exact production-sound sample under each clip's first frame, then syncs
every camera clip with its sound file two ways:

- **clean**: the camera ``.mov`` (scratch track) against the production BWF, as shot;
- **noisy**: WAV copies with location noise added (room tone and hiss at ``--snr`` dB below the scratch
  track's RMS, ``--snr + 10`` dB below the production sound's).

posthouse runs ``posthouse.picture.sync.sync_pair(..., method="waveform")`` in this process; syncstart
(PyPI ``syncstart``, plain FFT cross-correlation of ffmpeg-decoded mono mixes) runs through its Python
entry point ``file_offset`` in this process too (it shells out to ffprobe/ffmpeg itself). Prints each
tool's absolute error (samples at 48 kHz and ms: median, 95th percentile, max), wall time per take (best
of ``--rounds``, one take after another), and the ratios. The peer is a benchmark-only dependency:

    .venv/bin/pip install syncstart        # needs ffmpeg/ffprobe on PATH
    .venv/bin/python bench/bench_sync.py [--scenes 10] [--takes 5] [--shoot DIR] [--snr 0] [--rounds 3]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from posthouse.core.jobs import LocalExecutor, SerialExecutor, get_executor
from posthouse.core.media import probe, read_audio, write_bwf
from posthouse.demo.shoot import ShootSpec, generate_shoot
from posthouse.demo.soundscape import broadband_noise, room_tone
from posthouse.picture.sync import (
    PictureClip,
    SoundClip,
    picture_clip_from_probe,
    sound_clip_from_probe,
    sync_all,
    sync_pair,
)

SR = 48000


def _syncstart() -> Callable[[Path, Path], float] | None:
    """syncstart's offset (sound sample under picture frame 0) for a (picture, sound) pair, or None."""
    try:
        import syncstart  # type: ignore[import-not-found]
    except Exception as exc:  # not installed, or its GUI backend cannot load
        print(f"syncstart unavailable: {exc}", file=sys.stderr)
        return None

    def offset(picture: Path, sound: Path) -> float:
        argv, sys.argv = sys.argv, ["syncstart"]
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                cut, seconds = syncstart.file_offset(
                    in1=str(picture), in2=str(sound), take=20, begin=0, show=False, quiet=True,
                    normalize=False, denoise=False, lowpass=0, crop=False, video=False,
                )  # fmt: skip
        finally:
            sys.argv = argv
        # syncstart names the file to cut at its start: cutting the sound means the sound began earlier.
        return float(seconds) * SR if str(cut) == str(sound) else -float(seconds) * SR

    return offset


def _ours(picture: PictureClip, sound: SoundClip) -> float:
    r = sync_pair(picture, sound, method="waveform")
    if r.offset_samples is None:
        raise RuntimeError(f"posthouse did not sync {picture.path}: {r.notes}")
    return float(r.offset_samples)


def _noisy(
    root: Path, out: Path, take: dict[str, Any], clip: dict[str, Any], snr: float, seed: int
) -> tuple[Path, Path]:
    rng = np.random.default_rng(seed)
    scratch, _ = read_audio(root / clip["path"])
    sound, _ = read_audio(root / take["sound_file"])

    def add(x: np.ndarray, below_db: float) -> np.ndarray:
        level = 20 * np.log10(float(np.sqrt(np.mean(x[0] ** 2))) + 1e-12) - below_db
        noise = [
            room_tone(x.shape[1], SR, rng, level) + broadband_noise(x.shape[1], rng, level - 10) for _ in x
        ]
        return np.clip(x + np.stack(noise), -1, 1)

    pic_path, snd_path = out / f"{take['take']}_scratch.wav", out / f"{take['take']}_sound.wav"
    write_bwf(pic_path, add(scratch, snr), SR, bit_depth=24)
    write_bwf(snd_path, add(sound, snr + 10), SR, bit_depth=24)
    return pic_path, snd_path


def _stats(errors: list[float]) -> tuple[float, float, float]:
    a = np.abs(np.asarray(errors))
    return float(np.median(a)), float(np.percentile(a, 95)), float(np.max(a))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenes", type=int, default=10)
    ap.add_argument("--takes", type=int, default=5)
    ap.add_argument("--seed", type=int, default=24)
    ap.add_argument("--snr", type=float, default=0.0, help="noisy set: noise this many dB below the scratch")
    ap.add_argument("--rounds", type=int, default=3, help="timed rounds per tool and set (best is kept)")
    ap.add_argument("--shoot", type=Path, help="reuse (or keep) the generated shoot in this folder")
    args = ap.parse_args()
    peer = _syncstart()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.shoot or Path(tmp) / "shoot"
        if not (root / "ground_truth.json").is_file():
            spec = ShootSpec(
                scenes=args.scenes, takes=args.takes, cameras=("A",), faults=False, seed=args.seed
            )
            t = time.perf_counter()
            with get_executor() as ex:
                generate_shoot(root, spec, executor=ex)
            print(
                f"generated {args.scenes * args.takes} takes in {time.perf_counter() - t:.0f} s",
                file=sys.stderr,
            )
        truth = json.loads((root / "ground_truth.json").read_text())
        noisy_dir = Path(tmp) / "noisy"
        noisy_dir.mkdir()
        cases: dict[str, list[tuple[PictureClip, SoundClip, float]]] = {"clean": [], "noisy": []}
        for i, take in enumerate(truth["takes"].values()):
            sound = sound_clip_from_probe(probe(root / take["sound_file"]))
            for clip in take["clips"].values():
                if clip["truncated"] or not clip["scratch_audio"]:
                    continue  # a shoot made with faults: only clips waveform sync can do
                picture = picture_clip_from_probe(probe(root / clip["path"]))
                exact = float(clip["offset_samples_exact"])
                cases["clean"].append((picture, sound, exact))
                pic_wav, snd_wav = _noisy(root, noisy_dir, take, clip, args.snr, i)
                cases["noisy"].append(
                    (replace(picture, path=pic_wav), replace(sound, path=snd_wav, channels=3), exact)
                )
        _ours(*cases["clean"][0][:2])  # warm imports and caches
        print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, python {platform.python_version()}")
        print(
            f"takes: {len(cases['clean'])}, {truth['rate']} fps, 48 kHz; "
            f"noisy set SNR {args.snr:g} dB (scratch)"
        )
        print(f"{'set':<7}{'tool':<11}{'median err':>12}{'p95 err':>10}{'max err':>12}", end="")
        print(f"{'max ms':>9}{'s/take':>9}")
        summary: dict[str, dict[str, tuple[float, float, float, float]]] = {}
        tools: dict[str, Callable[[PictureClip, SoundClip], float]] = {"posthouse": _ours}
        if peer is not None:
            tools["syncstart"] = lambda p, s: peer(p.path, s.path)
        for name, items in cases.items():
            for tool, fn in tools.items():
                per = float("inf")
                for _ in range(args.rounds):  # errors are deterministic; the time is the best round's
                    errors: list[float] = []
                    t = time.perf_counter()
                    for picture, sound, exact in items:
                        errors.append(fn(picture, sound) - exact)
                    per = min(per, (time.perf_counter() - t) / len(items))
                med, p95, worst = _stats(errors)
                summary.setdefault(name, {})[tool] = (med, p95, worst, per)
                print(f"{name:<7}{tool:<11}{med:>12.2f}{p95:>10.2f}{worst:>12.2f}", end="")
                print(f"{worst / SR * 1000:>9.3f}{per:>9.3f}")
        if peer is not None:
            print("ratios (syncstart / posthouse; higher is better for posthouse):")
            for name, row in summary.items():
                ours, theirs = row["posthouse"], row["syncstart"]
                med = theirs[0] / max(ours[0], 1e-3)
                print(
                    f"  {name}: median error {med:.0f}x, max error {theirs[2] / max(ours[2], 1e-3):.0f}x, "
                    f"speed {theirs[3] / ours[3]:.1f}x"
                )
        # What `sync_all` on the whole shoot gives: pairing and the auto policy included, in this process
        # and on local worker processes (whose start-up only pays off on bigger batches).
        pictures = [p for p, _, _ in cases["clean"]]
        sounds = list({s.path: s for _, s, _ in cases["clean"]}.values())
        exact = {p.path: e for p, _, e in cases["clean"]}
        for ex in (SerialExecutor(), LocalExecutor()):
            with ex:
                t = time.perf_counter()
                results = sync_all(pictures, sounds, executor=ex)
                per = (time.perf_counter() - t) / len(pictures)
            worst = max(abs((r.offset_samples or 0) - exact[r.picture]) for r in results)
            synced = sum(r.status == "synced" and r.method == "waveform" for r in results)
            print(
                f"posthouse sync_all (auto, {ex!r}): {per:.3f} s/take, {synced}/{len(results)} synced by "
                f"waveform, max error {worst:.2f} samples"
            )
        print("(errors in samples at 48 kHz against offset_samples_exact; posthouse rounds to whole samples)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
