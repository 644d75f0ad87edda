"""Tenant SSO settings kept in the database (the client secret encrypted, three more claim names)
and the single-use sign-in links of external trainers (behind row-level security).

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

from samenleren.core.rls import disable_rls, enable_rls

# revision identifiers, used by Alembic.
revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sso_client_secret_encrypted", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("sso_client_secret_set_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("sso_claim_department", sa.String(length=200), nullable=True))
        batch_op.add_column(
            sa.Column("sso_claim_employee_number", sa.String(length=200), nullable=True)
        )
        batch_op.add_column(sa.Column("sso_claim_manager", sa.String(length=200), nullable=True))

    op.create_table(
        "sign_in_links",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "user_id"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_sign_in_links_tenant_id_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_sign_in_links_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_sign_in_links")),
        sa.UniqueConstraint(
            "tenant_id", "token_hash", name=op.f("uq_sign_in_links_tenant_id_token_hash")
        ),
    )
    op.create_index("ix_sign_in_links_tenant_id_user_id", "sign_in_links", ["tenant_id", "user_id"])
    enable_rls(op, "sign_in_links")


def downgrade():
    disable_rls(op, "sign_in_links")
    op.drop_index("ix_sign_in_links_tenant_id_user_id", table_name="sign_in_links")
    op.drop_table("sign_in_links")
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.drop_column("sso_claim_manager")
        batch_op.drop_column("sso_claim_employee_number")
        batch_op.drop_column("sso_claim_department")
        batch_op.drop_column("sso_client_secret_set_at")
        batch_op.drop_column("sso_client_secret_encrypted")
