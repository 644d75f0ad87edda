"""`flask --app samenleren tenants ...`: onboard, list, suspend, resume."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from samenleren.core.tenant import TenantStatus
from samenleren.tenants.manifest import ManifestError, load_manifest
from samenleren.tenants.services import (
    OnboardOutcome,
    UnknownTenant,
    list_tenants,
    onboard_tenant,
    set_tenant_status,
)

tenants_cli = AppGroup("tenants", help="Onboard and manage tenants (organisations).")


@tenants_cli.command("onboard")
@click.argument("manifest", type=click.Path(dir_okay=False))
def onboard_command(manifest: str) -> None:
    """Create or update the tenant described by MANIFEST (tenants/<slug>.toml)."""
    try:
        loaded = load_manifest(manifest)
    except ManifestError as exc:
        raise click.ClickException(str(exc)) from None
    result = onboard_tenant(loaded)
    slug = result.tenant.slug
    if result.outcome is OnboardOutcome.UNCHANGED:
        click.echo(f"{slug}: nothing changed")
    elif result.outcome is OnboardOutcome.CREATED:
        click.echo(f"{slug}: onboarded; its home is /{slug}/")
    else:
        click.echo(f"{slug}: updated from {manifest}")


@tenants_cli.command("list")
def list_command() -> None:
    """List tenants with status and number of users."""
    rows = list_tenants()
    if not rows:
        click.echo("no tenants yet; onboard one with: flask --app samenleren tenants onboard FILE")
        return
    click.echo(f"{'slug':<20} {'status':<10} {'users':>6}  name")
    for tenant, users in rows:
        click.echo(f"{tenant.slug:<20} {tenant.status.value:<10} {users:>6}  {tenant.name}")


def _set_status(slug: str, status: TenantStatus, verb: str) -> None:
    try:
        changed = set_tenant_status(slug, status)
    except UnknownTenant:
        raise click.ClickException(f"no tenant with slug {slug!r}") from None
    click.echo(f"{slug}: {verb}" if changed else f"{slug}: already {status.value}")


@tenants_cli.command("suspend")
@click.argument("slug")
def suspend_command(slug: str) -> None:
    """Suspend a tenant: its pages answer 404 until it is resumed. Nothing is deleted."""
    _set_status(slug, TenantStatus.SUSPENDED, "suspended")


@tenants_cli.command("resume")
@click.argument("slug")
def resume_command(slug: str) -> None:
    """Resume a suspended tenant."""
    _set_status(slug, TenantStatus.ACTIVE, "resumed")
