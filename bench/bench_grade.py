"""Grading throughput at 2K (2048×1080): posthouse's OCIO pipeline vs FFmpeg's ``lut3d`` on the same frames.

Frames: ``--frames`` synthetic 8-bit RGB pictures that look like footage (gradients, moving shapes, a
little sensor noise), the same bytes for both sides. Two comparisons:

1. **CDL + ACES** — posthouse grades each frame exactly (input Rec.709 inverse output → ACEScct → CDL →
   ACES 2.0 Rec.709 output) with :meth:`GradePipeline.apply_u8` (memoised exact lookup); FFmpeg applies
   the same grade baked into a 33³ ``.cube`` with ``lut3d`` (tetrahedral). Also printed: how far FFmpeg's
   baked LUT lands from the exact grade.
2. **same .cube** — both apply that one ``.cube`` (posthouse through OCIO, ``apply_u8``).

FFmpeg reads the frames from a raw file and writes to the null muxer (``-f null``), so its time is the
filter plus reading; posthouse's is the grade alone (frames already in memory). FFmpeg is imageio-ffmpeg's
binary; without it the peer is skipped::

    .venv/bin/python bench/bench_grade.py [--frames 48] [--cold]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from posthouse.finish.cdl import Cdl
from posthouse.finish.grading import GradePipeline, bake_cube, write_cube

W, H = 2048, 1080
GRADE = Cdl("bench", (1.08, 1.0, 0.93), (0.01, 0.0, -0.015), (1.05, 1.0, 0.97), 0.9)


def _frames(n: int, seed: int = 1) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    base = np.stack([0.15 + 0.6 * xx / W, 0.2 + 0.5 * yy / H, 0.35 + 0.2 * np.sin(xx / 180.0)], -1)
    out = []
    for i in range(n):
        img = base.copy()
        cx, cy = 300 + 25 * i, 540 + 10 * np.sin(i / 5)
        disc = ((xx - cx) ** 2 + (yy - cy) ** 2) < 160**2
        img[disc] = (0.8, 0.45, 0.3)
        img += rng.normal(0.0, 0.004, img.shape).astype(np.float32)
        out.append((np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8))
    return out


def _ffmpeg() -> str | None:
    try:
        import imageio_ffmpeg

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except Exception:
        return None


def _ffmpeg_lut3d(exe: str, raw: Path, n: int, cube: Path, out: Path | None = None) -> float:
    cmd = [exe, "-v", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{W}x{H}", "-r", "24"]
    cmd += ["-i", str(raw), "-vf", f"lut3d=file={cube}:interp=tetrahedral"]
    cmd += ["-f", "rawvideo", "-pix_fmt", "rgb24", str(out)] if out else ["-f", "null", "-"]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True)
    return time.perf_counter() - t0


def _time(fn: object, frames: list[np.ndarray]) -> float:
    t0 = time.perf_counter()
    for f in frames:
        fn(f)  # type: ignore[operator]
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=48)
    ap.add_argument("--cold", action="store_true", help="count the first-frame table fill in the timing")
    args = ap.parse_args()
    n = args.frames
    frames = _frames(n)
    pipe = GradePipeline()
    exe = _ffmpeg()
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        raw = d / "frames.rgb"
        with raw.open("wb") as fh:
            for f in frames:
                fh.write(f.tobytes())
        cube = write_cube(d / "grade.cube", bake_cube(pipe, GRADE, size=33), title="bench grade")

        t0 = time.perf_counter()
        pipe.apply_u8(frames[0], GRADE)  # fills the table for this shot's colours
        cold = time.perf_counter() - t0
        t_ph = _time(lambda f: pipe.apply_u8(f, GRADE), frames) + (cold if args.cold else 0.0)
        exact_f = np.clip(pipe.apply(frames[n // 2].astype(np.float32) / 255.0, GRADE), 0, 1) * 255
        t0 = time.perf_counter()
        pipe.apply(frames[0].astype(np.float32) / 255.0, GRADE)
        t_float = time.perf_counter() - t0

        lut_pipe = GradePipeline(input_space="ACEScct", output="working")
        lut_pipe.apply_u8(frames[0], lut=cube)
        t_ph_cube = _time(lambda f: lut_pipe.apply_u8(f, lut=cube), frames)

        print(
            f"{n} frames {W}x{H} rgb24; grade slope {GRADE.slope} offset {GRADE.offset} "
            f"power {GRADE.power} sat {GRADE.saturation}"
        )
        print(
            f"posthouse CDL+ACES (exact, memoised) : {n / t_ph:8.1f} fps  (first frame {cold * 1000:.0f} ms)"
        )
        print(f"posthouse CDL+ACES (OCIO float, no memo): {1 / t_float:6.2f} fps")
        print(f"posthouse same .cube (OCIO, memoised) : {n / t_ph_cube:8.1f} fps")
        if exe is None:
            print("peer skipped: imageio-ffmpeg is not installed (pip install imageio-ffmpeg)")
            return 0
        _ffmpeg_lut3d(exe, raw, n, cube)  # warm the file cache
        t_ff = min(_ffmpeg_lut3d(exe, raw, n, cube) for _ in range(2))
        outraw = d / "ff.rgb"
        _ffmpeg_lut3d(exe, raw, n, cube, outraw)
        ff = np.frombuffer(outraw.read_bytes(), np.uint8).reshape(n, H, W, 3)
        err_ff = np.abs(ff[n // 2].astype(np.float32) - exact_f)
        err_ph = np.abs(pipe.apply_u8(frames[n // 2], GRADE).astype(np.float32) - exact_f)
        print(f"ffmpeg lut3d 33^3 tetrahedral          : {n / t_ff:8.1f} fps")
        print(f"ratio CDL+ACES  posthouse/ffmpeg       : {t_ff / t_ph:8.2f}x")
        print(f"ratio same cube posthouse/ffmpeg       : {t_ff / t_ph_cube:8.2f}x")
        print(
            f"error vs exact OCIO (8-bit codes): posthouse max {err_ph.max():.1f}, "
            f"ffmpeg lut3d max {err_ff.max():.1f} mean {err_ff.mean():.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
