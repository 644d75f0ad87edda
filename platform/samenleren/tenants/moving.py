"""Moving one tenant to another database: `tenants export SLUG` and `tenants import FILE`.

The file is gzipped JSON lines. The first line is the manifest: format, the schema revision
(Alembic's), the tenant (id, slug), and per table its row count and the SHA-256 of its lines.
Then the tenants row, then every tenant table's rows, one line each (`row_to_json`, so every
PostgreSQL type comes back exactly through `json_populate_recordset`), tables in foreign-key
order.

Both run as the application's runtime role with row-level security on: the export sets the
tenant for its transaction and reads only what the policies let through; the import inserts in
one transaction with the new tenant set, so the policies' WITH CHECK refuses any row of another
tenant. The import refuses - before writing anything - a file whose checksums or counts do not
match, a schema revision other than the database's, and a tenant whose slug or id exists.

Secrets travel as stored: the SSO client secret encrypted with the installation's key
(SAMENLEREN_SECRET_ENCRYPTION_KEY) and only hashes of tokens (SCIM, calendar feeds, sign-in
links). The target must have the same key - or the source's key as an extra, older key, then
`flask --app samenleren sso reencrypt-secrets` - or the secret cannot be read there; the import
says so (`ImportResult.secret_readable`). Rows of shared tables (the model library) are not
moved: a template adopted from a library entry the target lacks is refused.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Table, bindparam, text

from samenleren.core.extensions import db

FORMAT = "samenleren-tenant"
VERSION = 1


class MoveError(RuntimeError):
    """The tenant cannot be exported or imported; the message says why, in one line."""


@dataclass(frozen=True)
class ImportResult:
    slug: str
    rows: int
    secret_readable: bool | None  #: None: no SSO secret stored


def tenant_tables() -> list[Table]:
    """Every table with a tenant_id column, parents before children (foreign-key order)."""
    return [table for table in db.metadata.sorted_tables if "tenant_id" in table.c]


def schema_revision() -> str:
    """The database's Alembic revision. Only the owner role may read `alembic_version` (the
    runtime role has no grant on it), so this asks through MIGRATIONS_DATABASE_URL."""
    from flask import current_app
    from sqlalchemy import create_engine, pool
    from sqlalchemy.exc import DBAPIError

    engine = create_engine(current_app.config["MIGRATIONS_DATABASE_URL"], poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    except DBAPIError:
        raise MoveError(
            "cannot read the schema revision: set MIGRATIONS_DATABASE_URL to the owner role"
        ) from None
    finally:
        engine.dispose()


def _set_tenant(tenant_id: uuid.UUID) -> None:
    db.session.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant_id)})


def _line(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def export_tenant(slug: str, target: IO[bytes]) -> dict:
    """Write tenant `slug` to `target` (a binary file); returns the manifest."""
    if db.session.get_bind().dialect.name != "postgresql":
        raise MoveError("moving a tenant needs PostgreSQL")
    tenant_id = db.session.execute(
        text("SELECT id FROM tenants WHERE slug = :slug"), {"slug": slug}
    ).scalar()
    if tenant_id is None:
        raise MoveError(f"no tenant with slug {slug!r}")
    _set_tenant(tenant_id)  # row-level security: this transaction reads this tenant only
    sections: list[tuple[str, list[bytes]]] = [
        ("tenants", _rows("SELECT row_to_json(t) FROM tenants t WHERE id = :id", tenant_id))
    ]
    for table in tenant_tables():
        # The policy already restricts to the tenant; the WHERE says so for the reader.
        query = f"SELECT row_to_json(t) FROM {table.name} t WHERE tenant_id = :id"
        sections.append((table.name, _rows(query, tenant_id)))
    db.session.rollback()
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "schema_revision": schema_revision(),
        "tenant": {"id": str(tenant_id), "slug": slug},
        "tables": [
            {
                "name": name,
                "rows": len(lines),
                "sha256": hashlib.sha256(b"".join(lines)).hexdigest(),
            }
            for name, lines in sections
        ],
    }
    db.session.rollback()
    with gzip.GzipFile(fileobj=target, mode="wb") as out:
        out.write(_line(manifest))
        for name, lines in sections:
            for row in lines:
                out.write(_line(name)[:-1] + b"\t" + row)
    return manifest


def _rows(query: str, tenant_id: uuid.UUID) -> list[bytes]:
    rows: list[Any] = list(db.session.execute(text(query), {"id": tenant_id}).scalars())
    return [_line(row) for row in rows]


def read_file(path: str | Path) -> tuple[dict, dict[str, list[dict]]]:
    """The manifest and the rows per table of an export, checked against its manifest."""
    try:
        with gzip.open(path, "rb") as source:
            manifest = json.loads(source.readline())
            lines: dict[str, list[bytes]] = {}
            for line in source:
                name, _, row = line.partition(b"\t")
                lines.setdefault(json.loads(name), []).append(row)
    except (OSError, EOFError, zlib.error, ValueError, UnicodeDecodeError) as exc:
        raise MoveError(f"{path}: not a readable tenant export ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise MoveError(f"{path}: not a tenant export")
    if manifest.get("version") != VERSION:
        raise MoveError(f"{path}: export format {manifest.get('version')}, expected {VERSION}")
    expected = {entry["name"]: entry for entry in manifest["tables"]}
    if set(lines) - set(expected):
        raise MoveError(f"{path}: corrupt: rows of tables the manifest does not list")
    for name, entry in expected.items():
        rows = lines.get(name, [])
        if (
            len(rows) != entry["rows"]
            or hashlib.sha256(b"".join(rows)).hexdigest() != entry["sha256"]
        ):
            raise MoveError(f"{path}: corrupt: table {name} does not match its checksum")
    return manifest, {name: [json.loads(row) for row in rows] for name, rows in lines.items()}


def import_tenant(path: str | Path) -> ImportResult:
    """Insert the tenant of export `path`, in one transaction (committed here)."""
    if db.session.get_bind().dialect.name != "postgresql":
        raise MoveError("moving a tenant needs PostgreSQL")
    manifest, rows = read_file(path)
    slug, tenant_id = manifest["tenant"]["slug"], uuid.UUID(manifest["tenant"]["id"])
    revision = schema_revision()
    if manifest["schema_revision"] != revision:
        raise MoveError(
            f"{path}: schema revision {manifest['schema_revision']}, this database is at "
            f"{revision}; upgrade the older one first (flask --app samenleren db upgrade)"
        )
    known = {table.name for table in tenant_tables()} | {"tenants"}
    if set(rows) - known:
        raise MoveError(f"{path}: tables this installation does not have: {set(rows) - known}")
    existing = db.session.execute(
        text("SELECT slug FROM tenants WHERE slug = :slug OR id = :id"),
        {"slug": slug, "id": tenant_id},
    ).scalar()
    if existing is not None:
        raise MoveError(f"a tenant {existing!r} with this slug or id exists already")
    _check_library(path, rows.get("process_templates", []))
    try:
        _set_tenant(tenant_id)
        total = 0
        for name in ["tenants", *(table.name for table in tenant_tables())]:
            batch = rows.get(name, [])
            for chunk in _chunks(batch, 1000):
                db.session.execute(
                    text(
                        f"INSERT INTO {name} SELECT * FROM "
                        f"json_populate_recordset(NULL::{name}, CAST(:rows AS json))"
                    ),
                    {"rows": json.dumps(chunk)},
                )
            total += len(batch)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return ImportResult(slug=slug, rows=total, secret_readable=_secret_readable(rows["tenants"]))


def _chunks(rows: list[dict], size: int) -> Iterator[list[dict]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _check_library(path: str | Path, templates: list[dict]) -> None:
    wanted = {row["adopted_from_id"] for row in templates if row.get("adopted_from_id")}
    if not wanted:
        return
    present: set[str] = set(
        db.session.execute(
            text(
                "SELECT CAST(id AS text) FROM library_entries WHERE CAST(id AS text) IN :ids"
            ).bindparams(bindparam("ids", expanding=True)),
            {"ids": sorted(wanted)},
        ).scalars()
    )
    if wanted - present:
        raise MoveError(
            f"{path}: templates adopted from library entries this database lacks: "
            f"{', '.join(sorted(wanted - present))}"
        )


def _secret_readable(tenant_rows: list[dict]) -> bool | None:
    from samenleren.identity.encryption import SecretUnreadable, decrypt_secret

    stored = tenant_rows[0].get("sso_client_secret_encrypted") if tenant_rows else None
    if not stored:
        return None
    try:
        decrypt_secret(stored)
    except SecretUnreadable:
        return False
    return True


__all__ = ["ImportResult", "MoveError", "export_tenant", "import_tenant", "read_file"]
