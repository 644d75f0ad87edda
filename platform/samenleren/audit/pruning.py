"""Removing a tenant's oldest audit events once their retention has passed, without breaking
the chain the CISO verifies.

Only a *prefix* of the chain is ever removed (sequence 1 up to N). Before removing it, an
`audit.pruned` event is added at the head of the chain naming the last removed event: its
sequence N and its `entry_hash`. That event is itself chained, so it cannot be forged or
changed without breaking the chain after it; `verify_chain` starts from it (expecting event
N + 1 with `previous_hash` = the named hash) and checks everything after as before. A row
changed after the anchor is caught exactly as without pruning.

The runtime role may not delete audit events (`migrations/env.py`); on PostgreSQL the removal
goes through one narrow door, the SECURITY DEFINER function `audit_prune_prefix` (migration
0022), which deletes only the current tenant's prefix through an event that an `audit.pruned`
event names with the same hash, and only events older than three years. SQLite (the embedded
development setup) has no roles: a plain delete there.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, text

from samenleren.audit.events import AuditAction
from samenleren.audit.models import AuditEvent
from samenleren.audit.services import record
from samenleren.core.db import rowcount
from samenleren.core.extensions import db
from samenleren.core.tenancy import require_tenant

#: The legal floor for the audit log's retention, in months (also enforced by the database).
MINIMUM_MONTHS = 36


def prune_before(cutoff: datetime, *, keep_from: int | None = None) -> int:
    """Remove the current tenant's events that occurred before `cutoff`, oldest first, stopping
    before sequence `keep_from` (an event that must stay, e.g. one about a person on legal
    hold). Returns how many were removed. Flushes, never commits; the caller should verify the
    chain first: pruning a broken chain would remove the evidence."""
    tenant = require_tenant()
    query = (
        select(AuditEvent.sequence, AuditEvent.entry_hash)
        .where(AuditEvent.sequence.is_not(None), AuditEvent.occurred_at < cutoff)
        .order_by(AuditEvent.sequence.desc())
        .limit(1)
    )
    if keep_from is not None:
        query = query.where(AuditEvent.sequence < keep_from)
    last = db.session.execute(query).first()
    if last is None:
        return 0
    through, through_hash = int(last[0] or 0), str(last[1])
    record(
        AuditAction.AUDIT_PRUNED,
        details={"through_sequence": through, "through_hash": through_hash},
    )
    db.session.flush()
    connection = db.session.connection()
    removed: int
    if connection.dialect.name == "postgresql":
        removed = connection.execute(
            text("SELECT audit_prune_prefix(:tenant, :through, :hash)"),
            {"tenant": tenant.id, "through": through, "hash": through_hash},
        ).scalar_one()
    else:
        table = AuditEvent.__table__
        removed = rowcount(
            connection.execute(
                table.delete().where(table.c.tenant_id == tenant.id, table.c.sequence <= through)
            )
        )
    return int(removed)
