"""Reading a tenant's audit log in tests (through the tenant-scoped session, as the app does)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask

from tests.conftest import TenantRef
from tests.factories import in_tenant


@dataclass(frozen=True)
class Event:
    action: str
    actor_id: object
    actor_label: str
    subject_type: str
    subject_id: str
    details: dict
    ip_address: str


def events(app: Flask, tenant: TenantRef, action: str | None = None) -> list[Event]:
    """The tenant's events, oldest first (optionally of one action)."""
    from sqlalchemy import select

    from samenleren.audit.models import AuditEvent
    from samenleren.core.extensions import db

    with in_tenant(app, tenant):
        query = select(AuditEvent).order_by(AuditEvent.occurred_at, AuditEvent.id)
        if action is not None:
            query = query.where(AuditEvent.action == action)
        return [
            Event(
                e.action,
                e.actor_id,
                e.actor_label,
                e.subject_type,
                e.subject_id,
                dict(e.details),
                e.ip_address,
            )
            for e in db.session.scalars(query)
        ]


def actions(app: Flask, tenant: TenantRef) -> list[str]:
    return [event.action for event in events(app, tenant)]
