"""The tenants as the console lists them, with how much each is used: counts only, never a
person."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import g
from sqlalchemy import ScalarSelect, Select, func, select
from sqlalchemy.orm import defer

from samenleren.audit.models import AuditVerification
from samenleren.catalogue.models import Edition
from samenleren.core.extensions import db
from samenleren.core.tenancy import activate_tenant
from samenleren.core.tenant import Tenant
from samenleren.identity.models import User
from samenleren.trajectories.models import Trajectory, TrajectoryStatus


@dataclass(frozen=True)
class TenantUsage:
    """A tenant and how much it is used: counts only, never a person."""

    tenant: Tenant
    users: int
    active_trajectories: int
    editions: int
    #: The latest `flask audit verify` of the tenant's chain: (when, intact, first broken place),
    #: or None when it was never verified.
    verification: tuple[datetime, bool, Any] | None = None


def _usage_counts() -> Select:
    """One statement, three aggregates and the latest audit verification; scoped to the current
    tenant like every query."""
    users: ScalarSelect[int] = (
        select(func.count()).select_from(User).where(User.active).scalar_subquery()
    )
    trajectories: ScalarSelect[int] = (
        select(func.count())
        .select_from(Trajectory)
        .where(Trajectory.status == TrajectoryStatus.ACTIVE)
        .scalar_subquery()
    )
    editions: ScalarSelect[int] = (
        select(func.count())
        .select_from(Edition)
        .where(Edition.cancelled.is_(False))
        .scalar_subquery()
    )

    def latest(column: Any) -> ScalarSelect[Any]:
        return (
            select(column)
            .order_by(AuditVerification.verified_at.desc(), AuditVerification.id)
            .limit(1)
            .scalar_subquery()
        )

    return select(
        users,
        trajectories,
        editions,
        latest(AuditVerification.verified_at),
        latest(AuditVerification.ok),
        latest(AuditVerification.broken_sequence),
    )


def tenants_with_usage() -> list[TenantUsage]:
    """Every tenant with its counts of active users, active trajectories and editions (not
    cancelled).

    Counting happens inside each tenant in turn, so the scoping and row-level security apply as
    everywhere else; no query ever sees two tenants. Cost: 1 query for the tenants, then 2 per
    tenant (the transaction's `app.tenant_id` setting, then one statement with the three
    counts), and 1 to leave the last tenant: 2n + 2 (the page adds 1 for the operator's login).
    Constant in the amount of data; for the ~400 tenants we design for it is ~800 short
    statements on `(tenant_id, ...)` indexes: acceptable for an operator's page, which is not an
    employee's (and the reason this is no dashboard that refreshes itself).
    """
    tenants = list(
        db.session.scalars(
            select(Tenant).options(defer(Tenant.theme_logo)).order_by(Tenant.name, Tenant.slug)
        )
    )
    rows: list[TenantUsage] = []
    previous = g.get("tenant")
    statement = _usage_counts()
    try:
        for tenant in tenants:
            # Switching directly from one tenant to the next (rather than nesting a
            # `tenant_scope` per tenant) saves the reset to "no tenant" in between.
            activate_tenant(tenant)
            counts: Any = db.session.execute(statement).one()
            users, trajectories, editions, verified_at, ok, broken = counts
            verification = (
                (verified_at, bool(ok), broken) if isinstance(verified_at, datetime) else None
            )
            rows.append(TenantUsage(tenant, users, trajectories, editions, verification))
    finally:
        if tenants:
            activate_tenant(previous)
    return rows
