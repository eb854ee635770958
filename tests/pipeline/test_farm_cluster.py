"""The farm with real worker processes: a worker that dies mid-chunk has its chunk re-run, and the
`posthouse farm scheduler` / `farm worker` / `farm dcp` commands run a job end to end."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import cloudpickle
import pytest
import typer
from typer.testing import CliRunner

from conftest import make_movie
from posthouse.cli import farm as farm_cli
from posthouse.core.fsutil import atomic_write_text
from posthouse.core.jobs import DaskExecutor
from posthouse.pipeline.chunks import FrameRange, run_chunked, split_frames
from posthouse.pipeline.farm import local_farm
from posthouse.pipeline.lineage import Lineage

cloudpickle.register_pickle_by_value(sys.modules[__name__])  # worker processes cannot import tests


def _die_once(folder: str, frames: FrameRange) -> dict[str, Any]:
    """Write one file per frame; the first time chunk 1 runs, kill the worker process mid-chunk."""
    out = Path(folder)
    files = []
    for i in range(frames.start, frames.stop):
        if i == frames.start + 1 and frames.start == 3 and not (out / "died").exists():
            (out / "died").write_text(str(os.getpid()))
            os._exit(1)  # a segfault, an OOM kill: no exception, the process is gone
        path = out / f"{i:04d}.txt"
        atomic_write_text(path, f"frame {i} by {os.getpid()}")
        files.append(str(path))
    return {"files": files}


@pytest.mark.slow
def test_a_worker_dying_mid_chunk_has_its_chunk_rerun(tmp_path: Path) -> None:
    ranges = split_frames(9, chunks=3)  # 0-2, 3-5, 6-8
    with (
        local_farm(2, processes=True) as cluster,
        DaskExecutor(cluster) as ex,
        Lineage(f"sqlite:///{tmp_path / 'catalog.db'}") as lineage,
    ):
        result = run_chunked(
            "test",
            "frames",
            _die_once,
            str(tmp_path),
            ranges,
            base_fingerprint="x",
            executor=ex,
            lineage=lineage,
        )
    died = int((tmp_path / "died").read_text())
    assert result.ran == [0, 1, 2]
    files = sorted(tmp_path.glob("*.txt"))
    assert [p.name for p in files] == [f"{i:04d}.txt" for i in range(9)]  # none dropped, none doubled
    # frame 3 was written before the crash; chunk 1 then ran again in full on a live worker
    writers = {p.name: int(p.read_text().split()[-1]) for p in files}
    assert writers["0004.txt"] != died and writers["0005.txt"] != died
    assert sorted(lineage.chunks("test", "frames")) == [0, 1, 2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


_CLI = """
import sys
import typer
from posthouse.cli import farm

if __name__ == "__main__":  # the worker's nanny starts its process with spawn
    app = typer.Typer()
    app.add_typer(farm.app, name="farm")
    app.command("status")(farm.status)
    app(sys.argv[1:])
"""


@pytest.mark.slow
def test_farm_commands_run_a_dcp_encode_on_a_scheduler_and_worker(tmp_path: Path) -> None:
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    script = tmp_path / "cli.py"
    script.write_text(_CLI)
    env = {**os.environ, "POSTHOUSE_CLUSTER": ""}
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), "farm", "scheduler", "--port", str(port), "--host", "127.0.0.1"],
            env=env,
        )
    ]
    try:
        procs.append(
            subprocess.Popen(
                [sys.executable, str(script), "farm", "worker", address, "--nthreads", "2"], env=env
            )
        )
        app = typer.Typer()
        app.add_typer(farm_cli.app, name="farm")
        runner = CliRunner()
        deadline = time.monotonic() + 60
        while True:
            info = runner.invoke(app, ["farm", "info", address, "--json"])
            if info.exit_code == 0 and json.loads(info.stdout)["workers"]:
                break
            assert time.monotonic() < deadline, info.output
            time.sleep(0.5)
        master = make_movie(tmp_path / "master.mov", frames=12, size=(256, 144), audio_channels=0)
        out = tmp_path / "j2k"
        args = ["farm", "dcp", str(master), str(out), "--chunk", "4", "--farm", address, "--json"]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        data = json.loads(result.stdout)
        assert data["state"] == "ran" and data["chunks"] == 3 and data["frames"] == 12
        assert sorted(p.name for p in out.glob("*.j2c")) == [f"{i:06d}.j2c" for i in range(12)]
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_worker_without_a_scheduler_is_a_clear_error() -> None:
    app = typer.Typer()
    app.add_typer(farm_cli.app, name="farm")
    port = _free_port()
    result = CliRunner().invoke(app, ["farm", "worker", f"127.0.0.1:{port}", "--timeout", "1"])
    assert result.exit_code == 2
    assert f"tcp://127.0.0.1:{port}" in result.output and "farm scheduler" in result.output
