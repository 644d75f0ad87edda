"""The audit log's hash chain: every event chained per tenant, verified by `flask audit verify`,
which names the first broken link when a row was changed, removed or slipped in at the database."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from flask import Flask
from sqlalchemy import select

from samenleren.audit.chain import entry_hash, genesis_hash
from samenleren.audit.models import AuditEvent, AuditVerification
from samenleren.audit.services import record
from samenleren.core.extensions import db
from tests.conftest import Database, TenantRef
from tests.factories import in_tenant


def _record(app: Flask, tenant: TenantRef, count: int, label: str = "Anna") -> list[uuid.UUID]:
    with in_tenant(app, tenant):
        ids = [
            record("login.succeeded", actor_label=f"{label} {n}", details={"n": n}).id
            for n in range(count)
        ]
        db.session.commit()
        return ids


def _chain(app: Flask, tenant: TenantRef) -> list[AuditEvent]:
    with in_tenant(app, tenant):
        events = list(db.session.scalars(select(AuditEvent).order_by(AuditEvent.sequence)))
        db.session.expunge_all()
        return events


def _verify(app: Flask, *args: str):
    return app.test_cli_runner().invoke(args=["audit", "verify", *args])


@pytest.fixture
def owner(database: Database) -> Iterator[psycopg.Connection]:
    """The schema owner, who may change rows the runtime role may not (RLS still applies)."""
    with psycopg.connect(database.owner_url, autocommit=True) as connection:
        yield connection


def _as_owner(owner: psycopg.Connection, tenant: TenantRef, statement: str, *params) -> None:
    with owner.transaction():
        owner.execute("SELECT set_config('app.tenant_id', %s, true)", (str(tenant.id),))
        owner.execute(statement, params)


def test_events_form_one_chain_per_tenant(app, tenants):
    flevoland, gelderland = tenants["flevoland"], tenants["gelderland"]
    _record(app, flevoland, 3)
    _record(app, gelderland, 2)
    _record(app, flevoland, 1)
    for tenant, count in ((flevoland, 4), (gelderland, 2)):
        events = _chain(app, tenant)
        assert [e.sequence for e in events] == list(range(1, count + 1))
        previous = genesis_hash(tenant.id)
        for event in events:
            assert event.previous_hash == previous
            values = {c.key: getattr(event, c.key) for c in AuditEvent.__table__.columns}
            assert event.entry_hash == entry_hash(values)
            previous = event.entry_hash
    assert genesis_hash(flevoland.id) != genesis_hash(gelderland.id)


def test_events_added_directly_are_chained_too_and_a_rollback_leaves_no_gap(app, tenants):
    flevoland = tenants["flevoland"]
    _record(app, flevoland, 1)
    with in_tenant(app, flevoland):
        record("logout", actor_label="gone")
        db.session.flush()
        db.session.rollback()
        db.session.add(AuditEvent(action="logout", actor_label="Bea"))
        db.session.commit()
    events = _chain(app, flevoland)
    assert [(e.sequence, e.actor_label) for e in events] == [(1, "Anna 0"), (2, "Bea")]
    assert _verify(app, "--tenant", "flevoland").exit_code == 0


def test_a_refused_login_is_recorded_as_refused_with_its_origin(app, tenants):
    flevoland = tenants["flevoland"]
    origin = {"headers": {"User-Agent": "Firefox/140"}, "environ_base": {"REMOTE_ADDR": "10.1.2.3"}}
    with app.test_request_context("/flevoland/", **origin):
        with in_tenant(app, flevoland):
            record("login.refused", details={"reason": "state"})
            record("login.succeeded")
            db.session.commit()
    events = _chain(app, flevoland)
    assert [(e.action, e.result) for e in events] == [
        ("login.refused", "refused"),
        ("login.succeeded", "allowed"),
    ]
    assert {(e.ip_address, e.user_agent) for e in events} == {("10.1.2.3", "Firefox/140")}
    with in_tenant(app, flevoland), pytest.raises(ValueError):
        record("logout", result="maybe")


def test_verify_passes_an_intact_chain_and_stores_the_outcome(app, tenants):
    _record(app, tenants["flevoland"], 3)
    answer = _verify(app)
    assert answer.exit_code == 0, answer.output
    assert "flevoland: intact, 3 events" in answer.output
    assert "gelderland: intact, 0 events" in answer.output
    with in_tenant(app, tenants["flevoland"]):
        stored = db.session.scalars(select(AuditVerification)).all()
        assert [(v.ok, v.checked, v.head_sequence) for v in stored] == [(True, 3, 3)]


@pytest.mark.parametrize(
    ("statement", "broken", "words"),
    [
        ("UPDATE audit_events SET actor_label = 'Iemand anders' WHERE sequence = 2", 2, "changed"),
        ("UPDATE audit_events SET details = '{\"n\": 9}'::jsonb WHERE sequence = 3", 3, "changed"),
        ("UPDATE audit_events SET result = 'refused' WHERE sequence = 1", 1, "changed"),
        ("DELETE FROM audit_events WHERE sequence = 2", 3, "missing"),
        ("UPDATE audit_events SET sequence = NULL WHERE sequence = 4", None, "outside the chain"),
    ],
)
def test_verify_names_the_first_broken_link(app, tenants, owner, statement, broken, words):
    flevoland = tenants["flevoland"]
    ids = _record(app, flevoland, 4)
    _record(app, tenants["gelderland"], 2)
    _as_owner(owner, flevoland, statement)

    answer = _verify(app)
    assert answer.exit_code == 1
    assert "gelderland: intact, 2 events" in answer.output  # another tenant's chain is its own
    place = f"event {broken}" if broken else "an event without a place"
    assert f"flevoland: BROKEN at {place}" in answer.output, answer.output
    assert words in answer.output
    if broken is not None and "DELETE" not in statement:
        assert str(ids[broken - 1]) in answer.output
    with in_tenant(app, flevoland):
        stored = db.session.scalars(select(AuditVerification)).one()
        assert (stored.ok, stored.broken_sequence) == (False, broken)


def test_removing_the_newest_events_is_caught_by_the_earlier_verification(app, tenants, owner):
    flevoland = tenants["flevoland"]
    _record(app, flevoland, 3)
    assert _verify(app, "--tenant", "flevoland").exit_code == 0
    _as_owner(owner, flevoland, "DELETE FROM audit_events WHERE sequence = 3")
    answer = _verify(app, "--tenant", "flevoland")
    assert answer.exit_code == 1
    assert "ends before the event verified earlier" in answer.output
    # A rewritten chain (every hash recomputed) does not reach the anchor either.
    assert _verify(app, "--tenant", "flevoland").exit_code == 1


def test_verify_refuses_an_unknown_tenant(app, tenants):
    answer = _verify(app, "--tenant", "nergens")
    assert answer.exit_code != 0
    assert "no tenant with slug 'nergens'" in answer.output


def test_concurrent_writers_never_fork_the_chain(app, tenants):
    """Eight threads, each in its own session, record at the same time: one chain, no gaps."""
    flevoland = tenants["flevoland"]
    barrier = threading.Barrier(8)
    failures: list[BaseException] = []

    def write(n: int) -> None:
        try:
            with in_tenant(app, flevoland):
                barrier.wait(timeout=10)
                for m in range(5):
                    record("logout", actor_label=f"writer {n}.{m}")
                    db.session.commit()
        except Exception as error:  # noqa: BLE001 (reported below, in the test's own thread)
            failures.append(error)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert [e.sequence for e in _chain(app, flevoland)] == list(range(1, 41))
    assert _verify(app, "--tenant", "flevoland").exit_code == 0


def test_the_nightly_job_verifies_each_tenant_and_logs_a_break(app, tenants, owner, caplog):
    from samenleren.core.jobs.runtime import perform
    from samenleren.core.jobs.schedule import entry

    periodic = entry("audit.verify")
    assert periodic.per_tenant and periodic.job == "samenleren.audit.jobs.verify"
    flevoland = tenants["flevoland"]
    _record(app, flevoland, 2)
    _as_owner(owner, flevoland, "UPDATE audit_events SET actor_label = 'X' WHERE sequence = 1")
    for ref in tenants.values():
        perform(job=periodic.job, tenant_id=str(ref.id), kwargs={})
    assert "audit chain broken at event 1: content" in caplog.text
    assert "Anna" not in caplog.text and "'X'" not in caplog.text
    with in_tenant(app, flevoland):
        assert db.session.scalars(select(AuditVerification.ok)).all() == [False]
    with in_tenant(app, tenants["gelderland"]):
        assert db.session.scalars(select(AuditVerification.ok)).all() == [True]
