"""What the retention domain stores: the tenant's own retention periods (where they differ from
its profile's defaults), legal holds, and when an employee left."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from samenleren.core.db import UTCDateTime, utcnow
from samenleren.core.extensions import db
from samenleren.core.tenancy import TenantScoped, tenant_foreign_key


class RetentionPeriod(TenantScoped, db.Model):
    """The programme admin's period for one kind of data (`policy.KINDS`), replacing the
    profile's default. No row: the profile's default applies."""

    __tablename__ = "retention_periods"
    __table_args__ = (UniqueConstraint("tenant_id", "kind"),)

    #: A key of `samenleren.retention.policy.KINDS`.
    kind: Mapped[str] = mapped_column(String(30))
    #: In the kind's unit (months, or days for exports).
    amount: Mapped[int] = mapped_column(Integer)
    changed_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class HoldSubject(enum.StrEnum):
    PERSON = "person"
    TRAJECTORY = "trajectory"


class LegalHold(TenantScoped, db.Model):
    """A legal hold on a person or a trajectory: while it is not lifted, no retention rule
    removes or anonymises anything of theirs (a dispute, an objection, an investigation)."""

    __tablename__ = "legal_holds"
    __table_args__ = (
        Index("ix_legal_holds_tenant_id_subject_id", "tenant_id", "subject_id"),
        tenant_foreign_key("placed_by_id", "users"),
        tenant_foreign_key("lifted_by_id", "users"),
    )

    subject_type: Mapped[str] = mapped_column(String(20))
    #: The user's or the trajectory's id (not a foreign key: either table).
    subject_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    reason: Mapped[str] = mapped_column(Text)
    placed_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lifted_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Departure(TenantScoped, db.Model):
    """When an employee left (their access revoked: SCIM deactivation or DELETE, an external
    trainer's access withdrawn): the retention clock of their records starts here. Kept after
    anonymising, so the job does not look at them again."""

    __tablename__ = "retention_departures"
    __table_args__ = (
        UniqueConstraint("tenant_id", "user_id"),
        tenant_foreign_key("user_id", "users", ondelete="CASCADE"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    left_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
