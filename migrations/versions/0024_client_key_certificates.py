"""A self-signed certificate beside each `private_key_jwt` key pair (for Microsoft Entra ID,
which takes an uploaded certificate, not a JWKS address), and the ID token kept for logout at
the IdP stored encrypted (`login_sessions.id_token_hint_encrypted`).

The plain column is dropped, not converted: a migration has no encryption key, and an ID token
only serves to end the session at the IdP, so logins open during the upgrade log out locally.

Revision ID: 0024
Revises: 0021
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0024"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("client_keys") as batch_op:
        batch_op.add_column(sa.Column("certificate_pem", sa.Text(), nullable=True))
    with op.batch_alter_table("login_sessions") as batch_op:
        batch_op.drop_column("id_token_hint")
        batch_op.add_column(sa.Column("id_token_hint_encrypted", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("login_sessions") as batch_op:
        batch_op.drop_column("id_token_hint_encrypted")
        batch_op.add_column(sa.Column("id_token_hint", sa.Text(), nullable=True))
    with op.batch_alter_table("client_keys") as batch_op:
        batch_op.drop_column("certificate_pem")
