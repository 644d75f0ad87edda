"""The console's background jobs page: queue counts, failed jobs with retry and delete, the outbox
per tenant; real Redis and real RQ workers; no person of any tenant on the page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from samenleren.core.jobs.runtime import enqueue, job
from tests.conftest import TenantRef, login
from tests.factories import World, build_world, get, in_tenant
from tests.test_isolation import valid_csrf_token

PAGE = "/operator/jobs"

#: Markers of the flaky job's runs: it fails on a marker's first run and succeeds after.
_SEEN: set[str] = set()
_DONE: list[str] = []


@job(queue="default", retries=0)
def flaky(*, marker: str) -> None:
    """Fails once per marker, with personal data in its message (the page must not show it)."""
    if marker not in _SEEN:
        _SEEN.add(marker)
        raise RuntimeError(f"could not mail Anna Learner <anna@example.nl> ({marker})")
    _DONE.append(marker)


def fail_a_job(app: Flask, tenant: TenantRef, marker: str) -> str:
    """Enqueue `flaky` in `tenant`, let a real worker run it into the failed registry."""
    from rq.job import Job
    from rq.serializers import JSONSerializer

    from samenleren.core.extensions import db
    from samenleren.core.jobs.runtime import queue

    with in_tenant(app, tenant):
        enqueue(flaky, tenant_id=tenant.id, marker=marker)
        db.session.commit()
    assert work(app, "default")
    with app.app_context():
        registry = queue(app, "default").failed_job_registry
        ids = registry.get_job_ids()
        fetched = Job.fetch_many(ids, connection=registry.connection, serializer=JSONSerializer)
        jobs = [j for j in fetched if j]
    (failed,) = [j for j in jobs if (j.kwargs or {}).get("kwargs", {}).get("marker") == marker]
    return failed.id


def work(app: Flask, name: str) -> bool:
    """A burst of a real RQ worker on queue `name`, configured as `flask worker` is (JSON
    serializer, RQ's own failure handling: a failed job lands in the failed registry). Simple:
    in this process, no fork. True when it took at least one job."""
    from rq import SimpleWorker
    from rq.serializers import JSONSerializer

    from samenleren.core.jobs.runtime import connection, queue

    worker = SimpleWorker([queue(app, name)], connection=connection(app), serializer=JSONSerializer)
    return worker.work(burst=True, logging_level="WARNING")


def post(app: Flask, client: FlaskClient, path: str):
    return client.post(path, data={"csrf_token": valid_csrf_token(app, client)})


def failed_ids(app: Flask) -> list[str]:
    from samenleren.core.jobs.runtime import queue

    with app.app_context():
        return queue(app, "default").failed_job_registry.get_job_ids()


def test_failed_jobs_are_shown_without_personal_data_and_retry_requeues_them(app, console, tenants):
    job_id = fail_a_job(app, tenants["flevoland"], "een")
    page = console.get(PAGE)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    row = re.search(rf'<tr class="utrecht-table__row" id="job-{job_id}">(.*?)</tr>', text, re.S)
    assert row, text
    cells = " ".join(re.sub(r"<[^>]+>", " ", row.group(1)).split())
    assert "tests.operator.test_jobs_page.flaky" in cells
    assert "flevoland" in cells
    assert "RuntimeError" in cells
    for personal in ("Anna", "anna@example.nl", "could not mail"):
        assert personal not in text
    counts = re.search(r'id="queue-default">(.*?)</tr>', text, re.S).group(1)
    assert [int(n) for n in re.findall(r">(\d+)<", counts)] == [0, 0, 0, 0, 1]

    confirm = console.get(f"/operator/jobs/default/{job_id}/retry")
    assert confirm.status_code == 200
    assert "Retry this job?" in confirm.get_data(as_text=True)
    answer = post(app, console, f"/operator/jobs/default/{job_id}/retry")
    assert answer.status_code == 303 and answer.headers["Location"].endswith(PAGE)
    assert failed_ids(app) == []
    counts = re.search(
        r'id="queue-default">(.*?)</tr>', console.get(PAGE).get_data(as_text=True), re.S
    )
    assert [int(n) for n in re.findall(r">(\d+)<", counts.group(1))] == [1, 0, 0, 0, 0]
    # A worker runs it again: the same job (id, arguments, tenant), now successfully.
    assert work(app, "default")
    assert _DONE[-1] == "een"
    assert failed_ids(app) == []


def test_a_failed_job_can_be_deleted(app, console, tenants):
    from rq.exceptions import NoSuchJobError
    from rq.job import Job
    from rq.serializers import JSONSerializer

    from samenleren.core.jobs.runtime import connection

    job_id = fail_a_job(app, tenants["gelderland"], "twee")
    assert "Delete this job?" in console.get(f"/operator/jobs/default/{job_id}/delete").get_data(
        as_text=True
    )
    assert post(app, console, f"/operator/jobs/default/{job_id}/delete").status_code == 303
    assert failed_ids(app) == []
    with app.app_context(), pytest.raises(NoSuchJobError):
        Job.fetch(job_id, connection=connection(app), serializer=JSONSerializer)
    # Gone: its pages are "not found", as for an id that never was.
    assert console.get(f"/operator/jobs/default/{job_id}/retry").status_code == 404
    assert post(app, console, f"/operator/jobs/default/{job_id}/delete").status_code == 404
    assert console.get("/operator/jobs/nowhere/abc/retry").status_code == 404
    assert console.get("/operator/jobs/default/..%2Fx/retry").status_code == 404


def make_outbox(app: Flask, tenant: TenantRef) -> World:
    """Notifications of `tenant` in several states: 2 pending (1 due an hour ago), 1 sent,
    2 failed."""
    from samenleren.core.db import utcnow
    from samenleren.core.extensions import db
    from samenleren.identity.models import User
    from samenleren.notifications.models import NotificationKind, NotificationState
    from samenleren.notifications.outbox import notify

    with in_tenant(app, tenant):
        world = build_world(tenant)
        learner = get(User, world.learner)
        rows = [
            notify(learner, NotificationKind.REMINDER, key=f"test:{n}", due_at=utcnow())
            for n in range(5)
        ]
        rows[0].due_at = utcnow() - timedelta(hours=1)
        rows[1].due_at = utcnow() + timedelta(days=1)
        rows[2].state = NotificationState.SENT
        rows[3].state = rows[4].state = NotificationState.FAILED
        db.session.commit()
    from samenleren.core.jobs.runtime import queue

    with app.app_context():  # notify() asked for a send job; not wanted here
        queue(app, "mail").empty()
    return world


def outbox_cells(page: str, slug: str) -> list[str]:
    row = re.search(rf'id="outbox-{slug}">(.*?)</tr>', page, re.S)
    assert row, page
    cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row.group(1), re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", c).split()) for c in cells]


def test_the_outbox_is_counted_per_tenant_without_recipients_and_failed_ones_retried(
    app, console, tenants
):
    from samenleren.core.extensions import db
    from samenleren.identity.models import User
    from samenleren.notifications.models import Notification, NotificationState

    world = make_outbox(app, tenants["flevoland"])
    page = console.get(PAGE).get_data(as_text=True)
    # states: pending, sending, sent, failed, cancelled, bundled; then the oldest due; actions.
    cells = outbox_cells(page, "flevoland")
    assert cells[1:7] == ["2", "0", "1", "2", "0", "0"]
    assert "hour" in cells[7]
    assert "Retry failed" in cells[8]
    assert outbox_cells(page, "gelderland")[1:8] == ["0", "0", "0", "0", "0", "0", "—"]
    with in_tenant(app, tenants["flevoland"]):
        learner = get(User, world.learner)
        for personal in (learner.name, learner.email, "Anna"):
            assert personal not in page

    assert "Send the failed notifications" in console.get(
        "/operator/outbox/flevoland/retry"
    ).get_data(as_text=True)
    assert post(app, console, "/operator/outbox/flevoland/retry").status_code == 303
    with in_tenant(app, tenants["flevoland"]):
        states = sorted(s.value for s in db.session.scalars(select(Notification.state)))
    assert states == ["pending"] * 4 + ["sent"]
    assert NotificationState.FAILED.value not in states
    assert outbox_cells(console.get(PAGE).get_data(as_text=True), "flevoland")[1:7] == [
        "4",
        "0",
        "1",
        "0",
        "0",
        "0",
    ]
    assert console.get("/operator/outbox/atlantis/retry").status_code == 404


def test_redis_unreachable_is_said_not_a_500(app, console, tenants, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")
    app.extensions.pop("samenleren_rq_redis", None)
    try:
        page = console.get(PAGE)
        assert page.status_code == 200
        text = page.get_data(as_text=True)
        assert "The job queues cannot be reached" in text
        assert 'id="outbox-flevoland"' in text  # the outbox lives in the database
        assert console.get("/operator/jobs/default/abc/retry").status_code in (404, 503)
    finally:
        app.extensions.pop("samenleren_rq_redis", None)


@pytest.mark.parametrize(
    "path",
    [PAGE, "/operator/jobs/default/abc/retry", "/operator/outbox/flevoland/retry"],
)
def test_only_operators_reach_the_jobs_page(app, operator_idp, tenants, path):
    anonymous = app.test_client()
    answer = anonymous.get(path)
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/operator/login")
    # A tenant's programme admin is nobody here either.
    from tests.conftest import make_user

    with app.app_context():
        make_user(tenants["flevoland"], "pia.admin", "programme_admin")
    employee = app.test_client()
    assert login(employee, tenants["flevoland"], "pia.admin").status_code == 302
    answer = employee.get(path)
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/operator/login")
    answer = post(app, employee, path)
    assert answer.status_code in (303, 405)
    if answer.status_code == 303:
        assert answer.headers["Location"].endswith("/operator/login")
