"""The report's costs against figures computed by hand (cents), on the year of
`tests.insight.helpers` with these costs added:

    budget 2025                                   500000
    edition A: fixed 120000 + 5000 x 7 enrolled   155000 committed, 100000 booked: 55000 open
    edition B: fixed 0 + 10000 x 3 enrolled        30000 committed, nothing booked: 30000 open
    actuals 2025: 100000 (on A) + 12345 (venues) = 112345 spent
    forecast (spent + open) = 112345 + 85000     = 197345: 39 % of the budget, within it

    learners 2025 (a1..a6, aw, b1..b3)  10  -> 19734.5 -> 19735 per learner (half up)
    completed (a1, a2, a3)               3  -> 65781.67 -> 65782 per completed trajectory
    applied at three months by managers: a1, a5 (A), b1 (B) = 3 -> 65782 per applied result
    training A: 155000; 7 learners -> 22143; 3 completed -> 51667; 2 applied -> 77500
    training B: 30000; 3 learners: fewer than 5
"""

from __future__ import annotations

from datetime import date

import pytest

from tests.factories import get, in_tenant
from tests.insight.test_pages import _client, programme  # noqa: F401

pytestmark = pytest.mark.usefixtures("english")

SECRET = "zqcost-secret"


def add_costs(app, tenant, p, budget: int = 500000) -> None:
    from samenleren.budget.models import Actual, BudgetYear
    from samenleren.catalogue.models import Edition
    from samenleren.core.extensions import db
    from samenleren.trajectories.models import Trajectory, TrajectoryStatus

    with in_tenant(app, tenant):
        db.session.add(BudgetYear(year=2025, amount_cents=budget, allocations={}))
        a = get(Edition, p.ids["edition A"])
        a.cost_fixed_cents, a.cost_per_participant_cents = 120000, 5000
        get(Edition, p.ids["edition B"]).cost_per_participant_cents = 10000
        db.session.add_all(
            [
                Actual(
                    spent_on=date(2025, 7, 15),
                    amount_cents=100000,
                    category="trainers",
                    edition_id=a.id,
                    invoice_reference=f"{SECRET}-invoice",
                    description=f"{SECRET}-description",
                ),
                Actual(
                    spent_on=date(2025, 3, 1),
                    amount_cents=12345,
                    category="venues",
                    description=f"{SECRET}-venue",
                ),
                # Another year's money is not this year's.
                Actual(spent_on=date(2024, 12, 31), amount_cents=99, category="other"),
            ]
        )
        for name in ("a1", "a2", "a3"):
            get(Trajectory, p.ids[name]).status = TrajectoryStatus.COMPLETED
        db.session.commit()


def test_the_costs_are_computed_in_cents(app, tenants, programme):  # noqa: F811
    from samenleren.insight.costs import programme_costs

    add_costs(app, tenants["flevoland"], programme)
    with in_tenant(app, tenants["flevoland"]):
        costs = programme_costs(2025, 5)
    assert [row.costs.year for row in costs.years] == [2021, 2022, 2023, 2024, 2025]
    year = costs.current.costs
    assert (year.budget_cents, year.spent_cents, year.committed_cents) == (500000, 112345, 85000)
    assert (year.cost_cents, year.used_percent, year.within_budget) == (197345, 39, True)
    assert (year.learners, year.completed, costs.current.applied) == (10, 3, 3)
    assert year.per_learner_cents == 19735
    assert year.per_completed_cents == 65782
    assert costs.current.per_applied_cents == 65782
    assert costs.years[3].costs.cost_cents == 99 and costs.years[3].applied == 0
    a, b = costs.trainings
    assert (a.title, a.cost_cents, a.learners, a.completed, a.applied) == (
        "Training A",
        155000,
        7,
        3,
        2,
    )
    assert (a.per_learner_cents, a.per_completed_cents, a.per_applied_cents) == (
        22143,
        51667,
        77500,
    )
    assert not a.hidden
    assert (b.cost_cents, b.learners, b.hidden) == (30000, 3, True)


def test_the_report_shows_the_budget_and_the_cost_per_result(app, tenants, programme):  # noqa: F811
    add_costs(app, tenants["flevoland"], programme)
    admin = _client(app, tenants, "pim.admin")
    html = admin.get("/flevoland/insight/?year=2025").get_data(as_text=True)
    nbsp = "\u00a0"
    assert "Budget 2025" in html
    assert f"39% (€{nbsp}1,973.45 of €{nbsp}5,000.00)" in html  # the headline
    for amount in ("1,123.45", "850.00", "3,026.55", "197.35", "657.82", "1,550.00", "775.00"):
        assert f"€{nbsp}{amount}" in html, amount
    assert 'id="budget-chart-title"' in html and 'id="cost_trend-table"' in html
    training_b = html.split('id="training_costs-table"')[1].split("</table>")[0]
    assert "Training B" in training_b and "fewer than 5" in training_b
    assert SECRET not in html  # no description or invoice reference anyone typed


def test_over_budget_says_so(app, tenants, programme):  # noqa: F811
    add_costs(app, tenants["flevoland"], programme, budget=150000)
    admin = _client(app, tenants, "pim.admin")
    html = admin.get("/flevoland/insight/?year=2025").get_data(as_text=True)
    assert "Spent and committed exceed the budget by €\u00a0473.45." in html
    assert "131% (€\u00a01,973.45 of €\u00a01,500.00)" in html
    # The chart's bar stops at the end of its track.
    assert 'width="300"' in html


def test_a_filtered_report_keeps_the_years_costs_and_its_own_training(app, tenants, programme):  # noqa: F811
    add_costs(app, tenants["flevoland"], programme)
    admin = _client(app, tenants, "pim.admin")
    html = admin.get(
        f"/flevoland/insight/?year=2025&training={programme.ids['training B']}"
    ).get_data(as_text=True)
    assert "the filters do not apply to them" in html
    per_training = html.split('id="training_costs-table"')[1].split("</table>")[0]
    assert "Training B" in per_training and "Training A" not in per_training


def test_a_manager_sees_no_costs(app, tenants, programme):  # noqa: F811
    add_costs(app, tenants["flevoland"], programme)
    mila = _client(app, tenants, "mila.manager")
    html = mila.get("/flevoland/insight/team?year=2025").get_data(as_text=True)
    assert "Budget 2025" not in html and "€" not in html


def test_the_start_page_card_is_the_reports_headline(app, tenants, programme):  # noqa: F811
    from samenleren.core.extensions import db
    from samenleren.insight.figures import card
    from tests.insight.helpers import build_programme

    add_costs(app, tenants["flevoland"], programme)
    # Gelderland's own programme, ratings and money never count in Flevoland's card.
    with in_tenant(app, tenants["gelderland"]):
        from samenleren.budget.models import Actual, BudgetYear

        other = build_programme("gld.")
        db.session.add(BudgetYear(year=2025, amount_cents=100, allocations={}))
        db.session.add(Actual(spent_on=date(2025, 5, 1), amount_cents=777700, category="other"))
        db.session.commit()
        assert card(date(2025, 12, 1)).budget.used_cents == 777700
    assert other.ids
    with in_tenant(app, tenants["flevoland"]):
        found = card(date(2025, 12, 1))
    assert (found.transfer.part, found.transfer.whole, found.transfer.percent) == (3, 6, 50)
    assert (found.budget.budget_cents, found.budget.used_cents) == (500000, 197345)
    assert found.budget.used_percent == 39
    # The page shows it with a link to the report; this year nothing is rated yet.
    admin = _client(app, tenants, "pim.admin")
    html = admin.get("/flevoland/dashboard/programme").get_data(as_text=True)
    section = html.split('id="insight-card"')[1].split("</section>")[0]
    assert "/flevoland/insight/" in section and "The programme report" in section
    assert "Transfer after three months, according to the managers" in section
    assert SECRET not in html and "zqinsight" not in html
