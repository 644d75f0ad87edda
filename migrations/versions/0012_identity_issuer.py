"""Users are bound to the identity provider that vouches for them: `users.issuer` (backfilled
with the tenant's current issuer; external trainers have none), and for Microsoft Entra ID the
directory and object id (`idp_tenant_id`, `idp_object_id`). A tenant's new issuer waits for
approval: `tenants.sso_issuer_pending` with who asked for it and when.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("issuer", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("idp_tenant_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("idp_object_id", sa.String(length=64), nullable=True))
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sso_issuer_pending", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("sso_issuer_requested_by_id", sa.Uuid(), nullable=True))
        batch_op.add_column(
            sa.Column("sso_issuer_requested_at", sa.DateTime(timezone=True), nullable=True)
        )

    # Every existing user was created under the tenant's current issuer. `users` is behind
    # forced row-level security, also for the owner running this: one tenant at a time.
    connection = op.get_bind()
    postgres = connection.dialect.name == "postgresql"
    tenants = connection.execute(sa.text("SELECT id, sso_issuer FROM tenants")).all()
    for tenant_id, issuer in tenants:
        if postgres:
            connection.execute(
                sa.text("SELECT set_config('app.tenant_id', :tenant, true)"),
                {"tenant": str(tenant_id)},
            )
        connection.execute(
            sa.text(
                "UPDATE users SET issuer = :issuer "
                "WHERE tenant_id = :tenant AND subject NOT LIKE 'external:%'"
            ),
            {"issuer": issuer, "tenant": tenant_id},
        )
    if postgres:
        connection.execute(sa.text("SELECT set_config('app.tenant_id', '', true)"))


def downgrade():
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.drop_column("sso_issuer_requested_at")
        batch_op.drop_column("sso_issuer_requested_by_id")
        batch_op.drop_column("sso_issuer_pending")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("idp_object_id")
        batch_op.drop_column("idp_tenant_id")
        batch_op.drop_column("issuer")
