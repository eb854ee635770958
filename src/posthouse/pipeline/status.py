"""What is stale: every recorded stage run checked against the files as they are now.

A run is ``fresh`` when it finished and its inputs and outputs still hash as recorded; ``stale`` when an
input changed or went missing, or an output is missing or was changed by hand; ``unfinished`` when it was
killed or failed (a chunked run shows how many chunks are done, and resumes from them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from posthouse.pipeline.lineage import Lineage, _compare, _compare_outputs, file_state

__all__ = ["StageStatus", "stage_status"]


@dataclass(frozen=True, slots=True)
class StageStatus:
    """One recorded stage run: ``fresh``, ``stale`` or ``unfinished``, and why."""

    stage: str
    target: str
    state: str
    reasons: tuple[str, ...]
    inputs: int
    outputs: int
    chunks_done: int
    finished_at: datetime | None

    @property
    def stale(self) -> bool:
        return self.state != "fresh"

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "target": self.target,
            "state": self.state,
            "reasons": list(self.reasons),
            "inputs": self.inputs,
            "outputs": self.outputs,
            "chunks_done": self.chunks_done,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
        }


def stage_status(lineage: Lineage, *, stage: str | None = None) -> list[StageStatus]:
    """Check every recorded run (of ``stage`` only, when given), ordered by stage and target.

    Inputs and outputs are hashed again, so this reads every file the runs used.
    """
    result: list[StageStatus] = []
    for row in lineage.runs(stage):
        recorded_in = row.input_states()
        recorded_out = row.output_states()
        chunks = len(lineage.chunks(row.stage, row.target))
        if row.state != "done":
            reasons: list[str] = [f"last run did not finish ({row.state})"]
            if chunks:
                reasons.append(f"{chunks} chunk(s) finished: a re-run resumes from them")
            state = "unfinished"
        else:
            current = [file_state(s.path) for s in recorded_in]
            reasons = _compare(recorded_in, current, "input") + _compare_outputs(recorded_out)
            state = "stale" if reasons else "fresh"
        result.append(
            StageStatus(
                stage=row.stage,
                target=row.target,
                state=state,
                reasons=tuple(reasons),
                inputs=len(recorded_in),
                outputs=len(recorded_out),
                chunks_done=chunks,
                finished_at=row.finished_at,
            )
        )
    return result
