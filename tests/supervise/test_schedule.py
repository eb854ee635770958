"""The post schedule: CPM on a hand-computed network, slips, deadlines, and refused schedules."""

from __future__ import annotations

from datetime import date

import pytest

from posthouse.supervise.schedule import (
    Calendar,
    Dependency,
    ScheduleError,
    Task,
    compute,
    default_template,
    parse_days,
    slip,
)
from posthouse.supervise.schedule_io import parse_schedule_csv

CAL = Calendar(working_days=False)


def network() -> list[Task]:
    """A 3 d → (B 2 d | C 4 d after a 1-day lag) → D 1 d → milestone M, in calendar days."""
    return [
        Task("A", "Assemble", duration=3, start=date(2027, 1, 4)),
        Task("B", "Music spot", duration=2, depends=(Dependency("A"),)),
        Task("C", "Effects", duration=4, depends=(Dependency("A", 1),)),
        Task("D", "Mix", duration=1, depends=(Dependency("B"), Dependency("C"))),
        Task("M", "Delivered", duration=0, depends=(Dependency("D"),)),
    ]


def test_cpm_hand_computed_dates_and_float() -> None:
    plan = compute(network(), calendar=CAL, today=date(2027, 1, 1))
    want = {  # id: (start, finish, late finish, total float, free float)
        "A": ("2027-01-04", "2027-01-06", "2027-01-06", 0, 0),
        "B": ("2027-01-07", "2027-01-08", "2027-01-11", 3, 3),
        "C": ("2027-01-08", "2027-01-11", "2027-01-11", 0, 0),
        "D": ("2027-01-12", "2027-01-12", "2027-01-12", 0, 0),
        "M": ("2027-01-12", "2027-01-12", "2027-01-12", 0, 0),
    }
    for tid, (s, f, lf, tf, ff) in want.items():
        t = plan[tid]
        assert (t.start.isoformat(), t.finish.isoformat(), t.late_finish.isoformat()) == (s, f, lf), tid
        assert (t.total_float, t.free_float) == (tf, ff), tid
    assert plan.critical_path == ["A", "C", "D", "M"]
    assert plan.finish == date(2027, 1, 12)
    assert not plan.breaches


def test_deadline_gives_negative_float_and_breaches() -> None:
    early = compute(network(), calendar=CAL, delivery=date(2027, 1, 14), today=date(2027, 1, 1))
    assert early["C"].total_float == 2 and early.critical_path == ["A", "C", "D", "M"] and not early.breaches
    tight = compute(network(), calendar=CAL, delivery=date(2027, 1, 10), today=date(2027, 1, 1))
    assert tight["M"].total_float == -2
    assert tight.breaches == ["C", "D", "M"]  # each finishes after the delivery date


def test_late_and_at_risk_against_today() -> None:
    plan = compute(network(), calendar=CAL, today=date(2027, 1, 9), done=["A"])
    assert plan.late == ["B"]  # finished on the 8th as planned, and not done
    assert plan["A"].done and not plan["A"].late
    assert "C" in plan.at_risk and "D" in plan.at_risk  # critical, not done


def test_working_days_skip_weekends_and_holidays() -> None:
    cal = Calendar(working_days=True, holidays=(date(2027, 1, 12),))
    tasks = [
        Task("a", "A", duration=2, start=date(2027, 1, 8)),  # Friday
        Task("b", "B", duration=2, depends=(Dependency("a"),)),
    ]
    plan = compute(tasks, calendar=cal, today=date(2027, 1, 1))
    assert plan["a"].finish == date(2027, 1, 11)  # Fri + Mon
    assert (plan["b"].start, plan["b"].finish) == (date(2027, 1, 13), date(2027, 1, 14))  # Tue is a holiday
    assert parse_days("2w") == 10 and parse_days("2w", working_days=False) == 14 and parse_days("3d") == 3


def test_slipping_picture_lock_a_week_moves_departments_and_breaches_delivery() -> None:
    lock, delivery = date(2027, 3, 1), date(2027, 6, 15)
    tasks = default_template(lock, delivery)
    kw = {"delivery": delivery, "today": date(2027, 1, 4)}
    plan = compute(tasks, **kw)  # type: ignore[arg-type]
    assert plan["picture_lock"].finish == lock
    assert not plan.breaches and plan["delivery"].total_float == 3  # the template leaves 3 days of float
    cal = plan.calendar
    new, report = slip(tasks, "picture_lock", 7, **kw)  # type: ignore[arg-type]
    moved = {tid: delta for tid, _a, _b, delta in report.moved}
    for tid in ("turnover", "dialogue_edit", "mix", "score_record", "vfx_final", "grade", "qc", "delivery"):
        assert moved[tid] == 7, tid  # sound, music, VFX and delivery all move by the slip
        assert cal.index(report.after[tid].finish) - cal.index(plan[tid].finish) == 7
    assert "dailies" not in moved and "producers_cut" not in moved  # what comes before lock does not move
    assert report.after["delivery"].finish == date(2027, 6, 21)  # Thu 10th + 7 working days
    assert "delivery" in report.new_breaches and report.after["delivery"].breach
    assert report.after["delivery"].total_float == -4
    assert next(t for t in new if t.id == "picture_lock").slip == 7
    # a slip within the float moves dates but breaches nothing
    _, small = slip(tasks, "picture_lock", 2, **kw)  # type: ignore[arg-type]
    assert small.moved and not small.new_breaches


def test_cycle_refused_with_the_lines_of_its_tasks() -> None:
    text = "id,name,duration,depends\na,A,1,\nb,B,2,a;d\nc,C,1,b\nd,D,1,c\ne,E,1,a\n"
    with pytest.raises(ScheduleError) as exc:
        parse_schedule_csv(text, source="plan.csv")
    msg = str(exc.value)
    assert "cycle" in msg and "plan.csv" in msg
    for line in ("line 3", "line 4", "line 5"):
        assert line in msg
    assert "line 2" not in msg and "line 6" not in msg


def test_end_before_start_refused_with_line_and_reason() -> None:
    text = "id,name,start,end\nok,Fine,2027-01-04,2027-01-08\nbad,Backwards,2027-01-05,2027-01-01\n"
    with pytest.raises(ScheduleError) as exc:
        parse_schedule_csv(text)
    msg = str(exc.value)
    assert "line 3" in msg and "before start" in msg and "line 2" not in msg


def test_bad_fields_and_unknown_dependency_named() -> None:
    with pytest.raises(ScheduleError, match=r"line 2: .*'soon' is not a date"):
        parse_schedule_csv("id,name,start\nx,X,soon\n")
    with pytest.raises(ScheduleError, match=r"line 2: 'three' is not a number of days"):
        parse_schedule_csv("id,name,duration\nx,X,three\n")
    with pytest.raises(ScheduleError, match=r"line 3.*unknown task 'nope'"):
        parse_schedule_csv("id,name,depends\nx,X,\ny,Y,nope\n")
    with pytest.raises(ScheduleError, match=r"line 3.*used twice"):
        parse_schedule_csv("id,name\nx,X\nx,Again\n")
    with pytest.raises(ScheduleError, match="unknown column"):
        parse_schedule_csv("id,name,colour\nx,X,red\n")


def test_start_and_end_fix_the_duration() -> None:
    tasks = parse_schedule_csv("id,name,start,end\nx,X,2027-01-04,2027-01-08\n")
    plan = compute(tasks, today=date(2027, 1, 1))
    assert plan["x"].duration == 5 and plan["x"].finish == date(2027, 1, 8)
