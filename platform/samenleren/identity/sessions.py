"""Login sessions: the server-side half of a login.

The Flask session cookie carries only the id of a `LoginSession` row (through Flask-Login). The row
belongs to one tenant, so the same cookie is anonymous under any other tenant (the scoped query
cannot see the row), and ending the row at logout makes every copy of the cookie worthless.

Why not Flask-Session: it would move the whole cookie payload server-side, but would neither bind a
login to a tenant nor put the login behind the tenant's row-level security; one small table does
both.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from flask import current_app, session
from flask_login import login_user, logout_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from samenleren.core import signals
from samenleren.core.config import LANGUAGES
from samenleren.core.db import as_utc, utcnow
from samenleren.core.extensions import db, login_manager
from samenleren.core.tenancy import current_tenant
from samenleren.identity.encryption import SecretUnreadable, decrypt_secret, encrypt_secret
from samenleren.identity.models import LoginSession, SignInLink, User


def start_login_session(user: User, *, id_token_hint: str | None = None) -> LoginSession:
    """Begin a fresh session for `user`: nothing from before the login survives (no fixation).
    `id_token_hint`: the login's ID token, for ending the session at the IdP at logout."""
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language
    hours = current_app.config["SAMENLEREN_SESSION_HOURS"]
    login = LoginSession(
        user_id=user.id,
        expires_at=utcnow() + timedelta(hours=hours),
        id_token_hint_encrypted=encrypt_secret(id_token_hint) if id_token_hint else None,
    )
    db.session.add(login)
    user.last_login_at = utcnow()
    if language in LANGUAGES and user.locale is None:
        # A language chosen before the first login is the person's choice: their mails (which
        # go out in the account's language) follow it too. A choice kept with the account
        # already is not overwritten by whatever this browser chose last.
        user.locale = language
    db.session.commit()
    user.login_session_id = login.id
    login_user(user)
    return login


def end_login_session(user: User) -> str | None:
    """End the user's current login; the ID token it was started with (for the IdP's logout),
    which is not kept after."""
    hint = None
    if user.login_session_id is not None:
        login = db.session.scalar(
            select(LoginSession).where(LoginSession.id == user.login_session_id)
        )
        if login is not None and login.ended_at is None:
            hint = _readable_hint(login.id_token_hint_encrypted)
            login.ended_at = utcnow()
            login.id_token_hint_encrypted = None
            db.session.commit()
    logout_user()
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language  # a language choice is not part of the login
    return hint


def _readable_hint(stored: str | None) -> str | None:
    """The kept ID token in plain text; None when there is none or no configured key decrypts it
    (the key was changed): then the logout stays local, which is all the token was for."""
    if stored is None:
        return None
    try:
        return decrypt_secret(stored)
    except SecretUnreadable:
        return None


def reencrypt_id_tokens(reencrypt) -> int:
    """Encrypt the active tenant's kept ID tokens with the newest platform key (part of
    `sso reencrypt-secrets`); how many. A token no key decrypts is dropped rather than blocking
    the rotation of our key: it only serves to end a session at the IdP, and lives for a login's
    hours at most. Does not commit."""
    count = 0
    for login in db.session.scalars(
        select(LoginSession).where(LoginSession.id_token_hint_encrypted.is_not(None))
    ):
        try:
            login.id_token_hint_encrypted = reencrypt(login.id_token_hint_encrypted)
            count += 1
        except SecretUnreadable:
            login.id_token_hint_encrypted = None
    return count


def revoke_access(user: User) -> int:
    """Everything that lets `user` in without a new login stops working, in the caller's
    transaction: open login sessions end, unused sign-in links are revoked, and the
    `access_revoked` signal lets calendars revoke the user's feeds. Every deprovisioning path
    (SCIM, withdrawing an external trainer) goes through here. Returns the sessions ended."""
    ended = end_all_sessions_of(user)
    revoke_sign_in_links(user)
    signals.access_revoked.send(user)
    return ended


def revoke_sign_in_links(user: User) -> None:
    """Every unused sign-in link of `user` stops working."""
    now = utcnow()
    for link in db.session.scalars(
        select(SignInLink).where(
            SignInLink.user_id == user.id,
            SignInLink.used_at.is_(None),
            SignInLink.revoked_at.is_(None),
        )
    ):
        link.revoked_at = now


def forget_expired_id_tokens() -> int:
    """Drop the ID tokens kept for logout at the IdP from the active tenant's logins that
    expired or ended; how many. Does not commit."""
    rows = db.session.scalars(
        select(LoginSession).where(
            LoginSession.id_token_hint_encrypted.is_not(None),
            (LoginSession.expires_at <= utcnow()) | LoginSession.ended_at.is_not(None),
        )
    ).all()
    for login in rows:
        login.id_token_hint_encrypted = None
    return len(rows)


def end_all_sessions_of(user: User) -> int:
    """End every open login of a user (deprovisioning); returns how many were open."""
    open_logins = db.session.scalars(
        select(LoginSession).where(LoginSession.user_id == user.id, LoginSession.ended_at.is_(None))
    ).all()
    for login in open_logins:
        login.ended_at = utcnow()
        login.id_token_hint_encrypted = None
    return len(open_logins)


@login_manager.user_loader
def load_user(login_session_id: str) -> User | None:
    if current_tenant() is None:
        return None  # pages outside a tenant have no logged-in employee
    try:
        key = uuid.UUID(login_session_id)
    except ValueError:
        return None
    # One query for the login, its user and the user's roles: this runs on every page.
    login = (
        db.session.scalars(
            select(LoginSession)
            .where(LoginSession.id == key)
            .options(joinedload(LoginSession.user).joinedload(User.role_assignments))
        )
        .unique()
        .one_or_none()
    )
    if login is None or login.ended_at is not None or as_utc(login.expires_at) <= utcnow():
        return None
    user = login.user
    if not user.active:
        return None
    user.login_session_id = login.id
    return user
