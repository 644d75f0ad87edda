"""Issue 6: calendar invitations (UID and sequence) and personal calendar feeds.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

from samenleren.core.rls import disable_rls, enable_rls  # noqa: F401

# revision identifiers, used by Alembic.
revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
