"""Recording audit events: every domain calls `record()`, in its own transaction.

Nothing ever changes or deletes an event (see `models`). Reading them (the programme admin's
page and export) is the `audit_log` face.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import has_request_context, request

from samenleren.audit import chain  # noqa: F401 (chains every event when it is flushed)
from samenleren.audit.events import AuditAction
from samenleren.audit.models import AuditEvent
from samenleren.core.extensions import db

PAGE_SIZE = 50
#: Beyond this page, narrow the period (an OFFSET this deep is slow, and nobody reads it).
MAX_PAGE = 2_000

RESULTS = ("allowed", "refused", "failed")
#: Actions that are refusals by nature: their result is "refused" unless the caller says otherwise.
REFUSALS = frozenset({AuditAction.LOGIN_REFUSED})


def record(
    action: str,
    *,
    actor: Any = None,
    actor_label: str = "",
    subject_type: str = "",
    subject_id: uuid.UUID | str | None = None,
    details: dict | None = None,
    result: str | None = None,
) -> AuditEvent:
    """Add an event to the current tenant's log, in the caller's transaction.

    `actor` is a `User` (or None for the system, an IdP or a SCIM client: say so in
    `actor_label`). The event is written with the caller's commit, so a refused change that is
    rolled back leaves no event claiming it happened. `result` is "allowed", "refused" or
    "failed"; by default "refused" for a refusal action (a refused login), else "allowed". The
    origin (address and User-Agent) comes from the request, when there is one.
    """
    if result is None:
        result = "refused" if action in REFUSALS else "allowed"
    if result not in RESULTS:
        raise ValueError(f"unknown audit result {result!r}")
    event = AuditEvent(
        id=uuid.uuid4(),
        action=str(action),
        actor_id=getattr(actor, "id", None),
        actor_label=actor_label or getattr(actor, "name", "") or "",
        subject_type=subject_type,
        subject_id=str(subject_id) if subject_id is not None else "",
        details=details or {},
        ip_address=(request.remote_addr or "") if has_request_context() else "",
        user_agent=request.user_agent.string[:300] if has_request_context() else "",
        result=result,
    )
    db.session.add(event)
    return event
