"""What the operator sees of the background work: the RQ queues, failed jobs, the outbox.

No personal data: a failed job is shown by its id, job name, tenant slug, times and the *kind*
of exception (its class, e.g. `SMTPServerDisconnected`), never the exception's message, which
may quote an address or a name; the outbox is counted per tenant and state, never a recipient.

The outbox is counted inside each tenant in turn (as the tenant list counts its usage), so
scoping and row-level security apply as everywhere: no query sees two tenants.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app, g
from redis.exceptions import RedisError
from sqlalchemy import and_, func, select
from sqlalchemy.orm import defer

from samenleren.core.db import as_utc, utcnow
from samenleren.core.extensions import db
from samenleren.core.jobs.runtime import QUEUES, connection, queue
from samenleren.core.tenancy import activate_tenant, tenant_scope
from samenleren.core.tenant import Tenant
from samenleren.notifications.models import Notification, NotificationState

log = logging.getLogger(__name__)

#: Failed jobs listed per queue (newest first); the count beside them is complete.
FAILED_SHOWN = 50
#: What an RQ job id looks like (uuid4 hex with or without dashes); anything else is "missing".
JOB_ID = re.compile(r"^[0-9a-f][0-9a-f-]{0,63}$")


class QueuesUnavailable(RuntimeError):
    """Redis is not configured or does not answer."""


@dataclass(frozen=True)
class QueueCounts:
    name: str
    queued: int
    started: int
    scheduled: int
    deferred: int
    failed: int


@dataclass(frozen=True)
class FailedJob:
    id: str
    queue: str
    job: str
    tenant_slug: str
    enqueued_at: datetime | None
    ended_at: datetime | None
    #: The exception's class only (its message may hold personal data).
    error: str


@dataclass
class QueueOverview:
    configured: bool
    available: bool
    counts: list[QueueCounts] = field(default_factory=list)
    failed: list[FailedJob] = field(default_factory=list)


def _error_kind(exc_string: str | None) -> str:
    """The exception class of a traceback's last line ("smtplib.SMTPDataError: ..." ->
    "smtplib.SMTPDataError"); never the message after the colon."""
    lines = [line for line in (exc_string or "").strip().splitlines() if line.strip()]
    if not lines:
        return ""
    last = lines[-1].strip()
    kind = last.split(":", 1)[0].strip()
    return kind if re.fullmatch(r"[A-Za-z_][\w.]*", kind) else "?"


def _failure_of(job: Any) -> str:
    result = job.latest_result()
    return _error_kind(getattr(result, "exc_string", None))


def queue_overview() -> QueueOverview:
    """Counts per queue and the newest failed jobs; `available=False` when Redis is down."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if not app.config.get("REDIS_URL"):
        return QueueOverview(configured=False, available=False)
    from rq.job import Job
    from rq.serializers import JSONSerializer

    try:
        counts: list[QueueCounts] = []
        failed: list[tuple[str, Any]] = []
        for name in QUEUES:
            q = queue(app, name)
            registry = q.failed_job_registry
            counts.append(
                QueueCounts(
                    name=name,
                    queued=q.count,
                    started=q.started_job_registry.count,
                    scheduled=q.scheduled_job_registry.count,
                    deferred=q.deferred_job_registry.count,
                    failed=registry.count,
                )
            )
            ids = registry.get_job_ids(0, FAILED_SHOWN - 1, desc=True)
            fetched = Job.fetch_many(ids, connection=connection(app), serializer=JSONSerializer)
            failed.extend((name, job) for job in fetched if job is not None)
        rows = [(name, job, _failure_of(job)) for name, job in failed]
    except RedisError as exc:
        log.warning("operator: the job queues cannot be read: %s", exc)
        return QueueOverview(configured=True, available=False)
    slugs = _tenant_slugs({(job.kwargs or {}).get("tenant_id") for _, job, _ in rows} - {None})
    jobs = [
        FailedJob(
            id=job.id,
            queue=name,
            job=str((job.kwargs or {}).get("job") or job.func_name or ""),
            tenant_slug=slugs.get(str((job.kwargs or {}).get("tenant_id")), "")
            if (job.kwargs or {}).get("tenant_id")
            else "",
            enqueued_at=_aware(job.enqueued_at),
            ended_at=_aware(job.ended_at),
            error=error,
        )
        for name, job, error in rows
    ]
    jobs.sort(key=lambda j: j.ended_at or datetime.min.replace(tzinfo=UTC), reverse=True)
    return QueueOverview(configured=True, available=True, counts=counts, failed=jobs)


def _aware(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


def _tenant_slugs(ids: Iterable[object]) -> dict[str, str]:
    wanted = []
    for value in ids:
        try:
            wanted.append(uuid.UUID(str(value)))
        except ValueError:
            continue
    if not wanted:
        return {}
    return {
        str(tenant_id): slug
        for tenant_id, slug in db.session.execute(
            select(Tenant.id, Tenant.slug).where(Tenant.id.in_(wanted))
        )
    }


class JobNotFound(LookupError):
    pass


def _failed_registry(queue_name: str):
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if queue_name not in QUEUES or not app.config.get("REDIS_URL"):
        raise JobNotFound(queue_name)
    return queue(app, queue_name).failed_job_registry


def failed_job(queue_name: str, job_id: str) -> FailedJob:
    """One failed job of `queue_name` (for the confirmation page); JobNotFound otherwise."""
    if not JOB_ID.match(job_id):
        raise JobNotFound(job_id)
    registry = _failed_registry(queue_name)
    if job_id not in registry:
        raise JobNotFound(job_id)
    for shown in queue_overview().failed:
        if shown.id == job_id and shown.queue == queue_name:
            return shown
    from rq.exceptions import NoSuchJobError
    from rq.job import Job
    from rq.serializers import JSONSerializer

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        job = Job.fetch(job_id, connection=connection(app), serializer=JSONSerializer)
    except NoSuchJobError as exc:
        raise JobNotFound(job_id) from exc
    tenant_id = (job.kwargs or {}).get("tenant_id")
    return FailedJob(
        id=job.id,
        queue=queue_name,
        job=str((job.kwargs or {}).get("job") or job.func_name or ""),
        tenant_slug=_tenant_slugs({tenant_id}).get(str(tenant_id), "") if tenant_id else "",
        enqueued_at=_aware(job.enqueued_at),
        ended_at=_aware(job.ended_at),
        error=_failure_of(job),
    )


def retry_job(queue_name: str, job_id: str) -> None:
    """Put a failed job back on its queue (RQ requeue: the same id, arguments and tenant)."""
    from rq.exceptions import InvalidJobOperation

    if not JOB_ID.match(job_id):
        raise JobNotFound(job_id)
    try:
        _failed_registry(queue_name).requeue(job_id)
    except InvalidJobOperation as exc:
        raise JobNotFound(job_id) from exc
    log.info("operator %s requeued job %s (%s)", _operator(), job_id, queue_name)


def delete_job(queue_name: str, job_id: str) -> None:
    """Remove a failed job for good (its notification, if any, stays in the outbox)."""
    if not JOB_ID.match(job_id):
        raise JobNotFound(job_id)
    registry = _failed_registry(queue_name)
    if job_id not in registry:
        raise JobNotFound(job_id)
    registry.remove(job_id, delete_job=True)
    log.info("operator %s deleted failed job %s (%s)", _operator(), job_id, queue_name)


def _operator() -> str:
    operator = g.get("operator")
    return getattr(operator, "subject", "?")


# --- the outbox -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutboxRow:
    tenant: Tenant
    counts: dict[NotificationState, int]
    #: How long the oldest notification that is due has been waiting to be sent.
    oldest_due: timedelta | None

    @property
    def failed(self) -> int:
        return self.counts.get(NotificationState.FAILED, 0)


def outbox_per_tenant(now: datetime | None = None) -> list[OutboxRow]:
    """Per tenant: notifications per state and the age of the oldest one due and unsent.

    Inside each tenant in turn (2 queries per tenant, plus 1 for the tenants and 1 to leave).
    """
    now = now or utcnow()
    tenants = list(
        db.session.scalars(
            select(Tenant).options(defer(Tenant.theme_logo)).order_by(Tenant.name, Tenant.slug)
        )
    )
    due = Notification.state == NotificationState.PENDING
    statement = select(
        Notification.state,
        func.count(),
        func.min(Notification.due_at).filter(and_(due, Notification.due_at <= now)),
    ).group_by(Notification.state)
    rows: list[OutboxRow] = []
    previous = g.get("tenant")
    try:
        for tenant in tenants:
            activate_tenant(tenant)
            counts: dict[NotificationState, int] = {}
            oldest: datetime | None = None
            for state, number, first_due in db.session.execute(statement):
                counts[NotificationState(state)] = int(number)
                if first_due is not None:
                    oldest = as_utc(first_due)
            rows.append(OutboxRow(tenant, counts, now - oldest if oldest else None))
    finally:
        if tenants:
            activate_tenant(previous)
    return rows


def retry_failed_notifications(tenant: Tenant) -> int:
    """Give the tenant's failed notifications a new round of attempts (sent by a job after the
    commit); returns how many."""
    from samenleren.notifications.outbox import retry_failed

    with tenant_scope(tenant):
        count = retry_failed()
        db.session.commit()
    log.info("operator %s retried %d failed notifications of %s", _operator(), count, tenant.slug)
    return count
