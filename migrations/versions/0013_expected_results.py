"""Programme insight: the manager's expected results at the intake and their ratings by learner
and manager at the moments the process template names, behind row-level security; exports keep
the parameters of a provided dataset (the report's period and filters).

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from samenleren.core.rls import disable_rls, enable_rls

# revision identifiers, used by Alembic.
revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def _tenant_fk(table: str, column: str, target: str, ondelete: str | None = None):
    return sa.ForeignKeyConstraint(
        ["tenant_id", column],
        [f"{target}.tenant_id", f"{target}.id"],
        name=op.f(f"fk_{table}_tenant_id_{column}_{target}"),
        ondelete=ondelete,
    )


def upgrade():
    with op.batch_alter_table("exports", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "parameters",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=False,
                server_default=sa.text("'{}'"),
            )
        )
    op.create_table(
        "expected_results",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("trajectory_id", sa.Uuid(), nullable=False),
        sa.Column("learning_goal_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("observable", sa.Text(), nullable=False),
        sa.Column("contribution", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _tenant_fk("expected_results", "trajectory_id", "trajectories", "CASCADE"),
        _tenant_fk("expected_results", "learning_goal_id", "learning_goals", "CASCADE"),
        _tenant_fk("expected_results", "created_by_id", "users"),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_expected_results_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_expected_results")),
    )
    op.create_index(
        "ix_expected_results_tenant_id_trajectory_id",
        "expected_results",
        ["tenant_id", "trajectory_id"],
    )
    enable_rls(op, "expected_results")

    op.create_table(
        "result_ratings",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("expected_result_id", sa.Uuid(), nullable=False),
        sa.Column("step_instance_id", sa.Uuid(), nullable=False),
        sa.Column("moment", sa.String(length=20), nullable=False),
        sa.Column("rater_role", sa.String(length=20), nullable=False),
        sa.Column("rater_id", sa.Uuid(), nullable=True),
        sa.Column(
            "level",
            sa.Enum(
                "not_yet",
                "partly",
                "applied",
                "exceeded",
                name="resultlevel",
                native_enum=False,
                length=10,
            ),
            nullable=False,
        ),
        sa.Column("example", sa.Text(), nullable=False),
        sa.Column("contribution_done", sa.Boolean(), nullable=True),
        sa.Column("rated_at", sa.DateTime(timezone=True), nullable=False),
        _tenant_fk("result_ratings", "expected_result_id", "expected_results", "CASCADE"),
        _tenant_fk("result_ratings", "step_instance_id", "step_instances", "CASCADE"),
        _tenant_fk("result_ratings", "rater_id", "users"),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_result_ratings_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_result_ratings")),
        sa.UniqueConstraint(
            "tenant_id",
            "expected_result_id",
            "moment",
            "rater_role",
            name=op.f("uq_result_ratings_tenant_id_expected_result_id_moment_rater_role"),
        ),
    )
    op.create_index(
        "ix_result_ratings_tenant_id_step_instance_id",
        "result_ratings",
        ["tenant_id", "step_instance_id"],
    )
    enable_rls(op, "result_ratings")


def downgrade():
    disable_rls(op, "result_ratings")
    op.drop_index("ix_result_ratings_tenant_id_step_instance_id", table_name="result_ratings")
    op.drop_table("result_ratings")
    disable_rls(op, "expected_results")
    op.drop_index("ix_expected_results_tenant_id_trajectory_id", table_name="expected_results")
    op.drop_table("expected_results")
    with op.batch_alter_table("exports", schema=None) as batch_op:
        batch_op.drop_column("parameters")
