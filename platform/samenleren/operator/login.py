"""Who may use the operator console: the platform's own identity provider and its allowlist
(`SAMENLEREN_OPERATORS`, `SAMENLEREN_OPERATOR_GROUP`), and how an operator is named in a tenant's
audit log. The operator belongs to no tenant and sees no tenant's people."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from authlib.integrations.flask_client import FlaskOAuth2App
from flask import current_app
from sqlalchemy import select

from samenleren.core.extensions import db
from samenleren.identity.models import PlatformOperator
from samenleren.identity.oidc import SSOConfigurationError, cached_client

#: Cache key and Authlib name of the operators' OIDC client (tenants' clients use their ids).
OPERATOR_CLIENT_KEY = "platform-operators"
OPERATOR_CLIENT_NAME = "platform_operator"  # also the prefix of its OIDC state in the session


def actor_label(operator: PlatformOperator) -> str:
    """How an operator appears in a tenant's audit log."""
    return f"Operator: {operator.name}"


class ConsoleNotConfigured(SSOConfigurationError):
    """SAMENLEREN_OPERATOR_OIDC_ISSUER is not set: nobody can log in to the console."""


class OperatorRefused(Exception):
    """The platform's IdP vouched for someone who is not an operator; the message is for the
    log."""


def operator_issuer() -> str:
    issuer = current_app.config["SAMENLEREN_OPERATOR_OIDC_ISSUER"]
    if not issuer:
        raise ConsoleNotConfigured("SAMENLEREN_OPERATOR_OIDC_ISSUER is not set")
    return issuer


def operator_client() -> FlaskOAuth2App:
    """The client of the platform's own identity provider: the same code, PKCE, state, nonce
    and issuer pinning as a tenant's (`samenleren.identity.oidc`), its own cache entry."""
    config = current_app.config
    return cached_client(
        OPERATOR_CLIENT_KEY,
        OPERATOR_CLIENT_NAME,
        issuer=operator_issuer(),
        client_id=config["SAMENLEREN_OPERATOR_OIDC_CLIENT_ID"],
        secret=config["SAMENLEREN_OPERATOR_OIDC_CLIENT_SECRET"],
        scopes=config["SAMENLEREN_OPERATOR_OIDC_SCOPES"],
    )


def _groups(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [str(item) for item in value]
    return []


def admission(claims: Mapping[str, Any]) -> bool | None:
    """How the ID token's subject may operate: False by subject (SAMENLEREN_OPERATORS), True by
    group (SAMENLEREN_OPERATOR_GROUP), None when not at all."""
    config = current_app.config
    subject = str(claims.get("sub") or "")
    if subject and subject in config["SAMENLEREN_OPERATORS"]:
        return False
    group = config["SAMENLEREN_OPERATOR_GROUP"]
    if subject and group and group in _groups(claims.get("groups")):
        return True
    return None


def operator_from_claims(claims: Mapping[str, Any]) -> tuple[PlatformOperator, bool]:
    """The operator the ID token describes (created at the first login; name and e-mail follow
    the IdP), and whether they were let in by group. Raises `OperatorRefused`; does not commit."""
    by_group = admission(claims)
    subject = str(claims.get("sub") or "")
    if by_group is None:
        raise OperatorRefused(f"subject {subject!r} is not a platform operator")
    name = str(claims.get("name") or "").strip()
    email = str(claims.get("email") or "").strip() or None
    operator = db.session.scalar(
        select(PlatformOperator).where(PlatformOperator.subject == subject)
    )
    if operator is None:
        operator = PlatformOperator(subject=subject, name=name or email or subject, email=email)
        db.session.add(operator)
    else:
        operator.name = name or operator.name
        operator.email = email or operator.email
    db.session.flush()
    return operator, by_group
