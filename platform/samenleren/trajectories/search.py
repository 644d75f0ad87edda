"""Finding trajectories: `/<tenant>/trajectories/`, searchable, filtered and a page at a time.

The programme administrator sees every trajectory; a manager those of the people who report to
them; anyone else has no such page. A row names the learner, department, training, edition,
status and coach: nothing that was recorded in a step, so nothing confidential. Three queries:
the page of rows, the filters' choices (one UNION ALL) and the organisation goals.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import String, and_, exists, literal, select
from sqlalchemy.orm import aliased

from samenleren.catalogue.models import Edition, Training
from samenleren.core.extensions import db
from samenleren.identity.directory import clean_query, parse_page, parse_uuid
from samenleren.identity.models import Department, Role, RoleAssignment, User
from samenleren.tenants.models import OrganisationGoal
from samenleren.trajectories.models import (
    LearningGoal,
    LearningGoalLink,
    Trajectory,
    TrajectoryStatus,
)

PAGE_SIZE = 50


@dataclass(frozen=True)
class TrajectoryFilter:
    q: str = ""
    learner_id: uuid.UUID | None = None
    training_id: uuid.UUID | None = None
    edition_id: uuid.UUID | None = None
    status: TrajectoryStatus | None = None
    department_id: uuid.UUID | None = None
    coach_id: uuid.UUID | None = None
    goal_id: uuid.UUID | None = None
    page: int = 1


@dataclass(frozen=True)
class TrajectoryRow:
    id: uuid.UUID
    learner: str
    department: str | None
    training: str
    edition: str
    starts_on: date
    status: TrajectoryStatus
    coach: str | None
    #: Restricted from further processing since then (shown as restricted), or None.
    restricted_at: datetime | None = None


@dataclass
class TrajectoryPage:
    rows: list[TrajectoryRow] = field(default_factory=list)
    page: int = 1
    has_next: bool = False


@dataclass
class Choices:
    """What the filters offer: (id, label) per filter."""

    trainings: list[tuple[uuid.UUID, str]] = field(default_factory=list)
    editions: list[tuple[uuid.UUID, str]] = field(default_factory=list)
    departments: list[tuple[uuid.UUID, str]] = field(default_factory=list)
    coaches: list[tuple[uuid.UUID, str]] = field(default_factory=list)
    goals: list[OrganisationGoal] = field(default_factory=list)


def trajectory_filter(args: Mapping[str, str]) -> TrajectoryFilter:
    """The filter from a GET query; values that are not what they should be are left out."""
    status = args.get("status") or ""
    return TrajectoryFilter(
        q=clean_query(args.get("q")),
        learner_id=parse_uuid(args.get("learner")),
        training_id=parse_uuid(args.get("training")),
        edition_id=parse_uuid(args.get("edition")),
        status=TrajectoryStatus(status) if status in {s.value for s in TrajectoryStatus} else None,
        department_id=parse_uuid(args.get("department")),
        coach_id=parse_uuid(args.get("coach")),
        goal_id=parse_uuid(args.get("goal")),
        page=parse_page(args.get("page")),
    )


def may_search(viewer: User) -> bool:
    return viewer.has_role(Role.PROGRAMME_ADMIN) or viewer.has_role(Role.MANAGER)


def search_trajectories(viewer: User, chosen: TrajectoryFilter) -> TrajectoryPage:
    """A page of the trajectories `viewer` may list (one query)."""
    learner = aliased(User)
    coach = aliased(User)
    query = (
        select(
            Trajectory.id,
            learner.name.label("learner"),
            Department.name.label("department"),
            Training.title.label("training"),
            Edition.name.label("edition"),
            Edition.starts_on,
            Trajectory.status,
            Trajectory.restricted_at,
            coach.name.label("coach"),
        )
        .join(learner, learner.id == Trajectory.learner_id)
        .outerjoin(Department, Department.id == learner.department_id)
        .join(Edition, Edition.id == Trajectory.edition_id)
        .join(Training, Training.id == Edition.training_id)
        .outerjoin(
            coach, and_(coach.tenant_id == Trajectory.tenant_id, coach.id == Trajectory.coach_id)
        )
        .order_by(Edition.starts_on.desc(), learner.name, Trajectory.id)
        .limit(PAGE_SIZE + 1)
        .offset((chosen.page - 1) * PAGE_SIZE)
    )
    if not viewer.has_role(Role.PROGRAMME_ADMIN):
        query = query.where(learner.manager_id == viewer.id)
    for word in chosen.q.split():
        query = query.where(learner.name.icontains(word, autoescape=True))
    if chosen.learner_id is not None:
        query = query.where(Trajectory.learner_id == chosen.learner_id)
    if chosen.training_id is not None:
        query = query.where(Edition.training_id == chosen.training_id)
    if chosen.edition_id is not None:
        query = query.where(Trajectory.edition_id == chosen.edition_id)
    if chosen.status is not None:
        query = query.where(Trajectory.status == chosen.status)
    if chosen.department_id is not None:
        query = query.where(learner.department_id == chosen.department_id)
    if chosen.coach_id is not None:
        query = query.where(Trajectory.coach_id == chosen.coach_id)
    if chosen.goal_id is not None:
        query = query.where(
            exists().where(
                LearningGoal.trajectory_id == Trajectory.id,
                LearningGoalLink.learning_goal_id == LearningGoal.id,
                LearningGoalLink.organisation_goal_id == chosen.goal_id,
            )
        )
    rows = db.session.execute(query).all()
    return TrajectoryPage(
        [
            TrajectoryRow(
                row.id,
                row.learner,
                row.department,
                row.training,
                row.edition,
                row.starts_on,
                row.status,
                row.coach,
                row.restricted_at,
            )
            for row in rows[:PAGE_SIZE]
        ],
        chosen.page,
        len(rows) > PAGE_SIZE,
    )


def filter_choices() -> Choices:
    """The choices of every filter: trainings, editions (with their training), departments and
    the people with the coach role in one query; the organisation goals in a second."""
    coach_user = aliased(User)

    def part(kind: str, id_column, label, order):
        return select(
            literal(kind, String).label("kind"),
            id_column.label("id"),
            label.label("label"),
            order.label("sort"),
        )

    edition_label = Training.title + literal(", ") + Edition.name
    parts = [
        part("training", Training.id, Training.title, Training.title),
        part("edition", Edition.id, edition_label, edition_label).join(
            Training, Training.id == Edition.training_id
        ),
        part("department", Department.id, Department.name, Department.name),
        part("coach", coach_user.id, coach_user.name, coach_user.name).where(
            exists().where(
                RoleAssignment.tenant_id == coach_user.tenant_id,
                RoleAssignment.user_id == coach_user.id,
                RoleAssignment.role == Role.COACH,
            )
        ),
    ]
    union = parts[0].union_all(*parts[1:]).subquery()
    rows = db.session.execute(select(union).order_by(union.c.kind, union.c.sort)).all()
    choices = Choices()
    for row in rows:
        lists = {
            "training": choices.trainings,
            "edition": choices.editions,
            "department": choices.departments,
            "coach": choices.coaches,
        }
        lists[row.kind].append((row.id, row.label))
    # Their titles are per language (JSON), so not in the union: a second query.
    choices.goals = list(
        db.session.scalars(
            select(OrganisationGoal)
            .where(OrganisationGoal.active.is_(True))
            .order_by(OrganisationGoal.position, OrganisationGoal.code)
        )
    )
    return choices
