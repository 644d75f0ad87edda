"""The rows of each export dataset, read as the programme administrator sees the programme.

The programme admin reads statuses, assignments, dates and what reports aggregate; never a
progress note or any other free text of a step (what a learner and coach record stays between
the people the template lets read it). So:

* recorded values come only through `samenleren.trajectories.confidentiality`
  (`join_readable_values`, `may_read_goals`), asked for the relation `programme_admin`: a field
  the template does not let the admin read is never joined, whatever is in it;
* no free-text column of a step or meeting is selected at all: not the skip reason, the
  location, the video link, the coach's change reason nor a group meeting's outcome;
* the learning goals' own text is included only where the template's goals field lets the admin
  read it (the Flevoland model does: the admin sees the goals on the trajectory page).

Each dataset is a `Table` of typed cells (text, whole numbers, dates, moments), which the file
writers (`samenleren.exports.files`) turn into CSV or XLSX. The datasets are read in a fixed
number of queries whatever the size of the programme (5 for all three).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import aliased

from samenleren.catalogue.models import Edition, Training
from samenleren.core.db import as_utc
from samenleren.core.extensions import db
from samenleren.core.formatting import LOCAL_ZONE
from samenleren.exports.models import Dataset
from samenleren.identity.models import Department, Role, User
from samenleren.process_templates.definition import TemplateDefinition
from samenleren.process_templates.models import ProcessTemplate, TemplateVersion
from samenleren.tenants.models import OrganisationGoal
from samenleren.trajectories.attainment import attainment_fields
from samenleren.trajectories.confidentiality import FieldRef, join_readable_values, may_read_goals
from samenleren.trajectories.models import (
    LearningGoal,
    LearningGoalLink,
    StepInstance,
    StepState,
    Trajectory,
    TrajectoryStatus,
)

#: The viewer every export is read as.
ADMIN = frozenset({Role.PROGRAMME_ADMIN})

TEXT, NUMBER, DAY, MOMENT = "text", "number", "date", "moment"

DATASET_TITLES = {
    Dataset.TRAJECTORIES: _l("Trajectories"),
    Dataset.STEPS: _l("Steps"),
    Dataset.GOALS: _l("Learning goals"),
    Dataset.INSIGHT: _l("Programme insight"),
    Dataset.BUDGET: _l("Expenses"),
}

STATUS_LABELS = {
    TrajectoryStatus.ACTIVE: _l("Running"),
    TrajectoryStatus.COMPLETED: _l("Completed"),
    TrajectoryStatus.WITHDRAWN: _l("Withdrawn"),
}

STATE_LABELS = {
    StepState.PLANNED: _l("To be planned"),
    StepState.SCHEDULED: _l("Scheduled"),
    StepState.DONE: _l("Done"),
    StepState.SKIPPED: _l("Skipped"),
}


@dataclass(frozen=True)
class Column:
    header: str
    kind: str = TEXT


@dataclass
class Table:
    dataset: Dataset
    title: str
    columns: list[Column]
    rows: list[tuple] = field(default_factory=list)
    #: Tells apart the files of a dataset of several tables (CSV): `<stem>-<dataset>-<name>.csv`.
    name: str = ""

    @property
    def file_part(self) -> str:
        return f"{self.dataset.value}-{self.name}" if self.name else self.dataset.value


def local_day(moment: datetime | None) -> date | None:
    """The Dutch calendar day of a stored UTC moment."""
    moment = as_utc(moment)
    return moment.astimezone(LOCAL_ZONE).date() if moment is not None else None


def local_moment(moment: datetime | None) -> datetime | None:
    """A stored UTC moment as Dutch wall-clock time without a zone (what a spreadsheet shows)."""
    moment = as_utc(moment)
    return moment.astimezone(LOCAL_ZONE).replace(tzinfo=None) if moment is not None else None


@dataclass(frozen=True)
class _Trajectory:
    id: uuid.UUID
    version_id: uuid.UUID
    status: TrajectoryStatus
    created_at: datetime
    completed_at: datetime | None
    learner: str
    department: str | None
    training: str
    edition: str
    coach: str | None
    manager: str | None
    template: dict
    version: int


class _Programme:
    """What several datasets share, each read once: trajectories, definitions, steps."""

    def __init__(self, locale: str, fallback: str) -> None:
        self.locale = locale
        self.fallback = fallback
        self._trajectories: list[_Trajectory] | None = None
        self._definitions: dict[uuid.UUID, TemplateDefinition] | None = None
        self._steps: dict[uuid.UUID, list] | None = None

    @property
    def trajectories(self) -> list[_Trajectory]:
        if self._trajectories is None:
            learner, manager, coach = aliased(User), aliased(User), aliased(User)
            rows = db.session.execute(
                select(
                    Trajectory.id,
                    Trajectory.template_version_id,
                    Trajectory.status,
                    Trajectory.created_at,
                    Trajectory.completed_at,
                    learner.name,
                    Department.name,
                    Training.title,
                    Edition.name,
                    coach.name,
                    manager.name,
                    ProcessTemplate.name,
                    TemplateVersion.number,
                )
                .join(learner, learner.id == Trajectory.learner_id)
                .outerjoin(Department, Department.id == learner.department_id)
                .outerjoin(manager, manager.id == learner.manager_id)
                .outerjoin(coach, coach.id == Trajectory.coach_id)
                .join(Edition, Edition.id == Trajectory.edition_id)
                .join(Training, Training.id == Edition.training_id)
                .join(TemplateVersion, TemplateVersion.id == Trajectory.template_version_id)
                .join(ProcessTemplate, ProcessTemplate.id == TemplateVersion.template_id)
                .order_by(Training.title, Edition.starts_on, learner.name, Trajectory.id)
            ).all()
            # The columns are the fields in order; mypy cannot spread a row of 13 typed columns
            # (SQLAlchemy types the first ten, then a variadic rest) into positional arguments.
            self._trajectories = [_Trajectory(*row) for row in rows]  # type: ignore[call-arg]
        return self._trajectories

    @property
    def definitions(self) -> dict[uuid.UUID, TemplateDefinition]:
        """The definition of every template version a trajectory is on (1 query)."""
        if self._definitions is None:
            version_ids = {t.version_id for t in self.trajectories}
            versions: Iterable[TemplateVersion] = (
                db.session.scalars(
                    select(TemplateVersion).where(TemplateVersion.id.in_(version_ids))
                )
                if version_ids
                else []
            )
            self._definitions = {version.id: version.content for version in versions}
        return self._definitions

    @property
    def steps(self) -> dict[uuid.UUID, list]:
        """{trajectory id: its steps in the template's order} (1 query, no free-text column)."""
        if self._steps is None:
            steps: dict[uuid.UUID, list] = defaultdict(list)
            for row in db.session.execute(
                select(
                    StepInstance.trajectory_id,
                    StepInstance.step_key,
                    StepInstance.occurrence,
                    StepInstance.state,
                    StepInstance.due_on,
                    StepInstance.starts_at,
                    StepInstance.completed_at,
                ).order_by(
                    StepInstance.trajectory_id, StepInstance.position, StepInstance.occurrence
                )
            ):
                steps[row.trajectory_id].append(row)
            self._steps = steps
        return self._steps

    def step_name(self, version_id: uuid.UUID, step_key: str) -> str:
        definition = self.definitions.get(version_id)
        spec = definition.step(step_key) if definition else None
        return spec.name_in(self.locale, self.fallback) if spec else step_key

    def named(self, texts: dict) -> str:
        return texts.get(self.locale) or texts.get(self.fallback) or next(iter(texts.values()), "")


def _trajectories(programme: _Programme) -> Table:
    table = Table(
        Dataset.TRAJECTORIES,
        str(DATASET_TITLES[Dataset.TRAJECTORIES]),
        [
            Column(gettext("Trajectory (id)")),
            Column(gettext("Learner")),
            Column(gettext("Department")),
            Column(gettext("Training")),
            Column(gettext("Edition")),
            Column(gettext("Learning coach")),
            Column(gettext("Manager")),
            Column(gettext("Process model")),
            Column(gettext("Version"), NUMBER),
            Column(gettext("Status")),
            Column(gettext("Current step")),
            Column(gettext("Started"), DAY),
            Column(gettext("Completed on"), DAY),
        ],
    )
    for t in programme.trajectories:
        current = next((step for step in programme.steps.get(t.id, []) if step.state.is_open), None)
        table.rows.append(
            (
                str(t.id),
                t.learner,
                t.department or "",
                t.training,
                t.edition,
                t.coach or "",
                t.manager or "",
                programme.named(t.template),
                t.version,
                str(STATUS_LABELS[t.status]),
                programme.step_name(t.version_id, current.step_key)
                if current is not None and t.status is TrajectoryStatus.ACTIVE
                else "",
                local_day(t.created_at),
                local_day(t.completed_at),
            )
        )
    return table


def _steps(programme: _Programme) -> Table:
    table = Table(
        Dataset.STEPS,
        str(DATASET_TITLES[Dataset.STEPS]),
        [
            Column(gettext("Trajectory (id)")),
            Column(gettext("Learner")),
            Column(gettext("Training")),
            Column(gettext("Edition")),
            Column(gettext("Step")),
            Column(gettext("Occurrence"), NUMBER),
            Column(gettext("State")),
            Column(gettext("Due"), DAY),
            Column(gettext("Appointment"), MOMENT),
            Column(gettext("Done on"), DAY),
            Column(gettext("Skipped on"), DAY),
        ],
    )
    for t in programme.trajectories:
        for step in programme.steps.get(t.id, []):
            done = local_day(step.completed_at)
            table.rows.append(
                (
                    str(t.id),
                    t.learner,
                    t.training,
                    t.edition,
                    programme.step_name(t.version_id, step.step_key),
                    step.occurrence,
                    str(STATE_LABELS[step.state]),
                    step.due_on,
                    local_moment(step.starts_at),
                    done if step.state is StepState.DONE else None,
                    done if step.state is StepState.SKIPPED else None,
                )
            )
    return table


def _goals(programme: _Programme) -> Table:
    """Per learning goal and organisation goal it is linked to (a goal linked to none: one row
    with the organisation goal empty), the goal's text where the admin may read it, and the
    attainment ratings at the evaluation where the admin may read them."""
    table = Table(
        Dataset.GOALS,
        str(DATASET_TITLES[Dataset.GOALS]),
        [
            Column(gettext("Organisation goal (code)")),
            Column(gettext("Organisation goal")),
            Column(gettext("Trajectory (id)")),
            Column(gettext("Learner")),
            Column(gettext("Training")),
            Column(gettext("Status")),
            Column(gettext("Learning goal")),
            Column(gettext("Description")),
            Column(gettext("Attainment by the learner (1-5)"), NUMBER),
            Column(gettext("Attainment by the manager (1-5)"), NUMBER),
        ],
    )
    trajectories = {t.id: t for t in programme.trajectories}
    if not trajectories:
        return table
    who_rates: dict[FieldRef, Role] = {}
    for version_id, definition in programme.definitions.items():
        who_rates.update(attainment_fields(version_id, definition))
    goals_readable = {
        version_id: may_read_goals(definition, ADMIN)
        for version_id, definition in programme.definitions.items()
    }
    query = (
        select(
            LearningGoal.id.label("learning_goal_id"),
            LearningGoal.trajectory_id,
            LearningGoal.position,
            OrganisationGoal.id.label("organisation_goal_id"),
            OrganisationGoal.code,
            OrganisationGoal.title,
            OrganisationGoal.position.label("organisation_goal_position"),
            Trajectory.template_version_id.label("version_id"),
        )
        .select_from(Trajectory)
        .join(LearningGoal, LearningGoal.trajectory_id == Trajectory.id)
        .outerjoin(LearningGoalLink, LearningGoalLink.learning_goal_id == LearningGoal.id)
        .outerjoin(OrganisationGoal, OrganisationGoal.id == LearningGoalLink.organisation_goal_id)
    )
    query, _readable = join_readable_values(query, programme.definitions, who_rates, ADMIN)
    # The goals' own text, selected only for trajectories whose template lets the admin read it.
    readable_versions = [version for version, readable in goals_readable.items() if readable]
    texts: dict[uuid.UUID, tuple[str, str]] = {}
    if readable_versions:
        texts = {
            row.id: (row.title, row.description)
            for row in db.session.execute(
                select(LearningGoal.id, LearningGoal.title, LearningGoal.description)
                .join(Trajectory, Trajectory.id == LearningGoal.trajectory_id)
                .where(Trajectory.template_version_id.in_(readable_versions))
            )
        }
    links: dict[tuple, dict] = {}
    for row in db.session.execute(query):
        key = (row.learning_goal_id, row.organisation_goal_id)
        entry = links.setdefault(
            key,
            {"row": row, Role.LEARNER: None, Role.MANAGER: None},
        )
        if row.value_field is None:
            continue
        who = who_rates.get(FieldRef(row.version_id, row.value_step_key, row.value_field))
        rating = row.value.get(str(row.learning_goal_id)) if isinstance(row.value, dict) else None
        if who is not None and isinstance(rating, int) and 1 <= rating <= 5:
            entry[who] = rating

    def order(entry: dict) -> tuple:
        row = entry["row"]
        t = trajectories[row.trajectory_id]
        goal_position = row.organisation_goal_position
        return (
            goal_position is None,
            goal_position or 0,
            row.code or "",
            t.training,
            t.learner,
            str(t.id),
            row.position,
        )

    for entry in sorted(links.values(), key=order):
        row = entry["row"]
        t = trajectories[row.trajectory_id]
        title, description = texts.get(row.learning_goal_id, ("", ""))
        table.rows.append(
            (
                row.code or "",
                programme.named(row.title) if row.title else "",
                str(t.id),
                t.learner,
                t.training,
                str(STATUS_LABELS[t.status]),
                title,
                description,
                entry[Role.LEARNER],
                entry[Role.MANAGER],
            )
        )
    return table


def _budget(programme: _Programme) -> Table:
    """Every expense of the budget ledger, oldest first: two queries (the rows, the tenant's
    names of the categories). Amounts are `Decimal` euros made from the stored cents."""
    from samenleren.budget.ledger import category_names
    from samenleren.budget.models import Actual
    from samenleren.core.money import to_decimal

    table = Table(
        Dataset.BUDGET,
        str(DATASET_TITLES[Dataset.BUDGET]),
        [
            Column(gettext("Date"), DAY),
            Column(gettext("Amount (euros)"), NUMBER),
            Column(gettext("Category")),
            Column(gettext("Training")),
            Column(gettext("Edition")),
            Column(gettext("Invoice reference")),
            Column(gettext("Description")),
        ],
    )
    names = category_names()
    rows = db.session.execute(
        select(
            Actual.spent_on,
            Actual.amount_cents,
            Actual.category,
            Training.title,
            Edition.name,
            Actual.invoice_reference,
            Actual.description,
        )
        .select_from(Actual)
        .outerjoin(
            Edition, (Edition.tenant_id == Actual.tenant_id) & (Edition.id == Actual.edition_id)
        )
        .outerjoin(
            Training,
            (Training.tenant_id == Edition.tenant_id) & (Training.id == Edition.training_id),
        )
        .order_by(Actual.spent_on, Actual.created_at)
    )
    for spent_on, cents, category, title, edition, reference, description in rows:
        table.rows.append(
            (
                spent_on,
                to_decimal(cents),
                names.get(category, category),
                title or "",
                edition or "",
                reference,
                description,
            )
        )
    return table


_BUILDERS: dict[Dataset, Callable[[_Programme], Table]] = {
    Dataset.TRAJECTORIES: _trajectories,
    Dataset.STEPS: _steps,
    Dataset.GOALS: _goals,
    Dataset.BUDGET: _budget,
}


@dataclass(frozen=True)
class Provider:
    """A dataset another domain builds (one above this layer, which exports cannot import):
    `check` turns the request's parameters into the ones kept (raising InvalidInput for bad
    ones), `build` makes its tables from them in the current tenant and language."""

    check: Callable[[Mapping[str, str]], dict[str, str]]
    build: Callable[[Mapping[str, str]], list[Table]]


_PROVIDERS: dict[Dataset, Provider] = {}


def provide(dataset: Dataset, provider: Provider) -> None:
    """Called from the providing domain's `init_app`."""
    _PROVIDERS[dataset] = provider


def provider_of(dataset: Dataset) -> Provider | None:
    return _PROVIDERS.get(dataset)


def build_tables(
    datasets: Iterable[Dataset],
    locale: str,
    fallback: str,
    progress: Callable[[int, int], None] | None = None,
    parameters: Mapping[str, str] | None = None,
) -> list[Table]:
    """The tables of `datasets` (in `Dataset` order) for the current tenant, with headers and
    labels in the active language; `progress(done, total)` after each one."""
    wanted = [dataset for dataset in Dataset if dataset in set(datasets)]
    programme = _Programme(locale, fallback)
    tables = []
    for number, dataset in enumerate(wanted, start=1):
        if dataset in _BUILDERS:
            tables.append(_BUILDERS[dataset](programme))
        else:
            provider = _PROVIDERS.get(dataset)
            if provider is None:
                raise LookupError(f"nobody provides the dataset {dataset.value}")
            tables.extend(provider.build(parameters or {}))
        if progress is not None:
            progress(number, len(wanted))
    return tables
