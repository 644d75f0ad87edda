"""Reading what SCIM did, straight from the database (through the tenant-scoped session)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from flask import Flask

from tests.conftest import TenantRef
from tests.factories import in_tenant


@dataclass(frozen=True)
class Person:
    id: uuid.UUID
    subject: str
    name: str
    email: str | None
    active: bool
    external_id: str | None
    employee_number: str | None
    department: str | None
    manager_id: uuid.UUID | None
    removed: bool
    roles: frozenset[tuple[str, str]]  #: (role, source)


def person(app: Flask, tenant: TenantRef, subject: str) -> Person | None:
    from sqlalchemy import select

    from samenleren.core.extensions import db
    from samenleren.identity.models import User

    with in_tenant(app, tenant):
        user = db.session.scalar(select(User).where(User.subject == subject))
        if user is None:
            return None
        return Person(
            id=user.id,
            subject=user.subject,
            name=user.name,
            email=user.email,
            active=user.active,
            external_id=user.external_id,
            employee_number=user.employee_number,
            department=user.department.name if user.department else None,
            manager_id=user.manager_id,
            removed=user.scim_removed_at is not None,
            roles=frozenset((a.role.value, a.source.value) for a in user.role_assignments),
        )


def count_users(app: Flask, tenant: TenantRef) -> int:
    from sqlalchemy import func, select

    from samenleren.core.extensions import db
    from samenleren.identity.models import User

    with in_tenant(app, tenant):
        return db.session.scalar(select(func.count()).select_from(User))


def audit_events(app: Flask, tenant: TenantRef, prefix: str = "scim.") -> list[tuple]:
    """(action, actor_label, subject_id, details) of the tenant's audit events, oldest first."""
    from sqlalchemy import select

    from samenleren.audit.models import AuditEvent
    from samenleren.core.extensions import db

    with in_tenant(app, tenant):
        events = db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action.startswith(prefix))
            .order_by(AuditEvent.occurred_at)
        )
        return [(e.action, e.actor_label, e.subject_id, e.details) for e in events]


def open_login_sessions(app: Flask, tenant: TenantRef, user_id: uuid.UUID) -> int:
    from sqlalchemy import func, select

    from samenleren.core.extensions import db
    from samenleren.identity.models import LoginSession

    with in_tenant(app, tenant):
        return db.session.scalar(
            select(func.count())
            .select_from(LoginSession)
            .where(LoginSession.user_id == user_id, LoginSession.ended_at.is_(None))
        )
