"""The bounds of what the catalogue's forms take: text lengths and numbers of places."""

from __future__ import annotations

from flask_babel import gettext

TITLE_MAX = 200
PROVIDER_MAX = 200
DESCRIPTION_MAX = 20_000
NAME_MAX = 200
LOCATION_MAX = 300
TOPIC_MAX = 300
MOTIVATION_MAX = 5_000
REASON_MAX = 2_000
#: A sanity bound: no group of a training has more places than this.
CAPACITY_MAX = 10_000


def too_long(value: str, limit: int) -> str | None:
    if len(value) > limit:
        return gettext("At most %(count)d characters.", count=limit)
    return None


def check_capacity(capacity: int | None, errors: dict[str, str]) -> None:
    if capacity is not None and not 1 <= capacity <= CAPACITY_MAX:
        errors["capacity"] = gettext(
            "Give a number of places from 1 to %(max)d, or leave it empty for no limit.",
            max=CAPACITY_MAX,
        )
