"""Reminders at the template's days, overdue repeats, escalation and digests (the sweep)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select

from samenleren.core.formatting import LOCAL_ZONE
from samenleren.core.jobs.runtime import run_pending_jobs
from tests.factories import build_world, get, in_tenant
from tests.mail import parts


def _at(day, hour=9):
    return datetime.combine(day, time(hour), tzinfo=LOCAL_ZONE).astimezone(UTC)


@pytest.fixture
def world(app, tenants):
    with in_tenant(app, tenants["flevoland"]):
        return build_world(tenants["flevoland"])


def _step(app, tenants, world, key):
    from samenleren.trajectories.models import StepInstance

    with in_tenant(app, tenants["flevoland"]):
        from samenleren.core.extensions import db

        step = db.session.scalars(
            select(StepInstance).where(
                StepInstance.trajectory_id == world.trajectory, StepInstance.step_key == key
            )
        ).first()
        return step.id, step.due_on


def _sweep(app, tenants, now):
    from samenleren.notifications.reminders import sweep

    with in_tenant(app, tenants["flevoland"]):
        return sweep(now)


def _send(app, tenants, now):
    from samenleren.notifications.delivery import send_due

    with in_tenant(app, tenants["flevoland"]):
        return send_due(now=now)


def _keys(app, tenants, step_id=None):
    from samenleren.core.extensions import db
    from samenleren.notifications.models import Notification

    with in_tenant(app, tenants["flevoland"]):
        query = select(Notification.key, Notification.kind, Notification.recipient_id)
        rows = db.session.execute(query).all()
    return {
        (*_label(key), kind, recipient)
        for key, kind, recipient in rows
        if step_id is None or str(step_id) in key
    }


def _label(key):
    """("reminder", "<offset>"), ("overdue", "<days>"), ("escalation", "coach"|"admin"), ..."""
    parts = key.split(":")
    if parts[0] == "escalation":
        return parts[0], parts[1]
    if parts[0] in {"reminder", "overdue"}:
        return parts[0], parts[2]
    return parts[0], ""


def test_reminders_on_the_template_days_to_the_responsible(app, tenants, world):
    step_id, due = _step(app, tenants, world, "intake")  # responsible: the coach; [7, 1, -3]
    _sweep(app, tenants, _at(due - timedelta(days=8)))
    assert _keys(app, tenants, step_id) == set()
    _sweep(app, tenants, _at(due - timedelta(days=7)))
    assert _keys(app, tenants, step_id) == {("reminder", "7", "reminder", world.coach)}
    _sweep(app, tenants, _at(due - timedelta(days=7), 15))  # again the same day: nothing new
    _sweep(app, tenants, _at(due - timedelta(days=1)))
    _sweep(app, tenants, _at(due + timedelta(days=3)))
    assert _keys(app, tenants, step_id) == {
        ("reminder", "7", "reminder", world.coach),
        ("reminder", "1", "reminder", world.coach),
        ("reminder", "-3", "overdue", world.coach),
    }


def test_reminder_mail_arrives_at_eight_local(app, tenants, world, smtp_sink):
    from samenleren.notifications.delivery import send_due

    step_id, due = _step(app, tenants, world, "intake")
    _sweep(app, tenants, _at(due - timedelta(days=7), 7))  # before 08:00: created, not yet due
    run_pending_jobs(app)
    with in_tenant(app, tenants["flevoland"]):
        assert send_due() == 0
    with in_tenant(app, tenants["flevoland"]):
        assert send_due(now=_at(due - timedelta(days=7), 8)) == 1
    mails = [m for m in smtp_sink.messages if "Intakegesprek" in m["Subject"]]
    assert len(mails) == 1
    assert mails[0]["To"].addresses[0].addr_spec == "carla.coach@example.nl"
    text = parts(mails[0])["text/plain"]
    assert f"/flevoland/trajectories/{world.trajectory}/steps/{step_id}" in text


def test_overdue_repeats_and_escalation(app, tenants, world):
    step_id, due = _step(app, tenants, world, "intake")
    _sweep(app, tenants, _at(due + timedelta(days=7)))
    assert _keys(app, tenants, step_id) == {
        ("overdue", "7", "overdue", world.coach),
        ("escalation", "coach", "escalation_coach", world.coach),
    }
    _sweep(app, tenants, _at(due + timedelta(days=14)))
    _sweep(app, tenants, _at(due + timedelta(days=21)))
    keys = _keys(app, tenants, step_id)
    assert ("overdue", "14", "overdue", world.coach) in keys
    assert ("overdue", "21", "overdue", world.coach) in keys
    assert ("escalation", "admin", "escalation_admin", world.admin) in keys
    assert len([k for k in keys if k[0] == "escalation"]) == 2  # once each


def test_digest_users_get_one_mail_a_day(app, tenants, world, smtp_sink):
    from samenleren.core.extensions import db
    from samenleren.identity.models import User
    from samenleren.notifications.models import Notification, NotificationState

    with in_tenant(app, tenants["flevoland"]):
        get(User, world.coach).notification_mode = "digest"
        db.session.commit()
    _step_id, due = _step(app, tenants, world, "intake")
    _sweep(app, tenants, _at(due - timedelta(days=7), 7))
    run_pending_jobs(app)
    assert [m for m in smtp_sink.messages if "carla" in str(m["To"])] == []
    _sweep(app, tenants, _at(due - timedelta(days=7), 9))
    _send(app, tenants, _at(due - timedelta(days=7), 9))
    to_coach = [m for m in smtp_sink.messages if "carla" in str(m["To"])]
    assert len(to_coach) == 1
    assert "Intakegesprek" in parts(to_coach[0])["text/plain"]
    with in_tenant(app, tenants["flevoland"]):
        states = {
            n.kind: n.state
            for n in db.session.scalars(
                select(Notification).where(Notification.recipient_id == world.coach)
            )
        }
    assert states["reminder"] is NotificationState.BUNDLED
    assert states["digest"] is NotificationState.SENT


def test_weekly_digest_for_managers_on_monday(app, tenants, world, smtp_sink):
    _step_id, due = _step(app, tenants, world, "intake")  # the manager takes part
    monday = due - timedelta(days=due.weekday())
    _sweep(app, tenants, _at(monday + timedelta(days=1)))  # a Tuesday: no digest
    assert not [k for k in _keys(app, tenants) if k[0] == "manager_digest"]
    _sweep(app, tenants, _at(monday, 9))
    _sweep(app, tenants, _at(monday, 10))
    digests = [k for k in _keys(app, tenants) if k[0] == "manager_digest"]
    assert [d[3] for d in digests] == [world.manager]
    _send(app, tenants, _at(monday, 10))
    (mail,) = [m for m in smtp_sink.messages if "mark.manager" in str(m["To"])]
    assert "Intakegesprek" in parts(mail)["text/plain"]


def test_confidential_steps_show_only_name_and_date(app, tenants, world, smtp_sink):
    from samenleren.core.extensions import db
    from samenleren.notifications.models import Notification

    step_id, due = _step(app, tenants, world, "progress")
    _sweep(app, tenants, _at(due - timedelta(days=7)))
    with in_tenant(app, tenants["flevoland"]):
        notes = db.session.scalars(
            select(Notification).where(Notification.key.contains(str(step_id)))
        ).all()
    assert notes
    assert all(set(n.context) == {"step_id", "step", "learner", "due_on", "path"} for n in notes)


def test_the_six_months_look_back_is_a_mail_to_learner_and_manager(app, tenants, world, smtp_sink):
    """The Flevoland model's "Zes maanden later" has no meeting: the reminder on its day goes to
    the learner and the manager, with the link to its short form; escalation as for any step."""
    step_id, due = _step(app, tenants, world, "follow_up")
    _sweep(app, tenants, _at(due))
    assert _keys(app, tenants, step_id) == {
        ("reminder", "0", "reminder", world.learner),
        ("reminder", "0", "reminder", world.manager),
    }
    run_pending_jobs(app)
    _send(app, tenants, _at(due, 8))
    mails = [m for m in smtp_sink.messages if "Zes maanden later" in m["Subject"]]
    assert len(mails) == 2
    for mail in mails:
        text = parts(mail)["text/plain"]
        assert f"/flevoland/trajectories/{world.trajectory}/steps/{step_id}" in text
    _sweep(app, tenants, _at(due + timedelta(days=7)))
    keys = _keys(app, tenants, step_id)
    assert ("escalation", "coach", "escalation_coach", world.coach) in keys
