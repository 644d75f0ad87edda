"""Server-side login sessions of platform operators (who belong to no tenant)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from samenleren.core.db import UTCDateTime, utcnow
from samenleren.core.extensions import db
from samenleren.identity.models import PlatformOperator


class OperatorLoginSession(db.Model):
    """One operator login. The cookie only names it (under its own key, apart from a tenant
    login), so logout ends it for every copy of the cookie. Not tenant-owned: no RLS."""

    __tablename__ = "operator_login_sessions"
    __table_args__ = (Index("ix_operator_login_sessions_operator_id", "operator_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    operator_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("platform_operators.id", ondelete="CASCADE")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: True when the login was let in as a member of SAMENLEREN_OPERATOR_GROUP (a claim seen
    #: only at login); False when by subject in SAMENLEREN_OPERATORS (checked on every request).
    by_group: Mapped[bool] = mapped_column(default=False)

    operator: Mapped[PlatformOperator] = relationship(lazy="joined")
