"""The training catalogue: who is offered what, editions and their sessions, and enrolment.

Every write is a plain function (style.md): it checks who may do it, validates, and writes
nothing when it refuses (`InvalidInput`, with the message next to the form field). Enrolling
starts the learner's trajectory; withdrawing stops it and gives the free place to the first
learner on the waiting list.

Places are counted on ENROLLED enrolments only. Writes that change who holds a place lock the
edition's row first (`SELECT ... FOR UPDATE` on PostgreSQL), so two admins enrolling at the same
moment cannot both take the last place.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import format_date, gettext
from sqlalchemy import ColumnElement, and_, delete, exists, func, or_, select, true
from sqlalchemy.orm import aliased, contains_eager, joinedload, lazyload

from samenleren.catalogue.models import (
    Edition,
    EditionSession,
    Enrolment,
    EnrolmentStatus,
    SessionAttendance,
    Training,
    TrainingDepartment,
)
from samenleren.core import signals
from samenleren.core.db import as_utc, utcnow
from samenleren.core.errors_input import InvalidInput
from samenleren.core.extensions import db
from samenleren.core.formatting import LOCAL_ZONE, local_today
from samenleren.identity.models import Department, Role, RoleAssignment, User

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

#: The statuses that hold a place or a wish for one; a learner has at most one per edition.
ACTIVE_STATUSES = (EnrolmentStatus.APPLIED, EnrolmentStatus.ENROLLED, EnrolmentStatus.WAITLISTED)


# --- who may ------------------------------------------------------------------------------------


def is_admin(user: User) -> bool:
    return user.has_role(Role.PROGRAMME_ADMIN)


def may_record_attendance(edition: Edition, user: User) -> bool:
    """The edition's own trainer and the programme admins keep attendance."""
    return is_admin(user) or (edition.trainer_id is not None and edition.trainer_id == user.id)


def _require_admin(actor: User) -> None:
    if not is_admin(actor):
        raise InvalidInput.form(
            gettext("Only a programme administrator may manage trainings and enrolments.")
        )


# --- what is offered to whom --------------------------------------------------------------------


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


# --- trainings ----------------------------------------------------------------------------------


@dataclass
class TrainingInput:
    title: str
    description: str = ""
    provider: str = ""
    open_to_all: bool = True
    department_ids: Sequence[uuid.UUID] = ()
    capacity: int | None = None
    active: bool = True


def _too_long(value: str, limit: int) -> str | None:
    if len(value) > limit:
        return gettext("At most %(count)d characters.", count=limit)
    return None


def _check_capacity(capacity: int | None, errors: dict[str, str]) -> None:
    if capacity is not None and not 1 <= capacity <= CAPACITY_MAX:
        errors["capacity"] = gettext(
            "Give a number of places from 1 to %(max)d, or leave it empty for no limit.",
            max=CAPACITY_MAX,
        )


def _check_training(data: TrainingInput) -> list[uuid.UUID]:
    """Validate; returns the departments to keep (none when the training is open to all)."""
    errors: dict[str, str] = {}
    title = data.title.strip()
    if not title:
        errors["title"] = gettext("Give the training a title.")
    elif message := _too_long(title, TITLE_MAX):
        errors["title"] = message
    if message := _too_long(data.provider.strip(), PROVIDER_MAX):
        errors["provider"] = message
    if message := _too_long(data.description.strip(), DESCRIPTION_MAX):
        errors["description"] = message
    _check_capacity(data.capacity, errors)
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
    _require_admin(actor)
    department_ids = _check_training(data)
    training = Training()
    _apply_training(training, data)
    db.session.add(training)
    db.session.flush()
    _set_departments(training, department_ids)
    return training


def update_training(training: Training, actor: User, data: TrainingInput) -> Training:
    """Change a training; a higher capacity gives free places to waiting learners at once."""
    _require_admin(actor)
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
        _fill_free_places(edition)
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


# --- editions -----------------------------------------------------------------------------------


@dataclass
class EditionInput:
    name: str
    starts_on: date
    ends_on: date
    location: str = ""
    trainer_id: uuid.UUID | None = None
    #: None: the training's capacity applies.
    capacity: int | None = None
    cancelled: bool = False


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


def _check_edition(data: EditionInput, edition: Edition | None) -> None:
    errors: dict[str, str] = {}
    name = data.name.strip()
    if not name:
        errors["name"] = gettext("Give the edition a name, e.g. the season and year.")
    elif message := _too_long(name, NAME_MAX):
        errors["name"] = message
    if data.ends_on < data.starts_on:
        errors["ends_on"] = gettext(
            "The dates are in the wrong order: the last day (%(end)s) is before the first day "
            "(%(start)s).",
            end=format_date(data.ends_on),
            start=format_date(data.starts_on),
        )
    if message := _too_long(data.location.strip(), LOCATION_MAX):
        errors["location"] = message
    _check_capacity(data.capacity, errors)
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
    edition.cancelled = data.cancelled


def create_edition(training: Training, actor: User, data: EditionInput) -> Edition:
    """A new edition (run) of an active training."""
    _require_admin(actor)
    _check_edition(data, None)
    if not training.active:
        raise InvalidInput.form(
            gettext("This training is no longer offered: make it active before adding an edition.")
        )
    edition = Edition(training_id=training.id)
    _apply_edition(edition, data)
    db.session.add(edition)
    db.session.flush()
    return edition


def update_edition(edition: Edition, actor: User, data: EditionInput) -> Edition:
    """Change an edition.

    Cancelling withdraws every application, waiting place and enrolment (and stops the
    trajectories); more places go to the waiting list at once.
    """
    _require_admin(actor)
    _check_edition(data, edition)
    _lock(edition)
    enrolled = _enrolled_count(edition)
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
            _withdraw(enrolment, gettext("This edition was cancelled."))
    elif not edition.cancelled:
        _fill_free_places(edition)
    return edition


# --- sessions and attendance --------------------------------------------------------------------


@dataclass
class SessionInput:
    #: Moments in UTC (the form converts Dutch local time).
    starts_at: datetime
    ends_at: datetime
    location: str = ""
    topic: str = ""


def add_session(edition: Edition, actor: User, data: SessionInput) -> EditionSession:
    """A session (day or part of a day) of the edition, within its dates."""
    _require_admin(actor)
    errors: dict[str, str] = {}
    starts_at, ends_at = as_utc(data.starts_at), as_utc(data.ends_at)
    if ends_at <= starts_at:
        errors["ends_at"] = gettext("The end must come after the start.")
    first_day = starts_at.astimezone(LOCAL_ZONE).date()
    if not edition.starts_on <= first_day <= edition.ends_on:
        errors["starts_at"] = gettext(
            "A session falls within the edition's dates, %(start)s to %(end)s.",
            start=format_date(edition.starts_on),
            end=format_date(edition.ends_on),
        )
    if message := _too_long(data.location.strip(), LOCATION_MAX):
        errors["location"] = message
    if message := _too_long(data.topic.strip(), TOPIC_MAX):
        errors["topic"] = message
    if errors:
        raise InvalidInput(errors)
    session = EditionSession(
        edition_id=edition.id,
        starts_at=starts_at,
        ends_at=ends_at,
        location=data.location.strip(),
        topic=data.topic.strip(),
    )
    db.session.add(session)
    db.session.flush()
    return session


def remove_session(session: EditionSession, actor: User) -> None:
    """Remove a session, as long as no attendance was recorded for it."""
    _require_admin(actor)
    recorded = db.session.scalar(
        select(SessionAttendance.id).where(SessionAttendance.session_id == session.id).limit(1)
    )
    if recorded is not None:
        raise InvalidInput.form(
            gettext("Attendance was recorded for this session, so it can no longer be removed.")
        )
    db.session.delete(session)
    db.session.flush()


def enrolled_learners(edition: Edition) -> list[User]:
    """The learners holding a place in the edition, by name."""
    return list(
        db.session.scalars(
            select(User)
            .join(
                Enrolment,
                and_(Enrolment.tenant_id == User.tenant_id, Enrolment.learner_id == User.id),
            )
            .where(
                Enrolment.edition_id == edition.id,
                Enrolment.status == EnrolmentStatus.ENROLLED,
            )
            .order_by(User.name, User.id)
            .options(lazyload(User.role_assignments))
        )
    )


def session_started(session: EditionSession) -> bool:
    return as_utc(session.starts_at) <= utcnow()


def attendance_of(session: EditionSession) -> dict[uuid.UUID, bool]:
    """learner id -> present, for the learners whose attendance was recorded."""
    return dict(
        db.session.execute(
            select(SessionAttendance.learner_id, SessionAttendance.present).where(
                SessionAttendance.session_id == session.id
            )
        ).all()
    )


def record_attendance(
    session: EditionSession, edition: Edition, actor: User, marks: Mapping[uuid.UUID, bool]
) -> None:
    """Record present/absent for enrolled learners; learners not in `marks` stay as they were."""
    if session.edition_id != edition.id:
        raise ValueError("the session is not of this edition")
    if not may_record_attendance(edition, actor):
        raise InvalidInput.form(
            gettext("Only the trainer of this edition or a programme administrator may do this.")
        )
    if not session_started(session):
        raise InvalidInput.form(gettext("Attendance can be recorded once the session has started."))
    enrolled = {learner.id for learner in enrolled_learners(edition)}
    strangers = set(marks) - enrolled
    if strangers:
        raise InvalidInput.form(
            gettext("Attendance is recorded only for learners enrolled in this edition.")
        )
    existing = {
        row.learner_id: row
        for row in db.session.scalars(
            select(SessionAttendance).where(SessionAttendance.session_id == session.id)
        )
    }
    for learner_id, present in marks.items():
        row = existing.get(learner_id)
        if row is None:
            db.session.add(
                SessionAttendance(session_id=session.id, learner_id=learner_id, present=present)
            )
        elif row.present != present:
            row.present = present
    db.session.flush()


# --- enrolment ----------------------------------------------------------------------------------


def _lock(edition: Edition) -> None:
    """Serialise changes to who holds a place in `edition` (SQLite has one writer anyway)."""
    db.session.execute(select(Edition.id).where(Edition.id == edition.id).with_for_update())


def _enrolled_count(edition: Edition) -> int:
    return db.session.scalar(
        select(func.count(Enrolment.id)).where(
            Enrolment.edition_id == edition.id, Enrolment.status == EnrolmentStatus.ENROLLED
        )
    )


def _free_places(edition: Edition) -> int | None:
    """Places still free; None: no limit."""
    if edition.places is None:
        return None
    return max(edition.places - _enrolled_count(edition), 0)


def _enrolment_of(edition: Edition, learner: User) -> Enrolment | None:
    return db.session.scalar(
        select(Enrolment).where(
            Enrolment.edition_id == edition.id, Enrolment.learner_id == learner.id
        )
    )


def waiting_list(edition: Edition) -> list[Enrolment]:
    """The waiting learners in the order they get a place: by when they applied."""
    return list(
        db.session.scalars(
            select(Enrolment)
            .where(
                Enrolment.edition_id == edition.id,
                Enrolment.status == EnrolmentStatus.WAITLISTED,
            )
            .order_by(Enrolment.applied_at, Enrolment.id)
        )
    )


def _admit(enrolment: Enrolment) -> None:
    """Give the learner a place and start their trajectory."""
    enrolment.status = EnrolmentStatus.ENROLLED
    enrolment.enrolled_at = utcnow()
    enrolment.reason = ""
    db.session.flush()
    signals.enrolment_changed.send(enrolment, admitted=True)


def _fill_free_places(edition: Edition) -> list[Enrolment]:
    """Promote waiting learners, first come first served, while places are free.

    Not once the edition is over: a trajectory started then would only have overdue steps.
    """
    if edition.cancelled or edition.ends_on < local_today():
        return []
    free = _free_places(edition)
    if free == 0:
        return []
    waiting = waiting_list(edition)
    promoted = waiting if free is None else waiting[:free]
    for enrolment in promoted:
        _admit(enrolment)
    return promoted


def apply_for(edition: Edition, learner: User, motivation: str) -> Enrolment:
    """An employee asks for a place in an edition of a training open to them."""
    motivation = motivation.strip()
    training = edition.training
    if not learner.active or not training.active or not is_open_to(training, learner):
        raise InvalidInput.form(gettext("This training is not open to you."))
    if edition.cancelled:
        raise InvalidInput.form(gettext("This edition was cancelled."))
    if edition.starts_on <= local_today():
        raise InvalidInput.form(
            gettext("This edition has started already; applying is no longer possible.")
        )
    if message := _too_long(motivation, MOTIVATION_MAX):
        raise InvalidInput({"motivation": message})
    _lock(edition)  # a double click sends two applications: the second waits, then sees the first
    enrolment = _enrolment_of(edition, learner)
    if enrolment is not None and enrolment.status is not EnrolmentStatus.WITHDRAWN:
        raise InvalidInput.form(_already(enrolment.status))
    if enrolment is None:
        enrolment = Enrolment(edition_id=edition.id, learner_id=learner.id)
        db.session.add(enrolment)
    enrolment.status = EnrolmentStatus.APPLIED
    enrolment.motivation = motivation
    enrolment.reason = ""
    enrolment.applied_at = utcnow()
    enrolment.enrolled_at = None
    db.session.flush()
    return enrolment


def _already(status: EnrolmentStatus) -> str:
    return {
        EnrolmentStatus.APPLIED: gettext("You have applied for this edition already."),
        EnrolmentStatus.ENROLLED: gettext("You are enrolled in this edition already."),
        EnrolmentStatus.WAITLISTED: gettext("You are on the waiting list of this edition already."),
        EnrolmentStatus.DECLINED: gettext(
            "Your application for this edition was declined; ask the programme administrator."
        ),
        EnrolmentStatus.WITHDRAWN: gettext("This place was withdrawn."),
    }[status]


def enrol(edition: Edition, learner: User, actor: User) -> Enrolment:
    """The programme admin enrols an employee, or accepts their application.

    A free place: ENROLLED and the trajectory starts. A full edition: the learner joins the
    waiting list, in the order of their application.
    """
    _require_admin(actor)
    if edition.cancelled:
        raise InvalidInput.form(gettext("This edition was cancelled."))
    if edition.ends_on < local_today():
        raise InvalidInput.form(gettext("This edition is over; nobody can be enrolled any more."))
    if not learner.active:
        raise InvalidInput({"learner_id": gettext("This employee is no longer active.")})
    _lock(edition)
    enrolment = _enrolment_of(edition, learner)
    if enrolment is not None and enrolment.status in (
        EnrolmentStatus.ENROLLED,
        EnrolmentStatus.WAITLISTED,
    ):
        message = (
            gettext("%(name)s is enrolled in this edition already.", name=learner.name)
            if enrolment.status is EnrolmentStatus.ENROLLED
            else gettext("%(name)s is on the waiting list already.", name=learner.name)
        )
        raise InvalidInput({"learner_id": message})
    if enrolment is None:
        enrolment = Enrolment(
            edition_id=edition.id, learner_id=learner.id, status=EnrolmentStatus.APPLIED
        )
        enrolment.applied_at = utcnow()
        db.session.add(enrolment)
    elif enrolment.status is not EnrolmentStatus.APPLIED:
        # Withdrawn or declined before: a fresh start, at the end of any waiting list.
        enrolment.applied_at = utcnow()
    enrolment.reason = ""
    db.session.flush()
    if _free_places(edition) != 0:
        _admit(enrolment)
    else:
        enrolment.status = EnrolmentStatus.WAITLISTED
        db.session.flush()
    return enrolment


def accept(enrolment: Enrolment, actor: User) -> Enrolment:
    """Accept an application: a place, or the waiting list when the edition is full."""
    _require_admin(actor)
    if enrolment.status is not EnrolmentStatus.APPLIED:
        raise InvalidInput.form(gettext("Only an open application can be accepted."))
    return enrol(enrolment.edition, enrolment.learner, actor)


def _check_reason(reason: str, required: bool) -> str:
    reason = reason.strip()
    if required and not reason:
        raise InvalidInput({"reason": gettext("Give a reason; the learner will see it.")})
    if message := _too_long(reason, REASON_MAX):
        raise InvalidInput({"reason": message})
    return reason


def _withdraw(enrolment: Enrolment, reason: str) -> None:
    enrolment.status = EnrolmentStatus.WITHDRAWN
    enrolment.reason = reason
    db.session.flush()
    signals.enrolment_changed.send(enrolment, admitted=False)


def withdraw(enrolment: Enrolment, actor: User, reason: str = "") -> list[Enrolment]:
    """Take a learner out of an edition; returns the waiting learners who got the free place.

    The admin withdraws anyone (with a reason the learner sees). A learner may withdraw their
    own application or waiting place, not their enrolment: then they ask the admin.
    """
    own = enrolment.learner_id == actor.id
    admin = is_admin(actor)
    if not admin:
        if not own:
            raise InvalidInput.form(
                gettext("Only a programme administrator may manage trainings and enrolments.")
            )
        if enrolment.status is EnrolmentStatus.ENROLLED:
            raise InvalidInput.form(
                gettext(
                    "You are enrolled: ask the programme administrator to withdraw you, so your "
                    "place can go to someone else."
                )
            )
    if enrolment.status not in ACTIVE_STATUSES:
        raise InvalidInput.form(gettext("This enrolment has ended already."))
    reason = _check_reason(reason, required=admin and not own)
    edition = enrolment.edition
    _lock(edition)
    held_a_place = enrolment.status is EnrolmentStatus.ENROLLED
    _withdraw(enrolment, reason)
    return _fill_free_places(edition) if held_a_place else []


def decline(enrolment: Enrolment, actor: User, reason: str) -> None:
    """Turn an application down, with a reason the learner sees."""
    _require_admin(actor)
    if enrolment.status is not EnrolmentStatus.APPLIED:
        raise InvalidInput.form(gettext("Only an open application can be declined."))
    enrolment.reason = _check_reason(reason, required=True)
    enrolment.status = EnrolmentStatus.DECLINED
    db.session.flush()


# --- what pages show ----------------------------------------------------------------------------


@dataclass
class EditionSummary:
    """An edition with its numbers, for the catalogue pages (one query for all editions)."""

    edition: Edition
    enrolled: int = 0
    applied: int = 0
    waitlisted: int = 0
    #: The viewer's own enrolment in it, if any.
    mine: Enrolment | None = None

    @property
    def places(self) -> int | None:
        return self.edition.places

    @property
    def places_left(self) -> int | None:
        if self.places is None:
            return None
        return max(self.places - self.enrolled, 0)

    @property
    def started(self) -> bool:
        return self.edition.starts_on <= local_today()

    @property
    def open_for_applications(self) -> bool:
        return not self.edition.cancelled and not self.started


def edition_summaries(viewer: User, *criteria: ColumnElement[bool]) -> list[EditionSummary]:
    """Editions matching `criteria` (with their training), counts per status and `viewer`'s own
    enrolment: a single query, whatever the number of editions and enrolments.
    """
    counts = (
        select(
            Enrolment.edition_id,
            func.count(Enrolment.id)
            .filter(Enrolment.status == EnrolmentStatus.ENROLLED)
            .label("enrolled"),
            func.count(Enrolment.id)
            .filter(Enrolment.status == EnrolmentStatus.APPLIED)
            .label("applied"),
            func.count(Enrolment.id)
            .filter(Enrolment.status == EnrolmentStatus.WAITLISTED)
            .label("waitlisted"),
        )
        .group_by(Enrolment.edition_id)
        .subquery()
    )
    mine = aliased(Enrolment)
    query = (
        select(Edition, counts.c.enrolled, counts.c.applied, counts.c.waitlisted, mine)
        .join(Edition.training)
        .outerjoin(counts, counts.c.edition_id == Edition.id)
        .outerjoin(
            mine,
            and_(
                mine.tenant_id == Edition.tenant_id,
                mine.edition_id == Edition.id,
                mine.learner_id == viewer.id,
            ),
        )
        .options(contains_eager(Edition.training).lazyload(Training.departments))
        .where(*criteria)
        .order_by(Edition.starts_on, Edition.name, Edition.id)
    )
    return [
        EditionSummary(edition, enrolled or 0, applied or 0, waitlisted or 0, own)
        for edition, enrolled, applied, waitlisted, own in db.session.execute(query)
    ]


def participants(edition: Edition) -> list[tuple[Enrolment, uuid.UUID | None]]:
    """Every enrolment of the edition with its learner (and department) and trajectory id."""
    query = (
        select(Enrolment)
        .outerjoin(Enrolment.trajectory)
        .options(
            contains_eager(Enrolment.trajectory),
            joinedload(Enrolment.learner).options(
                lazyload(User.role_assignments), joinedload(User.department)
            ),
        )
        .where(Enrolment.edition_id == edition.id)
        .order_by(Enrolment.applied_at, Enrolment.id)
    )
    return [
        (enrolment, enrolment.trajectory.id if enrolment.trajectory is not None else None)
        for enrolment in db.session.scalars(query).unique()
    ]


def sessions_with_attendance(edition: Edition) -> list[tuple[EditionSession, int, int]]:
    """The sessions in time order, each with (recorded, present) counts: one query."""
    counts = (
        select(
            SessionAttendance.session_id,
            func.count(SessionAttendance.id).label("recorded"),
            func.count(SessionAttendance.id).filter(SessionAttendance.present).label("present"),
        )
        .group_by(SessionAttendance.session_id)
        .subquery()
    )
    query = (
        select(EditionSession, counts.c.recorded, counts.c.present)
        .outerjoin(counts, counts.c.session_id == EditionSession.id)
        .where(EditionSession.edition_id == edition.id)
        .order_by(EditionSession.starts_at, EditionSession.id)
    )
    return [
        (session, recorded or 0, present or 0)
        for session, recorded, present in db.session.execute(query)
    ]


def waiting_positions(learner: User, summaries: Sequence[EditionSummary]) -> dict[uuid.UUID, int]:
    """edition id -> the learner's place on its waiting list (1 = next to get a place).

    One query for all editions where the learner waits; none when they wait nowhere.
    """
    waiting = [
        s.edition.id
        for s in summaries
        if s.mine is not None and s.mine.status is EnrolmentStatus.WAITLISTED
    ]
    if not waiting:
        return {}
    mine, ahead = aliased(Enrolment), aliased(Enrolment)
    query = (
        select(mine.edition_id, func.count(ahead.id))
        .outerjoin(
            ahead,
            and_(
                ahead.tenant_id == mine.tenant_id,
                ahead.edition_id == mine.edition_id,
                ahead.status == EnrolmentStatus.WAITLISTED,
                or_(
                    ahead.applied_at < mine.applied_at,
                    and_(ahead.applied_at == mine.applied_at, ahead.id < mine.id),
                ),
            ),
        )
        .where(mine.learner_id == learner.id, mine.edition_id.in_(waiting))
        .group_by(mine.edition_id)
    )
    return {edition_id: count + 1 for edition_id, count in db.session.execute(query)}
