"""Suspending and resuming a tenant from the console: confirmed, audited, and really closing it."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient

from tests.conftest import login, make_user
from tests.operator.conftest import audit_events


def form_token(client: FlaskClient, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, path
    return match.group(1)


def status(app, slug: str) -> str:
    from sqlalchemy import select

    from samenleren.core.extensions import db
    from samenleren.core.tenant import Tenant

    with app.app_context():
        return db.session.scalar(select(Tenant.status).where(Tenant.slug == slug)).value


def test_suspend_asks_first_then_closes_the_tenant(app, console, tenants):
    flevoland = tenants["flevoland"]
    with app.app_context():
        make_user(flevoland, "binnen", "learner", name="Bea Binnen")
    employee = app.test_client()
    assert login(employee, flevoland, "binnen", name="Bea Binnen").status_code == 302

    listing = console.get("/operator/").get_data(as_text=True)
    assert 'href="/operator/tenants/flevoland/suspend"' in listing
    confirm = console.get("/operator/tenants/flevoland/suspend")
    assert confirm.status_code == 200
    page = confirm.get_data(as_text=True)
    assert "Suspend Provincie Flevoland?" in page
    assert 'action="/operator/tenants/flevoland/suspend"' in page
    assert status(app, "flevoland") == "active"  # looking is not doing

    token = form_token(console, "/operator/tenants/flevoland/suspend")
    answer = console.post("/operator/tenants/flevoland/suspend", data={"csrf_token": token})
    assert answer.status_code == 303
    assert urlsplit(answer.headers["Location"]).path == "/operator/"
    listing = console.get("/operator/").get_data(as_text=True)
    assert "Provincie Flevoland is suspended" in listing
    assert 'href="/operator/tenants/flevoland/resume"' in listing
    assert status(app, "flevoland") == "suspended"
    assert status(app, "gelderland") == "active"

    # Closed: every page 404, for visitors and for the employee who was logged in.
    for client in (app.test_client(), employee):
        for path in ("/flevoland/", "/flevoland/trainings/", "/flevoland/auth/login"):
            assert client.get(path).status_code == 404, path
    # Its users cannot log in (the login does not even start) ...
    fresh = app.test_client()
    assert fresh.get("/flevoland/auth/login").status_code == 404
    # ... while the other tenant is untouched.
    assert app.test_client().get("/gelderland/").status_code == 200

    [event] = audit_events(app, flevoland.id)[-1:]
    assert (event.action, event.actor_label) == ("tenant.suspended", "Operator: Olga Operator")
    assert not [e for e in audit_events(app, tenants["gelderland"].id) if "tenant." in e.action]


def test_resume_opens_the_tenant_again(app, console, tenants):
    flevoland = tenants["flevoland"]
    token = form_token(console, "/operator/tenants/flevoland/suspend")
    console.post("/operator/tenants/flevoland/suspend", data={"csrf_token": token})
    assert app.test_client().get("/flevoland/").status_code == 404

    confirm = console.get("/operator/tenants/flevoland/resume").get_data(as_text=True)
    assert "Resume Provincie Flevoland?" in confirm
    token = form_token(console, "/operator/tenants/flevoland/resume")
    answer = console.post("/operator/tenants/flevoland/resume", data={"csrf_token": token})
    assert answer.status_code == 303
    assert "Provincie Flevoland is resumed" in console.get("/operator/").get_data(as_text=True)
    assert status(app, "flevoland") == "active"
    assert app.test_client().get("/flevoland/").status_code == 200
    assert login(app.test_client(), flevoland, "terug", name="Terug").status_code == 302

    actions = [e.action for e in audit_events(app, flevoland.id) if e.action.startswith("tenant.")]
    assert actions == ["tenant.suspended", "tenant.resumed"]


def test_suspending_twice_changes_nothing_the_second_time(app, console, tenants):
    for _ in range(2):
        token = form_token(console, "/operator/tenants/gelderland/suspend")
        console.post("/operator/tenants/gelderland/suspend", data={"csrf_token": token})
    assert "was suspended already" in console.get("/operator/").get_data(as_text=True)
    events = [e for e in audit_events(app, tenants["gelderland"].id) if e.action.startswith("t")]
    assert [e.action for e in events] == ["tenant.suspended"]


@pytest.mark.parametrize("action", ["suspend", "resume", "test-sso"])
def test_an_unknown_tenant_is_404(app, console, tenants, action):
    token = form_token(console, "/operator/tenants/new")
    if action != "test-sso":
        assert console.get(f"/operator/tenants/atlantis/{action}").status_code == 404
    answer = console.post(f"/operator/tenants/atlantis/{action}", data={"csrf_token": token})
    assert answer.status_code == 404


def test_a_resume_does_not_revive_the_logins_from_before_the_suspension(app, console, tenants):
    flevoland = tenants["flevoland"]
    with app.app_context():
        make_user(flevoland, "eerder", "learner", name="Eva Eerder")
    employee = app.test_client()
    assert login(employee, flevoland, "eerder", name="Eva Eerder").status_code == 302
    assert "Eva Eerder" in employee.get("/flevoland/").get_data(as_text=True)

    for action in ("suspend", "resume"):
        path = f"/operator/tenants/flevoland/{action}"
        answer = console.post(path, data={"csrf_token": form_token(console, path)})
        assert answer.status_code == 303

    page = employee.get("/flevoland/").get_data(as_text=True)
    assert "Eva Eerder" not in page  # the old session ended with the suspension
    assert 'href="/flevoland/auth/login"' in page
