"""Budget and cost report: Decimal money, refused imports, pipeline costs, totals that add up, HTML."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest

from posthouse.core.catalog import JobRecord
from posthouse.core.project import Project
from posthouse.supervise.budget import (
    BudgetError,
    cost_report,
    import_budget,
    import_invoices,
    load_invoices,
    parse_money,
    storage_bytes,
)
from posthouse.supervise.config import SuperviseConfig, load_config, save_config, supervise_dir
from posthouse.supervise.report import can_see_money, cost_report_html, dashboard_summary, gantt_html
from posthouse.supervise.schedule import compute, default_template
from posthouse.supervise.schedule_io import save_schedule

BUDGET = """account,description,estimate,committed
5100,Editor and assistants,"85,000.00","85,000.00"
5200,Sound team and stage,60000,20000
5400,VFX vendor,"36,000.00",40000
5700,Facility and storage,12000,
"""
INVOICES = """date,vendor,invoice,account,amount,description
2027-01-15,Cutting Room,CR-101,5100,"17,000.00",weeks 1-2
2027-03-20,Big Stage,BS-7,Post sound,12500.50,dialogue edit
2027-04-02,Pixel Farm,PF-33,5400,$9000.10,first shots
"""


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def parse(html: str) -> Tags:
    p = Tags()
    p.feed(html)
    p.close()
    return p


def test_money_is_decimal_and_malformed_amounts_are_refused() -> None:
    assert parse_money("1,234.5") == Decimal("1234.50")
    assert parse_money("-$12") == Decimal("-12.00")
    assert parse_money(" 0.1 ") + parse_money("0.2") == Decimal("0.30")  # exact, not float
    for bad, why in (
        ("12,34x", "malformed"),
        ("12,34", "decimal commas"),
        ("1.234", "two decimals"),
        ("", "empty"),
    ):
        with pytest.raises(ValueError, match=why):
            parse_money(bad)


def test_bad_invoices_refused_with_line_and_reason_and_nothing_changes(tmp_path: Path) -> None:
    cfg = SuperviseConfig()
    good = tmp_path / "inv.csv"
    good.write_text(INVOICES)
    import_invoices(tmp_path, good, cfg)
    saved = supervise_dir(tmp_path) / "invoices.csv"
    before = saved.read_bytes()
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "date,vendor,invoice,account,amount\n"
        "2027-04-05,Pixel Farm,PF-34,5400,100.00\n"
        '2027-04-06,Pixel Farm,PF-35,5400,"12,34x"\n'
        "2027-04-07,Nowhere,N-1,9100,100.00\n"
    )
    with pytest.raises(BudgetError) as exc:
        import_invoices(tmp_path, bad, cfg)
    msg = str(exc.value)
    assert "line 3: malformed amount '12,34x'" in msg
    assert "line 4: unknown account '9100'" in msg
    assert "line 2" not in msg.split("nothing imported:")[1]  # the good line is not blamed...
    assert saved.read_bytes() == before  # ...and not imported either: all or nothing
    # the same invoice twice is refused
    with pytest.raises(BudgetError, match="line 2: invoice Cutting Room CR-101 is already recorded"):
        import_invoices(tmp_path, good, cfg)
    assert saved.read_bytes() == before
    with pytest.raises(BudgetError, match="unknown column"):
        bad.write_text("acct,amount\n5100,1.00\n")
        import_budget(tmp_path, bad, cfg)
    assert not (supervise_dir(tmp_path) / "budget.csv").exists()


def make_project(tmp_path: Path) -> Project:
    project = Project.init(tmp_path / "film", name="The Last Frame")
    root = project.root
    (root / "media").mkdir()
    (root / "media" / "A001C001.mov").write_bytes(b"\0" * 250_000)
    t0 = datetime(2027, 4, 1, 9, 0, tzinfo=UTC)
    with project.catalog.session() as s:
        s.add(
            JobRecord(
                kind="dailies",
                state="done",
                started_at=t0,
                finished_at=t0 + timedelta(minutes=12, seconds=30),
            )
        )
        s.add(
            JobRecord(
                kind="render", state="done", started_at=t0, finished_at=t0 + timedelta(hours=1, minutes=20)
            )
        )
        s.add(
            JobRecord(
                kind="deliver.streaming",
                state="failed",
                started_at=t0,
                finished_at=t0 + timedelta(seconds=70),
            )
        )
        s.add(JobRecord(kind="render", state="running", started_at=t0))
        s.add(JobRecord(kind="probe", state="done", started_at=t0, finished_at=t0 + timedelta(minutes=1)))
    cfg = SuperviseConfig(currency="EUR", storage_months=Decimal(3), delivery=date(2027, 6, 15))
    cfg.rates.update(
        render_hour=Decimal("15.00"), encode_hour=Decimal("6.00"), storage_tb_month=Decimal("40.00")
    )
    save_config(root, cfg)
    b, i = tmp_path / "budget.csv", tmp_path / "invoices.csv"
    b.write_text(BUDGET)
    i.write_text(INVOICES)
    import_budget(root, b, load_config(root))
    import_invoices(root, i, load_config(root))
    return project


def test_cost_report_adds_up_exactly(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    cfg = load_config(project.root)
    assert cfg.currency == "EUR" and cfg.rates["render_hour"] == Decimal("15.00")
    rep = cost_report(project.root, cfg, catalog=project.catalog, as_of=date(2027, 4, 10))
    invoices = load_invoices(project.root, cfg)
    assert sum(i.amount for i in invoices) == Decimal("38500.60")
    by = {c.source.split(" (")[0]: c.amount for c in rep.pipeline}
    assert by["job 1 dailies"] == Decimal("1.25")  # 12.5 min × 6.00/h
    assert by["job 2 render"] == Decimal("20.00")  # 1 h 20 × 15.00/h
    assert by["job 3 deliver.streaming"] == Decimal("0.12")  # 70 s × 6.00/h, failed jobs still cost
    storage = next(c for c in rep.pipeline if c.unit == "TB-month")
    size = storage_bytes(project.root)
    assert size >= 250_000
    assert storage.amount == (Decimal(size) / 10**12 * 3 * Decimal("40.00")).quantize(Decimal("0.01"))
    assert any("job 4" in n and "running" in n for n in rep.notes)  # running jobs are not charged yet
    assert any("job 5" in n and "no rate" in n for n in rep.notes)
    tot = rep.totals
    pipeline_total = sum(c.amount for c in rep.pipeline)
    assert tot["actual"] == sum(i.amount for i in invoices) + pipeline_total  # exactly, in Decimal
    assert all(isinstance(v, Decimal) for v in tot.values())
    acc = {a.code: a for a in rep.accounts}
    assert acc["5100"].actual == Decimal("17001.25")
    assert acc["5200"].invoiced == Decimal("12500.50")
    assert acc["5400"].etc == Decimal("30999.90")  # committed 40,000 over the 36,000 estimate
    assert acc["5400"].variance == Decimal("-4000.00")  # will overrun by the over-commitment
    assert acc["5500"].actual == Decimal("20.00") and acc["5500"].etc == 0  # no budget line: overrun
    assert acc["5500"].variance == Decimal("-20.00")
    assert tot["estimate"] == Decimal("193000.00")
    assert tot["eac"] == tot["actual"] + tot["etc"] and tot["variance"] == tot["estimate"] - tot["eac"]
    csv_total = rep.to_csv().strip().splitlines()[-1].split(",")
    assert csv_total[1] == "Total" and csv_total[6] == str(tot["actual"])
    project.close()


def test_html_report_parses_and_has_the_chart(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    rep = cost_report(
        project.root, load_config(project.root), catalog=project.catalog, as_of=date(2027, 4, 10)
    )
    plan = compute(default_template(date(2027, 3, 1), date(2027, 6, 15)), delivery=date(2027, 6, 15))
    html = cost_report_html(rep, project="The Last Frame <test>", schedule=plan)
    tags = parse(html)
    names = [t for t, _ in tags.tags]
    assert names.count("svg") == 2  # the cost chart and the Gantt
    bars = [a for t, a in tags.tags if t == "rect" and "bar" in (a.get("class") or "")]
    assert len(bars) == 3 * len(rep.accounts)  # estimate, actual, EAC per account
    widths = {a["class"]: float(a["width"] or 0) for a in bars if a.get("class")}
    assert max(widths.values()) > 0
    assert "The Last Frame &lt;test&gt;" in html and "<script" not in html
    assert "38,520.57" in html or f"{rep.totals['actual']:,.2f}" in html
    project.close()


def test_gantt_fragment_marks_milestones_critical_and_breaches() -> None:
    tasks = default_template(date(2027, 3, 1), date(2027, 6, 15))
    plan = compute(tasks, delivery=date(2027, 6, 8), today=date(2027, 3, 10), done=["dailies"])
    frag = gantt_html(plan)
    tags = parse(frag)
    rects = [a for t, a in tags.tags if t == "rect"]
    diamonds = [a for t, a in tags.tags if t == "polygon"]
    assert len(rects) + len(diamonds) == len(tasks)
    assert len(diamonds) == sum(t.milestone for t in tasks)
    classes = " ".join(a.get("class") or "" for a in rects + diamonds)
    assert "done" in classes and "breach" in classes
    assert any(t == "line" and (a.get("class") == "delivery") for t, a in tags.tags)


def test_dashboard_shows_money_only_to_allowed_roles(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    save_schedule(project.root, default_template(date(2027, 3, 1), date(2027, 6, 15)))
    (project.root / "dailies").mkdir(exist_ok=True)
    (project.root / "dailies" / "a.mp4").write_bytes(b"x")
    reviewer = dashboard_summary(project, role="reviewer", today=date(2027, 3, 10))
    assert "budget" not in reviewer and not reviewer["money_visible"]
    sched = reviewer["schedule"]
    assert sched["status"] == "late" and "turnover" in sched["late"]
    assert sched["done"] >= 1 and sched["total"] == 23 and sched["delivery"] == "2027-06-15"
    acct = dashboard_summary(project, role="accountant", today=date(2027, 3, 10))
    assert acct["budget"]["currency"] == "EUR" and Decimal(acct["budget"]["variance"]) < 0
    assert "5400" in acct["budget"]["over"]
    assert can_see_money("supervisor") and not can_see_money("reviewer") and not can_see_money(None)
    project.close()
