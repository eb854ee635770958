"""Render farm speed-up: a DCP picture encode and a dailies batch on one, then two, local Dask workers.

Both jobs go through the farm exactly as `posthouse farm dcp` and the dailies batch do: a Dask
``LocalCluster`` of worker *processes* (one thread each), chunks (frame ranges of the DCP encode, takes of
the dailies) sent to the workers, outputs written to the shared folder.

- DCP: a ``--frames`` (default 48) frame 1998×1080 ProRes 422 HQ master (colour bands and a moving disc:
  frames with more detail meet OpenJPEG's size cap, where ``encode_j2k`` refuses a frame that OpenJPEG
  overshoots by a few bytes), encoded to JPEG 2000 cinema 2K frames (decode, X'Y'Z', OpenJPEG) in chunks
  of ``--chunk`` frames.
- Dailies: ``--takes`` (default 4) 1920×1080 ProRes takes of ``--take-frames`` frames each, rendered to
  H.264 review copies with burn-ins, one take a task.

Each run starts from an empty output folder (no lineage, nothing reused); the time excludes the cluster's
start. Prints the times and speed-ups, and appends them to ``bench/RESULTS.md`` (``--no-write`` to skip).

    .venv/bin/python bench/bench_farm.py [--frames 48] [--chunk 6] [--takes 4] [--take-frames 48]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import time
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from posthouse.core.media import VideoWriter

WORK = Path(__file__).resolve().parent / "_work" / "farm"


def _picture(i: int, w: int, h: int, rng: np.random.Generator) -> npt.NDArray[np.uint8]:
    x = np.linspace(0.0, 1.0, w, dtype=np.float32)[None, :]
    y = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None]
    r = 0.15 + 0.6 * x + 0.1 * np.sin(12 * y + i / 6.0)
    g = 0.2 + 0.5 * y + 0.1 * np.cos(9 * x * (1 + i / 48))
    b = 0.5 - 0.3 * x * y
    rgb = (
        np.round(np.stack(np.broadcast_arrays(r, g, b), axis=-1) * 8) / 8
    )  # flat bands: frames stay under the cap
    yy, xx = np.ogrid[0:h, 0:w]
    cx, cy = 300 + 30 * i, h / 2 + 200 * np.sin(i / 5.0)
    rgb[((xx - cx) ** 2 + (yy - cy) ** 2) < 160.0**2] = (0.9, 0.85, 0.7)
    return (np.clip(rgb, 0.0, 1.0) * 255).astype(np.uint8)


def make_movie(path: Path, frames: int, size: tuple[int, int], *, audio: bool = False, seed: int = 1) -> Path:
    if path.exists():
        return path
    w, h = size
    rng = np.random.default_rng(seed)
    with VideoWriter(
        path,
        width=w,
        height=h,
        rate=Fraction(24),
        preset="prores-hq",
        start_timecode="01:00:00:00",
        reel="A001",
        audio_channels=1 if audio else 0,
    ) as vw:
        for i in range(frames):
            vw.write_frame(_picture(i, w, h, rng))
            if audio:
                t = (np.arange(2000) + i * 2000) / 48000
                vw.write_audio((0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None])
    return path


def _take(picture: Path, n: int) -> Any:
    from posthouse.picture.dailies import DailiesTake

    return DailiesTake(
        take=f"12A-{n}",
        picture=picture,
        sound=None,
        offset_samples=None,
        drift_ppm=None,
        scene="12A",
        take_number=str(n),
        camera="A",
        clip=picture.stem,
        circled=n == 1,
        start_timecode="01:00:00:00",
        rate=Fraction(24),
        sound_timecode=None,
        sync_method=None,
        confidence=None,
        status="unsynced",
    )


def _on_farm(workers: int, job: Any) -> float:
    from posthouse.core.jobs import DaskExecutor
    from posthouse.pipeline.farm import local_farm

    with local_farm(workers, threads_per_worker=1, processes=True) as cluster, DaskExecutor(cluster) as ex:
        ex.client.wait_for_workers(workers)
        ex.client.run(lambda: __import__("posthouse.pipeline.chunks"))  # imports warm on every worker
        t0 = time.perf_counter()
        job(ex)
        return time.perf_counter() - t0


def bench_dcp(frames: int, chunk: int) -> dict[int, float]:
    from posthouse.pipeline.chunks import encode_dcp_picture

    master = make_movie(WORK / f"master_{frames}.mov", frames, (1998, 1080))
    times: dict[int, float] = {}
    for workers in (1, 2):
        out = WORK / f"dcp_{workers}"
        shutil.rmtree(out, ignore_errors=True)

        def job(ex: Any, out: Path = out) -> None:
            result = encode_dcp_picture(master, out, chunk_frames=chunk, executor=ex)
            assert result.frames == frames and len(result.ran) == result.chunks

        times[workers] = _on_farm(workers, job)
        assert len(list(out.glob("*.j2c"))) == frames
        print(f"DCP encode, {frames} frames 2K, {workers} worker(s): {times[workers]:.2f} s", flush=True)
    return times


def bench_dailies(takes: int, take_frames: int) -> dict[int, float]:
    from posthouse.pipeline.farm import farm_dailies

    items = [
        _take(
            make_movie(
                WORK / f"A001C{n:03d}_{take_frames}.mov", take_frames, (1920, 1080), audio=True, seed=n
            ),
            n,
        )
        for n in range(1, takes + 1)
    ]
    times: dict[int, float] = {}
    for workers in (1, 2):
        out = WORK / f"dailies_{workers}"
        shutil.rmtree(out, ignore_errors=True)

        def job(ex: Any, out: Path = out) -> None:
            outputs = farm_dailies(items, out, executor=ex, force=True)
            failed = [o.error for o in outputs if o.error]
            assert not failed, failed

        times[workers] = _on_farm(workers, job)
        print(
            f"dailies, {takes} takes × {take_frames} frames, {workers} worker(s): {times[workers]:.2f} s",
            flush=True,
        )
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--chunk", type=int, default=6)
    parser.add_argument("--takes", type=int, default=4)
    parser.add_argument("--take-frames", type=int, default=48)
    parser.add_argument("--no-write", action="store_true", help="Do not append to bench/RESULTS.md.")
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    dcp = bench_dcp(args.frames, args.chunk)
    dailies = bench_dailies(args.takes, args.take_frames)
    s_dcp, s_dailies = dcp[1] / dcp[2], dailies[1] / dailies[2]
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"speed-up, 1 → 2 workers: DCP encode {s_dcp:.2f}×, dailies {s_dailies:.2f}×")
    if args.no_write:
        return
    import av

    when = f"{datetime.now(UTC):%Y-%m-%d}"
    machine = f"{platform.node() or 'machine'} ({cpus} CPUs available, {platform.machine()})"
    dcp_job = f"DCP picture encode, {args.frames} frames 1998×1080 ProRes HQ → J2K 2K, chunks of {args.chunk}"
    dailies_job = f"dailies batch, {args.takes} takes × {args.take_frames} frames 1080p, one take a task"
    command = (
        f".venv/bin/python bench/bench_farm.py --frames {args.frames} --chunk {args.chunk} "
        f"--takes {args.takes} --take-frames {args.take_frames}"
    )
    text = f"""
## Render farm — `bench/bench_farm.py` (speed-up from one to two local Dask workers)

{when}, {machine}, Python {platform.python_version()}, PyAV {av.__version__}. Dask `LocalCluster` of
worker processes, one thread each; times exclude the cluster's start; outputs written from scratch every run.

| job | 1 worker | 2 workers | speed-up |
|---|---:|---:|---:|
| {dcp_job} | {dcp[1]:.2f} s | {dcp[2]:.2f} s | **{s_dcp:.2f}×** |
| {dailies_job} | {dailies[1]:.2f} s | {dailies[2]:.2f} s | **{s_dailies:.2f}×** |

Command: `{command}`.
"""
    with open(Path(__file__).resolve().parent / "RESULTS.md", "a", encoding="utf-8") as fh:
        fh.write(text)


if __name__ == "__main__":
    main()
