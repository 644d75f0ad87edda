"""The tenant's SSO settings as the programme administrator changes them.

Issuer (a new one waits for approval: `identity.issuers`), client id, client authentication
(`private_key_jwt` with the tenant's key pairs, `identity.client_keys`, or the client secret,
write-only, stored encrypted: `identity.encryption`), the minimum assurance level
(`identity.assurance`), scopes, claim names, the mapping from IdP groups to
roles and the default roles. Every change takes effect at the next login: the cached OIDC client
with its metadata and keys is dropped (`identity.oidc.forget_client`). Changes are audited by
field name, never with the secret.

Where the client secret comes from (`identity.oidc.client_secret`): a secret stored here wins;
while none is stored, the environment variable named by the manifest (`sso_client_secret_env`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests
from flask import current_app
from flask_babel import gettext

from samenleren.audit.services import record
from samenleren.core.db import utcnow
from samenleren.core.errors_input import InvalidInput
from samenleren.core.outbound import OutboundRefused
from samenleren.core.outbound import get as outbound_get
from samenleren.core.tenant import Tenant
from samenleren.identity.assurance import KNOWN_LEVELS
from samenleren.identity.client_keys import published_keys, rotate_client_key
from samenleren.identity.encryption import encrypt_secret
from samenleren.identity.issuers import request_issuer_change
from samenleren.identity.models import Role, User
from samenleren.identity.oidc import (
    CLIENT_AUTH_METHODS,
    PRIVATE_KEY_JWT,
    REQUIRED_ENDPOINTS,
    endpoints_elsewhere,
    forget_client,
)
from samenleren.identity.services import DEFAULT_CLAIM_NAMES, OPTIONAL_CLAIMS, claim_names

ISSUER_MAX = 500
CLIENT_ID_MAX = 200
SECRET_MAX = 2_000
CLAIM_NAME_MAX = 200
GROUP_NAME_MAX = 256
SCOPES_MAX = 20
#: Claim names as IdPs write them: `groups`, `employee_id`, `extn.department`, and AD FS's
#: URIs such as `http://schemas.microsoft.com/ws/2008/06/identity/claims/groups`.
CLAIM_NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:/#-]*$")
#: RFC 6749, section 3.3: a scope token is printable ASCII without space, `"` and `\`.
SCOPE_PATTERN = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+$")
#: The claims on the form, in order; the first three are required.
CLAIM_KEYS = (*DEFAULT_CLAIM_NAMES, *OPTIONAL_CLAIMS)
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


@dataclass(frozen=True)
class GroupRow:
    """One row of the mapping table as submitted: a group name and the roles it gives."""

    group: str = ""
    roles: tuple[str, ...] = ()
    remove: bool = False

    @property
    def blank(self) -> bool:
        return not self.group.strip() and not self.roles


@dataclass(frozen=True)
class SSOSettingsInput:
    issuer: str
    client_id: str
    #: Empty: keep the current secret.
    client_secret: str = ""
    #: Drop the stored secret and use the manifest's environment variable again.
    forget_secret: bool = False
    #: Space-separated, as typed.
    scopes: str = ""
    #: Claim key (CLAIM_KEYS) -> claim name as typed; empty optional claims are not taken.
    claims: dict[str, str] = field(default_factory=dict)
    rows: Sequence[GroupRow] = ()
    default_roles: Sequence[str] = ()
    #: How the platform authenticates at the token endpoint (`identity.oidc`); empty: keep.
    client_auth_method: str = ""
    #: The minimum assurance level (`identity.assurance`); empty: none.
    acr_minimum: str = ""


def example_issuer() -> str:
    """An issuer as Microsoft Entra ID states it, for hints: the placeholder is a value, so
    pages escape it (inside a translated text it would be taken for an HTML tag and vanish)."""
    return "https://login.microsoftonline.com/" + gettext("<tenant id>") + "/v2.0"


def settings_of(tenant: Tenant) -> SSOSettingsInput:
    """The current settings in the shape of the form (the secret is never part of it)."""
    names = claim_names(tenant)
    return SSOSettingsInput(
        issuer=tenant.sso_issuer,
        client_id=tenant.sso_client_id,
        scopes=" ".join(tenant.sso_scopes or []),
        claims={key: names.get(key) or "" for key in CLAIM_KEYS},
        rows=[
            GroupRow(group=group, roles=tuple(roles))
            for group, roles in sorted((tenant.group_roles or {}).items())
        ],
        default_roles=list(tenant.default_roles or []),
        client_auth_method=tenant.sso_client_auth_method,
        acr_minimum=tenant.sso_acr_minimum or "",
    )


def secret_source(tenant: Tenant) -> dict[str, object]:
    """Where the client secret comes from now, for the settings page (never the secret)."""
    return {
        "stored": bool(tenant.sso_client_secret_encrypted),
        "stored_at": tenant.sso_client_secret_set_at,
        "env_name": tenant.sso_client_secret_env,
        "env_set": bool(os.environ.get(tenant.sso_client_secret_env or "", "")),
    }


@dataclass(frozen=True)
class _Clean:
    issuer: str
    client_id: str
    secret: str
    forget_secret: bool
    scopes: list[str]
    claims: dict[str, str]
    group_roles: dict[str, list[str]]
    default_roles: list[str]
    client_auth_method: str
    acr_minimum: str | None


def _check_issuer(issuer: str) -> str | None:
    if not issuer:
        return gettext("Give the issuer URL of your identity provider.")
    if len(issuer) > ISSUER_MAX:
        return gettext("At most %(count)d characters.", count=ISSUER_MAX)
    try:
        parts = urlsplit(issuer)
        host = parts.hostname
    except ValueError:
        host = None
    if not host or parts.query or parts.fragment or parts.username or parts.password:
        return gettext(
            "Give the issuer exactly as your identity provider states it, such as %(example)s.",
            example=example_issuer(),
        )
    production = current_app.config["SAMENLEREN_ENV"] == "production"
    if parts.scheme == "https":
        return None
    if parts.scheme == "http" and host in LOCAL_HOSTS and not production:
        return None
    return gettext("The issuer must be an https:// address.")


def _check_discovery(issuer: str) -> str | None:
    """Fetch the issuer's discovery document: a changed issuer must work before it is saved,
    or nobody (the administrator included) could log in to put it right."""
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    try:
        answer = outbound_get(url, timeout=current_app.config["SAMENLEREN_OIDC_TIMEOUT"])
        answer.raise_for_status()
        document = answer.json()
    except OutboundRefused:
        return _refused_message()
    except (requests.RequestException, ValueError):
        return gettext(
            "No identity provider answers at this address (%(url)s could not be read).", url=url
        )
    if not isinstance(document, dict) or document.get("issuer") != issuer:
        stated = document.get("issuer") if isinstance(document, dict) else None
        return gettext(
            "The identity provider states its issuer as %(stated)s; give exactly that.",
            stated=str(stated)[:ISSUER_MAX] if stated else "?",
        )
    missing = [name for name in REQUIRED_ENDPOINTS if not document.get(name)]
    if missing:
        return gettext(
            "The identity provider's discovery document lacks %(names)s.", names=", ".join(missing)
        )
    elsewhere = endpoints_elsewhere(issuer, document)
    if elsewhere:
        return gettext(
            "The identity provider's discovery document names %(names)s on another host than "
            "the issuer's. Ask the platform operator to allow that host.",
            names=", ".join(elsewhere),
        )
    return None


def _refused_message() -> str:
    return gettext(
        "The platform does not contact this address: identity providers are reached only at "
        "public https:// addresses (or at hosts the platform operator allowed)."
    )


def _check(tenant: Tenant, data: SSOSettingsInput) -> _Clean:
    errors: dict[str, str] = {}
    known_roles = {role.value for role in Role}

    issuer = (data.issuer or "").strip()
    problem = _check_issuer(issuer)
    if problem is None and issuer not in (tenant.sso_issuer, tenant.sso_issuer_pending):
        problem = _check_discovery(issuer)
    if problem:
        errors["issuer"] = problem

    client_id = (data.client_id or "").strip()
    if not client_id:
        errors["client_id"] = gettext("Give the client id (application id) of Samen Leren.")
    elif len(client_id) > CLIENT_ID_MAX:
        errors["client_id"] = gettext("At most %(count)d characters.", count=CLIENT_ID_MAX)

    method = data.client_auth_method or tenant.sso_client_auth_method
    if method not in CLIENT_AUTH_METHODS:
        errors["client_auth_method"] = gettext("Choose a method from the list.")
    acr_minimum = (data.acr_minimum or "").strip() or None
    if acr_minimum is not None and acr_minimum not in KNOWN_LEVELS:
        errors["acr_minimum"] = gettext("Choose a level from the list.")

    secret = (data.client_secret or "").strip()
    if len(secret) > SECRET_MAX:
        errors["client_secret"] = gettext("At most %(count)d characters.", count=SECRET_MAX)
    elif secret and data.forget_secret:
        errors["client_secret"] = gettext("Type a new secret or remove the stored one, not both.")
    elif data.forget_secret and not os.environ.get(tenant.sso_client_secret_env or "", ""):
        errors["forget_secret"] = gettext(
            "The environment variable %(name)s is not set on the server: without the stored "
            "secret nobody could log in.",
            name=tenant.sso_client_secret_env or "?",
        )
    elif (
        not secret
        and method != PRIVATE_KEY_JWT
        and not tenant.sso_client_secret_encrypted
        and client_id != tenant.sso_client_id
        and not os.environ.get(tenant.sso_client_secret_env or "", "")
    ):
        errors["client_secret"] = gettext("Give the client secret that goes with this client id.")

    scopes: list[str] = []
    for scope in (data.scopes or "").split():
        if scope not in scopes:
            scopes.append(scope)
    bad_scope = next((scope for scope in scopes if not SCOPE_PATTERN.match(scope)), None)
    if bad_scope is not None:
        errors["scopes"] = gettext("%(scope)s is not a valid scope.", scope=bad_scope)
    elif "openid" not in scopes:
        errors["scopes"] = gettext("The scopes must include openid.")
    elif len(scopes) > SCOPES_MAX:
        errors["scopes"] = gettext("At most %(count)d scopes.", count=SCOPES_MAX)

    claims: dict[str, str] = {}
    for key in CLAIM_KEYS:
        name = (data.claims.get(key) or "").strip()
        required = key in DEFAULT_CLAIM_NAMES
        if not name:
            if required:
                errors[f"claim_{key}"] = gettext("Give the name of the claim.")
            claims[key] = ""
        elif len(name) > CLAIM_NAME_MAX:
            errors[f"claim_{key}"] = gettext("At most %(count)d characters.", count=CLAIM_NAME_MAX)
        elif not CLAIM_NAME_PATTERN.match(name):
            errors[f"claim_{key}"] = gettext(
                "A claim name starts with a letter and has no spaces, such as %(example)s.",
                example=DEFAULT_CLAIM_NAMES.get(key, key),
            )
        else:
            claims[key] = name

    group_roles: dict[str, list[str]] = {}
    seen: dict[str, int] = {}
    for index, row in enumerate(data.rows):
        if row.remove or row.blank:
            continue
        group = row.group.strip()
        roles = list(dict.fromkeys(row.roles))
        unknown = [role for role in roles if role not in known_roles]
        if not group:
            errors[f"group-{index}"] = gettext("Give the name of the group, or untick its roles.")
        elif len(group) > GROUP_NAME_MAX:
            errors[f"group-{index}"] = gettext(
                "At most %(count)d characters.", count=GROUP_NAME_MAX
            )
        elif group in seen:
            errors[f"group-{index}"] = gettext(
                "The group %(group)s is already in row %(row)d; give each group one row.",
                group=group,
                row=seen[group] + 1,
            )
        if unknown:
            errors[f"roles-{index}"] = gettext("Choose roles from the list.")
        elif not roles:
            errors[f"roles-{index}"] = gettext(
                "Tick at least one role for this group, or remove the row."
            )
        if group and group not in seen:
            seen[group] = index
        if f"group-{index}" not in errors and f"roles-{index}" not in errors:
            group_roles[group] = [role.value for role in Role if role.value in roles]

    default_roles = list(dict.fromkeys(data.default_roles))
    if any(role not in known_roles for role in default_roles):
        errors["default_roles"] = gettext("Choose roles from the list.")

    if errors:
        raise InvalidInput(errors)
    return _Clean(
        issuer=issuer,
        client_id=client_id,
        secret=secret,
        forget_secret=data.forget_secret,
        scopes=scopes,
        claims=claims,
        group_roles=group_roles,
        default_roles=[role.value for role in Role if role.value in default_roles],
        client_auth_method=method,
        acr_minimum=acr_minimum,
    )


def _as_sets(mapping: dict[str, list[str]]) -> dict[str, frozenset[str]]:
    return {group: frozenset(roles) for group, roles in mapping.items()}


def update_sso_settings(tenant: Tenant, data: SSOSettingsInput, actor: User) -> list[str]:
    """Check and apply the settings; returns the names of the fields that changed, and
    `issuer_requested` when a new issuer now waits for approval (it is not applied here).

    Refused input raises `InvalidInput` before anything is written. Does not commit.
    """
    if not actor.has_role(Role.PROGRAMME_ADMIN):
        raise InvalidInput.form(
            gettext("Only the programme administrator changes the SSO settings.")
        )
    clean = _check(tenant, data)
    before = settings_of(tenant)
    changed: list[str] = []
    # A new issuer only waits for approval (samenleren.identity.issuers): whoever controls the
    # issuer can log in as anyone, so one administrator cannot change it alone.
    issuer_requested = clean.issuer not in (tenant.sso_issuer, tenant.sso_issuer_pending)
    if issuer_requested:
        request_issuer_change(tenant, clean.issuer, actor)
    if clean.client_id != tenant.sso_client_id:
        tenant.sso_client_id = clean.client_id
        changed.append("client_id")
    if clean.secret:
        tenant.sso_client_secret_encrypted = encrypt_secret(clean.secret)
        tenant.sso_client_secret_set_at = utcnow()
        changed.append("client_secret")
    elif clean.forget_secret and tenant.sso_client_secret_encrypted:
        tenant.sso_client_secret_encrypted = None
        tenant.sso_client_secret_set_at = None
        changed.append("client_secret")
    details: dict[str, str] = {}
    if clean.client_auth_method != tenant.sso_client_auth_method:
        details["method"] = clean.client_auth_method
        details["previous"] = tenant.sso_client_auth_method
        tenant.sso_client_auth_method = clean.client_auth_method
        changed.append("client_auth_method")
    if clean.client_auth_method == PRIVATE_KEY_JWT and not published_keys():
        rotate_client_key(tenant, actor)  # the first key pair, audited on its own
    if clean.acr_minimum != tenant.sso_acr_minimum:
        details["acr_minimum"] = clean.acr_minimum or ""
        tenant.sso_acr_minimum = clean.acr_minimum
        changed.append("acr_minimum")
    if clean.scopes != list(tenant.sso_scopes or []):
        tenant.sso_scopes = clean.scopes
        changed.append("scopes")
    for key in CLAIM_KEYS:
        if clean.claims[key] != (before.claims.get(key) or ""):
            changed.append(f"claim_{key}")
    if any(name.startswith("claim_") for name in changed):
        tenant.sso_claims = {key: clean.claims[key] for key in DEFAULT_CLAIM_NAMES}
        tenant.sso_claim_department = clean.claims["department"] or None
        tenant.sso_claim_employee_number = clean.claims["employee_number"] or None
        tenant.sso_claim_manager = clean.claims["manager"] or None
    if _as_sets(clean.group_roles) != _as_sets(tenant.group_roles or {}):
        tenant.group_roles = clean.group_roles
        changed.append("group_roles")
    if set(clean.default_roles) != set(tenant.default_roles or []):
        tenant.default_roles = clean.default_roles
        changed.append("default_roles")
    if issuer_requested:
        changed.append("issuer_requested")
    if changed != ["issuer_requested"] and changed:
        record(
            "sso.changed",
            actor=actor,
            subject_type="tenant",
            subject_id=tenant.id,
            details={"fields": [name for name in changed if name != "issuer_requested"]} | details,
        )
        # The next login builds a new client: fresh metadata, keys and credentials.
        forget_client(tenant.id)
    return changed
