"""Offload throughput: posthouse's verified offload vs ``cp -r`` followed by ``xxhsum`` on the copy.

Writes a fake camera card (by default 8 files of 256 MiB, 2 GiB in all, random bytes) in a temporary folder
on the disk being measured, then copies it to a fresh folder on the same disk, alternately with
``posthouse.picture.offload.offload`` (one read of the source into xxh64 and the copy, fsync, the copy
dropped from the page cache and read back from the disk, compared, renamed, plus the ASC MHL) and with
``cp -r`` then ``xxhsum -H64`` over the copies: without ``sync`` (the copies may still be in memory only and
xxhsum reads them from the page cache), with ``sync``, and with ``sync`` plus the copies dropped from the page
cache so that xxhsum reads them back from the disk, the same work posthouse does. Prints MB/s (best and
median of the rounds) and the ratios; it also checks that all computed the same xxh64s.

The page cache is not dropped between runs (that needs root's ``/proc/sys/vm/drop_caches`` and disturbs a
shared machine), so the source is read from memory by all (it was just written); before each run ``sync``
writes back what the previous run left, so no run pays for another. Needs ``xxhsum`` (Debian:
``apt-get install -y --no-install-recommends xxhash``).

    .venv/bin/python bench/bench_offload.py [--files 8] [--mib 256] [--rounds 5] [--dir /mnt/raid/tmp]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from posthouse.picture.mhl import parse_hashlist
from posthouse.picture.offload import offload


def _make_card(card: Path, files: int, mib: int) -> int:
    card.mkdir(parents=True)
    block = 8 << 20
    for i in range(files):
        with open(card / f"A001C{i + 1:03d}_261124_R1AB.mxf", "wb") as fh:
            for _ in range(mib * (1 << 20) // block):
                fh.write(os.urandom(block))
    os.sync()
    return files * mib * (1 << 20)


def _fresh(dest: Path) -> None:
    shutil.rmtree(dest, ignore_errors=True)
    os.sync()


def _run_posthouse(card: Path, dest: Path) -> dict[str, str]:
    report = offload([card], dest)
    if not report.ok or len(report.copied) == 0:
        raise SystemExit(f"offload failed: {report.to_dict()}")
    hl = parse_hashlist(report.mhl[0])
    return {m.path: next(h.value for h in m.hashes if h.format == "xxh64") for m in hl.hashes}


def _run_peer(card: Path, dest: Path, *, sync: bool, from_disk: bool = False) -> dict[str, str]:
    subprocess.run(["cp", "-r", str(card), str(dest)], check=True)
    if sync:
        os.sync()
    files = sorted(p for p in dest.rglob("*") if p.is_file())
    if from_disk:  # what `dd if=F iflag=nocache count=0` does: xxhsum then reads the copies from the disk
        for f in files:
            fd = os.open(f, os.O_RDONLY)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            os.close(fd)
    out = subprocess.run(["xxhsum", "-H64", *map(str, files)], check=True, capture_output=True, text=True)
    sums = {}
    for line in out.stdout.splitlines():
        value, name = line.split(maxsplit=1)
        sums[Path(name).relative_to(dest).as_posix()] = value
    return sums


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=8)
    ap.add_argument("--mib", type=int, default=256, help="size of each file in MiB")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--dir", type=Path, default=None, help="folder on the disk to measure (default: $TMPDIR)")
    args = ap.parse_args()
    if not shutil.which("xxhsum") or not shutil.which("cp"):
        print("xxhsum not found: apt-get install -y --no-install-recommends xxhash", file=sys.stderr)
        return 2
    version = subprocess.run(["xxhsum", "--version"], capture_output=True, text=True)
    py = platform.python_version()
    print(f"{platform.node()}: {os.cpu_count()} CPUs, {platform.platform()}, Python {py}")
    print(f"peer: cp (coreutils) + {(version.stdout or version.stderr).strip().splitlines()[0]}")
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="bench_offload_") as tmp:
        root = Path(tmp)
        card = root / "src" / "A001"
        total = _make_card(card, args.files, args.mib)
        print(f"card: {args.files} files x {args.mib} MiB = {total / 1e9:.2f} GB in {root}")
        runs: dict[str, Callable[[Path], dict[str, str]]] = {
            "posthouse offload": lambda d: _run_posthouse(card, d),
            "cp+sync+xxhsum (disk)": lambda d: _run_peer(card, d / "A001", sync=True, from_disk=True),
            "cp -r + sync + xxhsum": lambda d: _run_peer(card, d / "A001", sync=True),
            "cp -r + xxhsum": lambda d: _run_peer(card, d / "A001", sync=False),
        }
        rates: dict[str, list[float]] = {name: [] for name in runs}
        sums: dict[str, dict[str, str]] = {}
        for rnd in range(args.rounds):
            order = list(runs) if rnd % 2 == 0 else list(reversed(runs))
            for name in order:
                dest = root / "dst"
                _fresh(dest)
                dest.mkdir()
                t = time.perf_counter()
                sums[name] = runs[name](dest)
                rates[name].append(total / (time.perf_counter() - t) / 1e6)
            print(f"round {rnd + 1}: " + ", ".join(f"{n} {rates[n][-1]:.0f} MB/s" for n in runs), flush=True)
        _fresh(root / "dst")
        first = next(iter(sums.values()))
        if any(s != first for s in sums.values()):
            print("hash mismatch between posthouse and xxhsum!", file=sys.stderr)
            return 1
    ours = rates["posthouse offload"]
    print(f"\n{'':24} {'best MB/s':>10} {'median':>8}  posthouse / this: best (median)")
    for name, vals in rates.items():
        print(
            f"{name:24} {max(vals):10.0f} {statistics.median(vals):8.0f}  "
            f"{max(ours) / max(vals):.2f}x (median {statistics.median(ours) / statistics.median(vals):.2f}x)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
