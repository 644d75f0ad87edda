"""Issue 6: programme data exports built in the background (the file kept in the row, behind
row-level security, until it expires).

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from samenleren.core.rls import disable_rls, enable_rls

# revision identifiers, used by Alembic.
revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "exports",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("requested_by_id", sa.Uuid(), nullable=False),
        sa.Column(
            "format",
            sa.Enum("csv", "xlsx", name="exportformat", native_enum=False, length=10),
            nullable=False,
        ),
        sa.Column(
            "datasets",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("locale", sa.String(length=10), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "queued",
                "running",
                "done",
                "failed",
                "expired",
                name="exportstate",
                native_enum=False,
                length=10,
            ),
            nullable=False,
        ),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "requested_by_id"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_exports_tenant_id_requested_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_exports_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_exports")),
    )
    op.create_index("ix_exports_tenant_id_requested_at", "exports", ["tenant_id", "requested_at"])
    op.create_index(
        "ix_exports_tenant_id_state_expires_at",
        "exports",
        ["tenant_id", "state", "expires_at"],
    )
    enable_rls(op, "exports")


def downgrade():
    disable_rls(op, "exports")
    op.drop_index("ix_exports_tenant_id_state_expires_at", table_name="exports")
    op.drop_index("ix_exports_tenant_id_requested_at", table_name="exports")
    op.drop_table("exports")
