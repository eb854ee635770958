"""The job log: stage runs and farm batches become jobs in the catalog, which the cost report charges by
the hour; a killed run is closed as interrupted at its last finished chunk, so its farm time still counts."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from posthouse.pipeline.lineage import Lineage, run_stage
from posthouse.supervise.budget import pipeline_costs
from posthouse.supervise.config import SuperviseConfig


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def _hours(job: object) -> Decimal:
    start, end = _aware(job.started_at), _aware(job.finished_at)  # type: ignore[attr-defined]
    return Decimal((end - start).total_seconds()) / 3600


def test_a_stage_run_is_a_job_charged_by_its_hours(catalog_url: str, tmp_path: Path) -> None:
    src, dst = tmp_path / "in.txt", tmp_path / "out.txt"
    src.write_text("take 1")

    def work() -> None:
        time.sleep(0.2)
        dst.write_text("rendered")

    with Lineage(catalog_url) as lineage:
        assert run_stage(lineage, "render", [src], {}, work, outputs=[dst], target=dst).state == "ran"
        [job] = lineage.catalog.jobs()
        assert job.kind == "render" and job.state == "done" and job.params == {"target": str(dst)}
        assert _hours(job) * 3600 >= Decimal("0.2")
        # a fresh stage does no work and costs nothing: no second job
        assert run_stage(lineage, "render", [src], {}, work, outputs=[dst], target=dst).state == "fresh"
        assert len(lineage.catalog.jobs()) == 1

        cfg = SuperviseConfig()
        [cost], notes = pipeline_costs(lineage.catalog, cfg)
        assert not notes
        assert cost.account == "5500" and cost.unit == "hour" and cost.rate == cfg.rate("render_hour")
        assert cost.quantity == _hours(job).quantize(Decimal("0.0001"))
        assert cost.amount == (_hours(job) * cost.rate).quantize(Decimal("0.01"))


def test_a_killed_run_is_closed_as_interrupted_at_its_last_chunk(catalog_url: str, tmp_path: Path) -> None:
    master = tmp_path / "master.mov"
    master.write_bytes(b"\0" * 64)
    out = tmp_path / "j2c"
    out.mkdir()
    killed = Lineage(catalog_url)
    killed.begin("dcp-picture", [master], {"fps": 24}, target=out)
    time.sleep(0.05)
    killed.record_chunk("dcp-picture", str(out), 0, "f0", {"files": []})
    killed.close()  # the driver died here: its job is left running

    with Lineage(catalog_url) as lineage:
        [orphan] = lineage.catalog.jobs(state="running")
        chunk_end = _aware(lineage.chunks("dcp-picture", str(out))[0].finished_at)
        lineage.begin("dcp-picture", [master], {"fps": 24}, target=out)
        lineage.record("dcp-picture", [master], {"fps": 24}, [out], target=out)
        first, second = lineage.catalog.jobs()
        assert first.id == orphan.id and first.state == "interrupted"
        assert _aware(first.finished_at) == chunk_end  # charged up to its last finished chunk
        assert second.state == "done" and not lineage.catalog.jobs(state="running")
        costs, notes = pipeline_costs(lineage.catalog, SuperviseConfig())
        assert [c.account for c in costs] == ["5600", "5600"] and not notes  # both runs spent farm time


def test_batches_are_logged_with_their_failures_and_logging_can_be_off(catalog_url: str) -> None:
    with Lineage(catalog_url) as lineage:
        with lineage.batch_job("dailies", 4, day="day01") as counts:
            counts["failed"] = 1
        with pytest.raises(RuntimeError), lineage.batch_job("qc", 2):
            raise RuntimeError("worker lost")
        dailies, qc = lineage.catalog.jobs()
        assert (dailies.state, dailies.done, dailies.failed, dailies.total) == ("partial", 3, 1, 4)
        assert dailies.params == {"day": "day01"}
        assert qc.state == "failed" and qc.message == "worker lost" and qc.finished_at is not None
    with Lineage(catalog_url, log_jobs=False) as quiet:
        with quiet.batch_job("dailies", 1):
            pass
        quiet.begin("render", [], {}, target="x")
        quiet.record("render", [], {}, [], target="x")
        assert len(quiet.catalog.jobs()) == 2  # only the two logged above
