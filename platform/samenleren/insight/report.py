"""The report's sections, each a small function from the figures to a `Section` (a chart's
bars and the data table behind it), so another section (costs, from a budget domain) is one
more function in `SECTIONS`. Pages, the CSV and exports all read these.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flask_babel import get_locale, gettext
from flask_babel import lazy_gettext as _l

from samenleren.core.money import show_euros
from samenleren.core.tenancy import require_tenant
from samenleren.insight.costs import Costs
from samenleren.insight.figures import Count, Figures, Share

#: The text shown instead of a figure about fewer than five learners.
FEWER_THAN_5 = _l("fewer than 5")


@dataclass(frozen=True)
class Bar:
    label: str
    #: 0-100 (more for a budget overrun; the bar stops at the end); None: not shown (too few
    #: learners, or nothing rated).
    percent: int | None
    series: str = "primary"
    #: Not shown because fewer than five learners are behind it.
    hidden: bool = False


def bar(label: str, share: Share, series: str = "primary") -> Bar:
    return Bar(label, share.percent, series, share.hidden)


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    #: What the chart shows, in words (its text alternative).
    summary: str
    bars: list[Bar]
    columns: list[str]
    rows: list[list[str]]
    notes: list[str] = field(default_factory=list)


def show_share(share: Share) -> str:
    if share.hidden:
        return str(FEWER_THAN_5)
    if not share.whole:
        return "–"
    return gettext(
        "%(percent)d%% (%(part)d of %(whole)d)",
        percent=share.percent or 0,
        part=share.part,
        whole=share.whole,
    )


def show_count(count: Count) -> str:
    return str(FEWER_THAN_5) if count.hidden else str(count.value)


def goal_title(goal) -> str:
    tenant = require_tenant()
    locale = str(get_locale() or tenant.default_locale)
    return goal.title.get(locale) or goal.title.get(tenant.default_locale) or goal.code


def transfer_section(f: Figures) -> Section:
    t = f.transfer
    return Section(
        key="transfer",
        title=gettext("Transfer to the work after three months"),
        summary=gettext(
            "Expected results applied in the work or exceeded: %(learner)s according to the "
            "learners, %(manager)s according to the managers; they disagree on %(disagree)s.",
            learner=show_share(t.by_learner),
            manager=show_share(t.by_manager),
            disagree=show_share(t.disagreement),
        ),
        bars=[
            bar(gettext("According to the learners"), t.by_learner),
            bar(gettext("According to the managers"), t.by_manager, "secondary"),
            bar(gettext("Learner and manager disagree"), t.disagreement, "secondary"),
        ],
        columns=[gettext("Who rates"), gettext("Applied or exceeded")],
        rows=[
            [gettext("Learners"), show_share(t.by_learner)],
            [gettext("Managers"), show_share(t.by_manager)],
            [gettext("Learner and manager disagree"), show_share(t.disagreement)],
        ],
    )


def goals_section(f: Figures) -> Section:
    return Section(
        key="goals",
        title=gettext("Organisation goals"),
        summary=gettext("Transfer according to the managers, per organisation goal."),
        bars=[bar(goal_title(row.goal), row.transfer.by_manager) for row in f.goals],
        columns=[
            gettext("Organisation goal"),
            gettext("Trajectories"),
            gettext("Expected results"),
            gettext("Transfer according to the learners"),
            gettext("Transfer according to the managers"),
        ],
        rows=[
            [
                goal_title(row.goal),
                show_count(row.trajectories),
                show_count(row.expected_results),
                show_share(row.transfer.by_learner),
                show_share(row.transfer.by_manager),
            ]
            for row in f.goals
        ],
        notes=[
            gettext(
                "No training in this period for: %(goals)s.",
                goals=", ".join(goal_title(goal) for goal in f.goals_without_training),
            )
        ]
        if f.goals_without_training
        else [],
    )


def _transfer_rows(title: str, key: str, what: str, rows) -> Section:
    return Section(
        key=key,
        title=title,
        summary=gettext("Transfer according to the managers, per %(what)s.", what=what),
        bars=[bar(row.label, row.transfer.by_manager) for row in rows],
        columns=[
            what.capitalize(),
            gettext("Trajectories"),
            gettext("Transfer according to the learners"),
            gettext("Transfer according to the managers"),
        ],
        rows=[
            [
                row.label or "–",
                show_count(row.trajectories),
                show_share(row.transfer.by_learner),
                show_share(row.transfer.by_manager),
            ]
            for row in rows
        ],
    )


def trainings_section(f: Figures) -> Section:
    return _transfer_rows(gettext("Trainings"), "trainings", gettext("training"), f.trainings)


def trainers_section(f: Figures) -> Section:
    return _transfer_rows(gettext("Trainers"), "trainers", gettext("trainer"), f.trainers)


def involvement_section(f: Figures) -> Section:
    i = f.involvement
    rows = [
        (gettext("Intakes the manager took part in"), i.intakes_with_manager),
        (gettext("Evaluations the manager took part in"), i.evaluations_with_manager),
        (gettext("Intakes where the manager set the expected results"), i.intakes_by_manager),
        (gettext("Evaluations the manager rated"), i.evaluations_rated_by_manager),
        (gettext("Contributions promised that the manager reports done"), i.contributions_done),
    ]
    return Section(
        key="involvement",
        title=gettext("Managers involved"),
        summary="; ".join(f"{label}: {show_share(share)}" for label, share in rows),
        bars=[bar(label, share) for label, share in rows],
        columns=[gettext("What"), gettext("Share")],
        rows=[[label, show_share(share)] for label, share in rows],
    )


def together_section(f: Figures) -> Section:
    t = f.together
    hidden = str(FEWER_THAN_5)
    return Section(
        key="together",
        title=gettext("Learning together"),
        summary=gettext(
            "Return-day attendance %(attendance)s; coach-day attendance %(days)s.",
            attendance=show_share(t.return_day_attendance),
            days=show_share(t.coach_day_attendance),
        ),
        bars=[
            bar(gettext("Return-day attendance"), t.return_day_attendance),
            bar(gettext("Coach-day attendance"), t.coach_day_attendance),
        ],
        columns=[gettext("What"), gettext("Figure")],
        rows=[
            [gettext("Return-day attendance"), show_share(t.return_day_attendance)],
            [gettext("Coach-day attendance"), show_share(t.coach_day_attendance)],
            [gettext("Learning coaches with a learner"), hidden if t.hidden else str(t.coaches)],
            [
                gettext("Trajectories per learning coach, on average"),
                hidden if t.hidden else ("–" if t.average_load is None else str(t.average_load)),
            ],
            [
                gettext("Trajectories of the busiest learning coach"),
                hidden if t.hidden else ("–" if t.highest_load is None else str(t.highest_load)),
            ],
        ],
    )


STAGE_NAMES = {
    "enrolled": _l("Enrolled"),
    "learning_goals": _l("Learning goals set"),
    "intake": _l("Intake held"),
    "expected_results": _l("Expected results set"),
    "evaluation": _l("Evaluation held"),
    "return_day": _l("Return day held"),
    "six_months": _l("Rated after six months"),
    "completed": _l("Completed"),
    "withdrawn": _l("Withdrawn (drop-out)"),
}


def funnel_section(f: Figures) -> Section:
    enrolled = f.funnel[0].count.value if f.funnel else 0
    return Section(
        key="funnel",
        title=gettext("From enrolment to return day"),
        summary=", ".join(
            f"{STAGE_NAMES[stage.key]}: {show_count(stage.count)}" for stage in f.funnel
        ),
        bars=[
            Bar(
                str(STAGE_NAMES[stage.key]),
                None
                if stage.count.hidden or not enrolled
                else round(stage.count.value * 100 / enrolled),
                "secondary" if stage.key == "withdrawn" else "primary",
                stage.count.hidden,
            )
            for stage in f.funnel
        ],
        columns=[gettext("Stage"), gettext("Trajectories")],
        rows=[[str(STAGE_NAMES[stage.key]), show_count(stage.count)] for stage in f.funnel],
    )


def trend_section(f: Figures) -> Section:
    return Section(
        key="trend",
        title=gettext("Transfer over the years"),
        summary=", ".join(
            gettext("%(year)d: %(share)s", year=row.year, share=show_share(row.by_manager))
            for row in f.trend
        ),
        bars=[bar(str(row.year), row.by_manager) for row in f.trend],
        columns=[
            gettext("Year"),
            gettext("Transfer according to the learners"),
            gettext("Transfer according to the managers"),
        ],
        rows=[
            [str(row.year), show_share(row.by_learner), show_share(row.by_manager)]
            for row in f.trend
        ],
    )


# --- costs ----------------------------------------------------------------------------------------


def show_money(cents: int | None) -> str:
    return "–" if cents is None else show_euros(cents)


def _of_budget(cents: int, budget: int | None) -> int | None:
    """`cents` as a whole per cent of the budget (rounded half up); None without a budget."""
    if not budget or budget <= 0:
        return None
    return (cents * 200 + budget) // (budget * 2)


def _within(within: bool | None) -> str:
    if within is None:
        return "–"
    return gettext("yes") if within else gettext("no")


def budget_section(f: Figures) -> Section | None:
    if f.costs is None:
        return None
    costs: Costs = f.costs
    row = costs.current
    year = row.costs
    budget = year.budget_cents
    notes = []
    if budget is None:
        notes.append(gettext("No budget was set for %(year)d.", year=costs.year))
    elif year.within_budget is False:
        notes.append(
            gettext(
                "Spent and committed exceed the budget by %(amount)s.",
                amount=show_euros(year.cost_cents - budget),
            )
        )
    if costs.filtered:
        notes.append(
            gettext(
                "The costs are about the whole programme of the year: "
                "the filters do not apply to them."
            )
        )
    return Section(
        key="budget",
        title=gettext("Budget %(year)d", year=costs.year),
        summary=gettext(
            "Of a budget of %(budget)s, %(spent)s was spent and %(committed)s is committed: "
            "a forecast of %(forecast)s. Within budget: %(within)s.",
            budget=show_money(budget),
            spent=show_euros(year.spent_cents),
            committed=show_euros(year.committed_cents),
            forecast=show_euros(year.cost_cents),
            within=_within(year.within_budget),
        ),
        bars=[
            Bar(gettext("Spent"), _of_budget(year.spent_cents, budget)),
            Bar(gettext("Committed"), _of_budget(year.committed_cents, budget), "secondary"),
            Bar(gettext("Forecast"), _of_budget(year.cost_cents, budget)),
        ],
        columns=[gettext("What"), gettext("Amount")],
        rows=[
            [gettext("Budget"), show_money(budget)],
            [gettext("Spent"), show_euros(year.spent_cents)],
            [gettext("Committed (still to be invoiced)"), show_euros(year.committed_cents)],
            [gettext("Forecast (spent and committed)"), show_euros(year.cost_cents)],
            [
                gettext("Remaining"),
                show_money(None if budget is None else budget - year.cost_cents),
            ],
            [gettext("Within budget"), _within(year.within_budget)],
            [gettext("Learners"), str(year.learners)],
            [gettext("Completed trajectories"), str(year.completed)],
            [
                gettext("Expected results applied in the work, according to the managers"),
                str(row.applied),
            ],
            [gettext("Cost per learner"), show_money(year.per_learner_cents)],
            [gettext("Cost per completed trajectory"), show_money(year.per_completed_cents)],
            [gettext("Cost per applied expected result"), show_money(row.per_applied_cents)],
        ],
        notes=notes,
    )


def training_costs_section(f: Figures) -> Section | None:
    if f.costs is None:
        return None
    costs: Costs = f.costs
    total = sum(row.cost_cents for row in costs.trainings)
    hidden = str(FEWER_THAN_5)

    def per(row, cents: int | None) -> str:
        return hidden if row.hidden else show_money(cents)

    return Section(
        key="training_costs",
        title=gettext("Costs per training in %(year)d", year=costs.year),
        summary=gettext("Each training's share of what the editions of the year cost."),
        bars=[Bar(row.title, _of_budget(row.cost_cents, total)) for row in costs.trainings],
        columns=[
            gettext("Training"),
            gettext("Cost"),
            gettext("Learners"),
            gettext("Cost per learner"),
            gettext("Cost per completed trajectory"),
            gettext("Cost per applied expected result"),
        ],
        rows=[
            [
                row.title,
                show_euros(row.cost_cents),
                hidden if row.hidden else str(row.learners),
                per(row, row.per_learner_cents),
                per(row, row.per_completed_cents),
                per(row, row.per_applied_cents),
            ]
            for row in costs.trainings
        ],
        notes=[
            gettext(
                "A training's cost is what was booked on its editions plus what is still "
                "committed on them."
            )
        ],
    )


def cost_trend_section(f: Figures) -> Section | None:
    if f.costs is None:
        return None
    years = f.costs.years
    return Section(
        key="cost_trend",
        title=gettext("Costs over the years"),
        summary=", ".join(
            gettext(
                "%(year)d: %(percent)s of the budget",
                year=row.costs.year,
                percent="–" if row.costs.used_percent is None else f"{row.costs.used_percent}%",
            )
            for row in years
        ),
        bars=[
            Bar(str(row.costs.year), _of_budget(row.costs.cost_cents, row.costs.budget_cents))
            for row in years
        ],
        columns=[
            gettext("Year"),
            gettext("Budget"),
            gettext("Spent and committed"),
            gettext("Within budget"),
            gettext("Cost per learner"),
            gettext("Cost per completed trajectory"),
            gettext("Cost per applied expected result"),
        ],
        rows=[
            [
                str(row.costs.year),
                show_money(row.costs.budget_cents),
                show_euros(row.costs.cost_cents),
                _within(row.costs.within_budget),
                show_money(row.costs.per_learner_cents),
                show_money(row.costs.per_completed_cents),
                show_money(row.per_applied_cents),
            ]
            for row in years
        ],
    )


def headline(found: Figures) -> list[tuple[str, str]]:
    """The figures at the top of the report."""
    costs = []
    if found.costs is not None:
        year = found.costs.current.costs
        costs = [
            (
                gettext("Budget %(year)d used (spent and committed)", year=year.year),
                "–"
                if year.used_percent is None
                else gettext(
                    "%(percent)d%% (%(cost)s of %(budget)s)",
                    percent=year.used_percent,
                    cost=show_euros(year.cost_cents),
                    budget=show_money(year.budget_cents),
                ),
            ),
            (
                gettext("Cost per applied expected result in %(year)d", year=year.year),
                show_money(found.costs.current.per_applied_cents),
            ),
        ]
    return [
        (gettext("Trajectories"), show_count(found.trajectories)),
        (
            gettext("Transfer after three months, according to the managers"),
            show_share(found.transfer.by_manager),
        ),
        (
            gettext("Transfer after three months, according to the learners"),
            show_share(found.transfer.by_learner),
        ),
        (gettext("Completed"), show_share(found.completed)),
        (gettext("Withdrawn"), show_share(found.withdrawn)),
        *costs,
    ]


#: The report's sections in order; a section that has nothing to say (the costs in a manager's
#: team view) is None and left out.
SECTIONS: list[Callable[[Figures], Section | None]] = [
    transfer_section,
    goals_section,
    trainings_section,
    trainers_section,
    involvement_section,
    together_section,
    funnel_section,
    trend_section,
    budget_section,
    training_costs_section,
    cost_trend_section,
]


def sections(f: Figures) -> list[Section]:
    return [section for build in SECTIONS if (section := build(f)) is not None]
