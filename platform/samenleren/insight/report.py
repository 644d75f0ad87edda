"""The report's sections, each a small function from the figures to a `Section` (a chart's
bars and the data table behind it), so another section (costs, from a budget domain) is one
more function in `SECTIONS`. Pages, the CSV and exports all read these.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flask_babel import get_locale, gettext
from flask_babel import lazy_gettext as _l

from samenleren.core.tenancy import require_tenant
from samenleren.insight.figures import Count, Figures, Share

#: The text shown instead of a figure about fewer than five learners.
FEWER_THAN_5 = _l("fewer than 5")


@dataclass(frozen=True)
class Bar:
    label: str
    #: 0-100; None: not shown (too few learners, or nothing rated).
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


def headline(found: Figures) -> list[tuple[str, str]]:
    """The figures at the top of the report."""
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
    ]


#: The report's sections in order. A section about costs joins here as one more function.
SECTIONS: list[Callable[[Figures], Section]] = [
    transfer_section,
    goals_section,
    trainings_section,
    trainers_section,
    involvement_section,
    together_section,
    funnel_section,
    trend_section,
]


def sections(f: Figures) -> list[Section]:
    return [build(f) for build in SECTIONS]
