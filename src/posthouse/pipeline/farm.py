"""The render farm: a Dask distributed cluster, or this machine when there is none.

``posthouse farm scheduler`` runs :func:`run_scheduler` on one machine; ``posthouse farm worker
tcp://HOST:8786`` runs :func:`run_worker` on every render node (each under a nanny that restarts it if it
dies; the scheduler re-runs the chunks a dead worker held). Storage is shared, as in a post house: every
node sees the project, the media and the outputs at the same paths. Jobs pick their executor with
:func:`get_farm_executor`: a scheduler address (or ``POSTHOUSE_CLUSTER``) means the farm, nothing means
local worker processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from posthouse.core.errors import UsageError
from posthouse.core.jobs import CLUSTER_ENV, DaskExecutor, Executor, get_executor
from posthouse.core.progress import NULL_PROGRESS, CancelToken, Progress

if TYPE_CHECKING:
    from posthouse.picture.dailies import DailiesOutput, DailiesTake
    from posthouse.pipeline.lineage import Lineage

__all__ = [
    "DEFAULT_PORT",
    "FARM_ENV",
    "farm_dailies",
    "farm_info",
    "farm_qc",
    "get_farm_executor",
    "local_farm",
    "run_scheduler",
    "run_worker",
]

DEFAULT_PORT = 8786
FARM_ENV = CLUSTER_ENV
"""The environment variable naming the farm's scheduler (shared with every ``--cluster`` option)."""


def _distributed() -> Any:
    return importlib.import_module("distributed")


def get_farm_executor(
    address: Any = None, *, workers: int | None = None, connect_timeout: float = 10.0
) -> Executor:
    """The executor for a farm job: a scheduler address (``tcp://HOST:8786``), a ``LocalCluster`` or
    ``Client`` runs on Dask; ``None`` uses ``POSTHOUSE_CLUSTER`` when set, else ``workers`` local processes
    (``"serial"`` runs in this process). :class:`UsageError` when the scheduler cannot be reached."""
    if address is None or isinstance(address, str):
        return get_executor(address or None, workers, connect_timeout=connect_timeout)
    return DaskExecutor(address, connect_timeout=connect_timeout)


def local_farm(workers: int = 2, *, threads_per_worker: int = 1, processes: bool = True) -> Any:
    """A Dask ``LocalCluster`` on this machine (for tests and benchmarks); close it when done."""
    dd = _distributed()
    return dd.LocalCluster(
        n_workers=workers,
        threads_per_worker=threads_per_worker,
        processes=processes,
        dashboard_address=":0",
        silence_logs=40,
    )


def _address(address: str) -> str:
    text = address.strip()
    if not text:
        raise UsageError("no scheduler address given", hint="e.g. tcp://render01:8786")
    if "://" not in text:
        text = f"tcp://{text}"
    if text.startswith("tcp://") and ":" not in text[len("tcp://") :]:
        text = f"{text}:{DEFAULT_PORT}"
    return text


async def _scheduler(host: str | None, port: int, ready: Callable[[str], None] | None) -> None:
    dd = _distributed()
    async with dd.Scheduler(host=host, port=port, dashboard=False, dashboard_address=None) as scheduler:
        if ready is not None:
            ready(str(scheduler.address))
        await scheduler.finished()


def run_scheduler(
    *, host: str | None = None, port: int = DEFAULT_PORT, ready: Callable[[str], None] | None = None
) -> None:
    """Run the farm's scheduler until interrupted; ``ready(address)`` is called once it listens."""
    try:
        asyncio.run(_scheduler(host, port, ready))
    except OSError as exc:
        raise UsageError(
            f"cannot start the scheduler on port {port}: {exc}", hint="choose another --port"
        ) from exc


async def _worker(address: str, nthreads: int, name: str | None, ready: Callable[[str], None] | None) -> None:
    dd = _distributed()
    async with dd.Nanny(address, nthreads=nthreads, name=name, dashboard=False) as nanny:
        if ready is not None:
            ready(str(nanny.worker_address))
        await nanny.finished()


def run_worker(
    address: str,
    *,
    nthreads: int = 1,
    name: str | None = None,
    connect_timeout: float = 30.0,
    ready: Callable[[str], None] | None = None,
) -> None:
    """Run one render node for the scheduler at ``address`` until interrupted (a nanny restarts the worker
    process when it dies). :class:`UsageError` when the scheduler cannot be reached in time."""
    if nthreads < 1:
        raise UsageError(f"--nthreads must be at least 1, not {nthreads}")
    target = _address(address)

    async def main() -> None:
        try:
            await asyncio.wait_for(_reachable(target), connect_timeout)
        except (TimeoutError, OSError) as exc:
            raise UsageError(
                f"cannot reach the farm scheduler at {target} within {connect_timeout:g} s",
                hint="start it with `posthouse farm scheduler` and check the address and firewall",
            ) from exc
        await _worker(target, nthreads, name, ready)

    asyncio.run(main())


async def _reachable(address: str) -> None:
    comm = importlib.import_module("distributed.comm")
    while True:
        with contextlib.suppress(OSError):
            conn = await comm.connect(address, timeout=2)
            await conn.close()
            return
        await asyncio.sleep(0.5)


def farm_info(address: str, *, connect_timeout: float = 10.0) -> dict[str, Any]:
    """The scheduler's address and its workers (address → threads)."""
    ex = get_farm_executor(_address(address), connect_timeout=connect_timeout)
    try:
        assert isinstance(ex, DaskExecutor)
        nthreads: dict[str, int] = ex.client.nthreads()
        return {"scheduler": ex.address, "workers": dict(sorted(nthreads.items()))}
    finally:
        ex.close()


def farm_dailies(
    items: Sequence[DailiesTake],
    out_dir: str | Path,
    *,
    executor: Executor | None = None,
    lineage: Lineage | None = None,
    lut: Path | None = None,
    cdl: Path | None = None,
    nle: bool = False,
    size: tuple[int, int] | None = None,
    force: bool = False,
    progress: Progress = NULL_PROGRESS,
    cancel: CancelToken | None = None,
) -> list[DailiesOutput]:
    """Render a dailies batch with one take per task on ``executor`` (default :func:`get_farm_executor`).

    Takes rendered before from the same inputs and settings are reused (the dailies sidecars); with
    ``lineage`` every take rendered now is recorded as a ``dailies`` stage run (picture, sound, LUT and
    CDL by content → review and NLE movies), so ``posthouse status`` shows when a take's dailies are stale.
    """
    from posthouse.picture.dailies import render_dailies

    ex = executor if executor is not None else get_farm_executor()
    logged: contextlib.AbstractContextManager[dict[str, int]] = (
        lineage.batch_job("dailies", len(items))
        if lineage is not None
        else contextlib.nullcontext({"failed": 0})
    )
    try:
        with logged as counts:
            outputs = render_dailies(
                items,
                Path(out_dir),
                lut=lut,
                cdl=cdl,
                nle=nle,
                size=size,
                executor=ex,
                progress=progress,
                cancel=cancel,
                force=force,
            )
            counts["failed"] = sum(1 for o in outputs if o.error is not None)
    finally:
        if executor is None:
            ex.close()
    if lineage is not None:
        settings = {"nle": nle, "size": list(size) if size else None}
        for item, out in zip(items, outputs, strict=True):
            if out.error is not None or out.skipped or out.review is None:
                continue
            inputs = [p for p in (item.picture, item.sound, lut, cdl) if p is not None]
            made = [p for p in (out.review, out.nle) if p is not None]
            lineage.record("dailies", inputs, settings, made, target=out.review)
    return outputs


def _qc_one(job: tuple[str, str, str]) -> dict[str, Any]:
    """The worker side of :func:`farm_qc`: check one file, write its JSON and HTML reports."""
    from posthouse.finish.qc import run_qc, write_reports

    path, spec, out_dir = job
    report = run_qc(path, spec)
    j, h = write_reports(report, out_dir)
    return {"path": path, "result": "fail" if report.failed else "pass", "json": str(j), "html": str(h)}


def farm_qc(
    paths: Sequence[str | Path],
    out_dir: str | Path,
    *,
    spec: str = "netflix",
    executor: Executor | None = None,
    lineage: Lineage | None = None,
    force: bool = False,
    progress: Progress = NULL_PROGRESS,
    cancel: CancelToken | None = None,
) -> list[dict[str, Any]]:
    """QC many files against ``spec``, one file a task on ``executor`` (default :func:`get_farm_executor`).

    Reports go to ``out_dir/STEM_qc.json`` and ``.html``. With ``lineage`` a file whose content and spec
    did not change since its last QC is not checked again (its entry says ``"fresh": true``). Returns one
    entry per file in input order; a file that cannot be read gets ``"error"`` and the others go on.
    """
    out = Path(out_dir).absolute()
    spec_inputs = [Path(spec)] if Path(spec).suffix == ".toml" else []
    settings = {"spec": spec if not spec_inputs else Path(spec).name}
    entries: list[dict[str, Any] | None] = [None] * len(paths)
    todo: list[tuple[int, tuple[str, str, str]]] = []
    for i, p in enumerate(paths):
        path = Path(p).absolute()
        report = out / f"{path.stem}_qc.json"
        if lineage is not None and not force:
            inputs = [path, *spec_inputs]
            if not lineage.why_stale("qc", inputs, settings, target=report):
                result = json.loads(report.read_text("utf-8")).get("result")
                html = str(report.with_suffix(".html"))
                entries[i] = {
                    "path": str(path),
                    "result": result,
                    "json": str(report),
                    "html": html,
                    "fresh": True,
                }
                continue
        todo.append((i, (str(path), spec, str(out))))
    ex = executor if executor is not None else get_farm_executor()
    logged: contextlib.AbstractContextManager[dict[str, int]] = (
        lineage.batch_job("qc", len(todo)) if lineage is not None else contextlib.nullcontext({"failed": 0})
    )
    try:
        with logged as counts:
            outcomes = ex.map(_qc_one, [job for _, job in todo], label="qc", progress=progress, cancel=cancel)
            counts["failed"] = sum(1 for o in outcomes if o.error is not None or o.value is None)
    finally:
        if executor is None:
            ex.close()
    for (i, job), outcome in zip(todo, outcomes, strict=True):
        if outcome.error is not None or outcome.value is None:
            entries[i] = {"path": job[0], "error": str(outcome.error)}
            continue
        entry = {**outcome.value, "fresh": False}
        entries[i] = entry
        if lineage is not None:
            made = [Path(entry["json"]), Path(entry["html"])]
            lineage.record("qc", [Path(job[0]), *spec_inputs], settings, made, target=Path(entry["json"]))
    return [e for e in entries if e is not None]
