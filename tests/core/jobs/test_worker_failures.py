"""RQ's real failure path, with the worker `flask worker` runs (jobs.cli.build_worker) - in this
process (`SimpleWorker`), with RQ's scheduler and its default failure handling switched ON
(unlike `run_pending_jobs`): a failing job is retried after the intervals its `@job` gives, then
kept in RQ's FailedJobRegistry; a failed send job loses no notification.

Retries wait for their moment in RQ's ScheduledJobRegistry; instead of sleeping for minutes the
tests check that moment and then move it to now (`_due_now`), so the worker's scheduler
enqueues the retry at its next start, exactly as it would have then.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import select

from samenleren.core.jobs.runtime import enqueue, job
from tests.factories import build_world, get, in_tenant

pytestmark = pytest.mark.faults

ATTEMPTS: list[int] = []


@job(queue="default", retries=2, intervals=(2, 5))
def always_fails(*, n: int) -> None:
    ATTEMPTS.append(n)
    raise RuntimeError(f"boom {n}")


@pytest.fixture(autouse=True)
def _registries(app: Flask) -> Iterator[None]:
    """Start empty; leave nothing behind in RQ's scheduled and failed registries."""
    ATTEMPTS.clear()
    yield
    from samenleren.core.jobs.runtime import QUEUES, queue

    for name in QUEUES:
        q = queue(app, name)
        for registry in (q.scheduled_job_registry, q.failed_job_registry):
            for job_id in registry.get_job_ids():
                registry.remove(job_id, delete_job=True)


def _work(app: Flask) -> None:
    """One `flask worker --burst`, in this process: the scheduler first enqueues the retries
    that are due, then the worker runs every queue until it is empty."""
    from rq import SimpleWorker

    from samenleren.core.jobs.cli import build_worker

    worker = build_worker(app, worker_class=SimpleWorker)
    with app.app_context():
        worker.work(burst=True, with_scheduler=True, logging_level="CRITICAL")


def _only_job(app: Flask, name: str):
    from samenleren.core.jobs.runtime import queue

    (queued,) = queue(app, name).jobs
    return queued


def _retry_moment(app: Flask, name: str, job_id: str) -> float:
    """When the retry of `job_id` is due (a Unix time; RQ keeps whole seconds)."""
    from samenleren.core.jobs.runtime import queue

    registry = queue(app, name).scheduled_job_registry
    assert registry.get_job_ids() == [job_id]
    return registry.get_scheduled_time(job_id).timestamp()


def _fails_and_waits(app: Flask, name: str, job_id: str, interval: int) -> float:
    """Run a worker burst in which `job_id` fails; its retry must be due `interval` seconds
    after the failure. Returns that moment."""
    before = time.time()
    _work(app)
    after = time.time()
    moment = _retry_moment(app, name, job_id)
    assert int(before) + interval <= moment <= after + interval
    return moment


def _due_now(app: Flask, name: str, job_id: str) -> None:
    from samenleren.core.jobs.runtime import connection, queue

    registry = queue(app, name).scheduled_job_registry
    connection(app).zadd(registry.key, {job_id: int(time.time()) - 1})


def test_a_failing_job_is_retried_after_its_intervals_then_kept_as_failed(app, tenants):
    from rq.job import JobStatus

    from samenleren.core.extensions import db
    from samenleren.core.jobs.runtime import queue

    with in_tenant(app, tenants["flevoland"]):
        enqueue(always_fails, tenant_id=tenants["flevoland"].id, n=1)
        db.session.commit()
    queued = _only_job(app, "default")
    assert (queued.retries_left, queued.retry_intervals) == (2, [2, 5])
    default = queue(app, "default")

    due = _fails_and_waits(app, "default", queued.id, 2)  # attempt 1 fails: retry in 2 s
    assert ATTEMPTS == [1]
    queued.refresh()
    assert queued.retries_left == 1 and queued.get_status() == JobStatus.SCHEDULED
    assert default.failed_job_registry.get_job_ids() == []

    time.sleep(max(0.0, due - time.time()) + 0.1)  # a short interval really waited for
    _fails_and_waits(app, "default", queued.id, 5)  # attempt 2 fails: retry in 5 s
    assert ATTEMPTS == [1, 1]
    queued.refresh()
    assert queued.retries_left == 0
    _work(app)  # not yet due: the worker finds nothing to do
    assert ATTEMPTS == [1, 1]

    _due_now(app, "default", queued.id)
    _work(app)  # attempt 3 fails: no retries left
    assert ATTEMPTS == [1, 1, 1]
    assert default.scheduled_job_registry.get_job_ids() == []
    assert default.failed_job_registry.get_job_ids() == [queued.id]
    queued.refresh()
    assert queued.get_status() == JobStatus.FAILED
    assert "RuntimeError: boom 1" in queued.latest_result().exc_string


def test_default_retries_come_from_the_job_decorator(app, tenants):
    from samenleren.core.extensions import db
    from samenleren.core.jobs.runtime import DEFAULT_RETRY_INTERVALS
    from samenleren.notifications.jobs import send_due, sweep

    with in_tenant(app, tenants["flevoland"]):
        enqueue(sweep, tenant_id=tenants["flevoland"].id)
        enqueue(send_due, tenant_id=tenants["flevoland"].id)
        db.session.commit()
    swept = _only_job(app, "default")
    assert (swept.retries_left, swept.retry_intervals) == (3, list(DEFAULT_RETRY_INTERVALS))
    assert swept.failure_ttl == 7 * 24 * 3600
    sending = _only_job(app, "mail")
    assert (sending.retries_left, sending.retry_intervals) == (5, [10, 30, 60, 300, 900])


def test_a_failed_send_job_loses_no_notification(app, tenants, smtp_sink, monkeypatch):
    """The send job fails every time (production without SMTP_URL): it is retried after 10,
    30, 60, 300 and 900 seconds, then kept as failed; the notification waits, pending, and the
    next send_due once mail works sends it exactly once. Retrying the failed job sends nothing
    twice."""
    from rq.job import JobStatus

    from samenleren.core.extensions import db
    from samenleren.core.jobs.cli import run_entry
    from samenleren.core.jobs.runtime import queue
    from samenleren.identity.models import User
    from samenleren.notifications.models import Notification, NotificationKind
    from samenleren.notifications.outbox import notify

    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        world = build_world(flevoland)
        db.session.commit()
    _work(app)  # whatever building the world queued
    smtp_sink.clear()

    monkeypatch.setitem(app.config, "SAMENLEREN_ENV", "production")
    monkeypatch.setitem(app.config, "SMTP_URL", "")
    with in_tenant(app, flevoland):
        notify(get(User, world.learner), NotificationKind.REMINDER, key="kept", context={})
        db.session.commit()
    sending = _only_job(app, "mail")
    mail = queue(app, "mail")
    for interval in (10, 30, 60, 300, 900):
        _fails_and_waits(app, "mail", sending.id, interval)
        assert mail.failed_job_registry.get_job_ids() == []
        _due_now(app, "mail", sending.id)
    _work(app)  # the sixth attempt: given up
    assert mail.failed_job_registry.get_job_ids() == [sending.id]
    sending.refresh()
    assert sending.get_status() == JobStatus.FAILED
    assert "SMTP_URL is not set" in sending.latest_result().exc_string
    with in_tenant(app, flevoland):
        note = db.session.scalars(select(Notification).where(Notification.key == "kept")).one()
        assert str(note.state) in {"pending", "failed"}  # kept, never dropped
    assert smtp_sink.messages == []

    monkeypatch.setitem(app.config, "SAMENLEREN_ENV", "test")
    monkeypatch.setitem(app.config, "SMTP_URL", smtp_sink.url)
    with app.app_context():
        run_entry("notifications.send_due", inline=False)  # the next cron tick
    _work(app)
    (message,) = smtp_sink.wait_for(1)
    with in_tenant(app, flevoland):
        note = db.session.scalars(select(Notification).where(Notification.key == "kept")).one()
        assert str(note.state) == "sent"
        assert message["Message-ID"] == note.message_id

    mail.failed_job_registry.requeue(sending.id)  # an operator retries the failed job
    _work(app)
    assert mail.failed_job_registry.get_job_ids() == []
    time.sleep(0.2)
    assert len(smtp_sink.messages) == 1  # nothing sent twice
