"""`posthouse schedule …` and `posthouse budget …` through typer's CliRunner (before registration)."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import icalendar
import pytest
import typer
from typer.testing import CliRunner

from posthouse.cli.supervise import budget_app, schedule_app
from posthouse.core.project import Project

app = typer.Typer()
app.add_typer(schedule_app, name="schedule")
app.add_typer(budget_app, name="budget")
runner = CliRunner()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    project = Project.init(tmp_path / "film", name="The Last Frame")
    project.close()
    return project.root


def run(root: Path, *args: str) -> tuple[int, str]:
    res = runner.invoke(app, [*args, "--project", str(root)], env={"COLUMNS": "200"})
    return res.exit_code, res.output


def test_schedule_init_show_slip(root: Path) -> None:
    code, out = run(root, "schedule", "init", "--lock", "2027-03-01", "--delivery", "2027-06-15")
    assert code == 0, out
    assert (root / "supervise" / "schedule.csv").is_file() and (
        root / "supervise" / "supervise.toml"
    ).is_file()
    code, out = run(root, "schedule", "init", "--lock", "2027-03-01", "--delivery", "2027-06-15")
    assert code == 2 and "exists already" in out
    code, out = run(root, "schedule", "show", "--json", "--today", "2027-01-04")
    assert code == 0, out
    doc = json.loads(out)
    assert doc["delivery"] == "2027-06-15" and doc["breaches"] == []
    code, out = run(root, "schedule", "slip", "picture_lock", "1w", "--json", "--today", "2027-01-04")
    assert code == 1  # the slip breaches the delivery date
    rep = json.loads(out)
    moved = {m["id"]: m["days"] for m in rep["moved"]}
    assert moved["mix"] == moved["score_record"] == moved["vfx_final"] == moved["delivery"] == 5
    assert "delivery" in rep["new_breaches"] and rep["saved"] is False
    before = (root / "supervise" / "schedule.csv").read_bytes()
    code, out = run(root, "schedule", "slip", "picture_lock", "2", "--save")
    assert code == 0, out
    assert (root / "supervise" / "schedule.csv").read_bytes() != before
    code, out = run(root, "schedule", "--today", "2027-01-04")  # no sub-command: show
    assert code == 0 and "picture_lock" in out


def test_refused_schedule_import_changes_nothing(root: Path, tmp_path: Path) -> None:
    run(root, "schedule", "init", "--lock", "2027-03-01", "--delivery", "2027-06-15")
    saved = root / "supervise" / "schedule.csv"
    before = saved.read_bytes()
    cycle = tmp_path / "cycle.csv"
    cycle.write_text("id,name,duration,depends\nlock,Lock,0,\nmix,Mix,5,lock;qc\nqc,QC,2,mix\n")
    code, out = run(root, "schedule", "import", str(cycle))
    assert code == 2 and "cycle" in out and "line 3" in out and "line 4" in out
    backwards = tmp_path / "backwards.csv"
    backwards.write_text("id,name,start,end\nmix,Mix,2027-05-10,2027-05-01\n")
    code, out = run(root, "schedule", "import", str(backwards))
    assert code == 2 and "line 2" in out and "before start" in out
    assert saved.read_bytes() == before
    good = tmp_path / "good.csv"
    good.write_text("id,name,duration,depends\nlock,Lock,0,\nmix,Mix,5,lock:2\n")
    code, out = run(root, "schedule", "import", str(good))
    assert code == 0 and "imported 2 tasks" in out


def test_exports_csv_ics_gantt(root: Path, tmp_path: Path) -> None:
    run(root, "schedule", "init", "--lock", "2027-03-01", "--delivery", "2027-06-15")
    ics, csv_out, page = tmp_path / "post.ics", tmp_path / "post.csv", tmp_path / "gantt.html"
    for out in (ics, csv_out, page):
        code, text = run(root, "schedule", "export", str(out))
        assert code == 0, text
    cal = icalendar.Calendar.from_ical(ics.read_bytes())
    assert len(cal.walk("VEVENT")) == 23
    assert "planned_finish" in csv_out.read_text().splitlines()[0]
    assert "<svg" in page.read_text()
    code, _ = run(root, "schedule", "ics")
    assert code == 0 and (root / "supervise" / "schedule.ics").is_file()
    # the exported calendar imports back as a schedule
    code, text = run(root, "schedule", "import", str(ics))
    assert code == 0 and "imported 23 tasks" in text


def test_budget_commands(root: Path, tmp_path: Path) -> None:
    budget = tmp_path / "budget.csv"
    budget.write_text(
        "account,description,estimate,committed\n5100,Editorial,1000.00,\n5200,Sound,2000,2500\n"
    )
    invoices = tmp_path / "inv.csv"
    invoices.write_text("date,vendor,invoice,account,amount\n2027-01-10,Stage,S-1,5200,1200.00\n")
    assert run(root, "budget", "import", str(budget))[0] == 0
    assert run(root, "budget", "import-invoices", str(invoices))[0] == 0
    saved = root / "supervise" / "invoices.csv"
    before = saved.read_bytes()
    invoices.write_text('date,vendor,invoice,account,amount\n2027-01-11,Stage,S-2,5200,"12,34x"\n')
    code, out = run(root, "budget", "import-invoices", str(invoices))
    assert code == 2 and "line 2" in out and "malformed amount" in out
    assert saved.read_bytes() == before
    code, out = run(root, "budget", "config", "--currency", "EUR", "--rate", "render_hour=15.50")
    assert code == 0 and "EUR" in out
    code, out = run(root, "budget", "show", "--json", "--as-of", "2027-02-01")
    assert code == 0, out
    doc = json.loads(out)
    assert doc["currency"] == "EUR"
    sound = next(a for a in doc["accounts"] if a["account"] == "5200")
    assert (sound["invoiced"], sound["etc"], sound["variance"]) == ("1200.00", "1300.00", "-500.00")
    code, out = run(root, "budget", "show", "--csv")
    assert code == 0 and out.splitlines()[0].startswith("account,name,estimate")
    code, out = run(root, "budget", "report")
    assert code == 0, out
    html = (root / "supervise" / "cost_report.html").read_text()
    HTMLParser().feed(html)
    assert "<svg" in html and (root / "supervise" / "cost_report.csv").is_file()
    code, out = run(root, "budget")
    assert code == 0 and "Total" in out
