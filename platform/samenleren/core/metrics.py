"""Prometheus metrics (prometheus-client), served on a port of their own, never by the app.

What is measured (README, "Observability"; the alerts in deploy/monitoring use these names):

* `samenleren_http_request_duration_seconds{endpoint,method,status}`: every request, labelled by
  the Flask endpoint (never the path: it would carry ids and tokens, and its values have no bound)
  and the status class (`2xx` ... `5xx`). No tenant label: ~150 endpoints x 5 classes x the
  buckets is already a lot of series per process.
* `samenleren_login_failures_total{tenant,reason}`: refused logins, by tenant slug (bounded by
  the tenants) and the refusal's code.
* `samenleren_job_duration_seconds{job,outcome}` and `samenleren_job_failures_total{job}`: each
  attempt of a job, by its registered name.
* `samenleren_scheduler_heartbeat_timestamp_seconds`: when the cron scheduler last went round its
  loop (it does at least once a minute).
* Computed when scraped, in the scheduler only (one per installation, so no duplicates): the RQ
  queues (`samenleren_queue_jobs{queue,state}`) and, registered by the notifications domain, the
  outbox (`register_collector`). `samenleren_collector_up{collector}` says whether each answered.

No label ever holds a user's id, name or address.

Where they are served (`SAMENLEREN_METRICS_PORT`, 9100 in production): gunicorn's master serves
the web processes' metrics, which they write to files in PROMETHEUS_MULTIPROC_DIR (multiprocess
mode; deploy/gunicorn.conf.py); `flask worker` and `flask cron` serve their own. The port is not
behind the Ingress: in Kubernetes only the monitoring namespace may reach it (deploy/monitoring).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, g, request
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric

log = logging.getLogger(__name__)

#: Seconds; a page should answer well within 0.5 s, an export may take longer.
REQUEST_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
JOB_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0, 60.0, 300.0, 900.0)
#: Methods a label may name; anything else a client sends counts as "other".
METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

REQUEST_DURATION = Histogram(
    "samenleren_http_request_duration_seconds",
    "Time to answer a request, by Flask endpoint, method and status class.",
    ["endpoint", "method", "status"],
    buckets=REQUEST_BUCKETS,
)
LOGIN_FAILURES = Counter(
    "samenleren_login_failures_total",
    "Refused logins, by tenant slug and the refusal's code.",
    ["tenant", "reason"],
)
JOB_DURATION = Histogram(
    "samenleren_job_duration_seconds",
    "Time one attempt of a job took, by job name and outcome (succeeded, failed).",
    ["job", "outcome"],
    buckets=JOB_BUCKETS,
)
JOB_FAILURES = Counter(
    "samenleren_job_failures_total",
    "Failed attempts of jobs (each retry counts), by job name.",
    ["job"],
)
#: Made by the scheduler only (`scheduler_heartbeat`): a gauge made at import would show 0 in
#: every other process.
_heartbeat: Gauge | None = None

#: The metric names this module defines (tests/deploy checks the alert rules against them).
EXPORTED = (
    "samenleren_http_request_duration_seconds",
    "samenleren_login_failures_total",
    "samenleren_job_duration_seconds",
    "samenleren_job_failures_total",
    "samenleren_scheduler_heartbeat_timestamp_seconds",
    "samenleren_queue_jobs",
    "samenleren_collector_up",
)


# --- requests --------------------------------------------------------------------------------


def init_app(app: Flask) -> None:
    from flask import request_started

    # At the very start (before the tenant is resolved, which may already answer 404).
    def _start_timer(sender: Flask, **extra: Any) -> None:
        g.metrics_started = time.perf_counter()

    request_started.connect(_start_timer, app, weak=False)

    @app.after_request
    def _observe(response: Any) -> Any:
        started = g.get("metrics_started")
        if started is not None:
            method = request.method if request.method in METHODS else "other"
            REQUEST_DURATION.labels(
                endpoint=request.endpoint or "none",
                method=method,
                status=f"{response.status_code // 100}xx",
            ).observe(time.perf_counter() - started)
        return response


def login_failed(tenant_slug: str, reason: str) -> None:
    LOGIN_FAILURES.labels(tenant=tenant_slug, reason=reason or "refused").inc()


# --- jobs ------------------------------------------------------------------------------------

_in_work_horse = False


def mark_work_horse() -> None:
    """In a work horse RQ forked: the worker (its parent) records the attempt, since what the
    horse records dies with it (core/jobs/cli.py)."""
    global _in_work_horse
    _in_work_horse = True


def job_recorded_by_parent() -> bool:
    return _in_work_horse


def observe_job(name: str, seconds: float, *, failed: bool) -> None:
    JOB_DURATION.labels(job=name, outcome="failed" if failed else "succeeded").observe(seconds)
    if failed:
        JOB_FAILURES.labels(job=name).inc()


def prepare_job_series(names: Iterable[str]) -> None:
    """Start each job's failure counter at 0, so that the first failure is an increase."""
    for name in names:
        JOB_FAILURES.labels(job=name)


def scheduler_heartbeat() -> None:
    global _heartbeat
    if _heartbeat is None:
        _heartbeat = Gauge(
            "samenleren_scheduler_heartbeat_timestamp_seconds",
            "Unix time of the cron scheduler's last round (at least one a minute).",
            multiprocess_mode="max",
        )
    _heartbeat.set(time.time())


# --- computed when scraped -------------------------------------------------------------------

#: name -> a function run in an app context that yields metric families.
_COLLECTORS: dict[str, Callable[[], Iterable[Metric]]] = {}


def register_collector(name: str, collect: Callable[[], Iterable[Metric]]) -> None:
    """Add metrics computed at each scrape of the scheduler (a domain calls this from its
    `init_app`). `collect` runs in an app context, outside any tenant, with its own database
    session; it must never read across the tenant walls other than as the operator console
    does (one tenant at a time) and never yield a label naming a person."""
    _COLLECTORS[name] = collect


class AppCollector:
    """Runs the registered collectors in `app`, each in its own app context and session."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def describe(self) -> list[Metric]:
        return []  # nothing is computed when registering

    def collect(self) -> Iterable[Metric]:
        from samenleren.core.extensions import db

        up = GaugeMetricFamily(
            "samenleren_collector_up",
            "Whether a metric computed at scrape time could be computed (1) or not (0).",
            labels=["collector"],
        )
        for name, collect in sorted(_COLLECTORS.items()):
            try:
                with self.app.app_context():
                    try:
                        families = list(collect())
                    finally:
                        db.session.remove()
            except Exception as exc:  # noqa: BLE001 - a scrape reports the failure, never raises
                log.warning("metrics: collector %s failed: %s", name, type(exc).__name__)
                up.add_metric([name], 0)
                continue
            up.add_metric([name], 1)
            yield from families
        yield up


class _Whole:
    """Another registry as one collector of a registry (the default one beside computed ones)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterable[Metric]:
        return self.registry.collect()


def scrape_registry(
    app: Flask | None = None, *, multiprocess_dir: str | None = None
) -> CollectorRegistry:
    """What a metrics port serves: this process's metrics (or, `multiprocess_dir`, those every
    gunicorn worker wrote there), plus with `app` the metrics computed at scrape time."""
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess_dir:
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry, path=multiprocess_dir)
    else:
        registry.register(_Whole(REGISTRY))
    if app is not None:
        registry.register(AppCollector(app))
    return registry


def serve(port: int, registry: CollectorRegistry, addr: str = "0.0.0.0") -> Any:  # noqa: S104
    """Serve `registry` on `port` from a daemon thread (every path answers with the metrics).
    All interfaces: the pod's network is where Prometheus scrapes; the NetworkPolicy limits it."""
    from prometheus_client import start_http_server

    server, _thread = start_http_server(port, addr=addr, registry=registry)
    log.info("metrics on port %d", port)
    return server
