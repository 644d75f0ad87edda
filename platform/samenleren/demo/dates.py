"""Dates of the demo, built from today: weekdays, local times, season names of editions."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
SEASONS = {
    12: "Winter",
    1: "Winter",
    2: "Winter",
    3: "Voorjaar",
    4: "Voorjaar",
    5: "Voorjaar",
    6: "Zomer",
    7: "Zomer",
    8: "Zomer",
    9: "Najaar",
    10: "Najaar",
    11: "Najaar",
}


def workday(day: date, *, later: bool = False) -> date:
    """`day`, or the nearest weekday before it (after it, when `later`)."""
    while day.weekday() >= 5:
        day += timedelta(days=1 if later else -1)
    return day


def moment(day: date, hour: int, minute: int = 0) -> datetime:
    """A local (Europe/Amsterdam) time on `day`, as the UTC moment the database stores."""
    return datetime.combine(day, time(hour, minute), tzinfo=AMSTERDAM).astimezone(UTC)


def edition_name(starts_on: date) -> str:
    return f"{SEASONS[starts_on.month]} {starts_on.year}"
