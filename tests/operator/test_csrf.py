"""Every console action (every POST under /operator/) needs the form's CSRF token."""

from __future__ import annotations

import io

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests.operator.conftest import audit_events
from tests.operator.test_onboarding import VALID_FORM
from tests.tenants.test_manifest import BASE


def post_rules(app: Flask) -> list[str]:
    return sorted(
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/operator/") and "POST" in rule.methods
    )


def test_the_console_has_these_actions(app):
    """A new POST route must be added to the cases below (this fails until it is)."""
    assert post_rules(app) == sorted(CASES)


CASES = {
    "/operator/logout": {},
    "/operator/tenants/new": VALID_FORM,
    "/operator/tenants/upload": None,  # multipart, built per request
    "/operator/tenants/<slug>/suspend": {},
    "/operator/tenants/<slug>/resume": {},
    "/operator/tenants/<slug>/test-sso": {},
    # A tenant's new identity provider (tests/operator/test_issuer_approval.py).
    "/operator/tenants/<slug>/issuer/approve": {"issuer": "https://idp.example.org"},
    "/operator/tenants/<slug>/issuer/reject": {},
    # The background jobs page (tests/operator/test_jobs_page.py); CSRF is checked first.
    "/operator/jobs/<queue_name>/<job_id>/retry": {},
    "/operator/jobs/<queue_name>/<job_id>/delete": {},
    "/operator/outbox/<slug>/retry": {},
    # Finishing a tenant's login set-up (tests/operator/test_tenant_setup.py).
    "/operator/tenants/<slug>/setup/secret": {"client_secret": "s3cret-value"},
    "/operator/tenants/<slug>/setup/admins": {"first_admins": "anna@flevoland.nl"},
    "/operator/tenants/<slug>/setup/link": {},
    "/operator/tenants/<slug>/setup/auth-method": {"client_auth_method": "private_key_jwt"},
}


def state(app: Flask, tenants) -> tuple:
    from samenleren.core.extensions import db
    from samenleren.core.tenant import Tenant
    from samenleren.operator.models import OperatorLoginSession

    with app.app_context():
        rows = tuple(
            (t.slug, t.status.value, t.updated_at)
            for t in db.session.scalars(select(Tenant).order_by(Tenant.slug))
        )
        open_logins = db.session.scalar(
            select(func.count())
            .select_from(OperatorLoginSession)
            .where(OperatorLoginSession.ended_at.is_(None))
        )
    events = tuple(len(audit_events(app, ref.id)) for ref in tenants.values())
    return rows, open_logins, events


@pytest.mark.parametrize("rule", sorted(CASES))
@pytest.mark.parametrize("token", ["missing", "forged"])
def test_a_console_post_without_a_valid_token_is_refused_and_changes_nothing(
    app, console, tenants, rule, token
):
    path = rule.replace("<slug>", "flevoland")
    if rule.endswith("/resume"):  # resuming an active tenant would change nothing anyway
        from samenleren.core.extensions import db
        from samenleren.core.tenant import Tenant, TenantStatus

        with app.app_context():
            db.session.get(Tenant, tenants["flevoland"].id).status = TenantStatus.SUSPENDED
            db.session.commit()
    before = state(app, tenants)
    data = dict(CASES[rule] or {})
    if CASES[rule] is None:
        data = {"manifest": (io.BytesIO(BASE.encode()), "zeeland.toml")}
    if token == "forged":
        data["csrf_token"] = "IjAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAi.Zz.forged"
    answer = console.post(path, data=data, content_type="multipart/form-data")
    assert answer.status_code == 400, (rule, answer.status_code)
    assert state(app, tenants) == before
    assert console.get("/operator/").status_code == 200  # still logged in
