"""Run a step over many items: in-process, on local worker processes, or on a Dask cluster.

Every long step (probing a batch of files, transcodes, renders, encodes) maps its work through an
:class:`Executor`::

    with get_executor() as ex:
        outcomes = ex.map(probe, paths, label="probing", progress=progress, cancel=token)
    report = summarize(outcomes)

The house rules kept here:

- **One bad file never sinks a batch.** ``fn(item)`` raising is captured as that item's
  :class:`Outcome` (an :class:`ErrorInfo` with the type, message and traceback); the rest proceed.
  Outcomes come back in input order. A local worker process that dies (a segfault in a decoder, out of
  memory) costs only the item that killed it: the items that were in flight are re-run one at a time
  to find the culprit. On Dask the scheduler re-runs a task whose worker died, and gives up on it
  (``KilledWorker``, captured like any error) after ``distributed.scheduler.allowed-failures`` tries.
- **Every long job shows progress**: ``progress.start(label, len(items))``, one ``advance()`` per
  finished item in completion order, ``finish()`` at the end (also when the job stops early).
- **Every long job can be cancelled**: once the :class:`~posthouse.core.progress.CancelToken` is set,
  no new work is submitted, pending work is cancelled, and ``map`` raises
  :class:`~posthouse.core.progress.Cancelled`. Items already running on local workers are stopped by
  ending those processes, so a step must write its outputs atomically (temporary name, then rename),
  as every posthouse step does.

``fn`` and the items travel to other processes: for :class:`LocalExecutor` ``fn`` must be picklable
(a module-level function, not a lambda or closure); for :class:`DaskExecutor` it is sent with
cloudpickle, and the workers need posthouse installed. Values and errors travel back the same way.
"""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing
import os
import pickle
import re
import signal
import traceback
import uuid
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar, cast

from posthouse.core.errors import PosthouseError, UsageError
from posthouse.core.progress import NULL_PROGRESS, Cancelled, CancelToken, Progress

if TYPE_CHECKING:
    from distributed import Client
    from distributed.deploy.cluster import Cluster

__all__ = [
    "CLUSTER_ENV",
    "BatchFailed",
    "DaskExecutor",
    "ErrorInfo",
    "Executor",
    "LocalExecutor",
    "Outcome",
    "SerialExecutor",
    "Summary",
    "get_executor",
    "raise_for_failures",
    "summarize",
]

T = TypeVar("T")
ItemT = TypeVar("ItemT")

CLUSTER_ENV = "POSTHOUSE_CLUSTER"
"""Environment variable naming the Dask scheduler (``tcp://HOST:8786``), ``serial`` or ``local``."""

_POLL_S = 0.1  # how often a waiting executor looks at its cancel token
_CRASH_TYPE = "WorkerCrashed"


# --------------------------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """Why one item failed: the exception's type name, its message, and the formatted traceback."""

    type: str
    message: str
    traceback: str = ""

    @classmethod
    def from_exception(cls, exc: BaseException) -> ErrorInfo:
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        return cls(type=type(exc).__qualname__, message=str(exc), traceback=text)

    def __str__(self) -> str:
        return f"{self.type}: {self.message}" if self.message else self.type


@dataclass(frozen=True, slots=True)
class Outcome(Generic[T]):
    """What became of one item: its index in the input, the item, and its value or its error."""

    index: int
    item: Any
    value: T | None = None
    error: ErrorInfo | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def unwrap(self) -> T:
        """The value; raises :class:`BatchFailed` when the item failed."""
        if self.error is not None:
            raise BatchFailed([self], total=1)
        return cast(T, self.value)


@dataclass(frozen=True, slots=True)
class Summary(Generic[T]):
    """A batch split into the outcomes that succeeded and those that failed (both in input order)."""

    succeeded: tuple[Outcome[T], ...]
    failed: tuple[Outcome[T], ...]

    @property
    def total(self) -> int:
        return len(self.succeeded) + len(self.failed)

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def exit_code(self) -> int:
        """0 when every item succeeded, 1 (partial) when any failed — what the CLI exits with."""
        return 0 if self.ok else 1


class BatchFailed(PosthouseError):
    """Some items of a batch failed (the others completed); exits the CLI with status 1."""

    exit_code = 1

    def __init__(self, failed: Sequence[Outcome[Any]], *, total: int, what: str = "items") -> None:
        self.failed = tuple(failed)
        self.total = total
        shown = "; ".join(f"{_describe(o.item)} ({o.error})" for o in self.failed[:5])
        if len(self.failed) > 5:
            shown += f"; and {len(self.failed) - 5} more"
        if total == 1 and len(self.failed) == 1:
            message = f"{_describe(self.failed[0].item)} failed: {self.failed[0].error}"
            hint = None
        else:
            message = f"{len(self.failed)} of {total} {what} failed: {shown}"
            hint = "the others completed; fix or remove the failed ones and run again"
        super().__init__(message, hint=hint)


def summarize(outcomes: Iterable[Outcome[T]]) -> Summary[T]:
    """Split outcomes into succeeded and failed."""
    done = list(outcomes)
    return Summary(tuple(o for o in done if o.ok), tuple(o for o in done if not o.ok))


def raise_for_failures(outcomes: Sequence[Outcome[T]], *, what: str = "items") -> list[T]:
    """The values in input order; raises :class:`BatchFailed` (exit code 1) naming what failed."""
    failed = [o for o in outcomes if not o.ok]
    if failed:
        raise BatchFailed(failed, total=len(outcomes), what=what)
    return [cast(T, o.value) for o in outcomes]


def _describe(item: object, limit: int = 80) -> str:
    text = str(item)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ----------------------------------------------------------------------------- running one item


@dataclass(frozen=True, slots=True)
class _Done:
    value: Any = None
    error: ErrorInfo | None = None


def _call(fn: Callable[[Any], Any], item: Any) -> _Done:
    """Run ``fn(item)`` where the work happens, turning an exception into an ErrorInfo there."""
    try:
        return _Done(value=fn(item))
    except Cancelled:
        raise
    except Exception as exc:
        tb = exc.__traceback__
        exc.__traceback__ = tb.tb_next if tb is not None else None  # drop this frame
        return _Done(error=ErrorInfo.from_exception(exc))


def _done_from_future(result: Callable[[], Any]) -> _Done:
    """A finished future's ``_Done``; an error from the machinery itself becomes the item's error."""
    try:
        return cast(_Done, result())
    except Cancelled:
        raise
    except Exception as exc:
        return _Done(error=ErrorInfo.from_exception(exc))


class _Slots(Generic[T]):
    """Outcomes filled in completion order, handed back in input order."""

    def __init__(self, items: Sequence[Any], progress: Progress) -> None:
        self._items = items
        self._progress = progress
        self._slots: list[Outcome[T] | None] = [None] * len(items)

    def put(self, index: int, done: _Done) -> None:
        self._slots[index] = Outcome(index, self._items[index], done.value, done.error)
        self._progress.advance()

    def outcomes(self) -> list[Outcome[T]]:
        assert all(o is not None for o in self._slots)
        return cast(list[Outcome[T]], self._slots)


def _check_cancel(cancel: CancelToken | None) -> None:
    if cancel is not None:
        cancel.raise_if_cancelled()


# ------------------------------------------------------------------------------------- executors


class Executor(ABC):
    """Maps a function over items with progress and cancellation; use as a context manager.

    An executor runs one ``map`` at a time (it is not meant to be shared between threads).
    """

    _closed = False

    def map(
        self,
        fn: Callable[[ItemT], T],
        items: Iterable[ItemT],
        *,
        label: str = "",
        progress: Progress = NULL_PROGRESS,
        cancel: CancelToken | None = None,
    ) -> list[Outcome[T]]:
        """Run ``fn(item)`` for every item; outcomes come back in input order.

        An item whose ``fn`` raises gets an error outcome and the others proceed. Raises
        :class:`~posthouse.core.progress.Cancelled` once ``cancel`` is set.
        """
        if self._closed:
            raise RuntimeError(f"{type(self).__name__} is closed")
        todo = list(items)
        _check_cancel(cancel)
        progress.start(label, len(todo))
        try:
            slots: _Slots[T] = _Slots(todo, progress)
            if todo:
                self._run(fn, todo, slots, label, cancel)
            return slots.outcomes()
        finally:
            progress.finish()

    @abstractmethod
    def _run(
        self,
        fn: Callable[[ItemT], T],
        items: list[ItemT],
        slots: _Slots[T],
        label: str,
        cancel: CancelToken | None,
    ) -> None:
        """Fill every slot, or raise."""

    def close(self) -> None:
        """Release workers and connections; the executor cannot be used afterwards."""
        self._closed = True

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class SerialExecutor(Executor):
    """Runs every item in this process, one after another: for debugging and tiny batches.

    ``fn`` need not be picklable. The cancel token is checked between items.
    """

    def _run(
        self,
        fn: Callable[[ItemT], T],
        items: list[ItemT],
        slots: _Slots[T],
        label: str,
        cancel: CancelToken | None,
    ) -> None:
        for index, item in enumerate(items):
            _check_cancel(cancel)
            slots.put(index, _call(fn, item))

    def __repr__(self) -> str:
        return "SerialExecutor()"


def _available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _default_start_method() -> str:
    # fork is unsafe in a process with threads (progress bars, Dask clients); forkserver is not.
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


def _ignore_sigint() -> None:
    """Worker initializer: Ctrl-C is the parent's to handle (it cancels and stops the workers)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class LocalExecutor(Executor):
    """Runs items on a pool of worker processes on this machine.

    ``workers`` defaults to the CPUs this process may use. At most ``max_in_flight`` items (default
    twice the workers) are submitted at a time, so a huge item list is never queued all at once.
    ``fn`` must be picklable: a module-level function, not a lambda, closure or nested function
    (:class:`UsageError` otherwise). Workers start with ``mp_context`` (default ``forkserver`` where
    the platform has it, else ``spawn``), so they import ``fn``'s module afresh, and a script that
    uses this executor needs the ``if __name__ == "__main__":`` guard.

    A worker that dies mid-item (segfault, ``os._exit``, out of memory) breaks the pool; the pool is
    rebuilt and the items that were in flight are re-run one at a time, so only the item that kills
    its worker again is reported failed (type ``WorkerCrashed``).
    """

    def __init__(
        self,
        workers: int | None = None,
        *,
        max_in_flight: int | None = None,
        mp_context: str | None = None,
    ) -> None:
        self.workers = workers if workers is not None else _available_cpus()
        if self.workers < 1:
            raise UsageError(f"workers must be at least 1, not {self.workers}")
        self.max_in_flight = max_in_flight if max_in_flight is not None else 2 * self.workers
        if self.max_in_flight < 1:
            raise UsageError(f"max_in_flight must be at least 1, not {self.max_in_flight}")
        self._context = multiprocessing.get_context(mp_context or _default_start_method())
        self._pool: ProcessPoolExecutor | None = None

    def __repr__(self) -> str:
        return f"LocalExecutor(workers={self.workers})"

    def _ensure_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers, mp_context=self._context, initializer=_ignore_sigint
            )
        return self._pool

    def _kill_pool(self) -> None:
        """Stop the pool now, ending the worker processes and whatever they are running."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        terminate = getattr(pool, "terminate_workers", None)  # Python 3.14+
        if terminate is not None:
            terminate()
            return
        processes = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            with contextlib.suppress(Exception):
                process.terminate()
        for process in processes:
            with contextlib.suppress(Exception):
                process.join(timeout=5)

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        super().close()

    def _run(
        self,
        fn: Callable[[ItemT], T],
        items: list[ItemT],
        slots: _Slots[T],
        label: str,
        cancel: CancelToken | None,
    ) -> None:
        try:
            pickle.dumps(fn)
        except Exception as exc:
            raise UsageError(
                f"{fn!r} cannot be sent to worker processes ({exc})",
                hint="pass a module-level function, not a lambda, closure or nested function",
            ) from exc
        pending: dict[Future[_Done], int] = {}
        suspects: deque[int] = deque()  # in flight when a worker died: re-run one at a time
        isolated: int | None = None  # the suspect running alone now
        next_index = 0
        try:
            while pending or suspects or next_index < len(items):
                _check_cancel(cancel)
                pool = self._ensure_pool()
                if suspects or isolated is not None:
                    if not pending:
                        isolated = suspects.popleft()
                        pending[pool.submit(_call, fn, items[isolated])] = isolated
                else:
                    while len(pending) < self.max_in_flight and next_index < len(items):
                        pending[pool.submit(_call, fn, items[next_index])] = next_index
                        next_index += 1
                done, _ = wait(pending, timeout=_POLL_S, return_when=FIRST_COMPLETED)
                lost: list[int] = []
                for future in done:
                    index = pending.pop(future)
                    if isinstance(future.exception(), BrokenProcessPool):
                        lost.append(index)
                        continue
                    slots.put(index, _done_from_future(future.result))
                    if index == isolated:
                        isolated = None
                if lost:
                    lost += self._salvage(pending, slots)
                    self._kill_pool()
                    if isolated is not None:  # it ran alone, so it is what killed the worker
                        slots.put(isolated, _crash_done())
                        lost.remove(isolated)
                        isolated = None
                    suspects.extend(sorted(lost))
        except BaseException:
            if pending:  # cancelled, Ctrl-C, or a failing progress callback: stop everything
                for future in pending:
                    future.cancel()
                self._kill_pool()
            raise

    @staticmethod
    def _salvage(pending: dict[Future[_Done], int], slots: _Slots[T]) -> list[int]:
        """After a worker died: keep what finished, return the indices that must run again."""
        again: list[int] = []
        for future, index in pending.items():
            if future.done() and not future.cancelled() and future.exception() is None:
                slots.put(index, future.result())
            else:
                again.append(index)
        pending.clear()
        return again


def _distributed() -> Any:
    """``dask.distributed``, imported on first use (it is slow to import and only typed in part)."""
    return importlib.import_module("distributed")


def _crash_done() -> _Done:
    message = (
        "the worker process died while running this item "
        "(a crash such as a segfault in a decoder, os._exit, or running out of memory)"
    )
    return _Done(error=ErrorInfo(type=_CRASH_TYPE, message=message))


class DaskExecutor(Executor):
    """Runs items on a Dask cluster through a ``distributed.Client``.

    ``cluster`` is a scheduler address (``tcp://HOST:8786``), an existing ``Client`` (left open on
    :meth:`close`), or a cluster object such as ``LocalCluster`` (a client is made and closed here; the
    cluster is left running). Tasks are submitted with ``pure=False``, at most ``max_in_flight`` at a
    time (default four per worker thread, at least 64). A worker that dies has its task re-run on
    another by Dask; a task that keeps killing workers fails with ``KilledWorker``. Cancelling calls
    ``client.cancel`` on everything in flight. Workers need posthouse installed.
    """

    def __init__(
        self,
        cluster: str | Client | Cluster,
        *,
        connect_timeout: float = 10.0,
        max_in_flight: int | None = None,
    ) -> None:
        dd = _distributed()
        self.max_in_flight = max_in_flight
        self._owns_client = not isinstance(cluster, dd.Client)
        self.client: Any = cast(Any, cluster)
        if not self._owns_client:
            self.address = str(self.client.scheduler.address)
            return
        self.address = cluster if isinstance(cluster, str) else str(self.client.scheduler_address)
        try:
            self.client = dd.Client(cluster, timeout=connect_timeout, set_as_default=False)
        except Exception as exc:
            raise UsageError(
                f"cannot reach the Dask scheduler at {self.address} within {connect_timeout:g} s ({exc})",
                hint=f"check that the scheduler is running and reachable, or unset {CLUSTER_ENV} "
                "to run on this machine",
            ) from exc

    def __repr__(self) -> str:
        return f"DaskExecutor({self.address!r})"

    def close(self) -> None:
        if self._owns_client and not self._closed:
            self.client.close()
        super().close()

    def _in_flight_limit(self) -> int:
        if self.max_in_flight is not None:
            return max(1, self.max_in_flight)
        nthreads: dict[str, int] = self.client.nthreads()
        threads = sum(nthreads.values())
        return max(4 * threads, 64)

    def _run(
        self,
        fn: Callable[[ItemT], T],
        items: list[ItemT],
        slots: _Slots[T],
        label: str,
        cancel: CancelToken | None,
    ) -> None:
        client = self.client
        limit = self._in_flight_limit()
        name = re.sub(r"[^\w.-]+", "_", label or getattr(fn, "__name__", "") or "item").strip("_")
        prefix = f"posthouse-{name or 'item'}-{uuid.uuid4().hex[:8]}"
        pending: dict[Any, int] = {}
        completed = _distributed().as_completed(loop=client.loop)
        next_index = 0
        try:
            while pending or next_index < len(items):
                _check_cancel(cancel)
                while len(pending) < limit and next_index < len(items):
                    future = client.submit(
                        _call, fn, items[next_index], key=f"{prefix}-{next_index}", pure=False
                    )
                    pending[future] = next_index
                    completed.add(future)
                    next_index += 1
                batch = completed.next_batch(block=False)
                if not batch:
                    with completed.thread_condition:
                        completed.thread_condition.wait(timeout=_POLL_S)
                    continue
                self._collect(batch, pending, slots)
        except BaseException:
            if pending:
                with contextlib.suppress(Exception):
                    client.cancel(list(pending))
            raise
        finally:
            completed.clear()

    def _collect(self, batch: list[Any], pending: dict[Any, int], slots: _Slots[T]) -> None:
        """Fetch a batch of finished futures' results in one round trip where possible."""
        finished = [f for f in batch if f.status == "finished"]
        values: dict[Any, _Done] = {}
        if finished:
            with contextlib.suppress(Exception):  # fall back to one at a time below
                values = dict(zip(finished, self.client.gather(finished), strict=True))
        for future in batch:
            done = values[future] if future in values else _done_from_future(future.result)
            slots.put(pending.pop(future), done)


# ----------------------------------------------------------------------------------------- choice


def get_executor(
    cluster: str | None = None,
    workers: int | None = None,
    *,
    connect_timeout: float = 10.0,
) -> Executor:
    """The executor a command should use.

    ``cluster`` (else the ``POSTHOUSE_CLUSTER`` environment variable) picks it: ``"serial"`` runs in
    this process, ``"local"`` or nothing runs on ``workers`` local processes, and anything else is a
    Dask scheduler address (``tcp://HOST:8786``) — :class:`UsageError` naming it when it cannot be
    reached within ``connect_timeout`` seconds. ``workers`` does not apply to a cluster.
    """
    choice = cluster if cluster else os.environ.get(CLUSTER_ENV, "").strip()
    if choice.lower() == "serial":
        return SerialExecutor()
    if not choice or choice.lower() == "local":
        return LocalExecutor(workers)
    return DaskExecutor(choice, connect_timeout=connect_timeout)
