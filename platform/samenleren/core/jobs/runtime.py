"""One way to enqueue a job and one way to run it (docs/architecture.md, "Jobs").

* `@job(queue=...)` registers a function by its dotted path. Only registered functions run.
* `enqueue(fn, tenant_id=..., **kwargs)` remembers the call on the database session and hands it
  over when the session's transaction **commits** (dropped on rollback): a job never runs for a
  row that was not written. With `REDIS_URL` set, the call goes to an RQ queue (JSON serializer);
  without it (`make run`) it runs right away in the process, after the commit.
* Every job runs through `perform()`: a fresh app context (so Flask-Babel's cached locale and the
  request-free `g` start empty), the job's tenant activated through the same tenancy core as a
  request (so walls 2 and 3 apply), the tenant's language forced, a fresh database session removed
  at the end, the tenant, job id and name in every log line written meanwhile (core/logs.py), and
  its duration and outcome in the metrics (core/metrics.py).

Redis being down never breaks the caller: enqueueing logs a warning and gives up. Work that must
not be lost is therefore recorded in the database first (the notification outbox is; the periodic
`send_due` picks up whatever an enqueue dropped).
"""

from __future__ import annotations

import importlib
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, has_app_context
from sqlalchemy import event

from samenleren.core import logs, metrics
from samenleren.core.session import TenantAwareSession

log = logging.getLogger(__name__)

#: The queues: `mail` (the outbox), `reports` (exports, slow), `default` (everything else).
QUEUES = ("default", "mail", "reports")
#: Seconds between retries of a failed job (RQ `Retry`; needs a worker with the scheduler).
DEFAULT_RETRY_INTERVALS = (10, 60, 300)
#: How long a failed job stays inspectable in RQ's failed registry.
FAILURE_TTL = 7 * 24 * 3600
_PENDING = "samenleren.pending_jobs"


@dataclass(frozen=True)
class JobSpec:
    name: str
    func: Callable[..., Any]
    queue: str
    retries: int
    intervals: tuple[int, ...]
    timeout: int


_REGISTRY: dict[str, JobSpec] = {}


def job(
    *,
    queue: str = "default",
    retries: int = 3,
    intervals: Iterable[int] = DEFAULT_RETRY_INTERVALS,
    timeout: int = 600,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a job. Its keyword arguments must be JSON values (str, int, float, bool, None,
    lists and dicts of them); pass ids as strings. `retries` more attempts after a failure, waiting
    `intervals` seconds (RQ Retry) - for transient errors (SMTP or database hiccups)."""
    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue!r} (use one of {', '.join(QUEUES)})")

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        name = f"{func.__module__}.{func.__qualname__}"
        spec = JobSpec(name, func, queue, retries, tuple(intervals), timeout)
        _REGISTRY[name] = spec
        func.job_spec = spec  # type: ignore[attr-defined]
        return func

    return decorate


def registered_jobs() -> dict[str, JobSpec]:
    return dict(_REGISTRY)


def spec_for(name: str) -> JobSpec:
    """The registered job of dotted path `name` (its module is imported when needed)."""
    if name not in _REGISTRY:
        module, _, _attr = name.rpartition(".")
        importlib.import_module(module)
    try:
        return _REGISTRY[name]
    except KeyError:
        raise LookupError(f"{name} is not a registered job") from None


def _spec_of(func: Callable[..., Any] | str) -> JobSpec:
    if isinstance(func, str):
        return spec_for(func)
    spec = getattr(func, "job_spec", None)
    if spec is None:
        raise LookupError(f"{func!r} is not decorated with @job")
    return spec


# --- enqueue after commit ---------------------------------------------------------------------


def enqueue(
    func: Callable[..., Any] | str, *, tenant_id: uuid.UUID | str | None, **kwargs: Any
) -> None:
    """Run `func(**kwargs)` in `tenant_id`'s context once the current transaction commits.

    `tenant_id=None` runs it outside any tenant (platform-wide jobs). Nothing is sent if the
    transaction rolls back. A session with nothing to write still needs `db.session.commit()`.
    """
    from samenleren.core.extensions import db

    spec = _spec_of(func)
    payload = {
        "job": spec.name,
        "tenant_id": str(tenant_id) if tenant_id is not None else None,
        "kwargs": kwargs,
    }
    json.dumps(payload)  # refuse non-JSON arguments here, not later in the worker
    session = db.session()
    if not session.in_transaction():
        session.begin()  # so that a rollback before any query still drops the call
    session.info.setdefault(_PENDING, []).append(payload)


def pending_jobs() -> list[dict[str, Any]]:
    """The calls waiting for this session's commit (read-only use)."""
    from samenleren.core.extensions import db

    return list(db.session().info.get(_PENDING, ()))


@event.listens_for(TenantAwareSession, "after_commit")
def _after_commit(session: Any) -> None:
    # SQLAlchemy also fires after_commit when a SAVEPOINT is released (`begin_nested()`, as
    # `notify()` uses): the real commit is still to come, so nothing is handed over yet.
    if session.in_nested_transaction():
        return
    pending = session.info.pop(_PENDING, None)
    if pending:
        dispatch(pending)


@event.listens_for(TenantAwareSession, "after_soft_rollback")
def _after_rollback(session: Any, previous_transaction: Any) -> None:
    if previous_transaction.parent is None:  # the outermost transaction: nothing was committed
        session.info.pop(_PENDING, None)


def dispatch(payloads: list[dict[str, Any]]) -> None:
    """Hand committed job calls over: to Redis, or (no REDIS_URL) run them here and now."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if not app.config.get("REDIS_URL"):
        for payload in payloads:
            try:
                perform(**payload)
            except Exception:  # the caller's commit succeeded; its page must too
                log.exception("in-process job %s failed", payload["job"])
        return
    from redis.exceptions import RedisError

    try:
        with connection(app).pipeline() as pipe:
            for payload in payloads:
                _push(app, payload, pipeline=pipe)
            pipe.execute()
    except RedisError as exc:
        # The database already holds what matters (e.g. the outbox row); the periodic sweep
        # picks it up when Redis is back. The request that committed must not fail.
        log.warning("jobs not enqueued, Redis unavailable (%s): %s", exc, payloads)


def _push(app: Flask, payload: dict[str, Any], pipeline: Any = None) -> Any:
    from rq import Retry

    spec = spec_for(payload["job"])
    return queue(app, spec.queue).enqueue_call(
        perform,
        kwargs=payload,
        timeout=spec.timeout,
        retry=Retry(max=spec.retries, interval=list(spec.intervals)) if spec.retries else None,
        failure_ttl=FAILURE_TTL,
        result_ttl=3600,
        description=f"{spec.name} tenant={payload['tenant_id']}",
        pipeline=pipeline,
    )


# --- Redis and queues ---------------------------------------------------------------------------


def connection(app: Flask | None = None) -> Any:
    """The app's Redis connection for RQ (short timeouts: a dead Redis must not hang a page)."""
    from redis import Redis

    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    client = app.extensions.get("samenleren_rq_redis")
    if client is None:
        client = Redis.from_url(
            app.config["REDIS_URL"], socket_connect_timeout=1, socket_timeout=10
        )
        app.extensions["samenleren_rq_redis"] = client
    return client


def queue_name(app: Flask, name: str) -> str:
    """Queue names carry `SAMENLEREN_QUEUE_PREFIX` (parallel test runs share one Redis)."""
    return f"{app.config.get('SAMENLEREN_QUEUE_PREFIX', '')}{name}"


def queue(app: Flask, name: str) -> Any:
    from rq import Queue
    from rq.serializers import JSONSerializer

    return Queue(queue_name(app, name), connection=connection(app), serializer=JSONSerializer)


def run_pending_jobs(
    app: Flask | None = None, queues: Iterable[str] = QUEUES, *, raise_errors: bool = True
) -> int:
    """Run every queued job now, in this process, until the queues are empty (tests, CLI).

    Returns how many jobs ran. With `raise_errors`, the first exception a job raised is raised
    again afterwards (the job itself is left to RQ's retry/failed registries as usual).
    """
    from rq import SimpleWorker
    from rq.serializers import JSONSerializer

    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    if not app.config.get("REDIS_URL"):
        return 0
    errors: list[BaseException] = []

    def collect(job: Any, exc_type: Any, exc_value: BaseException, tb: Any) -> bool:
        errors.append(exc_value)
        return True

    class CountingWorker(SimpleWorker):
        ran = 0

        def execute_job(self, job: Any, queue: Any) -> Any:
            CountingWorker.ran += 1
            return super().execute_job(job, queue)

    worker = CountingWorker(
        [queue(app, name) for name in queues],
        connection=connection(app),
        serializer=JSONSerializer,
        exception_handlers=[collect],
        disable_default_exception_handler=True,
    )
    with app.app_context():  # jobs run in (a fresh context of) this app, not a new one
        worker.work(burst=True, logging_level="WARNING")
    count = CountingWorker.ran
    if errors and raise_errors:
        raise errors[0]
    return count


# --- running a job ------------------------------------------------------------------------------

_worker_app: Flask | None = None
_app_factory: Callable[[], Flask] | None = None


def set_worker_app(app: Flask) -> None:
    global _worker_app
    _worker_app = app


def use_app_factory(factory: Callable[[], Flask]) -> None:
    """How a worker outside any app context builds the app (the app layer registers it, so
    that core never imports the layers above it)."""
    global _app_factory
    _app_factory = factory


def _app() -> Flask:
    global _worker_app
    if has_app_context():
        return current_app._get_current_object()  # type: ignore[attr-defined]
    if _worker_app is None:
        if _app_factory is None:
            raise RuntimeError("no app: call use_app_factory() (the app factory does) first")
        _worker_app = _app_factory()
    return _worker_app


def perform(*, job: str, tenant_id: str | None, kwargs: dict[str, Any]) -> Any:
    """Run one job call in its own app context, tenant, language and database session."""
    from flask_babel import force_locale
    from rq import get_current_job

    from samenleren.core.config import DEFAULT_LOCALE
    from samenleren.core.extensions import db
    from samenleren.core.tenancy import activate_tenant
    from samenleren.core.tenant import Tenant

    spec = spec_for(job)
    rq_job = get_current_job()
    job_id = rq_job.id if rq_job is not None else "inline"
    app = _app()
    started = time.perf_counter()
    failed = False
    with app.app_context(), logs.job_context(job_id, spec.name):
        try:
            tenant = None
            if tenant_id is not None:
                tenant = db.session.get(Tenant, uuid.UUID(tenant_id))
                if tenant is None or not tenant.is_active:
                    log.info("job %s skipped: tenant %s is gone or suspended", job, tenant_id)
                    return None
            activate_tenant(tenant)
            logs.set_job_tenant(tenant.slug if tenant else "-")
            with force_locale(tenant.default_locale if tenant else DEFAULT_LOCALE):
                return spec.func(**kwargs)
        except Exception:
            failed = True
            db.session.rollback()
            raise
        finally:
            db.session.remove()
            seconds = time.perf_counter() - started
            log.info(
                "job %s %s",
                spec.name,
                "failed" if failed else "done",
                extra={
                    "duration_ms": round(seconds * 1000, 1),
                    "outcome": "failed" if failed else "succeeded",
                },
            )
            if not metrics.job_recorded_by_parent():
                metrics.observe_job(spec.name, seconds, failed=failed)
