"""Tests for posthouse.core.jobs: order, per-item errors, progress, cancellation, executor choice.

Functions handed to executors live at module level so worker processes can import them.
"""

from __future__ import annotations

import os
import pickle
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from posthouse.core.errors import UsageError
from posthouse.core.jobs import (
    CLUSTER_ENV,
    BatchFailed,
    DaskExecutor,
    ErrorInfo,
    Executor,
    LocalExecutor,
    Outcome,
    SerialExecutor,
    get_executor,
    raise_for_failures,
    summarize,
)
from posthouse.core.progress import Cancelled, CancelToken

# ----------------------------------------------------------------------------- work for the workers


def square(x: int) -> int:
    return x * x


def fail_on_odd(x: int) -> int:
    if x % 2:
        raise ValueError(f"odd number {x}")
    return x


def touch_then_sleep(job: tuple[str, int]) -> int:
    """Mark the item as started in a shared folder, then take a moment."""
    folder, index = job
    Path(folder, str(index)).touch()
    time.sleep(0.1)
    return index


def crash_on_three(x: int) -> int:
    if x == 3:
        os._exit(3)  # a worker dying as a segfaulting decoder would
    return x


def die_once(job: tuple[str, int]) -> int:
    """Kill the worker the first time any item runs; succeed everywhere after."""
    folder, index = job
    marker = Path(folder, "died")
    if index == 0 and not marker.exists():
        marker.touch()
        os._exit(1)
    return index


# ------------------------------------------------------------------------------------------ fakes


class RecordingProgress:
    """A Progress that records calls and can set a cancel token after ``cancel_after`` advances."""

    def __init__(self, cancel: CancelToken | None = None, cancel_after: int = 0) -> None:
        self.starts: list[tuple[str, int | None]] = []
        self.advanced = 0
        self.finished = 0
        self._cancel = cancel
        self._cancel_after = cancel_after

    def start(self, label: str, total: int | None) -> None:
        self.starts.append((label, total))

    def advance(self, n: int = 1) -> None:
        self.advanced += n
        if self._cancel is not None and self.advanced >= self._cancel_after:
            self._cancel.cancel()

    def finish(self) -> None:
        self.finished += 1


# --------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def dask_cluster() -> Iterator[Any]:
    from distributed import LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    try:
        yield cluster
    finally:
        cluster.close()


@pytest.fixture(scope="module")
def local_executor() -> Iterator[LocalExecutor]:
    with LocalExecutor(workers=2) as ex:
        yield ex


@pytest.fixture(scope="module")
def dask_executor(dask_cluster: Any) -> Iterator[DaskExecutor]:
    with DaskExecutor(dask_cluster) as ex:
        yield ex


@pytest.fixture(params=["serial", "local", "dask"])
def executor(request: pytest.FixtureRequest) -> Executor:
    if request.param == "serial":
        return SerialExecutor()
    ex: Executor = request.getfixturevalue(f"{request.param}_executor")
    return ex


def _started(folder: Path) -> int:
    return sum(1 for p in folder.iterdir() if p.name.isdigit())


# ------------------------------------------------------------------------------ every executor


def test_results_come_back_in_input_order(executor: Executor) -> None:
    items = list(range(20))
    outcomes = executor.map(square, items)
    assert [o.index for o in outcomes] == items
    assert [o.item for o in outcomes] == items
    assert [o.value for o in outcomes] == [x * x for x in items]
    assert all(o.ok and o.error is None for o in outcomes)


def test_one_failing_item_never_sinks_the_batch(executor: Executor) -> None:
    outcomes = executor.map(fail_on_odd, range(10))
    assert [o.ok for o in outcomes] == [x % 2 == 0 for x in range(10)]
    assert [o.value for o in outcomes if o.ok] == [0, 2, 4, 6, 8]
    bad = outcomes[3]
    assert bad.value is None and bad.error is not None
    assert bad.error.type == "ValueError"
    assert bad.error.message == "odd number 3"
    assert str(bad.error) == "ValueError: odd number 3"
    assert "in fail_on_odd" in bad.error.traceback
    assert "ValueError: odd number 3" in bad.error.traceback
    assert "in _call" not in bad.error.traceback  # the executor's own frame is left out

    report = summarize(outcomes)
    assert (report.total, len(report.succeeded), len(report.failed)) == (10, 5, 5)
    assert report.exit_code == 1 and not report.ok
    with pytest.raises(BatchFailed, match="5 of 10 items failed") as info:
        raise_for_failures(outcomes)
    assert info.value.exit_code == 1
    assert [o.index for o in info.value.failed] == [1, 3, 5, 7, 9]


def test_progress_counts_every_item(executor: Executor) -> None:
    progress = RecordingProgress()
    executor.map(fail_on_odd, range(12), label="probing", progress=progress)
    assert progress.starts == [("probing", 12)]
    assert progress.advanced == 12
    assert progress.finished == 1


def test_cancel_stops_the_work_and_the_executor_still_works(executor: Executor, tmp_path: Path) -> None:
    token = CancelToken()
    progress = RecordingProgress(token, cancel_after=2)
    jobs = [(str(tmp_path), i) for i in range(20)]
    with pytest.raises(Cancelled):
        executor.map(touch_then_sleep, jobs, label="slow", progress=progress, cancel=token)
    assert progress.finished == 1
    assert 2 <= _started(tmp_path) < len(jobs)
    if isinstance(executor, SerialExecutor):
        assert _started(tmp_path) == 2
    # the executor recovers for the next batch
    assert [o.value for o in executor.map(square, range(5))] == [0, 1, 4, 9, 16]


# ----------------------------------------------------------------------------- details


@pytest.mark.parametrize("make", [SerialExecutor, lambda: LocalExecutor(workers=2)])
def test_cancelled_before_start_runs_nothing(make: Any, tmp_path: Path) -> None:
    token = CancelToken()
    token.cancel()
    progress = RecordingProgress()
    with make() as ex, pytest.raises(Cancelled):
        ex.map(touch_then_sleep, [(str(tmp_path), 0)], progress=progress, cancel=token)
    assert _started(tmp_path) == 0
    assert progress.starts == []


def test_empty_batch(local_executor: LocalExecutor) -> None:
    progress = RecordingProgress()
    assert local_executor.map(square, [], label="nothing", progress=progress) == []
    assert progress.starts == [("nothing", 0)] and progress.finished == 1


def test_local_keeps_at_most_max_in_flight_submitted(tmp_path: Path) -> None:
    token = CancelToken()
    progress = RecordingProgress(token, cancel_after=1)
    jobs = [(str(tmp_path), i) for i in range(50)]
    with LocalExecutor(workers=2, max_in_flight=2) as ex, pytest.raises(Cancelled):
        ex.map(touch_then_sleep, jobs, progress=progress, cancel=token)
    assert 1 <= _started(tmp_path) <= 2


def test_local_worker_crash_costs_only_the_item_that_caused_it(local_executor: LocalExecutor) -> None:
    outcomes = local_executor.map(crash_on_three, range(8))
    crashed = outcomes[3]
    assert crashed.error is not None and crashed.error.type == "WorkerCrashed"
    assert "worker process died" in crashed.error.message
    assert [o.value for o in outcomes if o.index != 3] == [0, 1, 2, 4, 5, 6, 7]
    assert [o.value for o in local_executor.map(square, range(3))] == [0, 1, 4]


def test_local_rejects_a_function_workers_cannot_import() -> None:
    with LocalExecutor(workers=1) as ex, pytest.raises(UsageError, match="module-level function"):
        ex.map(lambda x: x, [1])


def test_dask_reruns_a_task_whose_worker_died(dask_executor: DaskExecutor, tmp_path: Path) -> None:
    outcomes = dask_executor.map(die_once, [(str(tmp_path), i) for i in range(4)])
    assert (tmp_path / "died").exists()
    assert [o.value for o in outcomes] == [0, 1, 2, 3]


def test_dask_leaves_a_given_client_open(dask_cluster: Any) -> None:
    from distributed import Client

    with Client(dask_cluster, set_as_default=False) as client:
        with DaskExecutor(client) as ex:
            assert [o.value for o in ex.map(square, [2, 3])] == [4, 9]
        assert client.status == "running"


def test_closed_executor_refuses_work() -> None:
    ex = SerialExecutor()
    ex.close()
    with pytest.raises(RuntimeError, match="closed"):
        ex.map(square, [1])


def test_outcome_unwrap_and_pickling() -> None:
    good: Outcome[int] = Outcome(0, "a.mov", 4)
    bad: Outcome[int] = Outcome(1, "b.mov", error=ErrorInfo("DamagedMediaError", "truncated at frame 12"))
    assert good.unwrap() == 4
    with pytest.raises(BatchFailed, match=r"b\.mov failed: DamagedMediaError: truncated at frame 12"):
        bad.unwrap()
    assert pickle.loads(pickle.dumps(bad)) == bad
    assert raise_for_failures([good]) == [4]
    assert summarize([good]).exit_code == 0


# ------------------------------------------------------------------------------- get_executor


def test_get_executor_defaults_to_local(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CLUSTER_ENV, raising=False)
    with get_executor(workers=3) as ex:
        assert isinstance(ex, LocalExecutor) and ex.workers == 3


def test_get_executor_serial_and_local_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CLUSTER_ENV, "serial")
    with get_executor() as ex:
        assert isinstance(ex, SerialExecutor)
    with get_executor("local") as ex:  # an explicit choice beats the environment
        assert isinstance(ex, LocalExecutor)


def test_get_executor_honours_the_cluster_variable(
    monkeypatch: pytest.MonkeyPatch, dask_cluster: Any
) -> None:
    monkeypatch.setenv(CLUSTER_ENV, dask_cluster.scheduler_address)
    with get_executor() as ex:
        assert isinstance(ex, DaskExecutor)
        assert ex.address == dask_cluster.scheduler_address
        assert [o.value for o in ex.map(square, [1, 2, 3])] == [1, 4, 9]


def test_get_executor_names_an_unreachable_cluster() -> None:
    with socket.socket() as sock:  # a port nothing listens on once this closes
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    began = time.monotonic()
    with pytest.raises(UsageError, match="cannot reach the Dask scheduler") as info:
        get_executor(address, connect_timeout=1)
    assert address in str(info.value)
    assert time.monotonic() - began < 10
