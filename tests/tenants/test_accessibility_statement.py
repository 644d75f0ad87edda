"""The tenant's accessibility statement: public, the platform default until the programme admin
writes one (audited); wrong input is explained and changes nothing."""

from __future__ import annotations

import pytest

from tests.audit.helpers import events
from tests.factories import World, build_world, in_tenant
from tests.test_isolation import QueryCounter
from tests.trajectories.test_pages import client_for

PAGE = "/flevoland/accessibility"
EDIT = "/flevoland/settings/accessibility"
GOOD = {
    "status": "B",
    "scope": "De Samen Leren-pagina's van Provincie Flevoland",
    "known_issues": "Het logo heeft geen tekstalternatief.",
    "contact": "mailto:toegankelijkheid@flevoland.example",
    "assessed_on": "2026-10-01",
}


@pytest.fixture
def world(app, tenants) -> World:
    with in_tenant(app, tenants["flevoland"]):
        return build_world(tenants["flevoland"])


def _form(client, **changes):
    client.get(EDIT)
    with client.session_transaction():
        pass
    page = client.get(EDIT).get_data(as_text=True)
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    return client.post(EDIT, data={"csrf_token": token, **GOOD, **changes})


def test_anyone_reads_the_platform_default_listing_the_axe_checks(app, world):
    answer = app.test_client().get(f"{PAGE}?lang=en")
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    assert "Partially compliant" in page
    for tag in ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa"):
        assert f"<code>{tag}</code>" in page
    assert 'href="/flevoland/accessibility"' in page  # the footer links it


def test_the_admin_writes_the_statement_and_it_is_audited(app, world):
    admin = client_for(app, world, "admin")
    admin.get("/flevoland/?lang=en")
    answer = _form(admin)
    assert answer.status_code == 303
    page = app.test_client().get(f"{PAGE}?lang=en").get_data(as_text=True)
    assert "Het logo heeft geen tekstalternatief." in page
    assert 'href="mailto:toegankelijkheid@flevoland.example"' in page
    assert '<time datetime="2026-10-01">' in page
    (changed,) = events(app, world.tenant, "accessibility_statement.changed")
    assert changed.details == {"status": "B", "assessed_on": "2026-10-01"}
    # Gelderland still shows the default.
    other = app.test_client().get("/gelderland/accessibility?lang=en").get_data(as_text=True)
    assert "tekstalternatief" not in other


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("status", "Z", "Choose a status from the list."),
        ("scope", "  ", "Say which pages and services the statement covers."),
        ("contact", "bel ons", "Give an e-mail address or an https:// address."),
        ("contact", "http://insecure.example", "Give an e-mail address or an https:// address."),
        ("assessed_on", "gisteren", "Give a date as year-month-day"),
        ("assessed_on", "2999-01-01", "cannot be in the future"),
        ("known_issues", "x" * 4001, "Use at most 4000 characters."),
    ],
)
def test_wrong_input_is_explained_and_changes_nothing(app, world, field, value, message):
    admin = client_for(app, world, "admin")
    admin.get("/flevoland/?lang=en")
    answer = _form(admin, **{field: value})
    assert answer.status_code == 422
    assert message in answer.get_data(as_text=True)
    assert "Partially compliant" in app.test_client().get(f"{PAGE}?lang=en").get_data(True)
    assert "tekstalternatief" not in app.test_client().get(PAGE).get_data(as_text=True)
    assert events(app, world.tenant, "accessibility_statement.changed") == []


@pytest.mark.parametrize("who", ["learner", "coach", "manager", "trainer"])
def test_only_the_programme_admin_edits_it(app, world, who):
    client = client_for(app, world, who)
    assert client.get(EDIT).status_code == 404
    assert client.post(EDIT, data=GOOD).status_code in {400, 404}


def test_the_public_page_costs_few_queries(app, world):
    counter = QueryCounter(app)
    client = app.test_client()
    client.get(PAGE)
    with counter.counting() as statements:
        assert client.get(PAGE).status_code == 200
    assert len(statements) <= 3, statements
