"""The return day: when an edition has ended, its return day (a group meeting timed after the
edition's end) is planned on its due date, the group invited, the trainer told. Once."""

from __future__ import annotations

from datetime import UTC, time

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests.calendars.helpers import meeting_part, only_event, parse, recipient, sent_mails
from tests.factories import World, build_world, in_tenant

LEARNER = "anna.learner@example.nl"
TRAINER = "tina.trainer@example.nl"


@pytest.fixture
def ended(app: Flask, tenants) -> dict[str, World]:
    """In both tenants an edition that ended 30 days ago (its consolidation meeting is overdue,
    its return day two months ahead)."""
    found = {}
    for slug, ref in tenants.items():
        with in_tenant(app, ref):
            found[slug] = build_world(ref, starts_in_days=-60)
    return found


def _meetings(app: Flask, world: World) -> dict[str, object]:
    from samenleren.core.extensions import db
    from samenleren.trajectories.models import GroupMeeting

    with in_tenant(app, world.tenant):
        rows = db.session.scalars(
            select(GroupMeeting).where(GroupMeeting.edition_id == world.edition)
        ).all()
        return {m.step_key: (m.state.value, m.starts_at, m.location, m.due_on) for m in rows}


def _count(app: Flask, world: World) -> int:
    from samenleren.core.extensions import db
    from samenleren.notifications.models import Notification

    with in_tenant(app, world.tenant):
        return db.session.scalar(select(func.count()).select_from(Notification))


def test_the_job_plans_the_return_day_once_and_tells_the_trainer(app, ended, smtp_sink):
    from samenleren.core.extensions import db
    from samenleren.core.formatting import LOCAL_ZONE
    from samenleren.trajectories.jobs import plan_return_days
    from samenleren.trajectories.models import StepInstance

    world = ended["flevoland"]
    with in_tenant(app, world.tenant):
        assert plan_return_days() == 1
    meetings = _meetings(app, world)
    state, starts_at, location, due_on = meetings["return_day"]
    assert state == "scheduled"
    local = starts_at.astimezone(LOCAL_ZONE)
    assert local.time() == time(9, 30)
    assert 0 <= (local.date() - due_on).days <= 2 and local.weekday() < 5  # a working day
    assert location == "Provinciehuis, Lelystad"  # the edition's place
    assert meetings["consolidation"][0] == "planned"  # overdue already: left to the people
    with in_tenant(app, world.tenant):
        step = db.session.scalar(
            select(StepInstance).where(
                StepInstance.trajectory_id == world.trajectory,
                StepInstance.step_key == "return_day",
            )
        )
        assert step.state.value == "scheduled" and step.starts_at == starts_at

    mails = sent_mails(app, smtp_sink, 3)
    invitations = {recipient(m): m for m in mails if "invitation.ics" in _filenames(m)}
    assert set(invitations) == {LEARNER, TRAINER}  # return day: learner and trainer
    for message in invitations.values():
        event = only_event(parse(meeting_part(message).get_content()))
        assert event.decoded("DTSTART") == starts_at.astimezone(UTC)
        assert "Terugkomdag" in str(event["SUMMARY"])
    (told,) = [m for m in mails if "invitation.ics" not in _filenames(m)]
    assert recipient(told) == TRAINER
    assert "Terugkomdag" in told["Subject"] or "Return day" in told["Subject"]

    # Twice: nothing new planned, nothing new sent.
    before = _count(app, world)
    with in_tenant(app, world.tenant):
        assert plan_return_days() == 0
    assert _count(app, world) == before
    from samenleren.core.jobs.runtime import run_pending_jobs

    run_pending_jobs(app)
    assert len(smtp_sink.messages) == 3


def _filenames(message) -> set[str]:
    return {part.get_filename() for part in message.walk() if part.get_filename()}


def test_a_return_day_on_a_weekend_moves_to_monday():
    from datetime import date

    from samenleren.core.formatting import LOCAL_ZONE
    from samenleren.trajectories.return_day import return_day_moment

    saturday, summer, winter = date(2027, 6, 5), date(2027, 6, 7), date(2027, 1, 11)
    starts, ends = return_day_moment(saturday)
    assert starts.astimezone(LOCAL_ZONE).date() == summer
    assert starts.astimezone(LOCAL_ZONE).time() == time(9, 30)
    assert starts.hour == 7 and (ends - starts).seconds == 3 * 3600  # CEST: UTC+2
    assert return_day_moment(winter)[0].hour == 8  # CET: UTC+1


def test_a_job_for_one_tenant_plans_nothing_of_another(app, ended):
    from samenleren.core.jobs.runtime import enqueue, run_pending_jobs
    from samenleren.trajectories.jobs import plan_return_days

    flevoland, gelderland = ended["flevoland"], ended["gelderland"]
    with in_tenant(app, flevoland.tenant):
        from samenleren.core.extensions import db

        enqueue(plan_return_days, tenant_id=flevoland.tenant.id)
        db.session.commit()
    run_pending_jobs(app)
    assert _meetings(app, flevoland)["return_day"][0] == "scheduled"
    assert _meetings(app, gelderland)["return_day"][0] == "planned"
    assert _count(app, gelderland) == 0


def test_a_running_edition_and_a_planned_return_day_are_left_alone(app, tenants):
    from samenleren.trajectories.return_day import plan_return_days

    with in_tenant(app, tenants["flevoland"]):
        world = build_world(tenants["flevoland"])  # starts in 20 days
        assert plan_return_days() == 0
    assert _meetings(app, world)["return_day"][0] == "planned"
    # The trainer's meeting page says what will happen by itself.
    from samenleren.core.extensions import db
    from samenleren.trajectories.models import GroupMeeting
    from tests.trajectories.test_pages import client_for

    with in_tenant(app, world.tenant):
        return_day = db.session.scalar(
            select(GroupMeeting.id).where(
                GroupMeeting.edition_id == world.edition, GroupMeeting.step_key == "return_day"
            )
        )
    page = client_for(app, world, "trainer").get(f"/flevoland/meetings/{return_day}")
    assert "vanzelf gepland" in page.get_data(as_text=True)


def test_the_return_day_job_runs_daily_per_tenant(app):  # the app registers its periodic jobs
    from samenleren.core.jobs.schedule import entry

    periodic = entry("trajectories.return_days")
    assert periodic.per_tenant
    assert periodic.job == "samenleren.trajectories.jobs.plan_return_days"
    assert periodic.cron and periodic.cron.split()[2:] == ["*", "*", "*"]


def test_the_trainer_is_not_invited_when_nobody_remains(app, ended):
    from samenleren.core.extensions import db
    from samenleren.trajectories.lifecycle import withdraw_trajectory
    from samenleren.trajectories.models import Trajectory
    from samenleren.trajectories.return_day import plan_return_days

    world = ended["flevoland"]
    with in_tenant(app, world.tenant):
        withdraw_trajectory(db.session.get(Trajectory, (world.tenant.id, world.trajectory)))
        db.session.commit()
        assert plan_return_days() == 0
    assert _meetings(app, world)["return_day"][0] == "planned"
    assert _count(app, world) == 0
