"""Secrets kept in the database, encrypted with keys that live only in the environment.

Fernet (AES-128-CBC with HMAC-SHA256, from `cryptography`) through `MultiFernet`: the first key
of `SAMENLEREN_SECRET_ENCRYPTION_KEY` encrypts, every key decrypts. To rotate our own key, put the
new key first, keep the old one after it, run `flask --app samenleren sso reencrypt-secrets`,
then drop the old key. A copy of the database without the environment reveals no secret.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app


class SecretUnreadable(RuntimeError):
    """A stored secret that none of the configured keys can decrypt (e.g. the key changed)."""


def _fernet() -> MultiFernet:
    keys = current_app.config["SAMENLEREN_SECRET_ENCRYPTION_KEYS"]
    return MultiFernet([Fernet(key) for key in keys])


def encrypt_secret(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode("ascii")


def decrypt_secret(stored: str) -> str:
    try:
        return _fernet().decrypt(stored.encode("ascii")).decode()
    except (InvalidToken, UnicodeError) as exc:
        raise SecretUnreadable(
            "the stored secret cannot be decrypted with SAMENLEREN_SECRET_ENCRYPTION_KEY"
        ) from exc


def reencrypt_secret(stored: str) -> str:
    """The same secret encrypted with the first (newest) key."""
    try:
        return _fernet().rotate(stored.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeError) as exc:
        raise SecretUnreadable(
            "the stored secret cannot be decrypted with SAMENLEREN_SECRET_ENCRYPTION_KEY"
        ) from exc
