"""One OpenID Connect client per tenant, built from the tenant's settings (Authlib).

Authlib's registry caches a client by name forever, with its provider metadata and keys, so a
changed secret or issuer would be ignored. We build `FlaskOAuth2App` objects ourselves and keep
them keyed by tenant and by the settings they were built from. Authlib does not compare the
discovery document's `issuer` with the configured one, so `client_for()` pins it, and the ID
token's `iss` is checked against the configured value.

A tenant's client secret is the one stored (encrypted) on the SSO settings page; while none is
stored, the environment variable the manifest names (`sso_client_secret_env`). The SSO settings
page calls `forget_client()` after every change; other worker processes notice a changed issuer,
client id, secret or scopes because those make up the cache entry's fingerprint.

Client authentication at the token endpoint follows `Tenant.sso_client_auth_method`:
`client_secret_basic` or `client_secret_post` with the secret above, or `private_key_jwt`
(RFC 7523) with an assertion signed by the tenant's own key (`identity.client_keys`), its header
naming the key by `kid` and by the thumbprints of its certificate (`x5t`, `x5t#S256`: what
Microsoft Entra ID looks for); the key id is part of the fingerprint, so a rotated key is used
from the next login on.

Caching follows the IdP's HTTP cache headers: the discovery document and the signing keys
(JWKS) are each kept for the `max-age` of their `Cache-Control` (`no-store`/`no-cache`: not
kept; no header: `DEFAULT_MAX_AGE`; never longer than `MAX_AGE`) and fetched again after that,
without rebuilding the client. An ID token whose `kid` is not among the cached keys makes
Authlib fetch the JWKS again, once; a token without a `kid` whose signature fails against the
cached keys makes `TenantOAuth2App` do the same (see there).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from authlib.common.errors import AuthlibBaseError
from authlib.integrations.flask_client import FlaskIntegration, FlaskOAuth2App
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT, private_key_jwt_sign
from flask import current_app, request, session
from joserfc.errors import BadSignatureError, JoseError
from joserfc.jwk import RSAKey

from samenleren.core.outbound import current_policy, guard, same_host_or_allowed
from samenleren.core.tenant import Tenant
from samenleren.identity.client_keys import ClientKeyMissing, signing_key
from samenleren.identity.encryption import SecretUnreadable, decrypt_secret

#: How long discovery and keys are kept when the IdP's answer has no cache header, and at most.
DEFAULT_MAX_AGE = 3600.0
MAX_AGE = 86_400.0
#: Client authentication methods at the token endpoint (RFC 7591 names).
CLIENT_AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt")
PRIVATE_KEY_JWT = "private_key_jwt"
#: How long a client assertion is valid: it is used at once, for one token request.
ASSERTION_SECONDS = 120


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


def max_age(headers: Mapping[str, str]) -> float:
    """Seconds an answer may be kept, from its `Cache-Control` header (RFC 9111)."""
    value = headers.get("Cache-Control") or ""
    directives = [part.strip().lower() for part in value.split(",") if part.strip()]
    if "no-store" in directives or "no-cache" in directives:
        return 0.0
    for directive in directives:
        name, _, seconds = directive.partition("=")
        if name.strip() == "max-age":
            try:
                return min(max(float(int(seconds.strip().strip('"'))), 0.0), MAX_AGE)
            except ValueError:
                return 0.0  # a header we cannot read gives no licence to keep the answer
    return DEFAULT_MAX_AGE


class TenantPrivateKeyJWT(PrivateKeyJWT):
    """Authlib's `private_key_jwt` with the key named in the header (`kid` for an IdP that picks
    it from the tenant's JWKS, `x5t`/`x5t#S256` for one that holds its certificate) and a short
    lifetime."""

    def __init__(self, header: Mapping[str, str]) -> None:
        super().__init__(headers=dict(header))

    def sign(self, auth, token_endpoint):
        return private_key_jwt_sign(
            auth.client_secret,
            client_id=auth.client_id,
            token_endpoint=token_endpoint,
            header=dict(self.headers),
            alg=self.alg,
            expires_in=ASSERTION_SECONDS,
        )


@dataclass(frozen=True)
class ClientCredentials:
    """How the platform authenticates at a token endpoint: a secret, or a private key."""

    method: str
    #: The client secret; for `private_key_jwt` the key id (part of the cache fingerprint).
    secret: str
    private_key: RSAKey | None = None
    #: For `private_key_jwt`: the assertion header's members naming the key (`kid`, `x5t`, ...).
    header: tuple[tuple[str, str], ...] = ()


@dataclass
class _Entry:
    fingerprint: tuple
    client: FlaskOAuth2App


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
    #: When the discovery document and the keys are to be fetched again (monotonic clock).
    metadata_expires: float = 0.0
    jwks_expires: float = 0.0

    def load_server_metadata(self):
        """Authlib's loading, keeping the answer for as long as its cache headers allow."""
        if self._server_metadata_url and "_loaded_at" not in self.server_metadata:
            with self._get_session() as http:
                answer = http.request("GET", self._server_metadata_url, withhold_token=True)
                answer.raise_for_status()
                metadata = answer.json()
            if not isinstance(metadata, dict):
                raise ValueError("the discovery document is not a JSON object")
            metadata.pop("jwks", None)  # keys come from jwks_uri only
            metadata["_loaded_at"] = time.time()
            self.metadata_expires = time.monotonic() + max_age(answer.headers)
            self.server_metadata.update(metadata)
        return self.server_metadata

    def refresh_if_stale(self) -> None:
        """Forget the discovery document once its `max-age` has passed (the keys have their
        own); the next use fetches it again."""
        if time.monotonic() >= self.metadata_expires:
            self.server_metadata.pop("_loaded_at", None)

    def fetch_jwk_set(self, force=False):
        """The IdP's keys, kept for as long as the JWKS answer's cache headers allow."""
        metadata = self.load_server_metadata()
        keys = metadata.get("jwks")
        if keys and not force and time.monotonic() < self.jwks_expires:
            return keys
        with self._get_session() as http:
            answer = http.request("GET", metadata["jwks_uri"], withhold_token=True)
            answer.raise_for_status()
            keys = answer.json()
        self.jwks_expires = time.monotonic() + max_age(answer.headers)
        self.server_metadata["jwks"] = keys
        return keys

    def parse_id_token(self, token, nonce, claims_options=None, claims_cls=None, leeway=120):
        keys_before = (self.server_metadata or {}).get("jwks")
        try:
            return super().parse_id_token(token, nonce, claims_options, claims_cls, leeway)
        except BadSignatureError:
            if not keys_before or self.server_metadata.get("jwks") is not keys_before:
                raise  # checked against keys fetched just now: the signature is really bad
            self.server_metadata.pop("jwks", None)
            return super().parse_id_token(token, nonce, claims_options, claims_cls, leeway)


def credentials(tenant: Tenant) -> ClientCredentials:
    """How the tenant's client authenticates at the token endpoint, per its chosen method."""
    method = tenant.sso_client_auth_method or "client_secret_basic"
    if method != PRIVATE_KEY_JWT:
        return ClientCredentials(method, client_secret(tenant))
    try:
        header, key = signing_key()
    except ClientKeyMissing as exc:
        raise SSOConfigurationError(
            f"private_key_jwt is chosen but {exc}", cause="not_set_up"
        ) from exc
    return ClientCredentials(method, header["kid"], key, tuple(header.items()))


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
        secret=credentials(tenant),
        scopes=tenant.sso_scopes,
    )


def cached_client(
    key: Hashable,
    name: str,
    *,
    issuer: str,
    client_id: str,
    secret: str | ClientCredentials,
    scopes: Iterable[str],
) -> FlaskOAuth2App:
    """The client of one provider (a tenant's, or the platform operators' own), cached under
    `key` for as long as the settings it was built from stay the same; issuer pinned. Its
    discovery document is fetched again once the IdP's cache headers say it is stale."""
    scopes = tuple(scopes)
    if isinstance(secret, str):
        secret = ClientCredentials("client_secret_basic", secret)
    fingerprint = (issuer, client_id, secret.method, secret.secret, secret.header, scopes)
    with _lock:
        entry = _clients.get(key)
        if entry is None or entry.fingerprint != fingerprint:
            entry = _Entry(fingerprint, _build_client(name, issuer, client_id, secret, scopes))
            _clients[key] = entry
        if isinstance(entry.client, TenantOAuth2App):
            entry.client.refresh_if_stale()
    _check_metadata(key, issuer, entry.client)
    return entry.client


def forget_client(tenant_id: Hashable) -> None:
    """Drop a tenant's cached client, metadata and keys (after its SSO settings change)."""
    with _lock:
        _clients.pop(tenant_id, None)


def _build_client(
    name: str, issuer: str, client_id: str, secret: ClientCredentials, scopes: tuple[str, ...]
) -> FlaskOAuth2App:
    private = secret.method == PRIVATE_KEY_JWT
    return TenantOAuth2App(
        FlaskIntegration(name),
        name,
        client_id=client_id,
        client_secret=secret.private_key if private else secret.secret,
        server_metadata_url=issuer.rstrip("/") + "/.well-known/openid-configuration",
        client_auth_methods=[TenantPrivateKeyJWT(dict(secret.header))] if private else None,
        client_kwargs={
            "scope": " ".join(scopes),
            "code_challenge_method": "S256",
            "timeout": current_app.config["SAMENLEREN_OIDC_TIMEOUT"],
            "token_endpoint_auth_method": secret.method,
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
    return finish_login(client, issuer)[0]


def finish_login(client: FlaskOAuth2App, issuer: str) -> tuple[dict[str, Any], str | None]:
    """`finish_authorization`, with the raw ID token as well (kept for RP-initiated logout)."""
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
    id_token = token.get("id_token")
    return dict(claims), id_token if isinstance(id_token, str) else None


def logout_url(client: FlaskOAuth2App, *, id_token_hint: str | None, return_to: str) -> str | None:
    """Where to send the browser to end the session at the IdP too (OpenID Connect
    RP-Initiated Logout), or None when its discovery document names no `end_session_endpoint`."""
    if not client.load_server_metadata().get("end_session_endpoint"):
        return None
    return client.create_logout_url(
        post_logout_redirect_uri=return_to,
        id_token_hint=id_token_hint,
        client_id=client.client_id,
    )["url"]
