"""Verifying a tenant's audit chain and keeping the outcome (`AuditVerification`).

`flask --app samenleren audit verify` calls `verify_tenant` for one or every tenant; the operator
console shows the latest outcome per tenant. Each run starts from the head the last intact run
found, so a chain that lost its newest events does not pass as a shorter, intact one.
"""

from __future__ import annotations

from sqlalchemy import select

from samenleren.audit.chain import ChainReport, verify_chain
from samenleren.audit.models import AuditVerification
from samenleren.core.extensions import db
from samenleren.core.tenancy import require_tenant


def last_verification(*, intact_only: bool = False) -> AuditVerification | None:
    """The current tenant's latest verification (optionally the latest that found it intact)."""
    query = select(AuditVerification)
    if intact_only:
        query = query.where(AuditVerification.ok.is_(True))
    query = query.order_by(AuditVerification.verified_at.desc(), AuditVerification.id).limit(1)
    return db.session.scalar(query)


def verify_tenant() -> tuple[ChainReport, AuditVerification]:
    """Recompute the current tenant's chain and store the outcome (flushed, not committed)."""
    tenant = require_tenant()
    anchor_row = last_verification(intact_only=True)
    anchor = (anchor_row.head_sequence, anchor_row.head_hash) if anchor_row else None
    report = verify_chain(db.session, tenant.id, anchor)
    stored = AuditVerification(
        ok=report.ok,
        checked=report.checked,
        head_sequence=report.head_sequence,
        head_hash=report.head_hash,
        broken_sequence=report.broken_sequence,
        broken_event_id=report.broken_event_id,
        problem=report.problem,
    )
    # A broken chain keeps the last intact anchor: the next run checks against it again.
    db.session.add(stored)
    db.session.flush()
    return report, stored
