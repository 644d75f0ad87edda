"""The tenant's own words for the main nouns of the interface: the read side.

A province may call its learning coaches "maatjes" or its learners "deelnemers aan het
programma" without touching the translations: `Tenant.terminology` holds, per language, a
singular and a plural for each of the nouns in `TERMS`; `term(key, plural)` gives the word for
the current tenant and language, and the translated default where the tenant chose none. It is a
Jinja global (`{{ term("coach") }}`) and is used wherever one of these nouns stands on its own:
navigation, headings, table headers, role names, the dashboard switcher. Sentences that contain
the noun ("Learners without a learning coach") keep their translation.

Changing the words (the settings page) belongs to the tenants domain (`tenants.terminology`).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import get_locale, gettext
from flask_babel import lazy_gettext as _l

from samenleren.core.tenancy import current_tenant


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
            _l("Who runs the programme in the application (the programme administrator role)."),
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

#: The term that names each role, by the role's value (identity's `Role` is a string enum whose
#: values these are; the core does not import it).
ROLE_TERMS = {
    "learner": "learner",
    "coach": "coach",
    "manager": "manager",
    "trainer": "trainer",
    "programme_admin": "programme_admin",
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


def role_term(role: str, plural: bool = False) -> str:
    """The word for a role ("Learning coach", or the tenant's own); `role` is a `Role`."""
    try:
        key = ROLE_TERMS[str(role)]
    except KeyError:
        raise ValueError(f"{role!r} is not a role") from None
    return term(key, plural)


def in_sentence(word: str) -> str:
    """A noun for use inside a sentence: first letter lower case, unless it is an abbreviation
    ("HR-adviseur" stays as it is)."""
    if len(word) > 1 and word[0].isupper() and not word[1].isupper():
        return word[0].lower() + word[1:]
    return word


def role_name(role: str) -> str:
    """The role with its article, for sentences: "the learning coach" ("de maatje")."""
    return gettext("the %(role)s", role=in_sentence(role_term(role)))
