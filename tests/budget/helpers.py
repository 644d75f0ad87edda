"""The world's edition with costs, and expenses booked by its programme admin."""

from __future__ import annotations

from datetime import date

from tests.factories import get


def set_costs(world, fixed: int, per_participant: int) -> None:
    """Give the world's edition its costs (cents) through the catalogue's service."""
    from samenleren.catalogue.editions import EditionInput, update_edition
    from samenleren.catalogue.models import Edition
    from samenleren.identity.models import User

    edition = get(Edition, world.edition)
    update_edition(
        edition,
        get(User, world.admin),
        EditionInput(
            name=edition.name,
            starts_on=edition.starts_on,
            ends_on=edition.ends_on,
            location=edition.location,
            trainer_id=edition.trainer_id,
            capacity=edition.capacity,
            cost_fixed_cents=fixed,
            cost_per_participant_cents=per_participant,
        ),
    )


def book(world, cents: int, *, on: date | None = None, category: str = "other", edition=None):
    from samenleren.budget.actuals import ActualInput, add_actual
    from samenleren.identity.models import User

    return add_actual(
        ActualInput(
            spent_on=on or date(edition_year(world), 6, 1),
            amount_cents=cents,
            category=category,
            edition_id=edition,
        ),
        get(User, world.admin),
    )


def edition_year(world) -> int:
    from samenleren.catalogue.models import Edition

    return get(Edition, world.edition).starts_on.year
