"""Issue 12 in the review room: the project page shows the schedule (status, Gantt) to everyone signed in
and the budget variance only to roles allowed to see money."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from web_helpers import login

from posthouse.core.project import Project
from posthouse.web.app import create_app

ACCOUNTANT = ("abe", "ledger-room-1")


@pytest.fixture
def planned(review_project: Project, tmp_path: Path) -> Project:
    from posthouse.supervise.budget import import_budget
    from posthouse.supervise.config import load_config
    from posthouse.supervise.schedule import default_template
    from posthouse.supervise.schedule_io import save_schedule
    from posthouse.web.auth import hash_password
    from posthouse.web.models import UserRecord

    root = review_project.root
    save_schedule(root, default_template(date(2027, 3, 1), date(2027, 6, 15)))
    lines = tmp_path / "budget.csv"
    lines.write_text("account,description,estimate,committed\n5100,Editor and assistant,120000.00,80000.00\n")
    import_budget(root, lines, load_config(root))
    with review_project.catalog.session() as s:
        s.add(UserRecord(name=ACCOUNTANT[0], password_hash=hash_password(ACCOUNTANT[1]), role="accountant"))
    return review_project


def test_schedule_for_all_budget_for_money_roles(planned: Project) -> None:
    with TestClient(create_app(planned)) as client:
        login(client, *ACCOUNTANT)
        page = client.get("/").text
        assert 'id="schedule-status"' in page and "<svg" in page  # the Gantt chart
        assert 'id="budget-variance"' in page and "120000.00" in page
    with TestClient(create_app(planned)) as client:
        login(client, "rita", "watching-room-1")
        page = client.get("/").text
        assert 'id="schedule-status"' in page
        assert 'id="budget-variance"' not in page and "120000" not in page
