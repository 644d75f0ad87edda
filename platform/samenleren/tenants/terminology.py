"""Changing the tenant's own words for the main nouns: the terminology settings page.

Reading them (`term`, `role_term`, the nouns in `TERMS`) is `core.terminology`: every page uses
it. Here: the translated defaults for the form, validation and the audited update.
"""

from __future__ import annotations

import re

from flask_babel import force_locale, gettext

from samenleren.audit.events import AuditAction
from samenleren.audit.services import record
from samenleren.core.config import LANGUAGES
from samenleren.core.errors_input import InvalidInput
from samenleren.core.extensions import db
from samenleren.core.terminology import TERMS
from samenleren.tenants.services import require_programme_admin

#: The most characters a word may have (a heading or a table header must stay readable).
TERM_LIMIT = 40
#: Letters (any script), digits, spaces, hyphens, apostrophes, dots and slashes; no markup.
_ALLOWED = re.compile(r"^[\w][\w .'’/-]*$")
FORMS = ("one", "other")


# --- the settings page ------------------------------------------------------------------------


def default_words() -> dict[str, dict[str, tuple[str, str]]]:
    """{lang: {key: (singular, plural)}}: the translated default words, for the settings page."""
    words: dict[str, dict[str, tuple[str, str]]] = {}
    for lang in LANGUAGES:
        with force_locale(lang):
            words[lang] = {key: (str(spec.one), str(spec.other)) for key, spec in TERMS.items()}
    return words


def field_name(lang: str, key: str, form: str) -> str:
    return f"{lang}-{key}-{form}"


def clean_terminology(submitted: dict[str, dict[str, dict[str, str]]]) -> dict:
    """Check `{lang: {key: {form: word}}}`; blank words are dropped (the default applies).

    Raises `InvalidInput` naming each refused field (`nl-coach-one`): too long, or markup and
    other characters that are no part of a word.
    """
    errors: dict[str, str] = {}
    clean: dict[str, dict[str, dict[str, str]]] = {}
    for lang, words in submitted.items():
        if lang not in LANGUAGES:
            raise InvalidInput.form(gettext("Unknown language."))
        for key, forms in words.items():
            if key not in TERMS:
                raise InvalidInput.form(gettext("Unknown word."))
            for form, raw in forms.items():
                if form not in FORMS:
                    raise InvalidInput.form(gettext("Unknown word."))
                word = " ".join((raw or "").split())
                if not word:
                    continue
                name = field_name(lang, key, form)
                if len(word) > TERM_LIMIT:
                    errors[name] = gettext("At most %(count)d characters.", count=TERM_LIMIT)
                elif not _ALLOWED.match(word):
                    errors[name] = gettext(
                        "Use letters, digits, spaces, hyphens and apostrophes only."
                    )
                else:
                    clean.setdefault(lang, {}).setdefault(key, {})[form] = word
    if errors:
        raise InvalidInput(errors)
    return clean


def changed_words(before: dict, after: dict) -> list[str]:
    """The fields (`nl-coach-one`) whose word differs, for the audit log."""
    names = []
    for lang in LANGUAGES:
        for key in TERMS:
            for form in FORMS:
                old = (before or {}).get(lang, {}).get(key, {}).get(form, "")
                new = (after or {}).get(lang, {}).get(key, {}).get(form, "")
                if old != new:
                    names.append(field_name(lang, key, form))
    return names


def update_terminology(tenant, submitted: dict, actor) -> list[str]:
    """Store the tenant's words (blank: the default); audited. Returns the changed fields."""
    require_programme_admin(actor)
    clean = clean_terminology(submitted)
    changed = changed_words(tenant.terminology or {}, clean)
    if not changed:
        return []
    tenant.terminology = clean
    record(
        AuditAction.TERMINOLOGY_CHANGED,
        actor=actor,
        subject_type="tenant",
        subject_id=tenant.id,
        details={"changed": changed},
    )
    db.session.flush()
    return changed
