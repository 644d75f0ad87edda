"""The employee's rights: personal data packages built with the exports' machinery (what an
export is for, and whose data it holds), and trajectories restricted from further processing.

Revision ID: 0021
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0021"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        "exports",
        sa.Column(
            "kind",
            sa.Enum(
                "programme",
                "my_data",
                "data_request",
                name="exportkind",
                native_enum=False,
                length=20,
            ),
            server_default="programme",
            nullable=False,
        ),
    )
    op.add_column("exports", sa.Column("subject_id", sa.Uuid(), nullable=True))
    op.create_foreign_key(
        op.f("fk_exports_tenant_id_subject_id_users"),
        "exports",
        "users",
        ["tenant_id", "subject_id"],
        ["tenant_id", "id"],
    )
    op.create_index("ix_exports_tenant_id_subject_id", "exports", ["tenant_id", "subject_id"])

    op.add_column(
        "trajectories",
        sa.Column("restricted_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.add_column("trajectories", sa.Column("restricted_by_id", sa.Uuid(), nullable=True))
    op.add_column(
        "trajectories",
        sa.Column("restriction_reason", sa.Text(), server_default="", nullable=False),
    )
    op.create_foreign_key(
        op.f("fk_trajectories_tenant_id_restricted_by_id_users"),
        "trajectories",
        "users",
        ["tenant_id", "restricted_by_id"],
        ["tenant_id", "id"],
    )


def downgrade():
    op.drop_constraint(
        op.f("fk_trajectories_tenant_id_restricted_by_id_users"), "trajectories", type_="foreignkey"
    )
    op.drop_column("trajectories", "restriction_reason")
    op.drop_column("trajectories", "restricted_by_id")
    op.drop_column("trajectories", "restricted_at")
    op.drop_index("ix_exports_tenant_id_subject_id", table_name="exports")
    op.drop_constraint(op.f("fk_exports_tenant_id_subject_id_users"), "exports", type_="foreignkey")
    op.drop_column("exports", "subject_id")
    op.drop_column("exports", "kind")
