"""samenleren.core.jobs against the real Redis: enqueue after commit, run in the job's tenant."""

from __future__ import annotations

import logging
import uuid

import pytest
from sqlalchemy import select, text

from samenleren.core.jobs.runtime import enqueue, job, run_pending_jobs
from tests.factories import add_user, in_tenant

#: What the jobs below saw; SimpleWorker runs them in this process.
SEEN: list[dict] = []


@job(queue="default")
def look_around(*, other_tenant: str, other_user: str) -> None:
    """Tries to read and write another tenant's rows, with the ORM and with raw SQL."""
    from flask_babel import get_locale

    from samenleren.core.extensions import db
    from samenleren.core.tenancy import CrossTenantWrite, current_tenant
    from samenleren.identity.models import Department, User

    seen: dict = {"tenant": current_tenant().slug, "locale": str(get_locale())}
    seen["orm_users"] = sorted(u.subject for u in db.session.scalars(select(User)))
    seen["orm_other"] = db.session.scalars(
        select(User).where(User.id == uuid.UUID(other_user))
    ).all()
    seen["raw_other"] = db.session.execute(
        text("SELECT count(*) FROM users WHERE tenant_id = :t"), {"t": other_tenant}
    ).scalar()
    seen["raw_update"] = db.session.execute(
        text("UPDATE users SET name = 'hacked' WHERE tenant_id = :t"), {"t": other_tenant}
    ).rowcount
    db.session.commit()
    try:
        db.session.add(Department(tenant_id=uuid.UUID(other_tenant), name="Smuggled"))
        db.session.flush()
        seen["orm_write"] = "written"
    except CrossTenantWrite:
        seen["orm_write"] = "refused"
        db.session.rollback()
    try:
        db.session.execute(
            text("INSERT INTO departments (tenant_id, id, name) VALUES (:t, :i, 'Raw')"),
            {"t": other_tenant, "i": str(uuid.uuid4())},
        )
        db.session.commit()
        seen["raw_write"] = "written"
    except Exception as exc:  # noqa: BLE001 - RLS refuses with a database error
        seen["raw_write"] = type(exc).__name__
        db.session.rollback()
    logging.getLogger("tests.jobs").warning("looked around")
    SEEN.append(seen)


@job(queue="mail")
def remember(*, value: int) -> None:
    SEEN.append({"value": value})


@pytest.fixture(autouse=True)
def _fresh():
    SEEN.clear()


def _queued(app) -> int:
    from samenleren.core.jobs.runtime import queue

    return sum(queue(app, name).count for name in ("default", "mail", "reports"))


def test_enqueued_after_commit_and_dropped_on_rollback(app, tenants):
    from samenleren.core.extensions import db

    with in_tenant(app, tenants["flevoland"]):
        enqueue(remember, tenant_id=tenants["flevoland"].id, value=1)
        assert _queued(app) == 0  # not before the commit
        db.session.commit()
        assert _queued(app) == 1
        enqueue(remember, tenant_id=tenants["flevoland"].id, value=2)
        add_user("rolled.back")
        db.session.rollback()
        db.session.commit()
        assert _queued(app) == 1  # the rolled back call is gone
    assert run_pending_jobs(app) == 1
    assert SEEN == [{"value": 1}]


def test_job_arguments_must_be_json(app, tenants):
    with in_tenant(app, tenants["flevoland"]), pytest.raises(TypeError):
        enqueue(remember, tenant_id=tenants["flevoland"].id, value=object())


def test_a_job_runs_in_its_tenant_and_cannot_reach_another(app, tenants, caplog):
    from samenleren.core.extensions import db
    from samenleren.identity.models import User

    with in_tenant(app, tenants["gelderland"]):
        other = add_user("gelderland.person")
        other_id = str(other.id)
        db.session.commit()
    with in_tenant(app, tenants["flevoland"]):
        add_user("flevoland.person", locale="en")
        enqueue(
            look_around,
            tenant_id=tenants["flevoland"].id,
            other_tenant=str(tenants["gelderland"].id),
            other_user=other_id,
        )
        db.session.commit()
    with caplog.at_level(logging.WARNING, logger="tests.jobs"):
        assert run_pending_jobs(app) == 1
    (seen,) = SEEN
    assert seen["tenant"] == "flevoland"
    assert seen["locale"] == "nl"  # the tenant's language, whatever the user's own
    assert seen["orm_users"] == ["flevoland.person"]
    assert seen["orm_other"] == []
    assert seen["raw_other"] == 0  # row-level security hides the other tenant's rows
    assert seen["raw_update"] == 0
    assert seen["orm_write"] == "refused"
    assert seen["raw_write"] != "written"
    record = next(r for r in caplog.records if r.getMessage() == "looked around")
    assert record.job_context.startswith("[tenant=flevoland job=")
    with in_tenant(app, tenants["gelderland"]):
        assert db.session.get(User, (tenants["gelderland"].id, uuid.UUID(other_id))).name != (
            "hacked"
        )


def test_in_process_without_redis(app, tenants):
    from samenleren.core.extensions import db

    previous = app.config["REDIS_URL"]
    app.config["REDIS_URL"] = ""
    try:
        with in_tenant(app, tenants["flevoland"]):
            enqueue(remember, tenant_id=tenants["flevoland"].id, value=3)
            assert SEEN == []
            db.session.commit()
            assert SEEN == [{"value": 3}]
            enqueue(remember, tenant_id=tenants["flevoland"].id, value=4)
            db.session.rollback()
            db.session.commit()
            assert SEEN == [{"value": 3}]
    finally:
        app.config["REDIS_URL"] = previous
