"""Language selection: the user's explicit choice, else the tenant's default, else Dutch."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import has_request_context, request, session
from flask_babel import get_translations
from flask_login import current_user
from jinja2 import pass_context
from markupsafe import Markup

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


# --- `_()` in templates ---------------------------------------------------------------------------


def template_gettext(translations: Any) -> Callable[..., str]:
    """`_()` / `gettext()` in a template bound straight to one language's catalogue: what
    Jinja's i18n extension does with Flask-Babel's callables (newstyle: always %-formatted,
    Markup when autoescaping), minus Flask-Babel's catalogue lookup on every call (several
    lookups of the request's context each: a page makes about a hundred such calls)."""

    @pass_context
    def gettext(__context: Any, __string: str, **variables: Any) -> str:
        value = translations.ugettext(__string)
        if __context.eval_ctx.autoescape:
            value = Markup(value)  # noqa: S704 - our own catalogue, as in Jinja's i18n
        return value % variables

    return gettext


def template_ngettext(translations: Any) -> Callable[..., str]:
    @pass_context
    def ngettext(__context: Any, __singular: str, __plural: str, __num: int, **variables: Any):
        variables.setdefault("num", __num)
        value = translations.ungettext(__singular, __plural, __num)
        if __context.eval_ctx.autoescape:
            value = Markup(value)  # noqa: S704 - our own catalogue, as in Jinja's i18n
        return value % variables

    return ngettext


def template_translations() -> dict[str, Any]:
    """Context processor: the page's `_()` and `ngettext()` bound to the catalogue of the
    language it is rendered in (looked up once per rendering, so `force_locale` holds).
    Macros imported without context keep Flask-Babel's own callables, which mean the same."""
    translations = get_translations()
    return {
        "gettext": template_gettext(translations),
        "ngettext": template_ngettext(translations),
    }
