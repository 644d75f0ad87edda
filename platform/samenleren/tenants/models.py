"""The tenant registry (not tenant-owned itself) and the tenant's organisation goals."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from samenleren.core.db import JSONType, UTCDateTime, utcnow
from samenleren.core.extensions import db
from samenleren.core.tenancy import TenantScoped


class OrganisationGoal(TenantScoped, db.Model):
    """A goal the tenant defines; every learning goal links to one or more (seed goal 1)."""

    __tablename__ = "organisation_goals"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    #: Short stable code from the manifest ("OD1"), used to update goals on re-onboarding.
    code: Mapped[str] = mapped_column(String(40))
    #: {"nl": "...", "en": "..."}
    title: Mapped[dict] = mapped_column(JSONType)
    description: Mapped[dict] = mapped_column(JSONType, default=dict)
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def title_in(self, locale: str, fallback: str = "nl") -> str:
        return self.title.get(locale) or self.title.get(fallback) or self.code


__all__ = ["OrganisationGoal"]
