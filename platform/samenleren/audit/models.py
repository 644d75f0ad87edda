"""Audit events of a tenant: append-only for the application.

Two walls keep the log append-only: the database grants the runtime role only INSERT and SELECT
on the table (`migrations/env.py` revokes the rest after every upgrade, for every table marked
`append_only` in its `info`), and the session refuses to flush a changed or deleted event, or to
run an UPDATE or DELETE statement on it, before anything reaches the database.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Index, Integer, String, UniqueConstraint, Uuid, event
from sqlalchemy.orm import Mapped, ORMExecuteState, mapped_column

from samenleren.core.db import JSONType, UTCDateTime, utcnow
from samenleren.core.extensions import db
from samenleren.core.session import TenantAwareSession
from samenleren.core.tenancy import TenantScoped


class AppendOnlyViolation(RuntimeError):
    """Something tried to change or delete an audit event."""


class AuditEvent(TenantScoped, db.Model):
    """One thing that happened: a login, a refused login, a role change, an SSO or SCIM change,
    an export, a look at confidential data by someone other than learner and coach.

    `actor_id` is not a foreign key on purpose: the log outlives the people in it.
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_tenant_id_occurred_at", "tenant_id", "occurred_at"),
        # One event per place in a tenant's chain: a fork is refused by the database.
        UniqueConstraint("tenant_id", "sequence", name="uq_audit_events_tenant_id_sequence"),
        # Read by migrations/env.py: the runtime role may INSERT and SELECT, nothing else.
        {"info": {"append_only": True}},
    )

    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Dotted name: "login.succeeded", "login.refused", "role.added", "sso.changed", ...
    action: Mapped[str] = mapped_column(String(60))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    #: Shown as is, because the actor may be gone later (or be an IdP, SCIM client, ...).
    actor_label: Mapped[str] = mapped_column(String(200), default="")
    subject_type: Mapped[str] = mapped_column(String(40), default="")
    subject_id: Mapped[str] = mapped_column(String(64), default="")
    #: Facts without secrets: never a token, a password or the content of a confidential note.
    details: Mapped[dict] = mapped_column(JSONType, default=dict)
    ip_address: Mapped[str] = mapped_column(String(45), default="")
    #: "allowed" (it happened), "refused" (asked for and turned down) or "failed" (tried, broke).
    result: Mapped[str] = mapped_column(String(10), default="allowed", server_default="allowed")
    #: The origin besides the address: the browser's (or client's) User-Agent, shortened.
    user_agent: Mapped[str] = mapped_column(String(300), default="", server_default="")
    # The hash chain (see `samenleren.audit.chain`); set when the event is flushed.
    #: Place in the tenant's chain: 1, 2, 3, ... (None only for a row written around the app).
    sequence: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    #: `entry_hash` of the event before it (the tenant's genesis value for the first).
    previous_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: SHA-256 (hex) of this event's canonical content, `previous_hash` included.
    entry_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)


class AuditVerification(TenantScoped, db.Model):
    """One run of `flask audit verify` for a tenant: its outcome, shown on the operator console.

    The head found intact (`head_sequence`, `head_hash`) is the anchor of the next run: a chain
    that no longer reaches it has lost its newest events.
    """

    __tablename__ = "audit_verifications"
    __table_args__ = (
        Index("ix_audit_verifications_tenant_id_verified_at", "tenant_id", "verified_at"),
    )

    verified_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ok: Mapped[bool] = mapped_column(Boolean)
    #: Events found intact (all of them when `ok`; those before the break otherwise).
    checked: Mapped[int] = mapped_column(Integer)
    head_sequence: Mapped[int] = mapped_column(BigInteger)
    head_hash: Mapped[str] = mapped_column(String(64))
    #: The first broken link, when not `ok`: its place, its event and what is wrong with it.
    broken_sequence: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    broken_event_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    #: A key of `samenleren.audit.chain.PROBLEMS`.
    problem: Mapped[str | None] = mapped_column(String(20), nullable=True)


@event.listens_for(TenantAwareSession, "before_flush")
def _refuse_changed_events(session: Any, flush_context: Any, instances: Any) -> None:
    for obj in session.deleted:
        if isinstance(obj, AuditEvent):
            raise AppendOnlyViolation("audit events are never deleted")
    for obj in session.dirty:
        if isinstance(obj, AuditEvent) and session.is_modified(obj):
            raise AppendOnlyViolation("audit events are never changed")


@event.listens_for(TenantAwareSession, "do_orm_execute")
def _refuse_bulk_changes(state: ORMExecuteState) -> None:
    if (state.is_update or state.is_delete) and any(
        mapper.class_ is AuditEvent for mapper in state.all_mappers
    ):
        raise AppendOnlyViolation("audit events are never changed or deleted")
