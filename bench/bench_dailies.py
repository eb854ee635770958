"""Dailies transcode throughput: posthouse's ``render_take`` vs the ffmpeg CLI doing the same encode.

Generates a 1920x1080 ProRes 422 HQ camera clip (~10 s at 23.976, moving gradients, shapes and grain,
with timecode and a mono scratch track), a 3-track 48 kHz production BWF that starts before the picture
and drifts 3 ppm, and a 33-point show LUT. Then renders the review copy twice:

- posthouse: ``render_take(..., lut=show.cube)`` — decode, OpenColorIO LUT, burn-ins (slate, camera,
  running picture and sound timecode), drift-corrected sound placement and downmix, H.264 + AAC;
- ffmpeg (the static build from ``imageio-ffmpeg``): ``lut3d`` + ``drawtext`` running timecode, the sound
  trimmed to the offset and downmixed with ``pan``, libx264 at the same preset/crf/profile/GOP + AAC.

Prints frames per second for each and the ratio (posthouse / ffmpeg; higher is better for posthouse).
``imageio-ffmpeg`` is a benchmark-only dependency: ``.venv/bin/pip install imageio-ffmpeg``.

    .venv/bin/python bench/bench_dailies.py [--seconds 10] [--rounds 1] [--keep DIR]
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
from fractions import Fraction
from pathlib import Path

import numpy as np

from posthouse.core.media import VideoWriter, probe
from posthouse.core.media.bwf import Bext, IXml, write_bwf
from posthouse.core.time import Timecode
from posthouse.picture.dailies import DailiesTake, render_take

RATE = Fraction(24000, 1001)
SR = 48000
W, H = 1920, 1080
START_TC = "10:00:00:00"
OFFSET = 24_000  # the production sound rolled half a second before picture
PPM = 3.0
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf"


def make_source(folder: Path, frames: int) -> tuple[Path, Path, Path]:
    """The camera clip, the production sound and the show LUT."""
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    grain = [(rng.standard_normal((H, W, 1)) * 2.0).astype(np.float32) for _ in range(4)]
    clip = folder / "A001C001.mov"
    spf = 2002
    tone = (0.1 * np.sin(2 * np.pi * 440 * np.arange(frames * spf) / SR)).astype(np.float32)
    with VideoWriter(
        clip,
        width=W,
        height=H,
        rate=RATE,
        preset="prores-hq",
        start_timecode=START_TC,
        reel="A001",
        audio_channels=1,
    ) as vw:
        for i in range(frames):
            ph = i * 0.05
            r = 128 + 60 * np.sin(xx / 180 + ph) + 40 * np.cos(yy / 90 - ph * 0.7)
            g = 128 + 60 * np.sin((xx + yy) / 250 - ph)
            b = 128 + 60 * np.cos(xx / 300 + yy / 200 + ph * 1.3)
            img = np.stack([r, g, b], -1) + grain[i % 4]
            cx = int(200 + i * 6) % (W - 300)
            img[400:700, cx : cx + 300] = (230, 200, 40)
            vw.write_frame(np.clip(img, 0, 255).astype(np.uint8))
            vw.write_audio(tone[None, i * spf : (i + 1) * spf])
    n = OFFSET + round(frames * spf * (1 + PPM * 1e-6)) + SR
    noise = rng.standard_normal((3, n)).astype(np.float32) * 0.05
    sound = folder / "10A-1.wav"
    tref = Timecode.parse(START_TC, RATE).to_samples(SR) - OFFSET
    write_bwf(
        sound,
        noise,
        SR,
        bext=Bext(time_reference=tref),
        ixml=IXml(scene="10A", take="1", track_names=("BOOM", "LAV1", "LAV2"), timecode_rate=RATE),
    )
    cube = folder / "show.cube"
    grid = np.linspace(0.0, 1.0, 33)
    b3, g3, r3 = np.meshgrid(grid, grid, grid, indexing="ij")  # red fastest, as .cube wants
    table = np.stack(
        [
            np.clip(r3**0.9 * 0.95 + 0.03 * b3, 0, 1),
            np.clip(g3**1.05, 0, 1),
            np.clip(b3**1.1 * 0.9 + 0.05 * r3, 0, 1),
        ],
        -1,
    ).reshape(-1, 3)
    cube.write_text("LUT_3D_SIZE 33\n" + "\n".join(f"{r:.6f} {g:.6f} {b:.6f}" for r, g, b in table) + "\n")
    return clip, sound, cube


def run_posthouse(clip: Path, sound: Path, cube: Path, out: Path) -> tuple[float, int]:
    item = DailiesTake(
        take="10A-1",
        picture=clip,
        sound=sound,
        offset_samples=OFFSET,
        drift_ppm=PPM,
        scene="10A",
        take_number="1",
        camera="A",
        clip="A001C001",
        circled=True,
        start_timecode=START_TC,
        rate=RATE,
        sound_timecode=probe(sound).start_timecode,
        sync_method="timecode",
        confidence=1.0,
        status="synced",
    )
    t = time.perf_counter()
    result = render_take(item, out, lut=cube, force=True)
    elapsed = time.perf_counter() - t
    if result.error:
        raise SystemExit(f"posthouse failed: {result.error}")
    return elapsed, result.frames


def run_ffmpeg(ffmpeg: str, clip: Path, sound: Path, cube: Path, out: Path, frames: int) -> float:
    size = round(H * 0.042)
    tc = START_TC.replace(":", r"\:")
    video = (
        f"[0:v]lut3d=file={cube}:interp=tetrahedral,"
        f"drawtext=fontfile={FONT}:timecode='{tc}':rate={RATE.numerator}/{RATE.denominator}:"
        f"fontsize={size}:fontcolor=white:box=1:boxcolor=black@0.6:boxborderw=8:x=40:y=h-th-40[v]"
    )
    audio = (
        f"[1:a]atrim=start_sample={OFFSET},asetpts=PTS-STARTPTS,"
        "pan=stereo|c0=0.6*c0+0.4*c1+0.4*c2|c1=0.6*c0+0.4*c1+0.4*c2[a]"
    )
    cmd = [
        ffmpeg,
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-i",
        str(clip),
        "-i",
        str(sound),
        "-filter_complex",
        f"{video};{audio}",
        "-map",
        "[v]",
        "-map",
        "[a]",
        "-frames:v",
        str(frames),
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
        str(round(RATE * 2)),
        "-color_primaries",
        "bt709",
        "-color_trc",
        "bt709",
        "-colorspace",
        "bt709",
        "-c:a",
        "aac",
        "-shortest",
        str(out),
    ]
    t = time.perf_counter()
    subprocess.run(cmd, check=True)
    return time.perf_counter() - t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--keep", type=Path, help="keep the media in this folder")
    args = ap.parse_args()
    try:
        import imageio_ffmpeg
    except ImportError:
        print("needs imageio-ffmpeg: .venv/bin/pip install imageio-ffmpeg", file=sys.stderr)
        return 2
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    frames = round(args.seconds * RATE)
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        clip, sound, cube = make_source(folder, frames)
        print(f"source: {W}x{H} ProRes 422 HQ, {frames} frames at 23.976 ({time.perf_counter() - t:.1f} s)")
        ours_all: list[float] = []
        theirs_all: list[float] = []
        for r in range(args.rounds):  # alternate, so that both see the same machine state
            e, n = run_posthouse(clip, sound, cube, folder / "posthouse")
            ours_all.append(e)
            theirs_all.append(run_ffmpeg(ffmpeg, clip, sound, cube, folder / "ffmpeg.mp4", n))
            print(f"round {r + 1}: posthouse {n / e:.2f} fps, ffmpeg {n / theirs_all[-1]:.2f} fps")
        ours, theirs = min(ours_all), min(theirs_all)
        version = subprocess.run([ffmpeg, "-version"], capture_output=True, text=True).stdout.split("\n")[0]
        print(f"machine: {os.cpu_count()} CPUs, {platform.machine()}, {platform.platform()}")
        print(f"python {platform.python_version()}; {version}")
        print(f"posthouse render_take: {n / ours:6.2f} fps ({ours:.1f} s)")
        print(f"ffmpeg CLI           : {n / theirs:6.2f} fps ({theirs:.1f} s)")
        print(f"ratio posthouse/ffmpeg (best of {args.rounds}): {theirs / ours:.2f}x")
        if args.keep is None:
            shutil.rmtree(folder / "posthouse", ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
