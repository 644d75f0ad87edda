"""The outbox: `notify()` writes a notification row, sent after the commit by `delivery`.

A notification is a row before it is anything else: `notify()` is idempotent on its `key`, so a
retried request or job writes it once; `cancel()` withdraws one that has not gone out;
`retry_failed()` gives given-up rows a new round. Nothing is ever deleted.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from samenleren.core.db import as_utc, rowcount, utcnow
from samenleren.core.extensions import db
from samenleren.core.jobs.runtime import enqueue, pending_jobs
from samenleren.core.tenancy import current_tenant, current_tenant_id
from samenleren.identity.models import User
from samenleren.notifications import kinds
from samenleren.notifications.models import (
    Notification,
    NotificationKind,
    NotificationMode,
    NotificationState,
)


def message_id_for(tenant_id: uuid.UUID, key: str) -> str:
    """Stable per (tenant, key): every attempt to send the same notification carries it."""
    digest = hashlib.sha256(f"{tenant_id}:{key}".encode()).hexdigest()[:40]
    host = urlsplit(current_app.config["SAMENLEREN_BASE_URL"]).hostname or "samenleren.invalid"
    return f"<{digest}@{host}>"


def notify(
    recipient: User,
    kind: NotificationKind,
    *,
    key: str,
    due_at: datetime | None = None,
    context: dict | None = None,
    attachments: list[dict] | None = None,
) -> Notification:
    """Put a mail to `recipient` in the outbox (idempotent on `key` within the tenant).

    `context`: JSON values for the mail templates; a dict keyed by language codes
    ({"nl": ..., "en": ...}) is shown in the recipient's language; `due_on` (ISO date) becomes
    `due`; `path` (e.g. "/flevoland/trajectories/<id>") becomes the absolute `link`.
    `attachments`: [{"filename", "content_type", "method"?, "text"}]; a text/calendar one with a
    `method` also becomes a `text/calendar; method=...` alternative part (a meeting in Outlook).
    The mail goes out after the current transaction commits (once due).
    """
    existing = db.session.scalars(select(Notification).where(Notification.key == key)).first()
    if existing is not None:
        return existing
    tenant = current_tenant()
    assert tenant is not None, "notify() needs a tenant in context"
    spec = kinds.spec(kind)
    note = Notification(
        recipient_id=recipient.id,
        kind=str(kind),
        key=key,
        due_at=due_at or utcnow(),
        state=NotificationState.PENDING,
        digest=spec.digestible and recipient.notification_mode == NotificationMode.DIGEST,
        attempts=0,
        last_error="",
        context=context or {},
        attachments=attachments or [],
        message_id=message_id_for(tenant.id, key),
    )
    try:
        with db.session.begin_nested():
            db.session.add(note)
    except IntegrityError:  # the same key, written at the same moment by someone else
        return db.session.scalars(select(Notification).where(Notification.key == key)).one()
    if not note.digest and as_utc(note.due_at) <= utcnow() + timedelta(seconds=5):
        schedule_send()
    return note


def cancel(key: str) -> bool:
    """Cancel a notification that has not gone out yet; True when one was cancelled."""
    result = db.session.execute(
        update(Notification)
        .where(
            Notification.key == key,
            Notification.state.in_([NotificationState.PENDING, NotificationState.FAILED]),
        )
        .values(state=NotificationState.CANCELLED, claimed_until=None)
    )
    return bool(rowcount(result))


#: The job that sends the outbox (`notifications.jobs.send_due`), enqueued by its registered name.
SEND_DUE_JOB = "samenleren.notifications.jobs.send_due"


def schedule_send() -> None:
    """Send the current tenant's due mails right after this transaction commits (once)."""
    tenant_id = current_tenant_id()
    if tenant_id is None:
        return
    if any(
        payload["job"] == SEND_DUE_JOB and payload["tenant_id"] == str(tenant_id)
        for payload in pending_jobs()
    ):
        return
    enqueue(SEND_DUE_JOB, tenant_id=tenant_id)


def retry_failed(ids: Iterable[uuid.UUID] | None = None) -> int:
    """Give failed notifications (all, or `ids`) a new round of attempts."""
    query = update(Notification).where(Notification.state == NotificationState.FAILED)
    if ids is not None:
        query = query.where(Notification.id.in_(list(ids)))
    result = db.session.execute(
        query.values(state=NotificationState.PENDING, attempts=0, due_at=utcnow())
    )
    schedule_send()
    return rowcount(result)
