"""Giving a trajectory its coach: the admin assigns, or the learner picks when the tenant lets
learners choose. The peer-coaching rules (`matching.check_coach`) decide who may coach whom;
every assignment is kept in the trajectory's coach history and audited.

Nobody makes themselves a trajectory's coach: the coach reads the confidential progress notes,
so an admin who could assign themselves could read any learner's notes. Every path that gives a
trajectory a coach (the admin's page, the learner's choice, the demo) goes through
`assign_coach`, and the learner is told of every assignment (`coach_changed`, received by the
notifications), with how to ask for another coach.
"""

from __future__ import annotations

from flask_babel import gettext
from sqlalchemy import select

from samenleren.audit.events import AuditAction
from samenleren.audit.services import record
from samenleren.coaching.matching import check_coach
from samenleren.core import signals
from samenleren.core.db import utcnow
from samenleren.core.errors_input import InvalidInput
from samenleren.core.extensions import db
from samenleren.core.tenancy import current_tenant
from samenleren.identity.models import Role, User
from samenleren.trajectories.models import CoachAssignment, Trajectory
from samenleren.trajectories.permissions import relations_to, require_active


def assign_coach(trajectory: Trajectory, coach: User, actor: User, reason: str = "") -> None:
    """Give the trajectory a coach (admin; or the learner, when the tenant lets learners pick).

    Replacing a coach needs a reason, kept in the assignment history.
    """
    relations = relations_to(trajectory, actor)
    tenant = current_tenant()
    learner_picks = (
        Role.LEARNER in relations
        and tenant is not None
        and tenant.learners_choose_coach
        and trajectory.coach_id is None
    )
    if Role.PROGRAMME_ADMIN not in relations and not learner_picks:
        raise InvalidInput.form(gettext("Only the programme administrator assigns coaches."))
    require_active(trajectory)
    if coach.id == actor.id:
        raise InvalidInput(
            {
                "coach": gettext(
                    "Nobody can make themselves the coach of a trajectory: the coach reads the "
                    "confidential conversations. Ask another programme administrator."
                )
            }
        )
    if trajectory.coach_id == coach.id:
        raise InvalidInput({"coach": gettext("%(name)s is the coach already.", name=coach.name)})
    reason = reason.strip()
    if trajectory.coach_id is not None and not reason:
        raise InvalidInput({"reason": gettext("Say why the coach changes.")})
    if len(reason) > 2000:
        raise InvalidInput({"reason": gettext("At most %(count)d characters.", count=2000)})
    refusal = check_coach(trajectory.learner, coach)
    if refusal is not None:
        raise InvalidInput({"coach": refusal})
    now = utcnow()
    current = db.session.scalar(
        select(CoachAssignment).where(
            CoachAssignment.trajectory_id == trajectory.id, CoachAssignment.ended_at.is_(None)
        )
    )
    if current is not None:
        current.ended_at = now
    previous_coach = trajectory.coach if trajectory.coach_id is not None else None
    db.session.add(
        CoachAssignment(
            trajectory_id=trajectory.id,
            coach_id=coach.id,
            assigned_by_id=actor.id,
            reason=reason,
            assigned_at=now,
        )
    )
    trajectory.coach_id = coach.id
    signals.coach_changed.send(trajectory, previous=previous_coach)
    details = {"coach": str(coach.id), "coach_name": coach.name}
    if previous_coach is not None:
        details["previous_coach"] = str(previous_coach.id)
        details["previous_coach_name"] = previous_coach.name
    record(
        AuditAction.COACH_ASSIGNED,
        actor=actor,
        subject_type="trajectory",
        subject_id=trajectory.id,
        details=details,
    )
    db.session.flush()
