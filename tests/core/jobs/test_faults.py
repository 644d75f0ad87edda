"""Fault tests: Redis stopped in the middle of a reminder run, and a worker killed
with SIGKILL mid-batch. Both run real `flask worker` processes against a *private* redis-server
(never the machine's own) and the test database, sending to a real SMTP sink.

Counts are exact: every notification arrives at the sink exactly once (by Message-ID and in
total), and the web keeps answering while Redis is down.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests.factories import add_user, build_world, in_tenant
from tests.mail import free_port

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
LEASE_SECONDS = 2

pytestmark = [
    pytest.mark.faults,
    pytest.mark.skipif(not Path(REDIS_SERVER).exists(), reason="redis-server missing"),
]


class PrivateRedis:
    """A redis-server of our own on a free port, without persistence: stopping it loses
    everything queued, as a crash of a cache-only Redis would."""

    def __init__(self, tmp: Path) -> None:
        self.port = free_port()
        self.tmp = tmp
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.tmp),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        import redis

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                redis.Redis.from_url(self.url, socket_connect_timeout=0.2).ping()
                return
            except redis.exceptions.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("private redis-server did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fault_app(app: Flask, private_redis: PrivateRedis) -> Iterator[Flask]:
    """An app like the session's, but whose every Redis use (jobs, rate limits, readiness)
    goes to the private server; same test database."""
    from samenleren import create_app
    from samenleren.core.extensions import db

    url = private_redis.url
    application = create_app(
        {
            "SERVER_NAME": None,
            "REDIS_URL": url,
            "RATELIMIT_STORAGE_URI": url,
            "SAMENLEREN_QUEUE_PREFIX": f"fault-{os.getpid()}:",
            "SAMENLEREN_MAIL_LEASE_SECONDS": LEASE_SECONDS,
        }
    )
    yield application
    with application.app_context():
        db.engine.dispose()


class Workers:
    """`flask --app samenleren worker` subprocesses, each its own process group (worker and
    its forked work horse die together, as in a pod kill)."""

    def __init__(self, app: Flask, smtp_url: str) -> None:
        self.env = os.environ | {
            "SAMENLEREN_ENV": "test",
            "REDIS_URL": app.config["REDIS_URL"],
            "SMTP_URL": smtp_url,
            "SAMENLEREN_QUEUE_PREFIX": app.config["SAMENLEREN_QUEUE_PREFIX"],
            "SAMENLEREN_MAIL_LEASE_SECONDS": str(LEASE_SECONDS),
            "SAMENLEREN_MAIL_BATCH": "5",
            "SAMENLEREN_LOG_LEVEL": "WARNING",
        }
        self.processes: list[subprocess.Popen] = []

    def start(self) -> subprocess.Popen:
        process = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "samenleren", "worker"],
            env=self.env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.processes.append(process)
        return process

    def kill(self, process: subprocess.Popen) -> None:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    def stop_all(self) -> None:
        for process in self.processes:
            self.kill(process)


@pytest.fixture
def workers(fault_app: Flask, smtp_sink) -> Iterator[Workers]:
    pool = Workers(fault_app, smtp_sink.url)
    try:
        yield pool
    finally:
        pool.stop_all()


def _outbox(app: Flask, tenants, count: int) -> None:
    """`count` reminders due now, to as many people, committed (which enqueues send_due)."""
    from samenleren.core.extensions import db
    from samenleren.notifications.models import NotificationKind
    from samenleren.notifications.outbox import notify

    with in_tenant(app, tenants["flevoland"]):
        for n in range(count):
            person = add_user(f"person.{n:03d}", "learner")
            notify(
                person,
                NotificationKind.REMINDER,
                key=f"fault:{n}",
                context={"step": {"nl": "Intakegesprek"}, "learner": person.name},
            )
        db.session.commit()


def _sent(app: Flask, tenants) -> dict[str, int]:
    from samenleren.core.extensions import db
    from samenleren.notifications.models import Notification

    with in_tenant(app, tenants["flevoland"]):
        return dict(
            db.session.execute(
                select(Notification.state, func.count()).group_by(Notification.state)
            ).all()
        )


def _tick(app: Flask) -> None:
    """What the cron process does every minute: enqueue send_due for every active tenant."""
    from samenleren.core.jobs.cli import run_entry

    with app.app_context():
        run_entry("notifications.send_due", inline=False)


def _until(condition, timeout: float, every=None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if every:
            every()
        time.sleep(0.5)
    raise AssertionError("timed out")


def _exactly_once(sink, count: int) -> None:
    by_id = sink.by_message_id()
    assert len(sink.messages) == count
    assert len(by_id) == count
    assert all(len(copies) == 1 for copies in by_id.values())


def test_redis_stopped_in_the_middle_of_a_reminder_run(
    fault_app, tenants, private_redis, workers, smtp_sink
):
    from tests.trajectories.test_pages import client_for

    count = 40
    smtp_sink.delay = 0.03
    with in_tenant(fault_app, tenants["flevoland"]):
        world = build_world(tenants["flevoland"])
    workers.start()
    _outbox(fault_app, tenants, count)
    smtp_sink.wait_for(5, timeout=30)

    private_redis.stop()  # in the middle of the run
    client = client_for(fault_app, world, "learner")  # login: rate limiter without its Redis
    for path in ("/flevoland/", "/flevoland/me/notifications", "/healthz"):
        assert client.get(path).status_code == 200, path
    ready = client.get("/readyz")  # still ready: pages answer without Redis
    assert ready.status_code == 200
    assert ready.get_json()["degraded"] == ["redis"]
    _outbox_more = 5  # committed while Redis is down: rows kept, enqueue gives up quietly
    from samenleren.core.extensions import db
    from samenleren.notifications.models import NotificationKind
    from samenleren.notifications.outbox import notify

    with in_tenant(fault_app, tenants["flevoland"]):
        for n in range(_outbox_more):
            person = add_user(f"late.{n}", "learner")
            notify(person, NotificationKind.REMINDER, key=f"late:{n}", context={})
        db.session.commit()
    time.sleep(1)

    private_redis.start()  # empty: whatever was queued is gone
    total = count + _outbox_more
    _until(
        lambda: _sent(fault_app, tenants).get("sent", 0) == total,
        timeout=60,
        every=lambda: _tick(fault_app),
    )
    time.sleep(LEASE_SECONDS + 1)
    _tick(fault_app)
    time.sleep(1)
    _exactly_once(smtp_sink, total)


def test_worker_killed_mid_batch(fault_app, tenants, workers, smtp_sink):
    count = 30
    smtp_sink.delay = 0.3  # before the server accepts: a kill there loses nothing it holds
    first = workers.start()
    _outbox(fault_app, tenants, count)
    _until(lambda: smtp_sink.rcpt_count >= 8, timeout=30)
    workers.kill(first)  # while message 8 waits in RCPT; 1-7 were accepted and committed
    killed_at = len(smtp_sink.messages)
    assert 0 < killed_at < count
    states = _sent(fault_app, tenants)
    assert states.get("sending", 0) > 0  # the rest of its batch was claimed and is stranded
    assert states.get("sent", 0) == killed_at

    smtp_sink.delay = 0.0
    workers.start()  # the replacement; the cron tick hands it the stranded rows after the lease
    _until(
        lambda: _sent(fault_app, tenants).get("sent", 0) == count,
        timeout=60,
        every=lambda: _tick(fault_app),
    )
    time.sleep(LEASE_SECONDS + 1)
    _tick(fault_app)
    time.sleep(1)
    _exactly_once(smtp_sink, count)
