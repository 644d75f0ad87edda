"""The per-process cache of tenant resolution (core.tenant, core.web): no tenant query on a
request whose tenant is cached, and any change to the tenant's row - from this process, another
process or by hand - is seen by the next request, with no extra round trip."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from flask import Flask

from samenleren.core import tenant as tenant_cache
from samenleren.core.extensions import db
from samenleren.core.tenant import Tenant, TenantStatus
from samenleren.tenants.services import set_tenant_status
from tests.conftest import Database, TenantRef
from tests.test_isolation import QueryCounter


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    tenant_cache.forget_tenant()
    yield
    tenant_cache.forget_tenant()


def _tenant_reads(statements: list[str]) -> list[str]:
    return [s for s in statements if "FROM tenants" in s and "tenants.slug" in s]


def test_a_cached_tenant_costs_no_query_of_its_own(
    app: Flask, tenants: dict[str, TenantRef]
) -> None:
    client = app.test_client()
    counter = QueryCounter(app)
    with counter.counting() as first:
        assert client.get("/flevoland/").status_code == 200
    assert len(_tenant_reads(first)) == 1
    with counter.counting() as second:
        page = client.get("/flevoland/")
    assert page.status_code == 200
    assert "Provincie Flevoland" in page.get_data(as_text=True)
    assert _tenant_reads(second) == []
    # The setting of the RLS tenant carries the version check: one statement, not two.
    assert len(second) == len(first) - 1


def test_a_change_by_another_process_is_seen_by_the_next_request(
    app: Flask, tenants: dict[str, TenantRef], database: Database
) -> None:
    client = app.test_client()
    assert "Provincie Flevoland" in client.get("/flevoland/").get_data(as_text=True)
    # Another connection (another process, a migration, an operator by hand): only the row
    # changes, nothing tells this process.
    with psycopg.connect(database.owner_url) as other:
        other.execute("UPDATE tenants SET name = 'Provincie Nieuw Land' WHERE slug = 'flevoland'")
    page = client.get("/flevoland/").get_data(as_text=True)
    assert "Provincie Nieuw Land" in page
    assert "Provincie Flevoland" not in page


def test_suspending_and_deleting_a_cached_tenant_answer_404_at_once(
    app: Flask, tenants: dict[str, TenantRef], database: Database
) -> None:
    client = app.test_client()
    assert client.get("/flevoland/").status_code == 200
    assert client.get("/gelderland/").status_code == 200
    with app.app_context():
        set_tenant_status("flevoland", TenantStatus.SUSPENDED)
        db.session.commit()
    assert client.get("/flevoland/").status_code == 404
    assert client.get("/gelderland/").status_code == 200
    with app.app_context():
        set_tenant_status("flevoland", TenantStatus.ACTIVE)
        db.session.commit()
    assert client.get("/flevoland/").status_code == 200
    with psycopg.connect(database.owner_url) as other:
        other.execute("UPDATE tenants SET slug = 'flevoland-oud' WHERE slug = 'flevoland'")
    assert client.get("/flevoland/").status_code == 404
    assert client.get("/flevoland-oud/").status_code == 200


def test_a_change_made_in_a_request_never_reaches_the_cache(
    app: Flask, tenants: dict[str, TenantRef]
) -> None:
    from flask import g

    client = app.test_client()
    client.get("/flevoland/")
    with app.test_request_context("/flevoland/"):
        app.preprocess_request()
        tenant: Tenant = g.tenant
        tenant.terminology.setdefault("nl", {})["coach"] = {"one": "Maatje"}
        tenant.name = "Niet bewaard"
        db.session.rollback()
    page = client.get("/flevoland/").get_data(as_text=True)
    assert "Niet bewaard" not in page
    _version, values = tenant_cache._cache["flevoland"]
    assert values["terminology"] == {} and values["name"] == "Provincie Flevoland"


def test_without_postgresql_the_tenant_is_read_every_time(sqlite_app: Flask) -> None:
    from samenleren.demo.devidp import with_issuer
    from samenleren.tenants.manifest import load_manifest
    from samenleren.tenants.services import onboard_tenant
    from tests.conftest import REPO_ROOT

    with sqlite_app.app_context():
        onboard_tenant(
            with_issuer(load_manifest(REPO_ROOT / "tenants" / "flevoland.toml"), "http://idp")
        )
    client = sqlite_app.test_client()
    assert client.get("/flevoland/").status_code == 200
    assert tenant_cache._cache == {}
    with sqlite_app.app_context():
        db.session.execute(db.update(Tenant).values(name="Ander Land"))
        db.session.commit()
    assert "Ander Land" in client.get("/flevoland/").get_data(as_text=True)


# --- the pool pings no connection in use: a dead one costs no failed request ---------------------


def _end_runtime_connections(database: Database) -> int:
    """What a restart of the server does to the app's pooled connections."""
    from tests.conftest import ADMIN_URL

    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        return len(
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE usename = %s AND datname = %s",
                (database.runtime, database.name),
            ).fetchall()
        )


def test_a_connection_the_server_ended_is_replaced_without_an_error(
    app: Flask, tenants: dict[str, TenantRef], database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_pre_ping"] is False
    try:
        _requests_survive_ended_connections(app, database, monkeypatch)
    finally:
        # No connection this test ended stays in the pool for the tests after it.
        with app.app_context():
            db.engine.dispose()


def _requests_survive_ended_connections(
    app: Flask, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from samenleren.core import db as core_db

    client = app.test_client()
    assert client.get("/flevoland/").status_code == 200
    # Used a moment ago, so not pinged: the tenant request runs its first statement again.
    assert _end_runtime_connections(database) >= 1
    assert client.get("/flevoland/").status_code == 200  # the tenant was cached
    tenant_cache.forget_tenant()
    assert _end_runtime_connections(database) >= 1
    assert client.get("/flevoland/").status_code == 200  # the tenant was read
    # Idle for a while: the checkout pings it and the pool replaces it (any page).
    monkeypatch.setattr(core_db, "PING_AFTER_IDLE", 0.0)
    assert _end_runtime_connections(database) >= 1
    assert client.get("/readyz").status_code == 200
