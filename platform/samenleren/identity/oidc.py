"""One OpenID Connect client per tenant, built from the tenant's settings (Authlib).

Authlib's registry caches a client by name forever, with its provider metadata and keys, so a
changed secret or issuer would be ignored. We build `FlaskOAuth2App` objects ourselves and keep
them keyed by tenant and by the settings they were built from; metadata is reloaded after
`METADATA_TTL`. Authlib does not compare the discovery document's `issuer` with the configured
one, so `client_for()` pins it, and the ID token's `iss` is checked against the configured value.

A tenant's client secret is the one stored (encrypted) on the SSO settings page; while none is
stored, the environment variable the manifest names (`sso_client_secret_env`). The SSO settings
page calls `forget_client()` after every change; other worker processes notice a changed issuer,
client id, secret or scopes because those make up the cache entry's fingerprint.

Key rotation at the IdP: the signing keys (JWKS) are cached with the metadata. An ID token whose
`kid` is not among them makes Authlib fetch the JWKS again, once; a token without a `kid` whose
signature fails against the cached keys makes `TenantOAuth2App` do the same (see there).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Any

from authlib.common.errors import AuthlibBaseError
from authlib.integrations.flask_client import FlaskIntegration, FlaskOAuth2App
from authlib.integrations.requests_client import OAuth2Session
from flask import current_app, request, session
from joserfc.errors import BadSignatureError, JoseError

from samenleren.core.outbound import current_policy, guard, same_host_or_allowed
from samenleren.core.tenant import Tenant
from samenleren.identity.encryption import SecretUnreadable, decrypt_secret

METADATA_TTL = 3600.0


class SSOConfigurationError(RuntimeError):
    """The tenant's identity provider cannot be used; the message is safe to show an admin.

    `cause` tells the login page what the person can do about it: `not_set_up` (the platform
    lacks something only the operator or the province's IT contact can enter, such as the client
    secret) or `unreachable` (the identity provider did not answer as it should: try later).
    """

    def __init__(self, message: str, cause: str = "unreachable") -> None:
        super().__init__(message)
        self.cause = cause


class CallbackRefused(Exception):
    """A login callback that must not be accepted; the message is for the log."""


#: What a discovery document must name for a login to work.
REQUIRED_ENDPOINTS = ("authorization_endpoint", "token_endpoint", "jwks_uri")

#: Endpoints of a discovery document that the server fetches or sends the browser to; each must
#: be on the issuer's own host or on a host in SAMENLEREN_OIDC_ALLOWED_HOSTS.
CHECKED_ENDPOINTS = (*REQUIRED_ENDPOINTS, "userinfo_endpoint", "end_session_endpoint")


def endpoints_elsewhere(issuer: str, document: dict[str, Any]) -> list[str]:
    """The names of the endpoints in `document` that are not on the issuer's host (nor on an
    allowed host) or that the outbound guard would not fetch (such as http:// in production)."""
    policy = current_policy()
    return [
        name
        for name in CHECKED_ENDPOINTS
        if document.get(name) is not None
        and not (
            isinstance(document[name], str) and same_host_or_allowed(document[name], issuer, policy)
        )
    ]


class GuardedOAuth2Session(OAuth2Session):
    """Authlib's HTTP session, through the outbound guard (`samenleren.core.outbound`): every
    fetch of discovery, keys, token and userinfo resolves and checks its host, follows no
    redirect and uses no proxy."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        guard(self)


@dataclass
class _Entry:
    fingerprint: tuple
    client: FlaskOAuth2App
    loaded_at: float


_clients: dict[Hashable, _Entry] = {}
_lock = threading.Lock()


class TenantOAuth2App(FlaskOAuth2App):
    """Authlib's Flask client, through the outbound guard, with one more way to notice that the
    IdP rotated its keys.

    Authlib (1.9, `OpenIDMixin.parse_id_token`) fetches the JWKS again when the ID token names a
    `kid` that is not in the cached set. A token without a `kid` is checked against the only
    cached key; after a rotation that fails as a bad signature, and Authlib would not fetch the
    keys again until the client is rebuilt. Here such a failure drops the cached keys and checks
    once more against a freshly fetched JWKS; a signature that fails against the IdP's current
    keys is refused. The ID token comes from the token endpoint (server to server over TLS, with
    our client credentials), never from the browser, so nobody can make us fetch at will.
    """

    client_cls = GuardedOAuth2Session

    def parse_id_token(self, token, nonce, claims_options=None, claims_cls=None, leeway=120):
        keys_before = (self.server_metadata or {}).get("jwks")
        try:
            return super().parse_id_token(token, nonce, claims_options, claims_cls, leeway)
        except BadSignatureError:
            if not keys_before or self.server_metadata.get("jwks") is not keys_before:
                raise  # checked against keys fetched just now: the signature is really bad
            self.server_metadata.pop("jwks", None)
            return super().parse_id_token(token, nonce, claims_options, claims_cls, leeway)


def client_secret(tenant: Tenant) -> str:
    """The secret stored on the SSO settings page if there is one, else the manifest's
    environment variable (`sso_client_secret_env`)."""
    if tenant.sso_client_secret_encrypted:
        try:
            return decrypt_secret(tenant.sso_client_secret_encrypted)
        except SecretUnreadable as exc:
            raise SSOConfigurationError(
                "the stored client secret cannot be decrypted with "
                "SAMENLEREN_SECRET_ENCRYPTION_KEY (was the key changed?)",
                cause="not_set_up",
            ) from exc
    secret = os.environ.get(tenant.sso_client_secret_env, "")
    if not secret:
        raise SSOConfigurationError(
            "no client secret: none is stored (console or SSO settings page) and the "
            f"environment variable {tenant.sso_client_secret_env} is not set",
            cause="not_set_up",
        )
    return secret


#: The error codes an authorization endpoint may answer with (RFC 6749, 4.1.2.1, and OpenID
#: Connect Core 1.0, 3.1.2.6). Anything else in `?error=` is a stranger's text, never recorded.
AUTHORIZATION_ERRORS = frozenset(
    {
        "invalid_request",
        "unauthorized_client",
        "access_denied",
        "unsupported_response_type",
        "invalid_scope",
        "server_error",
        "temporarily_unavailable",
        "interaction_required",
        "login_required",
        "account_selection_required",
        "consent_required",
        "invalid_request_uri",
        "invalid_request_object",
        "request_not_supported",
        "request_uri_not_supported",
        "registration_not_supported",
    }
)


def _client_name(tenant: Tenant) -> str:
    """The tenant's client name, also the prefix of the OIDC state kept in the session."""
    return f"tenant_{tenant.id.hex}"


def take_callback_state(tenant: Tenant) -> bool:
    """Whether the current callback's `state` is one this browser's session started a login to
    the tenant with; the state is used up either way, so the answer counts once.

    For callbacks that carry no code (`?error=`): only such a callback is the IdP answering a
    login that was really started here; anything else is anyone's request.
    """
    state = request.args.get("state")
    if not state:
        return False
    framework = FlaskIntegration(_client_name(tenant))
    valid = framework.get_state_data(session, state) is not None
    framework.clear_state_data(session, state)
    return valid


def client_for(tenant: Tenant) -> FlaskOAuth2App:
    """The tenant's OIDC client, with discovery loaded and its issuer pinned."""
    return cached_client(
        tenant.id,
        _client_name(tenant),
        issuer=tenant.sso_issuer,
        client_id=tenant.sso_client_id,
        secret=client_secret(tenant),
        scopes=tenant.sso_scopes,
    )


def cached_client(
    key: Hashable, name: str, *, issuer: str, client_id: str, secret: str, scopes: Iterable[str]
) -> FlaskOAuth2App:
    """The client of one provider (a tenant's, or the platform operators' own), cached under
    `key` for as long as the settings it was built from stay the same; issuer pinned."""
    scopes = tuple(scopes)
    fingerprint = (issuer, client_id, secret, scopes)
    now = time.monotonic()
    with _lock:
        entry = _clients.get(key)
        if (
            entry is None
            or entry.fingerprint != fingerprint
            or now - entry.loaded_at > METADATA_TTL
        ):
            entry = _Entry(fingerprint, _build_client(name, issuer, client_id, secret, scopes), now)
            _clients[key] = entry
    _check_metadata(key, issuer, entry.client)
    return entry.client


def forget_client(tenant_id: Hashable) -> None:
    """Drop a tenant's cached client, metadata and keys (after its SSO settings change)."""
    with _lock:
        _clients.pop(tenant_id, None)


def _build_client(
    name: str, issuer: str, client_id: str, secret: str, scopes: tuple[str, ...]
) -> FlaskOAuth2App:
    return TenantOAuth2App(
        FlaskIntegration(name),
        name,
        client_id=client_id,
        client_secret=secret,
        server_metadata_url=issuer.rstrip("/") + "/.well-known/openid-configuration",
        client_kwargs={
            "scope": " ".join(scopes),
            "code_challenge_method": "S256",
            "timeout": current_app.config["SAMENLEREN_OIDC_TIMEOUT"],
        },
    )


def _check_metadata(key: Hashable, issuer: str, client: FlaskOAuth2App) -> None:
    try:
        metadata = client.load_server_metadata()
    except Exception as exc:
        forget_client(key)
        raise SSOConfigurationError(f"identity provider unreachable: {type(exc).__name__}") from exc
    if metadata.get("issuer") != issuer:
        forget_client(key)
        raise SSOConfigurationError(
            f"issuer in the discovery document ({metadata.get('issuer')!r}) is not the "
            f"configured issuer ({issuer!r})"
        )
    for endpoint in REQUIRED_ENDPOINTS:
        if not metadata.get(endpoint):
            forget_client(key)
            raise SSOConfigurationError(f"discovery document has no {endpoint}")
    elsewhere = endpoints_elsewhere(issuer, metadata)
    if elsewhere:
        forget_client(key)
        raise SSOConfigurationError(
            f"discovery document names {', '.join(elsewhere)} off the issuer's host "
            "(allowed hosts: SAMENLEREN_OIDC_ALLOWED_HOSTS)"
        )


def finish_authorization(client: FlaskOAuth2App, issuer: str) -> dict[str, Any]:
    """Exchange the code of the callback in the current request; the ID token's claims.

    Raises `CallbackRefused` for a callback that cannot be accepted: missing or forged state, a
    replayed callback (the state was used up), a token from another issuer or for another
    audience, a bad signature or nonce; `SSOConfigurationError` when the token endpoint cannot be
    reached.
    """
    try:
        token = client.authorize_access_token(
            claims_options={"iss": {"essential": True, "value": issuer}}
        )
    except (AuthlibBaseError, JoseError, ValueError, KeyError, TypeError) as exc:
        raise CallbackRefused(f"{type(exc).__name__}: {exc}") from exc
    except OSError as exc:
        raise SSOConfigurationError(f"token endpoint unreachable: {exc}") from exc
    claims = token.get("userinfo")
    if not claims:
        raise CallbackRefused("no ID token in the token response")
    return dict(claims)
