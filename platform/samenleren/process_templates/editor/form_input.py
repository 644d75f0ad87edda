"""Reading the editor's forms: keys, whole numbers within the document's limits, texts per
language, roles, reminders, choices, and what the admin typed to show again on a refused form.

Each reader adds a translated message per form field to `errors` for input it cannot store (not
a number, out of range, a key that is malformed or taken); the step and field forms raise
`InvalidInput` with them at the end.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from flask_babel import gettext
from werkzeug.datastructures import MultiDict

from samenleren.core.config import LANGUAGES
from samenleren.core.errors_input import InvalidInput
from samenleren.identity.models import Role
from samenleren.process_templates.definition import is_valid_key
from samenleren.process_templates.editor.document import Direction

ROLES = list(Role)
#: Limits of the document (definition.py), checked here so that a save never stores nonsense.
OFFSET_DAYS = (-366, 731)
OFFSET_MONTHS = (-12, 24)
REMINDER_DAYS = (-90, 90)
REPEAT_MIN = (0, 20)
REPEAT_MAX = (1, 20)
INTERVAL_DAYS = (0, 366)
TEXT_MAX = 300


# --- keys -------------------------------------------------------------------------------------


def key_from(text: str, prefix: str) -> str:
    """A key from a (Dutch) name: "Voortgangsgesprek 2" -> "voortgangsgesprek_2"."""
    # Accents go (é -> e); every other character that is not a letter or digit separates words.
    plain = "".join(
        char for char in unicodedata.normalize("NFKD", text) if not unicodedata.combining(char)
    )
    key = re.sub(r"[^a-z0-9]+", "_", plain.lower()).strip("_")
    if not key or not key[0].isalpha():
        key = f"{prefix}_{key}".rstrip("_")
    return key[:40].rstrip("_")


def unique_key(base: str, taken: Iterable[str]) -> str:
    taken = set(taken)
    if base not in taken:
        return base
    number = 2
    while True:
        suffix = f"_{number}"
        candidate = base[: 40 - len(suffix)] + suffix
        if candidate not in taken:
            return candidate
        number += 1


def chosen_key(
    form: MultiDict, name: str, text: str, prefix: str, taken: set[str], errors: dict
) -> str:
    """The key typed in `name`; left blank, a free one made from `text` (a name or label)."""
    raw = (form.get(name) or "").strip()
    if not raw:
        return unique_key(key_from(text, prefix) or prefix, taken)
    if not is_valid_key(raw):
        errors[name] = gettext(
            "Use lower-case letters, digits and underscores, starting with a letter (at most 40)."
        )
    elif raw in taken:
        errors[name] = gettext("Another one already has the key “%(key)s”.", key=raw)
    return raw


# --- reading form values ----------------------------------------------------------------------


def whole_number(
    form: MultiDict, name: str, default: int, limits: tuple[int, int], errors: dict
) -> int:
    """The whole number in `name` (`default` when blank), within `limits` (both included)."""
    raw = (form.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        errors[name] = gettext("Enter a whole number, such as 14 or -7.")
        return default
    low, high = limits
    if not low <= value <= high:
        errors[name] = gettext("Enter a number from %(low)d to %(high)d.", low=low, high=high)
    return value


def texts_per_language(
    form: MultiDict, prefix: str, errors: dict, required: str | None = None
) -> dict:
    """`{language: text}` from the fields `<prefix>_<language>`; `required` must be filled in."""
    texts = {}
    for lang in LANGUAGES:
        value = (form.get(f"{prefix}_{lang}") or "").strip()
        if len(value) > TEXT_MAX:
            errors[f"{prefix}_{lang}"] = gettext("At most %(count)d characters.", count=TEXT_MAX)
        elif value:
            texts[lang] = value
    if required and required not in texts and f"{prefix}_{required}" not in errors:
        errors[f"{prefix}_{required}"] = gettext("Fill this in: it is the default language.")
    return texts


def chosen_roles(form: MultiDict, name: str) -> list[str]:
    """The roles ticked in `name`, in the usual order."""
    chosen = set(form.getlist(name))
    return [role.value for role in ROLES if role.value in chosen]


def parse_reminders(raw: str, errors: dict, name: str = "reminders") -> list[int]:
    days = []
    for part in (raw or "").replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            value = int(part)
        except ValueError:
            errors[name] = gettext(
                "Enter whole numbers of days separated by commas, such as 7, 1, -3."
            )
            return []
        low, high = REMINDER_DAYS
        if not low <= value <= high:
            errors[name] = gettext(
                "Every reminder is %(low)d to %(high)d days from the due date.", low=low, high=high
            )
            return []
        days.append(value)
    return days


def parse_choices(raw: str, errors: dict, name: str = "choices") -> list[dict]:
    """One choice a line: `key | Nederlands | English | Frysk` (English and Frisian optional)."""
    choices: list[dict] = []
    keys: set[str] = set()
    for number, line in enumerate((raw or "").splitlines(), start=1):
        if not line.strip():
            continue
        parts = [part.strip() for part in line.split("|")]
        key, labels = parts[0], parts[1:]
        if len(labels) > len(LANGUAGES):
            errors[name] = gettext(
                "Line %(number)d: at most a key and three labels, separated by |.", number=number
            )
            return []
        if not is_valid_key(key):
            errors[name] = gettext(
                "Line %(number)d: “%(key)s” is not a valid key (lower-case letters, digits and "
                "underscores, starting with a letter).",
                number=number,
                key=key,
            )
            return []
        if key in keys:
            errors[name] = gettext(
                "Line %(number)d: the key “%(key)s” is used twice.", number=number, key=key
            )
            return []
        keys.add(key)
        label = {lang: text for lang, text in zip(LANGUAGES, labels, strict=False) if text}
        if any(len(text) > TEXT_MAX for text in label.values()):
            errors[name] = gettext("Line %(number)d is too long.", number=number)
            return []
        choices.append({"key": key, "label": label})
    return choices


def choices_text(choices: object) -> str:
    lines = []
    for choice in choices if isinstance(choices, list) else []:
        if not isinstance(choice, dict):
            continue
        label = choice.get("label")
        if not isinstance(label, dict):
            label = {}
        parts = [str(choice.get("key", ""))] + [label.get(lang, "") for lang in LANGUAGES]
        while parts and not parts[-1]:
            parts.pop()
        lines.append(" | ".join(parts))
    return "\n".join(lines)


# --- showing a refused form again, and moving ----------------------------------------------------


def form_values(form: MultiDict) -> dict:
    """What the admin typed, to show again on a refused form."""
    values: dict = {key: form.get(key, "") for key in form}
    for name in ("participants", "responsible", "editors", "readers"):
        values[name] = form.getlist(name)
    for name in ("optional", "confidential", "required", "per_goal"):
        values[name] = form.get(name) == "1"
    return values


def parse_direction(form: MultiDict) -> Direction:
    try:
        return Direction(form.get("direction", ""))
    except ValueError:
        raise InvalidInput.form(gettext("Choose to move it up or down.")) from None
