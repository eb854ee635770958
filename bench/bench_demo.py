"""The end-to-end demo's wall time per stage: a fresh run from nothing, then the same run again (everything
finished is kept, so the second run measures what resuming costs).

    .venv/bin/python bench/bench_demo.py [--dir DIR] [--workers N]

Prints one row per stage (fresh seconds, re-run seconds, share of the fresh total) and the totals.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

from posthouse.core.jobs import get_executor
from posthouse.demo.run import run_demo


def _run(root: Path, workers: int) -> tuple[dict[str, float], float, bool]:
    start = time.perf_counter()
    with get_executor(workers=workers) as ex:
        report = run_demo(root, executor=ex)
    return report.timings, time.perf_counter() - start, report.ok


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", type=Path, default=None, help="where to run (default: a temporary folder)")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    root = args.dir or Path(tempfile.mkdtemp(prefix="bench-demo-"))
    shutil.rmtree(root, ignore_errors=True)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    fresh, fresh_total, ok1 = _run(root, args.workers)
    again, again_total, ok2 = _run(root, args.workers)
    print(f"\n{'stage':28s} {'fresh s':>9s} {'re-run s':>9s} {'share':>7s}")
    for stage, secs in fresh.items():
        print(f"{stage:28s} {secs:9.1f} {again.get(stage, 0.0):9.1f} {secs / fresh_total:7.1%}")
    print(f"{'total (wall)':28s} {fresh_total:9.1f} {again_total:9.1f}")
    print(f"re-run / fresh: {again_total / fresh_total:.3f}; report ok: {ok1 and ok2}")
    if args.dir is None:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
