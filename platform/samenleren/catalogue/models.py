"""Trainings in a tenant's catalogue."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from samenleren.core.db import UTCDateTime, utcnow
from samenleren.core.tenancy import TenantScoped
from samenleren.extensions import db


class Training(TenantScoped, db.Model):
    """An internal course of the tenant; editions (runs with dates and a group) come later."""

    __tablename__ = "trainings"

    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    #: The training bureau or trainer that delivers it.
    provider: Mapped[str] = mapped_column(String(200), default="")
    #: Open to every employee, or only to some departments (decided per subject, seed).
    open_to_all: Mapped[bool] = mapped_column(default=True)
    capacity: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
