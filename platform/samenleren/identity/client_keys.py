"""The tenant's key pairs for `private_key_jwt` client authentication (RFC 7523).

With `private_key_jwt` the platform proves itself at the IdP's token endpoint with a short JWT
signed by its own private key instead of a shared secret (what OpenID NLGov asks). The key
pairs are the platform's, one set per tenant: generated here (RSA 2048, `joserfc`), the private
key kept encrypted like the client secret (`identity.encryption`), the public keys published at
the tenant's JWKS address (`/<tenant>/sso/jwks.json`, `sso_views.jwks`), which the province's
administrator gives to Entra ID or its broker.

Microsoft Entra ID fetches no JWKS for client assertions: it takes an uploaded certificate of
the public key ("Certificates & secrets" of the app registration) and picks it by the
assertion header's `x5t`, the base64url SHA-1 thumbprint of the certificate's DER encoding
(its newer documentation names `x5t#S256`, the SHA-256 one). So each key pair comes with a
self-signed X.509 certificate (`cryptography`), valid for `CERTIFICATE_DAYS`, stored beside the
key and offered for download on the SSO settings page; the assertion's header carries `kid`,
`x5t` and `x5t#S256`, so an IdP that reads the JWKS and one that holds the certificate both find
the key. A certificate is public; it proves nothing by itself (the IdP trusts it because the
province's administrator uploaded it).

Rotation with overlap: `rotate_client_key` adds a new key, which signs from then on, while the
previous one stays published, so an IdP that cached the JWKS still recognises assertions made
just before; `retire_previous_keys` takes the older keys out of the JWKS (and forgets their
private part). At most two keys are published at a time. Every step is audited by key id.

The caller activates the tenant. Nothing here commits.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.x509.oid import NameOID
from flask import current_app
from flask_babel import gettext
from joserfc.jwk import RSAKey
from sqlalchemy import select
from sqlalchemy.util import LRUCache

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
#: How long a key's certificate is valid: the key's intended life. Entra ID refuses assertions
#: once the uploaded certificate has expired, so the key is rotated before then.
CERTIFICATE_DAYS = 730
#: The common name of a certificate has at most 64 characters (RFC 5280, ub-common-name).
COMMON_NAME_MAX = 64


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


@dataclass(frozen=True)
class Certificate:
    """What the SSO settings page and the assertion header need of a key's certificate."""

    pem: str
    #: The SHA-1 thumbprint in hexadecimal capitals, as Entra ID lists its certificates.
    thumbprint: str
    #: `x5t` and `x5t#S256`: base64url SHA-1 and SHA-256 of the DER encoding (RFC 7515).
    x5t: str
    x5t_s256: str
    expires_at: datetime


def _b64url(digest: bytes) -> str:
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def certificate_of(key: ClientKey) -> Certificate | None:
    """The key's certificate, or None for a key made before certificates were."""
    if not key.certificate_pem:
        return None
    certificate = x509.load_pem_x509_certificate(key.certificate_pem.encode("ascii"))
    der = certificate.public_bytes(serialization.Encoding.DER)
    sha1 = hashlib.sha1(der, usedforsecurity=False).digest()  # what x5t is defined as
    return Certificate(
        pem=key.certificate_pem,
        thumbprint=sha1.hex().upper(),
        x5t=_b64url(sha1),
        x5t_s256=_b64url(hashlib.sha256(der).digest()),
        expires_at=certificate.not_valid_after_utc,
    )


def published_certificate(kid: str) -> tuple[ClientKey, Certificate] | None:
    """A published key of the active tenant and its certificate, by key id; None when the
    tenant has no such key (another tenant's key is not seen: the query is the tenant's)."""
    key = db.session.scalar(
        select(ClientKey).where(ClientKey.kid == kid, ClientKey.retired_at.is_(None))
    )
    certificate = certificate_of(key) if key is not None else None
    return (key, certificate) if key is not None and certificate is not None else None


def make_certificate(private: RSAKey, tenant: Tenant, *, now: datetime) -> str:
    """A self-signed certificate (PEM) of the key pair, naming the platform and the tenant,
    valid for `CERTIFICATE_DAYS` from `now` (a few minutes before, for clocks that lag)."""
    name = x509.Name(
        [
            x509.NameAttribute(
                NameOID.COMMON_NAME, f"Samen Leren {tenant.slug} private_key_jwt"[:COMMON_NAME_MAX]
            ),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Samen Leren"),
        ]
    )
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=CERTIFICATE_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(cast(RSAPrivateKey, private.private_key), hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


def assertion_header(key: ClientKey) -> dict[str, str]:
    """The key's members of the client assertion's JWT header: `kid` for an IdP that reads the
    JWKS, `x5t` and `x5t#S256` for one that holds the uploaded certificate (Entra ID)."""
    certificate = certificate_of(key)
    if certificate is None:
        return {"kid": key.kid}
    return {"kid": key.kid, "x5t": certificate.x5t, "x5t#S256": certificate.x5t_s256}


#: Private keys as imported, by key id, ciphertext and the encryption keys that read it.
#: Importing an RSA private key checks it (some 45 ms of CPU), and every login asks for the
#: signing key twice (its start and its callback); the tenant's key changes only by rotation
#: (a new key id). Holds what the cached OIDC clients hold already (`oidc.cached_client`).
_imported: LRUCache[tuple[str, str, tuple[str, ...]], RSAKey] = LRUCache(1000)
_imported_lock = threading.Lock()


def signing_key() -> tuple[dict[str, str], RSAKey]:
    """The active tenant's current key, for signing the client assertion: its header members
    (`assertion_header`, the key id first) and its private key. Raises `ClientKeyMissing`
    when there is none or it cannot be decrypted."""
    keys = published_keys()
    encrypted = keys[0].private_key_encrypted if keys else None
    if encrypted is None:
        raise ClientKeyMissing("no key pair for private_key_jwt has been made")
    current = keys[0]
    encryption_keys = tuple(current_app.config["SAMENLEREN_SECRET_ENCRYPTION_KEYS"])
    imported_as = (current.kid, encrypted, encryption_keys)
    with _imported_lock:
        private = _imported.get(imported_as)
    if private is None:
        try:
            pem = decrypt_secret(encrypted)
        except SecretUnreadable as exc:
            raise ClientKeyMissing(
                "the private key cannot be decrypted with SAMENLEREN_SECRET_ENCRYPTION_KEY "
                "(was the key changed?)"
            ) from exc
        private = RSAKey.import_key(pem)
        with _imported_lock:
            _imported[imported_as] = private
    return assertion_header(current), private


def _new_key(tenant: Tenant) -> ClientKey:
    private = RSAKey.generate_key(KEY_SIZE, private=True)
    kid = private.thumbprint()
    public = private.as_dict(private=False) | {"kid": kid, "use": "sig", "alg": ALGORITHM}
    now = utcnow()
    key = ClientKey(
        kid=kid,
        private_key_encrypted=encrypt_secret(private.as_pem(private=True).decode("ascii")),
        public_jwk=json.loads(json.dumps(public)),
        created_at=now,
        certificate_pem=make_certificate(private, tenant, now=now),
    )
    db.session.add(key)
    return key


def rotate_client_key(tenant: Tenant, actor: User | None, *, actor_label: str = "") -> ClientKey:
    """Make a new key pair, with its certificate, that signs from now on; the previous key (and
    certificate) stays published until it is retired. The first key of a tenant is made the
    same way. Refused (InvalidInput) while two
    keys are published already: retire the older one first."""
    published = published_keys()
    if len(published) >= PUBLISHED_MAX:
        raise InvalidInput.form(
            gettext(
                "Two keys are published already. Retire the previous key first, once the "
                "identity provider knows the current one."
            )
        )
    key = _new_key(tenant)
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
