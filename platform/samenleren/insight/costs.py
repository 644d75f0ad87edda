"""What the programme cost, for the report: the year's budget, spent, committed and forecast,
and the cost per learner, per completed trajectory and per applied expected result (the
"rendement"), per training and per year.

The amounts come from the budget ledger (`budget.ledger`): a calendar year's cost is what was
spent in it plus what is still committed on the editions that start in it. The report's year is
the year its period ends in; budgets are kept per calendar year, so the costs are about the
whole programme of that year, whatever the filters.

An expected result counts as *applied* when the manager rated it applied in the work or exceeded
at three months (the manager's expectation at the intake is what is measured again); it belongs
to the year its edition started in, like the edition's costs. Four queries, whatever the number
of years, editions or trajectories. Every amount is an integer number of euro cents.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, extract, func, select

from samenleren.budget.ledger import (
    EditionCost,
    YearCosts,
    cost_per,
    editions_costs,
    training_costs,
    years_costs,
)
from samenleren.catalogue.models import Edition
from samenleren.core.extensions import db
from samenleren.trajectories.models import (
    ExpectedResult,
    ResultLevel,
    ResultRating,
    Trajectory,
    TrajectoryStatus,
)

#: Below this many learners a training's figures per person are not shown.
MIN_GROUP = 5
TRANSFER_LEVELS = (ResultLevel.APPLIED, ResultLevel.EXCEEDED)


@dataclass(frozen=True)
class YearRow:
    costs: YearCosts
    #: Expected results of the year's editions applied in the work (by the managers' rating).
    applied: int

    @property
    def per_applied_cents(self) -> int | None:
        return self.costs.per_applied_result_cents(self.applied)


@dataclass(frozen=True)
class TrainingRow:
    training_id: uuid.UUID
    title: str
    editions: int
    learners: int
    completed: int
    applied: int
    #: Booked on the training's editions plus their open commitments.
    cost_cents: int

    @property
    def hidden(self) -> bool:
        """A training with 1 to 4 learners: its figures per person are not shown."""
        return 0 < self.learners < MIN_GROUP

    @property
    def per_learner_cents(self) -> int | None:
        return cost_per(self.cost_cents, self.learners)

    @property
    def per_completed_cents(self) -> int | None:
        return cost_per(self.cost_cents, self.completed)

    @property
    def per_applied_cents(self) -> int | None:
        return cost_per(self.cost_cents, self.applied)


@dataclass(frozen=True)
class Costs:
    year: int
    #: The report's year and the years before it, oldest first (the last is `current`).
    years: list[YearRow]
    trainings: list[TrainingRow]
    #: The report is filtered, but the costs are about the whole programme of the year.
    filtered: bool = False

    @property
    def current(self) -> YearRow:
        return self.years[-1]


def _applied(first_year: int, last_year: int) -> dict[tuple[int, uuid.UUID], int]:
    """(year the edition started, training) -> expected results the manager rated applied or
    exceeded at three months, in trajectories not withdrawn: one query."""
    year = extract("year", Edition.starts_on)
    rows = db.session.execute(
        select(year, Edition.training_id, func.count(func.distinct(ExpectedResult.id)))
        .join(Trajectory, Trajectory.id == ExpectedResult.trajectory_id)
        .join(
            Edition,
            and_(Edition.tenant_id == Trajectory.tenant_id, Edition.id == Trajectory.edition_id),
        )
        .join(ResultRating, ResultRating.expected_result_id == ExpectedResult.id)
        .where(
            ResultRating.moment == "three_months",
            ResultRating.rater_role == "manager",
            ResultRating.level.in_(TRANSFER_LEVELS),
            Trajectory.status != TrajectoryStatus.WITHDRAWN,
            Edition.cancelled.is_(False),
            Edition.starts_on >= date(first_year, 1, 1),
            Edition.starts_on <= date(last_year, 12, 31),
        )
        .group_by(year, Edition.training_id)
    )
    return {(int(y), training): int(count) for y, training, count in rows}


def _trainings(
    year: int, editions: list[EditionCost], applied: dict[tuple[int, uuid.UUID], int]
) -> list[TrainingRow]:
    return [
        TrainingRow(
            training_id=cost.training_id,
            title=cost.title,
            editions=cost.editions,
            learners=cost.enrolled,
            completed=cost.completed,
            applied=applied.get((year, cost.training_id), 0),
            cost_cents=cost.cost_cents,
        )
        for cost in training_costs([e for e in editions if e.starts_on.year == year])
    ]


def programme_costs(
    year: int, years: int, *, filtered: bool = False, training: uuid.UUID | None = None
) -> Costs:
    """The costs of `year` and of the `years` - 1 years before it (four queries); with
    `training`, the table per training shows that training only."""
    first = year - years + 1
    editions = editions_costs(first, year)
    applied = _applied(first, year)
    per_year: dict[int, int] = defaultdict(int)
    for (y, _), count in applied.items():
        per_year[y] += count
    return Costs(
        year=year,
        years=[
            YearRow(costs, per_year[costs.year]) for costs in years_costs(first, year, editions)
        ],
        trainings=[
            row
            for row in _trainings(year, editions, applied)
            if training is None or row.training_id == training
        ],
        filtered=filtered,
    )
