"""The budget ledger: a budget per tenant per year (with its amounts per category and the moments
the 80 % and 100 % warnings went out), the tenant's names for the categories, and the actuals
(money spent, in euro cents). Editions get their costs (fixed and per participant, in cents,
0 for the editions there are) and tenants the yearly amount of their manifest.

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from samenleren.core.rls import disable_rls, enable_rls

# revision identifiers, used by Alembic.
revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "budget_category_names",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_budget_category_names_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_budget_category_names")),
        sa.UniqueConstraint(
            "tenant_id", "category", name=op.f("uq_budget_category_names_tenant_id_category")
        ),
    )
    op.create_table(
        "budget_years",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column(
            "allocations",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("warned_80_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("warned_100_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_budget_years_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_budget_years")),
        sa.UniqueConstraint("tenant_id", "year", name=op.f("uq_budget_years_tenant_id_year")),
    )
    op.create_table(
        "budget_actuals",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("spent_on", sa.Date(), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("edition_id", sa.Uuid(), nullable=True),
        sa.Column("invoice_reference", sa.String(length=100), nullable=False),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "created_by_id"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_budget_actuals_tenant_id_created_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "edition_id"],
            ["editions.tenant_id", "editions.id"],
            name=op.f("fk_budget_actuals_tenant_id_edition_id_editions"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_budget_actuals_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_budget_actuals")),
    )
    with op.batch_alter_table("budget_actuals", schema=None) as batch_op:
        batch_op.create_index(
            "ix_budget_actuals_tenant_id_edition_id", ["tenant_id", "edition_id"], unique=False
        )
        batch_op.create_index(
            "ix_budget_actuals_tenant_id_spent_on", ["tenant_id", "spent_on"], unique=False
        )

    with op.batch_alter_table("editions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("cost_fixed_cents", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column(
                "cost_per_participant_cents", sa.Integer(), nullable=False, server_default="0"
            )
        )

    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("budget_yearly_cents", sa.Integer(), nullable=True))
    for table in ("budget_category_names", "budget_years", "budget_actuals"):
        enable_rls(op, table)


def downgrade():
    for table in ("budget_actuals", "budget_years", "budget_category_names"):
        disable_rls(op, table)
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.drop_column("budget_yearly_cents")

    with op.batch_alter_table("editions", schema=None) as batch_op:
        batch_op.drop_column("cost_per_participant_cents")
        batch_op.drop_column("cost_fixed_cents")

    with op.batch_alter_table("budget_actuals", schema=None) as batch_op:
        batch_op.drop_index("ix_budget_actuals_tenant_id_spent_on")
        batch_op.drop_index("ix_budget_actuals_tenant_id_edition_id")

    op.drop_table("budget_actuals")
    op.drop_table("budget_years")
    op.drop_table("budget_category_names")
