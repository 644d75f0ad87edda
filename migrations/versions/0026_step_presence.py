"""Who took part in a conversation step: the roles present when it was closed (the programme
report's "manager present at the intake and the evaluation"). Empty: not recorded (closed
before this was asked).

Revision ID: 0026
Revises: 0025
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("step_instances", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "present_roles",
                sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
                nullable=True,
            )
        )


def downgrade():
    with op.batch_alter_table("step_instances", schema=None) as batch_op:
        batch_op.drop_column("present_roles")
