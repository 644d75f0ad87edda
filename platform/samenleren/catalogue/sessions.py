"""The sessions of an edition (days or parts of days) and who attended them."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext
from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import lazyload

from samenleren.catalogue.access import may_record_attendance, require_admin
from samenleren.catalogue.limits import LOCATION_MAX, TOPIC_MAX, too_long
from samenleren.catalogue.models import (
    Edition,
    EditionSession,
    Enrolment,
    EnrolmentStatus,
    SessionAttendance,
)
from samenleren.core.db import as_utc, utcnow
from samenleren.core.errors_input import InvalidInput
from samenleren.core.extensions import db
from samenleren.core.formatting import LOCAL_ZONE, format_date
from samenleren.identity.models import User


@dataclass
class SessionInput:
    #: Moments in UTC (the form converts Dutch local time).
    starts_at: datetime
    ends_at: datetime
    location: str = ""
    topic: str = ""


def add_session(edition: Edition, actor: User, data: SessionInput) -> EditionSession:
    """A session (day or part of a day) of the edition, within its dates."""
    require_admin(actor)
    errors: dict[str, str] = {}
    starts_at, ends_at = as_utc(data.starts_at), as_utc(data.ends_at)
    if ends_at <= starts_at:
        errors["ends_at"] = gettext("The end must come after the start.")
    first_day = starts_at.astimezone(LOCAL_ZONE).date()
    if not edition.starts_on <= first_day <= edition.ends_on:
        errors["starts_at"] = gettext(
            "A session falls within the edition's dates, %(start)s to %(end)s.",
            start=format_date(edition.starts_on),
            end=format_date(edition.ends_on),
        )
    if message := too_long(data.location.strip(), LOCATION_MAX):
        errors["location"] = message
    if message := too_long(data.topic.strip(), TOPIC_MAX):
        errors["topic"] = message
    if errors:
        raise InvalidInput(errors)
    session = EditionSession(
        edition_id=edition.id,
        starts_at=starts_at,
        ends_at=ends_at,
        location=data.location.strip(),
        topic=data.topic.strip(),
    )
    db.session.add(session)
    db.session.flush()
    return session


def remove_session(session: EditionSession, actor: User) -> None:
    """Remove a session, as long as no attendance was recorded for it."""
    require_admin(actor)
    recorded = db.session.scalar(
        select(SessionAttendance.id).where(SessionAttendance.session_id == session.id).limit(1)
    )
    if recorded is not None:
        raise InvalidInput.form(
            gettext("Attendance was recorded for this session, so it can no longer be removed.")
        )
    db.session.delete(session)
    db.session.flush()


def enrolled_learners(edition: Edition) -> list[User]:
    """The learners holding a place in the edition, by name."""
    return list(
        db.session.scalars(
            select(User)
            .join(
                Enrolment,
                and_(Enrolment.tenant_id == User.tenant_id, Enrolment.learner_id == User.id),
            )
            .where(
                Enrolment.edition_id == edition.id,
                Enrolment.status == EnrolmentStatus.ENROLLED,
            )
            .order_by(User.name, User.id)
            .options(lazyload(User.role_assignments))
        )
    )


def session_started(session: EditionSession) -> bool:
    return as_utc(session.starts_at) <= utcnow()


def attendance_of(session: EditionSession) -> dict[uuid.UUID, bool]:
    """learner id -> present, for the learners whose attendance was recorded."""
    return dict(
        db.session.execute(
            select(SessionAttendance.learner_id, SessionAttendance.present).where(
                SessionAttendance.session_id == session.id
            )
        ).all()
    )


def record_attendance(
    session: EditionSession, edition: Edition, actor: User, marks: Mapping[uuid.UUID, bool]
) -> None:
    """Record present/absent for enrolled learners; learners not in `marks` stay as they were."""
    if session.edition_id != edition.id:
        raise ValueError("the session is not of this edition")
    if not may_record_attendance(edition, actor):
        raise InvalidInput.form(
            gettext("Only the trainer of this edition or a programme administrator may do this.")
        )
    if not session_started(session):
        raise InvalidInput.form(gettext("Attendance can be recorded once the session has started."))
    enrolled = {learner.id for learner in enrolled_learners(edition)}
    strangers = set(marks) - enrolled
    if strangers:
        raise InvalidInput.form(
            gettext("Attendance is recorded only for learners enrolled in this edition.")
        )
    existing = {
        row.learner_id: row
        for row in db.session.scalars(
            select(SessionAttendance).where(SessionAttendance.session_id == session.id)
        )
    }
    for learner_id, present in marks.items():
        row = existing.get(learner_id)
        if row is None:
            db.session.add(
                SessionAttendance(session_id=session.id, learner_id=learner_id, present=present)
            )
        elif row.present != present:
            row.present = present
    db.session.flush()


@dataclass(frozen=True)
class SessionProgress:
    """Where an edition's training stands: its next session (number of all, when, where), or
    the last one once all are held."""

    number: int  #: 1-based, by start
    total: int
    starts_at: datetime
    location: str
    #: False: this is the next session; True: every session is held, this was the last.
    over: bool


def session_progress(
    edition_ids: list[uuid.UUID], now: datetime | None = None
) -> dict[uuid.UUID, SessionProgress]:
    """Per edition with sessions: the next session (or the last, when all are held), numbered
    among all its sessions ("session 4 of 5 on 12 March"). One query, whatever the number of
    editions and sessions."""
    if not edition_ids:
        return {}
    now = now or utcnow()
    numbered = (
        select(
            EditionSession.edition_id,
            EditionSession.starts_at,
            EditionSession.location,
            func.row_number()
            .over(partition_by=EditionSession.edition_id, order_by=EditionSession.starts_at)
            .label("number"),
            func.count().over(partition_by=EditionSession.edition_id).label("total"),
        )
        .where(EditionSession.edition_id.in_(edition_ids))
        .subquery()
    )
    upcoming = numbered.c.starts_at >= now
    # Per edition: the first session still to come, else the last one held.
    ranked = select(
        numbered,
        func.row_number()
        .over(
            partition_by=numbered.c.edition_id,
            order_by=(
                upcoming.desc(),
                case((upcoming, numbered.c.number), else_=-numbered.c.number),
            ),
        )
        .label("pick"),
    ).subquery()
    rows = db.session.execute(
        select(
            ranked.c.edition_id,
            ranked.c.number,
            ranked.c.total,
            ranked.c.starts_at,
            ranked.c.location,
        ).where(ranked.c.pick == 1)
    )
    found: dict[uuid.UUID, SessionProgress] = {}
    for row in rows:
        starts_at: datetime = as_utc(row.starts_at)
        found[row.edition_id] = SessionProgress(
            int(row.number), int(row.total), starts_at, str(row.location), starts_at < now
        )
    return found
