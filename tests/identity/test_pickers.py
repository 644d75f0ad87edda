"""Every picker of people is a search: the page searches without JavaScript (matches as radio
buttons), and a JSON search per picker (static/picker.js) answers the same matches, only to
whoever may use the picker, only of the tenant, bounded, with no more than a name and what tells
two people apart."""

from __future__ import annotations

import html

import pytest
from sqlalchemy import select

from tests.coaching.helpers import client_as, post
from tests.factories import build_world, in_tenant
from tests.test_isolation import QueryCounter

pytestmark = pytest.mark.usefixtures("english")


def _worlds(app, tenants):
    worlds = {}
    for slug in ("flevoland", "gelderland"):
        with in_tenant(app, tenants[slug]):
            worlds[slug] = build_world(tenants[slug])
    return worlds


def _searches(world) -> dict[str, str]:
    """The JSON search of every picker, for `world`'s objects."""
    return {
        "coach pool": "/coaches/candidates",
        "trainer": "/trainers/search",
        "participant": f"/editions/{world.edition}/employees",
        "coach": f"/trajectories/{world.trajectory}/coach/candidates",
    }


def test_each_picker_searches_its_own_people_as_json(app, tenants):
    worlds = _worlds(app, tenants)
    world = worlds["flevoland"]
    admin = client_as(app, tenants["flevoland"], "admin")
    searches = _searches(world)

    def ids(path: str, q: str) -> list[str]:
        answer = admin.get(f"/flevoland{path}?q={q}")
        assert answer.status_code == 200, path
        assert answer.headers["Cache-Control"] == "no-store"
        matches = answer.get_json()["matches"]
        assert all(set(match) == {"id", "name", "detail"} for match in matches)
        return [match["id"] for match in matches]

    assert ids(searches["coach pool"], "cor") == [str(world.colleague)]
    assert ids(searches["coach pool"], "carla") == []  # in the pool already
    assert ids(searches["trainer"], "tina") == [str(world.trainer)]
    assert ids(searches["trainer"], "cor") == []  # no trainer role
    assert ids(searches["participant"], "cor") == [str(world.colleague)]
    assert ids(searches["participant"], "anna") == []  # enrolled already
    assert ids(searches["coach"], "otto") == [str(world.other_coach)]
    assert ids(searches["coach"], "mark") == []  # not a coach (and the learner's manager)
    for path in searches.values():
        assert ids(path, "c") == []  # one letter searches nothing
        assert ids(path, "%25") == []  # a wildcard is a character like any other
        # A control character is left out (PostgreSQL refuses a NUL): no server error.
        assert ids(path, "%00%00") == []
        ids(path, "co%00")
        # Another tenant's people are never found, whatever is typed.
        assert ids(path, "gelderland") == []


def test_a_picker_search_answers_404_to_other_roles_and_other_tenants(app, tenants):
    worlds = _worlds(app, tenants)
    world, other = worlds["flevoland"], worlds["gelderland"]
    for person in ("learner", "coach", "manager", "trainer"):
        client = client_as(app, tenants["flevoland"], person)
        for path in _searches(world).values():
            if person == "learner" and path.endswith("/coach/candidates"):
                continue  # the learner's own trajectory: below
            assert client.get(f"/flevoland{path}?q=cor").status_code == 404, (person, path)
    admin = client_as(app, tenants["flevoland"], "admin")
    for path in ("participant", "coach"):
        theirs = _searches(other)[path]
        assert admin.get(f"/flevoland{theirs}?q=cor").status_code == 404
    # The learner picks their own coach only when the tenant lets learners choose and the
    # trajectory has no coach yet.
    learner = client_as(app, tenants["flevoland"], "learner")
    own = f"/flevoland/trajectories/{world.trajectory}/coach/candidates?q=otto"
    assert learner.get(own).status_code == 404


def test_the_learner_who_chooses_finds_coaches_by_search(app, tenants):
    from samenleren.core.extensions import db
    from samenleren.core.tenant import Tenant

    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        world = build_world(flevoland, coached=False)
        db.session.scalar(
            select(Tenant).where(Tenant.id == flevoland.id)
        ).learners_choose_coach = True
        db.session.commit()
    learner = client_as(app, flevoland, "learner")
    answer = learner.get(f"/flevoland/trajectories/{world.trajectory}/coach/candidates?q=coach")
    assert answer.status_code == 200
    names = [match["name"] for match in answer.get_json()["matches"]]
    assert names == ["Carla Coach flevoland", "Otto Coach flevoland"]


def test_the_coach_page_searches_without_javascript(app, tenants):
    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        world = build_world(flevoland)
    admin = client_as(app, flevoland, "admin")
    path = f"/flevoland/trajectories/{world.trajectory}/coach"
    page = admin.get(path).get_data(as_text=True)
    assert 'role="search"' in page and 'name="q"' in page
    assert 'src="/static/picker.js?v=' in page
    found = admin.get(f"{path}?q=otto").get_data(as_text=True)
    assert f'value="{world.other_coach}"' in found
    assert f'value="{world.coach}"' not in found
    nobody = admin.get(f"{path}?q=mark").get_data(as_text=True)
    assert "No coach who may coach" in html.unescape(nobody)
    answer = post(
        admin, flevoland, path, {"coach": str(world.other_coach), "reason": "Wissel", "q": "otto"}
    )
    assert answer.status_code == 303


def test_the_edition_form_finds_the_trainer_by_search_and_keeps_what_was_typed(app, tenants):
    from samenleren.catalogue.models import Edition
    from samenleren.core.extensions import db

    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        world = build_world(flevoland)
    admin = client_as(app, flevoland, "admin")
    path = f"/flevoland/editions/{world.edition}/edit"
    page = admin.get(path).get_data(as_text=True)
    assert 'name="trainer_q"' in page and "<select" not in page.split('id="trainer_id"')[1][:400]
    # The search: the form comes back with the matches and the other fields as typed.
    searched = post(
        admin,
        flevoland,
        path,
        {
            "name": "Herfst apart",
            "starts_on": "2031-01-01",
            "ends_on": "2031-01-02",
            "trainer_q": "tina",
            "search_trainer": "1",
        },
    )
    assert searched.status_code == 200
    body = searched.get_data(as_text=True)
    assert f'value="{world.trainer}"' in body and 'value="Herfst apart"' in body
    with in_tenant(app, flevoland):
        assert db.session.get(Edition, (flevoland.id, world.edition)).name != "Herfst apart"
    # Someone without the trainer role is refused, and nothing changes.
    refused = post(
        admin,
        flevoland,
        path,
        {
            "name": "Herfst apart",
            "starts_on": "2031-01-01",
            "ends_on": "2031-01-02",
            "trainer_id": str(world.colleague),
        },
    )
    assert refused.status_code == 422
    assert "Choose a trainer from the list." in refused.get_data(as_text=True)


def test_picker_searches_take_a_constant_number_of_queries(app, tenants):
    world = _worlds(app, tenants)["flevoland"]
    admin = client_as(app, tenants["flevoland"], "admin")
    counter = QueryCounter(app)
    for path in _searches(world).values():
        admin.get(f"/flevoland{path}?q=co")  # warm
        with counter.counting() as statements:
            assert admin.get(f"/flevoland{path}?q=co").status_code == 200
        assert len(statements) <= 8, (path, len(statements))
