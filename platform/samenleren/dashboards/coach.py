"""The coach's dashboard: my coachees, my conversations coming up and overdue, the next coach
day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import (
    select,
)

from samenleren.coaching.models import CoachDay
from samenleren.core.db import as_utc, utcnow
from samenleren.core.extensions import db
from samenleren.core.formatting import local_today
from samenleren.dashboards.cards import Card, Task, cards_of, trajectory_query
from samenleren.identity.models import Role, User
from samenleren.trajectories.models import (
    StepState,
    Trajectory,
    TrajectoryStatus,
)

#: How far ahead the coach's "coming up" list looks.
UPCOMING = timedelta(weeks=6)


@dataclass(frozen=True)
class CoachDashboard:
    cards: list[Card]
    upcoming: list[Task]
    overdue: list[Task]
    coach_day: CoachDay | None


def coach_dashboard(
    user: User, today: date | None = None, now: datetime | None = None
) -> CoachDashboard:
    """My coachees, my conversations coming up and overdue, the next coach day (3 queries)."""
    today = today or local_today()
    now = now or utcnow()
    trajectories = db.session.scalars(
        trajectory_query(
            Trajectory.coach_id == user.id, Trajectory.status == TrajectoryStatus.ACTIVE
        )
    ).all()
    trajectories = sorted(trajectories, key=lambda t: t.learner.name)
    cards = cards_of(trajectories, Role.COACH, today)
    upcoming: list[tuple[datetime, Task]] = []
    overdue: list[Task] = []
    for card in cards:
        for entry in card.timeline.entries:
            if not entry.mine:
                continue
            starts_at = as_utc(entry.step.starts_at)
            if (
                entry.step.state is StepState.SCHEDULED
                and starts_at is not None
                and now <= starts_at < now + UPCOMING
            ):
                upcoming.append((starts_at, Task(card.trajectory, entry)))
            if entry.overdue:
                overdue.append(Task(card.trajectory, entry))
    upcoming.sort(key=lambda item: item[0])
    overdue.sort(key=lambda task: (task.entry.step.due_on, task.trajectory.learner.name))
    coach_day = db.session.scalar(
        select(CoachDay).where(CoachDay.held_on >= today).order_by(CoachDay.held_on).limit(1)
    )
    return CoachDashboard(cards, [task for _, task in upcoming], overdue, coach_day)
