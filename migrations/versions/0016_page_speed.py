"""Page speed at national scale: tenant policies evaluated once per statement, and indexes.

Every tenant policy compared `tenant_id` with `NULLIF(current_setting(...))::uuid`, a stable
expression PostgreSQL evaluates again for each row it filters. Wrapped in a scalar subquery it
becomes an InitPlan: evaluated once per statement, and usable as an index condition. Same
meaning: no tenant set is still no rows (samenleren.core.rls).

Revision ID: 0016
Revises: 0012
"""

from alembic import op

from samenleren.core.rls import PER_ROW_TENANT_EXPR, POLICY_NAME, TENANT_EXPR

# revision identifiers, used by Alembic.
revision = "0016"
down_revision = "0012"
branch_labels = None
depends_on = None

#: (name, table, columns) of the indexes the national data set showed missing.
INDEXES: list[tuple[str, str, list[str]]] = []


def _policy_tables() -> list[str]:
    rows = op.get_bind().exec_driver_sql(
        "SELECT tablename FROM pg_policies WHERE schemaname = current_schema() "
        f"AND policyname = '{POLICY_NAME}' ORDER BY tablename"
    )
    return [row[0] for row in rows]


def _set_policies(expression: str) -> None:
    for table in _policy_tables():
        op.execute(
            f"ALTER POLICY {POLICY_NAME} ON {table} "
            f"USING (tenant_id = {expression}) WITH CHECK (tenant_id = {expression})"
        )


def upgrade():
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)
    if op.get_bind().dialect.name == "postgresql":
        _set_policies(TENANT_EXPR)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        _set_policies(PER_ROW_TENANT_EXPR)
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
