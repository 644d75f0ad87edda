"""Stale reminders are cancelled by the sender, never sent (notifications/staleness.py).

A reminder waits in the outbox for its day; meanwhile its step may be done or skipped, the
trajectory withdrawn, or the step row replaced (a not-yet-started trajectory moved to a newer
template version). Real PostgreSQL, a real SMTP sink.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import event, select

from samenleren.core.formatting import LOCAL_ZONE, local_today
from tests.calendars.helpers import meeting_part
from tests.factories import World, build_world, get, in_tenant


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=LOCAL_ZONE).astimezone(UTC)


@pytest.fixture
def world(app, tenants) -> World:
    with in_tenant(app, tenants["flevoland"]):
        return build_world(tenants["flevoland"])


def _intake(app, world: World):
    """The intake (responsible: the coach; reminders 7, 1 and -3 days before): id, due date."""
    from samenleren.core.extensions import db
    from samenleren.trajectories.models import StepInstance

    with in_tenant(app, world.tenant):
        step = db.session.scalars(
            select(StepInstance).where(
                StepInstance.trajectory_id == world.trajectory, StepInstance.step_key == "intake"
            )
        ).one()
        return step.id, step.due_on


def _remind(app, world: World, due: date) -> datetime:
    """The sweep early on the day a week before the intake: the coach's reminder waits for
    08:00. Returns a moment by which it is due."""
    from samenleren.notifications.reminders import sweep

    day = due - timedelta(days=7)
    with in_tenant(app, world.tenant):
        sweep(_at(day, 7))
    assert _states(app, world, "reminder:") == ["pending"]
    return _at(day, 9)


def _states(app, world: World, prefix: str) -> list[str]:
    from samenleren.core.extensions import db
    from samenleren.notifications.models import Notification

    with in_tenant(app, world.tenant):
        return sorted(
            str(state)
            for state in db.session.scalars(
                select(Notification.state).where(Notification.key.startswith(prefix))
            )
        )


def _send(app, world: World, now: datetime) -> int:
    from samenleren.notifications.delivery import send_due

    with in_tenant(app, world.tenant):
        return send_due(now=now)


def _close(app, world: World, step_id, how: str) -> None:
    from samenleren.core.extensions import db
    from samenleren.identity.models import User
    from samenleren.trajectories.models import StepInstance, Trajectory
    from samenleren.trajectories.steps import complete_step, skip_step
    from samenleren.trajectories.values import record_values

    with in_tenant(app, world.tenant):
        trajectory = get(Trajectory, world.trajectory)
        step = get(StepInstance, step_id)
        coach = get(User, world.coach)
        if how == "done":
            record_values(
                trajectory,
                step,
                coach,
                {"f.manager_expectations": "Meer regie", "f.manager_contribution": "Tijd"},
            )
            complete_step(trajectory, step, coach)
        else:
            skip_step(trajectory, step, coach, "Al besproken in het teamoverleg")
        db.session.commit()


@pytest.mark.parametrize("how", ["done", "skipped"])
def test_a_reminder_of_a_closed_step_is_cancelled_not_sent(app, world, smtp_sink, how):
    from samenleren.core.extensions import db
    from samenleren.identity.models import User
    from samenleren.notifications.models import Notification, NotificationKind
    from samenleren.notifications.outbox import notify
    from samenleren.notifications.staleness import STALE_REASON
    from samenleren.trajectories.models import StepInstance

    step_id, due = _intake(app, world)
    now = _remind(app, world, due)
    with in_tenant(app, world.tenant):
        # In the same batch: a reminder of a step that is still open, and a mail about no step.
        goals = db.session.scalars(
            select(StepInstance.id).where(
                StepInstance.trajectory_id == world.trajectory,
                StepInstance.step_key == "learning_goals",
            )
        ).one()
        learner = get(User, world.learner)
        notify(
            learner,
            NotificationKind.REMINDER,
            key="open-step",
            due_at=now,
            context={"step_id": str(goals), "step": {"nl": "Leerdoelen formuleren"}},
        )
        notify(learner, NotificationKind.REMINDER, key="no-step", due_at=now, context={})
        db.session.commit()
    _close(app, world, step_id, how)

    selects: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "step_instances" in statement:
            selects.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        assert _send(app, world, now) == 2
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(selects) == 1  # one query for the whole batch
    assert sorted(m["X-Samen-Leren-Tenant"] for m in smtp_sink.messages) == ["flevoland"] * 2
    assert not [m for m in smtp_sink.messages if "carla.coach" in str(m["To"])]
    with in_tenant(app, world.tenant):
        notes = {n.key: n for n in db.session.scalars(select(Notification))}
    (stale,) = [n for key, n in notes.items() if key.startswith("reminder:")]
    assert str(stale.state) == "cancelled"
    assert stale.last_error == STALE_REASON
    assert stale.sent_at is None
    assert str(notes["open-step"].state) == "sent"
    assert str(notes["no-step"].state) == "sent"
    assert _send(app, world, now + timedelta(days=1)) == 0  # and it stays cancelled


def test_reminders_of_a_moved_trajectory_are_cancelled(app, world, smtp_sink):
    from samenleren.core.extensions import db
    from samenleren.identity.models import User
    from samenleren.process_templates.models import TemplateVersion
    from samenleren.trajectories.moving import move_trajectories
    from tests.process_templates.helpers import publish_version

    step_id, due = _intake(app, world)
    now = _remind(app, world, due)
    _, version_id = publish_version(app, world)
    with app.test_request_context("/"), in_tenant(app, world.tenant):
        move_trajectories(
            get(TemplateVersion, version_id), [world.trajectory], get(User, world.admin)
        )
        db.session.commit()
    new_intake, _ = _intake(app, world)
    assert new_intake != step_id  # the old step row is gone
    assert _send(app, world, now) == 0
    assert smtp_sink.messages == []
    assert _states(app, world, "reminder:") == ["cancelled"]


def test_reminders_of_a_withdrawn_trajectory_are_cancelled_but_its_cancellations_go_out(
    app, world, smtp_sink
):
    from samenleren.core.extensions import db
    from samenleren.core.jobs.runtime import run_pending_jobs
    from samenleren.identity.models import User
    from samenleren.trajectories.lifecycle import withdraw_trajectory
    from samenleren.trajectories.models import StepInstance, Trajectory
    from samenleren.trajectories.steps import Appointment, schedule_step

    _step_id, due = _intake(app, world)
    start = datetime.combine(local_today() + timedelta(days=40), time(10), tzinfo=LOCAL_ZONE)
    with in_tenant(app, world.tenant):
        trajectory = get(Trajectory, world.trajectory)
        progress = get(StepInstance, world.step)
        schedule_step(
            trajectory,
            progress,
            get(User, world.coach),
            Appointment(start, start + timedelta(hours=1), location="Kamer 3"),
        )
        db.session.commit()
    run_pending_jobs(app)
    assert len(smtp_sink.wait_for(2)) == 2  # the invitations: learner and coach
    smtp_sink.clear()
    now = _remind(app, world, due)
    with in_tenant(app, world.tenant):
        withdraw_trajectory(get(Trajectory, world.trajectory))
        db.session.commit()
    assert _send(app, world, now) == 2
    # What went out are the calendar cancellations of the progress conversation, nothing else.
    assert {meeting_part(m).get_param("method") for m in smtp_sink.messages} == {"CANCEL"}
    assert _states(app, world, "cancel:") == ["sent", "sent"]
    assert _states(app, world, "reminder:") == ["cancelled"]


def test_a_stale_reminder_held_for_the_digest_is_not_bundled(app, world, smtp_sink):
    from samenleren.core.extensions import db
    from samenleren.identity.models import User
    from samenleren.notifications.reminders import sweep

    with in_tenant(app, world.tenant):
        get(User, world.coach).notification_mode = "digest"
        db.session.commit()
    step_id, due = _intake(app, world)
    now = _remind(app, world, due)
    _close(app, world, step_id, "skipped")
    with in_tenant(app, world.tenant):
        assert sweep(now) == 0  # no digest about nothing
    assert _states(app, world, "reminder:") == ["cancelled"]
    assert _states(app, world, "digest:") == []
    assert _send(app, world, now) == 0
    assert smtp_sink.messages == []
