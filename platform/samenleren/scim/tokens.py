"""SCIM bearer tokens of a tenant: made on the settings page or the command line, checked by
the endpoint.

Plain functions on the current tenant (the caller activated it). They never commit: the caller
does, so a refused request leaves nothing behind, audit events included. Refusals of form input
raise `InvalidInput`.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid

from flask_babel import gettext
from sqlalchemy import select

from samenleren.audit.events import AuditAction
from samenleren.audit.services import record
from samenleren.core.db import utcnow
from samenleren.core.errors_input import InvalidInput
from samenleren.core.extensions import db
from samenleren.identity.models import User
from samenleren.scim.models import ScimToken

TOKEN_CREATED = AuditAction.SCIM_TOKEN_CREATED
TOKEN_REVOKED = AuditAction.SCIM_TOKEN_REVOKED


#: Makes a leaked token recognisable (secret scanners, logs): "slscim_" + 43 characters.
TOKEN_PREFIX = "slscim_"  # noqa: S105
TOKEN_NAME_LIMIT = 100
#: last_used_at is written at most this often per token, not on every request.
LAST_USED_RESOLUTION_SECONDS = 60


def hash_token(token: str) -> str:
    """SHA-256, hex. Enough for a random 256-bit token (see `ScimToken`)."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    name: str, *, actor: User | None = None, actor_label: str = ""
) -> tuple[ScimToken, str]:
    """A new token of the current tenant; returns the row and the token, which is never stored.

    Raises `InvalidInput` (field `name`) for a missing or too long name.
    """
    name = " ".join(name.split())
    if not name:
        raise InvalidInput(
            {"name": gettext("Give the token a name, e.g. the system that uses it.")}
        )
    if len(name) > TOKEN_NAME_LIMIT:
        raise InvalidInput(
            {"name": gettext("At most %(limit)d characters.", limit=TOKEN_NAME_LIMIT)}
        )
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ScimToken(
        name=name,
        token_hash=hash_token(token),
        created_by_id=getattr(actor, "id", None),
        created_by_label=actor_label or getattr(actor, "name", "") or "",
    )
    db.session.add(row)
    db.session.flush()
    record(
        TOKEN_CREATED,
        actor=actor,
        actor_label=actor_label,
        subject_type="scim_token",
        subject_id=row.id,
        details={"name": name},
    )
    return row, token


def list_tokens() -> list[ScimToken]:
    """Every token of the current tenant, revoked ones included, newest first."""
    return list(
        db.session.scalars(select(ScimToken).order_by(ScimToken.created_at.desc(), ScimToken.id))
    )


def get_token(token_id: uuid.UUID | str) -> ScimToken | None:
    try:
        key = token_id if isinstance(token_id, uuid.UUID) else uuid.UUID(str(token_id))
    except ValueError:
        return None
    return db.session.scalar(select(ScimToken).where(ScimToken.id == key))


def revoke_token(token: ScimToken, *, actor: User | None = None, actor_label: str = "") -> bool:
    """Revoke a token for good; False when it already was."""
    if token.revoked_at is not None:
        return False
    token.revoked_at = utcnow()
    record(
        TOKEN_REVOKED,
        actor=actor,
        actor_label=actor_label,
        subject_type="scim_token",
        subject_id=token.id,
        details={"name": token.name},
    )
    return True


def authenticate(token: str) -> ScimToken | None:
    """The current tenant's unrevoked token with this value, or None.

    The lookup runs in the tenant's scope (and behind its row-level security), so a token of
    another tenant is simply not found. Comparing hashes in the database leaks nothing useful
    through timing: an attacker who does not know the token cannot steer its hash.
    """
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = db.session.scalar(select(ScimToken).where(ScimToken.token_hash == hash_token(token)))
    if row is None or row.revoked_at is not None:
        return None
    now = utcnow()
    last = row.last_used_at
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=now.tzinfo)
    if last is None or (now - last).total_seconds() >= LAST_USED_RESOLUTION_SECONDS:
        row.last_used_at = now
    return row
