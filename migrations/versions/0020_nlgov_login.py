"""Login as OpenID NLGov asks: `private_key_jwt` client authentication with the tenant's own key
pairs (`client_keys`, the method in `tenants.sso_client_auth_method`), a minimum assurance level
(`tenants.sso_acr_minimum`), and the ID token of each login kept for RP-initiated logout
(`login_sessions.id_token_hint`).

Revision ID: 0020
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from samenleren.core.rls import disable_rls, enable_rls

# revision identifiers, used by Alembic.
revision = "0020"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "sso_client_auth_method",
                sa.String(length=30),
                nullable=False,
                server_default="client_secret_basic",
            )
        )
        batch_op.add_column(sa.Column("sso_acr_minimum", sa.String(length=200), nullable=True))
    with op.batch_alter_table("login_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("id_token_hint", sa.Text(), nullable=True))
    op.create_table(
        "client_keys",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kid", sa.String(length=100), nullable=False),
        sa.Column("private_key_encrypted", sa.Text(), nullable=True),
        sa.Column(
            "public_jwk",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_client_keys_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_client_keys")),
        sa.UniqueConstraint("tenant_id", "kid", name=op.f("uq_client_keys_tenant_id_kid")),
    )
    enable_rls(op, "client_keys")


def downgrade():
    disable_rls(op, "client_keys")
    op.drop_table("client_keys")
    with op.batch_alter_table("login_sessions", schema=None) as batch_op:
        batch_op.drop_column("id_token_hint")
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.drop_column("sso_acr_minimum")
        batch_op.drop_column("sso_client_auth_method")
