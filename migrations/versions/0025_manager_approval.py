"""The manager's approval of an application, when the edition's process template asks for it:
the answer (pending, approved, discuss) and when it was given. Empty: not asked (as before).

Revision ID: 0025
Revises: 0024
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("enrolments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "manager_approval",
                sa.Enum(
                    "pending",
                    "approved",
                    "discuss",
                    name="managerapproval",
                    native_enum=False,
                    length=12,
                ),
                nullable=True,
            )
        )
        batch_op.add_column(
            sa.Column("manager_answered_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade():
    with op.batch_alter_table("enrolments", schema=None) as batch_op:
        batch_op.drop_column("manager_answered_at")
        batch_op.drop_column("manager_approval")
