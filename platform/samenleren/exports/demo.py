"""A finished export in the demo, made through the services as a programme admin would."""

from __future__ import annotations

from sqlalchemy import select

from samenleren.core.extensions import db
from samenleren.core.tenancy import require_tenant
from samenleren.exports import services
from samenleren.exports.models import Dataset, Export, ExportFormat
from samenleren.identity.models import Role, RoleAssignment, User


def seed_exports() -> None:
    """One ready export (Excel, all data) of the current tenant, asked for by its first programme
    admin; nothing when the tenant has an export already or no admin."""
    if db.session.scalar(select(Export.id).limit(1)) is not None:
        return
    admin = db.session.scalar(
        select(User)
        .join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(RoleAssignment.role == Role.PROGRAMME_ADMIN, User.active.is_(True))
        .order_by(User.name)
        .limit(1)
    )
    if admin is None:
        return
    export = services.new_export(
        admin,
        ExportFormat.XLSX.value,
        [dataset.value for dataset in Dataset],
        require_tenant().default_locale,
    )
    db.session.commit()
    services.build_export(export.id)
