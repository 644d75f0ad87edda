"""Issue 5: the shared model library, template provenance and tenant terminology.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

from samenleren.core.rls import disable_rls, enable_rls  # noqa: F401

# revision identifiers, used by Alembic.
revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
