"""What insight keeps: a programme admin's choice not to get the quarterly report mail, the
quarters whose mail went out, the tenant's choice to share its aggregated figures, and the
comparison the platform computed for a sharing tenant.

No row here holds anything about a person's trajectory: the comparison holds the tenant's own
two figures and the median of the others, nothing else.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, Integer, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from samenleren.core.db import UTCDateTime, utcnow
from samenleren.core.extensions import db
from samenleren.core.tenancy import TenantScoped, tenant_foreign_key


class ReportMailOptOut(TenantScoped, db.Model):
    """A programme admin who does not want the quarterly report mail (one row per admin)."""

    __tablename__ = "insight_mail_opt_outs"
    __table_args__ = (
        UniqueConstraint("tenant_id", "user_id"),
        tenant_foreign_key("user_id", "users", ondelete="CASCADE"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class QuarterlyMail(TenantScoped, db.Model):
    """The quarterly report mail of one quarter went out (to the admins then in office): the
    job writes it once per tenant and quarter, however often it runs."""

    __tablename__ = "insight_quarterly_mails"
    __table_args__ = (UniqueConstraint("tenant_id", "year", "quarter"),)

    year: Mapped[int] = mapped_column(Integer)
    quarter: Mapped[int] = mapped_column(Integer)
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SharingSetting(TenantScoped, db.Model):
    """The tenant shares its aggregated figures in the platform-wide comparison (opt-in)."""

    __tablename__ = "insight_sharing"
    __table_args__ = (
        UniqueConstraint("tenant_id"),
        tenant_foreign_key("changed_by_id", "users"),
    )

    share: Mapped[bool] = mapped_column(Boolean, default=False)
    changed_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Comparison(TenantScoped, db.Model):
    """For a sharing tenant and a year: its own transfer rate and cost per learner, and the
    median of the other sharing tenants' (written by the comparison job, in this tenant)."""

    __tablename__ = "insight_comparisons"
    __table_args__ = (UniqueConstraint("tenant_id", "year"),)

    year: Mapped[int] = mapped_column(Integer)
    #: How many tenants shared figures for the year (this one included).
    tenants: Mapped[int] = mapped_column(Integer)
    own_transfer_percent: Mapped[int | None] = mapped_column(Integer, nullable=True)
    own_cost_per_learner_cents: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: The median of the *other* sharing tenants; None below the minimum number of tenants.
    others_transfer_percent: Mapped[int | None] = mapped_column(Integer, nullable=True)
    others_cost_per_learner_cents: Mapped[int | None] = mapped_column(Integer, nullable=True)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
