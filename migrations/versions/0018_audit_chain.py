"""The audit log the CISO can verify: each event gets a result ("allowed", "refused", "failed"),
the client's User-Agent besides its address, and a place in its tenant's hash chain (`sequence`,
`previous_hash`, `entry_hash`; see samenleren/audit/chain.py). The events already there are
chained here, oldest first, from each tenant's genesis value. `audit_verifications` keeps the
outcome of every `flask audit verify` run. Tenants get their accessibility statement
(`tenants.accessibility_statement`, empty: the platform default) and their part of the privacy
statement (`tenants.privacy_statement`).

Revision ID: 0018
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from samenleren.audit.chain import entry_hash, genesis_hash, normalise_details
from samenleren.core.rls import disable_rls, enable_rls

# revision identifiers, used by Alembic.
revision = "0018"
down_revision = "0015"
branch_labels = None
depends_on = None

_events = sa.table(
    "audit_events",
    sa.column("tenant_id", sa.Uuid()),
    sa.column("id", sa.Uuid()),
    sa.column("occurred_at", sa.DateTime(timezone=True)),
    sa.column("action", sa.String()),
    sa.column("result", sa.String()),
    sa.column("actor_id", sa.Uuid()),
    sa.column("actor_label", sa.String()),
    sa.column("subject_type", sa.String()),
    sa.column("subject_id", sa.String()),
    sa.column("details", sa.JSON()),
    sa.column("ip_address", sa.String()),
    sa.column("user_agent", sa.String()),
    sa.column("sequence", sa.BigInteger()),
    sa.column("previous_hash", sa.String()),
    sa.column("entry_hash", sa.String()),
)


def _chain_existing_events() -> None:
    """Give every event already logged its place in its tenant's chain, oldest first.

    `audit_events` is behind forced row-level security, also for the owner running this: one
    tenant at a time. The owner may update it; the runtime role never can.
    """
    connection = op.get_bind()
    postgres = connection.dialect.name == "postgresql"
    tenants = [row[0] for row in connection.execute(sa.text("SELECT id FROM tenants"))]
    for tenant_id in tenants:
        if postgres:
            connection.execute(
                sa.text("SELECT set_config('app.tenant_id', :tenant, true)"),
                {"tenant": str(tenant_id)},
            )
        rows = connection.execute(
            sa.select(_events)
            .where(_events.c.tenant_id == tenant_id)
            .order_by(_events.c.occurred_at, _events.c.id)
        ).mappings()
        previous = genesis_hash(tenant_id)
        for sequence, row in enumerate(list(rows), start=1):
            values = dict(row)
            values["details"] = normalise_details(values["details"])
            values["result"] = "refused" if values["action"] == "login.refused" else "allowed"
            values["sequence"] = sequence
            values["previous_hash"] = previous
            digest = entry_hash(values)
            connection.execute(
                _events.update()
                .where(_events.c.tenant_id == tenant_id, _events.c.id == row["id"])
                .values(
                    sequence=sequence,
                    previous_hash=previous,
                    entry_hash=digest,
                    result=values["result"],
                    details=values["details"],
                )
            )
            previous = digest
    if postgres:
        connection.execute(sa.text("SELECT set_config('app.tenant_id', '', true)"))


def upgrade():
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("result", sa.String(length=10), server_default="allowed", nullable=False)
        )
        batch_op.add_column(
            sa.Column("user_agent", sa.String(length=300), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("sequence", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("previous_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("entry_hash", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(
            "uq_audit_events_tenant_id_sequence", ["tenant_id", "sequence"]
        )
    _chain_existing_events()

    op.create_table(
        "audit_verifications",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("checked", sa.Integer(), nullable=False),
        sa.Column("head_sequence", sa.BigInteger(), nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.Column("broken_sequence", sa.BigInteger(), nullable=True),
        sa.Column("broken_event_id", sa.Uuid(), nullable=True),
        sa.Column("problem", sa.String(length=20), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_audit_verifications_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_audit_verifications")),
    )
    op.create_index(
        "ix_audit_verifications_tenant_id_verified_at",
        "audit_verifications",
        ["tenant_id", "verified_at"],
    )
    enable_rls(op, "audit_verifications")
    for column in ("accessibility_statement", "privacy_statement"):
        with op.batch_alter_table("tenants", schema=None) as batch_op:
            batch_op.add_column(
                sa.Column(
                    column,
                    sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                    nullable=False,
                    server_default=sa.text("'{}'"),
                )
            )
        with op.batch_alter_table("tenants", schema=None) as batch_op:
            batch_op.alter_column(column, server_default=None)


def downgrade():
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.drop_column("privacy_statement")
        batch_op.drop_column("accessibility_statement")
    disable_rls(op, "audit_verifications")
    op.drop_index("ix_audit_verifications_tenant_id_verified_at", table_name="audit_verifications")
    op.drop_table("audit_verifications")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_constraint("uq_audit_events_tenant_id_sequence", type_="unique")
        batch_op.drop_column("entry_hash")
        batch_op.drop_column("previous_hash")
        batch_op.drop_column("sequence")
        batch_op.drop_column("user_agent")
        batch_op.drop_column("result")
