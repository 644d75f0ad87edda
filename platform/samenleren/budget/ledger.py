"""Reading the ledger: a year's budget, commitments from the catalogue, actuals, the forecast,
the warnings at 80 % and 100 %, and what the programme costs per learner and per result.

Commitments are not stored: an edition that is planned (not cancelled) commits its fixed cost
plus its cost per participant for every enrolled learner, in the year it starts. Money booked
on an edition (an actual with that edition) is taken off its commitment, so an invoice is never
counted twice; what is left is the *open* commitment. All of it comes from one query over the
editions (`edition_costs`), so a page costs the same number of queries for any number of them.

Every amount is an integer number of euro cents.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, case, func, literal, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from samenleren.budget.models import (
    DEFAULT_NAMES,
    EDITION_CATEGORY,
    Actual,
    BudgetYear,
    Category,
    CategoryName,
)
from samenleren.catalogue.models import Edition, Enrolment, EnrolmentStatus, Training
from samenleren.core import signals
from samenleren.core.db import utcnow
from samenleren.core.extensions import db
from samenleren.core.formatting import local_today
from samenleren.core.money import divide
from samenleren.core.tenancy import require_tenant
from samenleren.trajectories.models import Trajectory, TrajectoryStatus

#: The shares of the budget at which the programme admins are warned, once each per year.
THRESHOLDS = (80, 100)


def year_bounds(year: int) -> tuple[date, date]:
    return date(year, 1, 1), date(year, 12, 31)


def category_names() -> dict[str, str]:
    """Category key -> the name to show: the tenant's own, else the usual one (translated)."""
    own: dict[str, str] = dict(
        db.session.execute(select(CategoryName.category, CategoryName.name)).all()
    )
    return {str(key): own.get(key) or str(label) for key, label in DEFAULT_NAMES.items()}


def default_amount() -> int | None:
    """The tenant's yearly budget from its manifest, in cents (None: none given)."""
    return require_tenant().budget_yearly_cents


def find_year(year: int) -> BudgetYear | None:
    return db.session.scalar(select(BudgetYear).where(BudgetYear.year == year))


def budget_year(year: int, *, lock: bool = False) -> BudgetYear | None:
    """The year's budget row; made from the manifest's amount when there is none yet (None when
    there is neither). `lock`: hold the row until the commit (checking the thresholds)."""
    query = select(BudgetYear).where(BudgetYear.year == year)
    if lock:
        query = query.with_for_update()
    row = db.session.scalar(query)
    if row is not None:
        return row
    amount = default_amount()
    if amount is None:
        return None
    row = BudgetYear(year=year, amount_cents=amount, allocations={})
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:  # made at the same moment by another request
        return db.session.scalar(query)
    return row


# --- commitments from the catalogue -----------------------------------------------------------


@dataclass(frozen=True)
class EditionCost:
    edition_id: uuid.UUID
    edition_name: str
    training_id: uuid.UUID
    training_title: str
    starts_on: date
    enrolled: int
    completed: int
    #: fixed + per participant x enrolled.
    committed_cents: int
    #: Actuals booked on this edition (any year).
    booked_cents: int

    @property
    def open_cents(self) -> int:
        """What is still to be invoiced: the commitment less what was booked on it."""
        return max(self.committed_cents - self.booked_cents, 0)


def _enrolled_of_edition() -> Any:
    """How many are enrolled in the edition of the outer query (a correlated subquery)."""
    return (
        select(func.count(Enrolment.id))
        .where(
            Enrolment.tenant_id == Edition.tenant_id,
            Enrolment.edition_id == Edition.id,
            Enrolment.status == EnrolmentStatus.ENROLLED,
        )
        .correlate(Edition)
        .scalar_subquery()
    )


def _booked_on_edition() -> Any:
    """What was booked on the edition of the outer query, in cents (a correlated subquery)."""
    return (
        select(func.coalesce(func.sum(Actual.amount_cents), 0))
        .where(Actual.tenant_id == Edition.tenant_id, Actual.edition_id == Edition.id)
        .correlate(Edition)
        .scalar_subquery()
    )


def edition_costs(year: int) -> list[EditionCost]:
    """Every planned (not cancelled) edition starting in `year`, with its commitment: one query."""
    return editions_costs(year, year)


def editions_costs(first_year: int, last_year: int) -> list[EditionCost]:
    """`edition_costs` of every year from `first_year` to `last_year`, in one query."""
    first, last = year_bounds(first_year)[0], year_bounds(last_year)[1]
    enrolled = _enrolled_of_edition()
    completed = (
        select(func.count(Trajectory.id))
        .where(
            Trajectory.tenant_id == Edition.tenant_id,
            Trajectory.edition_id == Edition.id,
            Trajectory.status == TrajectoryStatus.COMPLETED,
        )
        .correlate(Edition)
        .scalar_subquery()
    )
    booked = _booked_on_edition()
    # Ten columns: beyond SQLAlchemy's typed rows, so typed here.
    rows: Sequence[Any] = db.session.execute(
        select(
            Edition.id,
            Edition.name,
            Training.id,
            Training.title,
            Edition.starts_on,
            Edition.cost_fixed_cents,
            Edition.cost_per_participant_cents,
            enrolled,
            completed,
            booked,
        )
        .join(
            Training,
            and_(Training.tenant_id == Edition.tenant_id, Training.id == Edition.training_id),
        )
        .where(
            Edition.cancelled.is_(False),
            Edition.starts_on >= first,
            Edition.starts_on <= last,
        )
        .order_by(Edition.starts_on, Training.title, Edition.name)
    ).all()
    return [
        EditionCost(
            edition_id=edition_id,
            edition_name=name,
            training_id=training_id,
            training_title=title,
            starts_on=starts_on,
            enrolled=int(count or 0),
            completed=int(done or 0),
            committed_cents=fixed + per_participant * int(count or 0),
            booked_cents=int(booked_sum or 0),
        )
        for (
            edition_id,
            name,
            training_id,
            title,
            starts_on,
            fixed,
            per_participant,
            count,
            done,
            booked_sum,
        ) in rows
    ]


def money_by_year(first_year: int, last_year: int) -> tuple[dict[int, int], dict[int, int | None]]:
    """For the years from `first_year` to `last_year`: year -> cents spent in it, and year ->
    the year's budget (its own amount, else the manifest's). One query (a UNION ALL)."""
    year = func.extract("year", Actual.spent_on)
    spent = (
        select(literal("spent").label("kind"), year.label("year"), func.sum(Actual.amount_cents))
        .where(
            Actual.spent_on >= year_bounds(first_year)[0],
            Actual.spent_on <= year_bounds(last_year)[1],
        )
        .group_by(year)
    )
    budgets = select(literal("budget"), BudgetYear.year, BudgetYear.amount_cents).where(
        BudgetYear.year >= first_year, BudgetYear.year <= last_year
    )
    found: dict[str, dict[int, int]] = {"spent": {}, "budget": {}}
    for kind, y, cents in db.session.execute(spent.union_all(budgets)):
        found[kind][int(y)] = int(cents or 0)
    default = default_amount()
    return found["spent"], {
        y: found["budget"].get(y, default) for y in range(first_year, last_year + 1)
    }


def spent_by_category(year: int) -> dict[str, int]:
    first, last = year_bounds(year)
    rows = db.session.execute(
        select(Actual.category, func.sum(Actual.amount_cents))
        .where(Actual.spent_on >= first, Actual.spent_on <= last)
        .group_by(Actual.category)
    )
    return {category: int(total or 0) for category, total in rows}


def actuals_of(year: int) -> list[Actual]:
    """The year's actuals, newest first, each with its edition and training (one query)."""
    first, last = year_bounds(year)
    return list(
        db.session.scalars(
            select(Actual)
            .where(Actual.spent_on >= first, Actual.spent_on <= last)
            .options(
                # The training's departments are not shown: not loaded (no extra query).
                joinedload(Actual.edition)
                .joinedload(Edition.training)
                .lazyload(Training.departments)
            )
            .order_by(Actual.spent_on.desc(), Actual.created_at.desc())
        )
    )


# --- the year overview --------------------------------------------------------------------------


@dataclass(frozen=True)
class CategoryLine:
    key: str
    name: str
    #: Set aside for this category, or None when the year has no amount per category.
    allocated_cents: int | None
    committed_cents: int
    spent_cents: int

    @property
    def forecast_cents(self) -> int:
        return self.committed_cents + self.spent_cents

    @property
    def remaining_cents(self) -> int | None:
        if self.allocated_cents is None:
            return None
        return self.allocated_cents - self.forecast_cents


@dataclass(frozen=True)
class YearOverview:
    year: int
    #: None: no budget set for the year and none in the manifest.
    budget_cents: int | None
    #: True when the amount was set for this year on the budget page (else the manifest's).
    own_amount: bool
    categories: list[CategoryLine]
    editions: list[EditionCost]
    #: Spending at the pace so far, carried to the end of the year (this year only).
    run_rate_cents: int | None
    warned: dict[int, datetime | None] = field(default_factory=dict)

    @property
    def committed_cents(self) -> int:
        return sum(line.committed_cents for line in self.categories)

    @property
    def spent_cents(self) -> int:
        return sum(line.spent_cents for line in self.categories)

    @property
    def forecast_cents(self) -> int:
        """Committed plus spent: what the year costs if nothing else is ordered."""
        return self.committed_cents + self.spent_cents

    @property
    def remaining_cents(self) -> int | None:
        if self.budget_cents is None:
            return None
        return self.budget_cents - self.forecast_cents

    @property
    def used_percent(self) -> int | None:
        if not self.budget_cents:
            return None
        return self.forecast_cents * 100 // self.budget_cents

    @property
    def unallocated_cents(self) -> int | None:
        if self.budget_cents is None:
            return None
        return self.budget_cents - sum(line.allocated_cents or 0 for line in self.categories)


def run_rate(spent_cents: int, year: int, today: date) -> int | None:
    """The year's spending at the pace so far: spent / days gone x days in the year (this year);
    what was spent (a past year); None (a year still to come)."""
    if year < today.year:
        return spent_cents
    if year > today.year:
        return None
    first, last = year_bounds(year)
    days_gone = (today - first).days + 1
    days = (last - first).days + 1
    return divide(spent_cents * days, days_gone)


def year_overview(
    year: int, *, actuals: list[Actual] | None = None, today: date | None = None
) -> YearOverview:
    """The year by category: set aside, committed (open), spent, forecast and remaining.
    `actuals`: the year's actuals when the caller loaded them anyway (the sums come from them
    instead of another query)."""
    row = find_year(year)
    budget = row.amount_cents if row is not None else default_amount()
    allocations = dict(row.allocations or {}) if row is not None else {}
    names = category_names()
    editions = edition_costs(year)
    if actuals is None:
        spent = spent_by_category(year)
    else:
        spent = defaultdict(int)
        for actual in actuals:
            spent[actual.category] += actual.amount_cents
    committed: dict[str, int] = defaultdict(int)
    committed[str(EDITION_CATEGORY)] = sum(cost.open_cents for cost in editions)
    lines = [
        CategoryLine(
            key=str(key),
            name=names[str(key)],
            allocated_cents=allocations.get(str(key)),
            committed_cents=committed[str(key)],
            spent_cents=spent.get(str(key), 0),
        )
        for key in Category
    ]
    return YearOverview(
        year=year,
        budget_cents=budget,
        own_amount=row is not None,
        categories=lines,
        editions=editions,
        run_rate_cents=run_rate(sum(spent.values()), year, today or local_today()),
        warned={80: row.warned_80_at, 100: row.warned_100_at} if row is not None else {},
    )


def used_cents(year: int) -> int:
    """Committed (open) plus spent in `year`."""
    return sum(cost.open_cents for cost in edition_costs(year)) + sum(
        spent_by_category(year).values()
    )


@dataclass(frozen=True)
class BudgetUse:
    year: int
    budget_cents: int | None
    #: Spent in the year plus the open commitments of its editions.
    used_cents: int

    @property
    def used_percent(self) -> int | None:
        if not self.budget_cents or self.budget_cents <= 0:
            return None
        return self.used_cents * 100 // self.budget_cents


def budget_use(year: int) -> BudgetUse:
    """The year's budget and what is used of it (`used_cents`), in one query."""
    return read_budget_use(year, db.session.execute(select(*budget_use_columns(year))).one())


def read_budget_use(year: int, row: Sequence[Any]) -> BudgetUse:
    """The `BudgetUse` from a row that starts with the `budget_use_columns`."""
    budget = row[0] if row[0] is not None else default_amount()
    return BudgetUse(year, budget, int(row[1] or 0) + int(row[2] or 0))


def budget_use_columns(year: int) -> list:
    """Three scalar subqueries (the year's own budget, spent, open commitments) that a page
    may put in a query of its own, to show the budget's use without a query more."""
    first, last = year_bounds(year)
    enrolled = _enrolled_of_edition()
    booked = _booked_on_edition()
    left = (
        Edition.cost_fixed_cents + Edition.cost_per_participant_cents * enrolled - booked
    ).label("left")
    editions = (
        select(left)
        .where(
            Edition.cancelled.is_(False),
            Edition.starts_on >= first,
            Edition.starts_on <= last,
        )
        .subquery()
    )
    open_cents = select(
        func.coalesce(func.sum(case((editions.c.left > 0, editions.c.left), else_=0)), 0)
    ).scalar_subquery()
    spent = (
        select(func.coalesce(func.sum(Actual.amount_cents), 0))
        .where(Actual.spent_on >= first, Actual.spent_on <= last)
        .scalar_subquery()
    )
    own = select(BudgetYear.amount_cents).where(BudgetYear.year == year).scalar_subquery()
    return [own.label("budget_own"), spent.label("budget_spent"), open_cents.label("budget_open")]


def check_thresholds(year: int) -> list[int]:
    """Warn (signal `budget_threshold_reached`) for every threshold that committed plus spent
    has reached for the first time this year; returns the thresholds warned about now.

    Called in the transaction of every change to the ledger and to commitments; the year's row
    is locked so that two changes at once cannot both warn.
    """
    row = budget_year(year, lock=True)
    if row is None or row.amount_cents <= 0:
        return []
    used = used_cents(year)
    reached = []
    for percent in THRESHOLDS:
        column = f"warned_{percent}_at"
        if getattr(row, column) is None and used * 100 >= row.amount_cents * percent:
            setattr(row, column, utcnow())
            reached.append(percent)
    if reached:
        db.session.flush()
        for percent in reached:
            signals.budget_threshold_reached.send(row, percent=percent, used_cents=used)
    return reached


# --- what the programme costs -------------------------------------------------------------------


def cost_per(total_cents: int, count: int) -> int | None:
    """`total_cents` per learner, per completed trajectory or per applied expected result:
    rounded half up to a cent; None when `count` is 0 (nothing to divide by)."""
    return divide(total_cents, count)


@dataclass(frozen=True)
class YearCosts:
    year: int
    #: Spent in the year plus what is still committed: the year's cost.
    cost_cents: int
    spent_cents: int
    committed_cents: int
    learners: int
    completed: int
    #: The year's budget, where the caller read it (None: not read, or no budget).
    budget_cents: int | None = None

    @property
    def within_budget(self) -> bool | None:
        """Spent plus committed at most the budget; None without a budget."""
        if self.budget_cents is None:
            return None
        return self.cost_cents <= self.budget_cents

    @property
    def used_percent(self) -> int | None:
        """Spent plus committed as a share of the budget (whole per cent, rounded down)."""
        if not self.budget_cents:
            return None
        return self.cost_cents * 100 // self.budget_cents

    @property
    def per_learner_cents(self) -> int | None:
        return cost_per(self.cost_cents, self.learners)

    @property
    def per_completed_cents(self) -> int | None:
        return cost_per(self.cost_cents, self.completed)

    def per_applied_result_cents(self, applied_results: int) -> int | None:
        """The cost per expected result applied in the work (counted by whoever rates them)."""
        return cost_per(self.cost_cents, applied_results)


def _learner_counts(first_year: int, last_year: int) -> dict[int, tuple[int, int]]:
    """year -> (learners with a trajectory in an edition of that year, trajectories completed)."""
    year = func.extract("year", Edition.starts_on)
    rows = db.session.execute(
        select(
            year,
            func.count(func.distinct(Trajectory.learner_id)),
            func.count(Trajectory.id).filter(Trajectory.status == TrajectoryStatus.COMPLETED),
        )
        .join(
            Edition,
            and_(Edition.tenant_id == Trajectory.tenant_id, Edition.id == Trajectory.edition_id),
        )
        .where(
            Edition.starts_on >= date(first_year, 1, 1),
            Edition.starts_on <= date(last_year, 12, 31),
        )
        .group_by(year)
    )
    return {int(y): (int(learners), int(done)) for y, learners, done in rows}


def overview_costs(overview: YearOverview) -> YearCosts:
    """`year_costs` of the year an overview shows (one query more: the learner counts)."""
    learners, completed = _learner_counts(overview.year, overview.year).get(overview.year, (0, 0))
    return YearCosts(
        year=overview.year,
        cost_cents=overview.forecast_cents,
        spent_cents=overview.spent_cents,
        committed_cents=overview.committed_cents,
        learners=learners,
        completed=completed,
    )


def year_costs(year: int) -> YearCosts:
    """What `year` costs, and per learner and per completed trajectory."""
    return years_costs(year, year)[0]


def years_costs(
    first_year: int, last_year: int, editions: list[EditionCost] | None = None
) -> list[YearCosts]:
    """`year_costs` for every year from `first_year` to `last_year` (a trend), with each year's
    budget: three queries whatever the number of years (two when the caller passes the
    years' `editions_costs`)."""
    if editions is None:
        editions = editions_costs(first_year, last_year)
    committed: dict[int, int] = defaultdict(int)
    for cost in editions:
        committed[cost.starts_on.year] += cost.open_cents
    spent, budgets = money_by_year(first_year, last_year)
    counts = _learner_counts(first_year, last_year)
    result = []
    for year in range(first_year, last_year + 1):
        learners, completed = counts.get(year, (0, 0))
        result.append(
            YearCosts(
                year=year,
                cost_cents=committed[year] + spent.get(year, 0),
                spent_cents=spent.get(year, 0),
                committed_cents=committed[year],
                learners=learners,
                completed=completed,
                budget_cents=budgets[year],
            )
        )
    return result


@dataclass(frozen=True)
class TrainingCost:
    training_id: uuid.UUID
    title: str
    editions: int
    enrolled: int
    completed: int
    #: Booked on the training's editions plus their open commitments.
    cost_cents: int

    @property
    def per_learner_cents(self) -> int | None:
        return cost_per(self.cost_cents, self.enrolled)

    @property
    def per_completed_cents(self) -> int | None:
        return cost_per(self.cost_cents, self.completed)


def training_costs(editions: list[EditionCost]) -> list[TrainingCost]:
    """Per training, from the editions of a year (`edition_costs`): no further query."""
    grouped: dict[uuid.UUID, list[EditionCost]] = defaultdict(list)
    for cost in editions:
        grouped[cost.training_id].append(cost)
    return sorted(
        (
            TrainingCost(
                training_id=training_id,
                title=items[0].training_title,
                editions=len(items),
                enrolled=sum(c.enrolled for c in items),
                completed=sum(c.completed for c in items),
                cost_cents=sum(c.booked_cents + c.open_cents for c in items),
            )
            for training_id, items in grouped.items()
        ),
        key=lambda item: item.title,
    )
