"""One OpenID Connect client per tenant, built from the tenant's settings (Authlib).

Authlib's registry caches a client by name forever, with its provider metadata and keys, so a
changed secret or issuer would be ignored. We build `FlaskOAuth2App` objects ourselves and keep
them keyed by tenant and by the settings they were built from; metadata is reloaded after
`METADATA_TTL`. Authlib does not compare the discovery document's `issuer` with the configured
one, so `client_for()` pins it, and the ID token's `iss` is checked against the configured value.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from dataclasses import dataclass

from authlib.integrations.flask_client import FlaskIntegration, FlaskOAuth2App
from flask import current_app

from samenleren.tenants.models import Tenant

METADATA_TTL = 3600.0


class SSOConfigurationError(RuntimeError):
    """The tenant's identity provider cannot be used; the message is safe to show an admin."""


@dataclass
class _Entry:
    fingerprint: tuple
    client: FlaskOAuth2App
    loaded_at: float


_clients: dict[uuid.UUID, _Entry] = {}
_lock = threading.Lock()


def client_secret(tenant: Tenant) -> str:
    secret = os.environ.get(tenant.sso_client_secret_env, "")
    if not secret:
        raise SSOConfigurationError(
            f"environment variable {tenant.sso_client_secret_env} (the client secret) is not set"
        )
    return secret


def client_for(tenant: Tenant) -> FlaskOAuth2App:
    """The tenant's OIDC client, with discovery loaded and its issuer pinned."""
    secret = client_secret(tenant)
    fingerprint = (tenant.sso_issuer, tenant.sso_client_id, secret, tuple(tenant.sso_scopes))
    now = time.monotonic()
    with _lock:
        entry = _clients.get(tenant.id)
        if (
            entry is None
            or entry.fingerprint != fingerprint
            or now - entry.loaded_at > METADATA_TTL
        ):
            entry = _Entry(fingerprint, _build_client(tenant, secret), now)
            _clients[tenant.id] = entry
    _check_metadata(tenant, entry.client)
    return entry.client


def forget_client(tenant_id: uuid.UUID) -> None:
    """Drop a tenant's cached client, metadata and keys (after its SSO settings change)."""
    with _lock:
        _clients.pop(tenant_id, None)


def _build_client(tenant: Tenant, secret: str) -> FlaskOAuth2App:
    name = f"tenant_{tenant.id.hex}"  # also the prefix of the OIDC state kept in the session
    return FlaskOAuth2App(
        FlaskIntegration(name),
        name,
        client_id=tenant.sso_client_id,
        client_secret=secret,
        server_metadata_url=tenant.sso_issuer.rstrip("/") + "/.well-known/openid-configuration",
        client_kwargs={
            "scope": " ".join(tenant.sso_scopes),
            "code_challenge_method": "S256",
            "timeout": current_app.config["SAMENLEREN_OIDC_TIMEOUT"],
        },
    )


def _check_metadata(tenant: Tenant, client: FlaskOAuth2App) -> None:
    try:
        metadata = client.load_server_metadata()
    except Exception as exc:
        forget_client(tenant.id)
        raise SSOConfigurationError(f"identity provider unreachable: {type(exc).__name__}") from exc
    if metadata.get("issuer") != tenant.sso_issuer:
        forget_client(tenant.id)
        raise SSOConfigurationError(
            f"issuer in the discovery document ({metadata.get('issuer')!r}) is not the "
            f"configured issuer ({tenant.sso_issuer!r})"
        )
    for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not metadata.get(key):
            forget_client(tenant.id)
            raise SSOConfigurationError(f"discovery document has no {key}")
