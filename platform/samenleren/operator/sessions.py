"""Operator logins: the server-side half, kept apart from tenant logins.

A tenant login is Flask-Login's `_user_id` naming a tenant's `LoginSession`; it is only ever read
under `/<tenant>/`. An operator login is `session[SESSION_KEY]` naming an `OperatorLoginSession`;
it is only ever read by the console (`current_operator()` refuses inside a tenant). Neither key
means anything to the other side, so an operator is anonymous on every tenant page and a tenant
user is a stranger to the console. Logging in as either clears the whole cookie first (no
session fixation), which also ends the other kind of login in that browser.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from flask import current_app, g, session
from sqlalchemy import select

from samenleren.core.db import as_utc, utcnow
from samenleren.core.extensions import db
from samenleren.core.tenancy import current_tenant
from samenleren.identity.models import PlatformOperator
from samenleren.operator.models import OperatorLoginSession

SESSION_KEY = "operator_login"
_CACHE = "_operator_login"


def _fresh_cookie() -> None:
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language  # a language choice is not part of a login


def start_operator_session(operator: PlatformOperator, *, by_group: bool) -> OperatorLoginSession:
    """Begin a fresh console session for `operator`; commits."""
    _fresh_cookie()
    hours = current_app.config["SAMENLEREN_SESSION_HOURS"]
    login = OperatorLoginSession(
        operator_id=operator.id, expires_at=utcnow() + timedelta(hours=hours), by_group=by_group
    )
    db.session.add(login)
    db.session.commit()
    session[SESSION_KEY] = str(login.id)
    return login


def current_login() -> OperatorLoginSession | None:
    """The open operator login of this request, or None (always None inside a tenant)."""
    if current_tenant() is not None:
        return None
    if _CACHE in g:
        return g.get(_CACHE)
    g.setdefault(_CACHE, None)
    try:
        key = uuid.UUID(str(session.get(SESSION_KEY, "")))
    except ValueError:
        return None
    # One query: the login with its operator (joined).
    login = db.session.scalar(select(OperatorLoginSession).where(OperatorLoginSession.id == key))
    if login is None or login.ended_at is not None or as_utc(login.expires_at) <= utcnow():
        return None
    if not may_stay(login):
        return None
    setattr(g, _CACHE, login)
    return login


def current_operator() -> PlatformOperator | None:
    login = current_login()
    return login.operator if login is not None else None


def may_stay(login: OperatorLoginSession) -> bool:
    """Whether a logged-in operator keeps access. One let in by subject and then taken off
    SAMENLEREN_OPERATORS loses it at the next request; one let in as a group member keeps it
    while SAMENLEREN_OPERATOR_GROUP is set (the group claim is seen again at the next login)."""
    config = current_app.config
    if login.by_group:
        return bool(config["SAMENLEREN_OPERATOR_GROUP"])
    return login.operator.subject in config["SAMENLEREN_OPERATORS"]


def end_operator_session() -> None:
    """Logout: the login row is ended for good, then the cookie is cleared; commits."""
    login = current_login()
    if login is not None:
        login.ended_at = utcnow()
        db.session.commit()
    g.pop(_CACHE, None)
    _fresh_cookie()
