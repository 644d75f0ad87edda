"""The RQ queues as Prometheus sees them, computed when the scheduler's metrics are scraped
(registered by the app factory with `samenleren.core.metrics.register_collector`)."""

from __future__ import annotations

from collections.abc import Iterable

from flask import current_app
from prometheus_client.core import GaugeMetricFamily, Metric

from samenleren.core.jobs.runtime import QUEUES, queue


def queue_metrics() -> Iterable[Metric]:
    """The RQ queues: jobs waiting, running, scheduled (a retry waits), deferred and failed."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if not app.config.get("REDIS_URL"):
        return []
    family = GaugeMetricFamily(
        "samenleren_queue_jobs",
        "Jobs in the RQ queues, by queue and state.",
        labels=["queue", "state"],
    )
    for name in QUEUES:
        q = queue(app, name)
        family.add_metric([name, "queued"], q.count)
        family.add_metric([name, "started"], q.started_job_registry.count)
        family.add_metric([name, "scheduled"], q.scheduled_job_registry.count)
        family.add_metric([name, "deferred"], q.deferred_job_registry.count)
        family.add_metric([name, "failed"], q.failed_job_registry.count)
    return [family]
