"""Coach profiles and coach days."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Date, Integer, String, Text, UniqueConstraint, Uuid, and_
from sqlalchemy.orm import Mapped, foreign, mapped_column, relationship

from samenleren.core.db import UTCDateTime, utcnow
from samenleren.core.extensions import db
from samenleren.core.tenancy import TenantScoped, tenant_foreign_key
from samenleren.identity.models import User


class CoachProfile(TenantScoped, db.Model):
    """A colleague in the coach pool (domain.md: a trained peer, not a manager, not HR)."""

    __tablename__ = "coach_profiles"
    __table_args__ = (
        UniqueConstraint("tenant_id", "user_id"),
        tenant_foreign_key("user_id", "users", ondelete="CASCADE"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    #: How many learners the coach takes at the same time.
    capacity: Mapped[int] = mapped_column(Integer, default=3)
    #: When the coach was trained in *zelfsturend leren* (self-directed learning).
    trained_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    #: Out of the pool for now (leave, too busy); keeps current coachees.
    active: Mapped[bool] = mapped_column(default=True)
    #: A few words for learners choosing a coach.
    introduction: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship(
        primaryjoin=lambda: and_(
            CoachProfile.tenant_id == User.tenant_id, foreign(CoachProfile.user_id) == User.id
        ),
    )


class CoachDay(TenantScoped, db.Model):
    """The twice-yearly day on which coaches exchange experience (seed)."""

    __tablename__ = "coach_days"

    title: Mapped[str] = mapped_column(String(200))
    held_on: Mapped[date] = mapped_column(Date)
    location: Mapped[str] = mapped_column(String(300), default="")
    programme: Mapped[str] = mapped_column(Text, default="")
    #: The shared record of what was exchanged; written by the coaches and the admin.
    record: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CoachDayAttendance(TenantScoped, db.Model):
    __tablename__ = "coach_day_attendances"
    __table_args__ = (
        UniqueConstraint("tenant_id", "coach_day_id", "coach_id"),
        tenant_foreign_key("coach_day_id", "coach_days", ondelete="CASCADE"),
        tenant_foreign_key("coach_id", "users", ondelete="CASCADE"),
    )

    coach_day_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    coach_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    present: Mapped[bool] = mapped_column()
