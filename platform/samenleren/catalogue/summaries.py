"""What the catalogue pages show: editions with their numbers, participants, sessions with
attendance counts, and places on waiting lists, each in one query."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import aliased, contains_eager, joinedload, lazyload

from samenleren.catalogue.models import (
    Edition,
    EditionSession,
    Enrolment,
    EnrolmentStatus,
    SessionAttendance,
    Training,
)
from samenleren.core.extensions import db
from samenleren.core.formatting import local_today
from samenleren.identity.models import User


@dataclass
class EditionSummary:
    """An edition with its numbers, for the catalogue pages (one query for all editions)."""

    edition: Edition
    enrolled: int = 0
    applied: int = 0
    waitlisted: int = 0
    #: The viewer's own enrolment in it, if any.
    mine: Enrolment | None = None

    @property
    def places(self) -> int | None:
        return self.edition.places

    @property
    def places_left(self) -> int | None:
        if self.places is None:
            return None
        return max(self.places - self.enrolled, 0)

    @property
    def started(self) -> bool:
        return self.edition.starts_on <= local_today()

    @property
    def open_for_applications(self) -> bool:
        if self.edition.cancelled or self.started:
            return False
        deadline = self.edition.apply_until
        return deadline is None or local_today() <= deadline


def edition_summaries(viewer: User, *criteria: ColumnElement[bool]) -> list[EditionSummary]:
    """Editions matching `criteria` (with their training), counts per status and `viewer`'s own
    enrolment: a single query, whatever the number of editions and enrolments.
    """
    # Counted for the matching editions only, not for every edition of the tenant's history.
    matching = select(Edition.id).join(Edition.training).where(*criteria)
    counts = (
        select(
            Enrolment.edition_id,
            func.count(Enrolment.id)
            .filter(Enrolment.status == EnrolmentStatus.ENROLLED)
            .label("enrolled"),
            func.count(Enrolment.id)
            .filter(Enrolment.status == EnrolmentStatus.APPLIED)
            .label("applied"),
            func.count(Enrolment.id)
            .filter(Enrolment.status == EnrolmentStatus.WAITLISTED)
            .label("waitlisted"),
        )
        .where(Enrolment.edition_id.in_(matching))
        .group_by(Enrolment.edition_id)
        .subquery()
    )
    # A subquery's columns are untyped; these are counts, NULL for an edition without enrolments.
    enrolled: ColumnElement[int | None] = counts.c.enrolled
    applied: ColumnElement[int | None] = counts.c.applied
    waitlisted: ColumnElement[int | None] = counts.c.waitlisted
    mine = aliased(Enrolment)
    query = (
        select(Edition, enrolled, applied, waitlisted, mine)
        .join(Edition.training)
        .outerjoin(counts, counts.c.edition_id == Edition.id)
        .outerjoin(
            mine,
            and_(
                mine.tenant_id == Edition.tenant_id,
                mine.edition_id == Edition.id,
                mine.learner_id == viewer.id,
            ),
        )
        .options(contains_eager(Edition.training).lazyload(Training.departments))
        .where(*criteria)
        .order_by(Edition.starts_on, Edition.name, Edition.id)
    )
    return [
        EditionSummary(edition, n_enrolled or 0, n_applied or 0, n_waitlisted or 0, own)
        for edition, n_enrolled, n_applied, n_waitlisted, own in db.session.execute(query)
    ]


def first_editions(
    *criteria: ColumnElement[bool], per_training: int
) -> tuple[list[uuid.UUID], dict[uuid.UUID, int]]:
    """The first `per_training` editions of each training among those matching `criteria` (by
    start), and how many match per training: one query. For lists that show a few editions of
    every training, whatever the number a province plans."""
    ranked = (
        select(
            Edition.id,
            Edition.training_id,
            func.row_number()
            .over(
                partition_by=Edition.training_id,
                order_by=(Edition.starts_on, Edition.name, Edition.id),
            )
            .label("number"),
            func.count().over(partition_by=Edition.training_id).label("matching"),
        )
        .join(Edition.training)
        .where(*criteria)
        .subquery()
    )
    rows = db.session.execute(
        select(ranked.c.id, ranked.c.training_id, ranked.c.matching).where(
            ranked.c.number <= per_training
        )
    ).all()
    return [row.id for row in rows], {row.training_id: int(row.matching) for row in rows}


def participants(edition: Edition) -> list[tuple[Enrolment, uuid.UUID | None]]:
    """Every enrolment of the edition with its learner (and department) and trajectory id."""
    query = (
        select(Enrolment)
        .outerjoin(Enrolment.trajectory)
        .options(
            contains_eager(Enrolment.trajectory),
            joinedload(Enrolment.learner).options(
                lazyload(User.role_assignments), joinedload(User.department)
            ),
        )
        .where(Enrolment.edition_id == edition.id)
        .order_by(Enrolment.applied_at, Enrolment.id)
    )
    return [
        (enrolment, enrolment.trajectory.id if enrolment.trajectory is not None else None)
        for enrolment in db.session.scalars(query).unique()
    ]


def sessions_with_attendance(edition: Edition) -> list[tuple[EditionSession, int, int]]:
    """The sessions in time order, each with (recorded, present) counts: one query."""
    counts = (
        select(
            SessionAttendance.session_id,
            func.count(SessionAttendance.id).label("recorded"),
            func.count(SessionAttendance.id).filter(SessionAttendance.present).label("present"),
        )
        .group_by(SessionAttendance.session_id)
        .subquery()
    )
    recorded: ColumnElement[int | None] = counts.c.recorded
    present: ColumnElement[int | None] = counts.c.present
    query = (
        select(EditionSession, recorded, present)
        .outerjoin(counts, counts.c.session_id == EditionSession.id)
        .where(EditionSession.edition_id == edition.id)
        .order_by(EditionSession.starts_at, EditionSession.id)
    )
    return [
        (session, n_recorded or 0, n_present or 0)
        for session, n_recorded, n_present in db.session.execute(query)
    ]


def waiting_positions(learner: User, summaries: Sequence[EditionSummary]) -> dict[uuid.UUID, int]:
    """edition id -> the learner's place on its waiting list (1 = next to get a place).

    One query for all editions where the learner waits; none when they wait nowhere.
    """
    waiting = [
        s.edition.id
        for s in summaries
        if s.mine is not None and s.mine.status is EnrolmentStatus.WAITLISTED
    ]
    if not waiting:
        return {}
    mine, ahead = aliased(Enrolment), aliased(Enrolment)
    query = (
        select(mine.edition_id, func.count(ahead.id))
        .outerjoin(
            ahead,
            and_(
                ahead.tenant_id == mine.tenant_id,
                ahead.edition_id == mine.edition_id,
                ahead.status == EnrolmentStatus.WAITLISTED,
                or_(
                    ahead.applied_at < mine.applied_at,
                    and_(ahead.applied_at == mine.applied_at, ahead.id < mine.id),
                ),
            ),
        )
        .where(mine.learner_id == learner.id, mine.edition_id.in_(waiting))
        .group_by(mine.edition_id)
    )
    return {edition_id: count + 1 for edition_id, count in db.session.execute(query)}
