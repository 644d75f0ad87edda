"""Coach days: planning, attendance, the shared record, and who may see them."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from samenleren.core.formatting import local_today
from tests.coaching.helpers import client_as, post
from tests.factories import build_world, get, in_tenant

pytestmark = pytest.mark.usefixtures("english")


def _day(app, tenant, day_id):
    from samenleren.coaching.models import CoachDay
    from samenleren.core.extensions import db

    with in_tenant(app, tenant):
        day = get(CoachDay, day_id)
        db.session.expunge(day)
        return day


def _attendance(app, tenant, day_id) -> dict:
    from samenleren.coaching.models import CoachDayAttendance
    from samenleren.core.extensions import db

    with in_tenant(app, tenant):
        return dict(
            db.session.execute(
                select(CoachDayAttendance.coach_id, CoachDayAttendance.present).where(
                    CoachDayAttendance.coach_day_id == day_id
                )
            ).all()
        )


def _past_day(app, tenant) -> object:
    from samenleren.coaching.models import CoachDay
    from samenleren.core.extensions import db

    with in_tenant(app, tenant):
        day = CoachDay(title="Voorjaarsdag", held_on=local_today() - timedelta(days=30))
        db.session.add(day)
        db.session.commit()
        return day.id


def _count_days(app, tenant) -> int:
    from samenleren.coaching.models import CoachDay
    from samenleren.core.extensions import db

    with in_tenant(app, tenant):
        return db.session.scalar(select(func.count()).select_from(CoachDay))


def test_admin_plans_a_coach_day_that_coaches_see_as_upcoming(app, tenants):
    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        build_world(flevoland)
    past = _past_day(app, flevoland)
    admin = client_as(app, flevoland, "admin")
    held_on = local_today() + timedelta(days=100)
    answer = post(
        admin,
        flevoland,
        "/flevoland/coach-days/new",
        {
            "title": "Najaarsdag 2026",
            "held_on": held_on.isoformat(),
            "location": "Provinciehuis",
            "programme": "Intervisie\nOefenen met doorvragen",
        },
    )
    assert answer.status_code == 303
    day_id = answer.headers["Location"].rsplit("/", 1)[1]
    day = _day(app, flevoland, day_id)
    assert (day.title, day.held_on, day.location) == ("Najaarsdag 2026", held_on, "Provinciehuis")
    assert day.programme == "Intervisie\nOefenen met doorvragen"

    coach = client_as(app, flevoland, "coach")
    listing = coach.get("/flevoland/coach-days/").get_data(as_text=True)
    upcoming, past_part = listing.split("Past", 1)
    assert "Najaarsdag 2026" in upcoming and "Leercoachdag flevoland" in upcoming
    assert f"/flevoland/coach-days/{past}" in past_part
    assert "/flevoland/coach-days/new" not in listing  # planning is the administrator's
    page = coach.get(f"/flevoland/coach-days/{day_id}").get_data(as_text=True)
    assert "Oefenen met doorvragen" in page
    assert "/edit" not in page and "/attendance" not in page


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"title": "  "}, "title", "Give the coach day a title"),
        ({"held_on": ""}, "held_on", "Give the date of the coach day"),
        ({"held_on": "volgende week"}, "held_on", "Give a date such as"),
        ({"title": "x" * 201}, "title", "At most 200 characters"),
    ],
)
def test_a_refused_coach_day_is_not_planned(app, tenants, data, field, message):
    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        build_world(flevoland)
    admin = client_as(app, flevoland, "admin")
    sent = {"title": "Najaarsdag", "held_on": "2030-10-01", "location": "Lelystad"} | data
    answer = post(admin, flevoland, "/flevoland/coach-days/new", sent)
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    assert re.search(rf'id="err-{field}">[^<]*{message}', page)
    assert re.search(rf'name="{field}"[^>]*aria-invalid="true"', page)
    assert 'value="Lelystad"' in page
    assert _count_days(app, flevoland) == 1  # only the world's own


def test_admin_changes_a_coach_day_and_a_refusal_keeps_it(app, tenants):
    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        world = build_world(flevoland)
    admin = client_as(app, flevoland, "admin")
    path = f"/flevoland/coach-days/{world.coach_day}/edit"
    refused = post(admin, flevoland, path, {"title": "", "held_on": "2030-04-01"})
    assert refused.status_code == 422
    assert 'id="err-title"' in refused.get_data(as_text=True)
    assert _day(app, flevoland, world.coach_day).title == "Leercoachdag flevoland"
    saved = post(
        admin,
        flevoland,
        path,
        {"title": "Voorjaarsdag", "held_on": "2030-04-01", "location": "Almere"},
    )
    assert saved.status_code == 303
    day = _day(app, flevoland, world.coach_day)
    assert (day.title, day.held_on, day.location) == ("Voorjaarsdag", date(2030, 4, 1), "Almere")


def test_attendance_of_every_coach_of_the_pool(app, tenants):
    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        world = build_world(flevoland)
    past = _past_day(app, flevoland)
    admin = client_as(app, flevoland, "admin")
    page = admin.get(f"/flevoland/coach-days/{past}").get_data(as_text=True)
    assert f'value="{world.coach}"' in page and f'value="{world.other_coach}"' in page
    path = f"/flevoland/coach-days/{past}/attendance"
    assert post(admin, flevoland, path, {"present": str(world.coach)}).status_code == 303
    assert _attendance(app, flevoland, past) == {world.coach: True, world.other_coach: False}

    # Saving again changes the rows, never duplicates them.
    assert post(admin, flevoland, path, {"present": str(world.other_coach)}).status_code == 303
    assert _attendance(app, flevoland, past) == {world.coach: False, world.other_coach: True}

    coach = client_as(app, flevoland, "coach")
    shown = coach.get(f"/flevoland/coach-days/{past}").get_data(as_text=True)
    assert re.search(r"Otto Coach[^<]*:\s*present", shown)
    assert re.search(r"Carla Coach[^<]*:\s*absent", shown)


@pytest.mark.parametrize("present", ["not-an-id", "learner"])
def test_attendance_of_someone_outside_the_pool_is_refused(app, tenants, present):
    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        world = build_world(flevoland)
    past = _past_day(app, flevoland)
    admin = client_as(app, flevoland, "admin")
    value = str(world.learner) if present == "learner" else present
    answer = post(admin, flevoland, f"/flevoland/coach-days/{past}/attendance", {"present": value})
    assert answer.status_code == 422
    assert "Choose coaches of the pool only" in answer.get_data(as_text=True)
    assert _attendance(app, flevoland, past) == {}


def test_attendance_waits_for_the_day_itself(app, tenants):
    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        world = build_world(flevoland)  # its coach day is 60 days ahead
    admin = client_as(app, flevoland, "admin")
    page = admin.get(f"/flevoland/coach-days/{world.coach_day}").get_data(as_text=True)
    assert "/attendance" not in page
    answer = post(
        admin,
        flevoland,
        f"/flevoland/coach-days/{world.coach_day}/attendance",
        {"present": str(world.coach)},
    )
    assert answer.status_code == 422
    assert "from the day itself" in answer.get_data(as_text=True)
    assert _attendance(app, flevoland, world.coach_day) == {}


def test_coaches_and_the_admin_write_the_shared_record(app, tenants):
    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        world = build_world(flevoland)
    path = f"/flevoland/coach-days/{world.coach_day}/record"
    coach = client_as(app, flevoland, "coach")
    first = "Tip: laat de deelnemer zelf de agenda maken."
    assert post(coach, flevoland, path, {"record": first}).status_code == 303
    assert _day(app, flevoland, world.coach_day).record == first

    admin = client_as(app, flevoland, "admin")
    page = admin.get(f"/flevoland/coach-days/{world.coach_day}").get_data(as_text=True)
    assert first in page  # in the form, ready to be extended
    extended = first + "\nAfspraak: volgende keer casuïstiek."
    assert post(admin, flevoland, path, {"record": extended}).status_code == 303
    assert _day(app, flevoland, world.coach_day).record == extended

    refused = post(coach, flevoland, path, {"record": "x" * 50_001})
    assert refused.status_code == 422
    assert 'id="err-record"' in refused.get_data(as_text=True)
    assert _day(app, flevoland, world.coach_day).record == extended


@pytest.mark.parametrize("person", ["learner", "manager", "trainer", "colleague"])
def test_coach_days_look_missing_to_who_is_no_coach_nor_admin(app, tenants, person):
    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        world = build_world(flevoland)
    past = _past_day(app, flevoland)
    client = client_as(app, flevoland, person)
    assert client.get("/flevoland/coach-days/").status_code == 404
    assert client.get(f"/flevoland/coach-days/{world.coach_day}").status_code == 404
    base = f"/flevoland/coach-days/{past}"
    assert post(client, flevoland, f"{base}/record", {"record": "x"}).status_code == 404
    assert post(client, flevoland, f"{base}/edit", {"title": "x"}).status_code == 404
    sent = {"present": str(world.coach)}
    assert post(client, flevoland, f"{base}/attendance", sent).status_code == 404
    day = _day(app, flevoland, past)
    assert (day.record, day.title) == ("", "Voorjaarsdag")
    assert _attendance(app, flevoland, past) == {}


def test_a_coach_neither_plans_nor_takes_attendance(app, tenants):
    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        world = build_world(flevoland)
    past = _past_day(app, flevoland)
    coach = client_as(app, flevoland, "coach")
    assert coach.get("/flevoland/coach-days/new").status_code == 404
    sent = {"title": "Eigen dag", "held_on": "2030-01-01"}
    assert post(coach, flevoland, "/flevoland/coach-days/new", sent).status_code == 404
    sent = {"present": str(world.coach)}
    assert (
        post(coach, flevoland, f"/flevoland/coach-days/{past}/attendance", sent).status_code == 404
    )
    assert _count_days(app, flevoland) == 2
    assert _attendance(app, flevoland, past) == {}


def test_another_tenants_coach_day_is_missing(app, tenants):
    with in_tenant(app, tenants["gelderland"]):
        theirs = build_world(tenants["gelderland"])
    with in_tenant(app, tenants["flevoland"]):
        build_world(tenants["flevoland"])
    admin = client_as(app, tenants["flevoland"], "admin")
    assert admin.get(f"/flevoland/coach-days/{theirs.coach_day}").status_code == 404
    answer = post(
        admin,
        tenants["flevoland"],
        f"/flevoland/coach-days/{theirs.coach_day}/record",
        {"record": "overgeschreven"},
    )
    assert answer.status_code == 404
    assert _day(app, tenants["gelderland"], theirs.coach_day).record == ""
