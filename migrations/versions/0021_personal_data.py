"""The employee's rights: personal data packages built with the exports' machinery (what an
export is for, and whose data it holds), and trajectories restricted from further processing.

Revision ID: 0021
Revises: 0023
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0021"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("exports", schema=None) as batch_op:
        batch_op.add_column(
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
            )
        )
        batch_op.add_column(sa.Column("subject_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_exports_tenant_id_subject_id_users"),
            "users",
            ["tenant_id", "subject_id"],
            ["tenant_id", "id"],
        )
        batch_op.create_index("ix_exports_tenant_id_subject_id", ["tenant_id", "subject_id"])
    with op.batch_alter_table("trajectories", schema=None) as batch_op:
        batch_op.add_column(sa.Column("restricted_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("restricted_by_id", sa.Uuid(), nullable=True))
        batch_op.add_column(
            sa.Column("restriction_reason", sa.Text(), server_default="", nullable=False)
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_trajectories_tenant_id_restricted_by_id_users"),
            "users",
            ["tenant_id", "restricted_by_id"],
            ["tenant_id", "id"],
        )


def downgrade():
    with op.batch_alter_table("trajectories", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_trajectories_tenant_id_restricted_by_id_users"), type_="foreignkey"
        )
        batch_op.drop_column("restriction_reason")
        batch_op.drop_column("restricted_by_id")
        batch_op.drop_column("restricted_at")
    with op.batch_alter_table("exports", schema=None) as batch_op:
        batch_op.drop_index("ix_exports_tenant_id_subject_id")
        batch_op.drop_constraint(
            batch_op.f("fk_exports_tenant_id_subject_id_users"), type_="foreignkey"
        )
        batch_op.drop_column("subject_id")
        batch_op.drop_column("kind")
