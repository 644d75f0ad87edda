"""Recording audit events: every domain calls `record()`, in its own transaction.

Nothing ever changes or deletes an event (see `models`). Reading them (the programme admin's
page and export) is the `audit_log` face.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import has_request_context, request

from samenleren.audit.models import AuditEvent
from samenleren.core.extensions import db

PAGE_SIZE = 50
#: Beyond this page, narrow the period (an OFFSET this deep is slow, and nobody reads it).
MAX_PAGE = 2_000


def record(
    action: str,
    *,
    actor: Any = None,
    actor_label: str = "",
    subject_type: str = "",
    subject_id: uuid.UUID | str | None = None,
    details: dict | None = None,
) -> AuditEvent:
    """Add an event to the current tenant's log, in the caller's transaction.

    `actor` is a `User` (or None for the system, an IdP or a SCIM client: say so in
    `actor_label`). The event is written with the caller's commit, so a refused change that is
    rolled back leaves no event claiming it happened.
    """
    event = AuditEvent(
        action=str(action),
        actor_id=getattr(actor, "id", None),
        actor_label=actor_label or getattr(actor, "name", "") or "",
        subject_type=subject_type,
        subject_id=str(subject_id) if subject_id is not None else "",
        details=details or {},
        ip_address=(request.remote_addr or "") if has_request_context() else "",
    )
    db.session.add(event)
    return event
