"""What each role sees first: the dashboards of learner, coach, manager, trainer and admin.

Every dashboard is one function that returns plain data for its template, in a fixed number of
queries whatever the amount of data (quality.md: at most 8 per page, login and tenant included):
the rows of all trajectories, steps or editions are loaded together, never one query per row.
Recorded values reach a dashboard only through `samenleren.trajectories.confidentiality`; most
dashboards show statuses and links only.
"""

from __future__ import annotations

import enum
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import (
    ColumnElement,
    Date,
    Integer,
    Select,
    String,
    Uuid,
    and_,
    case,
    func,
    literal,
    null,
    select,
)
from sqlalchemy.orm import aliased, contains_eager, joinedload, raiseload

from samenleren.catalogue.models import (
    Edition,
    EditionSession,
    Enrolment,
    EnrolmentStatus,
    Training,
)
from samenleren.coaching.matching import coach_loads
from samenleren.coaching.models import CoachDay
from samenleren.core.db import as_utc, utcnow
from samenleren.core.extensions import db
from samenleren.core.formatting import local_today
from samenleren.identity.models import Department, Role, User
from samenleren.process_templates.definition import (
    FieldSpec,
    FieldType,
    StepSpec,
    TemplateDefinition,
)
from samenleren.process_templates.models import TemplateVersion
from samenleren.tenants.models import OrganisationGoal
from samenleren.trajectories.attainment import attainment_fields
from samenleren.trajectories.confidentiality import FieldRef, filled_fields, join_readable_values
from samenleren.trajectories.models import (
    GroupMeeting,
    LearningGoal,
    LearningGoalLink,
    StepInstance,
    StepState,
    Trajectory,
    TrajectoryStatus,
)
from samenleren.trajectories.timeline import Timeline, TimelineEntry, timeline_of

OPEN_STATES = (StepState.PLANNED, StepState.SCHEDULED)
#: How far ahead the coach's "coming up" list looks.
UPCOMING = timedelta(weeks=6)
#: The programme admin's lists stay short; the counts next to them are complete.
OVERDUE_SHOWN = 20
WITHOUT_COACH_SHOWN = 50


# --- which dashboards a user has -----------------------------------------------------------------


class Board(enum.StrEnum):
    """A dashboard; each belongs to one role (the URL says `programme` for the admin's)."""

    LEARNER = "learner"
    COACH = "coach"
    MANAGER = "manager"
    TRAINER = "trainer"
    PROGRAMME = "programme"

    @property
    def role(self) -> Role:
        return Role.PROGRAMME_ADMIN if self is Board.PROGRAMME else Role(self.value)


#: The order of the role switcher.
BOARDS = (Board.LEARNER, Board.COACH, Board.MANAGER, Board.TRAINER, Board.PROGRAMME)
#: Which dashboard the start page shows before the user has chosen one: where others wait on
#: the user's work first, the own learning last.
RELEVANCE = (Board.PROGRAMME, Board.MANAGER, Board.COACH, Board.TRAINER, Board.LEARNER)


def boards_of(user: User) -> list[Board]:
    roles = user.roles
    return [board for board in BOARDS if board.role in roles]


def start_board(user: User, remembered: str | None) -> Board | None:
    """The dashboard of the start page: the one last chosen, else the most relevant one."""
    boards = boards_of(user)
    for board in boards:
        if board.value == remembered:
            return board
    return next((board for board in RELEVANCE if board in boards), None)


# --- shared pieces ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Welcome:
    manager_name: str | None = None
    department_name: str | None = None


def welcome_of(user: User) -> Welcome:
    """The names of the user's manager and department (one query; none when neither is set)."""
    if user.manager_id is None and user.department_id is None:
        return Welcome()
    manager = select(User.name).where(User.id == user.manager_id).scalar_subquery()
    department = (
        select(Department.name).where(Department.id == user.department_id).scalar_subquery()
    )
    manager_name, department_name = db.session.execute(select(manager, department)).one()
    return Welcome(manager_name, department_name)


@dataclass(frozen=True)
class Card:
    """One trajectory on a dashboard: its timeline as seen in the dashboard's role."""

    trajectory: Trajectory
    timeline: Timeline

    @property
    def current(self) -> TimelineEntry | None:
        """The first open step in the template's order (where the trajectory stands)."""
        return next((entry for entry in self.timeline.entries if entry.is_open), None)


def _trajectory_query(*criteria: ColumnElement[bool]) -> Select:
    """Trajectories with the learner, coach, edition, training and template version (1 query).

    People are loaded without their roles (nothing here asks them), so no query follows per row.
    """
    return (
        select(Trajectory)
        .where(*criteria)
        .options(
            joinedload(Trajectory.learner).options(raiseload(User.role_assignments)),
            joinedload(Trajectory.coach).options(raiseload(User.role_assignments)),
            joinedload(Trajectory.edition)
            .joinedload(Edition.training)
            .options(raiseload(Training.departments)),
            joinedload(Trajectory.template_version),
        )
    )


def _steps_by_trajectory(trajectories: Sequence[Trajectory]) -> dict[uuid.UUID, list[StepInstance]]:
    """The steps of all `trajectories` in one query, each list in the template's order."""
    if not trajectories:
        return {}
    steps: dict[uuid.UUID, list[StepInstance]] = defaultdict(list)
    for step in db.session.scalars(
        select(StepInstance)
        .where(StepInstance.trajectory_id.in_([t.id for t in trajectories]))
        .order_by(StepInstance.trajectory_id, StepInstance.position, StepInstance.occurrence)
    ):
        steps[step.trajectory_id].append(step)
    return steps


def _cards(trajectories: Sequence[Trajectory], role: Role, today: date) -> list[Card]:
    steps = _steps_by_trajectory(trajectories)
    relations = frozenset({role})
    return [
        Card(
            trajectory,
            timeline_of(
                trajectory,
                trajectory.template_version.content,
                steps.get(trajectory.id, []),
                relations,
                today,
            ),
        )
        for trajectory in trajectories
    ]


_STATUS_ORDER = {TrajectoryStatus.ACTIVE: 0, TrajectoryStatus.COMPLETED: 1}


def _by_status_then(trajectories: Iterable[Trajectory], key) -> list[Trajectory]:
    return sorted(trajectories, key=lambda t: (_STATUS_ORDER.get(t.status, 2), key(t)))


# --- learner --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Waiting:
    """An application or a waiting-list place."""

    enrolment: Enrolment
    #: Place on the waiting list (1 = next to get a place); None for an application.
    place: int | None


@dataclass(frozen=True)
class LearnerDashboard:
    cards: list[Card]
    waiting: list[Waiting]


def learner_dashboard(user: User, today: date | None = None) -> LearnerDashboard:
    """My trajectories with progress and what to do next; my applications (3 queries)."""
    today = today or local_today()
    trajectories = db.session.scalars(_trajectory_query(Trajectory.learner_id == user.id)).all()
    trajectories = _by_status_then(trajectories, lambda t: -t.edition.starts_on.toordinal())
    ahead = aliased(Enrolment)
    place = (
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
    return LearnerDashboard(_cards(trajectories, Role.LEARNER, today), waiting)


# --- coach ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Task:
    """A step of a trajectory, for the lists of what comes up or waits."""

    trajectory: Trajectory
    entry: TimelineEntry
    #: Fields still to fill in (the manager's list), else empty.
    fields: list[FieldSpec] = field(default_factory=list)
    #: The viewer plans and closes this step (the manager's list).
    plans: bool = False


@dataclass(frozen=True)
class CoachDashboard:
    cards: list[Card]
    upcoming: list[Task]
    overdue: list[Task]
    coach_day: CoachDay | None


def coach_dashboard(
    user: User, today: date | None = None, now: datetime | None = None
) -> CoachDashboard:
    """My coachees, my conversations coming up and overdue, the next coach day (3 queries)."""
    today = today or local_today()
    now = now or utcnow()
    trajectories = db.session.scalars(
        _trajectory_query(
            Trajectory.coach_id == user.id, Trajectory.status == TrajectoryStatus.ACTIVE
        )
    ).all()
    trajectories = sorted(trajectories, key=lambda t: t.learner.name)
    cards = _cards(trajectories, Role.COACH, today)
    upcoming, overdue = [], []
    for card in cards:
        for entry in card.timeline.entries:
            if not entry.mine:
                continue
            starts_at = as_utc(entry.step.starts_at)
            if (
                entry.step.state is StepState.SCHEDULED
                and starts_at is not None
                and now <= starts_at < now + UPCOMING
            ):
                upcoming.append(Task(card.trajectory, entry))
            if entry.overdue:
                overdue.append(Task(card.trajectory, entry))
    upcoming.sort(key=lambda task: as_utc(task.entry.step.starts_at))
    overdue.sort(key=lambda task: (task.entry.step.due_on, task.trajectory.learner.name))
    coach_day = db.session.scalar(
        select(CoachDay).where(CoachDay.held_on >= today).order_by(CoachDay.held_on).limit(1)
    )
    return CoachDashboard(cards, upcoming, overdue, coach_day)


# --- manager --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ManagerDashboard:
    cards: list[Card]
    awaiting: list[Task]


def manager_dashboard(user: User, today: date | None = None) -> ManagerDashboard:
    """The trajectories of my direct reports and what awaits me in them (3 or 4 queries).

    Statuses and links only: the manager never reads a value here, and whether a field is
    filled in is asked only of the fields the manager fills in.
    """
    today = today or local_today()
    trajectories = db.session.scalars(
        _trajectory_query(Trajectory.status != TrajectoryStatus.WITHDRAWN)
        .join(User, User.id == Trajectory.learner_id)
        .where(User.manager_id == user.id)
    ).all()
    trajectories = _by_status_then(trajectories, lambda t: (t.learner.name, t.edition.starts_on))
    cards = _cards(trajectories, Role.MANAGER, today)
    candidates = [
        (card, entry)
        for card in cards
        if card.trajectory.status is TrajectoryStatus.ACTIVE
        for entry in card.timeline.entries
        if entry.is_open and (Role.MANAGER in entry.spec.responsible or _manager_fields(entry.spec))
    ]
    needs_fields = [entry.step for _, entry in candidates if _manager_fields(entry.spec)]
    definition_of = {card.trajectory.id: card.trajectory.template_version.content for card in cards}
    filled = filled_fields(definition_of, needs_fields, frozenset({Role.MANAGER}))
    awaiting = []
    for card, entry in candidates:
        open_fields = [
            spec
            for spec in _manager_fields(entry.spec)
            if spec.key not in filled.get(entry.step.id, set())
        ]
        plans = Role.MANAGER in entry.spec.responsible
        if plans or open_fields:
            awaiting.append(Task(card.trajectory, entry, open_fields, plans))
    awaiting.sort(key=lambda task: (task.entry.step.due_on, task.trajectory.learner.name))
    return ManagerDashboard(cards, awaiting)


def _manager_fields(spec: StepSpec) -> list[FieldSpec]:
    """The fields of a step that wait for the manager: required ones the manager (also) fills
    in, and those only the manager fills in. Optional fields shared with others (comments)
    do not make the manager's list."""
    return [
        f
        for f in spec.fields
        if Role.MANAGER in f.editors
        and f.type is not FieldType.GOALS
        and (f.required or set(f.editors) == {Role.MANAGER})
    ]


# --- trainer --------------------------------------------------------------------------------------


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


def trainer_dashboard(user: User, now: datetime | None = None) -> TrainerDashboard:
    """My editions with their numbers, their sessions to come and their group meetings
    (3 queries)."""
    now = now or utcnow()

    def counted(status: EnrolmentStatus):
        return (
            select(func.count(Enrolment.id))
            .where(Enrolment.edition_id == Edition.id, Enrolment.status == status)
            .correlate(Edition)
            .scalar_subquery()
        )

    rows = db.session.execute(
        select(Edition, counted(EnrolmentStatus.ENROLLED), counted(EnrolmentStatus.WAITLISTED))
        .join(Edition.training)
        .where(Edition.trainer_id == user.id)
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
        .where(Edition.trainer_id == user.id)
        .order_by(GroupMeeting.due_on, GroupMeeting.step_key)
    ).all()
    return TrainerDashboard(editions, list(sessions), list(meetings), edition_of)


# --- programme administrator ------------------------------------------------------------------


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


def programme_dashboard(user: User, today: date | None = None) -> ProgrammeDashboard:
    """The programme at a glance (4 queries, whatever the number of trajectories)."""
    today = today or local_today()
    relations = frozenset({Role.PROGRAMME_ADMIN})
    counts, per_position, without_coach_total, overdue_total, definitions = _overview(today)
    per_step = _per_step(per_position, definitions)
    without_coach, overdue = _attention(today, definitions)
    goals, ratings_hidden = _goal_table(definitions, relations)
    return ProgrammeDashboard(
        counts=counts,
        per_step=per_step,
        without_coach=without_coach,
        without_coach_total=without_coach_total,
        overdue=overdue,
        overdue_total=overdue_total,
        coach_loads=_coach_loads(),
        goals=goals,
        ratings_hidden=ratings_hidden,
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

    def total(condition, value=1):
        return func.coalesce(func.sum(case((condition, value), else_=0)), 0)

    groups = (
        select(
            Trajectory.template_version_id.label("version_id"),
            open_steps.c.position.label("position"),
            total(active).label("active"),
            total(Trajectory.status == TrajectoryStatus.COMPLETED).label("completed"),
            total(Trajectory.status == TrajectoryStatus.WITHDRAWN).label("withdrawn"),
            total(and_(active, Trajectory.coach_id.is_(None))).label("without_coach"),
            total(and_(active, open_steps.c.overdue.is_not(None)), open_steps.c.overdue).label(
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
) -> tuple[list[Attention], list[Attention]]:
    """The first learners without a coach and the oldest overdue steps: one query."""
    learner = aliased(User)
    active = Trajectory.status == TrajectoryStatus.ACTIVE

    def base(kind: str, *columns):
        return (
            select(
                literal(kind, String).label("kind"),
                Trajectory.id.label("trajectory_id"),
                Trajectory.template_version_id.label("version_id"),
                learner.name.label("learner"),
                Training.title.label("training"),
                Edition.starts_on.label("starts_on"),
                *columns,
            )
            .join(learner, learner.id == Trajectory.learner_id)
            .join(Edition, Edition.id == Trajectory.edition_id)
            .join(Training, Training.id == Edition.training_id)
        )

    without_coach = (
        base(
            "without_coach",
            null().cast(Uuid).label("step_id"),
            null().cast(String).label("step_key"),
            null().cast(Integer).label("occurrence"),
            null().cast(Date).label("due_on"),
        )
        .where(active, Trajectory.coach_id.is_(None))
        .order_by(Edition.starts_on, learner.name, Trajectory.id)
        .limit(WITHOUT_COACH_SHOWN)
        .subquery()
    )
    overdue = (
        base(
            "overdue",
            StepInstance.id.label("step_id"),
            StepInstance.step_key.label("step_key"),
            StepInstance.occurrence.label("occurrence"),
            StepInstance.due_on.label("due_on"),
        )
        .join(StepInstance, StepInstance.trajectory_id == Trajectory.id)
        .where(active, StepInstance.state.in_(OPEN_STATES), StepInstance.due_on < today)
        .order_by(StepInstance.due_on, learner.name, StepInstance.id)
        .limit(OVERDUE_SHOWN)
        .subquery()
    )
    rows = db.session.execute(select(without_coach).union_all(select(overdue))).all()
    lists: dict[str, list[Attention]] = {"without_coach": [], "overdue": []}
    for row in rows:
        definition = definitions.get(row.version_id)
        spec = definition.step(row.step_key) if definition and row.step_key else None
        lists[row.kind].append(
            Attention(
                trajectory_id=row.trajectory_id,
                learner=row.learner,
                training=row.training,
                starts_on=row.starts_on,
                step_id=row.step_id,
                spec=spec,
                occurrence=row.occurrence or 1,
                due_on=row.due_on,
            )
        )
    lists["without_coach"].sort(key=lambda a: (a.starts_on, a.learner))
    lists["overdue"].sort(key=lambda a: (a.due_on, a.learner))
    return lists["without_coach"], lists["overdue"]


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
