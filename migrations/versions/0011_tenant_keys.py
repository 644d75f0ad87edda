"""Every unique constraint of a tenant table includes tenant_id: the SCIM token hash is unique
per tenant (a token is only ever looked up within the tenant of the path). Keys that start with
tenant_id let the tables be distributed by tenant (Citus); tests/scaling/test_keys.py checks
every table.

Revision ID: 0011
Revises: 0010
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("scim_tokens", schema=None) as batch_op:
        batch_op.drop_constraint("uq_scim_tokens_token_hash", type_="unique")
        batch_op.create_unique_constraint(
            "uq_scim_tokens_tenant_id_token_hash", ["tenant_id", "token_hash"]
        )


def downgrade():
    with op.batch_alter_table("scim_tokens", schema=None) as batch_op:
        batch_op.drop_constraint("uq_scim_tokens_tenant_id_token_hash", type_="unique")
        batch_op.create_unique_constraint("uq_scim_tokens_token_hash", ["token_hash"])
