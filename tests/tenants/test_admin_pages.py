"""The programme administrator's pages of the tenant: organisation goals, programme settings."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.coaching.helpers import client_as, post
from tests.factories import build_world, in_tenant

pytestmark = pytest.mark.usefixtures("english")

GOALS = "/flevoland/organisation-goals/"


def _goals(app, tenant) -> list[tuple[str, dict, dict, int, bool]]:
    """(code, title, description, position, active) of every goal, in the order shown."""
    from samenleren.core.extensions import db
    from samenleren.tenants.models import OrganisationGoal

    with in_tenant(app, tenant):
        return [
            (g.code, g.title, g.description, g.position, g.active)
            for g in db.session.scalars(
                select(OrganisationGoal).order_by(OrganisationGoal.position, OrganisationGoal.code)
            )
        ]


def _codes(app, tenant) -> list[str]:
    return [code for code, *_ in _goals(app, tenant)]


def _settings(app, tenant) -> tuple[bool, bool]:
    from samenleren.core.extensions import db
    from samenleren.core.tenant import Tenant

    with app.app_context():
        row = db.session.get(Tenant, tenant.id)
        return row.learners_choose_coach, row.goals_require_organisation_goal


@pytest.fixture
def world(app, tenants):
    with in_tenant(app, tenants["flevoland"]):
        return build_world(tenants["flevoland"])


@pytest.fixture
def admin(app, tenants, world):
    return client_as(app, tenants["flevoland"], "admin")


def test_the_list_shows_every_goal_in_order_with_its_active_flag(app, tenants, world, admin):
    page = admin.get(GOALS).get_data(as_text=True)
    positions = [
        page.index(f'<td class="utrecht-table__cell">{c}</td>')
        for c in _codes(app, tenants["flevoland"])
    ]
    assert positions == sorted(positions) and len(positions) == 4
    assert "A sustainable and accessible province" in page  # the English title, in English
    # The first goal cannot move up, the last cannot move down.
    first = page[positions[0] : positions[1]]
    assert 'value="up"' not in first and 'value="down"' in first
    last = page[positions[3] :]
    assert 'value="up"' in last and 'value="down"' not in last


def test_admin_adds_a_goal_last_with_its_texts(app, tenants, world, admin):
    flevoland = tenants["flevoland"]
    answer = post(
        admin,
        flevoland,
        f"{GOALS}new",
        {
            "code": "OD5",
            "title_nl": "Een gezonde leefomgeving",
            "title_en": "A healthy living environment",
            "title_fy": "",
            "description_nl": "Schone lucht en water.",
        },
    )
    assert answer.status_code == 303
    assert answer.headers["Location"].endswith(GOALS)
    code, title, description, position, active = _goals(app, flevoland)[-1]
    assert code == "OD5" and position == 4 and active
    assert title == {"nl": "Een gezonde leefomgeving", "en": "A healthy living environment"}
    assert description == {"nl": "Schone lucht en water."}
    listing = admin.get(GOALS).get_data(as_text=True)
    assert "The organisation goal is added." in listing
    assert listing.index("A healthy living environment") > listing.index("Good service")


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"code": "od1"}, "code", "Another organisation goal has the code od1"),
        ({"code": ""}, "code", "short code"),
        ({"code": "OD 5"}, "code", "letters, digits"),
        ({"title_nl": "  "}, "title_nl", "title in Dutch"),
        ({"title_en": "x" * 301}, "title_en", "At most 300 characters"),
    ],
)
def test_a_refused_goal_is_not_added(app, tenants, world, admin, data, field, message):
    before = _goals(app, tenants["flevoland"])
    sent = {"code": "OD5", "title_nl": "Gezond", "description_en": "Kept in the form"} | data
    answer = post(admin, tenants["flevoland"], f"{GOALS}new", sent)
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    assert re.search(rf'id="err-{field}">[^<]*{message}', page), page
    assert re.search(rf'name="{field}"[^>]*aria-invalid="true"', page)
    assert "Kept in the form" in page
    assert _goals(app, tenants["flevoland"]) == before


def test_admin_edits_and_deactivates_a_goal_that_is_kept(app, tenants, world, admin):
    flevoland = tenants["flevoland"]
    goal_id = world.organisation_goals[1]
    path = f"{GOALS}{goal_id}/edit"
    form = admin.get(path).get_data(as_text=True)
    assert 'value="OD2"' in form and 'value="Een sterke regionale economie"' in form
    answer = post(
        admin,
        flevoland,
        path,
        {"code": "OD2", "title_nl": "Een sterke economie", "title_en": "A strong economy"},
    )  # no "active": the box was unticked
    assert answer.status_code == 303
    code, title, _, position, active = _goals(app, flevoland)[1]
    assert (code, title, position, active) == (
        "OD2",
        {"nl": "Een sterke economie", "en": "A strong economy"},
        1,
        False,
    )
    listing = admin.get(GOALS).get_data(as_text=True)
    assert "A strong economy" in listing and "not offered for new learning goals" in listing

    # Active again; a code taken by another goal is refused and changes nothing.
    sent = {"code": "OD2", "title_nl": "Een sterke economie", "active": "yes"}
    assert post(admin, flevoland, path, sent).status_code == 303
    assert _goals(app, flevoland)[1][4] is True
    refused = post(admin, flevoland, path, sent | {"code": "OD3"})
    assert refused.status_code == 422
    assert _codes(app, flevoland) == ["OD1", "OD2", "OD3", "OD4"]


def test_goals_move_up_and_down_without_drag_and_drop(app, tenants, world, admin):
    flevoland = tenants["flevoland"]
    first, second, _, last = world.organisation_goals
    answer = post(admin, flevoland, f"{GOALS}{second}/move", {"direction": "up"})
    assert answer.status_code == 303
    assert answer.headers["Location"].endswith(f"{GOALS}#goal-{second}")
    assert _codes(app, flevoland) == ["OD2", "OD1", "OD3", "OD4"]
    assert [g[3] for g in _goals(app, flevoland)] == [0, 1, 2, 3]
    post(admin, flevoland, f"{GOALS}{first}/move", {"direction": "down"})
    assert _codes(app, flevoland) == ["OD2", "OD3", "OD1", "OD4"]
    # At the ends nothing moves.
    assert post(admin, flevoland, f"{GOALS}{last}/move", {"direction": "down"}).status_code == 303
    assert post(admin, flevoland, f"{GOALS}{second}/move", {"direction": "up"}).status_code == 303
    assert _codes(app, flevoland) == ["OD2", "OD3", "OD1", "OD4"]
    refused = post(admin, flevoland, f"{GOALS}{first}/move", {"direction": "sideways"})
    assert refused.status_code == 422
    assert _codes(app, flevoland) == ["OD2", "OD3", "OD1", "OD4"]


def test_programme_settings_are_saved(app, tenants, world, admin):
    flevoland = tenants["flevoland"]
    before, theirs = _settings(app, flevoland), _settings(app, tenants["gelderland"])
    page = admin.get("/flevoland/settings/programme").get_data(as_text=True)
    assert 'for="in-learners_choose_coach"' in page
    answer = post(
        admin, flevoland, "/flevoland/settings/programme", {"learners_choose_coach": "yes"}
    )
    assert answer.status_code == 303
    assert _settings(app, flevoland) == (True, False)
    assert before != (True, False)
    page = admin.get("/flevoland/settings/programme").get_data(as_text=True)
    assert re.search(r'name="learners_choose_coach"[^>]*checked', page)
    assert not re.search(r'name="goals_require_organisation_goal"[^>]*checked', page)
    post(
        admin,
        flevoland,
        "/flevoland/settings/programme",
        {"goals_require_organisation_goal": "yes"},
    )
    assert _settings(app, flevoland) == (False, True)
    assert _settings(app, tenants["gelderland"]) == theirs  # the other tenant is untouched


@pytest.mark.parametrize("person", ["learner", "coach", "manager", "trainer"])
def test_the_admin_pages_look_missing_to_everyone_else(app, tenants, world, person):
    flevoland = tenants["flevoland"]
    goals, settings = _goals(app, flevoland), _settings(app, flevoland)
    client = client_as(app, flevoland, person)
    goal = world.organisation_goals[1]
    for path in (GOALS, f"{GOALS}new", f"{GOALS}{goal}/edit", "/flevoland/settings/programme"):
        assert client.get(path).status_code == 404, path
    writes = {
        f"{GOALS}new": {"code": "OD9", "title_nl": "Nee"},
        f"{GOALS}{goal}/edit": {"code": "OD9", "title_nl": "Nee"},
        f"{GOALS}{goal}/move": {"direction": "up"},
        "/flevoland/settings/programme": {"learners_choose_coach": "yes"},
    }
    for path, data in writes.items():
        assert post(client, flevoland, path, data).status_code == 404, path
    assert _goals(app, flevoland) == goals
    assert _settings(app, flevoland) == settings


def test_another_tenants_goal_is_missing(app, tenants, world, admin):
    with in_tenant(app, tenants["gelderland"]):
        theirs = build_world(tenants["gelderland"])
    goal = theirs.organisation_goals[1]
    before = _goals(app, tenants["gelderland"])
    assert admin.get(f"{GOALS}{goal}/edit").status_code == 404
    sent = {"direction": "up"}
    assert post(admin, tenants["flevoland"], f"{GOALS}{goal}/move", sent).status_code == 404
    sent = {"code": "X", "title_nl": "Overgenomen"}
    assert post(admin, tenants["flevoland"], f"{GOALS}{goal}/edit", sent).status_code == 404
    assert _goals(app, tenants["gelderland"]) == before


def test_queries_on_the_goals_page_are_few_and_constant(app, tenants, world, admin):
    from samenleren.core.extensions import db
    from samenleren.tenants.models import OrganisationGoal
    from tests.test_isolation import QueryCounter

    def count() -> int:
        counter = QueryCounter(app)
        admin.get(GOALS)
        with counter.counting() as statements:
            assert admin.get(GOALS).status_code == 200
        return len(statements)

    small = count()
    with in_tenant(app, tenants["flevoland"]):
        db.session.add_all(
            OrganisationGoal(code=f"X{i}", title={"nl": f"Doel {i}"}, position=10 + i)
            for i in range(40)
        )
        db.session.commit()
    assert count() == small <= 8
    assert admin.get(GOALS).get_data(as_text=True).count("/edit") == 44
