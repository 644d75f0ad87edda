"""The trainer's dashboard: my editions with their numbers, their sessions to come and their
group meetings.

Only editions that ended at most half a year ago (their return day, three months after the end,
included) are on it: a trainer of many years would otherwise find every edition ever on their
start page, and the page would grow with the years. Older editions stay on their training's page
in the catalogue."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import (
    ScalarSelect,
    func,
    select,
)
from sqlalchemy.orm import contains_eager, raiseload

from samenleren.catalogue.models import (
    Edition,
    EditionSession,
    Enrolment,
    EnrolmentStatus,
    Training,
)
from samenleren.core.db import utcnow
from samenleren.core.extensions import db
from samenleren.identity.models import User
from samenleren.trajectories.models import (
    GroupMeeting,
)


@dataclass(frozen=True)
class EditionRow:
    edition: Edition
    enrolled: int
    waitlisted: int


@dataclass(frozen=True)
class TrainerDashboard:
    editions: list[EditionRow]
    sessions: list[EditionSession]
    meetings: list[GroupMeeting]
    edition_of: dict[uuid.UUID, Edition]


#: Editions that ended longer ago than this are no longer on the trainer's dashboard.
RECENT = timedelta(days=183)


def trainer_dashboard(user: User, now: datetime | None = None) -> TrainerDashboard:
    """My recent and coming editions with their numbers, their sessions to come and their group
    meetings (3 queries)."""
    now = now or utcnow()
    since = now.date() - RECENT

    def counted(status: EnrolmentStatus) -> ScalarSelect[int]:
        return (
            select(func.count(Enrolment.id))
            .where(Enrolment.edition_id == Edition.id, Enrolment.status == status)
            .correlate(Edition)
            .scalar_subquery()
        )

    rows = db.session.execute(
        select(Edition, counted(EnrolmentStatus.ENROLLED), counted(EnrolmentStatus.WAITLISTED))
        .join(Edition.training)
        .where(Edition.trainer_id == user.id, Edition.ends_on >= since)
        .options(contains_eager(Edition.training).options(raiseload(Training.departments)))
        .order_by(Edition.starts_on.desc(), Edition.name)
    ).all()
    editions = [EditionRow(edition, enrolled, waitlisted) for edition, enrolled, waitlisted in rows]
    edition_of = {row.edition.id: row.edition for row in editions}
    if not editions:
        return TrainerDashboard([], [], [], {})
    sessions = db.session.scalars(
        select(EditionSession)
        .join(Edition, Edition.id == EditionSession.edition_id)
        .where(Edition.trainer_id == user.id, EditionSession.ends_at >= now)
        .order_by(EditionSession.starts_at)
    ).all()
    meetings = db.session.scalars(
        select(GroupMeeting)
        .join(Edition, Edition.id == GroupMeeting.edition_id)
        .where(Edition.trainer_id == user.id, Edition.ends_on >= since)
        .order_by(GroupMeeting.due_on, GroupMeeting.step_key)
    ).all()
    return TrainerDashboard(editions, list(sessions), list(meetings), edition_of)
