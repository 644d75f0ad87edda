"""Wall 3: PostgreSQL row-level security and composite same-tenant foreign keys.

Raw SQL goes straight to the database as the application's runtime role (never a superuser, which
would bypass the policies), so wall 2 cannot help: whatever these tests see, the database let
through.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date, timedelta

import psycopg
import pytest
from flask import Flask
from psycopg import errors, sql
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from samenleren.core.db import utcnow
from samenleren.core.extensions import db
from samenleren.core.rls import POLICY_NAME
from samenleren.core.tenancy import activate_tenant, tenant_scope
from samenleren.core.tenant import Tenant
from samenleren.identity.models import LoginSession, Role, User
from tests.conftest import REPO_ROOT, Database, TenantRef, make_user, seed_demo


def tenant_tables() -> list[str]:
    """Every table of the application's metadata that carries a tenant_id column."""
    return sorted(t.name for t in db.metadata.sorted_tables if "tenant_id" in t.c)


def _seed_every_table(app: Flask, refs: dict[str, TenantRef]) -> dict[str, TenantRef]:
    """Both tenants with demo data, one login session and one audit event each, so every tenant
    table has rows."""
    from samenleren.audit.services import record
    from samenleren.audit.verification import verify_tenant
    from samenleren.budget.actuals import ActualInput, add_actual
    from samenleren.budget.planning import rename_categories, set_year_budget
    from samenleren.calendars.feeds import create_feed
    from samenleren.identity.client_keys import rotate_client_key
    from samenleren.identity.trainers import invite_external_trainer
    from samenleren.scim.groups import GroupData, create_group
    from samenleren.scim.tokens import create_token

    seed_demo(app, refs)
    with app.app_context():
        for ref in refs.values():
            with tenant_scope(db.session.get(Tenant, ref.id)):
                # Not the admin: the SCIM group below re-derives its member's roles from that
                # group alone (so the admin would lose the role the ledger calls need), and
                # an unordered first row differs with what earlier tests left in the heap.
                user = db.session.scalars(
                    select(User)
                    .where(~User.role_assignments.any(role=Role.PROGRAMME_ADMIN))
                    .order_by(User.email)
                ).first()
                db.session.add(
                    LoginSession(user_id=user.id, expires_at=utcnow() + timedelta(hours=1))
                )
                record("login.succeeded", actor=user)
                # An external trainer with a sign-in link (sign_in_links).
                invite_external_trainer("Extern Rls", "rls@extern.example", actor=None)
                # A SCIM token and a provisioned group with a member (scim_*).
                create_token("Rls", actor_label="test")
                # A personal calendar feed (calendar_feeds).
                create_feed(user)
                create_group(GroupData("Rls", member_ids=[str(user.id)]), actor_label="test")
                # The budget ledger: an expense, a year's budget and a renamed category.
                admin = db.session.scalars(
                    select(User)
                    .where(User.role_assignments.any(role=Role.PROGRAMME_ADMIN))
                    .order_by(User.email)
                ).first()
                add_actual(ActualInput(date(2027, 1, 5), 1250, "other"), admin)
                set_year_budget(2027, 500000, {}, admin)
                rename_categories({"venues": f"Zalen {ref.slug}"}, admin)
                # Retention: a period of its own, a legal hold, an employee who left.
                from samenleren.retention.erasure import note_departure
                from samenleren.retention.holds import place_hold
                from samenleren.retention.policy import PROFILES, update_periods

                periods = {k: str(v) for k, v in PROFILES["province"].items()}
                update_periods(periods | {"coaching_notes": "18"}, admin)
                place_hold("person", str(user.id), "Rls", admin)
                note_departure(user)
                # Insight: an admin's choices, the quarter's mail and the comparison row.
                from samenleren.insight.models import (
                    Comparison,
                    QuarterlyMail,
                    ReportMailOptOut,
                    SharingSetting,
                )

                db.session.add_all(
                    [
                        ReportMailOptOut(user_id=admin.id),
                        QuarterlyMail(year=2027, quarter=1, recipients=1),
                        SharingSetting(share=True, changed_by_id=admin.id),
                        Comparison(year=2027, tenants=5, own_transfer_percent=60),
                    ]
                )
                db.session.commit()
                # A key pair for private_key_jwt (client_keys).
                rotate_client_key(db.session.get(Tenant, ref.id), None, actor_label="test")
                db.session.commit()
                # The audit chain verified once (audit_verifications).
                verify_tenant()
                db.session.commit()
    return refs


@pytest.fixture
def seeded(app: Flask, snapshot) -> dict[str, TenantRef]:
    """Both tenants with rows in every tenant table; built once per worker (`snapshot`)."""
    return dict(snapshot("rls.every_table", lambda refs: _seed_every_table(app, refs)))


@pytest.fixture
def runtime(database: Database) -> Iterator[psycopg.Connection]:
    """A psycopg connection as the runtime role the application uses. Autocommit: each
    `transaction()` block is then a real transaction, so a transaction-local setting ends with it
    (inside an implicit outer transaction it would be a savepoint and the setting would linger)."""
    with psycopg.connect(database.runtime_url, autocommit=True) as connection:
        yield connection


def _select_tenant(connection: psycopg.Connection, tenant_id: uuid.UUID) -> None:
    connection.execute("SELECT set_config('app.tenant_id', %s, true)", (str(tenant_id),))


def _tenant_ids(connection: psycopg.Connection, table: str) -> list[uuid.UUID]:
    query = sql.SQL("SELECT tenant_id FROM {}").format(sql.Identifier(table))
    return [row[0] for row in connection.execute(query)]


def test_the_tenant_tables_are_known(app: Flask, database: Database) -> None:
    """The metadata and the migrated database agree on which tables are tenant-owned."""
    with app.app_context():
        expected = tenant_tables()
    with psycopg.connect(database.owner_url, autocommit=True) as owner:
        in_database = sorted(
            row[0]
            for row in owner.execute(
                "SELECT table_name FROM information_schema.columns "
                "WHERE table_schema = 'public' AND column_name = 'tenant_id'"
            )
        )
    assert expected == in_database
    assert {"users", "role_assignments", "login_sessions", "departments"} <= set(expected)


def test_no_tenant_set_means_no_rows_in_any_tenant_table(
    app: Flask, seeded: dict[str, TenantRef], runtime: psycopg.Connection
) -> None:
    """As the runtime role with no app.tenant_id, SELECT * returns 0 rows from every table,
    although each table holds rows of both tenants."""
    with app.app_context():
        tables = tenant_tables()
    for table in tables:
        assert _tenant_ids(runtime, table) == [], table
        with runtime.transaction():
            _select_tenant(runtime, seeded["flevoland"].id)
            assert _tenant_ids(runtime, table), f"{table} has no flevoland rows to hide"
        with runtime.transaction():
            _select_tenant(runtime, seeded["gelderland"].id)
            assert _tenant_ids(runtime, table), f"{table} has no gelderland rows to hide"


def test_the_setting_shows_exactly_one_tenant_and_expires_with_the_transaction(
    app: Flask, seeded: dict[str, TenantRef], runtime: psycopg.Connection
) -> None:
    """Inside a transaction with app.tenant_id = A only A's rows are visible; after it ends the
    setting is gone (reads as '', no error) and nothing is visible again."""
    a, b = seeded["flevoland"].id, seeded["gelderland"].id
    with app.app_context():
        tables = tenant_tables()
    for table in tables:
        with runtime.transaction():
            _select_tenant(runtime, a)
            assert set(_tenant_ids(runtime, table)) == {a}, table
        assert _tenant_ids(runtime, table) == [], table
        with runtime.transaction():
            _select_tenant(runtime, b)
            assert set(_tenant_ids(runtime, table)) == {b}, table


def test_an_unknown_tenant_id_sees_nothing(
    seeded: dict[str, TenantRef], runtime: psycopg.Connection
) -> None:
    """A well-formed id of no tenant shows no rows."""
    with runtime.transaction():
        _select_tenant(runtime, uuid.uuid4())
        assert _tenant_ids(runtime, "users") == []


def test_writing_a_row_of_another_tenant_is_refused(
    seeded: dict[str, TenantRef], runtime: psycopg.Connection
) -> None:
    """With A set, INSERT of a row for B and moving A's row to B violate the policy; UPDATE and
    DELETE of B's rows reach no row."""
    a, b = seeded["flevoland"].id, seeded["gelderland"].id
    with pytest.raises(errors.InsufficientPrivilege, match="row-level security"):
        with runtime.transaction():
            _select_tenant(runtime, a)
            runtime.execute(
                "INSERT INTO departments (tenant_id, id, name) VALUES (%s, %s, 'Ingeschoven')",
                (b, uuid.uuid4()),
            )
    with pytest.raises(errors.InsufficientPrivilege, match="row-level security"):
        with runtime.transaction():
            _select_tenant(runtime, a)
            runtime.execute("UPDATE trainings SET tenant_id = %s", (b,))
    with runtime.transaction():
        _select_tenant(runtime, a)
        assert (
            runtime.execute("UPDATE users SET name = 'x' WHERE tenant_id = %s", (b,)).rowcount == 0
        )
        assert runtime.execute("DELETE FROM trainings WHERE tenant_id = %s", (b,)).rowcount == 0
    with pytest.raises(errors.InsufficientPrivilege, match="row-level security"):
        with runtime.transaction():
            runtime.execute(
                "INSERT INTO departments (tenant_id, id, name) VALUES (%s, %s, 'Zwevend')",
                (a, uuid.uuid4()),
            )


def test_every_tenant_table_has_forced_rls_and_a_policy(app: Flask, database: Database) -> None:
    """relrowsecurity and relforcerowsecurity are on, and the tenant policy exists, per table."""
    with app.app_context():
        tables = tenant_tables()
    with psycopg.connect(database.owner_url, autocommit=True) as owner:
        flags = {
            row[0]: (row[1], row[2])
            for row in owner.execute(
                "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class "
                "WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'"
            )
        }
        policies = {
            row[0]: (row[1], row[2], row[3])
            for row in owner.execute(
                "SELECT tablename, policyname, qual, with_check FROM pg_policies "
                "WHERE schemaname = 'public'"
            )
        }
    for table in tables:
        assert flags[table] == (True, True), table
        name, using, check = policies[table]
        assert name == POLICY_NAME
        assert "app.tenant_id" in using and "app.tenant_id" in check, table


def test_the_runtime_role_cannot_bypass_rls(app: Flask, database: Database) -> None:
    """The runtime role is no superuser, has no BYPASSRLS, owns no table, and is what the
    application actually connects as."""
    with psycopg.connect(database.owner_url, autocommit=True) as owner:
        superuser, bypass = owner.execute(
            "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = %s", (database.runtime,)
        ).fetchone()
        owners = {
            row[0]
            for row in owner.execute("SELECT tableowner FROM pg_tables WHERE schemaname = 'public'")
        }
    assert (superuser, bypass) == (False, False)
    assert owners == {database.owner}
    with app.app_context():
        assert db.session.scalar(text("SELECT current_user")) == database.runtime


def test_the_runtime_role_cannot_switch_rls_off(database: Database) -> None:
    """Only an owner may disable or un-force the policy; the runtime role is refused."""
    with psycopg.connect(database.runtime_url, autocommit=True) as connection:
        for statement in (
            "ALTER TABLE users DISABLE ROW LEVEL SECURITY",
            "ALTER TABLE users NO FORCE ROW LEVEL SECURITY",
            "DROP POLICY tenant_isolation ON users",
        ):
            with pytest.raises(errors.InsufficientPrivilege), connection.transaction():
                connection.execute(statement)


def test_the_app_session_sets_the_tenant_per_transaction(
    app: Flask, seeded: dict[str, TenantRef]
) -> None:
    """Raw `text()` SQL through the app's session (which wall 2 does not filter) sees only the
    tenant in context, nothing without one, and follows a tenant activated mid-transaction."""
    a, b = seeded["flevoland"], seeded["gelderland"]
    count = text("SELECT count(*) FROM users")
    tenants_of = text("SELECT DISTINCT tenant_id FROM users")
    with app.app_context():
        assert db.session.scalar(count) == 0
        tenant_a = db.session.get(Tenant, a.id)  # the transaction is open now, with no tenant
        activate_tenant(tenant_a)
        assert [row[0] for row in db.session.execute(tenants_of)] == [a.id]
        db.session.commit()
        assert [row[0] for row in db.session.execute(tenants_of)] == [a.id]
        activate_tenant(db.session.get(Tenant, b.id))
        assert [row[0] for row in db.session.execute(tenants_of)] == [b.id]
        activate_tenant(None)
        assert db.session.scalar(count) == 0


# --- composite foreign keys -----------------------------------------------------------------------


def test_a_manager_of_another_tenant_is_refused_by_postgresql_via_the_orm(
    app: Flask, tenants: dict[str, TenantRef]
) -> None:
    """A user of A whose manager_id is a user of B is refused by the composite foreign key."""
    with app.app_context():
        boss_b = make_user(tenants["gelderland"], "baas.gelderland", "manager")
        boss_a = make_user(tenants["flevoland"], "baas.flevoland", "manager")
        make_user(tenants["flevoland"], "eigen.team", manager_id=boss_a)  # same tenant: fine
        with pytest.raises(IntegrityError, match="fk_users_tenant_id_manager_id_users"):
            make_user(tenants["flevoland"], "verkeerd.team", manager_id=boss_b)
        db.session.rollback()
        with tenant_scope(db.session.get(Tenant, tenants["flevoland"].id)):
            subjects = set(db.session.scalars(select(User.subject)))
    assert subjects == {"baas.flevoland", "eigen.team"}


def test_a_manager_of_another_tenant_is_refused_by_postgresql_as_the_owner(
    database: Database, tenants: dict[str, TenantRef]
) -> None:
    """As the table owner, with RLS satisfied (app.tenant_id = A, the row is A's), the database
    still refuses a reference into B."""
    a, b = tenants["flevoland"].id, tenants["gelderland"].id
    boss_b = uuid.uuid4()
    insert = (
        "INSERT INTO users (tenant_id, id, subject, name, manager_id, active, created_at) "
        "VALUES (%s, %s, %s, %s, %s, true, now())"
    )
    with psycopg.connect(database.owner_url, autocommit=True) as owner:
        with owner.transaction():
            _select_tenant(owner, b)
            owner.execute(insert, (b, boss_b, "baas", "Baas", None))
        with pytest.raises(errors.ForeignKeyViolation), owner.transaction():
            _select_tenant(owner, a)
            owner.execute(insert, (a, uuid.uuid4(), "medewerker", "Medewerker", boss_b))


def test_a_manager_of_another_tenant_is_refused_by_sqlite(sqlite_app: Flask) -> None:
    """The embedded default (SQLite, foreign keys on) refuses the same cross-tenant reference."""
    from samenleren.tenants.manifest import load_manifest
    from samenleren.tenants.services import onboard_tenant

    with sqlite_app.app_context():
        a, b = (
            onboard_tenant(load_manifest(REPO_ROOT / "tenants" / f"{slug}.toml")).tenant
            for slug in ("flevoland", "gelderland")
        )
        with tenant_scope(b):
            boss_b = User(subject="baas", name="Baas")
            db.session.add(boss_b)
            db.session.commit()
            boss_b_id = boss_b.id
        with tenant_scope(a):
            db.session.add(User(subject="medewerker", name="Medewerker", manager_id=boss_b_id))
            with pytest.raises(IntegrityError, match="FOREIGN KEY"):
                db.session.commit()
            db.session.rollback()
            assert db.session.scalars(select(User)).all() == []


def test_the_policy_reads_the_tenant_once_per_statement(
    database: Database, tenants: dict[str, TenantRef]
) -> None:
    """Migration 0016: the setting is a scalar subquery (an InitPlan, evaluated once and usable
    by an index), not an expression evaluated again for every row the policy filters."""
    with psycopg.connect(database.runtime_url) as connection:
        connection.execute(
            "SELECT set_config('app.tenant_id', %s, true)", (str(tenants["flevoland"].id),)
        )
        plan = "\n".join(row[0] for row in connection.execute("EXPLAIN SELECT * FROM users"))
    assert "InitPlan" in plan, plan
    assert "current_setting" not in plan.split("InitPlan")[0], plan
