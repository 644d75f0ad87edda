"""The coach pool: adding and editing coaches, who may see the pages, queries per page."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from samenleren.core.errors_input import FORM, InvalidInput
from samenleren.core.formatting import local_today
from tests.coaching.helpers import client_as, post
from tests.factories import add_coach, build_world, get, in_tenant
from tests.test_isolation import QueryCounter

pytestmark = pytest.mark.usefixtures("english")


def _coach_state(app, tenant, user_id):
    """(profile or None, roles with their sources) of one user."""
    from samenleren.coaching.models import CoachProfile
    from samenleren.core.extensions import db
    from samenleren.identity.models import RoleAssignment

    with in_tenant(app, tenant):
        profile = db.session.scalar(select(CoachProfile).where(CoachProfile.user_id == user_id))
        roles = {
            (a.role.value, a.source.value)
            for a in db.session.scalars(
                select(RoleAssignment).where(RoleAssignment.user_id == user_id)
            )
        }
        if profile is not None:
            db.session.expunge(profile)
        return profile, roles


def _field_error(page: str, field: str) -> str:
    """The message shown next to `field`, checking it is wired to the input."""
    match = re.search(rf'id="err-{field}">([^<]+)<', page)
    assert match, f"no message next to {field}"
    # A text field, or the fieldset of a choice (the employee: radio buttons after a search).
    control = rf'(name="{field}"|<fieldset[^>]*id="in-{field}")'
    assert re.search(rf'{control}[^>]*aria-describedby="[^"]*err-{field}', page)
    assert re.search(rf'{control}[^>]*aria-invalid="true"', page)
    return match.group(1)


# --- services -----------------------------------------------------------------------------------


def test_add_coach_gives_the_coach_role_from_the_application(app, tenants):
    from samenleren.coaching.services import add_coach as add
    from samenleren.identity.models import Role, RoleSource, User

    with in_tenant(app, tenants["flevoland"]):
        world = build_world(tenants["flevoland"])
        colleague, admin = get(User, world.colleague), get(User, world.admin)
        profile = add(colleague, 2, date(2024, 5, 1), "  Vraag maar raak  ", admin)
        assert profile.capacity == 2
        assert profile.trained_on == date(2024, 5, 1)
        assert profile.introduction == "Vraag maar raak"
        assert profile.active
        sources = {(a.role, a.source) for a in colleague.role_assignments}
        assert (Role.COACH, RoleSource.APP) in sources


def test_an_idp_coach_role_still_gets_the_application_role(app, tenants):
    from samenleren.coaching.services import add_coach as add
    from samenleren.core.extensions import db
    from samenleren.identity.models import Role, RoleAssignment, RoleSource, User

    with in_tenant(app, tenants["flevoland"]):
        world = build_world(tenants["flevoland"])
        colleague, admin = get(User, world.colleague), get(User, world.admin)
        colleague.role_assignments.append(RoleAssignment(role=Role.COACH, source=RoleSource.IDP))
        db.session.flush()
        add(colleague, 3, None, "", admin)
        coach_roles = [a.source for a in colleague.role_assignments if a.role is Role.COACH]
        assert sorted(coach_roles) == [RoleSource.APP, RoleSource.IDP]


@pytest.mark.parametrize(
    ("capacity", "trained_on", "field"),
    [
        (21, None, "capacity"),
        (-1, None, "capacity"),
        (None, None, "capacity"),
        (3, local_today() + timedelta(days=2), "trained_on"),
    ],
)
def test_add_coach_refuses_bad_capacity_and_future_dates(app, tenants, capacity, trained_on, field):
    from samenleren.coaching.models import CoachProfile
    from samenleren.coaching.services import add_coach as add
    from samenleren.core.extensions import db
    from samenleren.identity.models import Role, User

    with in_tenant(app, tenants["flevoland"]):
        world = build_world(tenants["flevoland"])
        colleague, admin = get(User, world.colleague), get(User, world.admin)
        with pytest.raises(InvalidInput) as refused:
            add(colleague, capacity, trained_on, "", admin)
        assert set(refused.value.errors) == {field}
        assert db.session.scalar(select(func.count()).select_from(CoachProfile)) == 2
        assert Role.COACH not in colleague.roles


def test_only_the_programme_admin_adds_coaches_and_not_twice(app, tenants):
    from samenleren.coaching.services import add_coach as add
    from samenleren.identity.models import User

    with in_tenant(app, tenants["flevoland"]):
        world = build_world(tenants["flevoland"])
        colleague, coach, admin = (
            get(User, world.colleague),
            get(User, world.coach),
            get(User, world.admin),
        )
        with pytest.raises(InvalidInput) as refused:
            add(colleague, 3, None, "", coach)
        assert FORM in refused.value.errors
        with pytest.raises(InvalidInput) as refused:
            add(coach, 3, None, "", admin)
        assert "is a coach already" in refused.value.errors["user"]
        with pytest.raises(InvalidInput) as refused:
            add(None, 3, None, "", admin)
        assert "user" in refused.value.errors


def test_lowering_capacity_below_the_load_is_saved_with_a_warning(app, tenants):
    from samenleren.coaching.models import CoachProfile
    from samenleren.coaching.services import update_coach
    from samenleren.identity.models import User

    with in_tenant(app, tenants["flevoland"]):
        world = build_world(tenants["flevoland"])
        profile, admin = get(CoachProfile, world.coach_profile), get(User, world.admin)
        warnings = update_coach(
            profile, capacity=0, trained_on=None, active=False, introduction="", actor=admin
        )
        assert len(warnings) == 1 and "1" in warnings[0]
        assert profile.capacity == 0 and not profile.active
        assert (
            update_coach(
                profile, capacity=1, trained_on=None, active=True, introduction="", actor=admin
            )
            == []
        )


# --- pages --------------------------------------------------------------------------------------


def test_admin_adds_a_coach_who_keeps_the_role_after_logging_in(app, tenants):
    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        world = build_world(flevoland)
    admin = client_as(app, flevoland, "admin")
    form = admin.get("/flevoland/coaches/new").get_data(as_text=True)
    assert f'value="{world.colleague}"' not in form  # a search, not a list of everyone
    found = admin.get("/flevoland/coaches/new?q=co").get_data(as_text=True)
    assert f'type="radio" id="in-user-{world.colleague}" name="user" value="{world.colleague}"' in (
        found
    )
    assert f'value="{world.coach}"' not in found  # a coach already
    short = admin.get("/flevoland/coaches/new?q=c").get_data(as_text=True)
    assert "Type at least 2 letters." in short and 'type="radio"' not in short
    matches = admin.get("/flevoland/coaches/candidates?q=colleague").get_json()
    assert [m["id"] for m in matches["matches"]] == [str(world.colleague)]
    assert set(matches["matches"][0]) == {"id", "name", "detail"}
    assert admin.get("/flevoland/coaches/candidates?q=x").get_json() == {"matches": []}
    answer = post(
        admin,
        flevoland,
        "/flevoland/coaches/new",
        {
            "user": str(world.colleague),
            "capacity": "2",
            "trained_on": "2024-09-01",
            "introduction": "Ik luister graag.",
        },
    )
    assert answer.status_code == 303
    assert answer.headers["Location"].endswith("/flevoland/coaches/")
    profile, roles = _coach_state(app, flevoland, world.colleague)
    assert profile.capacity == 2 and profile.trained_on == date(2024, 9, 1)
    assert ("coach", "app") in roles
    pool = admin.get("/flevoland/coaches/").get_data(as_text=True)
    assert "is now a learning coach" in pool
    assert "Cor Colleague" in pool

    # The login that brings the IdP's roles in line keeps the application's coach role.
    colleague = client_as(app, flevoland, "colleague")
    assert ("coach", "app") in _coach_state(app, flevoland, world.colleague)[1]
    assert colleague.get("/flevoland/coach-days/").status_code == 200


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"capacity": "21"}, "capacity", "from 0 to 20"),
        ({"capacity": "twee"}, "capacity", "from 0 to 20"),
        ({"trained_on": "2999-01-01"}, "trained_on", "cannot be in the future"),
        ({"trained_on": "1-2-2024"}, "trained_on", "Give a date such as"),
        ({"user": ""}, "user", "Choose an employee"),
    ],
)
def test_refused_coach_is_shown_next_to_the_field_and_nothing_is_written(
    app, tenants, data, field, message
):
    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        world = build_world(flevoland)
    admin = client_as(app, flevoland, "admin")
    sent = {"user": str(world.colleague), "capacity": "3", "introduction": "Mijn verhaal"} | data
    answer = post(admin, flevoland, "/flevoland/coaches/new", sent)
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    assert message in _field_error(page, field)
    assert "Mijn verhaal" in page  # the input is kept
    assert _coach_state(app, flevoland, world.colleague) == (None, {("learner", "app")})


def test_admin_edits_a_coach_and_a_bad_capacity_changes_nothing(app, tenants):
    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        world = build_world(flevoland)
    admin = client_as(app, flevoland, "admin")
    path = f"/flevoland/coaches/{world.coach_profile}/edit"
    form = admin.get(path).get_data(as_text=True)
    assert 'value="3"' in form and "checked" in form

    refused = post(admin, flevoland, path, {"capacity": "50", "active": "yes"})
    assert refused.status_code == 422
    assert "from 0 to 20" in _field_error(refused.get_data(as_text=True), "capacity")
    assert _coach_state(app, flevoland, world.coach)[0].capacity == 3

    saved = post(admin, flevoland, path, {"capacity": "0", "trained_on": "2023-01-15"})
    assert saved.status_code == 303
    profile = _coach_state(app, flevoland, world.coach)[0]
    assert (profile.capacity, profile.trained_on, profile.active) == (0, date(2023, 1, 15), False)
    shown = admin.get(saved.headers["Location"]).get_data(as_text=True)
    assert "more than the new capacity" in shown  # the warning
    assert "1 of 0" in shown


def test_pool_shows_department_load_and_sorts_by_name(app, tenants):
    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        world = build_world(flevoland)
    admin = client_as(app, flevoland, "admin")
    page = admin.get("/flevoland/coaches/").get_data(as_text=True)
    carla, otto = page.index("Carla Coach"), page.index("Otto Coach")
    assert carla < otto
    assert "Bedrijfsvoering flevoland" in page
    row = page[carla : page.index("</tr>", carla)]
    assert "1 of 3" in row
    assert f"/flevoland/coaches/{world.coach_profile}/edit" in row


def test_a_coach_sees_their_own_profile_with_coachees_and_no_other(app, tenants):
    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        world = build_world(flevoland)
    coach = client_as(app, flevoland, "coach")
    own = coach.get(f"/flevoland/coaches/{world.coach_profile}")
    assert own.status_code == 200
    assert "Anna Learner flevoland" in own.get_data(as_text=True)
    other = client_as(app, flevoland, "other_coach")
    assert other.get(f"/flevoland/coaches/{world.coach_profile}").status_code == 404
    admin = client_as(app, flevoland, "admin")
    assert "Anna Learner flevoland" in admin.get(
        f"/flevoland/coaches/{world.coach_profile}"
    ).get_data(as_text=True)


@pytest.mark.parametrize("person", ["learner", "coach", "manager", "trainer"])
def test_the_admin_pages_look_missing_to_everyone_else(app, tenants, person):
    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        world = build_world(flevoland)
    client = client_as(app, flevoland, person)
    for path in (
        "/flevoland/coaches/",
        "/flevoland/coaches/new",
        f"/flevoland/coaches/{world.coach_profile}/edit",
        "/flevoland/coach-days/new",
    ):
        assert client.get(path).status_code == 404, path
    sent = {"user": str(world.colleague), "capacity": "2"}
    assert post(client, flevoland, "/flevoland/coaches/new", sent).status_code == 404
    edit = f"/flevoland/coaches/{world.coach_profile}/edit"
    assert post(client, flevoland, edit, {"capacity": "9"}).status_code == 404
    assert _coach_state(app, flevoland, world.colleague)[0] is None
    assert _coach_state(app, flevoland, world.coach)[0].capacity == 3


def test_another_tenants_coach_profile_is_missing(app, tenants):
    with in_tenant(app, tenants["gelderland"]):
        theirs = build_world(tenants["gelderland"])
    with in_tenant(app, tenants["flevoland"]):
        build_world(tenants["flevoland"])
    admin = client_as(app, tenants["flevoland"], "admin")
    for path in (f"/coaches/{theirs.coach_profile}", f"/coaches/{theirs.coach_profile}/edit"):
        assert admin.get(f"/flevoland{path}").status_code == 404
    answer = post(
        admin, tenants["flevoland"], f"/flevoland/coaches/{theirs.coach_profile}/edit", {}
    )
    assert answer.status_code == 404


# --- queries per page -----------------------------------------------------------------------------


def _grow_pool(app, tenant, count: int, start: int) -> None:
    """`count` more coaches, each in their own department, plus colleagues who are no coach."""
    from samenleren.core.extensions import db
    from samenleren.identity.models import Department

    with in_tenant(app, tenant):
        for i in range(start, start + count):
            department = Department(name=f"Afdeling {i:03d}")
            db.session.add(department)
            db.session.flush()
            add_coach(f"coach.{i}", capacity=2, department=department, name=f"Coach {i:03d}")
        db.session.commit()


def _queries(app, client, path: str) -> int:
    counter = QueryCounter(app)
    client.get(path)  # warm
    with counter.counting() as statements:
        answer = client.get(path)
    assert answer.status_code == 200, path
    return len(statements)


def test_queries_on_the_pool_pages_are_few_and_constant(app, tenants):
    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        world = build_world(flevoland)
    admin = client_as(app, flevoland, "admin")
    paths = [
        "/flevoland/coaches/",
        f"/flevoland/coaches/{world.coach_profile}",
        "/flevoland/coach-days/",
        f"/flevoland/coach-days/{world.coach_day}",
    ]
    _grow_pool(app, flevoland, 3, 0)
    small = {path: _queries(app, admin, path) for path in paths}
    _grow_pool(app, flevoland, 40, 3)
    large = {path: _queries(app, admin, path) for path in paths}
    assert all(count <= 8 for count in large.values()), large
    assert large == small, "queries grow with the data"
    pool = admin.get("/flevoland/coaches/").get_data(as_text=True)
    assert pool.count("/edit") == 45  # the page really lists every coach
    assert "Afdeling 042" in pool
