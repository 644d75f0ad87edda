"""The programme administrator's worklist: what waits for them, each with its action.

Besides the learners without a coach and the overdue steps (`dashboards.programme`), the list
holds the applications waiting for a decision, the conversations with answers for the programme
to read (completed in the last weeks), and the editions that start soon with fewer learners than
their minimum or that have more applications than places. One query, whatever the data size:
each part is limited, with its full count taken by a window function before the limit (and
whether any training exists, for the first steps, rides along).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Date,
    DateTime,
    Integer,
    String,
    Uuid,
    and_,
    case,
    func,
    literal,
    null,
    or_,
    select,
)
from sqlalchemy.orm import aliased

from samenleren.catalogue.models import (
    Edition,
    Enrolment,
    EnrolmentStatus,
    ManagerApproval,
    Training,
)
from samenleren.core.db import utcnow
from samenleren.identity.models import Role, User
from samenleren.process_templates.definition import StepKind, StepSpec, TemplateDefinition
from samenleren.trajectories.models import StepInstance, StepState, Trajectory, TrajectoryStatus

#: Each part of the worklist shows at most this many entries; the count next to it is complete.
SHOWN = 20
#: Completed conversations stay on the worklist this long.
READ_WITHIN = timedelta(days=30)
#: An edition below its minimum shows from this long before it starts.
MINIMUM_AHEAD = timedelta(days=42)


@dataclass(frozen=True)
class Application:
    enrolment_id: uuid.UUID
    edition_id: uuid.UUID
    learner: str
    training: str
    edition: str
    applied_at: datetime
    #: Waiting for the manager: "pending", or "discuss" (the manager wants to talk first).
    manager: str | None = None


@dataclass(frozen=True)
class ToRead:
    trajectory_id: uuid.UUID
    step_id: uuid.UUID
    learner: str
    training: str
    spec: StepSpec | None
    completed_at: datetime


@dataclass(frozen=True)
class EditionAlert:
    edition_id: uuid.UUID
    training: str
    edition: str
    starts_on: date
    enrolled: int
    waiting: int
    places: int | None
    minimum: int | None
    #: "below_minimum" or "over_capacity".
    kind: str


@dataclass
class Worklist:
    applications: list[Application] = field(default_factory=list)
    applications_total: int = 0
    #: Applications the edition's template has the manager approve first, not answered yet.
    with_manager: list[Application] = field(default_factory=list)
    with_manager_total: int = 0
    to_read: list[ToRead] = field(default_factory=list)
    to_read_total: int = 0
    editions: list[EditionAlert] = field(default_factory=list)
    editions_total: int = 0
    #: Whether the tenant has any training yet (for the first steps; asked in the same query).
    has_training: bool = False


def readable_conversations(definitions: dict[uuid.UUID, TemplateDefinition]) -> set[str]:
    """Keys of the conversation steps whose answers the programme administrator may read (in
    any template version in use): their completion is something to read. Confidential steps
    never count: nothing of them reaches the administrator."""
    keys = set()
    for definition in definitions.values():
        for spec in definition.steps:
            if spec.kind is not StepKind.CONVERSATION or spec.confidential:
                continue
            if any(Role.PROGRAMME_ADMIN in spec.readers_of(f) for f in spec.fields):
                keys.add(spec.key)
    return keys


#: The columns every part of the dashboard's list query has (`shape`), with their types.
COLUMNS: dict[str, Any] = {
    "item_id": Uuid,
    "other_id": Uuid,
    "person": String,
    "training": String,
    "edition": String,
    "step_key": String,
    "version_id": Uuid,
    "moment": DateTime(timezone=True),
    "day": Date,
    "due_on": Date,
    "occurrence": Integer,
    "enrolled": Integer,
    "waiting": Integer,
    "places": Integer,
    "minimum": Integer,
}
KINDS = ("application", "with_manager", "to_read", "edition", "any_training")


def shape(kind: str, **columns: Any) -> list[Any]:
    """The columns of one part of the list query, in the shared order: `kind` first, then
    `COLUMNS` (the ones not given are typed NULLs), then the part's full count (`total`), so
    that the parts of the dashboard go to the database as one UNION ALL."""
    values = [literal(kind, String).label("kind")]
    for name, kind_type in COLUMNS.items():
        value = columns.pop(name, None)
        values.append((null().cast(kind_type) if value is None else value).label(name))
    values.append(columns.pop("total", func.count().over()).label("total"))
    if columns:
        raise TypeError(f"unknown columns {sorted(columns)}")
    return values


def worklist_parts(today: date, definitions: dict[uuid.UUID, TemplateDefinition]) -> list[Any]:
    """The worklist's parts as selects of one shape (`shape`), for the dashboard's one query."""
    learner = aliased(User)

    waiting_for_manager = Enrolment.manager_approval.in_(
        [ManagerApproval.PENDING, ManagerApproval.DISCUSS]
    )

    def applications_part(kind: str, condition: Any) -> Any:
        return (
            select(
                *shape(
                    kind,
                    item_id=Enrolment.id,
                    other_id=Edition.id,
                    person=learner.name,
                    training=Training.title,
                    edition=Edition.name,
                    step_key=Enrolment.manager_approval,
                    moment=Enrolment.applied_at,
                )
            )
            .join(learner, learner.id == Enrolment.learner_id)
            .join(Edition, Edition.id == Enrolment.edition_id)
            .join(Training, Training.id == Edition.training_id)
            .where(Enrolment.status == EnrolmentStatus.APPLIED, condition)
            .order_by(Enrolment.applied_at, Enrolment.id)
            .limit(SHOWN)
            .subquery()
        )

    # Ready for a decision: no manager's approval asked, or given.
    applications = applications_part(
        "application", or_(Enrolment.manager_approval.is_(None), ~waiting_for_manager)
    )
    with_manager = applications_part("with_manager", waiting_for_manager)

    keys = sorted(readable_conversations(definitions))
    to_read = (
        select(
            *shape(
                "to_read",
                item_id=StepInstance.id,
                other_id=Trajectory.id,
                person=learner.name,
                training=Training.title,
                step_key=StepInstance.step_key,
                version_id=Trajectory.template_version_id,
                moment=StepInstance.completed_at,
            )
        )
        .join(Trajectory, Trajectory.id == StepInstance.trajectory_id)
        .join(learner, learner.id == Trajectory.learner_id)
        .join(Edition, Edition.id == Trajectory.edition_id)
        .join(Training, Training.id == Edition.training_id)
        .where(
            StepInstance.state == StepState.DONE,
            StepInstance.completed_at >= utcnow() - READ_WITHIN,
            StepInstance.step_key.in_(keys),
            Trajectory.status != TrajectoryStatus.WITHDRAWN,
        )
        .order_by(StepInstance.completed_at.desc(), StepInstance.id)
        .limit(SHOWN)
        .subquery()
    )

    def counted(status: EnrolmentStatus):
        return func.coalesce(func.sum(case((Enrolment.status == status, 1), else_=0)), 0)

    running = and_(Edition.cancelled.is_(False), Edition.ends_on >= today)
    counts = (
        select(
            Enrolment.edition_id.label("edition_id"),
            counted(EnrolmentStatus.ENROLLED).label("enrolled"),
            (counted(EnrolmentStatus.APPLIED) + counted(EnrolmentStatus.WAITLISTED)).label(
                "waiting"
            ),
        )
        .join(Edition, Edition.id == Enrolment.edition_id)
        .where(running)
        .group_by(Enrolment.edition_id)
        .subquery("counts")
    )
    enrolled = func.coalesce(counts.c.enrolled, 0)
    waiting = func.coalesce(counts.c.waiting, 0)
    places = func.coalesce(Edition.capacity, Training.capacity)
    below = and_(
        Edition.minimum.is_not(None),
        Edition.starts_on >= today,
        Edition.starts_on <= today + MINIMUM_AHEAD,
        enrolled < Edition.minimum,
    )
    over = and_(places.is_not(None), enrolled + waiting > places)
    editions = (
        select(
            *shape(
                "edition",
                item_id=Edition.id,
                training=Training.title,
                edition=Edition.name,
                step_key=case((below, literal("below_minimum")), else_=literal("over_capacity")),
                day=Edition.starts_on,
                enrolled=enrolled,
                waiting=waiting,
                places=places,
                minimum=Edition.minimum,
            )
        )
        .join(Training, Training.id == Edition.training_id)
        .outerjoin(counts, counts.c.edition_id == Edition.id)
        .where(running, or_(below, over))
        .order_by(Edition.starts_on, Edition.id)
        .limit(SHOWN)
        .subquery()
    )

    any_training = select(
        *shape(
            "any_training",
            enrolled=select(func.count())
            .select_from(select(Training.id).limit(1).subquery())
            .scalar_subquery(),
            total=literal(1, Integer),
        )
    )
    return [
        select(applications),
        select(with_manager),
        select(to_read),
        select(editions),
        any_training,
    ]


def read_worklist(rows: Any, definitions: dict[uuid.UUID, TemplateDefinition]) -> Worklist:
    """The worklist from the rows of its parts (rows of other kinds are passed over)."""
    result = Worklist()
    for row in rows:
        if row.kind not in KINDS:
            continue
        if row.kind == "any_training":
            result.has_training = bool(row.enrolled)
        elif row.kind == "application":
            result.applications_total = row.total
            result.applications.append(
                Application(
                    row.item_id, row.other_id, row.person, row.training, row.edition, row.moment
                )
            )
        elif row.kind == "with_manager":
            result.with_manager_total = row.total
            result.with_manager.append(
                Application(
                    row.item_id,
                    row.other_id,
                    row.person,
                    row.training,
                    row.edition,
                    row.moment,
                    row.step_key,
                )
            )
        elif row.kind == "to_read":
            result.to_read_total = row.total
            definition = definitions.get(row.version_id)
            spec = definition.step(row.step_key) if definition is not None else None
            result.to_read.append(
                ToRead(row.other_id, row.item_id, row.person, row.training, spec, row.moment)
            )
        else:
            result.editions_total = row.total
            result.editions.append(
                EditionAlert(
                    row.item_id,
                    row.training,
                    row.edition,
                    row.day,
                    int(row.enrolled),
                    int(row.waiting),
                    row.places,
                    row.minimum,
                    row.step_key,
                )
            )
    result.applications.sort(key=lambda a: a.applied_at)
    result.with_manager.sort(key=lambda a: a.applied_at)
    result.to_read.sort(key=lambda r: r.completed_at, reverse=True)
    result.editions.sort(key=lambda e: e.starts_on)
    return result
