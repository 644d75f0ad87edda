"""The programme's figures for a scope (`insight.scope`): did the training pay off?

Read-only, in a fixed number of queries whatever the size of the programme (one per source:
template versions, trajectories with whether their intake, evaluation and return-day steps
are done, expected results with their ratings, learning-goal links, group-meeting attendance
and coach days (counted in SQL), organisation goals, the trend), then counted here. Nothing
a person wrote is ever selected: not what an expected result says, not a rating's example,
no field value at all. Coaching notes are not read by this module.

Definitions used throughout:

* a trajectory is in the scope when its edition ended in the period (`insight.scope`);
  withdrawn trajectories count only in the funnel (as drop-out);
* **transfer rate**: of the expected results a rater (learner, manager) rated at the moment
  "three months" (whichever step of whichever template version asked), the share rated
  *applied in the work* or *exceeded*; **disagreement**: of the results both rated then, the
  share where one says transfer and the other does not;
* **small groups**: a figure about fewer than 5 learners is `hidden` ("fewer than 5") in
  every group below the whole tenant: rows per goal, training or trainer, a filtered report
  and a manager's team.
"""

from __future__ import annotations

import gc
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import case, distinct, extract, func, literal, select
from sqlalchemy.orm import aliased

from samenleren.budget.ledger import BudgetUse, budget_use_columns, read_budget_use
from samenleren.catalogue.models import Edition, Training
from samenleren.coaching.models import CoachDay, CoachDayAttendance
from samenleren.core.extensions import db
from samenleren.identity.models import User
from samenleren.insight.costs import Costs, programme_costs
from samenleren.insight.scope import Period, Scope
from samenleren.process_templates.definition import (
    FieldType,
    RatingMoment,
    TemplateDefinition,
)
from samenleren.process_templates.models import TemplateVersion
from samenleren.tenants.models import OrganisationGoal
from samenleren.trajectories.models import (
    ExpectedResult,
    GroupMeeting,
    GroupMeetingAttendance,
    LearningGoal,
    LearningGoalLink,
    ResultLevel,
    ResultRating,
    StepInstance,
    StepState,
    Trajectory,
    TrajectoryStatus,
)

#: Fewer learners than this behind a figure below the whole tenant: shown as "fewer than 5".
MIN_GROUP = 5
TRANSFER_MOMENT = RatingMoment.THREE_MONTHS
TREND_YEARS = 5
LEARNER, MANAGER = "learner", "manager"


@dataclass(frozen=True)
class Share:
    """`part` of `whole`, about `learners` distinct learners; `hidden` in a small group."""

    part: int = 0
    whole: int = 0
    learners: int = 0
    hidden: bool = False

    @property
    def ratio(self) -> float | None:
        return None if self.hidden or not self.whole else self.part / self.whole

    @property
    def percent(self) -> int | None:
        """Whole per cent, halves rounded up (5 of 8 is 63 %)."""
        if self.hidden or not self.whole:
            return None
        return (self.part * 200 + self.whole) // (self.whole * 2)


@dataclass(frozen=True)
class Count:
    value: int = 0
    learners: int = 0
    hidden: bool = False

    @property
    def shown(self) -> int | None:
        return None if self.hidden else self.value


@dataclass(frozen=True)
class Transfer:
    by_learner: Share
    by_manager: Share
    disagreement: Share


@dataclass(frozen=True)
class TransferRow:
    """Transfer within one group (a training, a trainer)."""

    key: str
    label: str
    trajectories: Count
    transfer: Transfer


@dataclass(frozen=True)
class GoalRow:
    goal: OrganisationGoal
    trajectories: Count
    expected_results: Count
    transfer: Transfer


@dataclass(frozen=True)
class Involvement:
    #: Intakes held (the expected-results step done) where the manager set the results.
    intakes_by_manager: Share
    #: Evaluations held where the manager rated the expected results.
    evaluations_rated_by_manager: Share
    #: Expected results with a contribution the manager promised, and those the manager
    #: reported done (at any later moment).
    contributions_done: Share


@dataclass(frozen=True)
class Together:
    return_day_attendance: Share
    coaches: int
    #: Trajectories per coach in the scope: the average (rounded to one decimal) and the most.
    average_load: float | None
    highest_load: int | None
    coach_day_attendance: Share
    hidden: bool = False


@dataclass(frozen=True)
class Stage:
    key: str
    count: Count


@dataclass(frozen=True)
class TrendRow:
    year: int
    by_learner: Share
    by_manager: Share


@dataclass(frozen=True)
class Figures:
    scope: Scope
    trajectories: Count
    learners: Count
    completed: Share
    withdrawn: Share
    transfer: Transfer
    goals: list[GoalRow]
    goals_without_training: list[OrganisationGoal]
    trainings: list[TransferRow]
    trainers: list[TransferRow]
    involvement: Involvement
    together: Together
    funnel: list[Stage]
    trend: list[TrendRow]
    #: The tenant's templates ask for no expected results at all (nothing to measure yet).
    unmeasured: bool = field(default=False)
    #: What the programme cost (`insight.costs`); None in a manager's team view, which is
    #: about their team, not the programme's budget.
    costs: Costs | None = None


# --- the numbers ------------------------------------------------------------------------------


class _Group:
    """Counts for one group of trajectories, with the learners behind each."""

    def __init__(self, below_tenant: bool):
        self.below_tenant = below_tenant

    def hidden(self, learners: set) -> bool:
        """Below the tenant, a figure about 1 to 4 learners is not shown (about none: 0)."""
        return self.below_tenant and 0 < len(learners) < MIN_GROUP

    def share(self, parts: Iterable[tuple[bool, uuid.UUID]]) -> Share:
        """A share from (counts-as-part, learner) pairs."""
        items = list(parts)
        learners = {learner for _, learner in items}
        return Share(
            part=sum(1 for hit, _ in items if hit),
            whole=len(items),
            learners=len(learners),
            hidden=self.hidden(learners),
        )

    def count(self, learners: Iterable[uuid.UUID], value: int | None = None) -> Count:
        people = set(learners)
        return Count(
            value=len(people) if value is None else value,
            learners=len(people),
            hidden=self.hidden(people),
        )


@dataclass
class _Trajectory:
    id: uuid.UUID
    status: TrajectoryStatus
    learner: uuid.UUID
    manager: uuid.UUID | None
    coach: uuid.UUID | None
    version: uuid.UUID
    edition: uuid.UUID
    training: uuid.UUID
    training_title: str
    trainer: uuid.UUID | None
    trainer_name: str
    #: The step that sets the expected results, the evaluation's, the return day's: done.
    intake_done: bool = False
    evaluation_done: bool = False
    return_done: bool = False
    goals: set[uuid.UUID] = field(default_factory=set)
    has_learning_goals: bool = False
    results: dict[uuid.UUID, _Result] = field(default_factory=dict)

    @property
    def counts(self) -> bool:
        return self.status is not TrajectoryStatus.WITHDRAWN


@dataclass
class _Result:
    learning_goal: uuid.UUID
    promised: bool
    by_manager: bool
    #: {(moment, rater role): level}
    levels: dict[tuple[str, str], ResultLevel] = field(default_factory=dict)
    contribution_done: bool = False
    goals: set[uuid.UUID] = field(default_factory=set)


def _in_scope(scope: Scope):
    """The ids of the trajectories in the scope, as a subquery."""
    query = (
        select(Trajectory.id)
        .join(Edition, Edition.id == Trajectory.edition_id)
        .join(Training, Training.id == Edition.training_id)
        .where(Edition.ends_on.between(scope.period.starts_on, scope.period.ends_on))
    )
    return _filtered(_with_learner(query, scope), scope)


def _with_learner(query, scope: Scope):
    """Join the learner (`User`) only when a filter is about them: this subquery is part of
    most of the report's queries, and the join reads all the tenant's users."""
    if scope.department is None and scope.manager is None:
        return query
    return query.join(User, User.id == Trajectory.learner_id)


def _filtered(query, scope: Scope):
    if scope.training is not None:
        query = query.where(Edition.training_id == scope.training)
    if scope.edition is not None:
        query = query.where(Edition.id == scope.edition)
    if scope.trainer is not None:
        query = query.where(Edition.trainer_id == scope.trainer)
    if scope.provider is not None:
        query = query.where(Training.provider == scope.provider)
    if scope.department is not None:
        query = query.where(User.department_id == scope.department)
    if scope.manager is not None:
        query = query.where(User.manager_id == scope.manager)
    if scope.goal is not None:
        linked = (
            select(LearningGoal.trajectory_id)
            .join(LearningGoalLink, LearningGoalLink.learning_goal_id == LearningGoal.id)
            .where(LearningGoalLink.organisation_goal_id == scope.goal)
        )
        query = query.where(Trajectory.id.in_(linked))
    return query


def _steps_done(ids, sets, moments):
    """Per trajectory in `ids` with any: whether the step that sets the expected results, the
    evaluation's step and the return day's step of its template version are done (1 or 0; a
    repeating step once one occurrence is), as a subquery to join: a few flags per trajectory
    instead of every step's row."""
    follows = aliased(Trajectory)

    def done(steps: dict[uuid.UUID, str]):
        if not steps:
            return literal(0)
        asked = case(steps, value=follows.template_version_id)
        return func.max(case((StepInstance.step_key == asked, 1), else_=0))

    asked = sorted(set(sets.values()) | set(moments.values()))
    return (
        select(
            StepInstance.trajectory_id,
            done(sets).label("intake"),
            done(_moment_steps(moments, RatingMoment.EVALUATION)).label("evaluation"),
            done(_moment_steps(moments, TRANSFER_MOMENT)).label("return_day"),
        )
        .join(follows, follows.id == StepInstance.trajectory_id)
        .where(
            StepInstance.trajectory_id.in_(ids),
            StepInstance.state == StepState.DONE,
            StepInstance.step_key.in_(asked),
        )
        .group_by(StepInstance.trajectory_id)
        .subquery()
    )


def _moment_steps(moments, moment: RatingMoment) -> dict[uuid.UUID, str]:
    return {v: key for (v, m), key in moments.items() if m == moment.value}


def _load(
    scope: Scope, ids
) -> tuple[dict[uuid.UUID, _Trajectory], dict[uuid.UUID, TemplateDefinition]]:
    # The template versions that trajectories follow (a handful), first: which step of each
    # sets the expected results and which asks each rating moment.
    followed = {
        version.id: version.content
        for version in db.session.scalars(
            select(TemplateVersion).where(
                select(Trajectory.id)
                .where(Trajectory.template_version_id == TemplateVersion.id)
                .correlate(TemplateVersion)
                .exists()
            )
        )
    }
    sets, moments = _steps_asking(followed)
    steps = _steps_done(ids, sets, moments)
    with_goals = (
        select(LearningGoal.trajectory_id).where(LearningGoal.trajectory_id.in_(ids)).distinct()
    ).subquery()
    trainer = aliased(User)
    trajectories: dict[uuid.UUID, _Trajectory] = {}
    # The scope's own joins and filters (not `Trajectory.id IN (the scope)`), so that only the
    # scope's trajectories are joined.
    query = (
        select(
            Trajectory.id,
            Trajectory.status,
            Trajectory.learner_id,
            User.manager_id,
            Trajectory.coach_id,
            Trajectory.template_version_id,
            Edition.id.label("edition_id"),
            Training.id.label("training_id"),
            Training.title,
            Edition.trainer_id,
            trainer.name.label("trainer_name"),
            steps.c.intake,
            steps.c.evaluation,
            steps.c.return_day,
            with_goals.c.trajectory_id.label("with_goals"),
        )
        .join(Edition, Edition.id == Trajectory.edition_id)
        .join(Training, Training.id == Edition.training_id)
        .join(User, User.id == Trajectory.learner_id)
        .outerjoin(trainer, trainer.id == Edition.trainer_id)
        .outerjoin(steps, steps.c.trajectory_id == Trajectory.id)
        .outerjoin(with_goals, with_goals.c.trajectory_id == Trajectory.id)
        .where(Edition.ends_on.between(scope.period.starts_on, scope.period.ends_on))
    )
    for row in db.session.execute(_filtered(query, scope)):
        trajectories[row.id] = _Trajectory(
            id=row.id,
            status=row.status,
            learner=row.learner_id,
            manager=row.manager_id,
            coach=row.coach_id,
            version=row.template_version_id,
            edition=row.edition_id,
            training=row.training_id,
            training_title=row.title,
            trainer=row.trainer_id,
            trainer_name=row.trainer_name or "",
            intake_done=bool(row.intake),
            evaluation_done=bool(row.evaluation),
            return_done=bool(row.return_day),
            has_learning_goals=row.with_goals is not None,
        )
    used = {t.version for t in trajectories.values()}
    definitions = {v: definition for v, definition in followed.items() if v in used}
    goal_links: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
    for link in db.session.execute(
        select(LearningGoal.trajectory_id, LearningGoal.id, LearningGoalLink.organisation_goal_id)
        .join(LearningGoalLink, LearningGoalLink.learning_goal_id == LearningGoal.id)
        .where(LearningGoal.trajectory_id.in_(ids))
    ):
        trajectories[link.trajectory_id].goals.add(link.organisation_goal_id)
        goal_links[link.id].add(link.organisation_goal_id)
    for rated in db.session.execute(
        select(
            ExpectedResult.id,
            ExpectedResult.trajectory_id,
            ExpectedResult.learning_goal_id,
            (func.length(ExpectedResult.contribution) > 0).label("promised"),
            ExpectedResult.created_by_id,
            ResultRating.moment,
            ResultRating.rater_role,
            ResultRating.level,
            ResultRating.contribution_done,
        )
        .outerjoin(ResultRating, ResultRating.expected_result_id == ExpectedResult.id)
        .where(ExpectedResult.trajectory_id.in_(ids))
    ):
        trajectory = trajectories[rated.trajectory_id]
        result = trajectory.results.get(rated.id)
        if result is None:
            result = trajectory.results[rated.id] = _Result(
                learning_goal=rated.learning_goal_id,
                promised=bool(rated.promised),
                by_manager=rated.created_by_id is not None
                and rated.created_by_id == trajectory.manager,
                goals=goal_links.get(rated.learning_goal_id, set()),
            )
        if rated.moment is not None:
            result.levels[(rated.moment, rated.rater_role)] = rated.level
            if rated.rater_role == MANAGER and rated.contribution_done:
                result.contribution_done = True
    return trajectories, definitions


def _transfer(group: _Group, trajectories: Iterable[_Trajectory]) -> Transfer:
    by: dict[str, list[tuple[bool, uuid.UUID]]] = {LEARNER: [], MANAGER: []}
    both: list[tuple[bool, uuid.UUID]] = []
    moment = TRANSFER_MOMENT.value
    for trajectory in trajectories:
        if not trajectory.counts:
            continue
        for result in trajectory.results.values():
            said = {
                role: level.transferred
                for role in (LEARNER, MANAGER)
                if (level := result.levels.get((moment, role))) is not None
            }
            for role, transferred in said.items():
                by[role].append((transferred, trajectory.learner))
            if len(said) == 2:
                both.append((said[LEARNER] != said[MANAGER], trajectory.learner))
    return Transfer(group.share(by[LEARNER]), group.share(by[MANAGER]), group.share(both))


def _steps_asking(definitions: dict[uuid.UUID, TemplateDefinition]):
    """Per version: the step that sets the expected results, and the step of each moment."""
    sets: dict[uuid.UUID, str] = {}
    moments: dict[tuple[uuid.UUID, str], str] = {}
    for version_id, definition in definitions.items():
        for step in definition.steps:
            for spec in step.fields:
                if spec.type is FieldType.EXPECTED_RESULTS:
                    sets[version_id] = step.key
                elif spec.type is FieldType.RESULT_RATING and spec.moment is not None:
                    moments[(version_id, spec.moment.value)] = step.key
    return sets, moments


def _breakdown(group: _Group, trajectories: list[_Trajectory], key, label) -> list[TransferRow]:
    groups: dict[object, list[_Trajectory]] = defaultdict(list)
    for trajectory in trajectories:
        if key(trajectory) is not None:
            groups[key(trajectory)].append(trajectory)
    rows = [
        TransferRow(
            key=str(group_key),
            label=label(members[0]),
            trajectories=group.count(
                (t.learner for t in members if t.counts),
                value=sum(1 for t in members if t.counts),
            ),
            transfer=_transfer(group, members),
        )
        for group_key, members in groups.items()
    ]
    return sorted(rows, key=lambda row: row.label.lower())


def _involvement(group, trajectories) -> Involvement:
    intakes: list[tuple[bool, uuid.UUID]] = []
    evaluations: list[tuple[bool, uuid.UUID]] = []
    contributions: list[tuple[bool, uuid.UUID]] = []
    for t in trajectories:
        if not t.counts:
            continue
        if t.intake_done:
            intakes.append((any(r.by_manager for r in t.results.values()), t.learner))
        if t.evaluation_done:
            rated = any(
                (RatingMoment.EVALUATION.value, MANAGER) in r.levels for r in t.results.values()
            )
            evaluations.append((rated, t.learner))
        for result in t.results.values():
            if result.promised:
                contributions.append((result.contribution_done, t.learner))
    return Involvement(group.share(intakes), group.share(evaluations), group.share(contributions))


def _funnel(group, trajectories) -> list[Stage]:
    """Enrolled, then each stage reached: learning goals set, intake held, expected results
    set, evaluation held, return day (three months) held, six months rated; completed and
    withdrawn."""

    stages = {
        "enrolled": lambda t: True,
        "learning_goals": lambda t: t.has_learning_goals,
        "intake": lambda t: t.intake_done,
        "expected_results": lambda t: bool(t.results),
        "evaluation": lambda t: t.evaluation_done,
        "return_day": lambda t: t.return_done,
        "six_months": lambda t: any(
            moment == RatingMoment.SIX_MONTHS.value
            for r in t.results.values()
            for moment, _ in r.levels
        ),
        "completed": lambda t: t.status is TrajectoryStatus.COMPLETED,
        "withdrawn": lambda t: t.status is TrajectoryStatus.WITHDRAWN,
    }
    # Every stage is about the same learners (whoever reached it or not): one threshold.
    population = {t.learner for t in trajectories}
    reached_by = dict.fromkeys(stages, 0)
    for t in trajectories:
        for key, reached in stages.items():
            if reached(t):
                reached_by[key] += 1
    return [Stage(key, group.count(population, value=n)) for key, n in reached_by.items()]


def _together(scope, group, trajectories, moments, ids) -> Together:
    counted = [t for t in trajectories if t.counts]
    learners = {t.learner for t in counted}
    return_steps = sorted(
        {key for (_, moment), key in moments.items() if moment == TRANSFER_MOMENT.value}
    )
    # The scope's counted trajectories as subqueries, not as lists of thousands of ids (whose
    # SQL alone takes longer to build than the answer); counted in SQL.
    in_scope = select(Trajectory.id).where(
        Trajectory.id.in_(ids), Trajectory.status != TrajectoryStatus.WITHDRAWN
    )
    attended = db.session.execute(
        select(
            func.count().label("whole"),
            func.count(case((GroupMeetingAttendance.present, 1))).label("part"),
            func.count(distinct(GroupMeetingAttendance.user_id)).label("learners"),
        )
        .join(GroupMeeting, GroupMeeting.id == GroupMeetingAttendance.meeting_id)
        .where(
            GroupMeeting.edition_id.in_(in_scope.with_only_columns(Trajectory.edition_id)),
            GroupMeeting.step_key.in_(return_steps),
            GroupMeetingAttendance.user_id.in_(in_scope.with_only_columns(Trajectory.learner_id)),
        )
    ).one()
    loads: dict[uuid.UUID, int] = defaultdict(int)
    for t in counted:
        if t.coach is not None:
            loads[t.coach] += 1
    days = (
        select(
            func.count().label("whole"),
            func.count(case((CoachDayAttendance.present, 1))).label("part"),
        )
        .join(CoachDay, CoachDay.id == CoachDayAttendance.coach_day_id)
        .where(CoachDay.held_on.between(scope.period.starts_on, scope.period.ends_on))
    )
    # Coach days concern the whole pool: a team or filtered report shows its coaches only.
    if not scope.is_whole_tenant:
        days = days.where(
            CoachDayAttendance.coach_id.in_(in_scope.with_only_columns(Trajectory.coach_id))
        )
    held = db.session.execute(days).one()
    hidden = group.hidden(learners)
    day_share = Share(
        part=int(held.part or 0),
        whole=int(held.whole or 0),
        learners=len(learners),
        hidden=hidden,
    )
    attendees = int(attended.learners or 0)
    return Together(
        return_day_attendance=Share(
            part=int(attended.part or 0),
            whole=int(attended.whole or 0),
            learners=attendees,
            hidden=group.below_tenant and 0 < attendees < MIN_GROUP,
        ),
        coaches=len(loads),
        average_load=None if hidden or not loads else round(sum(loads.values()) / len(loads), 1),
        highest_load=None if hidden or not loads else max(loads.values()),
        coach_day_attendance=day_share,
        hidden=hidden,
    )


def _trend(scope: Scope, below_tenant: bool) -> list[TrendRow]:
    """Transfer per year (the edition's last day) over the last TREND_YEARS years up to the
    period's end, with the same filters: one aggregate query."""
    last = scope.period.ends_on.year
    first = last - TREND_YEARS + 1
    year = extract("year", Edition.ends_on)
    transferred = case(
        (ResultRating.level.in_([ResultLevel.APPLIED, ResultLevel.EXCEEDED]), 1), else_=0
    )
    query = (
        select(
            year.label("year"),
            ResultRating.rater_role,
            func.count().label("rated"),
            func.sum(transferred).label("transferred"),
            func.count(distinct(Trajectory.learner_id)).label("learners"),
        )
        .join(ExpectedResult, ExpectedResult.id == ResultRating.expected_result_id)
        .join(Trajectory, Trajectory.id == ExpectedResult.trajectory_id)
        .join(Edition, Edition.id == Trajectory.edition_id)
        .join(Training, Training.id == Edition.training_id)
        .where(
            ResultRating.moment == TRANSFER_MOMENT.value,
            Trajectory.status != TrajectoryStatus.WITHDRAWN,
            Edition.ends_on.between(date(first, 1, 1), date(last, 12, 31)),
        )
        .group_by(year, ResultRating.rater_role)
    )
    found: dict[tuple[int, str], Share] = {}
    for row in db.session.execute(_filtered(_with_learner(query, scope), scope)):
        learners = int(row.learners)
        found[(int(row.year), row.rater_role)] = Share(
            part=int(row.transferred or 0),
            whole=int(row.rated),
            learners=learners,
            hidden=below_tenant and 0 < learners < MIN_GROUP,
        )
    return [
        TrendRow(y, found.get((y, LEARNER), Share()), found.get((y, MANAGER), Share()))
        for y in range(first, last + 1)
    ]


@contextmanager
def _without_cycle_collection() -> Iterator[None]:
    """Pause Python's cycle collector while the figures are counted: a large tenant's year is
    some 100,000 short-lived, acyclic objects (rows, ids, one record per trajectory), whose
    allocation set off full collections over the whole process's heap, a third of the
    report's CPU at national scale. Reference counting still frees them; cycles made meanwhile
    are collected after."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def figures(scope: Scope, *, costs: bool = True) -> Figures:
    """Every figure of the report for `scope` (8 queries, whatever the size), with the
    programme's costs (four more) unless `costs` is false or it is a manager's team view."""
    with _without_cycle_collection():
        return _figures(scope, costs)


def _figures(scope: Scope, costs: bool) -> Figures:
    ids = _in_scope(scope).scalar_subquery()
    trajectories, definitions = _load(scope, ids)
    below_tenant = not scope.is_whole_tenant
    group = _Group(below_tenant)
    rows = list(trajectories.values())
    counted = [t for t in rows if t.counts]
    sets, moments = _steps_asking(definitions)
    all_learners = {t.learner for t in rows}

    goals = list(
        db.session.scalars(
            select(OrganisationGoal).order_by(OrganisationGoal.position, OrganisationGoal.code)
        )
    )
    rows_group = _Group(True)  # every row per goal, training or trainer is below the tenant
    goal_rows = []
    for goal in goals:
        members = [t for t in counted if goal.id in t.goals]
        if not goal.active and not members:
            continue
        results = [
            (r, t.learner) for t in members for r in t.results.values() if goal.id in r.goals
        ]
        goal_rows.append(
            GoalRow(
                goal=goal,
                trajectories=rows_group.count((t.learner for t in members), value=len(members)),
                expected_results=rows_group.count(
                    (learner for _, learner in results), value=len(results)
                ),
                transfer=_transfer(rows_group, members),
            )
        )
    return Figures(
        scope=scope,
        trajectories=group.count(all_learners, value=len(rows)),
        learners=group.count(all_learners),
        completed=group.share((t.status is TrajectoryStatus.COMPLETED, t.learner) for t in rows),
        withdrawn=group.share((t.status is TrajectoryStatus.WITHDRAWN, t.learner) for t in rows),
        transfer=_transfer(group, rows),
        goals=goal_rows,
        goals_without_training=[
            row.goal for row in goal_rows if row.goal.active and row.trajectories.value == 0
        ],
        trainings=_breakdown(rows_group, rows, lambda t: t.training, lambda t: t.training_title),
        trainers=_breakdown(rows_group, rows, lambda t: t.trainer, lambda t: t.trainer_name),
        involvement=_involvement(group, rows),
        together=_together(scope, group, rows, moments, ids),
        funnel=_funnel(group, rows),
        trend=_trend(scope, below_tenant),
        unmeasured=bool(definitions) and not sets,
        costs=programme_costs(
            scope.period.ends_on.year,
            TREND_YEARS,
            filtered=not scope.is_whole_tenant,
            training=scope.training,
        )
        if costs and scope.manager is None
        else None,
    )


def year_transfer(year: int) -> TrendRow:
    """The whole tenant's transfer in `year` (editions that ended in it): one query."""
    return _trend(Scope(period=Period.of_year(year)), below_tenant=False)[-1]


@dataclass(frozen=True)
class Card:
    """The report's headline for a start page: this year's transfer after three months
    (according to the managers, the whole tenant) and how much of the budget is used."""

    year: int
    transfer: Share
    budget: BudgetUse


def card(today: date) -> Card:
    """One query: the year's transfer according to the managers (whole tenant, as in the
    report) and the budget's use (`budget.ledger.budget_use_columns`)."""
    year = today.year
    transferred = case((ResultRating.level.in_([ResultLevel.APPLIED, ResultLevel.EXCEEDED]), 1))
    ratings = (
        select(
            func.count().label("rated"),
            func.count(transferred).label("transferred"),
            func.count(distinct(Trajectory.learner_id)).label("learners"),
        )
        .join(ExpectedResult, ExpectedResult.id == ResultRating.expected_result_id)
        .join(Trajectory, Trajectory.id == ExpectedResult.trajectory_id)
        .join(Edition, Edition.id == Trajectory.edition_id)
        .where(
            ResultRating.moment == TRANSFER_MOMENT.value,
            ResultRating.rater_role == MANAGER,
            Trajectory.status != TrajectoryStatus.WITHDRAWN,
            Edition.ends_on.between(date(year, 1, 1), date(year, 12, 31)),
        )
        .subquery()
    )
    row = db.session.execute(
        select(
            *budget_use_columns(year), ratings.c.rated, ratings.c.transferred, ratings.c.learners
        )
    ).one()
    return Card(
        year=year,
        transfer=Share(
            part=int(row.transferred or 0),
            whole=int(row.rated or 0),
            learners=int(row.learners or 0),
        ),
        budget=read_budget_use(year, row),
    )
