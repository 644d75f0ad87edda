"""Finishing a province's login set-up before anyone of it can log in.

The platform operator onboards a province in the console; what a login still needs is then
entered there too, with no restart and no access to the server:

* the client secret, stored encrypted like on the SSO settings page (`identity.encryption`),
  typed by the operator or by the province's own IT contact through a one-time link that
  expires (`issue_setup_link`; only the token's SHA-256 is kept, on the tenant row);
* or, instead of a secret, `private_key_jwt` (`choose_client_auth_method`): the platform makes
  the tenant's key pair (`identity.client_keys`) and the console shows the JWKS address to give
  the identity provider;
* the first programme administrators, named by e-mail address or IdP subject before their first
  login (`Tenant.first_admins`); each gets the role at that login (`grant_first_admin`).

`login_problems` says in plain words what a login still lacks; the console's SSO test and the
login page use it, so a missing secret is named before an employee runs into it.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from flask_babel import gettext

from samenleren.audit.events import AuditAction
from samenleren.audit.services import record
from samenleren.core.db import as_utc, utcnow
from samenleren.core.errors_input import InvalidInput
from samenleren.core.tenancy import tenant_scope
from samenleren.core.tenant import Tenant
from samenleren.core.text import has_control_characters
from samenleren.identity.client_keys import (
    ClientKeyMissing,
    published_keys,
    rotate_client_key,
    signing_key,
)
from samenleren.identity.encryption import SecretUnreadable, decrypt_secret, encrypt_secret
from samenleren.identity.models import Role, RoleAssignment, RoleSource, User
from samenleren.identity.oidc import CLIENT_AUTH_METHODS, PRIVATE_KEY_JWT, forget_client

#: How long a set-up link for the province's IT contact works.
SETUP_LINK_DAYS = 7
#: `secrets.token_urlsafe(32)`: 43 characters; anything else is not one of our tokens.
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{43}$")
SECRET_MAX = 2_000
FIRST_ADMINS_MAX = 20
#: An e-mail address or a subject: one line, no spaces, at most the subject column's length.
FIRST_ADMIN_PATTERN = re.compile(r"^\S{1,255}$")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- the client secret ------------------------------------------------------------------------


def check_client_secret(secret: str, *, required: bool = True) -> str:
    """The secret as it will be stored; refused input raises `InvalidInput` (`client_secret`)."""
    secret = (secret or "").strip()
    if not secret:
        if required:
            raise InvalidInput(
                {"client_secret": gettext("Give the client secret the identity provider issued.")}
            )
        return ""
    if len(secret) > SECRET_MAX:
        raise InvalidInput(
            {"client_secret": gettext("At most %(count)d characters.", count=SECRET_MAX)}
        )
    if has_control_characters(secret) or " " in secret:
        raise InvalidInput(
            {
                "client_secret": gettext(
                    "A client secret has no spaces or line breaks; copy it again from the "
                    "identity provider."
                )
            }
        )
    return secret


def store_client_secret(tenant: Tenant, secret: str, *, actor_label: str) -> None:
    """Store the client secret encrypted; it applies from the next login. The tenant must be
    the active one (the audit event is its). Does not commit."""
    secret = check_client_secret(secret)
    tenant.sso_client_secret_encrypted = encrypt_secret(secret)
    tenant.sso_client_secret_set_at = utcnow()
    record(
        AuditAction.SSO_CHANGED,
        actor_label=actor_label,
        subject_type="tenant",
        subject_id=tenant.id,
        details={"fields": ["client_secret"]},
    )
    forget_client(tenant.id)


def auth_method_choices() -> list[tuple[str, str]]:
    """The client authentication methods as the forms offer them, in words (translated)."""
    return [
        (
            "private_key_jwt",
            gettext(
                "Key pair of the platform, no shared secret (private_key_jwt, as OpenID NLGov asks)"
            ),
        ),
        (
            "client_secret_basic",
            gettext("Client secret in the Authorization header (client_secret_basic)"),
        ),
        ("client_secret_post", gettext("Client secret in the request (client_secret_post)")),
    ]


def choose_client_auth_method(
    tenant: Tenant, method: str, *, actor: User | None = None, actor_label: str = ""
) -> bool:
    """How the platform authenticates at the IdP's token endpoint (`identity.oidc`
    `CLIENT_AUTH_METHODS`); choosing `private_key_jwt` makes the tenant's first key pair when it
    has none. False when nothing changed. The tenant must be the active one. Does not commit."""
    if method not in CLIENT_AUTH_METHODS:
        raise InvalidInput({"client_auth_method": gettext("Choose a method from the list.")})
    if method == PRIVATE_KEY_JWT and not published_keys():
        rotate_client_key(tenant, actor, actor_label=actor_label)
    if method == tenant.sso_client_auth_method:
        return False
    previous = tenant.sso_client_auth_method
    tenant.sso_client_auth_method = method
    record(
        AuditAction.SSO_CHANGED,
        actor=actor,
        actor_label=actor_label,
        subject_type="tenant",
        subject_id=tenant.id,
        details={"fields": ["client_auth_method"], "method": method, "previous": previous},
    )
    forget_client(tenant.id)
    return True


# --- the set-up link --------------------------------------------------------------------------


def issue_setup_link(tenant: Tenant, *, actor_label: str) -> str:
    """A new one-time link for the province's IT contact; any earlier link stops working.
    Returns the token (shown once; only its hash is kept). Does not commit."""
    token = secrets.token_urlsafe(32)
    tenant.sso_setup_token_hash = _hash(token)
    tenant.sso_setup_token_expires_at = utcnow() + timedelta(days=SETUP_LINK_DAYS)
    record(
        AuditAction.SSO_SETUP_LINK_ISSUED,
        actor_label=actor_label,
        subject_type="tenant",
        subject_id=tenant.id,
        details={"expires_at": tenant.sso_setup_token_expires_at.isoformat()},
    )
    return token


def setup_link_valid(tenant: Tenant, token: str) -> bool:
    """Whether `token` is the tenant's current, unexpired set-up link."""
    if not TOKEN_PATTERN.match(token or "") or not tenant.sso_setup_token_hash:
        return False
    if not secrets.compare_digest(tenant.sso_setup_token_hash, _hash(token)):
        return False
    expires = tenant.sso_setup_token_expires_at
    return expires is not None and as_utc(expires) > utcnow()


def redeem_setup_link(tenant: Tenant, token: str, secret: str) -> None:
    """Store the secret the IT contact typed and spend the link. An invalid link raises
    `InvalidInput` on the form; nothing is written then. Does not commit."""
    if not setup_link_valid(tenant, token):
        raise InvalidInput.form(
            gettext("This link is no longer valid. Ask the platform operator for a new one.")
        )
    store_client_secret(tenant, secret, actor_label=gettext("IT contact (set-up link)"))
    tenant.sso_setup_token_hash = None
    tenant.sso_setup_token_expires_at = None


# --- the first programme administrators -------------------------------------------------------


def parse_first_admins(text: str) -> list[str]:
    """One e-mail address or IdP subject per line (commas also separate); refused input raises
    `InvalidInput` (`first_admins`)."""
    entries: list[str] = []
    for part in re.split(r"[\n,;]", text or ""):
        entry = part.strip()
        if not entry:
            continue
        if not FIRST_ADMIN_PATTERN.match(entry) or has_control_characters(entry):
            raise InvalidInput(
                {
                    "first_admins": gettext(
                        "%(entry)s is not an e-mail address or subject: give one per line, "
                        "without spaces, at most 255 characters.",
                        entry=entry[:60],
                    )
                }
            )
        if entry.casefold() not in {known.casefold() for known in entries}:
            entries.append(entry)
    if len(entries) > FIRST_ADMINS_MAX:
        raise InvalidInput(
            {
                "first_admins": gettext(
                    "At most %(count)d people; the programme administrators name the others in "
                    "the application.",
                    count=FIRST_ADMINS_MAX,
                )
            }
        )
    return entries


def set_first_admins(tenant: Tenant, text: str, *, actor_label: str) -> bool:
    """Replace the list of first programme administrators; False when nothing changed. The
    tenant must be the active one. Does not commit."""
    entries = parse_first_admins(text)
    if entries == list(tenant.first_admins or []):
        return False
    tenant.first_admins = entries
    record(
        AuditAction.FIRST_ADMINS_NAMED,
        actor_label=actor_label,
        subject_type="tenant",
        subject_id=tenant.id,
        details={"count": len(entries)},
    )
    return True


def _named(entry: str, subject: str, email: str | None) -> bool:
    if entry == subject:
        return True
    return email is not None and "@" in entry and entry.casefold() == email.casefold()


def grant_first_admin(tenant: Tenant, user: User, claims: Mapping[str, Any]) -> None:
    """At a person's first login: programme administrator when the operator named them (by
    subject, or by an e-mail address the IdP does not call unverified). The role is given in the
    application, so the IdP's groups do not take it away; the name leaves the list."""
    entries = list(tenant.first_admins or [])
    if not entries or user.last_login_at is not None:
        return
    email = user.email if claims.get("email_verified") is not False else None
    matched = [entry for entry in entries if _named(entry, user.subject, email)]
    if not matched:
        return
    tenant.first_admins = [entry for entry in entries if entry not in matched]
    if any(
        assignment.role is Role.PROGRAMME_ADMIN and assignment.source is RoleSource.APP
        for assignment in user.role_assignments
    ):
        return
    user.role_assignments.append(RoleAssignment(role=Role.PROGRAMME_ADMIN, source=RoleSource.APP))
    record(
        AuditAction.ROLE_ADDED,
        actor_label=gettext("platform operator (first administrator)"),
        subject_type="user",
        subject_id=user.id,
        details={"role": Role.PROGRAMME_ADMIN.value, "source": RoleSource.APP.value},
    )


# --- what a login still lacks -----------------------------------------------------------------


def login_problems(tenant: Tenant) -> list[str]:
    """What a login to the tenant lacks, in plain words (translated); empty when nothing."""
    problems: list[str] = []
    if not (tenant.sso_client_id or "").strip():
        problems.append(gettext("No client id is set for this province."))
    if tenant.sso_client_auth_method == PRIVATE_KEY_JWT:
        with tenant_scope(tenant):  # the operator's console asks outside the tenant
            try:
                signing_key()
            except ClientKeyMissing:
                problems.append(
                    gettext(
                        "private_key_jwt is chosen, but the platform has no usable key pair for "
                        "this province. Make a new key pair and give the identity provider the "
                        "JWKS address again."
                    )
                )
    elif tenant.sso_client_secret_encrypted:
        try:
            decrypt_secret(tenant.sso_client_secret_encrypted)
        except SecretUnreadable:
            problems.append(
                gettext(
                    "The stored client secret cannot be decrypted (was the platform's "
                    "encryption key changed?). Enter the client secret again."
                )
            )
    elif not os.environ.get(tenant.sso_client_secret_env or "", ""):
        problems.append(
            gettext(
                "No client secret is set: enter it in the console, or send the province's IT "
                "contact a set-up link. Without it every login fails."
            )
        )
    return problems


def admin_foreseen(tenant: Tenant) -> bool:
    """Whether someone can become programme administrator: named as a first administrator, or
    a group of the IdP maps to the role."""
    if tenant.first_admins:
        return True
    return any(Role.PROGRAMME_ADMIN.value in roles for roles in (tenant.group_roles or {}).values())
