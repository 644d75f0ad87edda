"""The budget pages: only programme admins, forms that refuse bad input and change nothing,
the import page, the edition form's costs, and a constant number of queries per page."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from tests.budget.helpers import book, edition_year, set_costs
from tests.coaching.helpers import client_as, post
from tests.factories import add_user, build_world, get, in_tenant
from tests.test_isolation import QueryCounter

pytestmark = pytest.mark.usefixtures("english")

PAGES = [
    "/flevoland/budget/",
    "/flevoland/budget/?year=2027",
    "/flevoland/budget/actuals/new",
    "/flevoland/budget/import",
    "/flevoland/budget/plan?year=2027",
    "/flevoland/budget/categories",
]


@pytest.fixture
def world(app, tenants):
    with in_tenant(app, tenants["flevoland"]):
        return build_world(tenants["flevoland"])


def _count(app, tenant, model=None):
    from samenleren.budget.models import Actual
    from samenleren.core.extensions import db

    with in_tenant(app, tenant):
        return db.session.scalar(select(func.count()).select_from(model or Actual))


def test_the_budget_pages_are_for_programme_admins_only(app, tenants, world):
    admin = client_as(app, tenants["flevoland"], "admin")
    for path in PAGES:
        assert admin.get(path).status_code == 200, path
    home = admin.get("/flevoland/").get_data(as_text=True)
    assert 'href="/flevoland/budget/"' in home  # in the navigation and on the dashboard
    for person in ("learner", "manager", "coach", "trainer"):
        client = client_as(app, tenants["flevoland"], person)
        for path in PAGES:
            assert client.get(path).status_code == 404, (person, path)
        answer = post(
            client,
            tenants["flevoland"],
            "/flevoland/budget/actuals/new",
            {"spent_on": "2027-01-01", "amount": "10", "category": "other"},
        )
        assert answer.status_code == 404
    assert _count(app, tenants["flevoland"]) == 0
    anonymous = app.test_client()
    assert anonymous.get("/flevoland/budget/").status_code == 302


@pytest.mark.parametrize("year", ["1999", "abc", "20270"])
def test_an_impossible_year_looks_missing(app, tenants, world, year):
    admin = client_as(app, tenants["flevoland"], "admin")
    assert admin.get(f"/flevoland/budget/?year={year}").status_code == 404


def test_the_overview_shows_budget_commitments_expenses_and_costs(app, tenants, world):
    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        from samenleren.core.extensions import db

        set_costs(world, 100000, 5000)
        year = edition_year(world)
        book(world, 25000, on=date(year, 1, 10), category="venues")
        db.session.commit()
    admin = client_as(app, flevoland, "admin")
    page = admin.get(f"/flevoland/budget/?year={year}").get_data(as_text=True)
    assert f"Budget {year}" in page
    assert "€\u00a05,000.00" in page  # the manifest's amount
    assert "€\u00a01,050.00" in page  # committed: 1,000 fixed + 50 for the one learner
    assert "€\u00a0250.00" in page  # spent
    assert "€\u00a01,300.00" in page  # forecast
    assert "€\u00a03,700.00" in page  # remaining
    assert "Training van flevoland · Editie flevoland" in page
    assert "Cost per learner" in page and "€\u00a01,300.00" in page
    assert f'href="/flevoland/budget/?year={year + 1}"' in page


def test_an_expense_is_added_changed_and_removed_through_the_forms(app, tenants, world):
    from samenleren.budget.models import Actual
    from samenleren.core.extensions import db

    flevoland = tenants["flevoland"]
    admin = client_as(app, flevoland, "admin")
    form = admin.get("/flevoland/budget/actuals/new").get_data(as_text=True)
    assert 'for="in-amount"' in form and "Editie flevoland" in form
    answer = post(
        admin,
        flevoland,
        "/flevoland/budget/actuals/new",
        {
            "spent_on": "2027-02-03",
            "amount": "1.234,56",
            "category": "materials",
            "edition_id": str(world.edition),
            "invoice_reference": "F-77",
            "description": "Werkboeken",
        },
    )
    assert answer.status_code == 303
    assert answer.headers["Location"].endswith("/flevoland/budget/?year=2027")
    with in_tenant(app, flevoland):
        actual = db.session.scalar(select(Actual))
        actual_id = actual.id
        assert (actual.amount_cents, actual.category, actual.edition_id) == (
            123456,
            "materials",
            world.edition,
        )
    edit = admin.get(f"/flevoland/budget/actuals/{actual_id}/edit").get_data(as_text=True)
    assert 'value="1234,56"' in edit
    answer = post(
        admin,
        flevoland,
        f"/flevoland/budget/actuals/{actual_id}/edit",
        {"spent_on": "2027-02-04", "amount": "99.95", "category": "other"},
    )
    assert answer.status_code == 303
    with in_tenant(app, flevoland):
        actual = db.session.scalar(select(Actual))
        assert (actual.amount_cents, actual.category, actual.edition_id) == (9995, "other", None)
    answer = post(admin, flevoland, f"/flevoland/budget/actuals/{actual_id}/delete")
    assert answer.status_code == 303
    assert _count(app, flevoland) == 0


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"amount": "12,345"}, "amount", "at most two decimals"),
        ({"amount": "twaalf"}, "amount", "Give an amount in euros"),
        ({"amount": ""}, "amount", "Give the amount in euros."),
        ({"amount": "0"}, "amount", "other than 0"),
        ({"spent_on": "03-02-2027"}, "spent_on", "Give a date such as"),
        ({"spent_on": "1850-01-01"}, "spent_on", "Give a date between"),
        ({"category": "reizen"}, "category", "Choose a category"),
        ({"edition_id": "not-an-id"}, "edition_id", "Choose an edition"),
        ({"invoice_reference": "x" * 101}, "invoice_reference", "100 characters"),
    ],
)
def test_a_refused_expense_is_shown_again_with_its_message_and_nothing_is_booked(
    app, tenants, world, data, field, message
):
    flevoland = tenants["flevoland"]
    admin = client_as(app, flevoland, "admin")
    values = {"spent_on": "2027-02-03", "amount": "10", "category": "other"} | data
    answer = post(admin, flevoland, "/flevoland/budget/actuals/new", values)
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    error = re.search(rf'id="err-{field}">([^<]+)<', page)
    assert error and message in error.group(1)
    assert re.search(rf'name="{field}"[^>]*aria-invalid="true"', page)
    assert _count(app, flevoland) == 0


def test_another_tenants_edition_cannot_be_booked_on(app, tenants, world):
    with in_tenant(app, tenants["gelderland"]):
        theirs = build_world(tenants["gelderland"]).edition
    admin = client_as(app, tenants["flevoland"], "admin")
    answer = post(
        admin,
        tenants["flevoland"],
        "/flevoland/budget/actuals/new",
        {"spent_on": "2027-02-03", "amount": "10", "category": "other", "edition_id": theirs},
    )
    assert answer.status_code == 422
    assert _count(app, tenants["flevoland"]) == 0


def test_the_import_page_lists_every_refused_line_and_imports_nothing(app, tenants, world):
    flevoland = tenants["flevoland"]
    admin = client_as(app, flevoland, "admin")
    content = b"date;amount;category\n2027-01-01;10;venues\n2027-13-01;10;venues\n2027-01-02;x;y\n"
    answer = post(
        admin,
        flevoland,
        "/flevoland/budget/import",
        {"file": (io.BytesIO(content), "kosten.csv")},
    )
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    assert "Nothing was imported" in page
    rows = re.findall(r'sl-number">(\d+)</td>\s*<td class="utrecht-table__cell">([^<]+)<', page)
    assert [line for line, _ in rows] == ["3", "4"]
    assert "is not a date" in rows[0][1]
    assert "the amount" in rows[1][1] and "the category" in rows[1][1]
    assert _count(app, flevoland) == 0
    answer = post(admin, flevoland, "/flevoland/budget/import", {})
    assert answer.status_code == 422
    assert "Choose a CSV or Excel" in answer.get_data(as_text=True)
    good = b"date;amount;category\n2027-01-01;10;venues\n2027-01-02;20,50;materials\n"
    answer = post(
        admin, flevoland, "/flevoland/budget/import", {"file": (io.BytesIO(good), "k.csv")}
    )
    assert answer.status_code == 303
    assert _count(app, flevoland) == 2
    assert "2 expenses imported, together €\u00a030.50." in admin.get(
        answer.headers["Location"]
    ).get_data(as_text=True)


def test_the_years_budget_and_the_category_names_are_set_on_their_pages(app, tenants, world):
    from samenleren.budget.models import BudgetYear, CategoryName

    flevoland = tenants["flevoland"]
    admin = client_as(app, flevoland, "admin")
    refused = post(
        admin,
        flevoland,
        "/flevoland/budget/plan?year=2027",
        {"amount": "1000", "allocation-venues": "600", "allocation-other": "500"},
    )
    assert refused.status_code == 422
    assert "more than the budget" in refused.get_data(as_text=True)
    assert _count(app, flevoland, BudgetYear) == 0
    saved = post(
        admin,
        flevoland,
        "/flevoland/budget/plan?year=2027",
        {"amount": "6.000", "allocation-venues": "600"},
    )
    assert saved.status_code == 303
    page = admin.get("/flevoland/budget/?year=2027").get_data(as_text=True)
    assert "€\u00a06,000.00" in page and "€\u00a0600.00" in page
    refused = post(
        admin,
        flevoland,
        "/flevoland/budget/categories",
        {"name-venues": "Overig", "name-other": "overig"},
    )
    assert refused.status_code == 422
    assert _count(app, flevoland, CategoryName) == 0
    saved = post(admin, flevoland, "/flevoland/budget/categories", {"name-venues": "Zalen"})
    assert saved.status_code == 303
    assert "Zalen" in admin.get("/flevoland/budget/?year=2027").get_data(as_text=True)


def test_the_edition_form_takes_its_costs_in_euros(app, tenants, world):
    from samenleren.audit.models import AuditEvent
    from samenleren.catalogue.models import Edition
    from samenleren.core.extensions import db

    flevoland = tenants["flevoland"]
    admin = client_as(app, flevoland, "admin")
    path = f"/flevoland/editions/{world.edition}/edit"
    with in_tenant(app, flevoland):
        edition = get(Edition, world.edition)
        values = {
            "name": edition.name,
            "starts_on": edition.starts_on.isoformat(),
            "ends_on": edition.ends_on.isoformat(),
        }
    refused = post(admin, flevoland, path, values | {"cost_fixed": "12,345"})
    assert refused.status_code == 422
    assert "at most two decimals" in refused.get_data(as_text=True)
    saved = post(
        admin, flevoland, path, values | {"cost_fixed": "1.250,00", "cost_per_participant": "45"}
    )
    assert saved.status_code == 303
    with in_tenant(app, flevoland):
        edition = get(Edition, world.edition)
        assert (edition.cost_fixed_cents, edition.cost_per_participant_cents) == (125000, 4500)
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "edition.costs_changed")
        )
        assert event.details == {
            "before": {"fixed": 0, "per_participant": 0},
            "after": {"fixed": 125000, "per_participant": 4500},
        }
    form = admin.get(path).get_data(as_text=True)
    assert 'value="1250,00"' in form and 'value="45,00"' in form


# --- queries per page -------------------------------------------------------------------------


def _grow(app, tenant, world, count: int, start: int) -> None:
    """`count` more editions with costs and learners, and `count` more expenses."""
    from samenleren.catalogue.models import Edition, Enrolment, EnrolmentStatus
    from samenleren.core.db import utcnow
    from samenleren.core.extensions import db

    with in_tenant(app, tenant):
        edition = get(Edition, world.edition)
        for i in range(start, start + count):
            extra = Edition(
                training_id=world.training,
                name=f"Extra {i:03d}",
                starts_on=edition.starts_on + timedelta(days=i % 5),
                ends_on=edition.ends_on,
                cost_fixed_cents=1000,
                cost_per_participant_cents=100,
            )
            db.session.add(extra)
            db.session.flush()
            learner = add_user(f"leerling.{i}", "learner")
            db.session.add(
                Enrolment(
                    edition_id=extra.id,
                    learner_id=learner.id,
                    status=EnrolmentStatus.ENROLLED,
                    enrolled_at=utcnow(),
                )
            )
            book(world, 100 + i, on=edition.starts_on, category="other", edition=extra.id)
        db.session.commit()


def _queries(app, client, paths: list[str]) -> dict[str, list[str]]:
    counter = QueryCounter(app)
    counts = {}
    for path in paths:
        client.get(path)  # warm
        with counter.counting() as statements:
            answer = client.get(path)
        assert answer.status_code == 200, path
        counts[path] = list(statements)
    return counts


def test_queries_per_budget_page_are_few_and_constant_in_data_size(app, tenants, world):
    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        year = edition_year(world)
        actual_id = book(world, 5000, on=date(year, 1, 2)).id
        from samenleren.core.extensions import db

        db.session.commit()
    admin = client_as(app, flevoland, "admin")
    paths = [
        f"/flevoland/budget/?year={year}",
        "/flevoland/budget/actuals/new",
        f"/flevoland/budget/actuals/{actual_id}/edit",
        "/flevoland/budget/import",
        f"/flevoland/budget/plan?year={year}",
        "/flevoland/budget/categories",
    ]
    _grow(app, flevoland, world, 3, 0)
    small = _queries(app, admin, paths)
    _grow(app, flevoland, world, 30, 3)
    large = _queries(app, admin, paths)
    for path, statements in large.items():
        assert len(statements) <= 8, f"{path}: {len(statements)}\n" + "\n".join(statements)
    assert {p: len(s) for p, s in large.items()} == {p: len(s) for p, s in small.items()}
    page = admin.get(paths[0]).get_data(as_text=True)
    assert page.count('/edit"') == 34  # every expense is listed
    assert "Extra 032" in page


def test_the_overview_says_when_a_warning_went_out(app, tenants, world):
    from samenleren.core.extensions import db

    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        year = edition_year(world)
        book(world, 420000, on=date(year, 3, 1))
        db.session.commit()
    admin = client_as(app, flevoland, "admin")
    page = admin.get(f"/flevoland/budget/?year={year}").get_data(as_text=True)
    assert "Warnings sent" in page and "80% reached on" in page
    assert "100% reached" not in page
    assert "Warnings sent" not in admin.get(f"/flevoland/budget/?year={year + 1}").get_data(
        as_text=True
    )
