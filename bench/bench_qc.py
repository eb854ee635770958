"""QC speed: `run_qc` (every check, one decode of each stream) against decode-only of the same file, and
against FFmpeg's blackdetect, freezedetect, signalstats and ebur128 run as separate passes.

Generates a 1920x1080 24 fps H.264 master with stereo 24-bit PCM (moving picture with grain, tone and noise)
unless ``--file`` is given. Decode-only is timed two ways: the default ``iter_video_frames`` (RGB) and the
planar YUV QC itself decodes to; the ratio that matters is QC against decode in the same pixel format.

    .venv/bin/python bench/bench_qc.py [--seconds 20] [--size 1920x1080] [--rounds 2] [--file MOVIE]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from posthouse.core.media import iter_audio_blocks, iter_video_frames, probe
from posthouse.finish.qc import run_qc
from posthouse.finish.qc_video import analysis_format
from posthouse.sound.loudness import LoudnessMeter

SR = 48000


def make_master(path: Path, seconds: float, width: int, height: int, fps: int = 24) -> Path:
    rng = np.random.default_rng(3)
    grain = rng.normal(0, 3, (8, height, width)).astype(np.float32)
    x = np.arange(width, dtype=np.float32)[None, :]
    yy = np.arange(height, dtype=np.float32)[:, None]
    with av.open(str(path), "w", format="mov") as c:
        vs = c.add_stream("libx264", rate=fps)
        vs.width, vs.height, vs.pix_fmt = width, height, "yuv420p"
        vs.options = {"crf": "18", "preset": "veryfast"}
        vs.metadata["timecode"] = "01:00:00:00"
        aus = c.add_stream("pcm_s24le", rate=SR, layout="stereo")
        for i in range(round(seconds * fps)):
            y = 110 + 60 * np.sin((x + 4 * i) / 60.0) + 20 * np.cos(yy / 40.0 + i / 10) + grain[i % 8]
            cu = np.full((height // 4, width), 120, np.uint8)
            planes = np.concatenate((np.clip(y, 16, 235).astype(np.uint8), cu, cu + 16))
            frame = av.VideoFrame.from_ndarray(planes, format="yuv420p")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            for p in vs.encode(frame):
                c.mux(p)
        for p in vs.encode():
            c.mux(p)
        t = np.arange(round(seconds * SR)) / SR
        snd = np.stack(
            (0.1 * np.sin(2 * np.pi * 440 * t), 0.1 * np.sin(2 * np.pi * 330 * t))
        ) + 0.02 * rng.standard_normal((2, t.size))
        snd = snd.astype(np.float32)
        for s in range(0, snd.shape[1], SR):
            af = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(snd[:, s : s + SR]), format="fltp", layout="stereo"
            )
            af.sample_rate, af.pts, af.time_base = SR, s, Fraction(1, SR)
            for p in aus.encode(af):
                c.mux(p)
        for p in aus.encode():
            c.mux(p)
    return path


def _best(fn: Callable[[], Any], rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def _decode(path: Path, fmt: str) -> None:
    for _ in iter_video_frames(path, format=fmt):
        pass
    for _ in iter_audio_blocks(path, block=SR):
        pass


def _ffmpeg() -> str | None:
    try:
        import imageio_ffmpeg

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except Exception:
        return shutil.which("ffmpeg")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--size", default="1920x1080")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--file", type=Path)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.file:
            path = args.file
        else:
            w, h = (int(v) for v in args.size.split("x"))
            t = time.perf_counter()
            path = make_master(Path(tmp) / "master.mov", args.seconds, w, h)
            print(f"made {path.name}: {args.size}, {args.seconds:g} s in {time.perf_counter() - t:.1f} s")
        info = probe(path)
        v = info.video[0]
        fmt = analysis_format(v.bit_depth)
        cpu = platform.processor() or platform.machine()
        print(f"{path}: {v.codec} {v.width}x{v.height} {v.frames} frames; {cpu}, {os.cpu_count()} cpus")
        rows: list[tuple[str, float]] = []
        rows.append(
            (
                "decode only (RGB, iter_video_frames default)",
                _best(lambda: _decode(path, "rgb24"), args.rounds),
            )
        )
        dec = _best(lambda: _decode(path, fmt), args.rounds)
        rows.append((f"decode only ({fmt}, what QC decodes)", dec))
        rows.append(("QC, no loudness meter", _best(lambda: run_qc(path, "netflix"), args.rounds)))
        qc = _best(lambda: run_qc(path, "netflix", loudness_fn=LoudnessMeter), args.rounds)
        rows.append(("QC, every check (BS.1770 meter injected)", qc))
        ff = _ffmpeg()
        if ff:
            passes = {
                "blackdetect": ["-vf", "blackdetect=d=0.5:pix_th=0.10", "-an"],
                "freezedetect": ["-vf", "freezedetect=n=0.003:d=1", "-an"],
                "signalstats": ["-vf", "signalstats=stat=brng", "-an"],
                "ebur128": ["-af", "ebur128=peak=true", "-vn"],
            }
            total = 0.0
            for name, extra in passes.items():
                cmd = [ff, "-hide_banner", "-nostats", "-i", str(path), *extra, "-f", "null", "-"]
                sec = _best(lambda cmd=cmd: subprocess.run(cmd, capture_output=True, check=True), args.rounds)
                rows.append((f"ffmpeg {name}", sec))
                total += sec
            rows.append(("ffmpeg, the four passes together", total))
        n = v.frames or 1
        for label, sec in rows:
            print(f"{label:<48} {sec:7.2f} s  {n / sec:7.1f} fps")
        print(f"QC / decode-only (same format): {qc / dec:.2f}x  (aim <= 1.3x)")


if __name__ == "__main__":
    main()
