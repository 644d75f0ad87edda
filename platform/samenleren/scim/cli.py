"""`flask --app samenleren scim token create|list|revoke SLUG ...`: SCIM tokens of a tenant."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from samenleren.core.errors_input import InvalidInput
from samenleren.core.extensions import db
from samenleren.core.tenancy import tenant_scope
from samenleren.core.tenant import Tenant, get_tenant_by_slug
from samenleren.scim.tokens import create_token, get_token, list_tokens, revoke_token

scim_cli = AppGroup("scim", help="SCIM provisioning of a tenant.")
token_cli = AppGroup("token", help="Bearer tokens for a tenant's SCIM endpoint.")
scim_cli.add_command(token_cli)

#: Who the audit log names for a token made or revoked on the command line.
CLI_ACTOR = "command line"


def _tenant(slug: str) -> Tenant:
    tenant = get_tenant_by_slug(slug)
    if tenant is None:
        raise click.ClickException(f"no tenant with slug {slug!r}")
    return tenant


@token_cli.command("create")
@click.argument("slug")
@click.option("--name", default="SCIM", show_default=True, help="What uses the token.")
def create_command(slug: str, name: str) -> None:
    """Make a token for SLUG's SCIM endpoint and print it (this once only; it is stored hashed)."""
    tenant = _tenant(slug)
    with tenant_scope(tenant):
        try:
            row, token = create_token(name, actor_label=CLI_ACTOR)
        except InvalidInput as refused:
            db.session.rollback()
            raise click.ClickException("; ".join(refused.errors.values())) from None
        db.session.commit()
        click.echo(f"token {row.id} ({row.name}) for {slug}; copy it now, it is not shown again:")
        click.echo(token)
        if not tenant.is_active:
            click.echo(f"note: {slug} is suspended; SCIM answers 401 until it is resumed", err=True)


@token_cli.command("list")
@click.argument("slug")
def list_command(slug: str) -> None:
    """List SLUG's tokens: id, name, created, last used, revoked."""
    tenant = _tenant(slug)
    with tenant_scope(tenant):
        tokens = list_tokens()
        if not tokens:
            click.echo(f"{slug} has no SCIM tokens")
            return
        click.echo(f"{'id':<36}  {'created (UTC)':<16}  {'last used':<16}  {'revoked':<16}  name")
        for token in tokens:
            click.echo(
                f"{token.id!s:<36}  {_moment(token.created_at):<16}  "
                f"{_moment(token.last_used_at):<16}  {_moment(token.revoked_at):<16}  {token.name}"
            )


@token_cli.command("revoke")
@click.argument("slug")
@click.argument("token_id")
def revoke_command(slug: str, token_id: str) -> None:
    """Revoke SLUG's token TOKEN_ID (see `scim token list`): it stops working at once."""
    tenant = _tenant(slug)
    with tenant_scope(tenant):
        token = get_token(token_id)
        if token is None:
            raise click.ClickException(f"{slug} has no token {token_id!r}")
        if revoke_token(token, actor_label=CLI_ACTOR):
            db.session.commit()
            click.echo(f"token {token.id} ({token.name}) of {slug} revoked")
        else:
            click.echo(f"token {token.id} ({token.name}) of {slug} was already revoked")


def _moment(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else "-"
