"""The operator console: server-side login sessions of platform operators (no tenant, no RLS).

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    # Operators belong to no tenant, like `platform_operators` (0001): no tenant_id, no policy.
    op.create_table(
        "operator_login_sessions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("operator_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("by_group", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["platform_operators.id"],
            name=op.f("fk_operator_login_sessions_operator_id_platform_operators"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operator_login_sessions")),
    )
    op.create_index(
        "ix_operator_login_sessions_operator_id", "operator_login_sessions", ["operator_id"]
    )


def downgrade():
    op.drop_index("ix_operator_login_sessions_operator_id", table_name="operator_login_sessions")
    op.drop_table("operator_login_sessions")
