"""`flask --app samenleren tenants ...`: onboard, list, suspend, resume, export, import."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from samenleren.core.tenant import TenantStatus
from samenleren.tenants.manifest import ManifestError, load_manifest
from samenleren.tenants.moving import MoveError, export_tenant, import_tenant
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
    issuer = loaded.manifest.sso.issuer
    if result.tenant.sso_issuer != issuer and result.tenant.sso_issuer_pending == issuer:
        click.echo(
            f"{slug}: the new issuer {issuer} waits for approval by the platform operator "
            "(console) or a programme administrator; logins keep using "
            f"{result.tenant.sso_issuer} until then"
        )


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


@tenants_cli.command("export")
@click.argument("slug")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False), help="the file (default: SLUG.tenant.gz)"
)
def export_command(slug: str, output: str | None) -> None:
    """Write every row of tenant SLUG to one file, to import into another database."""
    path = output or f"{slug}.tenant.gz"
    try:
        with open(path, "wb") as target:
            manifest = export_tenant(slug, target)
    except MoveError as exc:
        Path(path).unlink(missing_ok=True)
        raise click.ClickException(str(exc)) from None
    rows = sum(table["rows"] for table in manifest["tables"])
    click.echo(f"{slug}: {rows} rows written to {path} (schema {manifest['schema_revision']})")


@tenants_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def import_command(file: str) -> None:
    """Insert the tenant exported to FILE into this database (same schema revision)."""
    try:
        result = import_tenant(file)
    except MoveError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{result.slug}: {result.rows} rows imported; its home is /{result.slug}/")
    if result.secret_readable is False:
        click.echo(
            f"{result.slug}: its stored SSO client secret cannot be decrypted with this "
            "installation's SAMENLEREN_SECRET_ENCRYPTION_KEY: add the old key or store the "
            "secret again on the SSO settings page",
            err=True,
        )
