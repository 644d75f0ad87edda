"""Issue 5: the shared model library, template provenance and tenant terminology.

`library_entries` belongs to no tenant (every tenant's administrators browse it), so it has no
`tenant_id` and no row-level security; the publishing tenant is `publisher_tenant_id`.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade():
    op.create_table(
        "library_entries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("name", JSON, nullable=False),
        sa.Column("description", JSON, nullable=False),
        sa.Column("definition", JSON, nullable=False),
        sa.Column("schema_version", sa.Integer(), nullable=False),
        sa.Column("publisher_name", sa.String(length=200), nullable=False),
        sa.Column("publisher_tenant_id", sa.Uuid(), nullable=True),
        sa.Column("source_template_key", sa.String(length=40), nullable=False),
        sa.Column("source_version_number", sa.Integer(), nullable=False),
        sa.Column("built_in", sa.Boolean(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["publisher_tenant_id"],
            ["tenants.id"],
            name=op.f("fk_library_entries_publisher_tenant_id_tenants"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_library_entries")),
        sa.UniqueConstraint("key", name=op.f("uq_library_entries_key")),
    )
    op.create_index(
        op.f("ix_library_entries_publisher_tenant_id"),
        "library_entries",
        ["publisher_tenant_id"],
        unique=False,
    )
    with op.batch_alter_table("process_templates", schema=None) as batch_op:
        batch_op.add_column(sa.Column("adopted_from_id", sa.Uuid(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "adopted_from_label", sa.String(length=300), nullable=False, server_default=""
            )
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_process_templates_adopted_from_id_library_entries"),
            "library_entries",
            ["adopted_from_id"],
            ["id"],
            ondelete="SET NULL",
        )
    with op.batch_alter_table("process_templates", schema=None) as batch_op:
        batch_op.alter_column("adopted_from_label", server_default=None)
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("terminology", JSON, nullable=False, server_default=sa.text("'{}'"))
        )
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.alter_column("terminology", server_default=None)


def downgrade():
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.drop_column("terminology")
    with op.batch_alter_table("process_templates", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_process_templates_adopted_from_id_library_entries"), type_="foreignkey"
        )
        batch_op.drop_column("adopted_from_label")
        batch_op.drop_column("adopted_from_id")
    op.drop_index(op.f("ix_library_entries_publisher_tenant_id"), table_name="library_entries")
    op.drop_table("library_entries")
