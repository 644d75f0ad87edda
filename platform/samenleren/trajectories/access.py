"""Loading a trajectory for a page: the viewer's relations to it decide; no relation is a 404."""

from __future__ import annotations

import uuid

from flask import abort
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from samenleren.catalogue.models import Edition, Training
from samenleren.core.extensions import db
from samenleren.core.tenancy import require_tenant
from samenleren.identity.models import Role, User
from samenleren.trajectories.meetings import may_run_meeting, meeting_trajectories
from samenleren.trajectories.models import GroupMeeting, StepInstance, Trajectory
from samenleren.trajectories.permissions import relations_to


def key_of(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        abort(404)


def load_trajectory(trajectory_id: str) -> tuple[Trajectory, frozenset[Role]]:
    """The trajectory with what every page needs (one query), and the viewer's relations.

    A trajectory the viewer plays no part in is a 404, exactly like a missing one.
    """
    trajectory = db.session.scalar(
        select(Trajectory)
        .where(Trajectory.id == key_of(trajectory_id))
        .options(
            joinedload(Trajectory.learner).joinedload(User.manager).lazyload(User.role_assignments),
            joinedload(Trajectory.learner).lazyload(User.role_assignments),
            joinedload(Trajectory.coach).lazyload(User.role_assignments),
            joinedload(Trajectory.edition)
            .joinedload(Edition.training)
            .lazyload(Training.departments),
            joinedload(Trajectory.edition)
            .joinedload(Edition.trainer)
            .lazyload(User.role_assignments),
            joinedload(Trajectory.template_version),
        )
    )
    if trajectory is None:
        abort(404)
    relations = relations_to(trajectory, current_user)
    if not relations:
        abort(404)
    return trajectory, relations


def may_choose_coach(trajectory: Trajectory, relations: frozenset[Role]) -> bool:
    """The viewer may open the coach page to pick or change the coach (not only see it)."""
    if trajectory.status.value != "active":
        return False
    if Role.PROGRAMME_ADMIN in relations:
        return True
    return (
        Role.LEARNER in relations
        and require_tenant().learners_choose_coach
        and trajectory.coach_id is None
    )


def load_step(trajectory: Trajectory, step_id: str) -> StepInstance:
    step = db.session.scalar(
        select(StepInstance)
        .where(StepInstance.id == key_of(step_id), StepInstance.trajectory_id == trajectory.id)
        .options(joinedload(StepInstance.group_meeting))
    )
    if step is None:
        abort(404)
    return step


def load_meeting(meeting_id: str) -> tuple[GroupMeeting, bool, list]:
    """The meeting, whether the viewer runs it, and its members (trajectory, step) — or 404.

    Learners of the group, their coaches and managers see it; the trainer and admins run it.
    """
    meeting = db.session.scalar(
        select(GroupMeeting)
        .where(GroupMeeting.id == key_of(meeting_id))
        .options(joinedload(GroupMeeting.edition).joinedload(Edition.training))
    )
    if meeting is None:
        abort(404)
    runs = may_run_meeting(meeting, current_user)
    members = meeting_trajectories(meeting)
    if not runs:
        me = current_user.id
        learners = {t.learner_id: t for t, _ in members}
        involved = me in learners or any(t.coach_id == me for t, _ in members)
        if not involved:
            abort(404)
    return meeting, runs, members
