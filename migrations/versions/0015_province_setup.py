"""A new province finishes its own onboarding: the first programme administrators named before
their first login (`tenants.first_admins`), and the one-time link the province's IT contact
enters the client secret with (`tenants.sso_setup_token_hash`, `sso_setup_token_expires_at`).
An edition's minimum number of learners (`editions.minimum`) and its last day to apply
(`editions.apply_until`), and an index on the steps' completion
time, for the programme administrator's worklist.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "first_admins",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=False,
                server_default=sa.text("'[]'"),
            )
        )
        batch_op.add_column(sa.Column("sso_setup_token_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("sso_setup_token_expires_at", sa.DateTime(timezone=True), nullable=True)
        )

    with op.batch_alter_table("editions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("minimum", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("apply_until", sa.Date(), nullable=True))
    op.create_index(
        "ix_step_instances_tenant_id_completed_at",
        "step_instances",
        ["tenant_id", "completed_at"],
    )


def downgrade():
    op.drop_index("ix_step_instances_tenant_id_completed_at", table_name="step_instances")
    with op.batch_alter_table("editions", schema=None) as batch_op:
        batch_op.drop_column("apply_until")
        batch_op.drop_column("minimum")
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.drop_column("sso_setup_token_expires_at")
        batch_op.drop_column("sso_setup_token_hash")
        batch_op.drop_column("first_admins")
