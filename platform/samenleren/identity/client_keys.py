"""The tenant's key pairs for `private_key_jwt` client authentication (RFC 7523).

With `private_key_jwt` the platform proves itself at the IdP's token endpoint with a short JWT
signed by its own private key instead of a shared secret (what OpenID NLGov asks). The key
pairs are the platform's, one set per tenant: generated here (RSA 2048, `joserfc`), the private
key kept encrypted like the client secret (`identity.encryption`), the public keys published at
the tenant's JWKS address (`/<tenant>/sso/jwks.json`, `sso_views.jwks`), which the province's
administrator gives to Entra ID or its broker.

Rotation with overlap: `rotate_client_key` adds a new key, which signs from then on, while the
previous one stays published, so an IdP that cached the JWKS still recognises assertions made
just before; `retire_previous_keys` takes the older keys out of the JWKS (and forgets their
private part). At most two keys are published at a time. Every step is audited by key id.

The caller activates the tenant. Nothing here commits.
"""

from __future__ import annotations

import json

from flask_babel import gettext
from joserfc.jwk import RSAKey
from sqlalchemy import select

from samenleren.audit.events import AuditAction
from samenleren.audit.services import record
from samenleren.core.db import utcnow
from samenleren.core.errors_input import InvalidInput
from samenleren.core.extensions import db
from samenleren.core.tenant import Tenant
from samenleren.identity.encryption import SecretUnreadable, decrypt_secret, encrypt_secret
from samenleren.identity.models import ClientKey, User

#: The signing algorithm of the assertions, as the JWKS states it for each key.
ALGORITHM = "RS256"
KEY_SIZE = 2048
#: At most this many keys are published at once: the signing key and the one before it.
PUBLISHED_MAX = 2


class ClientKeyMissing(RuntimeError):
    """The tenant has no usable signing key (none made yet, or it cannot be decrypted)."""


def published_keys() -> list[ClientKey]:
    """The active tenant's keys in its JWKS, newest (the signing key) first."""
    return list(
        db.session.scalars(
            select(ClientKey)
            .where(ClientKey.retired_at.is_(None))
            .order_by(ClientKey.created_at.desc(), ClientKey.kid)
        )
    )


def jwks() -> dict[str, list[dict]]:
    """The active tenant's public keys as a JWK set (RFC 7517); never a private part."""
    return {"keys": [_public_only(key.public_jwk) for key in published_keys()]}


def _public_only(jwk: dict) -> dict:
    """Defence in depth: whatever was stored, only the public members of an RSA key leave."""
    return {name: jwk[name] for name in ("kty", "kid", "use", "alg", "n", "e") if name in jwk}


def signing_key() -> tuple[str, RSAKey]:
    """The active tenant's current key id and private key, for signing the client assertion.
    Raises `ClientKeyMissing` when there is none or it cannot be decrypted."""
    keys = published_keys()
    if not keys or keys[0].private_key_encrypted is None:
        raise ClientKeyMissing("no key pair for private_key_jwt has been made")
    try:
        pem = decrypt_secret(keys[0].private_key_encrypted)
    except SecretUnreadable as exc:
        raise ClientKeyMissing(
            "the private key cannot be decrypted with SAMENLEREN_SECRET_ENCRYPTION_KEY "
            "(was the key changed?)"
        ) from exc
    return keys[0].kid, RSAKey.import_key(pem)


def _new_key() -> ClientKey:
    private = RSAKey.generate_key(KEY_SIZE, private=True)
    kid = private.thumbprint()
    public = private.as_dict(private=False) | {"kid": kid, "use": "sig", "alg": ALGORITHM}
    key = ClientKey(
        kid=kid,
        private_key_encrypted=encrypt_secret(private.as_pem(private=True).decode("ascii")),
        public_jwk=json.loads(json.dumps(public)),
        created_at=utcnow(),
    )
    db.session.add(key)
    return key


def rotate_client_key(tenant: Tenant, actor: User | None, *, actor_label: str = "") -> ClientKey:
    """Make a new key pair that signs from now on; the previous key stays published until it is
    retired. The first key of a tenant is made the same way. Refused (InvalidInput) while two
    keys are published already: retire the older one first."""
    published = published_keys()
    if len(published) >= PUBLISHED_MAX:
        raise InvalidInput.form(
            gettext(
                "Two keys are published already. Retire the previous key first, once the "
                "identity provider knows the current one."
            )
        )
    key = _new_key()
    record(
        AuditAction.SSO_KEY_ROTATED if published else AuditAction.SSO_KEY_CREATED,
        actor=actor,
        actor_label=actor_label,
        subject_type="tenant",
        subject_id=tenant.id,
        details={"kid": key.kid} | ({"previous": published[0].kid} if published else {}),
    )
    db.session.flush()
    # No client to forget: the key id is part of the cached client's fingerprint
    # (identity.oidc), so the next login signs with the new key.
    return key


def retire_previous_keys(tenant: Tenant, actor: User | None, *, actor_label: str = "") -> int:
    """Take every key but the signing one out of the JWKS; its private part is forgotten.
    Returns how many were retired; refused (InvalidInput) when there is nothing to retire."""
    older = published_keys()[1:]
    if not older:
        raise InvalidInput.form(gettext("There is no previous key to retire."))
    now = utcnow()
    for key in older:
        key.retired_at = now
        key.private_key_encrypted = None
        record(
            AuditAction.SSO_KEY_RETIRED,
            actor=actor,
            actor_label=actor_label,
            subject_type="tenant",
            subject_id=tenant.id,
            details={"kid": key.kid},
        )
    db.session.flush()
    return len(older)


def reencrypt_client_keys(reencrypt) -> int:
    """Encrypt every stored private key of the active tenant with the newest platform key."""
    count = 0
    for key in db.session.scalars(
        select(ClientKey).where(ClientKey.private_key_encrypted.is_not(None))
    ):
        key.private_key_encrypted = reencrypt(key.private_key_encrypted)
        count += 1
    return count
