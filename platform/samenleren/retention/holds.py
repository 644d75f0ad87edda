"""Legal holds: the programme admin stops every retention rule for one person or one
trajectory (with a reason, audited) and lifts the hold again when it is no longer needed."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext
from sqlalchemy import select

from samenleren.audit.events import AuditAction
from samenleren.audit.services import record
from samenleren.catalogue.models import Edition, Training
from samenleren.core.db import utcnow
from samenleren.core.errors_input import InvalidInput
from samenleren.core.extensions import db
from samenleren.identity.models import User
from samenleren.retention.models import HoldSubject, LegalHold
from samenleren.tenants.services import require_programme_admin
from samenleren.trajectories.models import Trajectory

REASON_LIMIT = 2000
#: The audit log names a hold's subject by these kinds (the audit page resolves their names).
_AUDIT_SUBJECT: dict[str, str] = {HoldSubject.PERSON: "user", HoldSubject.TRAJECTORY: "trajectory"}


def active_holds() -> list[LegalHold]:
    return list(
        db.session.scalars(
            select(LegalHold).where(LegalHold.lifted_at.is_(None)).order_by(LegalHold.placed_at)
        )
    )


@dataclass(frozen=True)
class HeldSubject:
    """A hold in place as the page names it: whose, and which trajectory when it is one."""

    hold: LegalHold
    person_id: uuid.UUID | None
    person_name: str
    #: "Training · edition" of a held trajectory; None for a hold on the person.
    trajectory_label: str | None


def describe(holds: list[LegalHold]) -> list[HeldSubject]:
    """Name the subjects of `holds` (at most 2 queries): a person by name, a trajectory by its
    learner and training. A subject that no longer exists is named as such, never by its id."""
    people_ids = {h.subject_id for h in holds if h.subject_type == HoldSubject.PERSON}
    trajectory_ids = {h.subject_id for h in holds if h.subject_type == HoldSubject.TRAJECTORY}
    trajectories: dict[uuid.UUID, Any] = {}
    if trajectory_ids:
        trajectories = {
            row.id: row
            for row in db.session.execute(
                select(Trajectory.id, Trajectory.learner_id, Training.title, Edition.name)
                .join(Edition, Edition.id == Trajectory.edition_id)
                .join(Training, Training.id == Edition.training_id)
                .where(Trajectory.id.in_(list(trajectory_ids)))
            )
        }
    people_ids |= {row.learner_id for row in trajectories.values()}
    names: dict[uuid.UUID | None, str] = {}
    if people_ids:
        names = {
            row.id: row.name
            for row in db.session.execute(
                select(User.id, User.name).where(User.id.in_(list(people_ids)))
            )
        }
    gone = gettext("(no longer in Samen Leren)")
    described = []
    for hold in holds:
        if hold.subject_type == HoldSubject.TRAJECTORY:
            row = trajectories.get(hold.subject_id)
            person_id = row.learner_id if row else None
            label = f"{row.title} · {row.name}" if row else gone
        else:
            person_id, label = hold.subject_id, None
        described.append(HeldSubject(hold, person_id, names.get(person_id, gone), label))
    return described


@dataclass(frozen=True)
class Candidate:
    """A person a hold may be placed on, with their trajectories to choose from instead."""

    id: uuid.UUID
    name: str
    email: str | None
    active: bool
    #: (trajectory id, "Training · edition"), oldest first.
    trajectories: list[tuple[uuid.UUID, str]]


def candidate(person_id: uuid.UUID) -> Candidate | None:
    """The person of this tenant with that id and their trajectories (2 queries); None when
    there is no such person here (another tenant's looks exactly like a missing one)."""
    person = db.session.execute(
        select(User.id, User.name, User.email, User.active).where(User.id == person_id)
    ).one_or_none()
    if person is None:
        return None
    rows = db.session.execute(
        select(Trajectory.id, Training.title, Edition.name)
        .join(Edition, Edition.id == Trajectory.edition_id)
        .join(Training, Training.id == Edition.training_id)
        .where(Trajectory.learner_id == person_id)
        .order_by(Trajectory.created_at, Trajectory.id)
    ).all()
    return Candidate(
        person.id,
        person.name,
        person.email,
        person.active,
        [(row[0], f"{row[1]} · {row[2]}") for row in rows],
    )


@dataclass(frozen=True)
class Held:
    """Who and what is on hold in the current tenant: the retention job skips them."""

    people: frozenset[uuid.UUID]
    trajectories: frozenset[uuid.UUID]
    #: The learners of held trajectories: not anonymised while their trajectory is held.
    learners_of_trajectories: frozenset[uuid.UUID]

    def person(self, user_id: uuid.UUID | None) -> bool:
        return user_id is not None and (
            user_id in self.people or user_id in self.learners_of_trajectories
        )


def held() -> Held:
    """Everything on hold now (2 queries)."""
    rows = db.session.execute(
        select(LegalHold.subject_type, LegalHold.subject_id).where(LegalHold.lifted_at.is_(None))
    ).all()
    people = frozenset(sid for kind, sid in rows if kind == HoldSubject.PERSON)
    trajectories = frozenset(sid for kind, sid in rows if kind == HoldSubject.TRAJECTORY)
    learners: frozenset[uuid.UUID] = frozenset()
    if trajectories:
        learners = frozenset(
            db.session.scalars(
                select(Trajectory.learner_id).where(Trajectory.id.in_(list(trajectories)))
            )
        )
    return Held(people, trajectories, learners)


def place_hold(subject_type: str, subject_id: str, reason: str, actor: User) -> LegalHold:
    """Put a person or a trajectory of this tenant on hold, or refuse (`InvalidInput`)."""
    require_programme_admin(actor)
    errors: dict[str, str] = {}
    reason = reason.replace("\r\n", "\n").strip()
    if not reason:
        errors["reason"] = gettext("Say why the data must be kept.")
    elif len(reason) > REASON_LIMIT:
        errors["reason"] = gettext("Use at most %(limit)s characters.", limit=REASON_LIMIT)
    target: object = None
    try:
        target_id = uuid.UUID(subject_id.strip())
    except (ValueError, AttributeError):
        target_id = None
    if subject_type == HoldSubject.PERSON:
        target = db.session.scalar(select(User).where(User.id == target_id)) if target_id else None
    elif subject_type == HoldSubject.TRAJECTORY:
        target = (
            db.session.scalar(select(Trajectory).where(Trajectory.id == target_id))
            if target_id
            else None
        )
    else:
        errors["subject_type"] = gettext("Choose a person or a trajectory.")
    if target is None and "subject_type" not in errors:
        errors["subject_id"] = gettext("No person or trajectory with this id in your organisation.")
    if errors:
        raise InvalidInput(errors)
    assert target_id is not None
    hold = LegalHold(
        subject_type=str(subject_type), subject_id=target_id, reason=reason, placed_by_id=actor.id
    )
    db.session.add(hold)
    record(
        AuditAction.LEGAL_HOLD_PLACED,
        actor=actor,
        subject_type=_AUDIT_SUBJECT[subject_type],
        subject_id=target_id,
        details={"reason": reason},
    )
    db.session.flush()
    return hold


def lift_hold(hold: LegalHold, actor: User) -> None:
    require_programme_admin(actor)
    if hold.lifted_at is not None:
        raise InvalidInput.form(gettext("This legal hold was lifted already."))
    hold.lifted_at = utcnow()
    hold.lifted_by_id = actor.id
    record(
        AuditAction.LEGAL_HOLD_LIFTED,
        actor=actor,
        subject_type=_AUDIT_SUBJECT[hold.subject_type],
        subject_id=hold.subject_id,
        details={"reason": hold.reason},
    )
    db.session.flush()
