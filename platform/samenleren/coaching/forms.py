"""Reading the coaching forms: text from the browser to typed values, or a message per field.

The rules (capacity range, no training date in the future, ...) live in the services; this only
turns strings into numbers and dates and says which could not be read.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date

from flask_babel import gettext
from werkzeug.datastructures import MultiDict

from samenleren.coaching.services import CoachDayInput


def parse_int(raw: str | None) -> int | None:
    try:
        return int((raw or "").strip())
    except ValueError:
        return None


def parse_date(raw: str | None, name: str, errors: dict[str, str]) -> date | None:
    """An `<input type="date">` value; blank is None; unreadable adds a message to `errors`."""
    text = (raw or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors[name] = gettext("Give a date such as %(example)s.", example="2026-03-01")
        return None


@dataclass
class CoachForm:
    """The fields of the add-a-coach and edit-a-coach forms, as typed."""

    values: dict[str, str]
    user_id: str = ""
    capacity: int | None = None
    trained_on: date | None = None
    active: bool = True
    introduction: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, form: MultiDict) -> CoachForm:
        errors: dict[str, str] = {}
        values = {name: form.get(name, "") for name in ("user", "capacity", "trained_on")}
        values["introduction"] = form.get("introduction", "")
        return cls(
            values=values,
            user_id=values["user"],
            capacity=parse_int(values["capacity"]),
            trained_on=parse_date(values["trained_on"], "trained_on", errors),
            active=form.get("active") == "yes",
            introduction=values["introduction"],
            errors=errors,
        )


@dataclass
class CoachDayForm:
    values: dict[str, str]
    data: CoachDayInput
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, form: MultiDict) -> CoachDayForm:
        errors: dict[str, str] = {}
        values = {
            name: form.get(name, "") for name in ("title", "held_on", "location", "programme")
        }
        held_on = parse_date(values["held_on"], "held_on", errors)
        data = CoachDayInput(values["title"], held_on, values["location"], values["programme"])
        return cls(values, data, errors)


def parse_ids(raw: list[str], name: str) -> tuple[set[uuid.UUID], dict[str, str]]:
    """Checkbox values that are ids; an unreadable one is refused as a whole."""
    ids: set[uuid.UUID] = set()
    for text in raw:
        try:
            ids.add(uuid.UUID(text))
        except ValueError:
            return set(), {name: gettext("Choose coaches of the pool only.")}
    return ids, {}
