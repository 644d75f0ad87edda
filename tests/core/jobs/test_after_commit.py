"""Jobs are handed over at the real commit, never when a SAVEPOINT is released.

SQLAlchemy fires `after_commit` for nested transactions too, and `notify()` writes its row inside
`begin_nested()`: before `jobs.core._after_commit` ignored those, the send job went to Redis in
the middle of the caller's transaction - before the row it was to send existed for anyone else,
and even when the transaction then rolled back. Real Redis, real SMTP sink.
"""

from __future__ import annotations

from sqlalchemy import func, select

from samenleren.core.jobs.runtime import run_pending_jobs
from tests.factories import add_user, build_world, get, in_tenant

SEND_DUE = "samenleren.notifications.jobs.send_due"


def _queued(app) -> list[dict]:
    """The payloads waiting in Redis, on every queue."""
    from samenleren.core.jobs.runtime import QUEUES, queue

    return [job.kwargs for name in QUEUES for job in queue(app, name).jobs]


def _notify(world, key: str):
    from samenleren.identity.models import User
    from samenleren.notifications.models import NotificationKind
    from samenleren.notifications.outbox import notify

    return notify(
        get(User, world.learner),
        NotificationKind.REMINDER,
        key=key,
        context={"step": {"nl": "Intakegesprek", "en": "Intake conversation"}},
    )


def test_notify_then_rollback_dispatches_and_sends_nothing(app, tenants, smtp_sink):
    from samenleren.core.extensions import db
    from samenleren.core.jobs.runtime import pending_jobs
    from samenleren.notifications.models import Notification

    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        world = build_world(flevoland)
        db.session.commit()
    run_pending_jobs(app, raise_errors=False)  # whatever building the world queued
    smtp_sink.clear()
    with in_tenant(app, flevoland):
        _notify(world, "rolled-back")  # schedules send_due after its SAVEPOINT
        assert [p["job"] for p in pending_jobs()] == [SEND_DUE]
        _notify(world, "rolled-back-too")  # another SAVEPOINT released, send_due pending
        assert _queued(app) == []  # not handed over at the savepoint
        add_user("someone.else")
        db.session.flush()
        assert _queued(app) == []
        db.session.rollback()
        assert pending_jobs() == []
        db.session.commit()  # a later commit of the same session hands over nothing either
        assert _queued(app) == []
        written = select(func.count()).where(Notification.key.startswith("rolled-back"))
        assert db.session.scalar(written) == 0
    assert run_pending_jobs(app) == 0
    assert smtp_sink.messages == []


def test_notify_is_dispatched_once_after_the_outer_commit(app, tenants, smtp_sink):
    from samenleren.core.extensions import db
    from samenleren.core.jobs.runtime import pending_jobs

    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        world = build_world(flevoland)
        db.session.commit()
    run_pending_jobs(app, raise_errors=False)
    smtp_sink.clear()
    with in_tenant(app, flevoland):
        _notify(world, "first")
        _notify(world, "second")  # a second savepoint: still one send job waiting
        assert _queued(app) == []
        add_user("someone.else")
        db.session.flush()
        assert _queued(app) == []
        assert [p["job"] for p in pending_jobs()] == [SEND_DUE]
        db.session.commit()
        queued = _queued(app)
        assert [(p["job"], p["tenant_id"]) for p in queued] == [(SEND_DUE, str(flevoland.id))]
        assert pending_jobs() == []
        db.session.commit()  # nothing left to hand over
        assert len(_queued(app)) == 1
    assert run_pending_jobs(app) == 1
    messages = smtp_sink.wait_for(2)
    assert len(messages) == 2
    assert run_pending_jobs(app) == 0
