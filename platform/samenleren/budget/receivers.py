"""The budget follows the catalogue: enrolments and an edition's costs move its commitments, so
the year's thresholds are checked again, inside the catalogue's transaction (core.signals).
Connected by `budget.init_app`."""

from __future__ import annotations

from typing import Any

from samenleren.budget.ledger import check_thresholds
from samenleren.core import signals


def _commits(edition: Any) -> bool:
    return bool(edition.cost_fixed_cents or edition.cost_per_participant_cents)


def _enrolment_changed(enrolment: Any, *, admitted: bool, **_: Any) -> None:
    # Only a new place can push the year over a line; a place given up lowers the total.
    edition = enrolment.edition
    if admitted and edition.cost_per_participant_cents:
        check_thresholds(edition.starts_on.year)


def _edition_changed(edition: Any, **_: Any) -> None:
    if _commits(edition) and not edition.cancelled:
        check_thresholds(edition.starts_on.year)


def connect() -> None:
    signals.enrolment_changed.connect(_enrolment_changed, weak=False)
    signals.edition_costs_changed.connect(_edition_changed, weak=False)
    signals.edition_rescheduled.connect(_edition_changed, weak=False)
