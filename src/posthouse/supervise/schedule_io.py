"""The schedule on disk: CSV (``PROJECT/supervise/schedule.csv``) and iCalendar (.ics) for calendars.

CSV columns (header on line 1; ``id`` and ``name`` required, the rest optional)::

    id,name,department,owner,duration,depends,start,end,due,stage,slip

``duration`` in days (``10``, ``2w``); ``depends`` is ``;``-separated task ids, each with an optional lag
(``turnover:2``); dates are ``YYYY-MM-DD``. An exported CSV also carries the planned dates
(``planned_start``, ``planned_finish``, ``total_float``, ``critical``, ``done``); they are ignored on import.

Every bad line is refused with its number and the reason; a refused import writes nothing.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from posthouse.core.errors import ProjectError
from posthouse.core.fsutil import atomic_write_text
from posthouse.supervise.config import supervise_dir
from posthouse.supervise.schedule import (
    Calendar,
    Dependency,
    Plan,
    ScheduleError,
    Task,
    compute,
    order,
    parse_days,
)

__all__ = [
    "COLUMNS",
    "SCHEDULE_FILE",
    "load_schedule",
    "parse_schedule_csv",
    "read_ics",
    "save_schedule",
    "schedule_csv",
    "schedule_path",
    "tasks_from_ics",
    "write_ics",
]

SCHEDULE_FILE = "schedule.csv"
COLUMNS = ("id", "name", "department", "owner", "duration", "depends", "start", "end", "due", "stage", "slip")
COMPUTED = ("planned_start", "planned_finish", "late_finish", "total_float", "critical", "done", "late")


def schedule_path(root: str | Path) -> Path:
    """``PROJECT/supervise/schedule.csv``."""
    return supervise_dir(root) / SCHEDULE_FILE


def _parse_date(text: str, col: str) -> date | None:
    text = text.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{col} '{text}' is not a date (YYYY-MM-DD)") from None


def _parse_depends(text: str, working_days: bool) -> tuple[Dependency, ...]:
    out: list[Dependency] = []
    for part in text.replace(",", ";").split(";"):
        part = part.strip()
        if not part:
            continue
        tid, _, lag = part.partition(":")
        if not tid.strip():
            raise ValueError(f"dependency '{part}' has no task id")
        try:
            out.append(Dependency(tid.strip(), parse_days(lag, working_days=working_days) if lag else 0))
        except ScheduleError:
            raise ValueError(f"dependency '{part}': lag '{lag}' is not a number of days") from None
    return tuple(out)


def parse_schedule_csv(
    text: str, *, source: str | Path = "schedule.csv", calendar: Calendar | None = None
) -> list[Task]:
    """Tasks from CSV text; every problem is reported with its line number, then the graph is checked."""
    cal = calendar or Calendar()
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    if not header:
        raise ScheduleError("empty file: no header line", path=source, where="line 1")
    reader.fieldnames = header
    unknown = [h for h in header if h and h not in COLUMNS and h not in COMPUTED]
    if unknown:
        raise ScheduleError(
            f"unknown column(s) {', '.join(unknown)}",
            path=source,
            where="line 1",
            hint=f"columns: {', '.join(COLUMNS)}",
        )
    for need in ("id", "name"):
        if need not in header:
            raise ScheduleError(f"no '{need}' column", path=source, where="line 1")
    tasks: list[Task] = []
    problems: list[str] = []
    for row in reader:
        line = reader.line_num
        if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
            continue
        if None in row:
            problems.append(f"line {line}: more fields than columns")
            continue
        get = {k: (v or "").strip() for k, v in row.items() if isinstance(k, str)}
        try:
            if not get.get("id"):
                raise ValueError("no task id")
            dur = get.get("duration", "")
            slip = get.get("slip", "")
            task = Task(
                id=get["id"],
                name=get.get("name") or get["id"],
                department=get.get("department", ""),
                owner=get.get("owner", ""),
                duration=parse_days(dur, working_days=cal.working_days) if dur else 0,
                depends=_parse_depends(get.get("depends", ""), cal.working_days),
                start=_parse_date(get.get("start", ""), "start"),
                end=_parse_date(get.get("end", ""), "end"),
                due=_parse_date(get.get("due", ""), "due"),
                stage=get.get("stage", ""),
                slip=parse_days(slip, working_days=cal.working_days) if slip else 0,
                line=line,
            )
            if task.start and task.end and task.end < task.start:
                raise ValueError(f"end {task.end} is before start {task.start}")
            if task.end and not task.start:
                raise ValueError("an end without a start (use 'due' for a deadline)")
            if task.duration < 0:
                raise ValueError(f"negative duration {task.duration}")
        except (ValueError, ScheduleError) as exc:
            msg = exc.message if isinstance(exc, ScheduleError) else str(exc)
            problems.append(f"line {line}: {msg}")
            continue
        tasks.append(task)
    if problems:
        raise ScheduleError(
            f"{len(problems)} bad line(s): " + "; ".join(problems),
            path=source,
            where=problems[0].split(":")[0],
        )
    if not tasks:
        raise ScheduleError("no tasks in the file", path=source)
    try:
        order(tasks)
    except ScheduleError as exc:
        raise ScheduleError(exc.message, path=source, where=exc.where, hint=exc.hint) from None
    return tasks


def _fmt_deps(t: Task) -> str:
    return ";".join(str(d) for d in t.depends)


def schedule_csv(tasks: Sequence[Task], plan: Plan | None = None) -> str:
    """CSV text of the tasks (with the planned dates when ``plan`` is given)."""
    buf = io.StringIO()
    cols = list(COLUMNS) + (list(COMPUTED) if plan else [])
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for t in tasks:
        row: list[Any] = [
            t.id,
            t.name,
            t.department,
            t.owner,
            t.duration if not (t.start and t.end) else "",
            _fmt_deps(t),
            t.start.isoformat() if t.start else "",
            t.end.isoformat() if t.end else "",
            t.due.isoformat() if t.due else "",
            t.stage,
            t.slip or "",
        ]
        if plan:
            s = plan[t.id]
            row += [
                s.start.isoformat(),
                s.finish.isoformat(),
                s.late_finish.isoformat(),
                s.total_float,
                "yes" if s.critical else "",
                "yes" if s.done else "",
                "yes" if s.late else "",
            ]
        w.writerow(row)
    return buf.getvalue()


def load_schedule(root: str | Path, *, calendar: Calendar | None = None) -> list[Task]:
    """The project's saved schedule (a ProjectError when there is none yet)."""
    path = schedule_path(root)
    if not path.is_file():
        raise ProjectError(
            "no schedule yet", path=path, hint="run `posthouse schedule init --lock DATE --delivery DATE`"
        )
    return parse_schedule_csv(path.read_text(encoding="utf-8-sig"), source=path, calendar=calendar)


def save_schedule(root: str | Path, tasks: Sequence[Task], *, calendar: Calendar | None = None) -> Path:
    """Check the tasks plan (no cycle, valid dates), then write ``schedule.csv`` atomically."""
    compute(tasks, calendar=calendar)
    path = schedule_path(root)
    atomic_write_text(path, schedule_csv(tasks))
    return path


def _uid(task_id: str, project: str) -> str:
    slug = "".join(c if c.isalnum() or c in "-_." else "-" for c in project.lower()) or "project"
    return f"{task_id}@{slug}.posthouse"


def write_ics(plan: Plan, project: str = "project", *, stamp: datetime | None = None) -> bytes:
    """An iCalendar with one all-day VEVENT per task (milestones in the ``milestone`` category).

    The UID is ``TASK@PROJECT.posthouse``, stable across exports, so calendars update events in place.
    """
    from icalendar import Calendar as ICal
    from icalendar import Event

    cal = ICal()
    cal.add("prodid", "-//posthouse//post schedule//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", f"{project} post schedule")
    now = stamp or datetime.now(UTC)
    for s in plan.tasks:
        t = s.task
        ev = Event()
        ev.add("uid", _uid(t.id, project))
        ev.add("dtstamp", now)
        ev.add("summary", t.name)
        ev.add("dtstart", s.start)
        ev.add("dtend", s.finish + timedelta(days=1))  # all-day events end the day after
        cats = [
            c
            for c in (t.department, "milestone" if t.milestone else "", "critical" if s.critical else "")
            if c
        ]
        if cats:
            ev.add("categories", cats)
        lines = [f"owner: {t.owner}" if t.owner else "", f"depends: {_fmt_deps(t)}" if t.depends else ""]
        lines.append(f"float: {s.total_float} {plan.calendar.unit}")
        ev.add("description", "\n".join(x for x in lines if x))
        ev.add("status", "CONFIRMED")
        ev.add("transp", "TRANSPARENT")
        ev.add("x-posthouse-task", t.id)
        if t.owner:
            ev.add("x-posthouse-owner", t.owner)
        if t.depends:
            ev.add("x-posthouse-depends", _fmt_deps(t))
        if t.stage:
            ev.add("x-posthouse-stage", t.stage)
        ev.add("x-posthouse-done", "TRUE" if s.done else "FALSE")
        cal.add_component(ev)
    data: bytes = cal.to_ical()
    return data


def read_ics(data: bytes, *, source: str | Path = "schedule.ics") -> list[dict[str, Any]]:
    """The events of an iCalendar as dicts: uid, id, name, start, end (inclusive), categories, fields."""
    from icalendar import Calendar as ICal

    try:
        cal = ICal.from_ical(data)
    except ValueError as exc:
        raise ScheduleError(f"not an iCalendar file: {exc}", path=source) from exc
    out: list[dict[str, Any]] = []
    for n, ev in enumerate(cal.walk("VEVENT"), start=1):
        uid = str(ev.get("uid", ""))
        start = ev.decoded("dtstart") if "dtstart" in ev else None
        if start is None:
            raise ScheduleError("event has no DTSTART", path=source, where=f"event {n} ({uid})")
        if isinstance(start, datetime):
            start = start.date()
        end = ev.decoded("dtend") if "dtend" in ev else start + timedelta(days=1)
        if isinstance(end, datetime):
            end = end.date()
        cats: list[str] = []
        raw = ev.get("categories")
        for c in raw if isinstance(raw, list) else [raw] if raw is not None else []:
            cats += [str(x) for x in c.cats]
        out.append(
            {
                "uid": uid,
                "id": str(ev.get("x-posthouse-task") or uid.split("@")[0]),
                "name": str(ev.get("summary", "")),
                "start": start,
                "end": end - timedelta(days=1),
                "categories": cats,
                "owner": str(ev.get("x-posthouse-owner", "")),
                "depends": str(ev.get("x-posthouse-depends", "")),
                "stage": str(ev.get("x-posthouse-stage", "")),
                "done": str(ev.get("x-posthouse-done", "")).upper() == "TRUE",
                "where": f"event {n} ({uid})",
            }
        )
    return out


def tasks_from_ics(
    data: bytes, *, source: str | Path = "schedule.ics", calendar: Calendar | None = None
) -> list[Task]:
    """Tasks from an iCalendar: each event becomes a task with its dates fixed (milestones keep one day)."""
    cal = calendar or Calendar()
    tasks: list[Task] = []
    for n, ev in enumerate(read_ics(data, source=source), start=1):
        milestone = "milestone" in ev["categories"]
        if ev["end"] < ev["start"]:
            raise ScheduleError(
                f"task '{ev['id']}' ends ({ev['end']}) before it starts ({ev['start']})",
                path=source,
                where=ev["where"],
            )
        dept = next((c for c in ev["categories"] if c not in ("milestone", "critical")), "")
        try:
            deps = _parse_depends(ev["depends"], cal.working_days)
        except ValueError as exc:
            raise ScheduleError(str(exc), path=source, where=ev["where"]) from None
        tasks.append(
            Task(
                id=ev["id"],
                name=ev["name"],
                department=dept,
                owner=ev["owner"],
                duration=0,
                depends=deps,
                start=ev["start"],
                end=None if milestone else ev["end"],
                stage=ev["stage"],
                line=n,
            )
        )
    try:
        order(tasks)
    except ScheduleError as exc:
        raise ScheduleError(exc.message, path=source, where=exc.where, hint=exc.hint) from None
    return tasks
