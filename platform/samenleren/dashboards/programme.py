"""The programme administrator's dashboard: the programme at a glance - trajectories per
status and per step, who has no coach, overdue steps, the coach pool's load and the organisation
goals with their attainment ratings (only as far as the templates let the admin read them)."""

from __future__ import annotations

import functools
import hashlib
import json
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from flask import current_app
from pydantic import TypeAdapter
from sqlalchemy import (
    and_,
    case,
    distinct,
    func,
    null,
    or_,
    select,
)
from sqlalchemy.orm import aliased

from samenleren.catalogue.models import (
    Edition,
    Training,
)
from samenleren.coaching.models import CoachProfile
from samenleren.core import changes
from samenleren.core.db import json_digit_at, uuid_text
from samenleren.core.extensions import db
from samenleren.core.formatting import local_today
from samenleren.core.tenancy import current_tenant_id, require_tenant
from samenleren.dashboards.first_steps import FirstStep, first_steps
from samenleren.dashboards.worklist import Worklist, read_worklist, shape, worklist_parts
from samenleren.identity.models import Role, User
from samenleren.insight.figures import Card, Goal, card
from samenleren.process_templates.definition import (
    StepSpec,
    TemplateDefinition,
)
from samenleren.process_templates.models import TemplateVersion
from samenleren.tenants.models import OrganisationGoal
from samenleren.trajectories.attainment import attainment_fields
from samenleren.trajectories.confidentiality import FieldRef, join_readable_values
from samenleren.trajectories.models import (
    FieldValue,
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
COACHES_SHOWN = 25


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
class CoachLoads:
    #: The fullest coaches first (at most `COACHES_SHOWN`).
    rows: list[CoachLoadRow]
    #: Coaches in the active pool, and inactive ones still coaching: the whole list.
    listed: int
    #: Of them, coaches in the active pool.
    active: int

    @property
    def more(self) -> int:
        return self.listed - len(self.rows)


@dataclass(frozen=True)
class Average:
    total: int = 0
    count: int = 0

    @property
    def value(self) -> float | None:
        return self.total / self.count if self.count else None


@dataclass(frozen=True)
class GoalRow:
    goal: Goal
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
    coach_loads: CoachLoads
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
    kept = _kept_figures(today, definitions, relations)
    goals, ratings_hidden = kept.goals, kept.ratings_hidden
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
            coaches=loads.active > 0,
            training=work.has_training,
        ),
        work=work,
        insight=kept.insight,
    )


@dataclass(frozen=True)
class KeptFigures:
    """The start page's figures that take PostgreSQL longest to count in a large province (the
    organisation goals' table over every learning goal and rating, the report's headline): kept
    until the programme's data changes, as the report's are (`insight.cache`)."""

    goals: list[GoalRow]
    ratings_hidden: bool
    insight: Card


WATCH = "programme-start"
#: Raised when what `KeptFigures` holds changes shape: older entries are then never read.
FORMAT = 1

# Writes that never change those figures. They read organisation goals, learning goals and
# their links, trajectories, their steps (which step, of which trajectory) and the rating
# fields' values, template versions, editions, enrolments, expected results and their ratings,
# and the budget; of users nothing an update changes.
changes.watch(
    WATCH,
    ignored_tables=frozenset(
        {
            "audit_events",
            "audit_verifications",
            "budget_category_names",
            "calendar_feeds",
            "client_keys",
            "coach_assignments",
            "coach_day_attendances",
            "coach_days",
            "coach_profiles",
            "departments",
            "edition_sessions",
            "exports",
            "group_meeting_attendances",
            "group_meetings",
            "insight_comparisons",
            "insight_mail_opt_outs",
            "insight_quarterly_mails",
            "insight_sharing",
            "legal_holds",
            "login_sessions",
            "notifications",
            "process_templates",
            "retention_departures",
            "retention_periods",
            "role_assignments",
            "scim_group_members",
            "scim_groups",
            "scim_tokens",
            "session_attendances",
            "sign_in_links",
            "training_departments",
            "trainings",
        }
    ),
    read_columns={
        "users": frozenset(),
        "step_instances": frozenset({"step_key", "trajectory_id"}),
    },
)


@functools.cache
def _adapter() -> TypeAdapter[KeptFigures]:
    return TypeAdapter(KeptFigures)


def _kept_figures(
    today: date, definitions: dict[uuid.UUID, TemplateDefinition], relations: frozenset[Role]
) -> KeptFigures:
    def count() -> KeptFigures:
        goals, hidden = _goal_table(definitions, relations)
        return KeptFigures(goals, hidden, card(today))

    entry = hashlib.sha256(
        json.dumps(
            [FORMAT, str(today), sorted(map(str, definitions)), sorted(r.value for r in relations)]
        ).encode()
    ).hexdigest()[:32]
    return changes.kept(
        WATCH,
        current_tenant_id(),
        entry,
        _adapter(),
        count,
        seconds=int(current_app.config.get("SAMENLEREN_INSIGHT_CACHE_SECONDS", 0)),
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


def _coach_loads() -> CoachLoads:
    """The coach pool's fullest coaches (active ones, and inactive ones still coaching), fullest
    first, and how many there are in all (one query)."""
    loads = (
        select(Trajectory.coach_id.label("coach_id"), func.count().label("load"))
        .where(Trajectory.status == TrajectoryStatus.ACTIVE, Trajectory.coach_id.is_not(None))
        .group_by(Trajectory.coach_id)
        .subquery("loads")
    )
    load = func.coalesce(loads.c.load, 0)
    share = case((CoachProfile.capacity > 0, load * 1.0 / CoachProfile.capacity), else_=load + 1.0)
    rows = db.session.execute(
        select(
            CoachProfile.id,
            User.name,
            load.label("load"),
            CoachProfile.capacity,
            CoachProfile.active,
            func.count().over().label("listed"),
            func.sum(case((CoachProfile.active, 1), else_=0)).over().label("active_coaches"),
        )
        .join(User, User.id == CoachProfile.user_id)
        .outerjoin(loads, loads.c.coach_id == CoachProfile.user_id)
        .where(or_(CoachProfile.active, load > 0))
        .order_by(share.desc(), User.name, CoachProfile.id)
        .limit(COACHES_SHOWN)
    ).all()
    return CoachLoads(
        rows=[
            CoachLoadRow(row.id, row.name, int(row.load), row.capacity, row.active) for row in rows
        ],
        listed=int(rows[0].listed) if rows else 0,
        active=int(rows[0].active_coaches or 0) if rows else 0,
    )


def _goal_table(
    definitions: dict[uuid.UUID, TemplateDefinition], relations: frozenset[Role]
) -> tuple[list[GoalRow], bool]:
    """Per organisation goal: learning goals linked, trajectories contributing and the average
    attainment by learner and manager (one query; withdrawn trajectories do not count).

    Counted in the database: a large province has tens of thousands of learning goals, each
    rated at the evaluation. The ratings come through `join_readable_values`, which only joins
    fields the admin may read.
    """
    who_rates: dict[FieldRef, Role] = {}
    for version_id, definition in definitions.items():
        who_rates.update(attainment_fields(version_id, definition))
    counted = and_(
        Trajectory.id == LearningGoal.trajectory_id,
        Trajectory.status != TrajectoryStatus.WITHDRAWN,
    )
    # A learning goal is linked to an organisation goal once: its links count the goals.
    counts = (
        select(
            LearningGoalLink.organisation_goal_id.label("goal_id"),
            func.count().label("learning_goals"),
            func.count(distinct(Trajectory.id)).label("trajectories"),
        )
        .join(LearningGoal, LearningGoal.id == LearningGoalLink.learning_goal_id)
        .join(Trajectory, counted)
        .group_by(LearningGoalLink.organisation_goal_id)
        .subquery("counts")
    )
    ratings = _ratings_per_goal(definitions, who_rates, relations, counted)
    readable = ratings is not None
    rated = (
        [
            ratings.c[f"{role.value}_{part}"]
            for role in (Role.LEARNER, Role.MANAGER)
            for part in ("total", "count")
        ]
        if ratings is not None
        else [null().label(f"{r}_{p}") for r in ("learner", "manager") for p in ("total", "count")]
    )
    per_goal = select(OrganisationGoal, counts.c.learning_goals, counts.c.trajectories, *rated)
    per_goal = per_goal.outerjoin(counts, counts.c.goal_id == OrganisationGoal.id)
    if ratings is not None:
        per_goal = per_goal.outerjoin(ratings, ratings.c.goal_id == OrganisationGoal.id)
    table = []
    for row in db.session.execute(
        per_goal.order_by(OrganisationGoal.position, OrganisationGoal.code)
    ):
        goal: OrganisationGoal = row.OrganisationGoal
        if not goal.active and not row.learning_goals:
            continue
        table.append(
            GoalRow(
                goal=Goal.of(goal),
                learning_goals=int(row.learning_goals or 0),
                trajectories=int(row.trajectories or 0),
                by_learner=Average(int(row.learner_total or 0), int(row.learner_count or 0)),
                by_manager=Average(int(row.manager_total or 0), int(row.manager_count or 0)),
            )
        )
    return table, bool(who_rates) and not readable


def _ratings_per_goal(
    definitions: dict[uuid.UUID, TemplateDefinition],
    who_rates: dict[FieldRef, Role],
    relations: frozenset[Role],
    counted,
):
    """Per organisation goal, the sum and number of attainment ratings (1-5) by learners and by
    managers, read from the rating fields the admin may read; None when they may read none.

    Starts from the recorded ratings (far fewer rows than learning goals), each a JSON object
    of ratings keyed by learning goal.
    """
    rows, readable = join_readable_values(
        select(
            LearningGoalLink.organisation_goal_id.label("goal_id"),
            LearningGoal.id.label("learning_goal_id"),
        )
        .select_from(LearningGoalLink)
        .join(LearningGoal, LearningGoal.id == LearningGoalLink.learning_goal_id)
        .join(Trajectory, counted),
        definitions,
        who_rates,
        relations,
    )
    if not readable:
        return None
    # Who gave a rating follows from where it is: (template version, step, field).
    rater = case(
        *(
            (
                and_(
                    Trajectory.template_version_id == ref.template_version_id,
                    StepInstance.step_key == ref.step_key,
                    FieldValue.field_key == ref.field_key,
                ),
                who_rates[ref].value,
            )
            for ref in readable
        ),
        else_=null(),
    )
    rating = json_digit_at(FieldValue.value, uuid_text(LearningGoal.id))
    values = (
        rows.add_columns(rater.label("rater"), rating.label("rating"))
        .where(FieldValue.id.is_not(None))
        .subquery("values")
    )

    def given(role: Role, value):
        return case((and_(values.c.rater == role.value, values.c.rating <= 5), value))

    return (
        select(
            values.c.goal_id,
            *(
                column
                for role in (Role.LEARNER, Role.MANAGER)
                for column in (
                    func.sum(given(role, values.c.rating)).label(f"{role.value}_total"),
                    func.count(given(role, 1)).label(f"{role.value}_count"),
                )
            ),
        )
        .group_by(values.c.goal_id)
        .subquery("ratings")
    )
