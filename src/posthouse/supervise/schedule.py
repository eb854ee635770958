"""The post schedule: tasks and milestones, finish-to-start dependencies with lag, and the critical path.

Days are **working days** (Monday–Friday minus the configured holidays) unless the calendar is set to
``calendar`` (every day counts). Durations and lags are counted in those days; ``1w`` is five working days
(seven calendar days).

Conventions (the same as the usual scheduling tools, stated so nobody has to guess):

- A task of duration *d* starting on day *s* occupies days *s* … *s+d−1*; its finish date is the last one.
- A milestone (duration 0) happens at the **end** of its day; a task after it starts on the next day.
- A dependency ``A:3`` is finish-to-start with a lag of 3 days: the successor starts at the earliest three
  days after A's finish (``A`` alone means lag 0, the next day).
- ``start`` is a start-no-earlier-than date; ``start`` with ``end`` fixes the duration (end inclusive).
- ``due`` is a finish-no-later-than deadline; the project's delivery date is a deadline for every task.
- ``slip`` days push a task's start later; everything after it moves by the forward pass.

The critical path is the chain of tasks with the least total float (zero when no deadline is set);
negative float means the task, as planned, makes its deadline impossible.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

import numpy as np

from posthouse.core.errors import UsageError

__all__ = [
    "Calendar",
    "Dependency",
    "Plan",
    "ScheduleError",
    "ScheduledTask",
    "SlipReport",
    "Task",
    "compute",
    "default_template",
    "order",
    "parse_days",
    "slip",
]

_EPOCH = np.datetime64("2000-01-03", "D")  # a Monday


class ScheduleError(UsageError):
    """A schedule that cannot be planned: a cycle, an unknown task, an end before its start."""


def parse_days(text: str, *, working_days: bool = True, where: str | None = None) -> int:
    """``"7"`` → 7, ``"2w"`` → 10 working days (14 calendar days), ``"3d"`` → 3."""
    m = re.fullmatch(r"\s*(-?\d+)\s*([dDwW]?)\s*", text)
    if not m:
        raise ScheduleError(f"'{text}' is not a number of days (e.g. 5, 3d, 2w)", where=where)
    n = int(m.group(1))
    return n * (5 if working_days else 7) if m.group(2).lower() == "w" else n


@dataclass(frozen=True, slots=True)
class Calendar:
    """Which days count: working days (Mon–Fri minus holidays) or every calendar day."""

    working_days: bool = True
    holidays: tuple[date, ...] = ()

    @property
    def _mask(self) -> str:
        return "1111100" if self.working_days else "1111111"

    def _hol(self) -> list[np.datetime64]:
        return [np.datetime64(h.isoformat(), "D") for h in self.holidays]

    def index(self, d: date) -> int:
        """The day number of ``d`` (a day off counts as the next day that counts)."""
        day = np.busday_offset(
            np.datetime64(d.isoformat(), "D"), 0, roll="forward", weekmask=self._mask, holidays=self._hol()
        )
        return int(np.busday_count(_EPOCH, day, weekmask=self._mask, holidays=self._hol()))

    def day(self, index: int) -> date:
        """The date of day number ``index``."""
        day = np.busday_offset(_EPOCH, index, roll="forward", weekmask=self._mask, holidays=self._hol())
        return date.fromisoformat(str(day))

    def count(self, start: date, end: date) -> int:
        """Days that count from ``start`` to ``end``, both included."""
        return self.index(end + timedelta(days=1)) - self.index(start)

    @property
    def unit(self) -> str:
        return "working days" if self.working_days else "calendar days"


@dataclass(frozen=True, slots=True)
class Dependency:
    """Finish-to-start on ``task`` with ``lag`` days (may be negative: a lead)."""

    task: str
    lag: int = 0

    def __str__(self) -> str:
        return f"{self.task}:{self.lag}" if self.lag else self.task


@dataclass(frozen=True, slots=True)
class Task:
    """One line of the schedule; ``duration == 0`` makes it a milestone. ``line`` is its source line."""

    id: str
    name: str
    department: str = ""
    owner: str = ""
    duration: int = 0
    depends: tuple[Dependency, ...] = ()
    start: date | None = None
    end: date | None = None
    due: date | None = None
    stage: str = ""
    slip: int = 0
    line: int | None = None

    @property
    def milestone(self) -> bool:
        return self.duration == 0 and not (self.start and self.end)

    def where(self) -> str:
        return f"line {self.line}" if self.line is not None else f"task {self.id}"


@dataclass(frozen=True, slots=True)
class ScheduledTask:
    """A task with its planned dates (early start/finish), late dates, float and flags."""

    task: Task
    start: date
    finish: date
    late_start: date
    late_finish: date
    duration: int
    total_float: int
    free_float: int
    critical: bool
    done: bool
    late: bool
    at_risk: bool
    breach: bool
    deadline: date | None

    def to_dict(self) -> dict[str, Any]:
        t = self.task
        return {
            "id": t.id,
            "name": t.name,
            "department": t.department,
            "owner": t.owner,
            "stage": t.stage,
            "milestone": t.milestone,
            "duration": self.duration,
            "depends": [str(d) for d in t.depends],
            "start": self.start.isoformat(),
            "finish": self.finish.isoformat(),
            "late_start": self.late_start.isoformat(),
            "late_finish": self.late_finish.isoformat(),
            "total_float": self.total_float,
            "free_float": self.free_float,
            "critical": self.critical,
            "done": self.done,
            "late": self.late,
            "at_risk": self.at_risk,
            "breach": self.breach,
            "deadline": self.deadline.isoformat() if self.deadline else None,
            "slip": t.slip,
        }


@dataclass(frozen=True, slots=True)
class Plan:
    """The computed schedule, in topological order."""

    tasks: tuple[ScheduledTask, ...]
    calendar: Calendar
    delivery: date | None
    today: date | None
    finish: date

    def __getitem__(self, task_id: str) -> ScheduledTask:
        for t in self.tasks:
            if t.task.id == task_id:
                return t
        raise KeyError(task_id)

    @property
    def critical_path(self) -> list[str]:
        return [t.task.id for t in self.tasks if t.critical]

    @property
    def late(self) -> list[str]:
        return [t.task.id for t in self.tasks if t.late]

    @property
    def at_risk(self) -> list[str]:
        return [t.task.id for t in self.tasks if t.at_risk]

    @property
    def breaches(self) -> list[str]:
        return [t.task.id for t in self.tasks if t.breach]

    @property
    def done(self) -> list[str]:
        return [t.task.id for t in self.tasks if t.done]

    def to_dict(self) -> dict[str, Any]:
        return {
            "calendar": self.calendar.unit,
            "delivery": self.delivery.isoformat() if self.delivery else None,
            "today": self.today.isoformat() if self.today else None,
            "finish": self.finish.isoformat(),
            "critical_path": self.critical_path,
            "late": self.late,
            "at_risk": self.at_risk,
            "breaches": self.breaches,
            "done": self.done,
            "tasks": [t.to_dict() for t in self.tasks],
        }


def _find_cycle(ids: Sequence[str], succ: dict[str, list[str]], left: set[str]) -> list[str]:
    """One cycle among the nodes ``left`` (which all lie on or behind a cycle), in order."""
    node = next(i for i in ids if i in left)
    seen: dict[str, int] = {}
    path: list[str] = []
    while node not in seen:
        seen[node] = len(path)
        path.append(node)
        node = next(s for s in succ[node] if s in left)
    return path[seen[node] :]


def order(tasks: Sequence[Task]) -> list[Task]:
    """The tasks in dependency order; refuses duplicates, unknown predecessors and cycles (with lines)."""
    by_id: dict[str, Task] = {}
    for t in tasks:
        if not t.id:
            raise ScheduleError("a task has no id", where=t.where())
        if t.id in by_id:
            raise ScheduleError(
                f"task id '{t.id}' is used twice (also {by_id[t.id].where()})", where=t.where()
            )
        by_id[t.id] = t
    succ: dict[str, list[str]] = {t.id: [] for t in tasks}
    indeg = {t.id: 0 for t in tasks}
    for t in tasks:
        for d in t.depends:
            if d.task not in by_id:
                raise ScheduleError(f"task '{t.id}' depends on unknown task '{d.task}'", where=t.where())
            succ[d.task].append(t.id)
            indeg[t.id] += 1
    ids = [t.id for t in tasks]
    ready = [i for i in ids if indeg[i] == 0]
    out: list[Task] = []
    while ready:
        i = ready.pop(0)
        out.append(by_id[i])
        for s in succ[i]:
            indeg[s] -= 1
            if indeg[s] == 0:
                ready.append(s)
    if len(out) < len(tasks):
        # walk backwards through predecessors still waiting: every such walk ends in a cycle
        left = {i for i in ids if indeg[i] > 0}
        pred = {i: [d.task for d in by_id[i].depends if d.task in left] for i in left}
        cycle = list(reversed(_find_cycle(ids, pred, left)))
        lines = ", ".join(by_id[i].where() for i in cycle)
        raise ScheduleError(
            f"dependency cycle: {' -> '.join([*cycle, cycle[0]])}",
            where=lines,
            hint="remove one of these dependencies",
        )
    return out


def _validate(t: Task) -> None:
    if t.start and t.end and t.end < t.start:
        raise ScheduleError(f"task '{t.id}' ends ({t.end}) before it starts ({t.start})", where=t.where())
    if t.end and not t.start:
        raise ScheduleError(
            f"task '{t.id}' has an end but no start", where=t.where(), hint="use 'due' for a deadline"
        )
    if t.duration < 0:
        raise ScheduleError(f"task '{t.id}' has a negative duration ({t.duration})", where=t.where())


def compute(
    tasks: Sequence[Task],
    *,
    calendar: Calendar | None = None,
    delivery: date | None = None,
    today: date | None = None,
    done: Iterable[str] = (),
    at_risk_days: int = 5,
) -> Plan:
    """Forward and backward pass (CPM): early and late dates, float, critical path and flags.

    ``late``: not done and ``today`` is after its planned finish. ``breach``: its early finish is after
    its deadline (its ``due`` or the delivery date). ``at_risk``: not done, not late, and on the critical
    path or with less than ``at_risk_days`` of float.
    """
    cal = calendar or Calendar()
    if not tasks:
        raise ScheduleError("the schedule has no tasks", hint="run `posthouse schedule init` or import a CSV")
    for t in tasks:
        _validate(t)
    ordered = order(tasks)
    dur: dict[str, int] = {}
    es: dict[str, int] = {}
    ef: dict[str, int] = {}
    for t in ordered:
        d = cal.count(t.start, t.end) if t.start and t.end else t.duration
        dur[t.id] = d
        lo = max((ef[p.task] + p.lag for p in t.depends), default=None)
        if t.start is not None:
            fixed = cal.index(t.start) + (1 if d == 0 else 0)  # a milestone is at the end of its day
            lo = fixed if lo is None else max(lo, fixed)
        if lo is None:
            lo = cal.index(today or date.today()) + (1 if d == 0 else 0)
        es[t.id] = lo + t.slip
        ef[t.id] = es[t.id] + d
    project_end = max(ef.values())
    end_limit = cal.index(delivery) + 1 if delivery else project_end
    succs: dict[str, list[tuple[str, int]]] = {t.id: [] for t in ordered}
    for t in ordered:
        for p in t.depends:
            succs[p.task].append((t.id, p.lag))
    lf: dict[str, int] = {}
    ls: dict[str, int] = {}
    deadline: dict[str, int] = {}
    for t in reversed(ordered):
        limit = end_limit
        if t.due is not None:
            limit = min(limit, cal.index(t.due) + 1)
        deadline[t.id] = limit
        lf[t.id] = min([limit, *(ls[s] - lag for s, lag in succs[t.id])])
        ls[t.id] = lf[t.id] - dur[t.id]
    tf = {i: ls[i] - es[i] for i in es}
    min_float = min(tf.values())
    done_set = set(done)
    today_idx = cal.index(today) if today else None
    out: list[ScheduledTask] = []
    for t in ordered:
        i = t.id
        free = min([deadline[i], *(es[s] - lag for s, lag in succs[i])]) - ef[i]
        finish = cal.day(ef[i] - 1)
        is_done = i in done_set
        is_late = bool(not is_done and today_idx is not None and today_idx >= ef[i])
        critical = tf[i] == min_float
        has_deadline = t.due is not None or delivery is not None
        out.append(
            ScheduledTask(
                task=t,
                start=cal.day(es[i]) if dur[i] else finish,
                finish=finish,
                late_start=cal.day(ls[i]) if dur[i] else cal.day(lf[i] - 1),
                late_finish=cal.day(lf[i] - 1),
                duration=dur[i],
                total_float=tf[i],
                free_float=free,
                critical=critical,
                done=is_done,
                late=is_late,
                at_risk=not is_done and not is_late and (critical or tf[i] < at_risk_days),
                breach=has_deadline and ef[i] > deadline[i],
                deadline=cal.day(deadline[i] - 1) if has_deadline else None,
            )
        )
    return Plan(tuple(out), cal, delivery, today, cal.day(project_end - 1))


@dataclass(frozen=True, slots=True)
class SlipReport:
    """What moved when ``task`` slipped by ``days``: (id, old finish, new finish, days moved) per task."""

    task: str
    days: int
    before: Plan
    after: Plan
    moved: tuple[tuple[str, date, date, int], ...] = field(default=())

    @property
    def new_breaches(self) -> list[str]:
        old = set(self.before.breaches)
        return [i for i in self.after.breaches if i not in old]

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "days": self.days,
            "unit": self.after.calendar.unit,
            "moved": [
                {"id": i, "before": a.isoformat(), "after": b.isoformat(), "days": n}
                for i, a, b, n in self.moved
            ],
            "finish_before": self.before.finish.isoformat(),
            "finish_after": self.after.finish.isoformat(),
            "breaches": self.after.breaches,
            "new_breaches": self.new_breaches,
        }


def slip(tasks: Sequence[Task], task_id: str, days: int, **plan_kw: Any) -> tuple[list[Task], SlipReport]:
    """Push ``task_id`` later by ``days`` and report every task whose finish moves (and new breaches)."""
    if not any(t.id == task_id for t in tasks):
        known = ", ".join(t.id for t in tasks)
        raise ScheduleError(f"no task '{task_id}' in the schedule", hint=f"tasks: {known}")
    new = [replace(t, slip=t.slip + days) if t.id == task_id else t for t in tasks]
    before = compute(tasks, **plan_kw)
    after = compute(new, **plan_kw)
    cal = after.calendar
    moved: list[tuple[str, date, date, int]] = []
    for b in before.tasks:
        a = after[b.task.id]
        if a.finish != b.finish:
            delta = cal.index(a.finish) - cal.index(b.finish)
            moved.append((b.task.id, b.finish, a.finish, delta))
    return new, SlipReport(task_id, days, before, after, tuple(moved))


def _dep(*ids: str, lag: int = 0) -> tuple[Dependency, ...]:
    return tuple(Dependency(i, lag) for i in ids)


def default_template(lock: date, delivery: date, *, calendar: Calendar | None = None) -> list[Task]:
    """A feature's post schedule around a picture-lock date and a delivery date.

    Before lock: dailies, editor's, director's and producer's cuts, timed backwards from the lock.
    After lock: turnovers, spotting, dialogue/effects/ADR/Foley, score, VFX, mix, conform, grade, QC and
    deliverables. Picture lock drives every post-lock date.
    """
    cal = calendar or Calendar()
    if delivery <= lock:
        raise ScheduleError(f"delivery ({delivery}) must be after picture lock ({lock})")
    w = 5 if cal.working_days else 7  # days a week
    pre = [("dailies", 3 * w), ("editors_cut", 2 * w), ("directors_cut", 4 * w), ("producers_cut", 2 * w)]
    first_start = cal.day(cal.index(lock) + 1 - sum(d for _, d in pre))
    ed = "editorial"
    rows: list[Task] = [
        Task(
            "dailies", "Dailies & sync", ed, "assistant editor", pre[0][1], start=first_start, stage="dailies"
        ),
        Task("editors_cut", "Editor's cut", ed, "editor", pre[1][1], _dep("dailies"), stage="cut"),
        Task(
            "directors_cut", "Director's cut", ed, "director", pre[2][1], _dep("editors_cut"), stage="cut:2"
        ),
        Task(
            "producers_cut", "Producer's cut", ed, "producer", pre[3][1], _dep("directors_cut"), stage="cut:3"
        ),
        Task(
            "picture_lock",
            "Picture lock",
            ed,
            "post supervisor",
            0,
            _dep("producers_cut"),
            start=lock,
            stage="lock",
        ),
        Task(
            "turnover",
            "Turnovers (sound, music, VFX, finishing)",
            ed,
            "first assistant editor",
            2,
            _dep("picture_lock"),
            stage="turnover",
        ),
        Task(
            "sound_spotting",
            "Sound spotting session",
            "sound",
            "supervising sound editor",
            1,
            _dep("turnover"),
            stage="spotting:sound",
        ),
        Task(
            "dialogue_edit",
            "Dialogue edit",
            "sound",
            "dialogue editor",
            4 * w,
            _dep("sound_spotting"),
            stage="dialogue",
        ),
        Task(
            "sfx_edit",
            "Sound effects edit",
            "sound",
            "sound effects editor",
            4 * w,
            _dep("sound_spotting"),
            stage="sfx",
        ),
        Task(
            "adr",
            "ADR sessions",
            "sound",
            "ADR supervisor",
            w,
            _dep("sound_spotting", lag=2 * w),
            stage="adr",
        ),
        Task(
            "foley",
            "Foley sessions",
            "sound",
            "Foley artist",
            8,
            _dep("sound_spotting", lag=w),
            stage="foley",
        ),
        Task(
            "music_spotting",
            "Music spotting session",
            "music",
            "music editor",
            1,
            _dep("turnover"),
            stage="spotting:score",
        ),
        Task("compose", "Score composition", "music", "composer", 6 * w, _dep("music_spotting"), stage=""),
        Task(
            "score_record",
            "Score recording & music edit",
            "music",
            "music editor",
            3,
            _dep("compose"),
            stage="score",
        ),
        Task(
            "mix",
            "Final mix",
            "sound",
            "re-recording mixer",
            3 * w,
            _dep("dialogue_edit", "sfx_edit", "adr", "foley", "score_record"),
            stage="mix",
        ),
        Task("vfx_pulls", "VFX pulls", "vfx", "VFX editor", 2, _dep("turnover"), stage="vfx:pulls"),
        Task("vfx_shots", "VFX shot work", "vfx", "VFX supervisor", 8 * w, _dep("vfx_pulls"), stage=""),
        Task("vfx_final", "VFX finals delivered", "vfx", "VFX producer", 0, _dep("vfx_shots"), stage="vfx"),
        Task("conform", "Online conform", "finishing", "online editor", 3, _dep("turnover"), stage="conform"),
        Task(
            "grade",
            "Color grade",
            "finishing",
            "colorist",
            3 * w,
            _dep("conform", "vfx_final"),
            stage="grade",
        ),
        Task("qc", "QC", "deliverables", "QC operator", 4, _dep("grade", "mix"), stage="qc"),
        Task(
            "deliverables",
            "Deliverables (DCP, streaming, archive)",
            "deliverables",
            "post supervisor",
            2 * w,
            _dep("qc"),
            stage="deliver",
        ),
        Task(
            "delivery",
            "Delivery",
            "deliverables",
            "post supervisor",
            0,
            _dep("deliverables"),
            due=delivery,
            stage="deliver",
        ),
    ]
    return [replace(t, line=i + 2) for i, t in enumerate(rows)]
