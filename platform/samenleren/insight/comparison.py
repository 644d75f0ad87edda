"""Comparison with other organisations, opt-in: a tenant that shares its aggregated figures sees
its own transfer rate and cost per learner beside the median of the other sharing tenants -
only when at least `MIN_TENANTS` tenants shared.

The comparison job (`compute_comparisons`) is the one place in insight that works across
tenants, and it does so the way the operator's pages do: it visits one tenant at a time in that
tenant's own context (scoping and row-level security apply as everywhere; no query sees two
tenants), reads two aggregate figures of each *sharing* tenant, and writes to each sharing
tenant one `Comparison` row - its own two figures and the others' medians, nothing about a
person - with an event in that tenant's audit log. A tenant that does not share is never read
beyond its setting, and its stale comparison rows are removed.
"""

from __future__ import annotations

import logging
import statistics
from dataclasses import dataclass

from flask import g
from sqlalchemy import delete, exists, literal, select, true
from sqlalchemy.orm import defer

from samenleren.audit.events import AuditAction
from samenleren.audit.services import record
from samenleren.budget.ledger import years_costs
from samenleren.core.db import utcnow
from samenleren.core.extensions import db
from samenleren.core.tenancy import activate_tenant
from samenleren.core.tenant import Tenant
from samenleren.identity.models import User
from samenleren.insight.figures import year_transfer
from samenleren.insight.models import Comparison, ReportMailOptOut, SharingSetting

log = logging.getLogger(__name__)

#: Fewer sharing tenants than this: no median is shown (one other tenant's figure could be read
#: from it).
MIN_TENANTS = 5
#: Who the audit log names as the actor of the comparison.
PLATFORM = "Samen Leren (platform comparison)"


def set_sharing(user: User, share: bool) -> SharingSetting:
    """The tenant shares its aggregated figures (or stops); audited. Flushes."""
    setting = db.session.scalar(select(SharingSetting))
    if setting is None:
        setting = SharingSetting(share=False)
        db.session.add(setting)
    if setting.share != share:
        setting.share = share
        setting.changed_by_id = user.id
        setting.changed_at = utcnow()
        record(
            AuditAction.INSIGHT_SHARING_ON if share else AuditAction.INSIGHT_SHARING_OFF,
            actor=user,
            subject_type="tenant",
        )
    if not share:
        # What was computed while it shared goes with it.
        db.session.execute(delete(Comparison))
    db.session.flush()
    return setting


@dataclass(frozen=True)
class PageState:
    """What the report page shows about the admin's choices and the comparison."""

    wants_mail: bool
    shares: bool
    comparison: Comparison | None


def page_state(user: User, year: int) -> PageState:
    """The admin's mail choice, the tenant's sharing choice and the year's comparison: one
    query."""
    opted_out = exists().where(ReportMailOptOut.user_id == user.id)
    shares = select(SharingSetting.share).scalar_subquery()
    one = select(literal(1).label("one")).subquery()
    comparison = select(Comparison).where(Comparison.year == year).subquery()
    row = db.session.execute(
        select(opted_out.label("opted_out"), shares.label("shares"), comparison).select_from(
            one.outerjoin(comparison, true())
        )
    ).one()
    found = None
    if row.id is not None:
        found = Comparison(
            year=row.year,
            tenants=row.tenants,
            own_transfer_percent=row.own_transfer_percent,
            own_cost_per_learner_cents=row.own_cost_per_learner_cents,
            others_transfer_percent=row.others_transfer_percent,
            others_cost_per_learner_cents=row.others_cost_per_learner_cents,
            computed_at=row.computed_at,
        )
    return PageState(wants_mail=not row.opted_out, shares=bool(row.shares), comparison=found)


@dataclass(frozen=True)
class Shared:
    """What one sharing tenant contributes: two aggregate figures, no rows."""

    transfer_percent: int | None
    cost_per_learner_cents: int | None


def own_figures(year: int) -> Shared:
    """The current tenant's transfer rate (according to the managers, three months, the whole
    tenant) and cost per learner in `year`."""
    transfer = year_transfer(year).by_manager
    return Shared(transfer.percent, years_costs(year, year)[0].per_learner_cents)


def _median(values: list[int | None]) -> int | None:
    known = [v for v in values if v is not None]
    if not known:
        return None
    return int(statistics.median_low(known))


def compute_comparisons(year: int) -> int:
    """Visit every active tenant in its own context; for each that shares, store its own
    figures and the median of the other sharing tenants (when at least `MIN_TENANTS` shared).
    Returns the number of sharing tenants. Does not commit."""
    tenants = [
        t
        for t in db.session.scalars(
            select(Tenant).options(defer(Tenant.theme_logo)).order_by(Tenant.slug)
        )
        if t.is_active
    ]
    previous = g.get("tenant")
    shared: dict[object, Shared] = {}
    try:
        for tenant in tenants:
            activate_tenant(tenant)
            if db.session.scalar(select(SharingSetting.share)):
                shared[tenant.id] = own_figures(year)
            else:
                db.session.execute(delete(Comparison))
        enough = len(shared) >= MIN_TENANTS
        for tenant in tenants:
            if tenant.id not in shared:
                continue
            activate_tenant(tenant)
            own = shared[tenant.id]
            others = [figures for tid, figures in shared.items() if tid != tenant.id]
            row = db.session.scalar(select(Comparison).where(Comparison.year == year))
            if row is None:
                row = Comparison(year=year, tenants=0)
                db.session.add(row)
            row.tenants = len(shared)
            row.own_transfer_percent = own.transfer_percent
            row.own_cost_per_learner_cents = own.cost_per_learner_cents
            row.others_transfer_percent = (
                _median([o.transfer_percent for o in others]) if enough else None
            )
            row.others_cost_per_learner_cents = (
                _median([o.cost_per_learner_cents for o in others]) if enough else None
            )
            row.computed_at = utcnow()
            record(
                AuditAction.INSIGHT_COMPARISON_COMPUTED,
                actor_label=PLATFORM,
                subject_type="tenant",
                details={"year": year, "tenants": len(shared)},
            )
            db.session.flush()
    finally:
        activate_tenant(previous)
    log.info("comparison %d: %d tenant(s) shared", year, len(shared))
    return len(shared)
