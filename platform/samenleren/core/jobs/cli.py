"""`flask --app samenleren worker`, `... cron` and `... jobs run-periodic|run`."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from samenleren.core import metrics
from samenleren.core.jobs import runtime
from samenleren.core.jobs.schedule import SCHEDULE, entry

log = logging.getLogger(__name__)


def _require_redis() -> None:
    if not current_app.config.get("REDIS_URL"):
        raise click.ClickException(
            "REDIS_URL is not set: jobs run in the web process (use `flask jobs run-periodic`)"
        )


@click.command("worker")
@click.option(
    "--queue",
    "queues",
    multiple=True,
    type=click.Choice(runtime.QUEUES),
    help="Queue to work on (repeatable); default: all, mail first.",
)
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@with_appcontext
def worker_command(queues: tuple[str, ...], burst: bool) -> None:
    """Run an RQ worker (with RQ's scheduler, so retries with intervals happen)."""
    from samenleren.core.extensions import db

    _require_redis()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    wait_for_redis(app)  # RQ's worker needs Redis to start; once running it rides out outages
    runtime.set_worker_app(app)
    engine = db.engine
    # RQ forks a work horse per job: the child must not reuse the parent's pooled connections.
    os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
    if app.config["SAMENLEREN_METRICS_PORT"]:
        metrics.prepare_job_series(runtime.registered_jobs())
        metrics.serve(app.config["SAMENLEREN_METRICS_PORT"], metrics.scrape_registry())
    run_worker(app, queues or WORKER_QUEUES, burst=burst)


def run_worker(
    app: Flask,
    queues: Iterable[str] = (),
    *,
    burst: bool = False,
    make_worker: Any = None,
    sleep: Any = time.sleep,
) -> None:
    """Run an RQ worker until it is stopped. An idle RQ worker waits out a Redis outage by
    itself, but one that is running a job ends with an exception when Redis goes away; then a
    new worker starts once Redis answers (the job's own work is covered as after a crash: the
    outbox's lease, a retry, or a periodic job)."""
    make_worker = make_worker or (lambda app: build_worker(app, queues or WORKER_QUEUES))
    _outliving_redis(
        app,
        lambda: make_worker(app).work(
            burst=burst, with_scheduler=True, logging_level=logging.getLevelName(log.level)
        ),
        "worker",
        sleep,
    )


#: The queues a worker takes by default, in this order (mail first).
WORKER_QUEUES = ("mail", "default", "reports")


def build_worker(app: Flask, names: Iterable[str] = WORKER_QUEUES, worker_class: Any = None) -> Any:
    """The RQ worker `flask worker` runs (tests pass `rq.SimpleWorker` to run jobs in-process):
    our prefixed queues and the JSON serializer, RQ's own failure handling (retries from `@job`,
    then the failed job registry for FAILURE_TTL)."""
    from rq.serializers import JSONSerializer

    return (worker_class or _metrics_worker_class())(
        [runtime.queue(app, name) for name in names],
        connection=runtime.connection(app),
        serializer=JSONSerializer,
    )


def _metrics_worker_class() -> Any:
    """RQ's forking worker, recording each job attempt's duration and outcome in the worker
    itself: a work horse's own records would die with it (and in multiprocess mode each horse
    would leave files behind). The attempt's time includes the fork."""
    from rq import Worker
    from rq.job import JobStatus

    class MetricsWorker(Worker):
        def main_work_horse(self, job: Any, queue: Any) -> Any:
            metrics.mark_work_horse()
            return super().main_work_horse(job, queue)

        def execute_job(self, job: Any, queue: Any) -> Any:
            started = time.perf_counter()
            try:
                return super().execute_job(job, queue)
            finally:
                name = str((job.kwargs or {}).get("job") or "")
                if name not in runtime.registered_jobs():
                    name = "unknown"
                try:
                    failed = job.get_status(refresh=True) != JobStatus.FINISHED
                except Exception:  # noqa: BLE001 - the job's record is gone or Redis is not there
                    failed = True
                metrics.observe_job(name, time.perf_counter() - started, failed=failed)

    return MetricsWorker


def periodic_kwargs(name: str) -> dict[str, Any]:
    return {"job": "samenleren.core.jobs.cli.fan_out", "tenant_id": None, "kwargs": {"entry": name}}


@runtime.job(queue="default")
def fan_out(*, entry: str) -> None:
    """What the cron scheduler enqueues: the entry's job once, or once per active tenant."""
    run_entry(entry, inline=False)


def run_entry(name: str, *, inline: bool) -> int:
    """Enqueue (or, `inline`, run here) the periodic entry `name`; returns how many jobs."""
    from sqlalchemy import select

    from samenleren.core.extensions import db
    from samenleren.core.tenant import Tenant, TenantStatus

    item = _entry(name)
    if not item.per_tenant:
        targets: list[Any] = [None]
    else:
        targets = list(
            db.session.scalars(
                select(Tenant.id).where(Tenant.status == TenantStatus.ACTIVE).order_by(Tenant.slug)
            )
        )
    for tenant_id in targets:
        if inline:
            runtime.perform(
                job=item.job, tenant_id=str(tenant_id) if tenant_id else None, kwargs={}
            )
        else:
            runtime.enqueue(item.job, tenant_id=tenant_id)
    db.session.commit()
    return len(targets)


_entry = entry


@click.command("cron")
@with_appcontext
def cron_command() -> None:
    """Run RQ's cron scheduler over jobs/schedule.py. Run exactly ONE per installation."""
    _require_redis()
    # RQ 3.0 matches cron fields against the process's local time; schedule.py's times are UTC.
    os.environ["TZ"] = "UTC"
    time.tzset()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if app.config["SAMENLEREN_METRICS_PORT"]:
        # The scheduler is the one process per installation: the queue and outbox gauges,
        # computed when scraped, come from here only (no duplicates across pods).
        metrics.scheduler_heartbeat()
        metrics.serve(app.config["SAMENLEREN_METRICS_PORT"], metrics.scrape_registry(app))
    for item in cron_scheduler(app).get_jobs():
        click.echo(f"cron: {item.name} ({item.cron or f'every {item.interval}s'})")
    run_cron(app)


#: Seconds between attempts to reach Redis while it is down (worker start, scheduler).
REDIS_RETRY_SECONDS = 5.0


def wait_for_redis(app: Flask, sleep: Any = time.sleep) -> None:
    """Return once Redis answers; while it does not, say so once and try again."""
    from redis.exceptions import ConnectionError, TimeoutError

    told = False
    while True:
        try:
            runtime.connection(app).ping()
            if told:
                log.warning("Redis answers again")
            return
        except (ConnectionError, TimeoutError) as exc:
            if not told:
                log.warning("Redis unreachable (%s); trying every %.0f s", exc, REDIS_RETRY_SECONDS)
                told = True
            sleep(REDIS_RETRY_SECONDS)


def run_cron(app: Flask, make_scheduler: Any = None, sleep: Any = time.sleep) -> None:
    """Run RQ's cron scheduler until it is stopped (SIGTERM, Ctrl-C).

    RQ's scheduler ends with an exception when Redis goes away. Then nothing periodic would be
    enqueued again until someone restarts it, so a Redis outage pauses it instead: once Redis
    answers, a new scheduler starts (its interval entries run at once, so the outbox is swept
    right after the outage; cron entries at their next time)."""
    make_scheduler = make_scheduler or cron_scheduler
    _outliving_redis(app, lambda: make_scheduler(app).start(), "cron", sleep)


def _outliving_redis(app: Flask, run: Any, what: str, sleep: Any) -> None:
    """`run()` until it returns (stopped); when it ends because Redis went away, wait for Redis
    and run it again."""
    from redis.exceptions import ConnectionError, TimeoutError

    while True:
        try:
            run()
            return
        except (ConnectionError, TimeoutError) as exc:
            log.warning("%s: Redis unreachable (%s); waiting for it", what, exc)
        wait_for_redis(app, sleep=sleep)


def cron_scheduler(app: Flask) -> Any:
    """RQ's cron scheduler with one JSON cron job per entry of jobs/schedule.py: each enqueues
    `fan_out(entry=...)` (platform-wide) on the default queue when due."""
    from rq.cron import CronJob, CronScheduler

    class JSONCronJob(CronJob):
        def enqueue(self, connection: Any) -> Any:
            # Same bookkeeping as CronJob.enqueue, through our JSON queue: RQ 3.0's own
            # CronJob.enqueue uses the default (pickle) serializer, which our workers refuse.
            from rq import cron_job_registry
            from rq.cron import DEFAULT_CRON_JOB_HISTORY_LIMIT, DEFAULT_CRON_JOB_HISTORY_TTL

            q = runtime.queue(app, self.queue_name)
            with connection.pipeline() as pipeline:
                job = q.enqueue(
                    self.func, kwargs=self.kwargs, **self.job_options, pipeline=pipeline
                )
                stamp = job.enqueued_at.timestamp()
                pipeline.zadd(self.job_history_key, {job.id: stamp})
                pipeline.zremrangebyrank(
                    self.job_history_key, 0, -(DEFAULT_CRON_JOB_HISTORY_LIMIT + 1)
                )
                pipeline.expire(self.job_history_key, DEFAULT_CRON_JOB_HISTORY_TTL)
                cron_job_registry.add(self.name, pipeline, enqueue_timestamp=stamp)
                pipeline.execute()
            return job

    class HeartbeatCronScheduler(CronScheduler):
        def heartbeat(self) -> None:
            super().heartbeat()
            metrics.scheduler_heartbeat()  # each round of its loop, at least once a minute

    scheduler = HeartbeatCronScheduler(connection=runtime.connection(app))
    for item in SCHEDULE:
        scheduler._cron_jobs.append(
            JSONCronJob(
                queue_name="default",
                func=runtime.perform,
                kwargs=periodic_kwargs(item.name),
                interval=item.interval,
                cron=item.cron,
                name=item.name,
            )
        )
    return scheduler


@click.group("jobs")
def jobs_cli() -> None:
    """Background jobs: run periodic work or queued jobs by hand."""


@jobs_cli.command("run-periodic")
@click.argument("names", nargs=-1)
@with_appcontext
def run_periodic_command(names: tuple[str, ...]) -> None:
    """Run periodic entries (all, or NAMES) now, in this process, for every active tenant."""
    for name in names or [item.name for item in SCHEDULE]:
        count = run_entry(name, inline=True)
        click.echo(f"{name}: ran for {count} tenant(s)")


@jobs_cli.command("run")
@with_appcontext
def run_queued_command() -> None:
    """Run every queued job now and stop (a burst worker in this process)."""
    _require_redis()
    count = runtime.run_pending_jobs(raise_errors=False)
    click.echo(f"{count} job(s) run")
