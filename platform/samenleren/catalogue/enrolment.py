"""Enrolment: applying for an edition, enrolling, the waiting list, withdrawing and declining.

Admitting a learner or taking them out is announced (`enrolment_changed`): the trajectories
start or stop with it. Withdrawing someone who held a place gives it to the first learner on the
waiting list.

Places are counted on ENROLLED enrolments only. Writes that change who holds a place lock the
edition's row first (`SELECT ... FOR UPDATE` on PostgreSQL), so two admins enrolling at the same
moment cannot both take the last place.
"""

from __future__ import annotations

from flask_babel import format_date, gettext
from sqlalchemy import func, select

from samenleren.audit.events import AuditAction
from samenleren.audit.services import record
from samenleren.catalogue.access import is_admin, is_open_to, require_admin
from samenleren.catalogue.limits import MOTIVATION_MAX, REASON_MAX, too_long
from samenleren.catalogue.models import (
    Edition,
    Enrolment,
    EnrolmentStatus,
    ManagerApproval,
    process_template_of,
)
from samenleren.core import signals
from samenleren.core.db import utcnow
from samenleren.core.errors_input import InvalidInput
from samenleren.core.extensions import db
from samenleren.core.formatting import local_today
from samenleren.identity.models import User
from samenleren.process_templates.services import current_version

#: The statuses that hold a place or a wish for one; a learner has at most one per edition.
ACTIVE_STATUSES = (EnrolmentStatus.APPLIED, EnrolmentStatus.ENROLLED, EnrolmentStatus.WAITLISTED)


def lock(edition: Edition) -> None:
    """Serialise changes to who holds a place in `edition` (SQLite has one writer anyway)."""
    db.session.execute(select(Edition.id).where(Edition.id == edition.id).with_for_update())


def enrolled_count(edition: Edition) -> int:
    return db.session.execute(
        select(func.count(Enrolment.id)).where(
            Enrolment.edition_id == edition.id, Enrolment.status == EnrolmentStatus.ENROLLED
        )
    ).scalar_one()


def _free_places(edition: Edition) -> int | None:
    """Places still free; None: no limit."""
    if edition.places is None:
        return None
    return max(edition.places - enrolled_count(edition), 0)


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


def fill_free_places(edition: Edition) -> list[Enrolment]:
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
    if edition.apply_until is not None and local_today() > edition.apply_until:
        raise InvalidInput.form(
            gettext(
                "Applying for this edition closed on %(date)s.",
                date=format_date(edition.apply_until),
            )
        )
    if message := too_long(motivation, MOTIVATION_MAX):
        raise InvalidInput({"motivation": message})
    lock(edition)  # a double click sends two applications: the second waits, then sees the first
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
    enrolment.manager_approval = ManagerApproval.PENDING if asks_manager(edition, learner) else None
    enrolment.manager_answered_at = None
    db.session.flush()
    signals.application_received.send(enrolment)
    return enrolment


def asks_manager(edition: Edition, learner: User) -> bool:
    """Whether an application of `learner` waits for their manager's approval: the template
    new trajectories of the edition start on asks for it, and the learner has an active
    manager (without one, the programme admin decides as always)."""
    manager = learner.manager
    if manager is None or not manager.active or manager.id == learner.id:
        return False
    return current_version(process_template_of(edition)).content.application.manager_approval


def training_name(enrolment: Enrolment) -> str:
    edition = enrolment.edition
    return f"{edition.training.title} · {edition.name}"


def answer_as_manager(enrolment: Enrolment, actor: User, *, approve: bool) -> None:
    """The employee's manager approves the application, or asks to discuss it first (and may
    approve it later). Only that employee's manager, and only while the application is open."""
    if enrolment.learner.manager_id != actor.id or enrolment.learner_id == actor.id:
        raise InvalidInput.form(gettext("Only the employee's manager answers this application."))
    if enrolment.manager_approval is None:
        raise InvalidInput.form(gettext("Your approval is not asked for this application."))
    if enrolment.status is not EnrolmentStatus.APPLIED:
        raise InvalidInput.form(gettext("This application no longer waits for your answer."))
    if approve and enrolment.manager_approval is ManagerApproval.APPROVED:
        raise InvalidInput.form(gettext("You have approved this application already."))
    enrolment.manager_approval = ManagerApproval.APPROVED if approve else ManagerApproval.DISCUSS
    enrolment.manager_answered_at = utcnow()
    record(
        AuditAction.APPLICATION_MANAGER_APPROVED
        if approve
        else AuditAction.APPLICATION_MANAGER_DISCUSS,
        actor=actor,
        subject_type="user",
        subject_id=enrolment.learner_id,
        details={"training": training_name(enrolment), "enrolment": str(enrolment.id)},
    )
    db.session.flush()


def _decided_without_manager(enrolment: Enrolment, actor: User, decision: str) -> None:
    """The admin decides while the manager's approval is still open: allowed, and audited."""
    if enrolment.manager_approval in (ManagerApproval.PENDING, ManagerApproval.DISCUSS):
        record(
            AuditAction.APPLICATION_DECIDED_WITHOUT_MANAGER,
            actor=actor,
            subject_type="user",
            subject_id=enrolment.learner_id,
            details={
                "training": training_name(enrolment),
                "enrolment": str(enrolment.id),
                "decision": decision,
                "manager_answer": enrolment.manager_approval.value,
            },
        )


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
    require_admin(actor)
    if edition.cancelled:
        raise InvalidInput.form(gettext("This edition was cancelled."))
    if edition.ends_on < local_today():
        raise InvalidInput.form(gettext("This edition is over; nobody can be enrolled any more."))
    if not learner.active:
        raise InvalidInput({"learner_id": gettext("This employee is no longer active.")})
    lock(edition)
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
        signals.application_answered.send(enrolment)
    return enrolment


def accept(enrolment: Enrolment, actor: User) -> Enrolment:
    """Accept an application: a place, or the waiting list when the edition is full."""
    require_admin(actor)
    if enrolment.status is not EnrolmentStatus.APPLIED:
        raise InvalidInput.form(gettext("Only an open application can be accepted."))
    _decided_without_manager(enrolment, actor, "accepted")
    return enrol(enrolment.edition, enrolment.learner, actor)


def _check_reason(reason: str, required: bool) -> str:
    reason = reason.strip()
    if required and not reason:
        raise InvalidInput({"reason": gettext("Give a reason; the learner will see it.")})
    if message := too_long(reason, REASON_MAX):
        raise InvalidInput({"reason": message})
    return reason


def mark_withdrawn(enrolment: Enrolment, reason: str) -> None:
    """End an enrolment and stop its trajectory; the caller has checked who may (`withdraw`,
    or cancelling the edition)."""
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
    lock(edition)
    held_a_place = enrolment.status is EnrolmentStatus.ENROLLED
    mark_withdrawn(enrolment, reason)
    return fill_free_places(edition) if held_a_place else []


def decline(enrolment: Enrolment, actor: User, reason: str) -> None:
    """Turn an application down, with a reason the learner sees."""
    require_admin(actor)
    if enrolment.status is not EnrolmentStatus.APPLIED:
        raise InvalidInput.form(gettext("Only an open application can be declined."))
    enrolment.reason = _check_reason(reason, required=True)
    _decided_without_manager(enrolment, actor, "declined")
    enrolment.status = EnrolmentStatus.DECLINED
    db.session.flush()
    signals.application_answered.send(enrolment)
