"""Issue 6: calendar invitations (UID and sequence) and personal calendar feeds.

Step instances and group meetings get the SEQUENCE of their calendar event (NULL: no event issued
yet); `calendar_feeds` holds the personal feed links (only the SHA-256 of each token), behind
row-level security.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

from samenleren.core.rls import disable_rls, enable_rls

# revision identifiers, used by Alembic.
revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("step_instances", schema=None) as batch_op:
        batch_op.add_column(sa.Column("calendar_sequence", sa.Integer(), nullable=True))
    with op.batch_alter_table("group_meetings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("calendar_sequence", sa.Integer(), nullable=True))

    op.create_table(
        "calendar_feeds",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "user_id"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_calendar_feeds_tenant_id_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_calendar_feeds_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_calendar_feeds")),
        sa.UniqueConstraint(
            "tenant_id", "token_hash", name=op.f("uq_calendar_feeds_tenant_id_token_hash")
        ),
    )
    op.create_index(
        "ix_calendar_feeds_tenant_id_user_id", "calendar_feeds", ["tenant_id", "user_id"]
    )
    enable_rls(op, "calendar_feeds")


def downgrade():
    disable_rls(op, "calendar_feeds")
    op.drop_index("ix_calendar_feeds_tenant_id_user_id", table_name="calendar_feeds")
    op.drop_table("calendar_feeds")
    with op.batch_alter_table("group_meetings", schema=None) as batch_op:
        batch_op.drop_column("calendar_sequence")
    with op.batch_alter_table("step_instances", schema=None) as batch_op:
        batch_op.drop_column("calendar_sequence")
