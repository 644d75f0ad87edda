"""Who takes part in a step or a group meeting, from the template's `participants`.

Relative to the trajectory: its learner, coach, the learner's manager and the edition's trainer.
Invitations (calendars) and the return day planning read this; it is the programme's rule.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from samenleren.core.extensions import db
from samenleren.identity.models import Role, User
from samenleren.process_templates.definition import StepSpec
from samenleren.trajectories.models import (
    GroupMeeting,
    StepInstance,
    StepState,
    Trajectory,
    TrajectoryStatus,
)


def step_people(trajectory: Trajectory, spec: StepSpec) -> list[User]:
    """The people of `trajectory` who take part in a step (template participants), once each."""
    by_role = {
        Role.LEARNER: trajectory.learner,
        Role.COACH: trajectory.coach if trajectory.coach_id else None,
        Role.MANAGER: trajectory.learner.manager if trajectory.learner.manager_id else None,
        Role.TRAINER: trajectory.edition.trainer if trajectory.edition.trainer_id else None,
    }
    people: dict[uuid.UUID, User] = {}
    for role in spec.participants:
        user = by_role.get(role)
        if user is not None:
            people.setdefault(user.id, user)
    return list(people.values())


def meeting_people(meeting: GroupMeeting) -> list[User]:
    """Everyone invited to a group meeting: its members (the learners whose trajectories hold
    it, and their coaches and managers when the template says they take part) and the trainer."""
    rows = db.session.execute(
        select(Trajectory, StepInstance)
        .join(StepInstance, StepInstance.trajectory_id == Trajectory.id)
        .where(
            StepInstance.group_meeting_id == meeting.id,
            Trajectory.status == TrajectoryStatus.ACTIVE,
            # Restricted from further processing: no invitations either.
            Trajectory.restricted_at.is_(None),
            StepInstance.state != StepState.SKIPPED,
        )
        .options(
            joinedload(Trajectory.learner).joinedload(User.manager).lazyload(User.role_assignments),
            joinedload(Trajectory.learner).lazyload(User.role_assignments),
            joinedload(Trajectory.coach).lazyload(User.role_assignments),
            joinedload(Trajectory.template_version),
        )
    ).all()
    people: dict[uuid.UUID, User] = {}
    for trajectory, _step in rows:
        spec = trajectory.template_version.content.step(meeting.step_key)
        roles = set(spec.participants) if spec else {Role.LEARNER}
        candidates = [trajectory.learner]
        if Role.COACH in roles and trajectory.coach_id and trajectory.coach is not None:
            candidates.append(trajectory.coach)
        learner = trajectory.learner
        if Role.MANAGER in roles and learner.manager_id and learner.manager is not None:
            candidates.append(learner.manager)
        for user in candidates:
            people.setdefault(user.id, user)
    trainer = meeting.edition.trainer if meeting.edition.trainer_id else None
    if trainer is not None:
        people.setdefault(trainer.id, trainer)
    return list(people.values())


def attends(spec: StepSpec, relations: frozenset[Role]) -> bool:
    """Whether someone with `relations` to the learner takes part in the step's appointment
    (the template's `participants`): only they get it in their calendar."""
    return bool(relations & set(spec.participants))
