"""Who may manage the catalogue or keep attendance, and which trainings each employee is offered.

A training is offered to an employee when it is active and open to all or to their department;
programme admins see the whole catalogue.
"""

from __future__ import annotations

from flask_babel import gettext
from sqlalchemy import ColumnElement, and_, exists, or_, select, true

from samenleren.catalogue.models import Edition, Training, TrainingDepartment
from samenleren.core.errors_input import InvalidInput
from samenleren.core.extensions import db
from samenleren.identity.models import Role, User


def is_admin(user: User) -> bool:
    return user.has_role(Role.PROGRAMME_ADMIN)


def may_record_attendance(edition: Edition, user: User) -> bool:
    """The edition's own trainer and the programme admins keep attendance."""
    return is_admin(user) or (edition.trainer_id is not None and edition.trainer_id == user.id)


def require_admin(actor: User) -> None:
    if not is_admin(actor):
        raise InvalidInput.form(
            gettext("Only a programme administrator may manage trainings and enrolments.")
        )


def open_to_clause(user: User) -> ColumnElement[bool]:
    """SQL condition: a training is offered to `user` (active, and open to all or their department).

    Programme admins see every training, active or not.
    """
    if is_admin(user):
        return true()
    offered: ColumnElement[bool] = Training.open_to_all.is_(True)
    if user.department_id is not None:
        offered = or_(
            offered,
            exists().where(
                TrainingDepartment.tenant_id == Training.tenant_id,
                TrainingDepartment.training_id == Training.id,
                TrainingDepartment.department_id == user.department_id,
            ),
        )
    return and_(Training.active.is_(True), offered)


def trainings_open_to(user: User) -> list[Training]:
    """The trainings `user` may apply for, by title; programme admins get the whole catalogue."""
    return list(
        db.session.scalars(select(Training).where(open_to_clause(user)).order_by(Training.title))
    )


def is_open_to(training: Training, user: User) -> bool:
    """The same rule as `open_to_clause`, on a loaded training (its departments load with it)."""
    if is_admin(user):
        return True
    if not training.active:
        return False
    if training.open_to_all:
        return True
    return user.department_id is not None and any(
        department.id == user.department_id for department in training.departments
    )
