"""Template filters that show dates and moments in the user's language and Dutch time."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from babel.dates import get_month_names
from flask import Flask
from flask_babel import format_date as babel_format_date
from flask_babel import format_time, get_locale, gettext

from samenleren.core.db import as_utc

#: Languages that write month names in lower case where the CLDR data capitalises them:
#: Frisian writes "12 mrt 2027" and "12 maart 2027", as Dutch does (CLDR has "Mrt", "Maart").
_LOWER_CASE_MONTHS = frozenset({"fy"})


def format_date(value: date | datetime, style: str = "medium") -> str:
    """Flask-Babel's `format_date`, with month names written as the language writes them."""
    text = babel_format_date(value, style)
    locale = get_locale()
    if locale is not None and locale.language in _LOWER_CASE_MONTHS:
        for width in ("wide", "abbreviated"):
            name = get_month_names(width, locale=locale)[value.month]
            if name in text:
                return text.replace(name, name.lower(), 1)
    return text


def show_date(value: date | None, style: str = "medium") -> str:
    """`{{ step.due_on|show_date }}` → "12 mrt 2027" in Dutch, "Mar 12, 2027" in English."""
    return format_date(value, style) if value is not None else ""


def show_moment(value: datetime | None, style: str = "medium") -> str:
    """A UTC moment in Europe/Amsterdam time (Flask-Babel's default timezone): the date in
    `style` and the time without seconds ("28 dec 2026, 14:00"); "short" gives the time only."""
    if value is None:
        return ""
    moment = as_utc(value)
    if style == "short":
        return format_time(moment, "short")
    return f"{format_date(moment, style)}, {format_time(moment, 'short')}"


def init_app(app: Flask) -> None:
    app.add_template_filter(show_date, "show_date")
    app.add_template_filter(show_moment, "show_moment")
    app.add_template_filter(local_input_value, "local_input_value")


LOCAL_ZONE = ZoneInfo("Europe/Amsterdam")


def parse_local_moment(text: str) -> datetime:
    """A `datetime-local` input ("2027-03-01T13:30", Dutch time) as an aware UTC datetime."""
    try:
        moment = datetime.fromisoformat((text or "").strip())
    except ValueError:
        raise ValueError(gettext("Give a date and time.")) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=LOCAL_ZONE)
    return moment.astimezone(UTC)


def local_input_value(value: datetime | None) -> str:
    """The value for a `datetime-local` input showing a stored UTC moment in Dutch time."""
    if value is None:
        return ""
    return as_utc(value).astimezone(LOCAL_ZONE).strftime("%Y-%m-%dT%H:%M")


def local_day(moment: datetime) -> date:
    """The Dutch calendar day of a moment (00:30 in Amsterdam is that day, not UTC's previous)."""
    return as_utc(moment).astimezone(LOCAL_ZONE).date()


def local_today() -> date:
    """Today in the Netherlands: what "due today" and "overdue" mean for every user."""
    return datetime.now(LOCAL_ZONE).date()
