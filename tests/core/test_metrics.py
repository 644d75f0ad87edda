"""Prometheus metrics: what the metrics port serves after requests and jobs, the outbox and
queue gauges computed at scrape time, the scheduler's heartbeat; the app itself has no
/metrics; and no label carries a user's id or address."""

from __future__ import annotations

import urllib.request
from datetime import timedelta

import pytest
from flask import Flask
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from samenleren.core import metrics
from samenleren.core.jobs.runtime import enqueue, job, run_pending_jobs
from tests.factories import World, build_world, get, in_tenant
from tests.trajectories.test_pages import client_for


@job(queue="default", retries=0)
def measured(*, fail: bool = False) -> None:
    if fail:
        raise RuntimeError("failed on purpose")


def scrape(app: Flask | None = None) -> dict[str, list]:
    """name -> samples of the registry a metrics port serves (with `app`: the scheduler's)."""
    text = generate_latest(metrics.scrape_registry(app)).decode()
    families: dict[str, list] = {}
    for family in text_string_to_metric_families(text):
        families.setdefault(family.name, []).extend(family.samples)
    return families


def value(samples: list, name: str, **labels: str) -> float:
    return sum(
        sample.value
        for sample in samples
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
    )


def test_requests_are_measured_by_endpoint_and_status_class(app):
    before = scrape()
    client = app.test_client()
    for _ in range(3):
        assert client.get("/healthz").status_code == 200
    client.get("/no-such-tenant/")  # 404: no endpoint
    after = scrape()
    name = "samenleren_http_request_duration_seconds_count"
    family = "samenleren_http_request_duration_seconds"
    labels = {"endpoint": "health.healthz", "method": "GET", "status": "2xx"}
    assert value(after[family], name, **labels) - value(before.get(family, []), name, **labels) == 3
    assert value(after[family], name, status="4xx") >= 1
    endpoints = {sample.labels["endpoint"] for sample in after[family]}
    assert all("/" not in endpoint for endpoint in endpoints), endpoints  # never a path


def test_an_unknown_method_does_not_make_a_label(app):
    app.test_client().open("/healthz", method="BREW")
    family = scrape()["samenleren_http_request_duration_seconds"]
    methods = {sample.labels["method"] for sample in family}
    assert "BREW" not in methods and methods <= metrics.METHODS | {"other"}


def test_jobs_are_measured_with_their_failures(app, tenants):
    name = f"{__name__}.measured"
    family = "samenleren_job_duration_seconds"
    before = scrape()
    with app.app_context():
        from samenleren.core.extensions import db

        enqueue(name, tenant_id=tenants["flevoland"].id)
        enqueue(name, tenant_id=tenants["flevoland"].id, fail=True)
        db.session.commit()
        run_pending_jobs(app, raise_errors=False)
    after = scrape()

    def delta(metric: str, fam: str, **labels: str) -> float:
        return value(after[fam], metric, **labels) - value(before.get(fam, []), metric, **labels)

    count = f"{family}_count"
    assert delta(count, family, job=name, outcome="succeeded") == 1
    assert delta(count, family, job=name, outcome="failed") == 1
    failures = "samenleren_job_failures"
    assert delta(f"{failures}_total", failures, job=name) == 1


def test_a_forking_worker_records_the_attempts_itself(app, tenants):
    """`flask worker` forks a work horse per job; the worker records the attempt (the horse's
    own records would die with it), once."""
    from samenleren.core.jobs.cli import build_worker

    name = f"{__name__}.measured"
    family = "samenleren_job_duration_seconds"
    before = scrape()
    with app.app_context():
        from samenleren.core.extensions import db

        enqueue(name, tenant_id=tenants["flevoland"].id, fail=True)
        db.session.commit()
        worker = build_worker(app, ["default"])
        assert type(worker).__name__ == "MetricsWorker"
        worker.work(burst=True, logging_level="WARNING")
    after = scrape()
    count = f"{family}_count"
    assert (
        value(after[family], count, job=name, outcome="failed")
        - value(before.get(family, []), count, job=name, outcome="failed")
        == 1
    )


def test_login_failures_are_counted_per_tenant(app, tenants):
    family = "samenleren_login_failures"
    before = scrape().get(family, [])
    # An IdP error for a login this browser never started: refused (and counted) as a bad state.
    answer = app.test_client().get("/gelderland/auth/callback?error=access_denied")
    assert answer.status_code == 403
    after = scrape()[family]
    labels = {"tenant": "gelderland", "reason": "state"}
    total = f"{family}_total"
    assert value(after, total, **labels) - value(before, total, **labels) == 1


def test_the_scheduler_serves_heartbeat_queues_and_outbox(app, tenants):
    from samenleren.core.db import utcnow
    from samenleren.core.extensions import db
    from samenleren.notifications.models import Notification, NotificationState

    with in_tenant(app, tenants["flevoland"]):
        world = build_world(tenants["flevoland"])
        db.session.add(
            Notification(
                recipient_id=world.learner,
                kind="reminder",
                key="metrics-test",
                due_at=utcnow() - timedelta(minutes=10),
                state=NotificationState.PENDING,
                message_id="<metrics-test@samenleren>",
            )
        )
        db.session.commit()
    with app.app_context():
        from samenleren.core.jobs.cli import cron_scheduler

        cron_scheduler(app).heartbeat()
    families = scrape(app)
    (heartbeat,) = families["samenleren_scheduler_heartbeat_timestamp_seconds"]
    assert heartbeat.value > utcnow().timestamp() - 60

    up = {s.labels["collector"]: s.value for s in families["samenleren_collector_up"]}
    assert up == {"outbox": 1.0, "queues": 1.0}

    queues = families["samenleren_queue_jobs"]
    assert {s.labels["queue"] for s in queues} == {"default", "mail", "reports"}
    assert {s.labels["state"] for s in queues} >= {"queued", "failed", "scheduled"}

    backlog = families["samenleren_outbox_notifications"]
    assert (
        value(backlog, "samenleren_outbox_notifications", tenant="flevoland", state="pending") >= 1
    )
    assert (
        value(backlog, "samenleren_outbox_notifications", tenant="gelderland", state="pending") == 0
    )
    age = families["samenleren_outbox_oldest_due_age_seconds"]
    flevoland = value(age, "samenleren_outbox_oldest_due_age_seconds", tenant="flevoland")
    assert 9 * 60 <= flevoland < 60 * 60
    assert value(age, "samenleren_outbox_oldest_due_age_seconds", tenant="gelderland") == 0


def test_a_failing_collector_is_reported_not_raised(app):
    def broken():
        raise RuntimeError("database gone")

    metrics.register_collector("broken-for-test", broken)
    try:
        up = {s.labels["collector"]: s.value for s in scrape(app)["samenleren_collector_up"]}
    finally:
        metrics._COLLECTORS.pop("broken-for-test")
    assert up["broken-for-test"] == 0 and up["queues"] == 1


def test_metrics_are_served_on_their_own_port_and_not_by_the_app(app):
    server = metrics.serve(0, metrics.scrape_registry(app), addr="127.0.0.1")
    try:
        app.test_client().get("/healthz")
        port = server.server_address[1]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
            body = answer.read().decode()
        assert answer.status == 200
        assert "samenleren_http_request_duration_seconds_bucket" in body
        assert "samenleren_collector_up" in body
    finally:
        server.shutdown()
        server.server_close()
    # The app's own port (the one behind the Ingress) has no metrics at any of these paths.
    client = app.test_client()
    for path in ("/metrics", "/metrics/", "/flevoland/metrics"):
        answer = client.get(path, follow_redirects=True)
        assert answer.status_code == 404, path
        assert b"samenleren_" not in answer.data


def test_no_metric_names_a_person(app, tenants):
    """After logins and pages of several people, no label holds a user's id, subject, name or
    address, nor a tenant's id."""
    from samenleren.identity.models import User

    with in_tenant(app, tenants["flevoland"]):
        world: World = build_world(tenants["flevoland"])
    for who in ("coach", "learner"):
        client = client_for(app, world, who)
        client.get(f"/flevoland/trajectories/{world.trajectory}")
        client.get("/flevoland/")
    app.test_client().get("/flevoland/auth/callback?error=access_denied")
    text = generate_latest(metrics.scrape_registry(app)).decode()
    with in_tenant(app, world.tenant):
        people = [get(User, getattr(world, who)) for who in ("coach", "learner", "admin")]
        forbidden = [
            value
            for person in people
            for value in (str(person.id), person.subject, person.email, person.name)
        ]
    forbidden += [str(tenants["flevoland"].id), str(world.trajectory)]
    for item in forbidden:
        assert item not in text, item
    assert "@" not in text


@pytest.mark.parametrize("name", metrics.EXPORTED)
def test_every_exported_name_is_documented(name):
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert f"`{name}" in readme


# --- optional tracing and error reporting ------------------------------------------------------


def test_sentry_and_opentelemetry_without_their_packages_say_so_once(caplog, monkeypatch):
    import builtins

    from samenleren.core import tracing

    real_import = builtins.__import__

    def without_extras(name, *args, **kwargs):
        if name.startswith(("sentry_sdk", "opentelemetry")):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without_extras)
    flask_app = Flask("tracing-test")
    flask_app.config.update(
        SAMENLEREN_ENV="test",
        SENTRY_DSN="https://public@sentry.example.nl/1",
        OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:4318",
    )
    with caplog.at_level("WARNING", logger="samenleren.core.tracing"):
        tracing.init_app(flask_app)
    messages = [r.getMessage() for r in caplog.records if r.name == "samenleren.core.tracing"]
    assert len(messages) == 2
    assert any("SENTRY_DSN is set, but sentry-sdk is not installed" in m for m in messages)
    assert any("OTEL_EXPORTER_OTLP_ENDPOINT is set" in m for m in messages)
    assert flask_app.test_client().get("/").status_code == 404  # the app runs on


def test_nothing_optional_runs_by_default(app):
    assert not app.config["SENTRY_DSN"] and not app.config["OTEL_EXPORTER_OTLP_ENDPOINT"]


def test_sentry_events_lose_the_user_and_the_request_but_its_method():
    from samenleren.core.tracing import scrub_event

    event = {
        "user": {"id": "1", "email": "a@b.nl"},
        "request": {
            "method": "GET",
            "url": "https://x/flevoland/calendar/secret-token.ics",
            "query_string": "token=1",
            "headers": {"Authorization": "Bearer x", "Cookie": "samenleren=abc"},
            "cookies": {"samenleren": "abc"},
            "data": {"notes": "confidential"},
        },
        "exception": {"values": []},
    }
    scrubbed = scrub_event(event)
    assert scrubbed["request"] == {"method": "GET"}
    assert "user" not in scrubbed and "exception" in scrubbed
