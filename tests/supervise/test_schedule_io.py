"""The schedule as CSV and as iCalendar, re-read with the `icalendar` parser."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import icalendar
import pytest

from posthouse.core.errors import ProjectError
from posthouse.supervise.schedule import compute, default_template
from posthouse.supervise.schedule_io import (
    load_schedule,
    parse_schedule_csv,
    save_schedule,
    schedule_csv,
    schedule_path,
    tasks_from_ics,
    write_ics,
)

LOCK, DELIVERY = date(2027, 3, 1), date(2027, 6, 15)


def test_csv_round_trip_keeps_every_task(tmp_path: Path) -> None:
    tasks = default_template(LOCK, DELIVERY)
    save_schedule(tmp_path, tasks)
    back = load_schedule(tmp_path)
    assert back == tasks  # ids, dependencies with lags, dates, stages, and the source lines
    plan = compute(tasks, delivery=DELIVERY, today=date(2027, 1, 4))
    exported = schedule_csv(tasks, plan)
    assert "planned_start" in exported.splitlines()[0]
    assert parse_schedule_csv(exported) == tasks  # the planned columns are ignored on import


def test_no_schedule_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match="schedule init"):
        load_schedule(tmp_path)


def test_ics_reloads_with_icalendar_with_the_same_tasks_and_dates() -> None:
    tasks = default_template(LOCK, DELIVERY)
    plan = compute(tasks, delivery=DELIVERY, today=date(2027, 1, 4), done=["dailies"])
    data = write_ics(plan, "The Last Frame")
    cal = icalendar.Calendar.from_ical(data)
    events = {str(ev["x-posthouse-task"]): ev for ev in cal.walk("VEVENT")}
    assert set(events) == {t.id for t in tasks}
    for st in plan.tasks:
        ev = events[st.task.id]
        assert str(ev["summary"]) == st.task.name
        assert ev.decoded("dtstart") == st.start
        assert ev.decoded("dtend") == st.finish + timedelta(days=1)  # all-day: DTEND is exclusive
        assert str(ev["uid"]) == f"{st.task.id}@the-last-frame.posthouse"
        cats = [str(c) for c in ev["categories"].cats]
        assert st.task.department in cats
        assert ("milestone" in cats) == st.task.milestone
    # UIDs are stable from one export to the next
    again = icalendar.Calendar.from_ical(write_ics(plan, "The Last Frame"))
    assert sorted(str(e["uid"]) for e in again.walk("VEVENT")) == sorted(
        str(e["uid"]) for e in events.values()
    )
    # importing the calendar back gives tasks that plan to the same dates
    back = compute(tasks_from_ics(data), delivery=DELIVERY, today=date(2027, 1, 4))
    for st in plan.tasks:
        assert (back[st.task.id].start, back[st.task.id].finish) == (st.start, st.finish), st.task.id
        assert back[st.task.id].task.depends == st.task.depends


def test_refused_import_leaves_the_saved_schedule_byte_identical(tmp_path: Path) -> None:
    save_schedule(tmp_path, default_template(LOCK, DELIVERY))
    before = schedule_path(tmp_path).read_bytes()
    with pytest.raises(Exception, match="cycle"):
        save_schedule(tmp_path, parse_schedule_csv("id,name,depends\na,A,b\nb,B,a\n"))
    assert schedule_path(tmp_path).read_bytes() == before
    assert [p.name for p in schedule_path(tmp_path).parent.iterdir()] == ["schedule.csv"]  # no temp left
