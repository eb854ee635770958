"""Timeline render throughput: posthouse's ``render_timeline`` vs the ffmpeg CLI rendering the same edit.

Generates two 1920x1080 ProRes 422 HQ sources (~10 s at 24 fps: moving gradients, a moving block,
grain) and cuts a two-track edit from them (340 frames, 14.2 s):

    V1  A[0,120) ╳ B[24,144) ╳ A[130,230)      two 24-frame dissolves (12 + 12 frames each side)
    V2        gap 60 | B[150,210) | gap         a full-frame insert over V1

- posthouse: ``render_timeline(timeline, out, preset="h264")`` — sequential decoders, scale to the
  output size, dissolve blend in NumPy, libx264 + a silent AAC stereo track;
- ffmpeg (the static build from ``imageio-ffmpeg``): ``trim``/``setpts``/``xfade``/``overlay`` filter
  graph, libx264 at the same preset/crf/profile/GOP, no sound.

Prints frames per second for each and the ratio (posthouse / ffmpeg; higher is better for posthouse).

    .venv/bin/python bench/bench_render.py [--seconds 10] [--rounds 1] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import opentimelineio as otio

from posthouse.core.media import VideoWriter, iter_video_frames
from posthouse.engine import render_timeline

RATE = 24
W, H = 1920, 1080
TC = 86400  # sources start at 01:00:00:00
# (source, in, out) of V1's clips, with 12 + 12 frame dissolves between them, and V2's insert
V1 = (("A", 0, 120), ("B", 24, 144), ("A", 130, 230))
HALF = 12
V2_AT, V2 = 60, ("B", 150, 210)
TOTAL = 340


def make_source(path: Path, frames: int, seed: int) -> Path:
    """A moving, grainy 1080p ProRes HQ clip."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    grain = [(rng.standard_normal((H, W, 1)) * 2.0).astype(np.float32) for _ in range(4)]
    with VideoWriter(
        path, width=W, height=H, rate=Fraction(RATE), preset="prores-hq", start_timecode="01:00:00:00"
    ) as vw:
        for i in range(frames):
            ph = i * 0.05 + seed
            r = 128 + 60 * np.sin(xx / 180 + ph) + 40 * np.cos(yy / 90 - ph * 0.7)
            g = 128 + 60 * np.sin((xx + yy) / 250 - ph)
            b = 128 + 60 * np.cos(xx / 300 + yy / 200 + ph * 1.3)
            img = np.stack([r, g, b], -1) + grain[i % 4]
            cx = int(200 + i * 6) % (W - 300)
            img[400:700, cx : cx + 300] = (230, 200, 40) if seed == 1 else (40, 90, 220)
            vw.write_frame(np.clip(img, 0, 255).astype(np.uint8))
    return path


def _rt(v: float) -> otio.opentime.RationalTime:
    return otio.opentime.RationalTime(v, RATE)


def _clip(path: Path, src_in: int, src_out: int, frames: int) -> otio.schema.Clip:
    ref = otio.schema.ExternalReference(
        target_url=path.as_uri(), available_range=otio.opentime.TimeRange(_rt(TC), _rt(frames))
    )
    rng = otio.opentime.TimeRange(_rt(TC + src_in), _rt(src_out - src_in))
    return otio.schema.Clip(name=path.stem, media_reference=ref, source_range=rng)


def make_timeline(sources: dict[str, Path], frames: int) -> otio.schema.Timeline:
    tl = otio.schema.Timeline(name="bench", global_start_time=_rt(TC))
    v1 = otio.schema.Track(name="V1")
    for i, (src, a, b) in enumerate(V1):
        if i:
            v1.append(
                otio.schema.Transition(
                    transition_type=otio.schema.TransitionTypes.SMPTE_Dissolve,
                    in_offset=_rt(HALF),
                    out_offset=_rt(HALF),
                )
            )
        v1.append(_clip(sources[src], a, b, frames))
    v2 = otio.schema.Track(name="V2")
    v2.append(otio.schema.Gap(source_range=otio.opentime.TimeRange(_rt(0), _rt(V2_AT))))
    v2.append(_clip(sources[V2[0]], V2[1], V2[2], frames))
    tl.tracks.append(v1)
    tl.tracks.append(v2)
    return tl


def run_posthouse(tl: otio.schema.Timeline, out: Path) -> tuple[float, int]:
    t = time.perf_counter()
    report = render_timeline(tl, out, preset="h264")
    return time.perf_counter() - t, report.frames


def run_ffmpeg(ffmpeg: str, sources: dict[str, Path], out: Path) -> float:
    inputs: list[str] = []
    parts: list[str] = []
    labels: list[str] = []
    for i, (src, a, b) in enumerate(V1):
        head = HALF if i else 0
        tail = HALF if i < len(V1) - 1 else 0
        inputs += ["-i", str(sources[src])]
        parts.append(f"[{i}:v]trim=start_frame={a - head}:end_frame={b + tail},setpts=PTS-STARTPTS[c{i}]")
        labels.append(f"c{i}")
    # xfade offsets: where each dissolve starts on the running output
    length = V1[0][2] - V1[0][1] + HALF
    prev = labels[0]
    for i in range(1, len(V1)):
        src, a, b = V1[i]
        offset = (length - 2 * HALF) / RATE
        parts.append(
            f"[{prev}][{labels[i]}]xfade=transition=fade:duration={2 * HALF / RATE}:offset={offset}[x{i}]"
        )
        prev = f"x{i}"
        length += (b - a) + HALF + (HALF if i < len(V1) - 1 else 0) - 2 * HALF
    n = len(V1)
    inputs += ["-i", str(sources[V2[0]])]
    start, stop = V2_AT / RATE, (V2_AT + V2[2] - V2[1]) / RATE
    parts.append(f"[{n}:v]trim=start_frame={V2[1]}:end_frame={V2[2]},setpts=PTS-STARTPTS+{start}/TB[ins]")
    parts.append(
        f"[{prev}][ins]overlay=eof_action=pass:enable='between(t,{start},{stop - 1e-3})',format=yuv420p[v]"
    )
    cmd = [
        ffmpeg,
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        *inputs,
        "-filter_complex",
        ";".join(parts),
        "-map",
        "[v]",
        "-c:v",
        "libx264",
        "-preset",
        "medium",
        "-crf",
        "18",
        "-profile:v",
        "high",
        "-pix_fmt",
        "yuv420p",
        "-g",
        str(RATE * 2),
        "-color_primaries",
        "bt709",
        "-color_trc",
        "bt709",
        "-colorspace",
        "bt709",
        "-r",
        str(RATE),
        str(out),
    ]
    t = time.perf_counter()
    subprocess.run(cmd, check=True)
    return time.perf_counter() - t


def _count(path: Path) -> int:
    return sum(1 for _ in iter_video_frames(path, format="gray"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=10.0, help="length of each source (at least 9.6)")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--keep", type=Path, help="keep the media in this folder")
    args = ap.parse_args()
    try:
        import imageio_ffmpeg
    except ImportError:
        print("needs imageio-ffmpeg: .venv/bin/pip install imageio-ffmpeg", file=sys.stderr)
        return 2
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    frames = max(round(args.seconds * RATE), 231)
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, ffmpeg {ffmpeg}")
        t = time.perf_counter()
        sources = {
            "A": folder / "A.mov"
            if (folder / "A.mov").exists()
            else make_source(folder / "A.mov", frames, 1),
            "B": folder / "B.mov"
            if (folder / "B.mov").exists()
            else make_source(folder / "B.mov", frames, 2),
        }
        print(f"sources: 2 x {frames} frames 1080p ProRes HQ in {time.perf_counter() - t:.1f} s")
        tl = make_timeline(sources, frames)
        best_p = best_f = 0.0
        for r in range(args.rounds):
            tp, n = run_posthouse(tl, folder / "posthouse.mp4")
            tf = run_ffmpeg(ffmpeg, sources, folder / "ffmpeg.mp4")
            fp, ff = n / tp, TOTAL / tf
            best_p, best_f = max(best_p, fp), max(best_f, ff)
            print(
                f"round {r + 1}: posthouse {n} frames in {tp:.2f} s = {fp:.2f} fps; "
                f"ffmpeg {TOTAL} frames in {tf:.2f} s = {ff:.2f} fps; ratio {fp / ff:.2f}x"
            )
        counts = _count(folder / "posthouse.mp4"), _count(folder / "ffmpeg.mp4")
        print(f"frames in the outputs: posthouse {counts[0]}, ffmpeg {counts[1]} (want {TOTAL})")
        a = [f for _, f in iter_video_frames(folder / "posthouse.mp4", start=TOTAL // 2 - 50, count=3)]
        b = [f for _, f in iter_video_frames(folder / "ffmpeg.mp4", start=TOTAL // 2 - 50, count=3)]
        mad = float(
            np.mean([np.abs(x.astype(int) - y.astype(int)).mean() for x, y in zip(a, b, strict=True)])
        )
        print(f"mean absolute difference around frame {TOTAL // 2 - 50}: {mad:.2f}/255")
        print(f"best: posthouse {best_p:.2f} fps, ffmpeg {best_f:.2f} fps, ratio {best_p / best_f:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
