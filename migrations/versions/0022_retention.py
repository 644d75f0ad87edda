"""Retention: the tenant's retention profile, its own periods, legal holds, departures, and the
one way the runtime role may remove old audit events (`audit_prune_prefix`).

Revision ID: 0022
Revises: 0020
"""

import sqlalchemy as sa
from alembic import op

from samenleren.core.rls import disable_rls, enable_rls

# revision identifiers, used by Alembic.
revision = "0022"
down_revision = "0020"
branch_labels = None
depends_on = None

#: Deletes a prefix of the current tenant's audit chain, only through an event that an
#: `audit.pruned` event later in the chain names with the same hash, and only events older than
#: the legal minimum of 36 months (samenleren.audit.pruning). SECURITY DEFINER: the runtime role
#: itself may not delete audit events; RLS (FORCE) still limits it to the current tenant.
PRUNE_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_prune_prefix(p_tenant uuid, p_through bigint, p_hash text)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    removed bigint;
BEGIN
    IF p_tenant IS DISTINCT FROM NULLIF(current_setting('app.tenant_id', true), '')::uuid THEN
        RAISE EXCEPTION 'audit_prune_prefix: not the current tenant';
    END IF;
    IF NOT EXISTS (
        SELECT 1 FROM audit_events
        WHERE tenant_id = p_tenant AND sequence = p_through AND entry_hash = p_hash
          AND occurred_at < now() - interval '36 months'
    ) THEN
        RAISE EXCEPTION 'audit_prune_prefix: no such event past the minimum retention';
    END IF;
    IF NOT EXISTS (
        SELECT 1 FROM audit_events
        WHERE tenant_id = p_tenant AND sequence > p_through AND action = 'audit.pruned'
          AND details->>'through_sequence' = p_through::text
          AND details->>'through_hash' = p_hash
    ) THEN
        RAISE EXCEPTION 'audit_prune_prefix: the removal is not announced in the chain';
    END IF;
    DELETE FROM audit_events WHERE tenant_id = p_tenant AND sequence <= p_through;
    GET DIAGNOSTICS removed = ROW_COUNT;
    RETURN removed;
END
$$
"""


def upgrade():
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "retention_profile", sa.String(length=20), server_default="province", nullable=False
            )
        )
    op.create_table(
        "retention_periods",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("changed_by_id", sa.Uuid(), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_retention_periods_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_retention_periods")),
        sa.UniqueConstraint("tenant_id", "kind", name=op.f("uq_retention_periods_tenant_id_kind")),
    )
    op.create_table(
        "legal_holds",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subject_type", sa.String(length=20), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("placed_by_id", sa.Uuid(), nullable=True),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lifted_by_id", sa.Uuid(), nullable=True),
        sa.Column("lifted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "lifted_by_id"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_legal_holds_tenant_id_lifted_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "placed_by_id"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_legal_holds_tenant_id_placed_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_legal_holds_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_legal_holds")),
    )
    op.create_index(
        "ix_legal_holds_tenant_id_subject_id",
        "legal_holds",
        ["tenant_id", "subject_id"],
        unique=False,
    )
    op.create_table(
        "retention_departures",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("left_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("anonymised_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "user_id"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_retention_departures_tenant_id_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_retention_departures_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_retention_departures")),
        sa.UniqueConstraint(
            "tenant_id", "user_id", name=op.f("uq_retention_departures_tenant_id_user_id")
        ),
    )
    for table in ("retention_periods", "legal_holds", "retention_departures"):
        enable_rls(op, table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PRUNE_FUNCTION)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS audit_prune_prefix(uuid, bigint, text)")
    for table in ("retention_departures", "legal_holds", "retention_periods"):
        disable_rls(op, table)
    op.drop_table("retention_departures")
    op.drop_index("ix_legal_holds_tenant_id_subject_id", table_name="legal_holds")
    op.drop_table("legal_holds")
    op.drop_table("retention_periods")
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.drop_column("retention_profile")
