"""What the supervisor and the accountant look at: the HTML cost report with its chart, the Gantt fragment,
and the dashboard summary the review room embeds. Everything is self-contained HTML with inline SVG (no
scripts, no external files), so it opens offline.
"""

from __future__ import annotations

import html
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from posthouse.supervise.budget import CostReport, cost_report
from posthouse.supervise.config import load_config
from posthouse.supervise.progress import task_progress
from posthouse.supervise.schedule import Calendar, Plan, compute
from posthouse.supervise.schedule_io import load_schedule, schedule_path

if TYPE_CHECKING:
    from posthouse.core.project import Project

__all__ = [
    "MONEY_ROLES",
    "can_see_money",
    "cost_report_html",
    "dashboard_summary",
    "gantt_html",
    "project_plan",
]

MONEY_ROLES = frozenset({"accountant", "supervisor", "post_supervisor", "admin"})

_e = html.escape
_COLORS = {
    "done": "#4caf50",
    "breach": "#b71c1c",
    "late": "#ef6c00",
    "critical": "#e53935",
    "plan": "#5c8dd6",
}


def can_see_money(role: str | None) -> bool:
    """True for the roles allowed to see the budget (accountant, supervisor, admin); reviewers are not."""
    return role is not None and role.lower() in MONEY_ROLES


def project_plan(root: str | Path, *, today: date | None = None) -> Plan:
    """The project's schedule, planned, with done tasks taken from what the project holds."""
    cfg = load_config(root)
    cal = Calendar(cfg.working_days, cfg.holidays)
    tasks = load_schedule(root, calendar=cal)
    progress = task_progress(root, tasks)
    return compute(
        tasks,
        calendar=cal,
        delivery=cfg.delivery,
        today=today or date.today(),
        done=[k for k, v in progress.items() if v.done],
        at_risk_days=cfg.at_risk_days,
    )


def _status(plan: Plan) -> str:
    if plan.breaches:
        return "breach"
    if plan.late:
        return "late"
    if plan.at_risk:
        return "at risk"
    return "on track"


def gantt_html(schedule: Plan, *, width: int = 900, row: int = 18) -> str:
    """A Gantt chart of the planned schedule as an HTML fragment (a ``<figure>`` holding an inline SVG).

    Bars: green done, red critical, dark red breaching a deadline, orange late, blue otherwise; diamonds are
    milestones; the dashed line is the delivery date, the grey one today.
    """
    tasks = schedule.tasks
    first = min(t.start for t in tasks)
    last = max([t.finish for t in tasks] + ([schedule.delivery] if schedule.delivery else []))
    span = max(1, (last - first).days + 1)
    label_w, top = 230, 24
    chart_w = width - label_w - 10
    height = top + row * len(tasks) + 10

    def x(d: date) -> float:
        return label_w + chart_w * (d - first).days / span

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="posthouse-gantt" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="system-ui,sans-serif" font-size="11" role="img">',
        f"<title>Post schedule {first} to {last}</title>",
    ]
    # month ticks
    m = date(first.year, first.month, 1)
    while m <= last:
        if m >= first:
            parts.append(
                f'<line x1="{x(m):.1f}" y1="{top - 6}" x2="{x(m):.1f}" y2="{height}" stroke="#eee"/>'
            )
            parts.append(f'<text x="{x(m) + 2:.1f}" y="{top - 10}" fill="#666">{m:%b %Y}</text>')
        m = date(m.year + (m.month == 12), m.month % 12 + 1, 1)
    for n, t in enumerate(tasks):
        y = top + n * row
        kind = (
            "done"
            if t.done
            else "breach"
            if t.breach
            else "late"
            if t.late
            else "critical"
            if t.critical
            else "plan"
        )
        color = _COLORS[kind]
        tip = _e(
            f"{t.task.name} ({t.task.id}): {t.start} – {t.finish}, float {t.total_float}"
            + (f", owner {t.task.owner}" if t.task.owner else "")
            + f" [{kind}]"
        )
        parts.append(f'<text x="4" y="{y + row - 5}" fill="#222">{_e(t.task.name[:34])}</text>')
        if t.task.milestone:
            cx, cy, r = x(t.finish) + chart_w / span, y + row / 2, row / 2 - 3
            parts.append(
                f'<polygon class="milestone {kind}" points="{cx:.1f},{cy - r:.1f} {cx + r:.1f},{cy:.1f} '
                f'{cx:.1f},{cy + r:.1f} {cx - r:.1f},{cy:.1f}" fill="{color}"><title>{tip}</title></polygon>'
            )
        else:
            x0, x1 = x(t.start), x(t.finish) + chart_w / span
            parts.append(
                f'<rect class="task {kind}" x="{x0:.1f}" y="{y + 3}" width="{max(1.0, x1 - x0):.1f}" '
                f'height="{row - 6}" rx="2" fill="{color}"><title>{tip}</title></rect>'
            )
    if schedule.today and first <= schedule.today <= last:
        xt = x(schedule.today)
        parts.append(f'<line x1="{xt:.1f}" y1="{top - 4}" x2="{xt:.1f}" y2="{height}" stroke="#888"/>')
    if schedule.delivery:
        xd = x(schedule.delivery) + chart_w / span
        parts.append(
            f'<line class="delivery" x1="{xd:.1f}" y1="{top - 4}" x2="{xd:.1f}" y2="{height}" '
            f'stroke="#b71c1c" stroke-dasharray="4 3"><title>delivery {schedule.delivery}</title></line>'
        )
    parts.append("</svg>")
    legend = " ".join(f'<span style="color:{c}">&#9632;</span> {k}' for k, c in _COLORS.items())
    return (
        f'<figure class="posthouse-gantt">{"".join(parts)}'
        f"<figcaption>{legend} &#9670; milestone, dashed line: delivery</figcaption></figure>"
    )


def _money(d: Decimal) -> str:
    return f"{d:,.2f}"


def _bar_chart(report: CostReport, *, width: int = 760) -> str:
    """Grouped horizontal bars per account: estimate, actual to date, estimate at completion."""
    series = (("estimate", "#9e9e9e"), ("actual", "#1e88e5"), ("eac", "#f4511e"))
    accounts = report.accounts
    top = max([Decimal(1)] + [getattr(a, k) for a in accounts for k, _ in series])
    label_w, bar_h, gap = 170, 9, 10
    group = bar_h * len(series) + gap
    chart_w = width - label_w - 90
    height = 30 + group * len(accounts)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="cost-chart" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="system-ui,sans-serif" font-size="11" role="img">',
        "<title>Estimate, actual to date and estimate at completion per account</title>",
    ]
    for i, (k, c) in enumerate(series):
        out.append(f'<rect x="{label_w + i * 110}" y="4" width="10" height="10" fill="{c}"/>')
        out.append(f'<text x="{label_w + i * 110 + 14}" y="13">{"EAC" if k == "eac" else k}</text>')
    for n, a in enumerate(accounts):
        y0 = 24 + n * group
        out.append(f'<text x="4" y="{y0 + bar_h * 2}">{_e(a.code)} {_e(a.name)}</text>')
        for i, (k, c) in enumerate(series):
            v: Decimal = getattr(a, k)
            w = float(max(Decimal(0), v) / top) * chart_w
            y = y0 + i * bar_h
            out.append(
                f'<rect class="bar {k}" x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h - 1}" '
                f'fill="{c}">'
                f"<title>{_e(a.name)} {k}: {_money(v)} {_e(report.currency)}</title></rect>"
            )
            out.append(f'<text x="{label_w + w + 4:.1f}" y="{y + bar_h - 1}" fill="#444">{_money(v)}</text>')
    out.append("</svg>")
    return "".join(out)


_CSS = """body{font:14px system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}
td:nth-child(-n+2),th:nth-child(-n+2){text-align:left}
table.invoices td:last-child,table.pipeline td:first-child{text-align:left}
tr.total td{font-weight:bold;border-top:2px solid #333}
.over{color:#c00;font-weight:bold}.under{color:#080}.note{color:#666}"""


def cost_report_html(report: CostReport, *, project: str = "", schedule: Plan | None = None) -> str:
    """A self-contained HTML cost report: the per-account table, a bar chart, invoices and pipeline costs."""
    cur = _e(report.currency)
    cols = ("estimate", "committed", "invoiced", "pipeline", "actual", "etc", "eac", "variance")
    heads = "".join(f"<th>{'ETC' if c == 'etc' else 'EAC' if c == 'eac' else c}</th>" for c in cols)
    rows = []
    for a in report.accounts:
        cells = "".join(
            f'<td class="{("over" if a.variance < 0 else "under") if c == "variance" else c}">'
            f"{_money(getattr(a, c))}</td>"
            for c in cols
        )
        rows.append(f"<tr><td>{_e(a.code)}</td><td>{_e(a.name)}</td>{cells}</tr>")
    tot = report.totals
    rows.append(
        '<tr class="total"><td></td><td>Total</td>'
        + "".join(f"<td>{_money(tot[c])}</td>" for c in cols)
        + "</tr>"
    )
    inv = "".join(
        f"<tr><td>{_e(i.date.isoformat() if i.date else '')}</td><td>{_e(i.vendor)}</td>"
        f"<td>{_e(i.invoice)}</td>"
        f"<td>{_e(i.account)}</td><td>{_money(i.amount)}</td><td>{_e(i.description)}</td></tr>"
        for i in report.invoices
    )
    pipe = "".join(
        f"<tr><td>{_e(p.source)}</td><td>{_e(p.account)}</td><td>{p.quantity} {_e(p.unit)}</td>"
        f"<td>{_money(p.rate)}</td><td>{_money(p.amount)}</td></tr>"
        for p in report.pipeline
    )
    notes = "".join(f'<li class="note">{_e(n)}</li>' for n in report.notes)
    title = f"Cost report{' — ' + _e(project) if project else ''}"
    gantt = f"<h2>Schedule</h2>{gantt_html(schedule)}" if schedule is not None else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title><style>{_CSS}</style></head>
<body><h1>{title}</h1>
<p>As of {report.as_of.isoformat()}, amounts in {cur}.
ETC = max(estimate, committed) − actual (not below zero);
EAC = actual + ETC; variance = estimate − EAC (negative: over budget).</p>
<table class="cost-report"><thead><tr><th>account</th><th>name</th>{heads}</tr></thead>
<tbody>{"".join(rows)}</tbody></table>
<h2>Chart</h2>{_bar_chart(report)}
<h2>Invoices ({len(report.invoices)})</h2>
<table class="invoices"><thead><tr><th>date</th><th>vendor</th><th>invoice</th><th>account</th><th>amount</th>
<th>description</th></tr></thead><tbody>{inv}</tbody></table>
<h2>Pipeline costs ({len(report.pipeline)})</h2>
<table class="pipeline"><thead><tr><th>source</th><th>account</th><th>quantity</th><th>rate</th>
<th>amount</th></tr></thead><tbody>{pipe}</tbody></table>
{f"<ul>{notes}</ul>" if notes else ""}{gantt}
</body></html>
"""


def dashboard_summary(
    project: Project | str | Path, *, role: str | None = None, today: date | None = None
) -> dict[str, Any]:
    """Schedule status and (for roles allowed to see money) budget variance, for the project page.

    ``schedule.status`` is ``breach``, ``late``, ``at risk``, ``on track`` or ``none`` (no schedule yet).
    The ``budget`` key is present only when :func:`can_see_money` allows ``role``.
    """
    from posthouse.core.errors import PosthouseError

    root = Path(project) if isinstance(project, (str, Path)) else project.root
    name = root.name if isinstance(project, (str, Path)) else project.config.name
    when = today or date.today()
    out: dict[str, Any] = {"project": name, "as_of": when.isoformat(), "money_visible": can_see_money(role)}
    if schedule_path(root).is_file():
        plan = project_plan(root, today=when)
        upcoming = sorted(
            (t for t in plan.tasks if t.task.milestone and not t.done and t.finish >= when),
            key=lambda t: t.finish,
        )
        delivery_float = min((t.total_float for t in plan.tasks), default=0)
        out["schedule"] = {
            "status": _status(plan),
            "finish": plan.finish.isoformat(),
            "delivery": plan.delivery.isoformat() if plan.delivery else None,
            "float_days": delivery_float,
            "unit": plan.calendar.unit,
            "done": len(plan.done),
            "total": len(plan.tasks),
            "late": plan.late,
            "at_risk": plan.at_risk,
            "breaches": plan.breaches,
            "critical_path": plan.critical_path,
            "next_milestones": [
                {"id": t.task.id, "name": t.task.name, "date": t.finish.isoformat()} for t in upcoming[:3]
            ],
        }
    else:
        out["schedule"] = {"status": "none"}
    if out["money_visible"]:
        catalog = None if isinstance(project, (str, Path)) else project.catalog
        try:
            rep = cost_report(root, load_config(root), catalog=catalog, as_of=when)
        except PosthouseError as exc:
            out["budget"] = {"error": str(exc)}
        else:
            tot = rep.totals
            est = tot["estimate"]
            out["budget"] = {
                "currency": rep.currency,
                "estimate": str(est),
                "actual": str(tot["actual"]),
                "eac": str(tot["eac"]),
                "variance": str(tot["variance"]),
                "variance_pct": str((tot["variance"] / est * 100).quantize(Decimal("0.1"))) if est else None,
                "over": [a.code for a in rep.accounts if a.variance < 0],
            }
    return out
