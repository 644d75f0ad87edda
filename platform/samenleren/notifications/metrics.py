"""The outbox as Prometheus sees it, computed when the scheduler's metrics are scraped.

Per tenant (its slug; bounded by the tenants): notifications not yet sent, by state (`pending`,
`sending`, `failed`), and how long the oldest one that is due has waited. Counted inside each
tenant in turn, as the operator console counts the outbox: the scoping and row-level security
apply as everywhere, no query sees two tenants, and the runtime role needs no right it lacks.
Cost per scrape: 2 short statements per tenant on the (tenant_id, state, due_at) index, plus 2.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import and_, func, select
from sqlalchemy.orm import defer

from samenleren.core.db import as_utc, utcnow
from samenleren.core.extensions import db
from samenleren.core.tenancy import activate_tenant
from samenleren.core.tenant import Tenant
from samenleren.notifications.models import Notification, NotificationState

#: The states of a notification that is not done with.
OPEN_STATES = (NotificationState.PENDING, NotificationState.SENDING, NotificationState.FAILED)


def outbox_metrics() -> Iterable[Metric]:
    now = utcnow()
    backlog = GaugeMetricFamily(
        "samenleren_outbox_notifications",
        "Notifications not sent yet, by tenant and state (pending, sending, failed).",
        labels=["tenant", "state"],
    )
    oldest = GaugeMetricFamily(
        "samenleren_outbox_oldest_due_age_seconds",
        "How long the oldest notification that is due and pending has waited (0: none), by tenant.",
        labels=["tenant"],
    )
    due = and_(Notification.state == NotificationState.PENDING, Notification.due_at <= now)
    statement = (
        select(Notification.state, func.count(), func.min(Notification.due_at).filter(due))
        .where(Notification.state.in_(OPEN_STATES))
        .group_by(Notification.state)
    )
    tenants = list(
        db.session.scalars(select(Tenant).options(defer(Tenant.theme_logo)).order_by(Tenant.slug))
    )
    try:
        for tenant in tenants:
            activate_tenant(tenant)
            counts = dict.fromkeys(OPEN_STATES, 0)
            first_due = None
            for state, number, first in db.session.execute(statement):
                counts[NotificationState(state)] = int(number)
                if first is not None:
                    first_due = as_utc(first)
            for state, number in counts.items():
                backlog.add_metric([tenant.slug, state.value], number)
            age = (now - first_due).total_seconds() if first_due is not None else 0.0
            oldest.add_metric([tenant.slug], max(age, 0.0))
    finally:
        activate_tenant(None)
    return [backlog, oldest]
