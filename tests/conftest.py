"""Shared fixtures: a fresh PostgreSQL database per run, two tenants, two identity providers.

The database is created for this run with two roles (the database wall):
* an *owner* role that runs the migrations and owns every table;
* a plain *runtime* role (no superuser, no BYPASSRLS, owns nothing) that the app connects as.
Superusers bypass row-level security, so no test connects as one except to create and drop
the database and roles.

Each test starts from empty tables. Tenants are onboarded from the shipped manifests with their
`[sso].issuer` pointed at one `oidc-provider-mock` server each, over real HTTP.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from oidc_provider_mock import run_server_in_thread
from psycopg import sql
from werkzeug.serving import make_server

REPO_ROOT = Path(__file__).resolve().parents[1]
ADMIN_URL = os.environ.get("SAMENLEREN_TEST_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test")
TEST_REDIS_URL = os.environ.get("SAMENLEREN_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
SECRET_ENVS = {
    "flevoland": "SAMENLEREN_FLEVOLAND_OIDC_SECRET",
    "gelderland": "SAMENLEREN_GELDERLAND_OIDC_SECRET",
}


@dataclass(frozen=True)
class Database:
    name: str
    owner: str
    runtime: str
    owner_url: str
    runtime_url: str


def _url_for(role: str, database: str) -> str:
    parts = urlsplit(ADMIN_URL)
    host = parts.hostname or "127.0.0.1"
    port = parts.port or 5432
    return f"postgresql://{role}@{host}:{port}/{database}"


@pytest.fixture(scope="session")
def database() -> Iterator[Database]:
    suffix = secrets.token_hex(4)
    db = Database(
        name=f"sl_test_{suffix}",
        owner=f"sl_owner_{suffix}",
        runtime=f"sl_app_{suffix}",
        owner_url=_url_for(f"sl_owner_{suffix}", f"sl_test_{suffix}"),
        runtime_url=_url_for(f"sl_app_{suffix}", f"sl_test_{suffix}"),
    )
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        for role in (db.owner, db.runtime):
            admin.execute(
                sql.SQL(
                    "CREATE ROLE {} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE"
                ).format(sql.Identifier(role))
            )
        admin.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(db.name), sql.Identifier(db.owner)
            )
        )
    # PostgreSQL 15 no longer lets every role create in `public`; the owner's database, its rules.
    with psycopg.connect(_url_for("postgres", db.name), autocommit=True) as admin:
        admin.execute(sql.SQL("ALTER SCHEMA public OWNER TO {}").format(sql.Identifier(db.owner)))
    try:
        yield db
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db.name))
            )
            for role in (db.runtime, db.owner):
                admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


@pytest.fixture(scope="session")
def app(database: Database) -> Iterator[Flask]:
    os.environ.update(
        {
            "SAMENLEREN_ENV": "test",
            "DATABASE_URL": database.runtime_url,
            "MIGRATIONS_DATABASE_URL": database.owner_url,
            "REDIS_URL": TEST_REDIS_URL,
            "SECRET_KEY": secrets.token_urlsafe(48),
        }
    )
    for env in SECRET_ENVS.values():
        os.environ[env] = secrets.token_urlsafe(24)
    from flask_migrate import upgrade

    from samenleren import create_app

    application = create_app({"SERVER_NAME": None})
    with application.app_context():
        upgrade()
    yield application
    with application.app_context():
        from samenleren.core.extensions import db

        db.engine.dispose()


@pytest.fixture(autouse=True)
def _empty_tables(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test that uses the database starts with empty tables and no cached OIDC clients."""
    yield
    if "database" not in request.fixturenames:
        return
    database: Database = request.getfixturevalue("database")
    from samenleren.identity import oidc

    oidc._clients.clear()
    with psycopg.connect(database.owner_url, autocommit=True) as owner:
        tables = [
            row[0]
            for row in owner.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'alembic_version'"
            )
        ]
        if tables:
            owner.execute(
                sql.SQL("TRUNCATE {} CASCADE").format(
                    sql.SQL(", ").join(sql.Identifier(t) for t in tables)
                )
            )


@pytest.fixture
def ctx(app: Flask) -> Iterator[None]:
    """An application context for tests that call services directly."""
    with app.app_context():
        yield


# --- identity providers and tenants -------------------------------------------------------------


@dataclass(frozen=True)
class IdP:
    issuer: str

    def set_user(self, sub: str, **claims: object) -> None:
        response = requests.put(f"{self.issuer}/users/{sub}", json=claims, timeout=5)
        response.raise_for_status()


@pytest.fixture(scope="session")
def idps() -> Iterator[dict[str, IdP]]:
    """One real OIDC provider per tenant: flevoland and gelderland never share one."""
    with run_server_in_thread(port=0) as first, run_server_in_thread(port=0) as second:
        yield {
            "flevoland": IdP(f"http://localhost:{first.server_port}"),
            "gelderland": IdP(f"http://localhost:{second.server_port}"),
        }


#: Who the operator console lets in when `operator_idp` is in use (SAMENLEREN_OPERATORS).
OPERATOR_SUBJECT = "olga.operator"
#: Members of this group at the platform's IdP are operators too (SAMENLEREN_OPERATOR_GROUP).
OPERATOR_GROUP = "SL-Platformbeheer"


@pytest.fixture(scope="session")
def operator_idp(app: Flask) -> Iterator[IdP]:
    """The platform's own OIDC provider for the operator console: a third server, shared with
    no tenant, configured as the environment would (SAMENLEREN_OPERATOR_OIDC_*)."""
    with run_server_in_thread(port=0) as server:
        idp = IdP(f"http://localhost:{server.server_port}")
        settings = {
            "SAMENLEREN_OPERATOR_OIDC_ISSUER": idp.issuer,
            "SAMENLEREN_OPERATOR_OIDC_CLIENT_ID": "samenleren-operator-console",
            "SAMENLEREN_OPERATOR_OIDC_CLIENT_SECRET": secrets.token_urlsafe(24),
            "SAMENLEREN_OPERATORS": (OPERATOR_SUBJECT,),
            "SAMENLEREN_OPERATOR_GROUP": OPERATOR_GROUP,
        }
        previous = {key: app.config[key] for key in settings}
        app.config.update(settings)
        try:
            yield idp
        finally:
            app.config.update(previous)


def operator_login(client: FlaskClient, idp: IdP, sub: str = OPERATOR_SUBJECT, **claims: object):
    """Log `sub` in to the operator console through the platform's IdP; returns the callback's
    answer (302 to the console when let in)."""
    idp.set_user(
        sub, **({"name": sub.replace(".", " ").title(), "email": f"{sub}@example.nl"} | claims)
    )
    start = client.get("/operator/login")
    assert start.status_code == 302, start.status_code
    authorize = requests.post(
        start.headers["Location"], data={"sub": sub}, allow_redirects=False, timeout=5
    )
    assert authorize.status_code == 302, authorize.text
    callback = urlsplit(authorize.headers["Location"])
    return client.get(f"{callback.path}?{callback.query}")


def onboard(slug: str, issuer: str):
    from samenleren.demo.devidp import with_issuer
    from samenleren.tenants.manifest import load_manifest
    from samenleren.tenants.services import onboard_tenant

    loaded = with_issuer(load_manifest(REPO_ROOT / "tenants" / f"{slug}.toml"), issuer)
    return onboard_tenant(loaded).tenant


@dataclass(frozen=True)
class TenantRef:
    """What a test needs of a tenant, usable outside any app context."""

    id: uuid.UUID
    slug: str
    idp: IdP


@pytest.fixture
def tenants(app: Flask, idps: dict[str, IdP]) -> dict[str, TenantRef]:
    with app.app_context():
        refs = {}
        for slug, idp in idps.items():
            tenant = onboard(slug, idp.issuer)
            refs[slug] = TenantRef(tenant.id, tenant.slug, idp)
    return refs


def make_user(
    tenant: TenantRef,
    subject: str,
    *roles: str,
    name: str | None = None,
    manager_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """Create a user with app-given roles inside `tenant`; returns its id. Needs an app context."""
    from samenleren.core.extensions import db
    from samenleren.core.tenancy import tenant_scope
    from samenleren.core.tenant import Tenant
    from samenleren.identity.models import Role, RoleAssignment, RoleSource, User

    tenant_row = db.session.get(Tenant, tenant.id)
    with tenant_scope(tenant_row):
        user = User(
            subject=subject,
            name=name or subject.replace(".", " ").title(),
            email=f"{subject}@{tenant.slug}.example.nl",
            manager_id=manager_id,
        )
        user.role_assignments = [RoleAssignment(role=Role(r), source=RoleSource.APP) for r in roles]
        db.session.add(user)
        db.session.commit()
        return user.id


def login(client: FlaskClient, tenant: TenantRef, sub: str, **claims: object):
    """Log `sub` in at `tenant` through its real IdP; returns the app's answer to the callback."""
    tenant.idp.set_user(sub, **({"name": sub.title(), "email": f"{sub}@example.nl"} | claims))
    start = client.get(f"/{tenant.slug}/auth/login")
    assert start.status_code == 302, start.status_code
    authorize = requests.post(
        start.headers["Location"], data={"sub": sub}, allow_redirects=False, timeout=5
    )
    assert authorize.status_code == 302, authorize.text
    callback = urlsplit(authorize.headers["Location"])
    return client.get(f"{callback.path}?{callback.query}")


def csrf_token(client: FlaskClient, path: str) -> str:
    """The CSRF token from a form on `path` (forms carry it in a hidden field)."""
    import re

    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


@pytest.fixture
def sqlite_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    """The embedded default: an app on a fresh, migrated SQLite file (no row-level security)."""
    monkeypatch.setenv("SAMENLEREN_ENV", "test")
    from flask_migrate import upgrade

    from samenleren import create_app
    from samenleren.core.extensions import db

    url = f"sqlite:///{tmp_path / 'samenleren.sqlite'}"
    application = create_app(
        {"SQLALCHEMY_DATABASE_URI": url, "MIGRATIONS_DATABASE_URL": url, "SERVER_NAME": None}
    )
    with application.app_context():
        upgrade()
    yield application
    with application.app_context():
        db.engine.dispose()


@contextmanager
def serve_wsgi(wsgi_app) -> Iterator[str]:
    """Serve `wsgi_app` over real HTTP on a free loopback port; yields its base URL."""
    server = make_server("127.0.0.1", 0, wsgi_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def english(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pages and service messages in English for tests that assert English texts (Dutch is the
    default language of every tenant). Use with `pytestmark = pytest.mark.usefixtures("english")`.
    """
    monkeypatch.setattr(app.extensions["babel"], "locale_selector", lambda: "en")


@pytest.fixture
def smtp_sink(app: Flask) -> Iterator[object]:
    """A real SMTP server on loopback (tests/mail.py); the app's SMTP_URL points at it."""
    from tests.mail import SmtpSink

    sink = SmtpSink().start()
    previous = app.config["SMTP_URL"]
    app.config["SMTP_URL"] = sink.url
    try:
        yield sink
    finally:
        app.config["SMTP_URL"] = previous
        sink.stop()


@pytest.fixture(autouse=True)
def _empty_job_queues(request: pytest.FixtureRequest) -> Iterator[None]:
    """Jobs a test enqueued but did not run do not leak into the next test (core.jobs)."""
    yield
    if "app" not in request.fixturenames:
        return
    application: Flask = request.getfixturevalue("app")
    from redis.exceptions import RedisError

    from samenleren.core.jobs.runtime import QUEUES, connection, queue_name

    # The queues and every registry of them (failed, scheduled, started, deferred, finished):
    # their keys all carry the queue name, which has this run's prefix.
    with contextlib.suppress(RedisError):  # an unavailable Redis must not fail a teardown
        redis = connection(application)
        keys = {
            key
            for name in QUEUES
            for key in redis.scan_iter(match=f"rq:*{queue_name(application, name)}*", count=500)
        }
        if keys:
            redis.delete(*keys)
