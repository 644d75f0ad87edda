"""Programme insight: the programme admins who do not want the quarterly report mail, the
quarters whose mail went out (once per tenant and quarter), the tenant's choice to share its
aggregated figures, and the comparison computed for a sharing tenant (its own two figures and
the median of the others; no row about a person).

Revision ID: 0023
Revises: 0022
"""

import sqlalchemy as sa
from alembic import op

from samenleren.core.rls import disable_rls, enable_rls

# revision identifiers, used by Alembic.
revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

TABLES = (
    "insight_mail_opt_outs",
    "insight_quarterly_mails",
    "insight_sharing",
    "insight_comparisons",
)


def _tenant(table: str) -> list:
    return [
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f(f"fk_{table}_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f(f"pk_{table}")),
    ]


def upgrade():
    op.create_table(
        "insight_mail_opt_outs",
        *_tenant("insight_mail_opt_outs"),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "user_id"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_insight_mail_opt_outs_tenant_id_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint(
            "tenant_id", "user_id", name=op.f("uq_insight_mail_opt_outs_tenant_id_user_id")
        ),
    )
    op.create_table(
        "insight_quarterly_mails",
        *_tenant("insight_quarterly_mails"),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("quarter", sa.Integer(), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint(
            "tenant_id",
            "year",
            "quarter",
            name=op.f("uq_insight_quarterly_mails_tenant_id_year_quarter"),
        ),
    )
    op.create_table(
        "insight_sharing",
        *_tenant("insight_sharing"),
        sa.Column("share", sa.Boolean(), nullable=False),
        sa.Column("changed_by_id", sa.Uuid(), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "changed_by_id"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_insight_sharing_tenant_id_changed_by_id_users"),
        ),
        sa.UniqueConstraint("tenant_id", name=op.f("uq_insight_sharing_tenant_id")),
    )
    op.create_table(
        "insight_comparisons",
        *_tenant("insight_comparisons"),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("tenants", sa.Integer(), nullable=False),
        sa.Column("own_transfer_percent", sa.Integer(), nullable=True),
        sa.Column("own_cost_per_learner_cents", sa.Integer(), nullable=True),
        sa.Column("others_transfer_percent", sa.Integer(), nullable=True),
        sa.Column("others_cost_per_learner_cents", sa.Integer(), nullable=True),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint(
            "tenant_id", "year", name=op.f("uq_insight_comparisons_tenant_id_year")
        ),
    )
    for table in TABLES:
        enable_rls(op, table)


def downgrade():
    for table in reversed(TABLES):
        disable_rls(op, table)
        op.drop_table(table)
