"""`flask --app samenleren sso ...`: maintenance of the tenants' stored SSO secrets."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from samenleren.core.extensions import db
from samenleren.core.tenancy import tenant_scope
from samenleren.core.tenant import Tenant
from samenleren.identity.client_keys import reencrypt_client_keys
from samenleren.identity.encryption import SecretUnreadable, reencrypt_secret
from samenleren.identity.oidc import forget_client
from samenleren.identity.sessions import reencrypt_id_tokens

sso_cli = AppGroup("sso", help="Tenants' SSO settings: stored client secrets.")


@sso_cli.command("reencrypt-secrets")
def reencrypt_command() -> None:
    """Encrypt every stored client secret, private key and kept ID token (for logout at the
    IdP) again with the first SAMENLEREN_SECRET_ENCRYPTION_KEY.

    Rotating our own key: put the new key first in SAMENLEREN_SECRET_ENCRYPTION_KEY (comma,
    then the old key), restart, run this command, then remove the old key.
    """
    tenants = db.session.scalars(
        select(Tenant).where(Tenant.sso_client_secret_encrypted.is_not(None)).order_by(Tenant.slug)
    ).all()
    unreadable = []
    for tenant in tenants:
        stored = tenant.sso_client_secret_encrypted
        if stored is None:  # not selected; the column is nullable
            continue
        try:
            tenant.sso_client_secret_encrypted = reencrypt_secret(stored)
        except SecretUnreadable:
            unreadable.append(tenant.slug)
    keys = tokens = 0
    for tenant in db.session.scalars(select(Tenant).order_by(Tenant.slug)).all():
        with tenant_scope(tenant):  # the key pairs are behind the tenant's row-level security
            try:
                keys += reencrypt_client_keys(reencrypt_secret)
            except SecretUnreadable:
                unreadable.append(f"{tenant.slug} (private_key_jwt key)")
            tokens += reencrypt_id_tokens(reencrypt_secret)
            db.session.flush()
    if unreadable:
        db.session.rollback()
        raise click.ClickException(
            "no key decrypts the stored secret of: " + ", ".join(unreadable) + "; nothing changed"
        )
    db.session.commit()
    for tenant in tenants:
        forget_client(tenant.id)
    click.echo(
        f"{len(tenants)} stored client secret(s), {keys} private key(s) and {tokens} ID "
        "token(s) kept for logout encrypted with the first key"
    )
