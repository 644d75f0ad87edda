"""The audit log's hash chain: each tenant's events form one chain the CISO can verify.

Every event stores `sequence` (1, 2, 3, ... per tenant), `previous_hash` (the `entry_hash` of
the event before it; for the first, the tenant's genesis value) and `entry_hash`: the SHA-256 of
the event's canonical content, which includes `previous_hash`. Changing, deleting or inserting a
row anywhere therefore breaks the chain from that row on, and `verify_chain` names the first
broken link. Removing the newest rows leaves a shorter, valid chain: that is caught by comparing
with the head recorded at the previous verification (`AuditVerification`).

Events are chained when they are flushed, whatever added them (`record()` or a direct
`AuditEvent(...)`). Concurrent writers of one tenant are serialised by a transaction-level
advisory lock on PostgreSQL, taken before the chain head is read and held until commit, so two
transactions never extend the chain from the same head; the unique `(tenant_id, sequence)`
constraint refuses a fork even if the lock were ever bypassed. SQLite (the embedded development
setup) has a single writer and needs no lock.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Generator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import event, select, text

from samenleren.audit.models import AuditEvent
from samenleren.core.db import utcnow
from samenleren.core.session import TenantAwareSession
from samenleren.core.tenancy import current_tenant_id

#: The lock namespace (first key of the two-key advisory lock): "audit chain".
_LOCK_NAMESPACE = 0x5A17
_SESSION_KEY = "audit_chain_head"
#: `AuditAction.AUDIT_PRUNED`: the event naming the last event removed after its retention.
PRUNED_ACTION = "audit.pruned"

#: What can be wrong with a link (`ChainReport.problem`, stored with each verification).
PROBLEMS = {
    "outside_chain": _l("An event outside the chain (it has no sequence number)"),
    "missing": _l("An event is missing here (removed)"),
    "link": _l("Its link to the previous event does not match (an event changed or removed)"),
    "content": _l("Its content does not match its hash (the event was changed)"),
    "anchor": _l("It differs from the event verified earlier at this place"),
    "truncated": _l("The chain ends before the event verified earlier (events removed)"),
}


def genesis_hash(tenant_id: uuid.UUID) -> str:
    """The `previous_hash` of a tenant's first event: fixed, and different for every tenant."""
    return hashlib.sha256(f"samenleren-audit-genesis:{tenant_id}".encode()).hexdigest()


def canonical_moment(moment: datetime) -> str:
    """A timestamp as hashed: UTC, microseconds (SQLite gives it back without a zone: UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def normalise_details(details: Any) -> dict:
    """Details as the database gives them back (JSON object, string keys), so that the hash of
    an event just written equals the hash of the same event read later."""
    return json.loads(json.dumps(details or {}, ensure_ascii=False, default=str))


def canonical_content(values: dict[str, Any]) -> bytes:
    """The bytes an event's hash is taken of: every column but the hash itself, as sorted JSON.

    `values` holds the columns by name (an `AuditEvent`'s attributes or a row of the table).
    """
    content = {
        "tenant_id": str(values["tenant_id"]),
        "id": str(values["id"]),
        "sequence": int(values["sequence"]),
        "previous_hash": values["previous_hash"],
        "occurred_at": canonical_moment(values["occurred_at"]),
        "action": values["action"],
        "result": values["result"],
        "actor_id": str(values["actor_id"]) if values["actor_id"] is not None else None,
        "actor_label": values["actor_label"],
        "subject_type": values["subject_type"],
        "subject_id": values["subject_id"],
        "details": values["details"] or {},
        "ip_address": values["ip_address"],
        "user_agent": values["user_agent"],
    }
    return json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def entry_hash(values: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_content(values)).hexdigest()


def _columns(event_row: AuditEvent) -> dict[str, Any]:
    return {column.key: getattr(event_row, column.key) for column in AuditEvent.__table__.columns}


# --- chaining new events, at flush -------------------------------------------------------------


def _lock_and_read_head(session: Any, tenant_id: uuid.UUID) -> tuple[int, str]:
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(
            text("SELECT pg_advisory_xact_lock(:namespace, hashtext(:tenant))"),
            {"namespace": _LOCK_NAMESPACE, "tenant": str(tenant_id)},
        )
    # Through the connection, not the ORM: this runs inside a flush.
    row = connection.execute(
        select(AuditEvent.sequence, AuditEvent.entry_hash)
        .where(AuditEvent.tenant_id == tenant_id, AuditEvent.sequence.is_not(None))
        .order_by(AuditEvent.sequence.desc())
        .limit(1)
    ).first()
    if row is None:
        return 0, genesis_hash(tenant_id)
    return int(row[0]), str(row[1])


@event.listens_for(TenantAwareSession, "before_flush")
def _chain_new_events(session: Any, flush_context: Any, instances: Any) -> None:
    new = [obj for obj in session.new if isinstance(obj, AuditEvent) and obj.sequence is None]
    if not new:
        return
    for obj in new:
        # The columns the hash covers get their final values now, not from column defaults.
        if obj.tenant_id is None:
            obj.tenant_id = current_tenant_id()
        if obj.id is None:
            obj.id = uuid.uuid4()
        if obj.occurred_at is None:
            obj.occurred_at = utcnow()
        obj.result = obj.result or "allowed"
        for name in ("actor_label", "subject_type", "subject_id", "ip_address", "user_agent"):
            if getattr(obj, name) is None:
                setattr(obj, name, "")
        obj.details = normalise_details(obj.details)
    new.sort(key=lambda obj: (canonical_moment(obj.occurred_at), str(obj.id)))
    root = session.get_transaction()
    while root is not None and root.parent is not None:
        root = root.parent
    heads: dict[uuid.UUID, tuple[int, str]]
    cached = session.info.get(_SESSION_KEY)
    if cached is not None and cached[0] is root:
        heads = cached[1]
    else:
        heads = {}
        session.info[_SESSION_KEY] = (root, heads)
    for obj in new:
        if obj.tenant_id not in heads:
            heads[obj.tenant_id] = _lock_and_read_head(session, obj.tenant_id)
        sequence, previous = heads[obj.tenant_id]
        obj.sequence = sequence + 1
        obj.previous_hash = previous
        obj.entry_hash = entry_hash(_columns(obj))
        heads[obj.tenant_id] = (obj.sequence, obj.entry_hash)


@event.listens_for(TenantAwareSession, "after_soft_rollback")
def _forget_head(session: Any, previous_transaction: Any) -> None:
    # Rolled-back events (a savepoint too) never reached the chain: read the head again.
    session.info.pop(_SESSION_KEY, None)


# --- verifying ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainReport:
    """The outcome of recomputing one tenant's chain."""

    checked: int
    #: The last event of an intact chain (sequence and hash), or of the intact part before a break.
    head_sequence: int
    head_hash: str
    #: The first broken link: its sequence (or None for an event outside the chain), its id and
    #: what is wrong (a key of `PROBLEMS`); all None when the chain is intact.
    broken_sequence: int | None = None
    broken_event_id: uuid.UUID | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def _rows(session: Any) -> Generator[AuditEvent, None, None]:
    query = (
        select(AuditEvent)
        .order_by(AuditEvent.sequence.asc().nulls_last(), AuditEvent.id)
        .execution_options(yield_per=1000)
    )
    result = session.scalars(query)
    try:
        yield from result
    finally:
        # Stopping at a broken link leaves the server-side cursor open otherwise.
        result.close()


def pruned_anchor(session: Any, tenant_id: uuid.UUID) -> tuple[int, str] | None:
    """(sequence, hash) of the last event removed by the newest pruning, or None."""
    row = session.execute(
        select(AuditEvent.details)
        .where(
            AuditEvent.tenant_id == tenant_id,
            AuditEvent.action == PRUNED_ACTION,
            AuditEvent.sequence.is_not(None),
        )
        .order_by(AuditEvent.sequence.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    details = row[0] or {}
    try:
        return int(details["through_sequence"]), str(details["through_hash"])
    except (KeyError, TypeError, ValueError):
        return None


def verify_chain(
    session: Any, tenant_id: uuid.UUID, anchor: tuple[int, str] | None = None
) -> ChainReport:
    """Recompute the current tenant's chain, oldest first; stop at the first broken link.

    `anchor` is the head (sequence, hash) found intact at an earlier verification: the chain
    must still contain it, so removing the newest events is noticed too.
    """
    # After a retention run removed the oldest events, the chain starts after the last removed
    # one, named by the newest `audit.pruned` event (itself checked when the loop reaches it).
    start = pruned_anchor(session, tenant_id)
    expected_previous = start[1] if start else genesis_hash(tenant_id)
    expected_sequence = start[0] + 1 if start else 1
    checked = 0
    anchor_seen = anchor is None or anchor[0] == 0 or (start is not None and anchor[0] <= start[0])
    rows = _rows(session)
    for row in rows:
        values = _columns(row)
        problem = None
        if row.sequence is None:
            problem = "outside_chain"
        elif row.sequence != expected_sequence:
            problem = "missing"
        elif row.previous_hash != expected_previous:
            problem = "link"
        elif row.entry_hash != entry_hash(values):
            problem = "content"
        elif anchor is not None and row.sequence == anchor[0] and row.entry_hash != anchor[1]:
            problem = "anchor"
        if problem is not None:
            rows.close()
            return ChainReport(
                checked=checked,
                head_sequence=expected_sequence - 1,
                head_hash=expected_previous,
                broken_sequence=row.sequence,
                broken_event_id=row.id,
                problem=problem,
            )
        if anchor is not None and row.sequence == anchor[0]:
            anchor_seen = True
        checked += 1
        expected_previous = str(row.entry_hash)
        expected_sequence += 1
    if not anchor_seen:
        assert anchor is not None
        return ChainReport(
            checked=checked,
            head_sequence=expected_sequence - 1,
            head_hash=expected_previous,
            broken_sequence=expected_sequence,
            problem="truncated",
        )
    return ChainReport(
        checked=checked, head_sequence=expected_sequence - 1, head_hash=expected_previous
    )
