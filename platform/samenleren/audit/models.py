"""Audit events of a tenant: append-only for the application (no UPDATE or DELETE grant)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from samenleren.core.db import JSONType, UTCDateTime, utcnow
from samenleren.core.tenancy import TenantScoped
from samenleren.extensions import db


class AuditEvent(TenantScoped, db.Model):
    """One thing that happened: a login, a refused login, a role change, an SSO or SCIM change,
    an export, a look at confidential data by someone other than learner and coach.

    `actor_id` is not a foreign key on purpose: the log outlives the people in it.
    """

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_tenant_id_occurred_at", "tenant_id", "occurred_at"),)

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
