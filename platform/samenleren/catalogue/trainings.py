"""Trainings in the catalogue: adding and changing one, and the departments it is open to.

A service checks that the actor is a programme admin, validates, and writes nothing when it
refuses (`InvalidInput`, with the message next to the form field).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from flask_babel import gettext
from sqlalchemy import and_, delete, func, select

from samenleren.catalogue.access import require_admin
from samenleren.catalogue.enrolment import fill_free_places
from samenleren.catalogue.limits import (
    DESCRIPTION_MAX,
    PROVIDER_MAX,
    TITLE_MAX,
    check_capacity,
    too_long,
)
from samenleren.catalogue.models import (
    Edition,
    Enrolment,
    EnrolmentStatus,
    Training,
    TrainingDepartment,
)
from samenleren.catalogue.process_choice import check_template_choice
from samenleren.core.errors_input import InvalidInput
from samenleren.core.extensions import db
from samenleren.core.text import control_characters_message, has_control_characters
from samenleren.identity.models import Department, User


@dataclass
class TrainingInput:
    title: str
    description: str = ""
    provider: str = ""
    open_to_all: bool = True
    department_ids: Sequence[uuid.UUID] = ()
    capacity: int | None = None
    active: bool = True
    #: None: the tenant's default template.
    process_template_id: uuid.UUID | None = None


def _check_training(data: TrainingInput) -> list[uuid.UUID]:
    """Validate; returns the departments to keep (none when the training is open to all)."""
    errors: dict[str, str] = {}
    title = data.title.strip()
    if not title:
        errors["title"] = gettext("Give the training a title.")
    elif has_control_characters(title):
        errors["title"] = control_characters_message()
    elif message := too_long(title, TITLE_MAX):
        errors["title"] = message
    if message := too_long(data.provider.strip(), PROVIDER_MAX):
        errors["provider"] = message
    if message := too_long(data.description.strip(), DESCRIPTION_MAX):
        errors["description"] = message
    check_capacity(data.capacity, errors)
    check_template_choice(data.process_template_id, errors)
    department_ids = list(dict.fromkeys(data.department_ids))
    if data.open_to_all:
        department_ids = []
    elif not department_ids:
        errors["department_ids"] = gettext(
            "Choose at least one department, or open the training to all employees."
        )
    else:
        known = set(
            db.session.scalars(select(Department.id).where(Department.id.in_(department_ids)))
        )
        if set(department_ids) - known:
            errors["department_ids"] = gettext("Choose departments from the list.")
    if errors:
        raise InvalidInput(errors)
    return department_ids


def _apply_training(training: Training, data: TrainingInput) -> None:
    training.title = data.title.strip()
    training.description = data.description.strip()
    training.provider = data.provider.strip()
    training.open_to_all = data.open_to_all
    training.capacity = data.capacity
    training.active = data.active
    training.process_template_id = data.process_template_id


def _set_departments(training: Training, department_ids: list[uuid.UUID]) -> None:
    db.session.execute(
        delete(TrainingDepartment).where(TrainingDepartment.training_id == training.id)
    )
    for department_id in department_ids:
        db.session.add(TrainingDepartment(training_id=training.id, department_id=department_id))
    db.session.flush()
    db.session.expire(training, ["departments"])


def create_training(actor: User, data: TrainingInput) -> Training:
    """A new training in the catalogue."""
    require_admin(actor)
    department_ids = _check_training(data)
    training = Training()
    _apply_training(training, data)
    db.session.add(training)
    db.session.flush()
    _set_departments(training, department_ids)
    return training


def update_training(training: Training, actor: User, data: TrainingInput) -> Training:
    """Change a training; a higher capacity gives free places to waiting learners at once."""
    require_admin(actor)
    department_ids = _check_training(data)
    if data.capacity != training.capacity:
        _check_inherited_capacity(training, data.capacity)
    _apply_training(training, data)
    db.session.flush()
    _set_departments(training, department_ids)
    for edition in db.session.scalars(
        select(Edition).where(
            Edition.training_id == training.id,
            Edition.capacity.is_(None),
            Edition.cancelled.is_(False),
        )
    ):
        fill_free_places(edition)
    return training


def _check_inherited_capacity(training: Training, capacity: int | None) -> None:
    """A lower capacity may not leave an edition (that follows the training) over-full."""
    if capacity is None:
        return
    most = db.session.scalar(
        select(func.count(Enrolment.id))
        .join(
            Edition,
            and_(Edition.tenant_id == Enrolment.tenant_id, Edition.id == Enrolment.edition_id),
        )
        .where(
            Edition.training_id == training.id,
            Edition.capacity.is_(None),
            Edition.cancelled.is_(False),
            Enrolment.status == EnrolmentStatus.ENROLLED,
        )
        .group_by(Enrolment.edition_id)
        .order_by(func.count(Enrolment.id).desc())
        .limit(1)
    )
    if most is not None and most > capacity:
        raise InvalidInput(
            {
                "capacity": gettext(
                    "An edition of this training already has %(count)d learners enrolled; "
                    "give at least that many places.",
                    count=most,
                )
            }
        )
