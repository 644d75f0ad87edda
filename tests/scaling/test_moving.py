"""Moving a tenant to another database: `tenants export SLUG` / `tenants import FILE`.

The round trip goes from this worker's database into a second one made from the run's migrated
template, both used as the runtime role (row-level security on). Every tenant table's rows are
compared, read as a superuser so that nothing is hidden from the comparison.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from click.testing import Result
from cryptography.fernet import Fernet
from flask import Flask
from psycopg import sql
from sqlalchemy import select

from tests.conftest import _RUN_ID, ADMIN_URL, Database, TenantRef, _names, _url_for


def _psycopg(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


@pytest.fixture(scope="module")
def target_database(request: pytest.FixtureRequest, database: Database) -> Iterator[Database]:
    """A second database at the same schema revision: a copy of the run's migrated template."""
    run = request.config.stash[_RUN_ID]
    template, owner, runtime = _names(run)
    name = f"sl_test_{run}_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_target"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {} OWNER {}").format(
                sql.Identifier(name), sql.Identifier(template), sql.Identifier(owner)
            )
        )
    try:
        yield Database(
            name=name,
            owner=owner,
            runtime=runtime,
            owner_url=_url_for(owner, name),
            runtime_url=_url_for(runtime, name),
        )
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def _app_on(target: Database, **config: object) -> Flask:
    from samenleren import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": _psycopg(target.runtime_url),
            "MIGRATIONS_DATABASE_URL": _psycopg(target.owner_url),
            "SERVER_NAME": None,
            **config,
        }
    )


@pytest.fixture
def target(target_database: Database) -> Iterator[Flask]:
    """An app on the target database, emptied after each test."""
    from samenleren.core.extensions import db

    application = _app_on(target_database)
    yield application
    with application.app_context():
        db.engine.dispose()
    with psycopg.connect(_url_for("postgres", target_database.name), autocommit=True) as admin:
        admin.execute("SET session_replication_role = replica")
        admin.execute("DELETE FROM tenants")
        for (table,) in admin.execute(
            "SELECT table_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND column_name = 'tenant_id'"
        ).fetchall():
            admin.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(table)))


@pytest.fixture
def seeded(app: Flask, demo_tenants: dict[str, TenantRef]) -> dict[str, TenantRef]:
    """Both tenants with demo data (seeded once per worker, `demo_tenants`); Flevoland with an
    SSO client secret stored (encrypted)."""
    from samenleren.core.extensions import db
    from samenleren.core.tenant import Tenant
    from samenleren.identity.encryption import encrypt_secret

    with app.app_context():
        db.session.get(
            Tenant, demo_tenants["flevoland"].id
        ).sso_client_secret_encrypted = encrypt_secret("flevo-client-secret")
        db.session.commit()
    return demo_tenants


def run(app: Flask, *args: str) -> Result:
    return app.test_cli_runner().invoke(args=["tenants", *args])


def snapshot(database_name: str, tenant: TenantRef) -> dict[str, list[str]]:
    """Every row of the tenant, per table, as JSON text (as a superuser: nothing hidden)."""
    with psycopg.connect(_url_for("postgres", database_name)) as admin:
        tables = [
            row[0]
            for row in admin.execute(
                "SELECT table_name FROM information_schema.columns "
                "WHERE table_schema = 'public' AND column_name = 'tenant_id' ORDER BY 1"
            )
        ]
        rows = {
            table: sorted(
                row[0]
                for row in admin.execute(
                    sql.SQL("SELECT row_to_json(t)::text FROM {} t WHERE tenant_id = %s").format(
                        sql.Identifier(table)
                    ),
                    (tenant.id,),
                )
            )
            for table in tables
        }
        rows["tenants"] = [
            admin.execute(
                "SELECT row_to_json(t)::text FROM tenants t WHERE id = %s", (tenant.id,)
            ).fetchone()[0]
        ]
    return rows


def test_a_tenant_moves_to_another_database_row_for_row(
    app: Flask, target: Flask, target_database: Database, database: Database, seeded, tmp_path
) -> None:
    flevoland, gelderland = seeded["flevoland"], seeded["gelderland"]
    files = {}
    for ref in (gelderland, flevoland):
        files[ref.slug] = tmp_path / f"{ref.slug}.tenant.gz"
        result = run(app, "export", ref.slug, "-o", str(files[ref.slug]))
        assert result.exit_code == 0, result.output
        assert f"{ref.slug}: " in result.output and " rows written to " in result.output
    source = {ref.slug: snapshot(database.name, ref) for ref in (flevoland, gelderland)}
    assert sum(1 for rows in source["flevoland"].values() if rows) > 25  # most tables have rows

    assert run(target, "import", str(files["gelderland"])).exit_code == 0
    before = snapshot(target_database.name, gelderland)
    result = run(target, "import", str(files["flevoland"]))
    assert result.exit_code == 0, result.output
    assert "flevoland: " in result.output and "rows imported" in result.output

    assert snapshot(target_database.name, flevoland) == source["flevoland"]
    assert snapshot(target_database.name, gelderland) == before == source["gelderland"]
    # The stored SSO secret came along encrypted and reads with this installation's key.
    assert "cannot be decrypted" not in result.output
    from samenleren.core.extensions import db
    from samenleren.core.tenant import Tenant
    from samenleren.identity.encryption import decrypt_secret

    with target.app_context():
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == "flevoland"))
        assert decrypt_secret(tenant.sso_client_secret_encrypted) == "flevo-client-secret"
    # The source is unchanged by the export.
    assert snapshot(database.name, flevoland) == source["flevoland"]


def test_the_export_holds_no_secret_in_plain_text(app: Flask, seeded, tmp_path) -> None:
    path = tmp_path / "flevoland.tenant.gz"
    assert run(app, "export", "flevoland", "-o", str(path)).exit_code == 0
    assert b"flevo-client-secret" not in gzip.decompress(path.read_bytes())


def test_under_another_encryption_key_the_secret_is_reported_unreadable(
    app: Flask, target_database: Database, target: Flask, seeded, tmp_path
) -> None:
    from samenleren.core.extensions import db

    path = tmp_path / "flevoland.tenant.gz"
    assert run(app, "export", "flevoland", "-o", str(path)).exit_code == 0
    other_key = _app_on(
        target_database, SAMENLEREN_SECRET_ENCRYPTION_KEYS=[Fernet.generate_key().decode()]
    )
    try:
        result = run(other_key, "import", str(path))
    finally:
        with other_key.app_context():
            db.engine.dispose()
    assert result.exit_code == 0, result.output
    assert "SSO client secret cannot be decrypted" in result.output


def _rewrite(source: Path, target: Path, change) -> None:
    lines = gzip.decompress(source.read_bytes()).splitlines(keepends=True)
    target.write_bytes(gzip.compress(b"".join(change(lines))))


def test_the_import_refuses_with_one_line(
    app: Flask, target: Flask, seeded, tmp_path: Path
) -> None:
    import json

    good = tmp_path / "flevoland.tenant.gz"
    assert run(app, "export", "flevoland", "-o", str(good)).exit_code == 0

    def refused(path: Path, message: str) -> None:
        result = run(target, "import", str(path))
        assert result.exit_code == 1, result.output
        assert message in result.output
        assert result.output.count("\n") == 1, result.output

    def other_revision(lines):
        manifest = json.loads(lines[0])
        manifest["schema_revision"] = "0001"
        return [json.dumps(manifest).encode() + b"\n", *lines[1:]]

    _rewrite(good, tmp_path / "old.gz", other_revision)
    refused(tmp_path / "old.gz", "schema revision 0001, this database is at")

    def one_value_changed(lines):
        name, tab, row = lines[-1].partition(b"\t")
        return [*lines[:-1], name + tab + row.replace(b"0", b"1", 1)]

    _rewrite(good, tmp_path / "changed.gz", one_value_changed)
    refused(tmp_path / "changed.gz", "corrupt: table")
    _rewrite(good, tmp_path / "short.gz", lambda lines: lines[:-1])
    refused(tmp_path / "short.gz", "corrupt: table")
    (tmp_path / "garbage.gz").write_bytes(good.read_bytes()[:200])
    refused(tmp_path / "garbage.gz", "not a readable tenant export")
    # Nothing of the refused files was written.
    with target.app_context():
        from samenleren.core.extensions import db
        from samenleren.core.tenant import Tenant

        assert db.session.scalars(select(Tenant)).all() == []
    assert run(target, "import", str(good)).exit_code == 0
    refused(good, "a tenant 'flevoland' with this slug or id exists already")
    # Exporting into the source's own database is refused the same way.
    refused_here = run(app, "import", str(good))
    assert refused_here.exit_code == 1 and "exists already" in refused_here.output


def test_an_unknown_slug_is_refused(app: Flask, tenants, tmp_path: Path) -> None:
    result = run(app, "export", "atlantis", "-o", str(tmp_path / "a.gz"))
    assert result.exit_code == 1
    assert "no tenant with slug 'atlantis'" in result.output
    assert not (tmp_path / "a.gz").exists()
