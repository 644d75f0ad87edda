"""Fixtures of the operator console tests: a client logged in as an operator, audit events."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import IdP, TenantRef, operator_login


@pytest.fixture
def console(app: Flask, operator_idp: IdP, tenants: dict[str, TenantRef]) -> FlaskClient:
    """A browser logged in to the operator console as `olga.operator`, in English (msgids)."""
    client = app.test_client()
    answer = operator_login(client, operator_idp, name="Olga Operator")
    assert answer.status_code == 302, answer.get_data(as_text=True)
    assert answer.headers["Location"].endswith("/operator/")
    client.get("/operator/?lang=en")
    return client


@dataclass(frozen=True)
class Event:
    action: str
    actor_label: str
    subject_type: str
    details: dict


def audit_events(app: Flask, tenant_id) -> list[Event]:
    """A tenant's audit log, oldest first, read inside that tenant's scope."""
    from sqlalchemy import select

    from samenleren.audit.models import AuditEvent
    from samenleren.core.extensions import db
    from samenleren.core.tenancy import tenant_scope
    from samenleren.core.tenant import Tenant

    with app.app_context(), tenant_scope(db.session.get(Tenant, tenant_id)):
        return [
            Event(e.action, e.actor_label, e.subject_type, dict(e.details))
            for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.occurred_at))
        ]
