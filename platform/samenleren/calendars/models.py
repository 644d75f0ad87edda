"""Personal calendar feeds: a secret link per user that a calendar application subscribes to."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index, String, UniqueConstraint, Uuid, and_
from sqlalchemy.orm import Mapped, foreign, mapped_column, relationship

from samenleren.core.db import UTCDateTime, utcnow
from samenleren.core.extensions import db
from samenleren.core.tenancy import TenantScoped, tenant_foreign_key
from samenleren.identity.models import User


class CalendarFeed(TenantScoped, db.Model):
    """One feed link of one user. Only the SHA-256 of the token is stored: the link is shown
    once, right after it is made; a copy of this table opens no feed. A user has at most one
    live link: making a new one revokes the old one."""

    __tablename__ = "calendar_feeds"
    __table_args__ = (
        UniqueConstraint("tenant_id", "token_hash"),
        tenant_foreign_key("user_id", "users", ondelete="CASCADE"),
        Index("ix_calendar_feeds_tenant_id_user_id", "tenant_id", "user_id"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    #: Hex SHA-256 of the token in the link; never the token.
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: When a calendar last fetched the feed (at most once a minute is written).
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    user: Mapped[User] = relationship(
        primaryjoin=lambda: and_(
            CalendarFeed.tenant_id == User.tenant_id, foreign(CalendarFeed.user_id) == User.id
        ),
    )
