"""Template filters that show dates and moments in the user's language and Dutch time."""

from __future__ import annotations

from datetime import date, datetime

from flask import Flask
from flask_babel import format_date, format_datetime

from samenleren.core.db import as_utc


def show_date(value: date | None, style: str = "medium") -> str:
    """`{{ step.due_on|show_date }}` → "12 mrt 2027" in Dutch, "Mar 12, 2027" in English."""
    return format_date(value, style) if value is not None else ""


def show_moment(value: datetime | None, style: str = "medium") -> str:
    """A UTC moment in Europe/Amsterdam time (Flask-Babel's default timezone)."""
    return format_datetime(as_utc(value), style) if value is not None else ""


def init_app(app: Flask) -> None:
    app.add_template_filter(show_date, "show_date")
    app.add_template_filter(show_moment, "show_moment")
