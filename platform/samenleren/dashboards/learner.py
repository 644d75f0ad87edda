"""The learner's dashboard: my trajectories with progress and what to do next; my applications
and waiting-list places."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import (
    ScalarSelect,
    func,
    select,
)
from sqlalchemy.orm import aliased, contains_eager, raiseload

from samenleren.catalogue.models import (
    Edition,
    Enrolment,
    EnrolmentStatus,
    Training,
)
from samenleren.core.extensions import db
from samenleren.core.formatting import local_today
from samenleren.dashboards.cards import Card, by_status_then, cards_of, trajectory_query
from samenleren.identity.models import Role, User
from samenleren.trajectories.models import (
    Trajectory,
)


@dataclass(frozen=True)
class Waiting:
    """An application or a waiting-list place."""

    enrolment: Enrolment
    #: Place on the waiting list (1 = next to get a place); None for an application.
    place: int | None


@dataclass(frozen=True)
class LearnerDashboard:
    cards: list[Card]
    waiting: list[Waiting]


def learner_dashboard(user: User, today: date | None = None) -> LearnerDashboard:
    """My trajectories with progress and what to do next; my applications (3 queries)."""
    today = today or local_today()
    trajectories = db.session.scalars(trajectory_query(Trajectory.learner_id == user.id)).all()
    trajectories = by_status_then(trajectories, lambda t: -t.edition.starts_on.toordinal())
    ahead = aliased(Enrolment)
    place: ScalarSelect[int] = (
        select(func.count(ahead.id) + 1)
        .where(
            ahead.edition_id == Enrolment.edition_id,
            ahead.status == EnrolmentStatus.WAITLISTED,
            (ahead.applied_at < Enrolment.applied_at)
            | ((ahead.applied_at == Enrolment.applied_at) & (ahead.id < Enrolment.id)),
        )
        .correlate(Enrolment)
        .scalar_subquery()
    )
    rows = db.session.execute(
        select(Enrolment, place)
        .join(Enrolment.edition)
        .join(Edition.training)
        .where(
            Enrolment.learner_id == user.id,
            Enrolment.status.in_([EnrolmentStatus.APPLIED, EnrolmentStatus.WAITLISTED]),
        )
        .options(
            contains_eager(Enrolment.edition)
            .contains_eager(Edition.training)
            .options(raiseload(Training.departments))
        )
        .order_by(Edition.starts_on, Enrolment.applied_at)
    ).all()
    waiting = [
        Waiting(enrolment, number if enrolment.status is EnrolmentStatus.WAITLISTED else None)
        for enrolment, number in rows
    ]
    return LearnerDashboard(cards_of(trajectories, Role.LEARNER, today), waiting)
