"""The learner's dashboard: my trajectories with progress and what to do next; what is coming
up (conversations, group meetings and training sessions, with their dates); my applications and
waiting-list places."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

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
from samenleren.catalogue.sessions import SessionProgress, session_progress
from samenleren.coaching.models import CoachProfile
from samenleren.core.db import as_utc, utcnow
from samenleren.core.extensions import db
from samenleren.core.formatting import local_today
from samenleren.dashboards.cards import Card, by_status_then, cards_of, trajectory_query
from samenleren.identity.models import Role, User
from samenleren.trajectories.models import (
    Trajectory,
)
from samenleren.trajectories.timeline import TimelineEntry


@dataclass(frozen=True)
class Waiting:
    """An application or a waiting-list place."""

    enrolment: Enrolment
    #: Place on the waiting list (1 = next to get a place); None for an application.
    place: int | None


@dataclass(frozen=True)
class Upcoming:
    """Something with a date ahead: a step's appointment (`entry`) or a training session."""

    starts_at: datetime
    trajectory: Trajectory
    entry: TimelineEntry | None = None
    session: SessionProgress | None = None


@dataclass(frozen=True)
class LearnerDashboard:
    cards: list[Card]
    waiting: list[Waiting]
    #: What is coming up, soonest first.
    upcoming: list[Upcoming]
    #: Per edition: where its training stands ("session 4 of 5 on 12 March").
    sessions: dict
    #: My coaches' introductions, by coach id: who they are and how to reach them.
    introductions: dict


def _upcoming(cards: list[Card], sessions: dict, now: datetime) -> list[Upcoming]:
    coming = []
    for card in cards:
        for entry in card.timeline.entries:
            starts_at = as_utc(entry.step.starts_at)
            if entry.step.state.value == "scheduled" and starts_at is not None and starts_at >= now:
                coming.append(Upcoming(starts_at, card.trajectory, entry=entry))
        session = sessions.get(card.trajectory.edition_id)
        if session is not None and not session.over and card.trajectory.status.value == "active":
            coming.append(Upcoming(session.starts_at, card.trajectory, session=session))
    return sorted(coming, key=lambda item: item.starts_at)


def learner_dashboard(user: User, today: date | None = None) -> LearnerDashboard:
    """My trajectories with progress and what to do next, what is coming up, my coaches,
    my applications (5 queries)."""
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
    cards = cards_of(trajectories, Role.LEARNER, today)
    now = utcnow()
    sessions = session_progress([t.edition_id for t in trajectories], now)
    coaches = {t.coach_id for t in trajectories if t.coach_id is not None}
    introductions = (
        {
            user_id: introduction
            for user_id, introduction in db.session.execute(
                select(CoachProfile.user_id, CoachProfile.introduction).where(
                    CoachProfile.user_id.in_(coaches), CoachProfile.introduction != ""
                )
            )
        }
        if coaches
        else {}
    )
    return LearnerDashboard(
        cards, waiting, _upcoming(cards, sessions, now), sessions, introductions
    )
