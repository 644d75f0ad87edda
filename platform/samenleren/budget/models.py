"""The budget ledger's rows: a year's budget, the tenant's names of the categories, actuals.

Every amount is in euro cents (an integer); commitments are not stored but computed from the
catalogue's editions (`ledger.commitments`).
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Date, Index, Integer, String, UniqueConstraint, Uuid, and_
from sqlalchemy.orm import Mapped, foreign, mapped_column, relationship

from samenleren.catalogue.models import Edition
from samenleren.core.db import JSONType, UTCDateTime, utcnow
from samenleren.core.extensions import db
from samenleren.core.tenancy import TenantScoped, tenant_foreign_key
from samenleren.identity.models import User


class Category(enum.StrEnum):
    """The fixed categories of the budget; the tenant may give each its own name."""

    COACHING = "coaching"
    TRAINERS = "trainers"
    VENUES = "venues"
    MATERIALS = "materials"
    OTHER = "other"


#: The usual name of each category, when the tenant gave it none.
DEFAULT_NAMES = {
    Category.COACHING: _l("Coach training and coach days"),
    Category.TRAINERS: _l("External trainers"),
    Category.VENUES: _l("Venues"),
    Category.MATERIALS: _l("Materials"),
    Category.OTHER: _l("Other"),
}

#: Where an edition's costs (fixed and per participant) are committed.
EDITION_CATEGORY = Category.TRAINERS


class BudgetYear(TenantScoped, db.Model):
    """The budget of one calendar year; made from the manifest's yearly amount when first needed."""

    __tablename__ = "budget_years"
    __table_args__ = (UniqueConstraint("tenant_id", "year"),)

    year: Mapped[int] = mapped_column(Integer)
    amount_cents: Mapped[int] = mapped_column(Integer)
    #: Category key -> cents set aside for it; a category left out has no amount of its own.
    allocations: Mapped[dict] = mapped_column(JSONType, default=dict)
    #: When committed plus spent first reached 80 % and 100 % of the amount: each warning
    #: goes out once a year, however often the total moves around the line afterwards.
    warned_80_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    warned_100_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CategoryName(TenantScoped, db.Model):
    """The tenant's own name for a category (one row per renamed category)."""

    __tablename__ = "budget_category_names"
    __table_args__ = (UniqueConstraint("tenant_id", "category"),)

    category: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(100))


class Actual(TenantScoped, db.Model):
    """Money spent: an invoice or a payment, entered on the budget page or imported."""

    __tablename__ = "budget_actuals"
    __table_args__ = (
        tenant_foreign_key("edition_id", "editions"),
        tenant_foreign_key("created_by_id", "users"),
        Index("ix_budget_actuals_tenant_id_spent_on", "tenant_id", "spent_on"),
        Index("ix_budget_actuals_tenant_id_edition_id", "tenant_id", "edition_id"),
    )

    spent_on: Mapped[date] = mapped_column(Date)
    #: Euro cents; below zero for a credit note.
    amount_cents: Mapped[int] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(20))
    #: The edition the money was spent on (it then no longer counts as committed).
    edition_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    invoice_reference: Mapped[str] = mapped_column(String(100), default="")
    description: Mapped[str] = mapped_column(String(300), default="")
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    edition: Mapped[Edition | None] = relationship(
        primaryjoin=lambda: and_(
            Actual.tenant_id == Edition.tenant_id, foreign(Actual.edition_id) == Edition.id
        ),
    )
    created_by: Mapped[User | None] = relationship(
        primaryjoin=lambda: and_(
            Actual.tenant_id == User.tenant_id, foreign(Actual.created_by_id) == User.id
        ),
    )
