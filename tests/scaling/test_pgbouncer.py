"""The application through a real PgBouncer in transaction mode (docs/scaling.md).

In transaction mode PgBouncer lends a server connection for one transaction only; the next
transaction of the same client may get another one, and the server connection goes on to serve
other clients, of other tenants. That is safe for tenant isolation only because the tenant is a
*transaction-local* setting (`set_config('app.tenant_id', ..., true)`, core/tenancy.py), set in
every transaction that touches tenant data. These tests run two tenants' work interleaved over a
server pool smaller than the clients, and show the two things that would break it: a setting
made for the session, and psycopg's automatic server-side prepared statements.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from flask import Flask
from sqlalchemy import text

from tests.conftest import TenantRef, make_user
from tests.scaling.conftest import SERVER_POOL_SIZE, PgBouncer

CLIENTS_PER_TENANT = 4  # 8 clients on SERVER_POOL_SIZE (2) server connections
ROUNDS = 6


@pytest.fixture
def pooled_app(pgbouncer: PgBouncer, monkeypatch: pytest.MonkeyPatch, database) -> Iterator[Flask]:
    """The application with DATABASE_URL through PgBouncer, configured as docs/scaling.md says
    (SAMENLEREN_TRANSACTION_POOLER=1); migrations would still go to PostgreSQL directly."""
    from samenleren import create_app
    from samenleren.core.extensions import db

    monkeypatch.setenv("DATABASE_URL", pgbouncer.url())
    monkeypatch.setenv("MIGRATIONS_DATABASE_URL", database.owner_url)
    monkeypatch.setenv("SAMENLEREN_TRANSACTION_POOLER", "1")
    application = create_app({"SERVER_NAME": None})
    assert application.config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"] == {
        "prepare_threshold": None
    }
    yield application
    with application.app_context():
        db.engine.dispose()


@pytest.fixture
def people(app: Flask, tenants: dict[str, TenantRef]) -> dict[str, set[uuid.UUID]]:
    """A few users in each tenant (written directly, not through the pooler)."""
    with app.app_context():
        return {
            slug: {make_user(ref, f"{slug}.person{n}", "learner") for n in range(3)}
            for slug, ref in tenants.items()
        }


def test_two_tenants_interleaved_on_a_small_pool_each_see_only_their_rows(
    pooled_app: Flask,
    pgbouncer: PgBouncer,
    tenants: dict[str, TenantRef],
    people: dict[str, set[uuid.UUID]],
) -> None:
    """Raw SQL, so only the database wall (row-level security on the transaction's
    app.tenant_id) decides what each transaction sees."""
    from samenleren.core.extensions import db
    from samenleren.core.tenancy import tenant_scope
    from samenleren.core.tenant import Tenant

    start = threading.Barrier(2 * CLIENTS_PER_TENANT)
    served: list[tuple[str, int, str, set[uuid.UUID]]] = []

    def client(slug: str) -> None:
        with pooled_app.app_context():
            tenant = db.session.get(Tenant, tenants[slug].id)
            db.session.commit()
            start.wait(timeout=30)
            with tenant_scope(tenant):
                for _ in range(ROUNDS):
                    pid, setting, ids = db.session.execute(
                        text(
                            "SELECT pg_backend_pid(), current_setting('app.tenant_id', true),"
                            " array_agg(id) FROM users, pg_sleep(0.01)"
                        )
                    ).one()
                    db.session.commit()  # the server connection goes back to PgBouncer
                    served.append((slug, pid, setting, set(ids or [])))

    slugs = [slug for slug in tenants for _ in range(CLIENTS_PER_TENANT)]
    with ThreadPoolExecutor(len(slugs)) as pool:
        for future in [pool.submit(client, slug) for slug in slugs]:
            future.result()

    assert len(served) == len(slugs) * ROUNDS
    for slug, _pid, setting, ids in served:
        assert setting == str(tenants[slug].id)
        assert ids == people[slug]
    backends = {pid for _, pid, _, _ in served}
    assert len(backends) <= SERVER_POOL_SIZE < len(slugs)
    shared = [pid for pid in backends if len({s for s, p, _, _ in served if p == pid}) == 2]
    assert shared, "no server connection served both tenants: the test proves nothing"


def test_pages_of_two_tenants_interleaved_through_pgbouncer(
    app: Flask, pooled_app: Flask, tenants: dict[str, TenantRef]
) -> None:
    """Whole requests - login, tenant resolution, the ORM, the templates - through the pooler."""
    from samenleren.core.extensions import db
    from samenleren.tenants.models import OrganisationGoal
    from tests.coaching.helpers import client_as
    from tests.factories import build_world, in_tenant

    for slug, ref in tenants.items():
        with in_tenant(app, ref):
            build_world(ref)
            db.session.add(OrganisationGoal(code=f"ONLY-{slug.upper()}", title={"nl": slug}))
            db.session.commit()
    clients = [
        (slug, client_as(pooled_app, ref, "admin"))
        for slug, ref in tenants.items()
        for _ in range(CLIENTS_PER_TENANT)
    ]
    start = threading.Barrier(len(clients))

    def pages(slug: str, client) -> list[tuple[int, bool, bool]]:
        other = next(s for s in tenants if s != slug)
        start.wait(timeout=30)
        seen = []
        for _ in range(ROUNDS):
            response = client.get(f"/{slug}/organisation-goals/")
            page = response.get_data(as_text=True)
            seen.append(
                (
                    response.status_code,
                    f"ONLY-{slug.upper()}" in page,
                    f"ONLY-{other.upper()}" in page,
                )
            )
        return seen

    with ThreadPoolExecutor(len(clients)) as pool:
        results = [pool.submit(pages, slug, client) for slug, client in clients]
        seen = [row for future in results for row in future.result()]
    assert seen == [(200, True, False)] * len(clients) * ROUNDS


def test_the_outbox_of_two_tenants_is_sent_once_through_pgbouncer(
    app: Flask, pooled_app: Flask, tenants: dict[str, TenantRef]
) -> None:
    """The outbox's marks (notifications.delivery._Marker) are one transaction each, with the
    tenant set for that transaction: through the pooler every mail is marked sent, once."""
    from sqlalchemy import select

    from samenleren.core.extensions import db
    from samenleren.notifications.delivery import send_due
    from samenleren.notifications.models import Notification, NotificationKind
    from samenleren.notifications.outbox import notify
    from tests.factories import add_user, in_tenant
    from tests.mail import SmtpSink

    per_tenant = 12
    expected: dict[str, set[str]] = {}
    for slug, ref in tenants.items():
        with in_tenant(app, ref):
            expected[slug] = {
                notify(
                    add_user(f"mail.{slug}.{n}", "learner"),
                    NotificationKind.REMINDER,
                    key=f"pooled:{n}",
                    context={
                        "step": {"nl": "Intakegesprek", "en": "Intake"},
                        "learner": "Anna de Vries",
                        "due_on": "2026-12-01",
                        "path": f"/{slug}/",
                    },
                ).message_id
                for n in range(per_tenant)
            }
            db.session.commit()
    sink = SmtpSink().start()
    pooled_app.config.update(SMTP_URL=sink.url, SAMENLEREN_MAIL_BATCH=5)
    try:

        def send(ref: TenantRef) -> int:
            with in_tenant(pooled_app, ref):
                return send_due()

        with ThreadPoolExecutor(len(tenants)) as pool:
            counts = list(pool.map(send, tenants.values()))
        assert counts == [per_tenant] * len(tenants)
        received = sink.by_message_id()
    finally:
        sink.stop()
    assert set(received) == set().union(*expected.values())
    assert all(len(copies) == 1 for copies in received.values())
    for ref in tenants.values():
        with in_tenant(app, ref):
            states = db.session.scalars(select(Notification.state)).all()
            assert [str(state) for state in states] == ["sent"] * per_tenant


def test_a_session_level_setting_would_leak_to_the_next_client(
    pgbouncer: PgBouncer, tenants: dict[str, TenantRef]
) -> None:
    """Why the tenant is never set for the session: PgBouncer hands the server connection, with
    the setting still on it, to whichever client comes next (it resets sessions only in session
    mode). The application sets it with `set_config(..., true)` only."""
    flevoland = str(tenants["flevoland"].id)
    with (
        psycopg.connect(pgbouncer.url(), autocommit=True, prepare_threshold=None) as first,
        psycopg.connect(pgbouncer.url(), autocommit=True, prepare_threshold=None) as second,
    ):
        first.execute("SELECT set_config('app.tenant_id', %s, false)", (flevoland,))
        leaked = second.execute("SELECT current_setting('app.tenant_id', true)").fetchone()
        assert leaked == (flevoland,)
        # Transaction-local, it is gone when the transaction ends: nothing for the next client.
        with first.transaction():
            first.execute("SELECT set_config('app.tenant_id', '', false)")
        with first.transaction():
            first.execute("SELECT set_config('app.tenant_id', %s, true)", (flevoland,))
        assert second.execute("SELECT current_setting('app.tenant_id', true)").fetchone() == ("",)


def test_server_side_prepared_statements_break_without_the_setting(pgbouncer: PgBouncer) -> None:
    """psycopg prepares a statement on the server on its fifth use (prepare_threshold=5, the
    default). Debian's PgBouncer 1.18 does not follow prepared statements across server
    connections, so the next transaction on another server connection fails. Hence
    SAMENLEREN_TRANSACTION_POOLER=1 (prepare_threshold=None). PgBouncer 1.21 and later can
    track them (max_prepared_statements); the setting is then harmless."""
    with (
        psycopg.connect(pgbouncer.url(), autocommit=True) as client,
        psycopg.connect(pgbouncer.url(), autocommit=True, prepare_threshold=None) as other,
    ):
        for _ in range(6):
            client.execute("SELECT count(*) FROM pg_class WHERE relname = %s", ("users",))
        # `other` holds the server connection `client` prepared on (PgBouncer reuses the most
        # recently released one first) while `client` asks again.
        with other.transaction():
            other.execute("SELECT 1")
            with pytest.raises(psycopg.errors.InvalidSqlStatementName):
                client.execute("SELECT count(*) FROM pg_class WHERE relname = %s", ("users",))
