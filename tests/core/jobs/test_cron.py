"""`flask --app samenleren cron`: RQ's cron scheduler over jobs/schedule.py.

The registration (`jobs.cli.cron_scheduler`) is checked entry by entry; then a real `flask cron`
process runs against a private redis-server (never the machine's own): what it enqueues is JSON
our workers read, and the fan-out gives one job per active tenant and none for a suspended one.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from tests.core.jobs.test_faults import REDIS_SERVER, PrivateRedis

pytestmark = pytest.mark.skipif(not Path(REDIS_SERVER).exists(), reason="redis-server missing")

EXPECTED = {
    # name: (job, cron, interval, per tenant)
    "notifications.send_due": ("samenleren.notifications.jobs.send_due", None, 60, True),
    "notifications.sweep": ("samenleren.notifications.jobs.sweep", "7 * * * *", None, True),
    "trajectories.return_days": (
        "samenleren.trajectories.jobs.plan_return_days",
        "20 4 * * *",
        None,
        True,
    ),
    "exports.clean_up": ("samenleren.exports.jobs.clean_up", "*/5 * * * *", None, True),
    # The audit chain of every tenant verified each night (BIO 8.15).
    "audit.verify": ("samenleren.audit.jobs.verify", "40 2 * * *", None, True),
    # The ID tokens kept for logging out at the IdP, forgotten once their login expired.
    "identity.forget_id_tokens": (
        "samenleren.identity.jobs.forget_id_tokens",
        "20 3 * * *",
        None,
        True,
    ),
    # Each tenant's retention periods applied each night, after the audit verification.
    "retention.apply": ("samenleren.retention.jobs.apply", "10 3 * * *", None, True),
    # The previous quarter's report mail, on the first day of a quarter.
    "insight.quarterly_report": (
        "samenleren.insight.jobs.send_quarterly_report",
        "0 6 1 1,4,7,10 *",
        None,
        True,
    ),
    # The comparison between organisations: once for the platform, not per tenant.
    "insight.comparisons": (
        "samenleren.insight.jobs.compute_comparisons",
        "50 3 * * *",
        None,
        False,
    ),
}


def test_the_schedule_registers_one_json_cron_job_per_entry(app):
    from croniter import croniter
    from rq.cron import CronJob

    from samenleren.core.jobs import runtime
    from samenleren.core.jobs.cli import cron_scheduler, periodic_kwargs
    from samenleren.core.jobs.schedule import SCHEDULE

    assert {
        item.name: (item.job, item.cron, item.interval, item.per_tenant) for item in SCHEDULE
    } == EXPECTED
    scheduler = cron_scheduler(app)
    jobs = scheduler.get_jobs()
    assert [cron_job.name for cron_job in jobs] == [item.name for item in SCHEDULE]
    for cron_job, item in zip(jobs, SCHEDULE, strict=True):
        assert isinstance(cron_job, CronJob)
        assert type(cron_job).enqueue is not CronJob.enqueue  # ours: through the JSON queue
        assert cron_job.func is runtime.perform
        assert cron_job.queue_name == "default"
        assert (cron_job.cron, cron_job.interval) == (item.cron, item.interval)
        assert cron_job.kwargs == periodic_kwargs(item.name)
        assert json.loads(json.dumps(cron_job.kwargs)) == cron_job.kwargs
        assert item.cron is None or croniter.is_valid(item.cron)
        # The job each entry names is a registered @job taking no required argument.
        spec = runtime.spec_for(item.job)
        assert spec.name == item.job
    # Interval entries run at the scheduler's start; cron entries wait for their time.
    assert [j.name for j in jobs if j.should_run()] == ["notifications.send_due"]


@pytest.fixture
def cron_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def cron_app(app: Flask, cron_redis: PrivateRedis) -> Iterator[Flask]:
    """The session's database, every Redis use on the private server."""
    from samenleren import create_app
    from samenleren.core.extensions import db

    application = create_app(
        {
            "SERVER_NAME": None,
            "REDIS_URL": cron_redis.url,
            "RATELIMIT_STORAGE_URI": cron_redis.url,
            "SAMENLEREN_QUEUE_PREFIX": f"cron-{os.getpid()}:",
        }
    )
    yield application
    with application.app_context():
        db.engine.dispose()


def _run_cron_until(application: Flask, enqueued: int) -> None:
    """Start `flask --app samenleren cron`, wait for `enqueued` jobs on the default queue, stop
    it with SIGTERM (as a container stop does)."""
    from samenleren.core.jobs.runtime import queue

    env = os.environ | {
        "SAMENLEREN_ENV": "test",
        "REDIS_URL": application.config["REDIS_URL"],
        "SAMENLEREN_QUEUE_PREFIX": application.config["SAMENLEREN_QUEUE_PREFIX"],
        "SAMENLEREN_LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "samenleren", "cron"],
        env=env,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while queue(application, "default").count < enqueued:
            assert process.poll() is None, "flask cron stopped by itself"
            assert time.monotonic() < deadline, "flask cron enqueued nothing"
            time.sleep(0.2)
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    assert process.returncode == 0
    for name in EXPECTED:
        assert f"cron: {name} " in output


def _fan_out(application: Flask) -> list[str | None]:
    """Run what waits on the default queue (the fan-out) with the worker `flask worker` uses;
    returns the tenants of the send jobs it enqueued on the mail queue (left there)."""
    from rq import SimpleWorker

    from samenleren.core.jobs.cli import build_worker
    from samenleren.core.jobs.runtime import queue

    worker = build_worker(application, ["default"], worker_class=SimpleWorker)
    with application.app_context():
        worker.work(burst=True, logging_level="CRITICAL")
    mail = queue(application, "mail")
    jobs = mail.jobs
    mail.empty()
    assert {job.kwargs["job"] for job in jobs} <= {"samenleren.notifications.jobs.send_due"}
    return sorted(job.kwargs["tenant_id"] for job in jobs)


def test_one_cron_run_enqueues_a_job_per_active_tenant(cron_app, tenants):
    from rq.cron import get_cron_job_ids
    from rq.job import Job
    from rq.serializers import JSONSerializer

    from samenleren.core.extensions import db
    from samenleren.core.jobs.cli import cron_scheduler, periodic_kwargs
    from samenleren.core.jobs.runtime import connection, queue
    from samenleren.core.tenant import TenantStatus
    from samenleren.tenants.services import set_tenant_status

    _run_cron_until(cron_app, 1)
    (job_id,) = queue(cron_app, "default").job_ids
    redis = connection(cron_app)
    fetched = Job.fetch(job_id, connection=redis, serializer=JSONSerializer)  # JSON, not pickle
    assert fetched.func_name == "samenleren.core.jobs.runtime.perform"
    assert fetched.kwargs == periodic_kwargs("notifications.send_due")
    assert get_cron_job_ids("notifications.send_due", redis) == [job_id]  # RQ's bookkeeping

    both = sorted(str(tenants[slug].id) for slug in ("flevoland", "gelderland"))
    assert _fan_out(cron_app) == both

    with cron_app.app_context():
        set_tenant_status("gelderland", TenantStatus.SUSPENDED)
        db.session.commit()
    (send_due,) = [j for j in cron_scheduler(cron_app).get_jobs() if j.should_run()]
    send_due.enqueue(redis)  # the next tick, through the same registration
    assert _fan_out(cron_app) == [str(tenants["flevoland"].id)]
