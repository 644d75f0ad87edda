"""A process template per training, and per edition overriding it: the short-course model can be
used next to the standard one without becoming everyone's default. Empty: the tenant's default
template (as before).

Revision ID: 0019
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade():
    for table in ("trainings", "editions"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("process_template_id", sa.Uuid(), nullable=True))
            batch_op.create_foreign_key(
                batch_op.f(f"fk_{table}_tenant_id_process_template_id_process_templates"),
                "process_templates",
                ["tenant_id", "process_template_id"],
                ["tenant_id", "id"],
            )


def downgrade():
    for table in ("editions", "trainings"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(
                batch_op.f(f"fk_{table}_tenant_id_process_template_id_process_templates"),
                type_="foreignkey",
            )
            batch_op.drop_column("process_template_id")
