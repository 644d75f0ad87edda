"""The tenant's own words for the main nouns of the interface (issue 5, part 7).

A province may call its learning coaches "maatjes" or its learners "deelnemers aan het
programma" without touching the translations: `Tenant.terminology` holds, per language, a
singular and a plural for each of the nouns in `TERMS`; `term(key, plural)` gives the word for
the current tenant and language, and the translated default where the tenant chose none. It is a
Jinja global (`{{ term("coach") }}`) and is used wherever one of these nouns stands on its own:
navigation, headings, table headers, role names, the dashboard switcher. Sentences that contain
the noun ("Learners without a learning coach") keep their translation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask_babel import force_locale, get_locale, gettext
from flask_babel import lazy_gettext as _l

from samenleren.config import LANGUAGES
from samenleren.core.errors_input import InvalidInput
from samenleren.core.tenancy import current_tenant
from samenleren.identity.models import Role

#: The most characters a word may have (a heading or a table header must stay readable).
TERM_LIMIT = 40
#: Letters (any script), digits, spaces, hyphens, apostrophes, dots and slashes; no markup.
_ALLOWED = re.compile(r"^[\w][\w .'’/-]*$")
FORMS = ("one", "other")


@dataclass(frozen=True)
class Term:
    key: str
    one: object  #: a lazy string: the default singular in the current language
    other: object  #: ... and plural
    #: What the word names, for the settings page.
    explanation: object


TERMS: dict[str, Term] = {
    term.key: term
    for term in (
        Term(
            "coach",
            _l("Learning coach"),
            _l("Learning coaches"),
            _l("The colleague who coaches a learner (the coach role)."),
        ),
        Term(
            "learner",
            _l("Learner"),
            _l("Learners"),
            _l("The employee who takes a training (the learner role)."),
        ),
        Term(
            "manager",
            _l("Manager"),
            _l("Managers"),
            _l("The learner's line manager (the manager role)."),
        ),
        Term(
            "trainer",
            _l("Trainer"),
            _l("Trainers"),
            _l("Who gives the training (the trainer role)."),
        ),
        Term(
            "programme_admin",
            _l("Programme administrator"),
            _l("Programme administrators"),
            _l("Who runs the programme in the application (the programme admin role)."),
        ),
        Term(
            "coach_day",
            _l("Coach day"),
            _l("Coach days"),
            _l("A meeting day of the learning coaches."),
        ),
        Term(
            "trajectory",
            _l("Trajectory"),
            _l("Trajectories"),
            _l("One learner's way through a training, from learning goals to the return day."),
        ),
    )
}

#: The term that names each role.
ROLE_TERMS = {
    Role.LEARNER: "learner",
    Role.COACH: "coach",
    Role.MANAGER: "manager",
    Role.TRAINER: "trainer",
    Role.PROGRAMME_ADMIN: "programme_admin",
}


def _locale() -> str:
    locale = get_locale()
    return str(locale) if locale is not None else "nl"


def term(key: str, plural: bool = False) -> str:
    """The current tenant's word for `key` in the current language (else the default word)."""
    spec = TERMS[key]
    form = "other" if plural else "one"
    tenant = current_tenant()
    if tenant is not None and tenant.terminology:
        chosen = tenant.terminology.get(_locale(), {}).get(key, {}).get(form)
        if chosen:
            return chosen
    return str(spec.other if plural else spec.one)


def role_term(role: Role | str, plural: bool = False) -> str:
    """The word for a role ("Learning coach", or the tenant's own)."""
    return term(ROLE_TERMS[Role(role)], plural)


def in_sentence(word: str) -> str:
    """A noun for use inside a sentence: first letter lower case, unless it is an abbreviation
    ("HR-adviseur" stays as it is)."""
    if len(word) > 1 and word[0].isupper() and not word[1].isupper():
        return word[0].lower() + word[1:]
    return word


def role_name(role: Role) -> str:
    """The role with its article, for sentences: "the learning coach" ("de maatje")."""
    return gettext("the %(role)s", role=in_sentence(role_term(role)))


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
    from samenleren.audit.events import AuditAction
    from samenleren.audit.services import record
    from samenleren.extensions import db

    if not actor.has_role(Role.PROGRAMME_ADMIN):
        raise InvalidInput.form(
            gettext("Only the programme administrator changes the programme's settings.")
        )
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
