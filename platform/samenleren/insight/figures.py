"""The programme's figures for a scope (`insight.scope`): did the training pay off?

Read-only, counted in the database in six statements whatever the size of the programme:
the template versions followed (which step asks what), the scope's trajectories grouped over
the whole scope, per training and per trainer (steps done, who took part, funnel, coaches'
load), their expected results grouped the same way (transfer, contributions), the organisation
goals with theirs, the attendance of return days and coach days, the trend. Only counts come
back; `insight.cache` keeps them while nothing they count changes. Nothing a person wrote is
ever selected: not what an expected result says, not a rating's example, no field value at
all. Coaching notes are not read by this module.

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

import uuid
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import (
    String,
    and_,
    case,
    cast,
    distinct,
    extract,
    func,
    literal,
    null,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import aliased
from sqlalchemy.types import NullType

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
#: The funnel's stages: enrolled, then each stage reached (learning goals set, intake held,
#: expected results set, evaluation held, return day held, rated at six months), then how
#: trajectories ended. Every stage counts all the scope's trajectories, withdrawn included.
FUNNEL = (
    "enrolled",
    "learning_goals",
    "intake",
    "expected_results",
    "evaluation",
    "return_day",
    "six_months",
    "completed",
    "withdrawn",
)
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
class Goal:
    """An organisation goal as the report shows it (a value, not a database row: figures are
    kept in a cache, `insight.cache`)."""

    id: uuid.UUID
    code: str
    #: Per language.
    title: dict[str, str]
    active: bool

    @classmethod
    def of(cls, goal: OrganisationGoal) -> Goal:
        return cls(goal.id, goal.code, dict(goal.title or {}), goal.active)

    def title_in(self, locale: str, fallback: str = "nl") -> str:
        return self.title.get(locale) or self.title.get(fallback) or self.code


@dataclass(frozen=True)
class GoalRow:
    goal: Goal
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
    #: Intakes and evaluations held whose closing recorded who took part (`present_roles`),
    #: and of those the ones the manager attended.
    intakes_with_manager: Share = field(default_factory=Share)
    evaluations_with_manager: Share = field(default_factory=Share)


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
    goals_without_training: list[Goal]
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
#
# Every figure is counted in PostgreSQL: the rows a report is about (a large tenant's year is
# some 7,000 trajectories, 55,000 steps and 20,000 ratings) never come to Python, only their
# counts per group. A figure is a `Share` (part of a whole) or a `Count`, each with the number
# of distinct learners behind it for the fewer-than-5 rule; `_share_columns` and
# `_count_columns` are the SQL for both, `_read_share` and `_read_count` read them back.


def _hidden(below_tenant: bool, learners: int) -> bool:
    """Below the tenant, a figure about 1 to 4 learners is not shown (about none: 0)."""
    return below_tenant and 0 < learners < MIN_GROUP


def _share_columns(name: str, learner, where, part) -> list:
    """`name`_part, _whole and _learners: of the rows where `where` holds (all rows: None),
    those where `part` holds too, and their distinct learners."""

    def among(aggregate, condition=where):
        return aggregate if condition is None else aggregate.filter(condition)

    return [
        among(func.count(), part if where is None else and_(where, part)).label(f"{name}_part"),
        among(func.count()).label(f"{name}_whole"),
        among(func.count(distinct(learner))).label(f"{name}_learners"),
    ]


def _read_share(row, name: str, below_tenant: bool) -> Share:
    if row is None:
        return Share()
    learners = int(getattr(row, f"{name}_learners") or 0)
    return Share(
        part=int(getattr(row, f"{name}_part") or 0),
        whole=int(getattr(row, f"{name}_whole") or 0),
        learners=learners,
        hidden=_hidden(below_tenant, learners),
    )


def _read_count(value, learners, below_tenant: bool) -> Count:
    learners = int(learners or 0)
    return Count(value=int(value or 0), learners=learners, hidden=_hidden(below_tenant, learners))


def _scoped(scope: Scope):
    """The trajectories in the scope, one row each with what the figures group them by (a CTE:
    PostgreSQL reads the scope once per statement)."""
    trainer = aliased(User)
    query = (
        select(
            Trajectory.id,
            Trajectory.status,
            (Trajectory.status != TrajectoryStatus.WITHDRAWN).label("counts"),
            Trajectory.learner_id,
            User.manager_id,
            Trajectory.coach_id,
            Trajectory.template_version_id.label("version_id"),
            Edition.id.label("edition_id"),
            Training.id.label("training_id"),
            Training.title,
            Edition.trainer_id,
            func.coalesce(trainer.name, "").label("trainer_name"),
        )
        .join(Edition, Edition.id == Trajectory.edition_id)
        .join(Training, Training.id == Edition.training_id)
        .join(User, User.id == Trajectory.learner_id)
        .outerjoin(trainer, trainer.id == Edition.trainer_id)
        .where(Edition.ends_on.between(scope.period.starts_on, scope.period.ends_on))
    )
    return _filtered(query, scope).cte("scoped")


def _step_flags(scoped, sets, moments):
    """Per trajectory with any done step asked about: whether the step that sets the expected
    results, the evaluation's step and the return day's step of its template version are done
    (1 or 0; a repeating step once one occurrence is)."""

    def done(steps: dict[uuid.UUID, str], also=None):
        if not steps:
            return literal(0)
        asked = StepInstance.step_key == case(steps, value=scoped.c.version_id)
        return func.max(case((asked if also is None else and_(asked, also), 1), else_=0))

    # Who took part, as JSON text ('["coach", "learner", "manager"]'): recorded when it is
    # an array, the manager present when it names the manager (LIKE: the same on SQLite).
    present = cast(StepInstance.present_roles, String)
    recorded, manager = present.like("[%"), present.like('%"manager"%')
    evaluation = _moment_steps(moments, RatingMoment.EVALUATION)
    return (
        select(
            StepInstance.trajectory_id,
            done(sets).label("intake"),
            done(evaluation).label("evaluation"),
            done(_moment_steps(moments, TRANSFER_MOMENT)).label("return_day"),
            done(sets, recorded).label("intake_recorded"),
            done(sets, manager).label("intake_manager"),
            done(evaluation, recorded).label("evaluation_recorded"),
            done(evaluation, manager).label("evaluation_manager"),
        )
        .join(scoped, scoped.c.id == StepInstance.trajectory_id)
        .where(
            StepInstance.state == StepState.DONE,
            StepInstance.step_key.in_(sorted(set(sets.values()) | set(moments.values()))),
        )
        .group_by(StepInstance.trajectory_id)
        .subquery("steps")
    )


def _whether(condition):
    """1 when `condition` holds for any of the group's rows, else 0 (SQL's `bool_or`, in a form
    SQLite runs too: `make run` reports from SQLite)."""
    return func.max(case((condition, 1), else_=0))


def _rated(scoped):
    """The scope's expected results, one row each, with what learner and manager said of it
    at three months (transferred: 1, not: 0, not rated: null) and the flags (1 or 0) the
    involvement and funnel figures ask for."""
    transferred = ResultRating.level.in_([ResultLevel.APPLIED, ResultLevel.EXCEEDED])

    def says(role: str):
        at = and_(ResultRating.moment == TRANSFER_MOMENT.value, ResultRating.rater_role == role)
        return func.max(case((and_(at, transferred), 1), (at, 0)))

    return (
        select(
            ExpectedResult.id,
            ExpectedResult.trajectory_id,
            ExpectedResult.learning_goal_id,
            scoped.c.learner_id,
            scoped.c.counts,
            scoped.c.training_id,
            scoped.c.trainer_id,
            case((func.length(ExpectedResult.contribution) > 0, 1), else_=0).label("promised"),
            case((ExpectedResult.created_by_id == scoped.c.manager_id, 1), else_=0).label(
                "by_manager"
            ),
            says(LEARNER).label("learner_says"),
            says(MANAGER).label("manager_says"),
            _whether(
                and_(
                    ResultRating.moment == RatingMoment.EVALUATION.value,
                    ResultRating.rater_role == MANAGER,
                )
            ).label("manager_rated_evaluation"),
            _whether(ResultRating.moment == RatingMoment.SIX_MONTHS.value).label("six_months"),
            _whether(
                and_(ResultRating.rater_role == MANAGER, ResultRating.contribution_done)
            ).label("contribution_done"),
        )
        .join(scoped, scoped.c.id == ExpectedResult.trajectory_id)
        .outerjoin(ResultRating, ResultRating.expected_result_id == ExpectedResult.id)
        # The primary key (tenant, id) of expected_results: its other columns follow from it.
        .group_by(
            ExpectedResult.tenant_id,
            ExpectedResult.id,
            scoped.c.learner_id,
            scoped.c.counts,
            scoped.c.training_id,
            scoped.c.trainer_id,
            scoped.c.manager_id,
        )
        .cte("rated")
    )


#: The groups most figures come in: the whole scope, each training, each trainer.
WHOLE, PER_TRAINING, PER_TRAINER = "whole", "training", "trainer"


def _per_group(aggregate, training: list, trainer: list) -> list:
    """`aggregate(keys)` (a SELECT of `keys` and aggregates) grouped three ways: over the whole
    scope, per training (`training`: its id and label columns), per trainer; each row says
    which in `per`. Parts of one UNION ALL (`_count`) rather than GROUPING SETS, which SQLite
    lacks."""

    def keys(per: str, grouped: list) -> list:
        named = {c.key: c for c in grouped}
        return [
            literal(per).label("per"),
            *(
                named[c.key].label(c.key) if c.key in named else cast(null(), c.type).label(c.key)
                for c in (*training, *trainer)
            ),
        ]

    return [
        aggregate(keys(WHOLE, [])),
        aggregate(keys(PER_TRAINING, training)).group_by(*training),
        aggregate(keys(PER_TRAINER, trainer)).group_by(*trainer),
    ]


def _null_of(type_):
    """A NULL of `type_` (PostgreSQL resolves a UNION's column types from its first part)."""
    return null() if isinstance(type_, NullType) else cast(null(), type_)


def _count(parts: dict[str, list]) -> dict[str, list]:
    """Several aggregates of different shapes in one statement, so that PostgreSQL computes
    the CTEs they share (the scope, its expected results) once: a UNION ALL of every part, each
    row with its `kind` and every column of every part (NULL where its part has none). Returns
    the rows per kind."""
    columns: dict[str, object] = {}
    for selects in parts.values():
        for part in selects:
            for column in part.selected_columns:
                columns.setdefault(column.key, column.type)
    branches = []
    for kind, selects in parts.items():
        for part in selects:
            own = {column.key: column for column in part.selected_columns}
            branches.append(
                part.with_only_columns(
                    literal(kind).label("kind"),
                    *(
                        own[name] if name in own else _null_of(kind_of).label(name)
                        for name, kind_of in columns.items()
                    ),
                    maintain_column_froms=True,
                )
            )
    found: dict[str, list] = {kind: [] for kind in parts}
    for row in db.session.execute(union_all(*branches)):
        found[row.kind].append(row)
    return found


def _transfer_columns(rated) -> list:
    learner_said = rated.c.learner_says.is_not(None)
    manager_said = rated.c.manager_says.is_not(None)
    return [
        *_share_columns("learner", rated.c.learner_id, learner_said, rated.c.learner_says == 1),
        *_share_columns("manager", rated.c.learner_id, manager_said, rated.c.manager_says == 1),
        *_share_columns(
            "disagree",
            rated.c.learner_id,
            and_(learner_said, manager_said),
            rated.c.learner_says != rated.c.manager_says,
        ),
    ]


def _read_transfer(row, below_tenant: bool) -> Transfer:
    return Transfer(
        _read_share(row, "learner", below_tenant),
        _read_share(row, "manager", below_tenant),
        _read_share(row, "disagree", below_tenant),
    )


def _trajectory_groups(scoped, rated, sets, moments) -> list:
    """Per group (the whole scope, each training, each trainer): trajectories and learners,
    completion, the manager's part in intakes and evaluations, the funnel's stages and the
    coaches' load (`_count`'s parts)."""
    t = scoped.c
    steps = _step_flags(scoped, sets, moments)
    results = (
        select(
            rated.c.trajectory_id,
            func.max(rated.c.by_manager).label("set_by_manager"),
            func.max(rated.c.manager_rated_evaluation).label("manager_rated_evaluation"),
            func.max(rated.c.six_months).label("six_months"),
        )
        .group_by(rated.c.trajectory_id)
        .subquery("results")
    )
    with_goals = (
        select(LearningGoal.trajectory_id)
        .where(LearningGoal.trajectory_id.in_(select(t.id)))
        .distinct()
        .subquery("with_goals")
    )
    # One row per trajectory with its flags, as a CTE: the three groupings below read it, so
    # PostgreSQL computes the steps, results and goals once.
    measured = t.version_id.in_(sorted(sets)) if sets else literal(False)
    facts = (
        select(
            t.learner_id,
            t.counts,
            t.status,
            t.coach_id,
            t.training_id,
            t.title,
            t.trainer_id,
            t.trainer_name,
            func.coalesce(steps.c.intake, 0).label("intake"),
            func.coalesce(steps.c.evaluation, 0).label("evaluation"),
            func.coalesce(steps.c.return_day, 0).label("return_day"),
            *(
                func.coalesce(getattr(steps.c, key), 0).label(key)
                for key in (
                    "intake_recorded",
                    "intake_manager",
                    "evaluation_recorded",
                    "evaluation_manager",
                )
            ),
            case((with_goals.c.trajectory_id.is_not(None), 1), else_=0).label("has_goals"),
            case((results.c.trajectory_id.is_not(None), 1), else_=0).label("has_results"),
            func.coalesce(results.c.set_by_manager, 0).label("set_by_manager"),
            func.coalesce(results.c.manager_rated_evaluation, 0).label("manager_rated"),
            func.coalesce(results.c.six_months, 0).label("six_months"),
            # On a template version that sets expected results (none: nothing to measure).
            case((measured, 1), else_=0).label("measured"),
        )
        .select_from(scoped)
        .outerjoin(steps, steps.c.trajectory_id == t.id)
        .outerjoin(results, results.c.trajectory_id == t.id)
        .outerjoin(with_goals, with_goals.c.trajectory_id == t.id)
        .cte("facts")
    )
    f = facts.c
    loads = (
        select(func.count().label("load"))
        .where(f.counts, f.coach_id.is_not(None))
        .group_by(f.coach_id)
        .subquery("loads")
    )
    highest_load = select(func.max(loads.c.load)).scalar_subquery()
    reached = {
        "learning_goals": f.has_goals == 1,
        "intake": f.intake == 1,
        "expected_results": f.has_results == 1,
        "evaluation": f.evaluation == 1,
        "return_day": f.return_day == 1,
        "six_months": f.six_months == 1,
        "completed": f.status == TrajectoryStatus.COMPLETED,
        "withdrawn": f.status == TrajectoryStatus.WITHDRAWN,
        "measured": f.measured == 1,
    }

    def aggregate(keys: list):
        return select(
            *keys,
            func.count().label("trajectories"),
            func.count(distinct(f.learner_id)).label("learners"),
            func.count().filter(f.counts).label("counted"),
            func.count(distinct(f.learner_id)).filter(f.counts).label("counted_learners"),
            *(func.count().filter(condition).label(key) for key, condition in reached.items()),
            *_share_columns(
                "intakes", f.learner_id, and_(f.counts, f.intake == 1), f.set_by_manager == 1
            ),
            *_share_columns(
                "evaluations",
                f.learner_id,
                and_(f.counts, f.evaluation == 1),
                f.manager_rated == 1,
            ),
            *_share_columns(
                "intakes_present",
                f.learner_id,
                and_(f.counts, f.intake_recorded == 1),
                f.intake_manager == 1,
            ),
            *_share_columns(
                "evaluations_present",
                f.learner_id,
                and_(f.counts, f.evaluation_recorded == 1),
                f.evaluation_manager == 1,
            ),
            func.count(distinct(f.coach_id)).filter(f.counts).label("coaches"),
            func.count().filter(f.counts, f.coach_id.is_not(None)).label("coached"),
            highest_load.label("highest_load"),
        ).select_from(facts)

    return _per_group(aggregate, [f.training_id, f.title], [f.trainer_id, f.trainer_name])


def _result_groups(rated) -> list:
    """Per group (the whole scope, each training, each trainer): the transfer at three months
    and the contributions the managers promised and reported done (`_count`'s parts)."""
    r = rated.c

    def aggregate(keys: list):
        return select(
            *keys,
            *_transfer_columns(rated),
            *_share_columns(
                "contributions", r.learner_id, r.promised == 1, r.contribution_done == 1
            ),
        ).where(r.counts)

    return _per_group(aggregate, [r.training_id], [r.trainer_id])


def _goal_rows(scoped, rated) -> list:
    """Per organisation goal (in their order): the counted trajectories with a learning goal
    linked to it, their expected results linked to it, and the transfer of all their expected
    results (a part of `_count`'s statement); a goal made inactive shows only while
    trajectories name it (`_read_goals`)."""
    pairs = (
        select(
            LearningGoal.trajectory_id,
            scoped.c.learner_id,
            LearningGoalLink.organisation_goal_id.label("goal_id"),
        )
        .join(LearningGoalLink, LearningGoalLink.learning_goal_id == LearningGoal.id)
        .join(scoped, scoped.c.id == LearningGoal.trajectory_id)
        .where(scoped.c.counts)
        .distinct()
        .subquery("pairs")
    )
    linked = aliased(LearningGoalLink)
    is_linked = linked.learning_goal_id.is_not(None)
    per_goal = (
        select(
            pairs.c.goal_id,
            func.count(distinct(pairs.c.trajectory_id)).label("trajectories"),
            func.count(distinct(pairs.c.learner_id)).label("learners"),
            func.count().filter(is_linked).label("results"),
            func.count(distinct(pairs.c.learner_id)).filter(is_linked).label("result_learners"),
            *_transfer_columns(rated),
        )
        .select_from(pairs)
        .outerjoin(rated, rated.c.trajectory_id == pairs.c.trajectory_id)
        .outerjoin(
            linked,
            and_(
                linked.learning_goal_id == rated.c.learning_goal_id,
                linked.organisation_goal_id == pairs.c.goal_id,
            ),
        )
        .group_by(pairs.c.goal_id)
        .subquery("per_goal")
    )
    return [
        select(
            OrganisationGoal.id.label("organisation_goal_id"),
            OrganisationGoal.code,
            OrganisationGoal.title.label("goal_title"),
            OrganisationGoal.active,
            OrganisationGoal.position,
            *per_goal.c,
        ).outerjoin(per_goal, per_goal.c.goal_id == OrganisationGoal.id)
    ]


def _read_goals(found: list) -> list[GoalRow]:
    rows = []
    for row in sorted(found, key=lambda row: (row.position, row.code)):
        if not row.active and not row.trajectories:
            continue
        rows.append(
            GoalRow(
                goal=Goal(
                    row.organisation_goal_id, row.code, dict(row.goal_title or {}), row.active
                ),
                trajectories=_read_count(row.trajectories, row.learners, True),
                expected_results=_read_count(row.results, row.result_learners, True),
                transfer=_read_transfer(row if row.goal_id is not None else None, True),
            )
        )
    return rows


def _together(scope: Scope, scoped, whole, return_steps: list[str], below_tenant: bool) -> Together:
    """Return-day attendance of the scope's learners at its editions' return-day meetings and
    coach-day attendance (of the whole pool; of the scope's coaches in a filtered report or a
    team view) in one statement; the coaches' load from the scope's row (`whole`)."""
    counted = scoped.c.counts
    attended = (
        select(
            func.count().label("whole"),
            func.count().filter(GroupMeetingAttendance.present).label("part"),
            func.count(distinct(GroupMeetingAttendance.user_id)).label("learners"),
        )
        .join(GroupMeeting, GroupMeeting.id == GroupMeetingAttendance.meeting_id)
        .where(
            GroupMeeting.edition_id.in_(select(scoped.c.edition_id).where(counted)),
            GroupMeeting.step_key.in_(return_steps),
            GroupMeetingAttendance.user_id.in_(select(scoped.c.learner_id).where(counted)),
        )
        .subquery("attended")
    )
    held_days = (
        select(
            func.count().label("days_whole"),
            func.count().filter(CoachDayAttendance.present).label("days_part"),
        )
        .join(CoachDay, CoachDay.id == CoachDayAttendance.coach_day_id)
        .where(CoachDay.held_on.between(scope.period.starts_on, scope.period.ends_on))
    )
    if not scope.is_whole_tenant:
        held_days = held_days.where(
            CoachDayAttendance.coach_id.in_(select(scoped.c.coach_id).where(counted))
        )
    days = held_days.subquery("days")
    # Two one-row aggregates side by side (a join on true: no cartesian product to speak of).
    held = db.session.execute(select(attended, days).select_from(attended.join(days, true()))).one()
    learners = int(whole.counted_learners or 0) if whole is not None else 0
    hidden = _hidden(below_tenant, learners)
    coaches = int(whole.coaches or 0) if whole is not None else 0
    attendees = int(held.learners or 0)
    return Together(
        return_day_attendance=Share(
            part=int(held.part or 0),
            whole=int(held.whole or 0),
            learners=attendees,
            hidden=_hidden(below_tenant, attendees),
        ),
        coaches=coaches,
        average_load=None if hidden or not coaches else round(int(whole.coached) / coaches, 1),
        highest_load=None if hidden or not coaches else int(whole.highest_load),
        coach_day_attendance=Share(
            part=int(held.days_part or 0),
            whole=int(held.days_whole or 0),
            learners=learners,
            hidden=hidden,
        ),
        hidden=hidden,
    )


def _with_learner(query, scope: Scope):
    """Join the learner (`User`) only when a filter is about them (the trend's query reads
    every rating of five years: the join would read all the tenant's users)."""
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


def _moment_steps(moments, moment: RatingMoment) -> dict[uuid.UUID, str]:
    return {v: key for (v, m), key in moments.items() if m == moment.value}


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
            hidden=_hidden(below_tenant, learners),
        )
    return [
        TrendRow(y, found.get((y, LEARNER), Share()), found.get((y, MANAGER), Share()))
        for y in range(first, last + 1)
    ]


def _followed_versions() -> dict[uuid.UUID, TemplateDefinition]:
    """The template versions trajectories follow (a handful): which step of each sets the
    expected results and which asks each rating moment decides what the figures count."""
    followed = select(Trajectory.id).where(Trajectory.template_version_id == TemplateVersion.id)
    return {
        version.id: version.content
        for version in db.session.scalars(
            select(TemplateVersion).where(followed.correlate(TemplateVersion).exists())
        )
    }


def _whole(rows):
    """The row about the whole scope (`_per_group`)."""
    return next((row for row in rows if row.per == WHOLE), None)


def _grouped(rows, per: str) -> dict:
    """The rows per training or per trainer (`_per_group`), by its id."""
    key = "training_id" if per == PER_TRAINING else "trainer_id"
    return {
        getattr(row, key): row for row in rows if row.per == per and getattr(row, key) is not None
    }


def _breakdown(trajectory_rows, result_rows, per: str, label: str) -> list[TransferRow]:
    """Per training or trainer: the counted trajectories and the transfer (every row is below
    the tenant: small groups hidden)."""
    transfers = _grouped(result_rows, per)
    rows = [
        TransferRow(
            key=str(key),
            label=getattr(row, label) or "",
            trajectories=_read_count(row.counted, row.counted_learners, True),
            transfer=_read_transfer(transfers.get(key), True),
        )
        for key, row in _grouped(trajectory_rows, per).items()
    ]
    return sorted(rows, key=lambda row: row.label.lower())


def figures(scope: Scope, *, costs: bool = True) -> Figures:
    """Every figure of the report for `scope` (4 statements, whatever the size), with the
    programme's costs (four more) unless `costs` is false or it is a manager's team view."""
    definitions = _followed_versions()
    sets, moments = _steps_asking(definitions)
    below_tenant = not scope.is_whole_tenant
    scoped = _scoped(scope)
    rated = _rated(scoped)
    found = _count(
        {
            "trajectories": _trajectory_groups(scoped, rated, sets, moments),
            "results": _result_groups(rated),
            "goals": _goal_rows(scoped, rated),
        }
    )
    trajectory_rows, result_rows = found["trajectories"], found["results"]
    whole, results = _whole(trajectory_rows), _whole(result_rows)
    goal_rows = _read_goals(found["goals"])
    learners = int(whole.learners) if whole is not None else 0
    rows = int(whole.trajectories) if whole is not None else 0

    def reached(key: str) -> int:
        return int(getattr(whole, key) or 0) if whole is not None else 0

    def share_of(key: str) -> Share:
        return Share(reached(key), rows, learners, _hidden(below_tenant, learners))

    return Figures(
        scope=scope,
        trajectories=_read_count(rows, learners, below_tenant),
        learners=_read_count(learners, learners, below_tenant),
        completed=share_of("completed"),
        withdrawn=share_of("withdrawn"),
        transfer=_read_transfer(results, below_tenant),
        goals=goal_rows,
        goals_without_training=[
            row.goal for row in goal_rows if row.goal.active and row.trajectories.value == 0
        ],
        trainings=_breakdown(trajectory_rows, result_rows, PER_TRAINING, "title"),
        trainers=_breakdown(trajectory_rows, result_rows, PER_TRAINER, "trainer_name"),
        involvement=Involvement(
            _read_share(whole, "intakes", below_tenant),
            _read_share(whole, "evaluations", below_tenant),
            _read_share(results, "contributions", below_tenant),
            _read_share(whole, "intakes_present", below_tenant),
            _read_share(whole, "evaluations_present", below_tenant),
        ),
        together=_together(
            scope,
            scoped,
            whole,
            sorted({key for (_, m), key in moments.items() if m == TRANSFER_MOMENT.value}),
            below_tenant,
        ),
        funnel=[
            Stage(
                key,
                _read_count(rows if key == "enrolled" else reached(key), learners, below_tenant),
            )
            for key in FUNNEL
        ],
        trend=_trend(scope, below_tenant),
        unmeasured=rows > 0 and not reached("measured"),
        costs=programme_costs(
            scope.period.ends_on.year,
            TREND_YEARS,
            filtered=below_tenant,
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
