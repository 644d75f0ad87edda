"""The report pages and the CSV over HTTP: who may open them, what they show (and never show),
refused input, and queries per page."""

from __future__ import annotations

import csv
import io

import pytest

from tests.conftest import login
from tests.factories import add_user, get, in_tenant
from tests.insight.helpers import build_programme
from tests.test_isolation import QueryCounter

pytestmark = pytest.mark.usefixtures("english")

YEAR = "?year=2025"


@pytest.fixture
def programme(app, tenants):
    from samenleren.core.extensions import db

    with in_tenant(app, tenants["flevoland"]):
        add_user("pim.admin", "programme_admin", name="Pim Admin")
        add_user("lena.learner", "learner", name="Lena Learner")
        db.session.commit()
        return build_programme()


def _client(app, tenants, subject: str):
    client = app.test_client()
    assert login(client, tenants["flevoland"], subject).status_code == 302
    return client


def test_the_admin_reads_the_report_with_charts_and_tables(app, tenants, programme):
    admin = _client(app, tenants, "pim.admin")
    page = admin.get(f"/flevoland/insight/{YEAR}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Transfer to the work after three months" in html
    assert "63% (5 of 8)" in html  # by the learners, whole tenant
    assert "50% (3 of 6)" in html  # by the managers
    assert html.count("<svg") == 11 and html.count("<table") >= 11
    assert 'role="img"' in html and "<desc" in html
    assert "fewer than 5" in html  # training B, and A's managers
    assert "Training A" in html and "Tessa" in html
    assert "zqinsight" not in html  # no word anyone wrote: results, examples, contributions
    assert "<script" not in html.split("</head>")[1]


def test_the_manager_sees_their_team_only(app, tenants, programme):
    mila = _client(app, tenants, "mila.manager")
    html = mila.get(f"/flevoland/insight/team{YEAR}").get_data(as_text=True)
    assert "Insight into my team" in html
    assert "60% (3 of 5)" in html  # a1..a5 as the learners rate them
    row = '<th class="utrecht-table__header-cell" scope="row">{}</th>'
    assert row.format("Tessa") in html and row.format("Bram") not in html
    assert "zqinsight" not in html
    mees = _client(app, tenants, "mees.manager")
    team = mees.get(f"/flevoland/insight/team{YEAR}").get_data(as_text=True)
    assert "fewer than 5" in team and "(2 of 3)" not in team
    assert mila.get("/flevoland/insight/").status_code == 404
    assert mila.get("/flevoland/insight/report.csv").status_code == 404


def test_others_do_not_get_the_report(app, tenants, programme):
    learner = _client(app, tenants, "lena.learner")
    for path in ("/flevoland/insight/", "/flevoland/insight/team", "/flevoland/insight/report.csv"):
        assert learner.get(path).status_code == 404
    admin = _client(app, tenants, "pim.admin")
    assert admin.get("/flevoland/insight/team").status_code == 404
    assert app.test_client().get("/flevoland/insight/").status_code in {302, 303}


def test_the_csv_has_one_row_per_organisation_goal(app, tenants, programme):
    admin = _client(app, tenants, "pim.admin")
    answer = admin.get(f"/flevoland/insight/report.csv{YEAR}")
    assert answer.status_code == 200
    assert answer.mimetype == "text/csv"
    text = answer.get_data(as_text=True).lstrip("\ufeff")
    assert "zqinsight" not in text
    rows = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    with in_tenant(app, tenants["flevoland"]):
        from sqlalchemy import select

        from samenleren.core.extensions import db
        from samenleren.tenants.models import OrganisationGoal

        codes = {
            goal.id: goal.code
            for goal in db.session.scalars(select(OrganisationGoal).where(OrganisationGoal.active))
        }
    assert len(rows) == len(codes)
    by_code = {row["goal_code"]: row for row in rows}
    g1 = by_code[codes[programme.ids["G1"]]]
    assert (g1["period"], g1["period_start"], g1["period_end"]) == (
        "2025",
        "2025-01-01",
        "2025-12-31",
    )
    assert g1["trajectories"] == "6" and g1["expected_results"] == "6"
    assert (g1["rated_by_learner"], g1["transfer_by_learner_pct"]) == ("5", "60")
    assert (g1["rated_by_manager"], g1["transfer_by_manager_pct"]) == ("<5", "<5")
    g2 = by_code[codes[programme.ids["G2"]]]
    assert g2["trajectories"] == "<5"
    quarter = admin.get("/flevoland/insight/report.csv?period=quarter&year=2025&quarter=3")
    assert "2025-Q3;2025-07-01;2025-09-30" in quarter.get_data(as_text=True)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?year=20x5", "Give a year between 2000 and 2100."),
        ("?period=quarter&year=2025", "Choose a quarter."),
        ("?period=custom&from=2025-05-01&to=2025-01-01", "The end comes before the start."),
        ("?period=custom&from=gisteren&to=2025-01-01", "Give a date as YYYY-MM-DD."),
        ("?training=not-an-id", "Choose one of the options."),
        ("?period=decade", "Choose one of the options."),
    ],
)
def test_bad_filters_are_refused_with_a_message(app, tenants, programme, query, message):
    admin = _client(app, tenants, "pim.admin")
    page = admin.get(f"/flevoland/insight/{query}")
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert message in html and "<svg" not in html
    assert admin.get(f"/flevoland/insight/report.csv{query}").status_code == 422


def _spend(built, actuals: int) -> None:
    """Costs on the programme's editions and `actuals` expenses in each of three years."""
    from datetime import date

    from samenleren.budget.models import Actual
    from samenleren.catalogue.models import Edition
    from samenleren.core.extensions import db

    for key in ("edition A", "edition B"):
        edition = get(Edition, built.ids[key])
        edition.cost_fixed_cents, edition.cost_per_participant_cents = 50000, 2500
    for year in (2023, 2024, 2025):
        for n in range(actuals):
            db.session.add(
                Actual(
                    spent_on=date(year, 1 + n % 12, 1),
                    amount_cents=1000 + n,
                    category="other",
                    edition_id=built.ids["edition A"] if n % 2 else None,
                )
            )
    db.session.commit()


def test_queries_per_report_page_do_not_grow_with_the_data(app, tenants, monkeypatch):
    from samenleren.core.extensions import db

    with in_tenant(app, tenants["flevoland"]):
        add_user("pim.admin", "programme_admin", name="Pim Admin")
        db.session.commit()
    admin = _client(app, tenants, "pim.admin")
    counter = QueryCounter(app)
    counted, kept = [], []
    for prefix, extra in (("small.", 0), ("large.", 15)):
        with in_tenant(app, tenants["flevoland"]):
            built = build_programme(prefix, extra_a=extra)
            _spend(built, 1 + extra)
        monkeypatch.setitem(app.config, "SAMENLEREN_INSIGHT_CACHE_SECONDS", 0)
        admin.get(f"/flevoland/insight/{YEAR}")  # warm
        with counter.counting() as statements:
            assert admin.get(f"/flevoland/insight/{YEAR}").status_code == 200
        counted.append(len(statements))
        monkeypatch.setitem(app.config, "SAMENLEREN_INSIGHT_CACHE_SECONDS", 3600)
        admin.get(f"/flevoland/insight/{YEAR}")  # counted and kept (insight.cache)
        with counter.counting() as statements:
            assert admin.get(f"/flevoland/insight/{YEAR}").status_code == 200
        kept.append(len(statements))
    # Counted: the figures (4), the costs (4), the filter form's options (3), the admin's
    # choices and the comparison (1), the session's user and tenant (2). Kept: all but the
    # figures and the costs.
    assert counted[0] == counted[1] == 14, counted
    assert kept[0] == kept[1] == 6, kept


def test_the_edition_filter_offers_the_editions_of_the_period(app, tenants, programme, monkeypatch):
    from samenleren.insight import views

    admin = _client(app, tenants, "pim.admin")

    def editions(query: str) -> list[str]:
        html = admin.get(f"/flevoland/insight/{query}").get_data(as_text=True)
        field = html.split('name="edition"')[1].split("</select>")[0]
        return [part.split("<")[0] for part in field.split(">")[2:] if "·" in part]

    assert editions(YEAR) == ["Training A · Editie A", "Training B · Editie B"]
    assert editions("?year=2024") == []
    training_b = programme.ids["training B"]
    assert editions(f"{YEAR}&training={training_b}") == ["Training B · Editie B"]
    # A large province: the editions of one training at a time.
    monkeypatch.setattr(views, "EDITION_CHOICES", 1)
    html = admin.get(f"/flevoland/insight/{YEAR}").get_data(as_text=True)
    assert "choose a training first" in html and editions(YEAR) == []
    assert editions(f"{YEAR}&training={training_b}") == ["Training B · Editie B"]
