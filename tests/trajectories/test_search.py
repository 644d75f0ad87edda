"""Find anyone: the trajectories list (`/<tenant>/trajectories/`) with its filters and pages, the
employees list, and the edition page's search for an employee to enrol (no list of everyone)."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from tests.conftest import csrf_token, login
from tests.factories import World, add_user, build_world, get, in_tenant
from tests.test_isolation import QueryCounter


def _client(app, tenant, who: str):
    client = app.test_client()
    assert login(client, tenant, World.subjects[who]).status_code == 302
    client.get(f"/{tenant.slug}/?lang=en")
    return client


def _names(page: str) -> list[str]:
    """The learners named in the result table, in order."""
    return [
        html.unescape(name)
        for name in re.findall(
            r'<th class="utrecht-table__header-cell" scope="row"><a class="utrecht-link" '
            r'href="[^"]+">([^<]+)</a></th>',
            page,
        )
    ]


@pytest.fixture
def programme(app, tenants):
    """Flevoland's world plus three more learners in the same edition: one of another
    department without a coach, one withdrawn, one of another manager."""
    from samenleren.catalogue.models import Enrolment, EnrolmentStatus
    from samenleren.core.db import utcnow
    from samenleren.core.extensions import db
    from samenleren.identity.models import Department
    from samenleren.trajectories.lifecycle import start_trajectory
    from samenleren.trajectories.models import TrajectoryStatus

    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        world = build_world(flevoland)
        other_department = Department(name="Natuur en Water")
        db.session.add(other_department)
        db.session.flush()
        ids = {}
        for subject, department, manager in (
            ("bram.bos", other_department.id, world.manager),
            ("wim.weg", world.department, world.manager),
            ("zoe.zee", world.department, world.admin),
        ):
            learner = add_user(subject, "learner", department_id=department, manager_id=manager)
            enrolment = Enrolment(
                edition_id=world.edition,
                learner_id=learner.id,
                status=EnrolmentStatus.ENROLLED,
                enrolled_at=utcnow(),
            )
            db.session.add(enrolment)
            db.session.flush()
            ids[subject] = start_trajectory(enrolment).id
        from samenleren.trajectories.models import Trajectory

        get(Trajectory, ids["wim.weg"]).status = TrajectoryStatus.WITHDRAWN
        other_department_id = other_department.id
        db.session.commit()
    return flevoland, world, ids, other_department_id


def test_the_administrator_finds_trajectories_by_every_filter(app, programme):
    flevoland, world, _, other_department = programme
    client = _client(app, flevoland, "admin")
    base = "/flevoland/trajectories/"
    everyone = client.get(base)
    assert everyone.status_code == 200
    assert sorted(_names(everyone.get_data(as_text=True))) == [
        "Anna Learner flevoland",
        "Bram Bos",
        "Wim Weg",
        "Zoe Zee",
    ]

    def names(query: str) -> list[str]:
        return sorted(_names(client.get(f"{base}?{query}").get_data(as_text=True)))

    assert names("q=bram") == ["Bram Bos"]
    assert names("q=BOS+bra") == ["Bram Bos"]
    assert names("status=withdrawn") == ["Wim Weg"]
    assert names(f"department={other_department}") == ["Bram Bos"]
    assert names(f"coach={world.coach}") == ["Anna Learner flevoland"]
    assert names(f"training={world.training}&edition={world.edition}") == [
        "Anna Learner flevoland",
        "Bram Bos",
        "Wim Weg",
        "Zoe Zee",
    ]
    assert names(f"goal={world.organisation_goals[0]}") == []  # nobody linked a goal yet
    assert names(f"learner={world.learner}") == ["Anna Learner flevoland"]
    # Rubbish in the query is left out, never an error.
    assert names("status=kapot&department=nope&page=-3&q=%25") == []
    assert client.get(f"{base}?page=abc").status_code == 200


def test_a_manager_sees_the_team_only_and_others_no_list(app, programme):
    flevoland, *_ = programme
    manager = _client(app, flevoland, "manager")
    page = manager.get("/flevoland/trajectories/").get_data(as_text=True)
    assert "Zoe Zee" not in page
    assert sorted(_names(page)) == ["Anna Learner flevoland", "Bram Bos", "Wim Weg"]
    assert _client(app, flevoland, "learner").get("/flevoland/trajectories/").status_code == 404
    assert _client(app, flevoland, "coach").get("/flevoland/trajectories/").status_code == 404
    assert app.test_client().get("/flevoland/trajectories/").status_code in {302, 303}


def test_another_tenants_ids_in_the_filters_find_nothing(app, programme, tenants):
    flevoland, *_ = programme
    with in_tenant(app, tenants["gelderland"]):
        other = build_world(tenants["gelderland"])
    client = _client(app, flevoland, "admin")
    for name, value in (("training", other.training), ("coach", other.coach)):
        page = client.get(f"/flevoland/trajectories/?{name}={value}").get_data(as_text=True)
        assert _names(page) == []
        assert "Gelderland" not in page and "gelderland" not in page


def test_the_list_goes_a_page_at_a_time_with_constant_queries(app, programme, monkeypatch):
    from samenleren.trajectories import search

    flevoland, *_ = programme
    monkeypatch.setattr(search, "PAGE_SIZE", 2)
    client = _client(app, flevoland, "admin")
    first = client.get("/flevoland/trajectories/?q=e").get_data(as_text=True)
    second = client.get("/flevoland/trajectories/?q=e&page=2").get_data(as_text=True)
    # "e": Anna Learner, Wim Weg and Zoe Zee (not Bram Bos): two on the first page, one next.
    assert len(_names(first)) == 2 and len(_names(second)) == 1
    assert not set(_names(first)) & set(_names(second))
    assert 'rel="next" href="/flevoland/trajectories/?q=e&amp;page=2"' in first
    assert 'rel="prev"' in second and 'rel="next"' not in second
    counter = QueryCounter(app)
    with counter.counting() as statements:
        assert client.get("/flevoland/trajectories/?q=e&page=2").status_code == 200
    assert len(statements) <= 8


# --- employees ----------------------------------------------------------------------------------


def test_the_administrator_searches_employees(app, programme):
    flevoland, world, *_ = programme
    client = _client(app, flevoland, "admin")
    page = html.unescape(client.get("/flevoland/employees/?q=bram").get_data(as_text=True))
    assert "Bram Bos" in page and "bram.bos@example.nl" in page
    assert "Zoe Zee" not in page
    by_mail = html.unescape(client.get("/flevoland/employees/?q=zoe.zee@").get_data(as_text=True))
    assert "Zoe Zee" in by_mail
    coaches = html.unescape(client.get("/flevoland/employees/?role=coach").get_data(as_text=True))
    assert "Carla Coach" in coaches and "Bram Bos" not in coaches
    assert f"/flevoland/trajectories/?learner={world.learner}" in client.get(
        "/flevoland/employees/?q=anna"
    ).get_data(as_text=True)
    for who in ("manager", "learner", "coach"):
        assert _client(app, flevoland, who).get("/flevoland/employees/").status_code == 404


def test_the_employees_list_goes_a_page_at_a_time(app, programme, monkeypatch):
    from samenleren.identity import directory

    flevoland, *_ = programme
    monkeypatch.setattr(directory, "PAGE_SIZE", 3)
    client = _client(app, flevoland, "admin")
    first = client.get("/flevoland/employees/").get_data(as_text=True)
    assert 'rel="next" href="/flevoland/employees/?page=2"' in first
    counter = QueryCounter(app)
    with counter.counting() as statements:
        assert client.get("/flevoland/employees/?page=2").status_code == 200
    assert len(statements) <= 8


# --- the edition page: a search, not a list of everyone ------------------------------------------


def test_an_employee_to_enrol_is_found_by_search_and_enrolled(app, programme):
    from samenleren.catalogue.models import Enrolment
    from samenleren.core.extensions import db

    flevoland, world, *_ = programme
    with in_tenant(app, flevoland):
        newcomer = add_user("nina.nieuw", "learner").id
        db.session.commit()
    client = _client(app, flevoland, "admin")
    path = f"/flevoland/editions/{world.edition}"
    plain = client.get(path).get_data(as_text=True)
    assert "Nina Nieuw" not in plain  # no list of every employee
    assert 'name="employee_q"' in plain
    short = client.get(f"{path}?employee_q=n").get_data(as_text=True)
    assert "Type at least 2 letters." in short
    found = client.get(f"{path}?employee_q=nina").get_data(as_text=True)
    assert f'value="{newcomer}"' in found and 'type="radio"' in found
    enrolled_already = client.get(f"{path}?employee_q=bram").get_data(as_text=True)
    assert "Nobody matches bram" in html.unescape(enrolled_already)
    refused = client.post(
        f"/flevoland/editions/{world.edition}/enrol",
        data={"employee_q": "nina", "csrf_token": csrf_token(client, path)},
    )
    assert refused.status_code == 422
    assert "Choose an employee from the list." in refused.get_data(as_text=True)
    assert f'value="{newcomer}"' in refused.get_data(as_text=True)  # the matches stay
    answer = client.post(
        f"/flevoland/editions/{world.edition}/enrol",
        data={"learner_id": str(newcomer), "csrf_token": csrf_token(client, path)},
    )
    assert answer.status_code == 303
    with in_tenant(app, flevoland):
        assert db.session.scalar(select(Enrolment).where(Enrolment.learner_id == newcomer))
