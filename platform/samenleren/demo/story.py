"""The trajectory the demo points a visitor to: one in the middle of the model."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import case, func, select
from sqlalchemy.orm import joinedload

from samenleren.coaching.models import CoachProfile
from samenleren.core.extensions import db
from samenleren.core.formatting import local_today
from samenleren.trajectories.models import StepInstance, StepState, Trajectory, TrajectoryStatus


@dataclass(frozen=True)
class Story:
    """A trajectory worth logging in for: who is in it, and where it stands."""

    learner: str
    coach: str
    manager: str | None
    training: str
    edition: str


def mid_trajectory(today: date | None = None) -> Story | None:
    """The active trajectory in a running edition that has come furthest (its coach still in the
    pool), to show a learner in the middle of one; None when the tenant has no such trajectory.
    Falls back to any active coached trajectory once no edition runs. Needs the tenant active."""
    today = today or local_today()
    trajectories = db.session.scalars(
        select(Trajectory)
        .where(Trajectory.status == TrajectoryStatus.ACTIVE, Trajectory.coach_id.is_not(None))
        .options(joinedload(Trajectory.learner), joinedload(Trajectory.edition))
    ).all()
    if not trajectories:
        return None
    # Per trajectory: its steps and how many of them are closed (None: none).
    rows: Sequence[tuple[uuid.UUID, int, int | None]] = db.session.execute(
        select(
            StepInstance.trajectory_id,
            func.count(),
            func.sum(case((StepInstance.state.in_([StepState.DONE, StepState.SKIPPED]), 1))),
        ).group_by(StepInstance.trajectory_id)
    ).all()
    counts = {trajectory_id: (steps, closed or 0) for trajectory_id, steps, closed in rows}
    in_pool = set(db.session.scalars(select(CoachProfile.user_id).where(CoachProfile.active)))

    def interest(trajectory: Trajectory) -> tuple[bool, bool, bool, int, int, str]:
        edition = trajectory.edition
        steps, closed = counts.get(trajectory.id, (0, 0))
        running = edition.starts_on <= today <= edition.ends_on
        manager = trajectory.learner.manager_id is not None
        return (
            not running,
            trajectory.coach_id not in in_pool,
            not manager,
            -closed,
            -steps,
            trajectory.learner.subject,
        )

    best = min(trajectories, key=interest)
    coach = best.coach
    if coach is None:  # not among the trajectories queried; tells the type checker as much
        return None
    return Story(
        learner=best.learner.subject,
        coach=coach.subject,
        manager=best.learner.manager.subject if best.learner.manager else None,
        training=best.edition.training.title,
        edition=best.edition.name,
    )
