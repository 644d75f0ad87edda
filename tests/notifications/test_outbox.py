"""The outbox against a real SMTP server (aiosmtpd) and the real Redis."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from samenleren.core.jobs.runtime import run_pending_jobs
from tests.factories import build_world, get, in_tenant
from tests.mail import parts


def _notify(app, tenant, who="learner", key="k1", **overrides):
    from samenleren.core.extensions import db
    from samenleren.identity.models import User
    from samenleren.notifications.models import NotificationKind
    from samenleren.notifications.outbox import notify

    with in_tenant(app, tenant):
        world = overrides.pop("world", None) or build_world(tenant)
        recipient = get(User, getattr(world, who))
        note = notify(
            recipient,
            overrides.pop("kind", NotificationKind.REMINDER),
            key=key,
            context=overrides.pop(
                "context",
                {
                    "step": {"nl": "Intakegesprek", "en": "Intake conversation"},
                    "learner": "Anna",
                    "due_on": "2026-12-01",
                    "path": f"/{tenant.slug}/trajectories/{world.trajectory}",
                },
            ),
            **overrides,
        )
        db.session.commit()
        return world, note.id


def test_a_notification_is_mailed_once_in_the_recipients_language(app, tenants, smtp_sink):
    from samenleren.core.extensions import db
    from samenleren.identity.models import User
    from samenleren.notifications.models import Notification, NotificationState

    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        world = build_world(flevoland)
        get(User, world.learner).locale = "en"
        db.session.commit()
    _notify(app, flevoland, world=world)
    _notify(app, flevoland, world=world)  # the same key: the same row, no second mail
    assert run_pending_jobs(app) == 1
    (message,) = smtp_sink.wait_for(1)
    assert message["Subject"] == "Reminder: Intake conversation on December 1, 2026"
    assert "Provincie Flevoland" in message["From"]
    assert message["To"].addresses[0].addr_spec == "anna.learner@example.nl"
    body = parts(message)
    assert "Intake conversation" in body["text/plain"]
    assert "Provincie Flevoland" in body["text/html"]
    assert "#00548a" in body["text/html"]
    assert f"/flevoland/trajectories/{world.trajectory}" in body["text/plain"]
    with in_tenant(app, flevoland):
        note = db.session.scalars(select(Notification)).one()
        assert note.state is NotificationState.SENT
        assert message["Message-ID"] == note.message_id
    assert run_pending_jobs(app) == 0
    assert len(smtp_sink.messages) == 1


def test_dutch_by_default(app, tenants, smtp_sink):
    _notify(app, tenants["flevoland"])
    run_pending_jobs(app)
    (message,) = smtp_sink.wait_for(1)
    assert message["Subject"].startswith("Herinnering") or "Intakegesprek" in message["Subject"]
    assert "Intakegesprek" in parts(message)["text/plain"]


def test_not_due_yet_is_not_sent(app, tenants, smtp_sink):
    from samenleren.core.db import utcnow

    _notify(app, tenants["flevoland"], due_at=utcnow() + timedelta(hours=1))
    run_pending_jobs(app)
    with in_tenant(app, tenants["flevoland"]):
        from samenleren.notifications.delivery import send_due

        assert send_due() == 0
    assert smtp_sink.messages == []


def test_calendar_attachment_is_also_an_alternative(app, tenants, smtp_sink):
    from samenleren.notifications.models import NotificationKind

    ics = "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n"
    pytest.importorskip("aiosmtpd")
    _notify(
        app,
        tenants["flevoland"],
        kind=NotificationKind.REMINDER,
        attachments=[
            {
                "filename": "invitation.ics",
                "content_type": "text/calendar",
                "method": "REQUEST",
                "text": ics,
            }
        ],
    )
    run_pending_jobs(app)
    (message,) = smtp_sink.wait_for(1)
    calendar = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    assert len(calendar) == 2
    assert all(p.get_param("method") == "REQUEST" for p in calendar)
    assert any(p.get_filename() == "invitation.ics" for p in calendar)
    alternative = next(p for p in message.walk() if p.get_content_type() == "multipart/alternative")
    assert [p.get_content_type() for p in alternative.iter_parts()] == [
        "text/plain",
        "text/html",
        "text/calendar",
    ]


def test_a_failed_send_is_retried_with_backoff_then_failed_and_never_lost(app, tenants, smtp_sink):
    from sqlalchemy import update

    from samenleren.core.db import as_utc, utcnow
    from samenleren.core.extensions import db
    from samenleren.notifications.delivery import MAX_ATTEMPTS, send_due
    from samenleren.notifications.models import Notification, NotificationState
    from samenleren.notifications.outbox import retry_failed
    from tests.mail import free_port

    flevoland = tenants["flevoland"]
    _notify(app, flevoland)
    nowhere = f"smtp://127.0.0.1:{free_port()}"  # nothing listens there
    app.config["SMTP_URL"] = nowhere
    with in_tenant(app, flevoland):
        assert send_due() == 0
        note = db.session.scalars(select(Notification)).one()
        message_id = note.message_id
        assert note.state is NotificationState.PENDING
        assert note.attempts == 1
        assert note.last_error
        assert as_utc(note.due_at) > utcnow() + timedelta(seconds=30)  # backoff
        db.session.execute(update(Notification).values(attempts=MAX_ATTEMPTS - 1, due_at=utcnow()))
        db.session.commit()
        assert send_due() == 0
        db.session.expire_all()
        assert db.session.scalars(select(Notification)).one().state is NotificationState.FAILED
        assert send_due() == 0  # failed rows are left alone...
        app.config["SMTP_URL"] = smtp_sink.url
        assert retry_failed() == 1  # ...until someone retries them
        db.session.commit()
        assert send_due() == 1
    (message,) = smtp_sink.wait_for(1)
    assert message["Message-ID"] == message_id


def test_two_senders_never_take_the_same_row(app, tenants, smtp_sink):
    from samenleren.core.extensions import db
    from samenleren.notifications.delivery import claim_due

    world, _ = _notify(app, tenants["flevoland"], key="k0")
    for n in range(1, 6):
        _notify(app, tenants["flevoland"], key=f"k{n}", world=world)
    with in_tenant(app, tenants["flevoland"]):
        first = {out.id for out in claim_due(4)}
        with app.app_context():  # another worker: its own session and connection
            from samenleren.core.tenancy import activate_tenant
            from samenleren.core.tenant import Tenant

            activate_tenant(db.session.get(Tenant, tenants["flevoland"].id))
            second = {out.id for out in claim_due(10)}
        assert len(first) == 4
        assert len(second) == 2
        assert not first & second


def test_the_tenants_own_sender(app, tenants, smtp_sink):
    from samenleren.core.extensions import db
    from samenleren.core.tenant import Tenant

    with app.app_context():
        db.session.get(
            Tenant, tenants["flevoland"].id
        ).mail_from = "Leren bij Flevoland <leren@flevoland.example.nl>"
        db.session.commit()
    _notify(app, tenants["flevoland"])
    run_pending_jobs(app)
    (message,) = smtp_sink.wait_for(1)
    assert message["From"].addresses[0].addr_spec == "leren@flevoland.example.nl"
    assert message["From"].addresses[0].display_name == "Leren bij Flevoland"
