"""Language selection: the user's explicit choice, else the tenant's default, else Dutch."""

from __future__ import annotations

from flask import has_request_context, request, session
from flask_login import current_user

from samenleren.core.config import DEFAULT_LOCALE, LANGUAGES
from samenleren.core.tenancy import current_tenant

#: Names of the languages in the languages themselves, for the switcher.
LANGUAGE_NAMES = {"nl": "Nederlands", "en": "English", "fy": "Frysk"}

SESSION_KEY = "lang"


def remember_language_choice(persist: bool = True) -> None:
    """`?lang=xx` on any page switches the language and remembers it (before_request hook).

    `persist=False` keeps the choice in the session only (error pages: no database writes).
    """
    choice = request.args.get("lang")
    if choice not in LANGUAGES:
        return
    session[SESSION_KEY] = choice
    # A logged-in employee's choice is kept with their account too, so it follows them to
    # another browser and survives logout.
    if (
        persist
        and current_user.is_authenticated
        and getattr(current_user, "locale", None) != choice
    ):
        from samenleren.core.extensions import db

        current_user.locale = choice
        db.session.commit()


def select_locale() -> str:
    if has_request_context():
        choice = session.get(SESSION_KEY)
        if choice in LANGUAGES:
            return choice
        user_locale = getattr(current_user, "locale", None)
        if user_locale in LANGUAGES:
            return user_locale
    tenant = current_tenant()
    if tenant is not None:
        return tenant.default_locale
    return DEFAULT_LOCALE
