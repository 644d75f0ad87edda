"""Shared fixtures: a fresh PostgreSQL database per worker, two tenants, two identity providers.

The database is created for this run with two roles (the database wall):
* an *owner* role that runs the migrations and owns every table;
* a plain *runtime* role (no superuser, no BYPASSRLS, owns nothing) that the app connects as.
Superusers bypass row-level security, so no test connects as one; the fixtures do, to create,
empty and drop the databases and roles. The migrations run once per run, into a template
database; each worker (pytest-xdist) gets a copy of it.

Each test starts from empty tables. Tenants are onboarded from the shipped manifests with their
`[sso].issuer` pointed at one `oidc-provider-mock` server each, over real HTTP; once per worker,
after which the rows onboarding wrote are copied back for each test that asks for `tenants`.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
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


# --- one run, several workers -------------------------------------------------------------------
#
# A run (`pytest`, or `pytest -n 2` with pytest-xdist) has one id. Its workers share the two
# roles and one migrated template database; each worker works in a copy of the template of its
# own, so workers never see each other's rows. The process that started the run (xdist's
# controller, or pytest itself without workers) drops the template and the roles at the end.

_RUN_ID = pytest.StashKey[str]()


def pytest_configure(config: pytest.Config) -> None:
    workerinput = getattr(config, "workerinput", None)
    config.stash[_RUN_ID] = workerinput["samenleren_run"] if workerinput else secrets.token_hex(4)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    """xdist: every worker gets the run id of the controller."""
    node.workerinput["samenleren_run"] = node.config.stash[_RUN_ID]


def pytest_sessionfinish(session: pytest.Session) -> None:
    if not hasattr(session.config, "workerinput"):
        _drop_run(session.config.stash[_RUN_ID])


def _names(run: str) -> tuple[str, str, str]:
    """The template database, the owner role and the runtime role of a run."""
    return f"sl_tmpl_{run}", f"sl_owner_{run}", f"sl_app_{run}"


def _drop_run(run: str) -> None:
    """Drop whatever this run left: worker databases (after a crash), the template, the roles."""
    template, owner, runtime = _names(run)
    try:
        admin = psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError:
        return  # no PostgreSQL, so nothing of ours in it
    with admin:
        leftovers = [
            row[0]
            for row in admin.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s OR datname = %s",
                (f"sl_test_{run}_%", template),
            )
        ]
        for name in leftovers:
            admin.execute(
                sql.SQL("ALTER DATABASE {} IS_TEMPLATE false").format(sql.Identifier(name))
            )
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        for role in (runtime, owner):
            admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def _psycopg(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def _ensure_template(run: str) -> None:
    """Create the run's roles and its migrated template database, once: the first worker to take
    the lock builds it, the others wait for it and find it ready."""
    template, owner, runtime = _names(run)
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute("SELECT pg_advisory_lock(hashtext(%s))", (template,))
        try:
            ready = admin.execute(
                "SELECT datistemplate FROM pg_database WHERE datname = %s", (template,)
            ).fetchone()
            if ready and ready[0]:
                return
            for role in (owner, runtime):
                admin.execute(
                    sql.SQL(
                        "CREATE ROLE {} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE"
                    ).format(sql.Identifier(role))
                )
            admin.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(template), sql.Identifier(owner)
                )
            )
            try:
                # PostgreSQL 15 no longer lets every role create in `public`; the owner's
                # database, its rules.
                with psycopg.connect(_url_for("postgres", template), autocommit=True) as db_admin:
                    db_admin.execute(
                        sql.SQL("ALTER SCHEMA public OWNER TO {}").format(sql.Identifier(owner))
                    )
                _migrate(_url_for(owner, template), _url_for(runtime, template))
                admin.execute(
                    sql.SQL("ALTER DATABASE {} IS_TEMPLATE true").format(sql.Identifier(template))
                )
            except BaseException:
                admin.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                        sql.Identifier(template)
                    )
                )
                raise
        finally:
            admin.execute("SELECT pg_advisory_unlock(hashtext(%s))", (template,))


def _migrate(owner_url: str, runtime_url: str) -> None:
    """`flask db upgrade` in this process, on the template (the owner migrates, the runtime role
    gets its grants), with an app of its own that is gone before the template is copied."""
    from flask_migrate import upgrade

    from samenleren import create_app
    from samenleren.core.extensions import db

    application = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": _psycopg(runtime_url),
            "MIGRATIONS_DATABASE_URL": _psycopg(owner_url),
            "SERVER_NAME": None,
        }
    )
    with application.app_context():
        upgrade()
        db.engine.dispose()


@pytest.fixture(scope="session")
def _environment() -> None:
    """The environment every app of the run is built from (tests build more than one)."""
    os.environ.update(
        {
            "SAMENLEREN_ENV": "test",
            "REDIS_URL": TEST_REDIS_URL,
            "SECRET_KEY": secrets.token_urlsafe(48),
        }
    )
    for env in SECRET_ENVS.values():
        os.environ[env] = secrets.token_urlsafe(24)


@pytest.fixture(scope="session")
def database(request: pytest.FixtureRequest, _environment: None) -> Iterator[Database]:
    """This worker's database: a copy of the run's migrated template."""
    run = request.config.stash[_RUN_ID]
    template, owner, runtime = _names(run)
    name = f"sl_test_{run}_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    _ensure_template(run)
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {} OWNER {}").format(
                sql.Identifier(name), sql.Identifier(template), sql.Identifier(owner)
            )
        )
    db = Database(
        name=name,
        owner=owner,
        runtime=runtime,
        owner_url=_url_for(owner, name),
        runtime_url=_url_for(runtime, name),
    )
    # `_empty_tables` finds the database's cleaner here (fixtures asked for in a teardown are
    # deprecated).
    tables = request.config.stash[_TABLES] = _Tables(db)
    try:
        yield db
    finally:
        tables.close()
        del request.config.stash[_TABLES]
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture(scope="session")
def app(database: Database) -> Iterator[Flask]:
    os.environ.update(
        {"DATABASE_URL": database.runtime_url, "MIGRATIONS_DATABASE_URL": database.owner_url}
    )
    from samenleren import create_app

    application = create_app({"SERVER_NAME": None})
    yield application
    with application.app_context():
        from samenleren.core.extensions import db

        db.engine.dispose()


class _Tables:
    """Empties this worker's tables after each test, and puts the onboarded tenants back.

    A superuser connection does it (as the creation of the database does), so that neither
    row-level security nor the audit log's refusal of DELETE stand in the way, and with
    `session_replication_role = replica`, so that foreign keys are not checked row by row: every
    table is emptied at once. DELETE is faster than TRUNCATE on tables this small.
    """

    def __init__(self, database: Database) -> None:
        self.connection = psycopg.connect(_url_for("postgres", database.name), autocommit=True)
        self.connection.execute("SET session_replication_role = replica")
        self.names = [
            row[0]
            for row in self.connection.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'alembic_version' ORDER BY tablename"
            )
        ]
        self._delete = b"".join(
            sql.SQL("DELETE FROM {};").format(sql.Identifier(name)).as_bytes(self.connection)
            for name in self.names
        )

    def empty(self) -> None:
        self.connection.execute(self._delete)

    def copy_out(self) -> dict[str, bytes]:
        """Every row of every table, in COPY's binary format (only tables with rows)."""
        rows = {}
        for name in self.names:
            if not self.connection.execute(
                sql.SQL("SELECT EXISTS (SELECT FROM {})").format(sql.Identifier(name))
            ).fetchone()[0]:
                continue
            query = sql.SQL("COPY {} TO STDOUT (FORMAT binary)").format(sql.Identifier(name))
            with self.connection.cursor().copy(query) as copy:
                rows[name] = b"".join(bytes(chunk) for chunk in copy)
        return rows

    def copy_in(self, rows: dict[str, bytes]) -> None:
        with self.connection.transaction():
            for name, data in rows.items():
                query = sql.SQL("COPY {} FROM STDIN (FORMAT binary)").format(sql.Identifier(name))
                with self.connection.cursor().copy(query) as copy:
                    copy.write(data)

    def close(self) -> None:
        self.connection.close()


_TABLES = pytest.StashKey[_Tables]()


@pytest.fixture(scope="session")
def _tables(request: pytest.FixtureRequest, database: Database) -> _Tables:
    return request.config.stash[_TABLES]


@pytest.fixture(autouse=True)
def _empty_tables(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test that uses the database starts with empty tables and no cached OIDC clients."""
    yield
    if "database" not in request.fixturenames:
        return
    from samenleren.identity import oidc

    oidc._clients.clear()
    request.config.stash[_TABLES].empty()
    if "app" in request.fixturenames:
        forget_change_counters(request.getfixturevalue("app"))


@pytest.fixture
def ctx(app: Flask) -> Iterator[None]:
    """An application context for tests that call services directly."""
    with app.app_context():
        yield


# --- identity providers and tenants -------------------------------------------------------------


def _sign_id_tokens_with_a_key_imported_once() -> None:
    """oidc-provider-mock hands authlib its signing key as a JWK dict for every ID token it
    issues, and importing an RSA private key checks the key (45 ms of CPU here, in the IdP's
    thread of the test process, at every login of every test). Each of its servers keeps one key
    for its lifetime, so the imported key is kept beside it: the tokens are signed as before."""
    from joserfc.jwk import import_key
    from oidc_provider_mock import _app as idp_app

    imported: dict[int, tuple[object, object]] = {}

    def resolve_client_private_key(self, client):
        jwk = idp_app.storage.jwk
        kept = imported.get(id(jwk))
        if kept is None or kept[0] is not jwk:
            kept = imported[id(jwk)] = (jwk, import_key(jwk.as_dict(is_private=True)))
        return kept[1]

    # Fails loudly if a new version of the mock no longer signs this way (instead of quietly
    # signing slowly again).
    assert callable(idp_app.OpenIDCode.resolve_client_private_key)
    idp_app.OpenIDCode.resolve_client_private_key = resolve_client_private_key


_sign_id_tokens_with_a_key_imported_once()


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
    """Onboard the shipped manifest of `slug` with `issuer` (onboarding again with another issuer
    only requests it: `repoint` below approves it)."""
    from samenleren.demo.devidp import with_issuer
    from samenleren.tenants.manifest import load_manifest
    from samenleren.tenants.services import onboard_tenant

    loaded = with_issuer(load_manifest(REPO_ROOT / "tenants" / f"{slug}.toml"), issuer)
    return onboard_tenant(loaded).tenant


def repoint(slug: str, issuer: str):
    """Point an onboarded tenant at `issuer` as an operator would: its manifest again with that
    issuer (which only requests it, `identity.issuers`), and the request approved."""
    from samenleren.core.extensions import db
    from samenleren.core.tenancy import tenant_scope
    from samenleren.identity.issuers import Approver, approve_issuer_change

    tenant = onboard(slug, issuer)
    if tenant.sso_issuer_pending == issuer:
        with tenant_scope(tenant):
            approve_issuer_change(tenant, Approver(label="test"), expected=issuer)
            db.session.commit()
    return tenant


@dataclass(frozen=True)
class TenantRef:
    """What a test needs of a tenant, usable outside any app context."""

    id: uuid.UUID
    slug: str
    idp: IdP


@pytest.fixture(scope="session")
def _onboarded(
    app: Flask, idps: dict[str, IdP], _tables: _Tables
) -> tuple[dict[str, TenantRef], dict[str, bytes]]:
    """Both tenants onboarded once per worker through the service, kept as the rows it wrote.
    The tables are empty here (each test empties them when it ends) and are emptied again."""
    with app.app_context():
        refs = {}
        for slug, idp in idps.items():
            tenant = onboard(slug, idp.issuer)
            refs[slug] = TenantRef(tenant.id, tenant.slug, idp)
    rows = _tables.copy_out()
    _tables.empty()
    return refs, rows


@pytest.fixture
def tenants(
    _onboarded: tuple[dict[str, TenantRef], dict[str, bytes]], _tables: _Tables
) -> dict[str, TenantRef]:
    """Flevoland and Gelderland as onboarding leaves them: the rows it wrote, copied back."""
    refs, rows = _onboarded
    _tables.copy_in(rows)
    return dict(refs)


class Snapshots:
    """Data many tests start from, built once per worker and copied back for each test.

    `restore(name, build)` in a test (through the `snapshot` fixture, on empty tables): the first
    time in a worker it puts the onboarded tenants back, calls `build(tenants)`, keeps every row
    of every table and what `build` returned, and empties the job queues (so the first test sees
    no more than the others); every later time it copies those rows back. Either way the test
    finds the same rows and gets the same value. `build` pushes the application contexts it needs
    (none is active around it: requests of a test client would share it, and its `g`) and
    returns what stays valid across tests (ids, `TenantRef`s, cookie values), never ORM objects.
    """

    def __init__(
        self, app: Flask, onboarded: tuple[dict[str, TenantRef], dict[str, bytes]], tables: _Tables
    ) -> None:
        self.app = app
        self.refs, self.onboarded_rows = onboarded
        self.tables = tables
        self.kept: dict[str, tuple[dict[str, bytes], object]] = {}

    def restore(self, name: str, build):
        assert not self.tables.connection.execute("SELECT EXISTS (SELECT FROM tenants)").fetchone()[
            0
        ], f"snapshot {name!r} needs empty tables: do not combine it with `tenants`"
        if name in self.kept:
            rows, value = self.kept[name]
            self.tables.copy_in(rows)
            return value
        self.tables.copy_in(self.onboarded_rows)
        value = build(dict(self.refs))
        empty_job_queues(self.app)
        self.kept[name] = (self.tables.copy_out(), value)
        return value


@pytest.fixture(scope="session")
def _snapshots(
    app: Flask, _onboarded: tuple[dict[str, TenantRef], dict[str, bytes]], _tables: _Tables
) -> Snapshots:
    return Snapshots(app, _onboarded, _tables)


@pytest.fixture
def snapshot(_snapshots: Snapshots):
    """`snapshot(name, build)`: the rows `build(tenants)` writes on top of the onboarded tenants,
    built once per worker (see `Snapshots`); returns what `build` returned."""
    return _snapshots.restore


def seed_demo(app: Flask, refs: dict[str, TenantRef]) -> dict[str, TenantRef]:
    """Both tenants seeded with the demo data `make run` gives them (`demo.seed.seed_tenant`)."""
    from samenleren.core.extensions import db
    from samenleren.core.tenant import Tenant
    from samenleren.demo.seed import seed_tenant

    with app.app_context():
        for ref in refs.values():
            seed_tenant(db.session.get(Tenant, ref.id))
    return refs


@pytest.fixture
def demo_tenants(app: Flask, snapshot) -> dict[str, TenantRef]:
    """Both tenants with the demo data, seeded once per worker and copied back for each test
    (`snapshot`). Instead of `tenants`, not with it."""
    return dict(snapshot("demo", lambda refs: seed_demo(app, refs)))


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


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once per worker; `sqlite_app` starts from a copy of it."""
    from flask_migrate import upgrade

    from samenleren import create_app
    from samenleren.core.extensions import db

    path = tmp_path_factory.mktemp("sqlite") / "template.sqlite"
    url = f"sqlite:///{path}"
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("SAMENLEREN_ENV", "test")
        application = create_app(
            {"SQLALCHEMY_DATABASE_URI": url, "MIGRATIONS_DATABASE_URL": url, "SERVER_NAME": None}
        )
    with application.app_context():
        upgrade()
        db.engine.dispose()
    return path


@pytest.fixture
def sqlite_app(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _sqlite_template: Path
) -> Iterator[Flask]:
    """The embedded default: an app on a fresh, migrated SQLite file (no row-level security)."""
    monkeypatch.setenv("SAMENLEREN_ENV", "test")
    from samenleren import create_app
    from samenleren.core.extensions import db

    path = tmp_path / "samenleren.sqlite"
    shutil.copyfile(_sqlite_template, path)
    url = f"sqlite:///{path}"
    application = create_app(
        {"SQLALCHEMY_DATABASE_URI": url, "MIGRATIONS_DATABASE_URL": url, "SERVER_NAME": None}
    )
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
def _signal_handlers() -> Iterator[None]:
    """An RQ worker run in this process (`run_pending_jobs`, the tests' SimpleWorkers) installs
    SIGINT and SIGTERM handlers of its own and leaves them when it is done; put back what was
    there, so that a later signal is not taken for a request to stop a worker long gone (which
    raises `StopRequested` in whatever test runs then)."""
    before = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    yield
    for number, handler in before.items():
        if handler is not None and signal.getsignal(number) is not handler:
            signal.signal(number, handler)


@pytest.fixture(autouse=True)
def _empty_job_queues(request: pytest.FixtureRequest) -> Iterator[None]:
    """Jobs a test enqueued but did not run do not leak into the next test (core.jobs)."""
    yield
    if "app" not in request.fixturenames:
        return
    empty_job_queues(request.getfixturevalue("app"))


def forget_change_counters(application: Flask) -> None:
    """Drop this run's change counters and what caches keep under them (core.changes): the
    next test's tenants have the same ids, and its rows are copied in, not written through the
    session, so counters would not tell the kept figures of this test from that one's."""
    from redis.exceptions import RedisError

    from samenleren.core.jobs.runtime import connection

    prefix = application.config.get("SAMENLEREN_QUEUE_PREFIX", "")
    with contextlib.suppress(RedisError):
        redis = connection(application)
        keys = list(redis.scan_iter(match=f"{prefix}cache:*", count=500))
        if keys:
            redis.delete(*keys)


def empty_job_queues(application: Flask) -> None:
    """Drop every queued job of this run: the queues and every registry of them (failed,
    scheduled, started, deferred, finished); their keys all carry the queue name, which has this
    run's prefix."""
    from redis.exceptions import RedisError

    from samenleren.core.jobs.runtime import QUEUES, connection, queue_name

    with contextlib.suppress(RedisError):  # an unavailable Redis must not fail a teardown
        redis = connection(application)
        keys = {
            key
            for name in QUEUES
            for key in redis.scan_iter(match=f"rq:*{queue_name(application, name)}*", count=500)
        }
        if keys:
            redis.delete(*keys)
