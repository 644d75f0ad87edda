"""The personal calendar feed and the .ics downloads: secret, revocable, per tenant, nothing
confidential, a fixed number of queries."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from tests.calendars.helpers import attendee_emails, only_event, parse
from tests.factories import World, add_user, build_world, get, in_tenant
from tests.test_isolation import QueryCounter
from tests.trajectories.test_pages import client_for, post, step_ids

pytestmark = pytest.mark.usefixtures("english")

SECRET = "Vertrouwelijk: twijfelt over de rol"
FEED_LINK = re.compile(r'value="(http://[^"]+/calendar/([A-Za-z0-9_-]{43})\.ics)"')


@pytest.fixture
def worlds(app: Flask, tenants) -> dict[str, World]:
    found = {}
    for slug, ref in tenants.items():
        with in_tenant(app, ref):
            found[slug] = build_world(ref)
    return found


def _schedule_all(app: Flask, world: World, *, extra_learners: int = 0) -> None:
    """Intake and progress conversations, the consolidation meeting, a progress note."""
    from samenleren.core.extensions import db
    from samenleren.identity.models import User
    from samenleren.trajectories.meetings import schedule_meeting
    from samenleren.trajectories.models import GroupMeeting, StepInstance, Trajectory
    from samenleren.trajectories.steps import Appointment, schedule_step
    from samenleren.trajectories.values import record_values

    with in_tenant(app, world.tenant):
        coach = get(User, world.coach)
        trainer = get(User, world.trainer)
        trajectory = get(Trajectory, world.trajectory)
        start = datetime.now(UTC).replace(microsecond=0, second=0) + timedelta(days=10)
        for offset, key in enumerate(("intake", "progress")):
            step = db.session.scalar(
                select(StepInstance).where(
                    StepInstance.trajectory_id == trajectory.id, StepInstance.step_key == key
                )
            )
            moment = start + timedelta(days=offset * 20)
            schedule_step(
                trajectory, step, coach, Appointment(moment, moment + timedelta(hours=1), "Kamer")
            )
        progress = get(StepInstance, world.step)
        record_values(trajectory, progress, coach, {"f.notes": SECRET})
        meeting = get(GroupMeeting, world.meeting)
        moment = start + timedelta(days=50)
        schedule_meeting(meeting, trainer, Appointment(moment, moment + timedelta(hours=3), "Zaal"))
        db.session.commit()


def _make_link(app: Flask, client) -> str:
    page = client.get("/flevoland/me/calendar")
    assert page.status_code == 200
    answer = post(app, client, "/flevoland/me/calendar/new")
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"
    found = FEED_LINK.search(answer.get_data(as_text=True))
    assert found, answer.get_data(as_text=True)
    return found.group(1)


def _path(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def test_the_feed_lists_my_appointments_and_nothing_confidential(app, worlds):
    world = worlds["flevoland"]
    _schedule_all(app, world)
    learner = client_for(app, world, "learner")
    url = _make_link(app, learner)
    anonymous = app.test_client()
    answer = anonymous.get(_path(url))
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/calendar")
    text = answer.get_data(as_text=True)
    assert SECRET not in text and "twijfelt" not in text
    calendar = parse(text)
    assert calendar["METHOD"] == "PUBLISH"
    summaries = sorted(str(e["SUMMARY"]) for e in calendar.walk("VEVENT"))
    # intake, progress, the consolidation meeting and the edition's training session
    assert len(summaries) == 4, summaries
    assert any(s.startswith("Intakegesprek") for s in summaries)
    assert any(s.startswith("Voortgangsgesprek") for s in summaries)
    assert any(s.startswith("Borgingsbijeenkomst") for s in summaries)
    assert any("Kennismaking" in s for s in summaries)

    # The manager sees the intake, never the learner-coach progress conversation.
    manager = client_for(app, world, "manager")
    manager_calendar = parse(anonymous.get(_path(_make_link(app, manager))).get_data())
    manager_summaries = [str(e["SUMMARY"]) for e in manager_calendar.walk("VEVENT")]
    assert len(manager_summaries) == 1 and manager_summaries[0].startswith("Intakegesprek")
    intake = only_event(manager_calendar)
    assert attendee_emails(intake) == {
        "anna.learner@example.nl",
        "carla.coach@example.nl",
        "mark.manager@example.nl",
    }

    # The coach: both conversations, the meeting (coaches take part), and the coach day.
    coach = client_for(app, world, "coach")
    coach_calendar = parse(anonymous.get(_path(_make_link(app, coach))).get_data())
    coach_summaries = [str(e["SUMMARY"]) for e in coach_calendar.walk("VEVENT")]
    assert len(coach_summaries) == 4, coach_summaries
    assert any(s.startswith("Leercoachdag") for s in coach_summaries)


def test_a_new_link_revokes_the_old_and_revoke_ends_it(app, worlds):
    from samenleren.audit.models import AuditEvent
    from samenleren.core.extensions import db

    world = worlds["flevoland"]
    learner = client_for(app, world, "learner")
    first = _make_link(app, learner)
    anonymous = app.test_client()
    assert anonymous.get(_path(first)).status_code == 200
    second = _make_link(app, learner)
    assert second != first
    assert anonymous.get(_path(first)).status_code == 404
    assert anonymous.get(_path(second)).status_code == 200
    page = learner.get("/flevoland/me/calendar").get_data(as_text=True)
    assert second not in page, "the link is shown only once"
    assert post(app, learner, "/flevoland/me/calendar/revoke").status_code == 303
    assert anonymous.get(_path(second)).status_code == 404
    unknown = anonymous.get("/flevoland/calendar/" + "A" * 43 + ".ics")
    assert unknown.status_code == 404
    revoked = anonymous.get(_path(second)).get_data(as_text=True)
    token = second.rsplit("/", 1)[1].removesuffix(".ics")
    assert unknown.get_data(as_text=True).replace("A" * 43, "<token>") == revoked.replace(
        token, "<token>"
    )
    with in_tenant(app, world.tenant):
        actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions.count("calendar_feed.created") == 2
    assert actions.count("calendar_feed.revoked") == 1  # a replaced link: part of "created"


def test_another_tenants_link_is_a_404(app, worlds):
    world = worlds["gelderland"]
    learner = client_for(app, world, "learner")
    answer = post(app, learner, "/gelderland/me/calendar/new")
    url = FEED_LINK.search(answer.get_data(as_text=True)).group(1)
    token = url.rsplit("/", 1)[1]
    anonymous = app.test_client()
    assert anonymous.get(f"/gelderland/calendar/{token}").status_code == 200
    assert anonymous.get(f"/flevoland/calendar/{token}").status_code == 404


def test_the_feed_is_rate_limited_per_link(app, worlds):
    world = worlds["flevoland"]
    url = _make_link(app, client_for(app, world, "learner"))
    anonymous = app.test_client()
    previous = app.config["SAMENLEREN_RATELIMIT_FEED"]
    app.config["SAMENLEREN_RATELIMIT_FEED"] = "2 per minute"
    try:
        assert anonymous.get(_path(url)).status_code == 200
        assert anonymous.get(_path(url)).status_code == 200
        assert anonymous.get(_path(url)).status_code == 429
    finally:
        app.config["SAMENLEREN_RATELIMIT_FEED"] = previous


def test_feed_queries_do_not_grow_with_the_appointments(app, worlds):
    """N+1 check: a coach with one coachee, then with four more (all scheduled)."""
    from samenleren.catalogue.models import Enrolment, EnrolmentStatus
    from samenleren.coaching.assignment import assign_coach
    from samenleren.core.db import utcnow
    from samenleren.core.extensions import db
    from samenleren.identity.models import User
    from samenleren.trajectories.lifecycle import start_trajectory

    world = worlds["flevoland"]
    _schedule_all(app, world)
    url = _make_link(app, client_for(app, world, "coach"))
    anonymous = app.test_client()
    counter = QueryCounter(app)
    anonymous.get(_path(url))
    with counter.counting() as small:
        assert anonymous.get(_path(url)).status_code == 200
    small_count = len(small)
    with in_tenant(app, world.tenant):
        coach = get(User, world.coach)
        coach_profile_capacity = 10
        from samenleren.coaching.models import CoachProfile

        db.session.scalar(
            select(CoachProfile).where(CoachProfile.user_id == coach.id)
        ).capacity = coach_profile_capacity
        admin = get(User, world.admin)
        for i in range(4):
            learner = add_user(f"extra.{i}", "learner", name=f"Extra {i}")
            enrolment = Enrolment(
                edition_id=world.edition,
                learner_id=learner.id,
                status=EnrolmentStatus.ENROLLED,
                enrolled_at=utcnow(),
            )
            db.session.add(enrolment)
            db.session.flush()
            assign_coach(start_trajectory(enrolment), coach, admin)
        db.session.commit()
    from samenleren.trajectories.models import StepInstance, Trajectory
    from samenleren.trajectories.steps import Appointment, schedule_step

    with in_tenant(app, world.tenant):
        coach = get(User, world.coach)
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=12)
        for trajectory in db.session.scalars(
            select(Trajectory).where(Trajectory.id != world.trajectory)
        ):
            step = db.session.scalar(
                select(StepInstance).where(
                    StepInstance.trajectory_id == trajectory.id, StepInstance.step_key == "intake"
                )
            )
            schedule_step(
                trajectory, step, coach, Appointment(start, start + timedelta(hours=1), "K")
            )
        db.session.commit()
    with counter.counting() as large:
        answer = anonymous.get(_path(url))
    assert answer.status_code == 200
    assert len(parse(answer.get_data()).walk("VEVENT")) == 4 + 4
    assert len(large) == small_count, "\n".join(large)
    assert len(large) <= 8, "\n".join(large)


def test_my_calendar_page_is_cheap(app, worlds):
    client = client_for(app, worlds["flevoland"], "learner")
    _make_link(app, client)
    counter = QueryCounter(app)
    client.get("/flevoland/me/calendar")
    with counter.counting() as statements:
        page = client.get("/flevoland/me/calendar")
    assert page.status_code == 200
    assert "Last fetched" in page.get_data(as_text=True)
    assert len(statements) <= 8, "\n".join(statements)


def test_downloads_for_those_who_may_see_the_step(app, worlds):
    world = worlds["flevoland"]
    _schedule_all(app, world)
    steps = step_ids(app, world)
    coach = client_for(app, world, "coach")
    answer = coach.get(f"/flevoland/calendar/steps/{steps['intake']}.ics")
    assert answer.status_code == 200
    assert "attachment" in answer.headers["Content-Disposition"]
    event = only_event(parse(answer.get_data()))
    assert str(event["SUMMARY"]).startswith("Intake conversation") or str(
        event["SUMMARY"]
    ).startswith("Intakegesprek")
    # the download and the invitation are the same appointment
    from samenleren.trajectories.models import StepInstance

    with in_tenant(app, world.tenant):
        step = get(StepInstance, steps["intake"])
        assert str(event["UID"]) == f"step-{step.id}-{step.tenant_id}@samenleren"
        assert int(event["SEQUENCE"]) == step.calendar_sequence
    # the manager takes no part in the progress conversation: he sees the step exists, but
    # gets no calendar file for it (nor a link to one), as his calendar feed leaves it out
    manager = client_for(app, world, "manager")
    progress = manager.get(f"/flevoland/calendar/steps/{steps['progress']}.ics")
    assert progress.status_code == 404
    assert SECRET not in progress.get_data(as_text=True)
    progress_page = manager.get(
        f"/flevoland/trajectories/{world.trajectory}/steps/{steps['progress']}"
    )
    assert progress_page.status_code == 200
    assert f"/flevoland/calendar/steps/{steps['progress']}.ics" not in progress_page.get_data(
        as_text=True
    )
    # a colleague without a relation: 404, like a missing step
    colleague = client_for(app, world, "colleague")
    assert colleague.get(f"/flevoland/calendar/steps/{steps['intake']}.ics").status_code == 404
    # a step without an appointment: 404
    assert coach.get(f"/flevoland/calendar/steps/{steps['evaluation']}.ics").status_code == 404
    # the group meeting: the learner gets a copy with only themselves
    learner = client_for(app, world, "learner")
    meeting = learner.get(f"/flevoland/calendar/meetings/{world.meeting}.ics")
    assert meeting.status_code == 200
    assert attendee_emails(only_event(parse(meeting.get_data()))) == {"anna.learner@example.nl"}
    page = learner.get(f"/flevoland/meetings/{world.meeting}").get_data(as_text=True)
    assert f"/flevoland/calendar/meetings/{world.meeting}.ics" in page
    step_page = coach.get(f"/flevoland/trajectories/{world.trajectory}/steps/{steps['intake']}")
    assert f"/flevoland/calendar/steps/{steps['intake']}.ics" in step_page.get_data(as_text=True)


def test_the_user_menu_links_to_my_calendar(app, worlds):
    client = client_for(app, worlds["flevoland"], "manager")
    assert 'href="/flevoland/me/calendar"' in client.get("/flevoland/").get_data(as_text=True)


def test_dates_are_whole_days_for_coach_days(app, worlds):
    from samenleren.core.extensions import db
    from samenleren.identity.models import Role, RoleAssignment, RoleSource

    world = worlds["flevoland"]
    with in_tenant(app, world.tenant):  # a coach with more roles is a coach all the same
        for role in (Role.LEARNER, Role.MANAGER):
            db.session.add(RoleAssignment(user_id=world.coach, role=role, source=RoleSource.APP))
        db.session.commit()
    url = _make_link(app, client_for(app, world, "coach"))
    calendar = parse(app.test_client().get(_path(url)).get_data())
    (day,) = [e for e in calendar.walk("VEVENT") if str(e["SUMMARY"]).startswith("Leercoachdag")]
    assert isinstance(day.decoded("DTSTART"), date)
    assert not isinstance(day.decoded("DTSTART"), datetime)


def _feed_rows(app: Flask, world: World, user_id) -> list:
    from samenleren.calendars.models import CalendarFeed
    from samenleren.core.extensions import db

    with in_tenant(app, world.tenant):
        return db.session.scalars(select(CalendarFeed).where(CalendarFeed.user_id == user_id)).all()


@pytest.mark.parametrize("how", ["inactive", "delete"])
def test_scim_deprovisioning_revokes_the_feed_in_the_same_transaction(app, worlds, how):
    """A deprovisioned person's feed no longer lists colleagues' names, times and places."""
    from tests.scim.conftest import Scim, make_token

    world = worlds["flevoland"]
    _schedule_all(app, world)
    url = _make_link(app, client_for(app, world, "coach"))
    anonymous = app.test_client()
    assert anonymous.get(_path(url)).status_code == 200
    scim = Scim(app.test_client(), "flevoland", make_token(app, world.tenant))
    if how == "inactive":
        answer = scim.patch(
            f"/Users/{world.coach}", {"op": "replace", "path": "active", "value": False}
        )
    else:
        answer = scim.delete(f"/Users/{world.coach}")
    assert answer.status_code == 204, answer.get_data(as_text=True)
    assert anonymous.get(_path(url)).status_code == 404
    assert all(row.revoked_at is not None for row in _feed_rows(app, world, world.coach))
    if how == "inactive":  # back in: the old link stays revoked, a new one must be made
        scim.patch(f"/Users/{world.coach}", {"op": "replace", "path": "active", "value": True})
        assert anonymous.get(_path(url)).status_code == 404


def test_a_feed_answers_only_while_its_user_is_active(app, worlds):
    """Even a feed that was not revoked (a path that forgot to) answers nothing for an
    inactive user: the feed itself checks."""
    from samenleren.core.extensions import db
    from samenleren.identity.models import User

    world = worlds["flevoland"]
    url = _make_link(app, client_for(app, world, "learner"))
    anonymous = app.test_client()
    assert anonymous.get(_path(url)).status_code == 200
    with in_tenant(app, world.tenant):
        get(User, world.learner).active = False
        db.session.commit()
    assert anonymous.get(_path(url)).status_code == 404
    assert all(row.revoked_at is None for row in _feed_rows(app, world, world.learner))
    with in_tenant(app, world.tenant):
        get(User, world.learner).active = True
        db.session.commit()
    assert anonymous.get(_path(url)).status_code == 200


def test_withdrawing_an_external_trainer_revokes_the_feed(app, worlds, tenants):
    from tests.identity.test_trainer_links import csrf_for, externals, invited, press

    world = worlds["flevoland"]
    flevoland = tenants["flevoland"]
    path, _ = invited(app, flevoland)
    trainer_browser = app.test_client()
    assert press(trainer_browser, path).status_code == 303
    url = _make_link(app, trainer_browser)
    anonymous = app.test_client()
    assert anonymous.get(_path(url)).status_code == 200
    (trainer,) = externals(app, flevoland)
    admin = client_for(app, world, "admin")
    answer = admin.post(
        f"/flevoland/trainers/{trainer['id']}/access",
        data={"csrf_token": csrf_for(admin, "flevoland"), "active": "no"},
    )
    assert answer.status_code == 303
    assert anonymous.get(_path(url)).status_code == 404
    assert all(row.revoked_at is not None for row in _feed_rows(app, world, trainer["id"]))


def test_the_manager_gets_the_evaluation_he_attends_in_his_calendar(app, worlds):
    from samenleren.core.extensions import db
    from samenleren.identity.models import User
    from samenleren.trajectories.models import StepInstance, Trajectory
    from samenleren.trajectories.steps import Appointment, schedule_step

    world = worlds["flevoland"]
    steps = step_ids(app, world)
    with in_tenant(app, world.tenant):
        moment = datetime.now(UTC).replace(microsecond=0, second=0) + timedelta(days=30)
        schedule_step(
            get(Trajectory, world.trajectory),
            get(StepInstance, steps["evaluation"]),
            get(User, world.coach),
            Appointment(moment, moment + timedelta(hours=1), "Kamer 2"),
        )
        db.session.commit()
    manager = client_for(app, world, "manager")
    answer = manager.get(f"/flevoland/calendar/steps/{steps['evaluation']}.ics")
    assert answer.status_code == 200
    assert "Kamer 2" in answer.get_data(as_text=True)
    page = manager.get(f"/flevoland/trajectories/{world.trajectory}/steps/{steps['evaluation']}")
    assert f"/flevoland/calendar/steps/{steps['evaluation']}.ics" in page.get_data(as_text=True)
