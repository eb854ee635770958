"""JPEG 2000 cinema 2K encode: posthouse (``encode_j2k``/``encode_sequence``) against OpenJPEG's
``opj_compress -cinema2K 24`` on the same frames, frames a second per core, then posthouse across a 2-worker
local Dask cluster against one worker (the speed-up).

The frames are N synthetic 1998×1080 pictures (gradients, a moving disc, fine detail and film grain) taken
to DCI X'Y'Z' 12-bit with ``rgb_to_xyz12``. OpenJPEG reads them as 16-bit PPM files holding 12-bit values
(maxval 4095) and encodes a whole folder in one process (``-ImgDir``, ``-threads 1``); posthouse encodes
the same arrays in one process with ``encode_j2k`` frame after frame, as ``encode_sequence`` does (glymur
over libopenjp2, one thread); a frame ``encode_j2k`` refuses (over the 250 Mbit/s cap) is counted, not
fatal. Sizes
(bytes a frame) and PSNR of both decodes against the X'Y'Z' source (12-bit peak) are printed so the
comparison is like for like.

Needs ``opj_compress`` (Debian/Ubuntu: ``sudo apt-get install libopenjp2-tools``; macOS: ``brew install
openjpeg``).

    .venv/bin/python bench/bench_j2k.py [--frames 24] [--rounds 1] [--skip-dask]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from posthouse.core.errors import MediaError
from posthouse.finish.dcp_picture import encode_j2k, frame_limit_bytes, rgb_to_xyz12

W, H, FPS = 1998, 1080, 24
PEAK = 4095.0


def make_frames(n: int, grain: float = 0.004, seed: int = 7) -> list[npt.NDArray[np.uint16]]:
    """N X'Y'Z' 12-bit frames: a moving picture with texture and grain, like a graded master."""
    rng = np.random.default_rng(seed)
    x = np.linspace(0.0, 1.0, W, dtype=np.float32)[None, :]
    y = np.linspace(0.0, 1.0, H, dtype=np.float32)[:, None]
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    out = []
    for i in range(n):
        r = 0.15 + 0.6 * x + 0.1 * np.sin(12 * y + i / 6.0)
        g = 0.2 + 0.5 * y + 0.1 * np.cos(9 * x * (1 + i / 48))
        b = 0.5 - 0.3 * x * y + 0.05 * np.sin(40 * x + 30 * y)
        rgb = np.stack([r, g, b], axis=-1)
        cx, cy = 300 + 50 * i, 540 + 200 * np.sin(i / 5.0)
        disc = ((xx - cx) ** 2 + (yy - cy) ** 2) < 160.0**2
        rgb[disc] = (0.9, 0.85, 0.7)
        stripes = (np.sin(xx / 3.0) > 0)[..., None] * (yy > 900)[..., None]
        rgb = np.where(stripes, rgb * 0.6, rgb)
        rgb += rng.normal(0.0, grain, rgb.shape).astype(np.float32)
        out.append(rgb_to_xyz12(np.clip(rgb, 0.0, 1.0)))
    return out


def write_ppm(frame: npt.NDArray[np.uint16], path: Path) -> None:
    """A binary PPM with 16-bit big-endian samples and maxval 4095 (OpenJPEG reads it as 12-bit)."""
    path.write_bytes(f"P6\n{W} {H}\n4095\n".encode() + frame.astype(">u2").tobytes())


def decode(path: Path) -> npt.NDArray[np.uint16]:
    import glymur  # type: ignore[import-untyped]

    return np.asarray(glymur.Jp2k(str(path))[:], dtype=np.uint16)


def psnr(a: npt.NDArray[np.uint16], b: npt.NDArray[np.uint16]) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(PEAK**2 / mse)


def run_opj(ppm_dir: Path, rounds: int) -> tuple[float, list[Path]]:
    best = float("inf")
    for _ in range(rounds):
        for old in ppm_dir.glob("*.J2C"):
            old.unlink()
        cmd = ["opj_compress", "-ImgDir", str(ppm_dir), "-OutFor", "J2C", "-cinema2K", str(FPS)]
        t = time.perf_counter()
        subprocess.run([*cmd, "-threads", "1"], check=True, capture_output=True)
        best = min(best, time.perf_counter() - t)
    return best, sorted(ppm_dir.glob("*.J2C"))


def run_ours(
    frames: list[npt.NDArray[np.uint16]], out: Path, rounds: int
) -> tuple[float, dict[int, Path], list[str]]:
    """``encode_j2k`` frame after frame (what ``encode_sequence`` does), noting frames it refuses."""
    best = float("inf")
    done: dict[int, Path] = {}
    refused: list[str] = []
    for _ in range(rounds):
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        done, refused = {}, []
        t = time.perf_counter()
        for i, frame in enumerate(frames):
            path = out / f"{i:06d}.j2c"
            try:
                encode_j2k(frame, path, fps=FPS)
            except MediaError as exc:  # over the cap: the encode happened, the frame is refused
                refused.append(f"{i}: {exc.args[0] if exc.args else exc}")
                continue
            done[i] = path
        best = min(best, time.perf_counter() - t)
    return best, done, refused


def encode_one(item: tuple[str, str]) -> int:
    """Dask task: load one X'Y'Z' frame (.npy) and encode it (module level so it pickles); −1: refused."""
    src, dst = item
    try:
        return encode_j2k(np.load(src), dst, fps=FPS)
    except MediaError:
        return -1


def run_dask(npy: list[Path], out: Path, workers: int) -> float:
    from distributed import LocalCluster

    from posthouse.core.jobs import DaskExecutor, raise_for_failures

    with (
        LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        DaskExecutor(cluster) as ex,
    ):
        warm = out / "warm"
        warm.mkdir(parents=True, exist_ok=True)
        # warm-up: imports and the first glymur call on every worker, not timed
        raise_for_failures(ex.map(encode_one, [(str(npy[0]), str(warm / f"w{i}.j2c")) for i in range(4)]))
        items = [(str(p), str(out / f"{i:06d}.j2c")) for i, p in enumerate(npy)]
        t = time.perf_counter()
        raise_for_failures(ex.map(encode_one, items, label="j2k"))
        return time.perf_counter() - t


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--skip-dask", action="store_true")
    ap.add_argument("--grain", type=float, default=0.004, help="film grain σ (0-1 scale)")
    ap.add_argument("--workdir", type=Path, default=None)
    args = ap.parse_args(argv)
    if shutil.which("opj_compress") is None:
        print(
            "opj_compress not found: install OpenJPEG's tools (Debian/Ubuntu: sudo apt-get install "
            "libopenjp2-tools; macOS: brew install openjpeg)",
            file=sys.stderr,
        )
        return 2
    ver = subprocess.run(["opj_compress", "-h"], capture_output=True, text=True).stdout
    opj_ver = next((ln.strip() for ln in ver.splitlines() if "openjp2 library" in ln), "?")
    import glymur

    n = args.frames
    print(
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, glymur {glymur.__version__} on OpenJPEG "
        f"{glymur.version.openjpeg_version}; opj_compress: {opj_ver}"
    )
    print(f"{n} frames {W}x{H} X'Y'Z' 12-bit, cinema 2K at {FPS} fps (cap {frame_limit_bytes(FPS):,} B)")
    with tempfile.TemporaryDirectory(prefix="bench_j2k_", dir=args.workdir) as tmp:
        root = Path(tmp)
        frames = make_frames(n, args.grain)
        ppm_dir, npy_dir = root / "ppm", root / "npy"
        ppm_dir.mkdir()
        npy_dir.mkdir()
        npy = []
        for i, f in enumerate(frames):
            write_ppm(f, ppm_dir / f"{i:06d}.ppm")
            np.save(npy_dir / f"{i:06d}.npy", f)
            npy.append(npy_dir / f"{i:06d}.npy")

        t_opj, opj_files = run_opj(ppm_dir, args.rounds)
        t_ours, ours, refused = run_ours(frames, root / "ours", args.rounds)
        if len(opj_files) != n:
            print(f"expected {n} codestreams from opj_compress, got {len(opj_files)}", file=sys.stderr)
            return 1
        cap = frame_limit_bytes(FPS)
        both = sorted(ours)  # frames both encoders delivered: sizes and PSNR compared on these
        rows: dict[str, dict[str, Any]] = {}
        for name, files, secs in (
            ("opj_compress", dict(enumerate(opj_files)), t_opj),
            ("posthouse", ours, t_ours),
        ):
            sizes = [files[i].stat().st_size for i in both]
            quality = [psnr(decode(files[i]), frames[i]) for i in both]
            over = sum(p.stat().st_size > cap for p in files.values()) + (n - len(files))
            rows[name] = {
                "over": over,
                "fps": n / secs,
                "bytes": float(np.mean(sizes)) if sizes else float("nan"),
                "max_bytes": max(sizes, default=0),
                "psnr": float(np.mean(quality)) if quality else float("nan"),
            }
        print(
            f"\n{'encoder (1 process, 1 thread)':<32}{'frames/s':>10}{'bytes/frame':>14}{'max':>12}"
            f"{'PSNR dB':>10}{'over cap':>10}"
        )
        for name, r in rows.items():
            print(
                f"{name:<32}{r['fps']:>10.2f}{r['bytes']:>14,.0f}{r['max_bytes']:>12,}"
                f"{r['psnr']:>10.2f}{r['over']:>10}"
            )
        o, p = rows["opj_compress"], rows["posthouse"]
        print(
            f"speed posthouse/opj: {p['fps'] / o['fps']:.2f}x; size ratio {p['bytes'] / o['bytes']:.3f}; "
            f"PSNR difference {p['psnr'] - o['psnr']:+.2f} dB (on the {len(both)} frames both delivered)"
        )
        for line in refused:
            print(f"posthouse refused frame {line}")
        if not args.skip_dask:
            t1 = run_dask(npy, root / "dask1", 1)
            t2 = run_dask(npy, root / "dask2", 2)
            print(
                f"\nDask LocalCluster, 1 worker: {n / t1:.2f} frames/s; 2 workers: {n / t2:.2f} frames/s; "
                f"speed-up {t1 / t2:.2f}x (ideal 2.00x)"
            )
            same = all((root / "dask2" / f"{i:06d}.j2c").read_bytes() == ours[i].read_bytes() for i in both)
            print(f"Dask codestreams identical to the single-process ones: {same}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
