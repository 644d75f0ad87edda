"""The audit log is append-only for the application: at the database and in the ORM.

The database test connects as the runtime role the application uses (never a superuser, which
would be allowed everything), with the tenant set, so row-level security lets the rows through:
whatever is refused here is refused by the missing privilege.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from flask import Flask
from psycopg import errors
from sqlalchemy import delete, select, update

from samenleren.audit.models import AppendOnlyViolation, AuditEvent
from samenleren.audit.services import record
from samenleren.core.extensions import db
from tests.conftest import Database, TenantRef
from tests.factories import in_tenant


@pytest.fixture
def runtime(database: Database) -> Iterator[psycopg.Connection]:
    with psycopg.connect(database.runtime_url, autocommit=True) as connection:
        yield connection


@pytest.fixture
def one_event(app: Flask, tenants: dict[str, TenantRef]) -> uuid.UUID:
    with in_tenant(app, tenants["flevoland"]):
        event = record("login.succeeded", actor_label="Anna", details={"x": 1})
        db.session.commit()
        return event.id


def _as_tenant(connection: psycopg.Connection, tenant: TenantRef) -> None:
    connection.execute("SELECT set_config('app.tenant_id', %s, true)", (str(tenant.id),))


def _label_of(runtime: psycopg.Connection, tenant: TenantRef, event_id: uuid.UUID) -> str:
    with runtime.transaction():
        _as_tenant(runtime, tenant)
        row = runtime.execute(
            "SELECT actor_label FROM audit_events WHERE id = %s", (event_id,)
        ).fetchone()
    return row[0]


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET actor_label = 'Iemand anders'",
        "UPDATE audit_events SET details = '{}'::jsonb WHERE id = %(id)s",
        "DELETE FROM audit_events",
        "DELETE FROM audit_events WHERE id = %(id)s",
        "TRUNCATE audit_events",
    ],
)
def test_the_runtime_role_cannot_change_or_delete_events(
    tenants: dict[str, TenantRef],
    one_event: uuid.UUID,
    runtime: psycopg.Connection,
    statement: str,
) -> None:
    flevoland = tenants["flevoland"]
    with pytest.raises(errors.InsufficientPrivilege, match="permission denied"):
        with runtime.transaction():
            _as_tenant(runtime, flevoland)
            runtime.execute(statement, {"id": one_event})
    assert _label_of(runtime, flevoland, one_event) == "Anna"


def test_the_runtime_role_may_add_and_read_events(
    tenants: dict[str, TenantRef], one_event: uuid.UUID, runtime: psycopg.Connection
) -> None:
    flevoland = tenants["flevoland"]
    new_id = uuid.uuid4()
    with runtime.transaction():
        _as_tenant(runtime, flevoland)
        runtime.execute(
            "INSERT INTO audit_events (tenant_id, id, occurred_at, action, actor_label, "
            "subject_type, subject_id, details, ip_address) "
            "VALUES (%s, %s, now(), 'logout', 'Bea', '', '', '{}'::jsonb, '')",
            (flevoland.id, new_id),
        )
    assert _label_of(runtime, flevoland, new_id) == "Bea"
    assert _label_of(runtime, flevoland, one_event) == "Anna"


def _privileges(database: Database) -> dict[str, bool]:
    with psycopg.connect(database.owner_url, autocommit=True) as owner:
        return {
            privilege: owner.execute(
                "SELECT has_table_privilege(%s, 'audit_events', %s)",
                (database.runtime, privilege),
            ).fetchone()[0]
            for privilege in ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE")
        }


EXPECTED = {"SELECT": True, "INSERT": True, "UPDATE": False, "DELETE": False, "TRUNCATE": False}


def test_the_refusal_survives_later_upgrades(app: Flask, database: Database) -> None:
    """Every upgrade grants the runtime role row access to all tables again; the refusal on the
    audit log is given again right after it, so a later migration cannot undo it."""
    from flask_migrate import upgrade

    assert _privileges(database) == EXPECTED
    with app.app_context():
        upgrade()  # at head already: only the grants of migrations/env.py run again
    assert _privileges(database) == EXPECTED
    # ... and other tables keep their full row access.
    with psycopg.connect(database.owner_url, autocommit=True) as owner:
        assert owner.execute(
            "SELECT has_table_privilege(%s, 'users', 'UPDATE')", (database.runtime,)
        ).fetchone()[0]


def test_the_session_refuses_a_changed_event(app: Flask, one_event: uuid.UUID, tenants) -> None:
    with in_tenant(app, tenants["flevoland"]):
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.id == one_event))
        event.actor_label = "Iemand anders"
        with pytest.raises(AppendOnlyViolation):
            db.session.flush()
        db.session.rollback()
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.id == one_event))
        assert event.actor_label == "Anna"


def test_the_session_refuses_a_deleted_event(app: Flask, one_event: uuid.UUID, tenants) -> None:
    with in_tenant(app, tenants["flevoland"]):
        db.session.delete(db.session.scalar(select(AuditEvent).where(AuditEvent.id == one_event)))
        with pytest.raises(AppendOnlyViolation):
            db.session.commit()
        db.session.rollback()
        assert db.session.scalar(select(AuditEvent.id)) == one_event


@pytest.mark.parametrize(
    "statement",
    [
        update(AuditEvent).values(actor_label="x"),
        delete(AuditEvent),
        delete(AuditEvent).where(AuditEvent.action == "login.succeeded"),
    ],
    ids=["update", "delete-all", "delete-some"],
)
def test_the_session_refuses_update_and_delete_statements(
    app: Flask, one_event: uuid.UUID, tenants, statement
) -> None:
    with in_tenant(app, tenants["flevoland"]):
        with pytest.raises(AppendOnlyViolation):
            db.session.execute(statement)
        db.session.rollback()
        assert db.session.scalar(select(AuditEvent.actor_label)) == "Anna"


def test_an_unchanged_event_in_the_session_is_no_problem(
    app: Flask, one_event: uuid.UUID, tenants
) -> None:
    """Loading events and writing something else in the same transaction works."""
    with in_tenant(app, tenants["flevoland"]):
        db.session.scalar(select(AuditEvent).where(AuditEvent.id == one_event))
        record("logout", actor_label="Anna")
        db.session.commit()
        assert len(db.session.scalars(select(AuditEvent)).all()) == 2
