"""`posthouse schedule …` and `posthouse budget …`: the post supervisor's schedule and the cost report."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from posthouse.cli.common import EXIT_PARTIAL, console, handle_errors, print_json
from posthouse.cli.project import PROJECT_OPTION

if TYPE_CHECKING:
    from posthouse.supervise.schedule import Calendar, Plan

__all__ = [
    "budget_app",
    "budget_config",
    "budget_import",
    "budget_import_invoices",
    "budget_report",
    "budget_show",
    "schedule_app",
    "schedule_export",
    "schedule_gantt",
    "schedule_ics",
    "schedule_import",
    "schedule_init",
    "schedule_show",
    "schedule_slip",
]

schedule_app = typer.Typer(
    help="The post schedule: late and at-risk tasks, critical path, slips, CSV and iCalendar.",
    invoke_without_command=True,
)
budget_app = typer.Typer(
    help="The post budget: invoices, pipeline costs and the cost report (estimate, actual, ETC, variance).",
    invoke_without_command=True,
)

_TODAY = typer.Option(None, "--today", help="Judge lateness as of this date (YYYY-MM-DD; default today).")


def _date(text: str | None, what: str) -> date | None:
    from posthouse.core.errors import UsageError

    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{what} '{text}' is not a date (YYYY-MM-DD)") from None


def _root(project_dir: Path | None) -> Path:
    from posthouse.core.project import find_project_root

    return find_project_root(project_dir)


def _calendar(root: Path) -> Calendar:
    from posthouse.supervise.config import load_config
    from posthouse.supervise.schedule import Calendar

    cfg = load_config(root)
    return Calendar(cfg.working_days, cfg.holidays)


def _flags(t: Any) -> str:
    out = []
    if t.done:
        out.append("[green]done[/]")
    if t.breach:
        out.append("[bold red]BREACH[/]")
    if t.late:
        out.append("[red]late[/]")
    if t.at_risk:
        out.append("[yellow]at risk[/]")
    if t.critical:
        out.append("critical")
    return " ".join(out)


def _print_plan(plan: Plan) -> None:
    from rich.table import Table

    table = Table("id", "task", "dept", "owner", "start", "finish", "float", "status")
    for t in plan.tasks:
        table.add_row(
            t.task.id,
            t.task.name + (" ◆" if t.task.milestone else ""),
            t.task.department,
            t.task.owner,
            t.start.isoformat(),
            t.finish.isoformat(),
            str(t.total_float),
            _flags(t),
        )
    console.print(table)
    summary = f"finish {plan.finish}"
    if plan.delivery:
        summary += f", delivery {plan.delivery}"
    console.print(f"{summary} ({plan.calendar.unit})", highlight=False)
    for label, ids in (("late", plan.late), ("at risk", plan.at_risk), ("breaches delivery", plan.breaches)):
        if ids:
            console.print(f"{label}: {', '.join(ids)}", highlight=False)


@schedule_app.callback()
def _schedule_default(
    ctx: typer.Context, project_dir: Path | None = PROJECT_OPTION, today: str | None = _TODAY
) -> None:
    """With no sub-command: `schedule show`."""
    if ctx.invoked_subcommand is None:
        schedule_show(project_dir=project_dir, today=today, as_json=False, as_csv=False)


@schedule_app.command("show")
@handle_errors
def schedule_show(
    project_dir: Path | None = PROJECT_OPTION,
    today: str | None = _TODAY,
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
    as_csv: bool = typer.Option(False, "--csv", help="Print the schedule with its planned dates as CSV."),
) -> None:
    """Show the schedule: planned dates, float, what is done (from the project), late, at risk, breaching.

    Reads PROJECT/supervise/schedule.csv and supervise.toml. Exit code 1 when a task breaches its deadline.
    """
    import sys

    from posthouse.supervise.report import project_plan
    from posthouse.supervise.schedule_io import schedule_csv

    root = _root(project_dir)
    plan = project_plan(root, today=_date(today, "--today"))
    if as_json:
        print_json(plan.to_dict())
    elif as_csv:
        sys.stdout.write(schedule_csv([t.task for t in plan.tasks], plan))
    else:
        _print_plan(plan)
    if plan.breaches:
        raise typer.Exit(EXIT_PARTIAL)


@schedule_app.command("init")
@handle_errors
def schedule_init(
    lock: str = typer.Option(..., "--lock", help="Picture lock date (YYYY-MM-DD)."),
    delivery: str = typer.Option(..., "--delivery", help="Delivery date (YYYY-MM-DD)."),
    calendar: str = typer.Option("working", "--calendar", help="'working' (Mon–Fri) or 'calendar' days."),
    force: bool = typer.Option(False, "--force", help="Replace an existing schedule."),
    project_dir: Path | None = PROJECT_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Write a feature's post schedule template around a lock date and a delivery date.

    Writes PROJECT/supervise/schedule.csv and supervise.toml (the delivery date, the calendar).
    """
    from dataclasses import replace

    from posthouse.core.errors import UsageError
    from posthouse.supervise.config import load_config, save_config
    from posthouse.supervise.schedule import Calendar, compute, default_template
    from posthouse.supervise.schedule_io import save_schedule, schedule_path

    if calendar not in ("working", "calendar"):
        raise UsageError(f"--calendar '{calendar}' must be 'working' or 'calendar'")
    root = _root(project_dir)
    if schedule_path(root).exists() and not force:
        raise UsageError(
            "a schedule exists already", path=schedule_path(root), hint="pass --force to replace it"
        )
    lock_d, delivery_d = _date(lock, "--lock"), _date(delivery, "--delivery")
    assert lock_d is not None and delivery_d is not None
    cfg = load_config(root)
    cal = Calendar(calendar == "working", cfg.holidays)
    tasks = default_template(lock_d, delivery_d, calendar=cal)
    plan = compute(tasks, calendar=cal, delivery=delivery_d, today=date.today())
    cfg = replace(
        cfg, working_days=cal.working_days, delivery=delivery_d, start=cfg.start or plan.tasks[0].start
    )
    path = save_schedule(root, tasks, calendar=cal)
    save_config(root, cfg)
    if as_json:
        print_json({"schedule": str(path), **plan.to_dict()})
    else:
        console.print(f"wrote {path} ({len(tasks)} tasks, {cal.unit})", highlight=False)
        console.print(
            f"planned finish {plan.finish}, delivery {delivery_d}, "
            f"float {min(t.total_float for t in plan.tasks)} {cal.unit}",
            highlight=False,
        )


@schedule_app.command("import")
@handle_errors
def schedule_import(
    file: Path = typer.Argument(..., help="A schedule CSV, or an .ics calendar."),
    project_dir: Path | None = PROJECT_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Replace the schedule with FILE after checking it (no cycle, dates in order, known dependencies).

    A refused file changes nothing; the error names the line and the reason.
    """
    from posthouse.core.errors import UsageError
    from posthouse.supervise.schedule_io import parse_schedule_csv, save_schedule, tasks_from_ics

    root = _root(project_dir)
    cal = _calendar(root)
    if not file.is_file():
        raise UsageError("no such file", path=file)
    if file.suffix.lower() in (".ics", ".ical", ".ifb"):
        tasks = tasks_from_ics(file.read_bytes(), source=file, calendar=cal)
    else:
        try:
            text = file.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            raise UsageError(f"not UTF-8 text (byte {exc.start})", path=file) from None
        tasks = parse_schedule_csv(text, source=file, calendar=cal)
    path = save_schedule(root, tasks, calendar=cal)
    if as_json:
        print_json({"schedule": str(path), "tasks": len(tasks)})
    else:
        console.print(f"imported {len(tasks)} tasks into {path}", highlight=False)


@schedule_app.command("export")
@handle_errors
def schedule_export(
    out: Path = typer.Argument(..., help="Output file: .csv (with planned dates), .ics or .html (Gantt)."),
    project_dir: Path | None = PROJECT_OPTION,
    today: str | None = _TODAY,
) -> None:
    """Export the planned schedule as CSV, iCalendar or an HTML Gantt chart (by the extension of OUT)."""
    from posthouse.core.fsutil import atomic_write_bytes, atomic_write_text
    from posthouse.core.project import Project
    from posthouse.supervise.report import gantt_html, project_plan
    from posthouse.supervise.schedule_io import schedule_csv, write_ics

    root = _root(project_dir)
    plan = project_plan(root, today=_date(today, "--today"))
    ext = out.suffix.lower()
    if ext == ".ics":
        name = Project.open(root).config.name
        atomic_write_bytes(out, write_ics(plan, name))
    elif ext in (".html", ".htm"):
        atomic_write_text(
            out,
            '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Post schedule</title></head>'
            f"<body><h1>Post schedule</h1>{gantt_html(plan)}</body></html>\n",
        )
    else:
        atomic_write_text(out, schedule_csv([t.task for t in plan.tasks], plan))
    console.print(f"wrote {out}", highlight=False)


@schedule_app.command("ics")
@handle_errors
def schedule_ics(
    out: Path = typer.Option(None, "--out", help="Output .ics (default PROJECT/supervise/schedule.ics)."),
    project_dir: Path | None = PROJECT_OPTION,
) -> None:
    """Write the schedule as an iCalendar for people's calendars (one all-day event per task, stable UIDs)."""
    from posthouse.core.fsutil import atomic_write_bytes
    from posthouse.core.project import Project
    from posthouse.supervise.config import supervise_dir
    from posthouse.supervise.report import project_plan
    from posthouse.supervise.schedule_io import write_ics

    root = _root(project_dir)
    dest = out or supervise_dir(root) / "schedule.ics"
    atomic_write_bytes(dest, write_ics(project_plan(root), Project.open(root).config.name))
    console.print(f"wrote {dest}", highlight=False)


@schedule_app.command("gantt")
@handle_errors
def schedule_gantt(
    out: Path = typer.Option(None, "--out", help="Output .html (default PROJECT/supervise/gantt.html)."),
    project_dir: Path | None = PROJECT_OPTION,
    today: str | None = _TODAY,
) -> None:
    """Write the Gantt chart as a self-contained HTML page."""
    from posthouse.supervise.config import supervise_dir

    root = _root(project_dir)
    schedule_export(out or supervise_dir(root) / "gantt.html", project_dir=root, today=today)


@schedule_app.command("slip")
@handle_errors
def schedule_slip(
    task: str = typer.Argument(..., help="Task id, e.g. picture_lock."),
    days: str = typer.Argument(..., help="Days to slip (5, 3d, 1w = 5 working days)."),
    save: bool = typer.Option(False, "--save", help="Keep the slip in the schedule (default: only show it)."),
    project_dir: Path | None = PROJECT_OPTION,
    today: str | None = _TODAY,
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Show what moves when TASK slips by DAYS, and what then breaches the delivery date.

    Exit code 1 when the slip makes a task miss its deadline.
    """
    from posthouse.supervise.config import load_config
    from posthouse.supervise.progress import task_progress
    from posthouse.supervise.schedule import parse_days, slip
    from posthouse.supervise.schedule_io import load_schedule, save_schedule

    root = _root(project_dir)
    cfg = load_config(root)
    cal = _calendar(root)
    tasks = load_schedule(root, calendar=cal)
    n = parse_days(days, working_days=cal.working_days)
    done = [k for k, v in task_progress(root, tasks).items() if v.done]
    new, report = slip(
        tasks,
        task,
        n,
        calendar=cal,
        delivery=cfg.delivery,
        today=_date(today, "--today") or date.today(),
        done=done,
        at_risk_days=cfg.at_risk_days,
    )
    if save:
        save_schedule(root, new, calendar=cal)
    if as_json:
        print_json({**report.to_dict(), "saved": save})
    else:
        console.print(f"{task} slips {n} {cal.unit}: {len(report.moved)} task(s) move", highlight=False)
        for tid, before, after, delta in report.moved:
            mark = " [bold red]BREACH[/]" if tid in report.after.breaches else ""
            console.print(f"  {tid:<18} {before} → {after} (+{delta}){mark}", highlight=False)
        console.print(f"finish {report.before.finish} → {report.after.finish}", highlight=False)
        if report.after.breaches:
            console.print(
                f"[bold red]breaches the delivery date ({cfg.delivery}):[/] "
                + ", ".join(report.after.breaches),
                highlight=False,
            )
        if save:
            console.print("saved", highlight=False)
    if report.new_breaches:
        raise typer.Exit(EXIT_PARTIAL)


def _report(root: Path, as_of: date | None) -> tuple[Any, str]:
    """The cost report and the project's name."""
    from posthouse.core.project import Project
    from posthouse.supervise.budget import cost_report
    from posthouse.supervise.config import load_config

    project = Project.open(root)
    try:
        return cost_report(root, load_config(root), catalog=project.catalog, as_of=as_of), project.config.name
    finally:
        project.close()


@budget_app.callback()
def _budget_default(
    ctx: typer.Context,
    project_dir: Path | None = PROJECT_OPTION,
    as_of: str | None = typer.Option(None, "--as-of", help="Report date (default today)."),
) -> None:
    """With no sub-command: `budget show`."""
    if ctx.invoked_subcommand is None:
        budget_show(project_dir=project_dir, as_of=as_of, as_json=False, as_csv=False, html=None)


@budget_app.command("show")
@handle_errors
def budget_show(
    project_dir: Path | None = PROJECT_OPTION,
    as_of: str | None = typer.Option(None, "--as-of", help="Report date (default today)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
    as_csv: bool = typer.Option(False, "--csv", help="Print the per-account table as CSV."),
    html: Path | None = typer.Option(None, "--html", help="Also write the HTML report here."),
) -> None:
    """Print the cost report: estimate, committed, actual to date, ETC, EAC and variance per account.

    Actual = imported invoices + pipeline costs (job hours × rates, storage). ETC = max(estimate,
    committed) − actual (not below zero); EAC = actual + ETC; variance = estimate − EAC.
    """
    import sys

    from rich.table import Table

    from posthouse.core.fsutil import atomic_write_text
    from posthouse.supervise.report import cost_report_html

    root = _root(project_dir)
    rep, name = _report(root, _date(as_of, "--as-of"))
    if html is not None:
        atomic_write_text(html, cost_report_html(rep, project=name))
    if as_json:
        print_json(rep.to_dict())
        return
    if as_csv:
        sys.stdout.write(rep.to_csv())
        return
    cols = ("estimate", "committed", "actual", "etc", "eac", "variance")
    table = Table("account", *("ETC" if c == "etc" else "EAC" if c == "eac" else c for c in cols))
    for a in rep.accounts:
        v = a.variance
        table.add_row(
            f"{a.code} {a.name}",
            *(f"{getattr(a, c):,.2f}" for c in cols[:-1]),
            f"[red]{v:,.2f}[/]" if v < 0 else f"{v:,.2f}",
        )
    tot = rep.totals
    table.add_row("[bold]Total[/]", *(f"[bold]{tot[c]:,.2f}[/]" for c in cols))
    console.print(table)
    console.print(
        f"{rep.currency}, as of {rep.as_of}: {len(rep.invoices)} invoice(s), "
        f"{len(rep.pipeline)} pipeline cost(s)",
        highlight=False,
    )
    for n in rep.notes:
        console.print(f"  note: {n}", highlight=False, markup=False)
    if html is not None:
        console.print(f"wrote {html}", highlight=False)


@budget_app.command("report")
@handle_errors
def budget_report(
    out: Path | None = typer.Option(None, "--out", help="Folder (default PROJECT/supervise)."),
    project_dir: Path | None = PROJECT_OPTION,
    as_of: str | None = typer.Option(None, "--as-of", help="Report date (default today)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Write cost_report.html (table, chart, invoices, pipeline costs, Gantt) and cost_report.csv."""
    from posthouse.core.errors import PosthouseError
    from posthouse.core.fsutil import atomic_write_text
    from posthouse.supervise.config import supervise_dir
    from posthouse.supervise.report import cost_report_html, project_plan

    root = _root(project_dir)
    rep, name = _report(root, _date(as_of, "--as-of"))
    try:
        plan = project_plan(root, today=rep.as_of)
    except PosthouseError:
        plan = None
    folder = out or supervise_dir(root)
    h, c = folder / "cost_report.html", folder / "cost_report.csv"
    atomic_write_text(h, cost_report_html(rep, project=name, schedule=plan))
    atomic_write_text(c, rep.to_csv())
    if as_json:
        print_json({"html": str(h), "csv": str(c), **rep.to_dict()})
    else:
        console.print(f"wrote {h}\n      {c}", highlight=False)


@budget_app.command("import")
@handle_errors
def budget_import(
    file: Path = typer.Argument(..., help="Budget CSV: account,description,estimate,committed."),
    project_dir: Path | None = PROJECT_OPTION,
) -> None:
    """Replace the budget lines with FILE; a bad line refuses the whole file and nothing changes."""
    from posthouse.supervise.budget import import_budget
    from posthouse.supervise.config import load_config

    root = _root(project_dir)
    lines = import_budget(root, file, load_config(root))
    console.print(f"imported {len(lines)} budget line(s)", highlight=False)


@budget_app.command("import-invoices")
@handle_errors
def budget_import_invoices(
    file: Path = typer.Argument(..., help="Invoices CSV: date,vendor,invoice,account,amount,description."),
    project_dir: Path | None = PROJECT_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Add the invoices of FILE; a bad line (unknown account, malformed amount, duplicate) refuses all."""
    from decimal import Decimal

    from posthouse.supervise.budget import import_invoices
    from posthouse.supervise.config import load_config

    root = _root(project_dir)
    added = import_invoices(root, file, load_config(root))
    total = sum((i.amount for i in added), Decimal("0.00"))
    if as_json:
        print_json({"added": [i.to_dict() for i in added], "total": str(total)})
    else:
        console.print(f"imported {len(added)} invoice(s), {total:,.2f}", highlight=False)


@budget_app.command("config")
@handle_errors
def budget_config(
    currency: str | None = typer.Option(None, "--currency", help="Currency code, e.g. EUR."),
    rate: list[str] = typer.Option([], "--rate", help="NAME=AMOUNT, e.g. render_hour=15.00 (repeatable)."),
    delivery: str | None = typer.Option(None, "--delivery", help="Delivery date (YYYY-MM-DD)."),
    start: str | None = typer.Option(None, "--start", help="Project start (storage is charged from it)."),
    project_dir: Path | None = PROJECT_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Show or change currency, rates and dates in PROJECT/supervise/supervise.toml."""
    from dataclasses import replace

    from posthouse.core.errors import UsageError
    from posthouse.supervise.budget import parse_money
    from posthouse.supervise.config import load_config, save_config

    root = _root(project_dir)
    cfg = load_config(root)
    rates = dict(cfg.rates)
    for r in rate:
        name, _, value = r.partition("=")
        try:
            rates[name.strip()] = parse_money(value)
        except ValueError as exc:
            raise UsageError(f"--rate {r}: {exc}") from None
    new = replace(
        cfg,
        currency=currency or cfg.currency,
        rates=rates,
        delivery=_date(delivery, "--delivery") or cfg.delivery,
        start=_date(start, "--start") or cfg.start,
    )
    if new != cfg:
        save_config(root, new)
    doc = new.to_toml()
    if as_json:
        print_json({k: (v.isoformat() if isinstance(v, date) else v) for k, v in doc.items()})
    else:
        console.print(
            f"currency {new.currency}; calendar {doc['calendar']}; delivery {new.delivery}", highlight=False
        )
        for k, v in new.rates.items():
            console.print(f"  {k} = {v}", highlight=False)
