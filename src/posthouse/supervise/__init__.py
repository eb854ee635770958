"""Post supervision: the post schedule (critical path, slips, progress from the project) and the budget with
its cost report. An edge package: it reads what the departments leave in the project and its catalog."""

from posthouse.supervise.budget import CostReport, cost_report, import_invoices, pipeline_costs
from posthouse.supervise.config import SuperviseConfig, load_config, save_config
from posthouse.supervise.progress import StageStatus, stage_status, task_progress
from posthouse.supervise.report import (
    can_see_money,
    cost_report_html,
    dashboard_summary,
    gantt_html,
    project_plan,
)
from posthouse.supervise.schedule import Calendar, Plan, ScheduleError, Task, compute, default_template, slip

__all__ = [
    "Calendar",
    "CostReport",
    "Plan",
    "ScheduleError",
    "StageStatus",
    "SuperviseConfig",
    "Task",
    "can_see_money",
    "compute",
    "cost_report",
    "cost_report_html",
    "dashboard_summary",
    "default_template",
    "gantt_html",
    "import_invoices",
    "load_config",
    "pipeline_costs",
    "project_plan",
    "save_config",
    "slip",
    "stage_status",
    "task_progress",
]
