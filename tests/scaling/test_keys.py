"""Every key of a tenant table includes `tenant_id`: the schema can be distributed by tenant.

Citus (PostgreSQL sharded by a distribution column) requires that a distributed table's
primary key and unique constraints include the distribution column, and that foreign keys
between distributed tables include it on both sides (so each is checked within one shard).
This reads the migrated database's own catalog - what PostgreSQL, and Citus, would see - as the
schema owner: every table with a `tenant_id` column is a tenant table, to be distributed by
`tenant_id`; every other table must be on `SHARED_TABLES` with the reason it is not. Foreign
keys from a tenant table to a shared table are allowed (a distributed table may reference a
reference table); the other way round is not. docs/scaling.md.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from tests.conftest import Database

#: Tables without tenant_id: in Citus a reference table (copied to every node) or a local one.
SHARED_TABLES = {
    "tenants": "the tenancy root, one row per tenant: a reference table (every tenant table "
    "references it by tenant_id)",
    "library_entries": "the platform's shared model library of process templates: a reference "
    "table (a tenant's template may say it was adopted from an entry)",
    "platform_operators": "the operators of the platform console, no tenant's data: a reference "
    "or coordinator-local table",
    "operator_login_sessions": "the operators' logins: with platform_operators",
    "alembic_version": "the migration revision: Alembic's own, on the coordinator",
}


@pytest.fixture(scope="module")
def catalog(database: Database) -> Iterator[psycopg.Connection]:
    with psycopg.connect(database.owner_url, autocommit=True) as connection:
        yield connection


def _tables(catalog: psycopg.Connection) -> dict[str, bool]:
    """Every table of the schema, and whether it has a tenant_id column."""
    rows = catalog.execute(
        """
        SELECT c.relname, EXISTS (
            SELECT FROM pg_attribute a
            WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
        """
    )
    return dict(rows.fetchall())


def _constraints(catalog: psycopg.Connection, kinds: str) -> list[tuple]:
    """(table, name, kind, columns, referenced table, referenced columns) per constraint."""
    return catalog.execute(
        """
        SELECT t.relname, con.conname, con.contype,
               ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(n, i)
                     JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n
                     ORDER BY k.i),
               r.relname,
               ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(n, i)
                     JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n
                     ORDER BY k.i)
        FROM pg_constraint con
        JOIN pg_class t ON t.oid = con.conrelid
        JOIN pg_namespace n ON n.oid = t.relnamespace
        LEFT JOIN pg_class r ON r.oid = con.confrelid
        WHERE n.nspname = 'public' AND con.contype = ANY(%s)
        ORDER BY t.relname, con.conname
        """,
        (list(kinds),),
    ).fetchall()


def test_every_table_without_tenant_id_is_known_to_be_shared(catalog):
    tables = _tables(catalog)
    assert {name for name, tenant in tables.items() if not tenant} == set(SHARED_TABLES)
    assert sum(tables.values()) > 30  # the tenant tables were found at all


def test_every_primary_key_of_a_tenant_table_starts_with_tenant_id(catalog):
    tables = _tables(catalog)
    keys = {table: columns for table, _, _, columns, _, _ in _constraints(catalog, "p")}
    tenant_tables = {name for name, tenant in tables.items() if tenant}
    assert tenant_tables <= set(keys), (
        f"tenant tables without a primary key: {tenant_tables - set(keys)}"
    )
    wrong = {table: keys[table] for table in tenant_tables if keys[table][0] != "tenant_id"}
    assert wrong == {}


def test_every_unique_constraint_and_unique_index_of_a_tenant_table_includes_tenant_id(catalog):
    tables = _tables(catalog)
    wrong = [
        (table, name, columns)
        for table, name, _, columns, _, _ in _constraints(catalog, "ux")
        if tables[table] and "tenant_id" not in columns
    ]
    # Unique indexes that are not constraints (partial or expression indexes) count as well.
    indexes = catalog.execute(
        """
        SELECT t.relname, i.relname, pg_get_indexdef(x.indexrelid),
               ARRAY(SELECT a.attname FROM unnest(x.indkey) k(n)
                     JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.n)
        FROM pg_index x
        JOIN pg_class t ON t.oid = x.indrelid
        JOIN pg_class i ON i.oid = x.indexrelid
        JOIN pg_namespace n ON n.oid = t.relnamespace
        WHERE n.nspname = 'public' AND x.indisunique
        """
    ).fetchall()
    wrong += [
        (table, name, definition)
        for table, name, definition, columns in indexes
        if tables[table] and "tenant_id" not in columns
    ]
    assert wrong == []


def test_every_foreign_key_between_tenant_tables_includes_tenant_id_on_both_sides(catalog):
    tables = _tables(catalog)
    wrong = []
    for table, name, _, columns, referenced, referenced_columns in _constraints(catalog, "f"):
        if tables[table] and tables[referenced]:
            pairs = dict(zip(columns, referenced_columns, strict=True))
            if pairs.get("tenant_id") != "tenant_id":
                wrong.append((table, name, columns, referenced, referenced_columns))
        elif not tables[table] and tables[referenced]:
            wrong.append((table, name, "a shared table refers to a tenant table", referenced))
        elif tables[table]:
            # From a tenant table to a shared one: allowed (a reference table); known ones only.
            assert referenced in SHARED_TABLES, (table, name, referenced)
    assert wrong == []
