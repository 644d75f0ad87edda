"""`flask --app samenleren audit verify [--tenant SLUG]`: recompute the audit chains."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from flask_babel import force_locale
from sqlalchemy import select

from samenleren.audit.chain import PROBLEMS
from samenleren.audit.verification import verify_tenant
from samenleren.core.extensions import db
from samenleren.core.tenancy import tenant_scope
from samenleren.core.tenant import Tenant

audit_cli = AppGroup("audit", help="The tenants' audit logs: verify their hash chains.")


@audit_cli.command("verify")
@click.option("--tenant", "slug", default=None, help="only this tenant (its slug)")
def verify_command(slug: str | None) -> None:
    """Recompute each tenant's audit chain; name the first broken link. Exit 1 if one is broken.

    The outcome is stored per tenant and shown on the operator console.
    """
    query = select(Tenant).order_by(Tenant.slug)
    if slug is not None:
        query = query.where(Tenant.slug == slug)
    tenants = list(db.session.scalars(query))
    if slug is not None and not tenants:
        raise click.ClickException(f"no tenant with slug {slug!r}")
    broken = 0
    for tenant in tenants:
        with tenant_scope(tenant):
            report, _stored = verify_tenant()
            db.session.commit()
        if report.ok:
            click.echo(f"{tenant.slug}: intact, {report.checked} events")
            continue
        broken += 1
        with force_locale("en"):
            problem = str(PROBLEMS[report.problem or ""])
        place = (
            f"event {report.broken_sequence}"
            if report.broken_sequence is not None
            else "an event without a place"
        )
        which = f" (id {report.broken_event_id})" if report.broken_event_id else ""
        click.echo(
            f"{tenant.slug}: BROKEN at {place}{which}: {problem}; "
            f"{report.checked} events before it are intact",
            err=True,
        )
    if broken:
        raise SystemExit(1)
