"""Issue 6: the notification outbox, users' notification preferences, the tenant's sender.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from samenleren.core.rls import disable_rls, enable_rls

# revision identifiers, used by Alembic.
revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "notification_mode",
                sa.String(length=10),
                server_default="immediate",
                nullable=False,
            )
        )
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mail_from", sa.String(length=320), nullable=True))

    op.create_table(
        "notifications",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("recipient_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "pending",
                "sending",
                "sent",
                "failed",
                "cancelled",
                "bundled",
                name="notificationstate",
                native_enum=False,
                length=10,
            ),
            nullable=False,
        ),
        sa.Column("digest", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("context", _JSON, nullable=False),
        sa.Column("attachments", _JSON, nullable=False),
        sa.Column("message_id", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "recipient_id"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_notifications_tenant_id_recipient_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_notifications_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("tenant_id", "key", name=op.f("uq_notifications_tenant_id_key")),
    )
    op.create_index(
        "ix_notifications_tenant_id_state_due_at",
        "notifications",
        ["tenant_id", "state", "due_at"],
    )
    op.create_index(
        "ix_notifications_tenant_id_recipient_id", "notifications", ["tenant_id", "recipient_id"]
    )
    enable_rls(op, "notifications")


def downgrade():
    disable_rls(op, "notifications")
    op.drop_index("ix_notifications_tenant_id_recipient_id", table_name="notifications")
    op.drop_index("ix_notifications_tenant_id_state_due_at", table_name="notifications")
    op.drop_table("notifications")
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.drop_column("mail_from")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("notification_mode")
