"""Row-level security DDL for tenant-owned tables (wall 3), used by the Alembic migrations.

The policy compares `tenant_id` with the transaction-local setting `app.tenant_id`. An unset
setting reads as '' (not NULL) once a transaction that set it has ended, and `''::uuid` raises, so
the policy goes through NULLIF: no tenant set means no rows, never an error and never all rows.
`FORCE` makes the policy apply to the table's owner too.
"""

from __future__ import annotations

POLICY_NAME = "tenant_isolation"
#: A scalar subquery, so PostgreSQL evaluates the setting once per statement (an InitPlan whose
#: value an index scan can use) instead of once per row it filters (migration 0016).
TENANT_EXPR = "(SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid)"
#: The form of the policies before migration 0016 (its downgrade puts it back).
PER_ROW_TENANT_EXPR = "NULLIF(current_setting('app.tenant_id', true), '')::uuid"
_TENANT_EXPR = TENANT_EXPR


def enable_rls_sql(table: str) -> list[str]:
    """The statements that put `table` behind the tenant policy."""
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY {POLICY_NAME} ON {table} "
        f"USING (tenant_id = {_TENANT_EXPR}) WITH CHECK (tenant_id = {_TENANT_EXPR})",
    ]


def disable_rls_sql(table: str) -> list[str]:
    return [
        f"DROP POLICY IF EXISTS {POLICY_NAME} ON {table}",
        f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY",
    ]


def enable_rls(op, table: str) -> None:
    """Call from a migration after creating a tenant-owned table."""
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in enable_rls_sql(table):
        op.execute(statement)


def disable_rls(op, table: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in disable_rls_sql(table):
        op.execute(statement)
