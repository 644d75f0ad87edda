"""Editions (runs) of a training: adding and changing one, its trainer, cancelling it.

New dates are announced (`edition_rescheduled`) so the trajectories follow them; cancelling
withdraws everyone; more places go to the waiting list at once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext
from sqlalchemy import exists, select

from samenleren.audit.events import AuditAction
from samenleren.audit.services import record
from samenleren.catalogue.access import require_admin
from samenleren.catalogue.enrolment import (
    ACTIVE_STATUSES,
    enrolled_count,
    fill_free_places,
    lock,
    mark_withdrawn,
)
from samenleren.catalogue.limits import (
    CAPACITY_MAX,
    LOCATION_MAX,
    NAME_MAX,
    check_capacity,
    too_long,
)
from samenleren.catalogue.models import Edition, Enrolment, Training
from samenleren.catalogue.process_choice import check_template_choice
from samenleren.core import signals
from samenleren.core.errors_input import InvalidInput
from samenleren.core.extensions import db
from samenleren.core.formatting import format_date
from samenleren.identity.models import Role, RoleAssignment, User


@dataclass
class EditionInput:
    name: str
    starts_on: date
    ends_on: date
    location: str = ""
    trainer_id: uuid.UUID | None = None
    #: None: the training's capacity applies.
    capacity: int | None = None
    #: The fewest learners it goes ahead with; None: no minimum.
    minimum: int | None = None
    #: The last day to apply; None: until the edition starts.
    apply_until: date | None = None
    #: The training's places (set by `create_edition`), for checking the minimum.
    training_capacity: int | None = None
    cancelled: bool = False
    #: Euro cents (the budget ledger commits them once the edition is planned).
    cost_fixed_cents: int = 0
    cost_per_participant_cents: int = 0
    #: None: the training's template (or the tenant's default).
    process_template_id: uuid.UUID | None = None


def trainer_choices() -> list[tuple[uuid.UUID, str]]:
    """(id, name) of the active users holding the trainer role, by name."""
    return list(
        db.session.execute(
            select(User.id, User.name)
            .where(
                User.active.is_(True),
                exists().where(
                    RoleAssignment.tenant_id == User.tenant_id,
                    RoleAssignment.user_id == User.id,
                    RoleAssignment.role == Role.TRAINER,
                ),
            )
            .order_by(User.name)
        )
    )


def training_places(edition: Edition | None, data: EditionInput) -> int | None:
    """The training's places, which apply when the edition names none."""
    if edition is not None:
        return edition.training.capacity
    return data.training_capacity


def _check_edition(data: EditionInput, edition: Edition | None) -> None:
    errors: dict[str, str] = {}
    name = data.name.strip()
    if not name:
        errors["name"] = gettext("Give the edition a name, e.g. the season and year.")
    elif message := too_long(name, NAME_MAX):
        errors["name"] = message
    if data.ends_on < data.starts_on:
        errors["ends_on"] = gettext(
            "The dates are in the wrong order: the last day (%(end)s) is before the first day "
            "(%(start)s).",
            end=format_date(data.ends_on),
            start=format_date(data.starts_on),
        )
    if data.apply_until is not None and data.apply_until >= data.starts_on:
        errors["apply_until"] = gettext(
            "Applying must close before the first day (%(start)s).",
            start=format_date(data.starts_on),
        )
    if message := too_long(data.location.strip(), LOCATION_MAX):
        errors["location"] = message
    check_capacity(data.capacity, errors)
    for field, cents in (
        ("cost_fixed", data.cost_fixed_cents),
        ("cost_per_participant", data.cost_per_participant_cents),
    ):
        if cents < 0:
            errors[field] = gettext("Give an amount of at least 0.")
    if data.minimum is not None:
        places = data.capacity if data.capacity is not None else training_places(edition, data)
        if not 1 <= data.minimum <= CAPACITY_MAX:
            errors["minimum"] = gettext(
                "Give a minimum from 1 to %(max)d, or leave it empty.", max=CAPACITY_MAX
            )
        elif places is not None and data.minimum > places:
            errors["minimum"] = gettext(
                "The minimum (%(minimum)d) is more than the places (%(places)d).",
                minimum=data.minimum,
                places=places,
            )
    check_template_choice(data.process_template_id, errors)
    unchanged = edition is not None and data.trainer_id == edition.trainer_id
    if data.trainer_id is not None and not unchanged:
        if data.trainer_id not in {user_id for user_id, _ in trainer_choices()}:
            errors["trainer_id"] = gettext("Choose a trainer from the list.")
    if errors:
        raise InvalidInput(errors)


def _apply_edition(edition: Edition, data: EditionInput) -> None:
    edition.name = data.name.strip()
    edition.starts_on = data.starts_on
    edition.ends_on = data.ends_on
    edition.location = data.location.strip()
    edition.trainer_id = data.trainer_id
    edition.capacity = data.capacity
    edition.minimum = data.minimum
    edition.apply_until = data.apply_until
    edition.cancelled = data.cancelled
    edition.cost_fixed_cents = data.cost_fixed_cents
    edition.cost_per_participant_cents = data.cost_per_participant_cents
    edition.process_template_id = data.process_template_id


def _costs(edition: Edition) -> dict[str, int]:
    return {
        "fixed": edition.cost_fixed_cents or 0,
        "per_participant": edition.cost_per_participant_cents or 0,
    }


def _record_costs(edition: Edition, actor: User, before: dict[str, int]) -> bool:
    """Audit a change of what the edition costs, and tell the budget (its commitments); False
    when the costs stayed the same."""
    after = _costs(edition)
    if after == before:
        return False
    record(
        AuditAction.EDITION_COSTS_CHANGED,
        actor=actor,
        subject_type="edition",
        subject_id=edition.id,
        details={"before": before, "after": after},
    )
    signals.edition_costs_changed.send(edition)
    return True


def create_edition(training: Training, actor: User, data: EditionInput) -> Edition:
    """A new edition (run) of an active training."""
    require_admin(actor)
    data.training_capacity = training.capacity
    _check_edition(data, None)
    if not training.active:
        raise InvalidInput.form(
            gettext("This training is no longer offered: make it active before adding an edition.")
        )
    edition = Edition(training_id=training.id)
    _apply_edition(edition, data)
    db.session.add(edition)
    db.session.flush()
    _record_costs(edition, actor, {"fixed": 0, "per_participant": 0})
    return edition


def update_edition(edition: Edition, actor: User, data: EditionInput) -> Edition:
    """Change an edition.

    Cancelling withdraws every application, waiting place and enrolment (and stops the
    trajectories); more places go to the waiting list at once.
    """
    require_admin(actor)
    _check_edition(data, edition)
    lock(edition)
    enrolled = enrolled_count(edition)
    places = data.capacity if data.capacity is not None else edition.training.capacity
    if not data.cancelled and places is not None and enrolled > places:
        raise InvalidInput(
            {
                "capacity": gettext(
                    "%(count)d learners are enrolled already; give at least that many places.",
                    count=enrolled,
                )
            }
        )
    cancelling = data.cancelled and not edition.cancelled
    moved = (data.starts_on, data.ends_on) != (edition.starts_on, edition.ends_on)
    costs_before = _costs(edition)
    _apply_edition(edition, data)
    db.session.flush()
    if moved:
        signals.edition_rescheduled.send(edition)
    if cancelling:
        for enrolment in db.session.scalars(
            select(Enrolment).where(
                Enrolment.edition_id == edition.id, Enrolment.status.in_(ACTIVE_STATUSES)
            )
        ):
            mark_withdrawn(enrolment, gettext("This edition was cancelled."))
    elif not edition.cancelled:
        fill_free_places(edition)
    if not _record_costs(edition, actor, costs_before) and cancelling:
        # A cancelled edition commits nothing (new dates: `edition_rescheduled`).
        signals.edition_costs_changed.send(edition)
    return edition
