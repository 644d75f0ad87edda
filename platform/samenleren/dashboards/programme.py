"""The programme administrator's dashboard: the programme at a glance - trajectories per
status and per step, who has no coach, overdue steps, the coach pool's load and the organisation
goals with their attainment ratings (only as far as the templates let the admin read them)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from sqlalchemy import (
    and_,
    case,
    func,
    select,
)
from sqlalchemy.orm import aliased

from samenleren.catalogue.models import (
    Edition,
    Training,
)
from samenleren.coaching.matching import coach_loads
from samenleren.core.extensions import db
from samenleren.core.formatting import local_today
from samenleren.core.tenancy import require_tenant
from samenleren.dashboards.first_steps import FirstStep, first_steps
from samenleren.dashboards.worklist import Worklist, read_worklist, shape, worklist_parts
from samenleren.identity.models import Role, User
from samenleren.insight.figures import Card, card
from samenleren.process_templates.definition import (
    StepSpec,
    TemplateDefinition,
)
from samenleren.process_templates.models import TemplateVersion
from samenleren.tenants.models import OrganisationGoal
from samenleren.trajectories.attainment import attainment_fields
from samenleren.trajectories.confidentiality import FieldRef, join_readable_values
from samenleren.trajectories.models import (
    LearningGoal,
    LearningGoalLink,
    StepInstance,
    StepState,
    Trajectory,
    TrajectoryStatus,
)

OPEN_STATES = (StepState.PLANNED, StepState.SCHEDULED)
#: The programme admin's lists stay short; the counts next to them are complete.
OVERDUE_SHOWN = 20
WITHOUT_COACH_SHOWN = 50


@dataclass(frozen=True)
class StepCount:
    spec: StepSpec
    trajectories: int


@dataclass(frozen=True)
class Attention:
    """A trajectory that needs the programme's attention: no coach, or a step overdue."""

    trajectory_id: uuid.UUID
    learner: str
    training: str
    starts_on: date
    #: For an overdue step: the step, its spec and its due date.
    step_id: uuid.UUID | None = None
    spec: StepSpec | None = None
    occurrence: int = 1
    due_on: date | None = None


@dataclass(frozen=True)
class CoachLoadRow:
    profile_id: uuid.UUID
    name: str
    load: int
    capacity: int
    active: bool

    @property
    def full(self) -> bool:
        return self.load >= self.capacity


@dataclass(frozen=True)
class Average:
    total: int = 0
    count: int = 0

    @property
    def value(self) -> float | None:
        return self.total / self.count if self.count else None


@dataclass(frozen=True)
class GoalRow:
    goal: OrganisationGoal
    learning_goals: int
    trajectories: int
    #: Average goal attainment at evaluation (1-5) as rated by the learner / by the manager.
    by_learner: Average
    by_manager: Average


@dataclass(frozen=True)
class ProgrammeDashboard:
    counts: dict[TrajectoryStatus, int]
    per_step: list[StepCount]
    without_coach: list[Attention]
    without_coach_total: int
    overdue: list[Attention]
    overdue_total: int
    coach_loads: list[CoachLoadRow]
    goals: list[GoalRow]
    #: The templates ask for goal-attainment ratings but do not let the admin read them.
    ratings_hidden: bool
    #: A new tenant's checklist (dashboards.first_steps); empty once everything is done.
    first_steps: list[FirstStep]
    #: Applications, conversations to read and editions to look at (dashboards.worklist).
    work: Worklist
    #: The programme report's headline (transfer, budget used), computed by insight.
    insight: Card


def programme_dashboard(user: User, today: date | None = None) -> ProgrammeDashboard:
    """The programme at a glance, with the worklist, a new tenant's first steps and the
    report's headline (7 queries, whatever the number of trajectories)."""
    today = today or local_today()
    relations = frozenset({Role.PROGRAMME_ADMIN})
    counts, per_position, without_coach_total, overdue_total, definitions = _overview(today)
    per_step = _per_step(per_position, definitions)
    without_coach, overdue, work = _attention(today, definitions)
    goals, ratings_hidden = _goal_table(definitions, relations)
    loads = _coach_loads()
    return ProgrammeDashboard(
        counts=counts,
        per_step=per_step,
        without_coach=without_coach,
        without_coach_total=without_coach_total,
        overdue=overdue,
        overdue_total=overdue_total,
        coach_loads=loads,
        goals=goals,
        ratings_hidden=ratings_hidden,
        first_steps=first_steps(
            require_tenant(),
            goals=any(row.goal.active for row in goals),
            coaches=any(row.active for row in loads),
            training=work.has_training,
        ),
        work=work,
        insight=card(today),
    )


def _overview(today: date):
    """Counts per status, active trajectories per first open step, the totals without a coach
    and of overdue steps, and the template versions in use: one query.

    Rows are grouped per (template version, first open step); the version's definition is
    joined on the first row of each version only, so it crosses the wire once.
    """
    open_steps = (
        select(
            StepInstance.trajectory_id.label("trajectory_id"),
            func.min(StepInstance.position).label("position"),
            func.sum(case((StepInstance.due_on < today, 1), else_=0)).label("overdue"),
        )
        .where(StepInstance.state.in_(OPEN_STATES))
        .group_by(StepInstance.trajectory_id)
        .subquery("open_steps")
    )
    active = Trajectory.status == TrajectoryStatus.ACTIVE
    # A restricted trajectory is frozen (`privacy`): nobody can give it a coach or move its
    # steps, so it is not counted as work waiting.
    processed = and_(active, Trajectory.restricted_at.is_(None))

    def total(condition, value=1):
        return func.coalesce(func.sum(case((condition, value), else_=0)), 0)

    groups = (
        select(
            Trajectory.template_version_id.label("version_id"),
            open_steps.c.position.label("position"),
            total(active).label("active"),
            total(Trajectory.status == TrajectoryStatus.COMPLETED).label("completed"),
            total(Trajectory.status == TrajectoryStatus.WITHDRAWN).label("withdrawn"),
            total(and_(processed, Trajectory.coach_id.is_(None))).label("without_coach"),
            total(and_(processed, open_steps.c.overdue.is_not(None)), open_steps.c.overdue).label(
                "overdue"
            ),
            func.row_number()
            .over(
                partition_by=Trajectory.template_version_id,
                order_by=open_steps.c.position,
            )
            .label("row"),
        )
        .outerjoin(open_steps, open_steps.c.trajectory_id == Trajectory.id)
        .group_by(Trajectory.template_version_id, open_steps.c.position)
        .subquery("groups")
    )
    rows = db.session.execute(
        select(groups, TemplateVersion).outerjoin(
            TemplateVersion,
            and_(TemplateVersion.id == groups.c.version_id, groups.c.row == 1),
        )
    ).all()
    counts = dict.fromkeys(TrajectoryStatus, 0)
    per_position: dict[tuple[uuid.UUID, int], int] = {}
    definitions: dict[uuid.UUID, TemplateDefinition] = {}
    without_coach = overdue = 0
    for row in rows:
        counts[TrajectoryStatus.ACTIVE] += int(row.active)
        counts[TrajectoryStatus.COMPLETED] += int(row.completed)
        counts[TrajectoryStatus.WITHDRAWN] += int(row.withdrawn)
        without_coach += int(row.without_coach)
        overdue += int(row.overdue)
        if row.position is not None and row.active:
            per_position[(row.version_id, row.position)] = int(row.active)
        if row.TemplateVersion is not None:
            definitions[row.version_id] = row.TemplateVersion.content
    return counts, per_position, without_coach, overdue, definitions


def _per_step(
    per_position: dict[tuple[uuid.UUID, int], int],
    definitions: dict[uuid.UUID, TemplateDefinition],
) -> list[StepCount]:
    """Counts per step key across template versions, named and ordered as in the version with
    the most trajectories there."""
    totals: dict[str, int] = defaultdict(int)
    specs: dict[str, tuple[int, int, StepSpec]] = {}
    for (version_id, position), number in per_position.items():
        definition = definitions.get(version_id)
        if definition is None or not 0 <= position < len(definition.steps):
            continue
        spec = definition.steps[position]
        totals[spec.key] += number
        if spec.key not in specs or number > specs[spec.key][1]:
            specs[spec.key] = (position, number, spec)
    ordered = sorted(specs.items(), key=lambda item: item[1][0])
    return [StepCount(spec, totals[key]) for key, (_, _, spec) in ordered]


def _attention(
    today: date, definitions: dict[uuid.UUID, TemplateDefinition]
) -> tuple[list[Attention], list[Attention], Worklist]:
    """The first learners without a coach, the oldest overdue steps and the worklist
    (`dashboards.worklist`): one query, its parts of one shape."""
    learner = aliased(User)
    # Restricted trajectories are frozen: not listed as waiting for a coach or overdue.
    active = and_(Trajectory.status == TrajectoryStatus.ACTIVE, Trajectory.restricted_at.is_(None))

    def base(kind: str, **columns):
        return (
            select(
                *shape(
                    kind,
                    other_id=Trajectory.id,
                    version_id=Trajectory.template_version_id,
                    person=learner.name,
                    training=Training.title,
                    day=Edition.starts_on,
                    **columns,
                )
            )
            .join(learner, learner.id == Trajectory.learner_id)
            .join(Edition, Edition.id == Trajectory.edition_id)
            .join(Training, Training.id == Edition.training_id)
        )

    without_coach = (
        base("without_coach")
        .where(active, Trajectory.coach_id.is_(None))
        .order_by(Edition.starts_on, learner.name, Trajectory.id)
        .limit(WITHOUT_COACH_SHOWN)
        .subquery()
    )
    overdue = (
        base(
            "overdue",
            item_id=StepInstance.id,
            step_key=StepInstance.step_key,
            occurrence=StepInstance.occurrence,
            due_on=StepInstance.due_on,
        )
        .join(StepInstance, StepInstance.trajectory_id == Trajectory.id)
        .where(active, StepInstance.state.in_(OPEN_STATES), StepInstance.due_on < today)
        .order_by(StepInstance.due_on, learner.name, StepInstance.id)
        .limit(OVERDUE_SHOWN)
        .subquery()
    )
    rows = db.session.execute(
        select(without_coach).union_all(select(overdue), *worklist_parts(today, definitions))
    ).all()
    lists: dict[str, list[Attention]] = {"without_coach": [], "overdue": []}
    for row in rows:
        if row.kind not in lists:
            continue
        definition = definitions.get(row.version_id)
        spec = definition.step(row.step_key) if definition and row.step_key else None
        lists[row.kind].append(
            Attention(
                trajectory_id=row.other_id,
                learner=row.person,
                training=row.training,
                starts_on=row.day,
                step_id=row.item_id,
                spec=spec,
                occurrence=row.occurrence or 1,
                due_on=row.due_on,
            )
        )
    lists["without_coach"].sort(key=lambda a: (a.starts_on, a.learner))
    lists["overdue"].sort(key=lambda a: (a.due_on, a.learner))
    return lists["without_coach"], lists["overdue"], read_worklist(rows, definitions)


def _coach_loads() -> list[CoachLoadRow]:
    """The coach pool's load for the overview: active coaches, and inactive ones still coaching."""
    return [
        CoachLoadRow(c.profile.id, c.user.name, c.load, c.capacity, c.profile.active)
        for c in coach_loads()
        if c.profile.active or c.load
    ]


def _goal_table(
    definitions: dict[uuid.UUID, TemplateDefinition], relations: frozenset[Role]
) -> tuple[list[GoalRow], bool]:
    """Per organisation goal: learning goals linked, trajectories contributing and the average
    attainment by learner and manager (one query; withdrawn trajectories do not count).

    The ratings come through `join_readable_values`, which only joins fields the admin may read.
    """
    who_rates: dict[FieldRef, Role] = {}
    for version_id, definition in definitions.items():
        who_rates.update(attainment_fields(version_id, definition))
    query = (
        select(
            OrganisationGoal,
            LearningGoal.id.label("learning_goal_id"),
            Trajectory.id.label("trajectory_id"),
            Trajectory.template_version_id.label("version_id"),
        )
        .outerjoin(LearningGoalLink, LearningGoalLink.organisation_goal_id == OrganisationGoal.id)
        .outerjoin(LearningGoal, LearningGoal.id == LearningGoalLink.learning_goal_id)
        .outerjoin(
            Trajectory,
            and_(
                Trajectory.id == LearningGoal.trajectory_id,
                Trajectory.status != TrajectoryStatus.WITHDRAWN,
            ),
        )
        .order_by(OrganisationGoal.position, OrganisationGoal.code)
    )
    query, readable = join_readable_values(query, definitions, who_rates, relations)
    goals: dict[uuid.UUID, OrganisationGoal] = {}
    learning_goals: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
    trajectories: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
    ratings: dict[tuple[uuid.UUID, Role], dict[tuple, int]] = defaultdict(dict)
    for row in db.session.execute(query):
        goal = row.OrganisationGoal
        goals.setdefault(goal.id, goal)
        if row.trajectory_id is None:
            continue  # no link, or only links of withdrawn trajectories
        learning_goals[goal.id].add(row.learning_goal_id)
        trajectories[goal.id].add(row.trajectory_id)
        if row.value_field is None:
            continue
        who = who_rates.get(FieldRef(row.version_id, row.value_step_key, row.value_field))
        rating = row.value.get(str(row.learning_goal_id)) if isinstance(row.value, dict) else None
        if who is not None and isinstance(rating, int) and 1 <= rating <= 5:
            ratings[(goal.id, who)][(row.learning_goal_id, row.value_step_id)] = rating
    table = []
    for goal in goals.values():
        if not goal.active and not learning_goals[goal.id]:
            continue

        def average(role: Role, goal_id=goal.id) -> Average:
            given = ratings[(goal_id, role)].values()
            return Average(sum(given), len(given))

        table.append(
            GoalRow(
                goal=goal,
                learning_goals=len(learning_goals[goal.id]),
                trajectories=len(trajectories[goal.id]),
                by_learner=average(Role.LEARNER),
                by_manager=average(Role.MANAGER),
            )
        )
    return table, bool(who_rates) and not readable
