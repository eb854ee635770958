"""Loudness meter speed and agreement: posthouse vs pyloudnorm vs FFmpeg's ebur128 filter.

Generates 10 minutes of stereo 48 kHz programme-like audio (band-limited noise with a syllabic envelope,
pauses and level changes over minutes) as a 24-bit WAV, then measures it with
``posthouse.sound.loudness.measure_file`` (streaming, decode included), with the meter on the array in
memory, with pyloudnorm (integrated only, array in memory, if installed) and with
``ffmpeg -af ebur128=peak=true`` (the binary from imageio-ffmpeg, or ``ffmpeg`` on PATH). Prints seconds,
speed ratios and the readings side by side.

    .venv/bin/python bench/bench_loudness.py [--minutes 10] [--rounds 2]
"""

from __future__ import annotations

import argparse
import platform
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
from scipy import signal

from posthouse.sound.loudness import LoudnessMeter, measure_file

FS = 48000


def _programme(minutes: float, dense: bool, seed: int = 1) -> np.ndarray[Any, np.dtype[np.float32]]:
    rng = np.random.default_rng(seed)
    n = round(minutes * 60 * FS)
    sos = signal.butter(4, [120, 6000], btype="bandpass", fs=FS, output="sos")
    t = np.arange(n) / FS
    env = np.clip(np.sin(2 * np.pi * 4.1 * t) + 0.3, 0, None) * (np.sin(2 * np.pi * 0.23 * t) > -0.4)
    env *= 10 ** ((6 * np.sin(2 * np.pi * t / 97.0)) / 20)  # slow level changes: a loudness range
    if dense:  # steady, limited-like programme: every block is near the peak, the worst case for true peak
        env = np.ones(n)
    left = signal.sosfilt(sos, rng.standard_normal(n)) * env * 0.08
    right = 0.7 * left + 0.1 * signal.sosfilt(sos, rng.standard_normal(n)) * env
    return np.stack([left, right]).astype(np.float32)


def _best(fn: Callable[[], Any], rounds: int) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(rounds):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def _ffmpeg_exe() -> str | None:
    try:
        import imageio_ffmpeg  # type: ignore[import-untyped,import-not-found,unused-ignore]

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except ImportError:
        return shutil.which("ffmpeg")


def _ffmpeg_ebur128(exe: str, path: Path) -> dict[str, float]:
    cmd = [exe, "-hide_banner", "-nostats", "-i", str(path), "-af", "ebur128=peak=true", "-f", "null", "-"]
    err = subprocess.run(cmd, capture_output=True, text=True, check=True).stderr
    summary = err[err.rfind("Summary:") :]
    out: dict[str, float] = {}
    for key, pattern in (
        ("I", r"I:\s+(-?[\d.]+) LUFS"),
        ("LRA", r"LRA:\s+(-?[\d.]+) LU"),
        ("TP", r"Peak:\s+(-?[\d.]+) dBFS"),
    ):
        m = re.search(pattern, summary)
        if m:
            out[key] = float(m.group(1))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--dense", action="store_true", help="steady noise instead of speech-like programme")
    args = ap.parse_args()
    kind = "steady noise" if args.dense else "speech-like programme"
    print(f"{platform.python_version()} on {platform.machine()}, {args.minutes:g} min stereo {FS} Hz {kind}")
    audio = _programme(args.minutes, args.dense)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "programme.wav"
        sf.write(str(path), audio.T, FS, subtype="PCM_24")
        audio = sf.read(str(path), dtype="float32", always_2d=True)[0].T.copy()  # what the file holds

        def in_memory() -> Any:
            meter = LoudnessMeter(FS, 2)
            for i in range(0, audio.shape[1], 1 << 16):
                meter.push(audio[:, i : i + (1 << 16)])
            return meter.result()

        rows: list[tuple[str, float, dict[str, float]]] = []
        t, r = _best(lambda: measure_file(path), args.rounds)
        ours = {"I": r.integrated_lufs, "LRA": r.lra_lu, "TP": r.true_peak_dbtp}
        rows.append(("posthouse measure_file (decode + meter)", t, ours))
        t, r = _best(in_memory, args.rounds)
        rows.append(("posthouse LoudnessMeter (in memory)", t, {"I": r.integrated_lufs}))
        try:
            import pyloudnorm  # type: ignore[import-untyped,import-not-found,unused-ignore]

            data = audio.T.astype(np.float64)
            t, i = _best(lambda: pyloudnorm.Meter(FS).integrated_loudness(data), args.rounds)
            rows.append(("pyloudnorm integrated (in memory)", t, {"I": float(i)}))
        except ImportError:
            print("pyloudnorm not installed: skipped")
        exe = _ffmpeg_exe()
        if exe:
            t, ff = _best(lambda: _ffmpeg_ebur128(exe, path), args.rounds)
            rows.append(("ffmpeg -af ebur128=peak=true (decode + meter)", t, ff))
        else:
            print("no ffmpeg binary: skipped")
    base = rows[0][1]
    print(f"{'meter':48} {'seconds':>8} {'x realtime':>10} {'vs ours':>8}   readings")
    for name, secs, vals in rows:
        text = "  ".join(f"{k}={v:.2f}" for k, v in vals.items())
        print(f"{name:48} {secs:8.2f} {args.minutes * 60 / secs:10.0f} {secs / base:8.2f}   {text}")


if __name__ == "__main__":
    main()
