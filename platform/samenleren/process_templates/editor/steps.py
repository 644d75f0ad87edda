"""Editing a draft's document step by step: the editor's forms and the changes they make.

Every change reads a form, refuses input it cannot store (`InvalidInput`: not a number, out of
range, a key that is taken or malformed, a reader the step may never have) and otherwise writes
the draft's whole document. What is storable but not yet publishable (nobody responsible, a
timing anchored to a later step ...) is saved and listed by `drafts.validate_definition`.
"""

from __future__ import annotations

import copy
import enum
import re
import unicodedata
from collections.abc import Iterable

from flask_babel import gettext
from werkzeug.datastructures import MultiDict

from samenleren.core.config import LANGUAGES
from samenleren.core.errors_input import InvalidInput
from samenleren.identity.models import Role
from samenleren.process_templates.definition import (
    MAX_FIELDS,
    MAX_STEPS,
    SCHEMA_VERSION,
    Anchor,
    FieldType,
    StepKind,
    is_valid_key,
    reader_ceiling,
)
from samenleren.process_templates.drafts import save_draft_definition
from samenleren.process_templates.models import TemplateVersion

ROLES = list(Role)
#: Limits of the document (definition.py), checked here so that a save never stores nonsense.
OFFSET_DAYS = (-366, 731)
OFFSET_MONTHS = (-12, 24)
REMINDER_DAYS = (-90, 90)
REPEAT_MIN = (0, 20)
REPEAT_MAX = (1, 20)
INTERVAL_DAYS = (0, 366)
TEXT_MAX = 300
STEP_PREFIX = "step:"


class Direction(enum.StrEnum):
    UP = "up"
    DOWN = "down"


class NotInDraft(LookupError):
    """The step or field named in the URL is not in the draft (the page answers 404)."""


# --- reading the document ---------------------------------------------------------------------


def document(draft: TemplateVersion) -> dict:
    """A copy of the draft's document in a shape the editor can work on."""
    data = copy.deepcopy(draft.definition) if isinstance(draft.definition, dict) else {}
    data.setdefault("schema_version", SCHEMA_VERSION)
    if not isinstance(data.get("steps"), list):
        data["steps"] = []
    data["steps"] = [step for step in data["steps"] if isinstance(step, dict)]
    for step in data["steps"]:
        if not isinstance(step.get("fields"), list):
            step["fields"] = []
        step["fields"] = [spec for spec in step["fields"] if isinstance(spec, dict)]
    return data


def step_index(data: dict, key: str) -> int:
    for index, step in enumerate(data["steps"]):
        if step.get("key") == key:
            return index
    raise NotInDraft(key)


def field_index(step: dict, key: str) -> int:
    for index, spec in enumerate(step["fields"]):
        if spec.get("key") == key:
            return index
    raise NotInDraft(key)


def text_in(texts: object, locale: str, fallback: str, default: str = "") -> str:
    if not isinstance(texts, dict):
        return default
    return texts.get(locale) or texts.get(fallback) or default


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


def _key(form: MultiDict, name: str, text: str, prefix: str, taken: set[str], errors: dict) -> str:
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


def _whole(form: MultiDict, name: str, default: int, limits: tuple[int, int], errors: dict) -> int:
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


def _texts(form: MultiDict, prefix: str, errors: dict, required: str | None = None) -> dict:
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


def _roles(form: MultiDict, name: str) -> list[str]:
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
        label = choice.get("label") if isinstance(choice.get("label"), dict) else {}
        parts = [str(choice.get("key", ""))] + [label.get(lang, "") for lang in LANGUAGES]
        while parts and not parts[-1]:
            parts.pop()
        lines.append(" | ".join(parts))
    return "\n".join(lines)


# --- the step form ----------------------------------------------------------------------------


def anchor_options(
    data: dict, index: int | None, locale: str = "nl", fallback: str = "nl"
) -> list[tuple[str, str]]:
    """What a step can be timed from: the fixed anchors and every step before it."""
    options = [
        (Anchor.ENROLMENT.value, gettext("The learner's enrolment")),
        (Anchor.EDITION_START.value, gettext("The start of the edition")),
        (Anchor.EDITION_END.value, gettext("The end of the edition")),
    ]
    earlier = data["steps"] if index is None else data["steps"][:index]
    return options + [
        (
            STEP_PREFIX + str(step.get("key")),
            gettext(
                "The step “%(name)s”",
                name=text_in(step.get("name"), locale, fallback, str(step.get("key"))),
            ),
        )
        for step in earlier
        if step.get("key")
    ]


def step_values(step: dict) -> dict:
    """The step form's values from a stored step."""
    timing = step.get("timing") if isinstance(step.get("timing"), dict) else {}
    repeat = step.get("repeat") if isinstance(step.get("repeat"), dict) else {}
    anchor = timing.get("anchor", Anchor.ENROLMENT.value)
    if anchor == Anchor.STEP.value:
        anchor = STEP_PREFIX + str(timing.get("step") or "")
    values: dict = {
        "key": step.get("key", ""),
        "kind": step.get("kind", StepKind.CONVERSATION.value),
        "participants": list(step.get("participants") or []),
        "responsible": list(step.get("responsible") or []),
        "anchor": anchor,
        "offset_days": str(timing.get("offset_days", 0)),
        "offset_months": str(timing.get("offset_months", 0)),
        "reminders": ", ".join(str(day) for day in step.get("reminders") or []),
        "repeat_min": str(repeat.get("min", 1)),
        "repeat_max": str(repeat.get("max", 1)),
        "repeat_interval": str(repeat.get("interval_days", 0)),
        "optional": bool(step.get("optional")),
        "confidential": bool(step.get("confidential")),
    }
    for lang in LANGUAGES:
        values[f"name_{lang}"] = text_in(step.get("name"), lang, lang)
        values[f"description_{lang}"] = text_in(step.get("description"), lang, lang)
    return values


def form_values(form: MultiDict) -> dict:
    """What the admin typed, to show again on a refused form."""
    values: dict = {key: form.get(key, "") for key in form}
    for name in ("participants", "responsible", "editors", "readers"):
        values[name] = form.getlist(name)
    for name in ("optional", "confidential", "required", "per_goal"):
        values[name] = form.get(name) == "1"
    return values


def _parse_step(form: MultiDict, data: dict, index: int | None, language: str) -> dict:
    errors: dict = {}
    existing = data["steps"][index] if index is not None else {}
    name = _texts(form, "name", errors, required=language)
    taken = {str(s.get("key")) for i, s in enumerate(data["steps"]) if i != index}
    key = _key(form, "key", name.get("nl") or name.get(language, ""), "step", taken, errors)
    try:
        kind = StepKind(form.get("kind", ""))
    except ValueError:
        errors["kind"] = gettext("Choose a kind of step.")
        kind = StepKind.CONVERSATION
    anchor_raw = form.get("anchor", "")
    allowed = {value for value, _ in anchor_options(data, index)}
    timing: dict = {}
    if anchor_raw not in allowed:
        errors["anchor"] = gettext("Choose a moment the step is timed from: only earlier steps.")
    elif anchor_raw.startswith(STEP_PREFIX):
        timing = {"anchor": Anchor.STEP.value, "step": anchor_raw[len(STEP_PREFIX) :]}
    else:
        timing = {"anchor": anchor_raw}
    timing["offset_days"] = _whole(form, "offset_days", 0, OFFSET_DAYS, errors)
    timing["offset_months"] = _whole(form, "offset_months", 0, OFFSET_MONTHS, errors)
    repeat = {
        "min": _whole(form, "repeat_min", 1, REPEAT_MIN, errors),
        "max": _whole(form, "repeat_max", 1, REPEAT_MAX, errors),
        "interval_days": _whole(form, "repeat_interval", 0, INTERVAL_DAYS, errors),
    }
    step = {
        "key": key,
        "name": name,
        "description": _texts(form, "description", errors),
        "kind": kind.value,
        "participants": _roles(form, "participants"),
        "responsible": _roles(form, "responsible"),
        "fields": existing.get("fields", []),
        "timing": timing,
        "reminders": parse_reminders(form.get("reminders", ""), errors),
        "repeat": repeat,
        "optional": form.get("optional") == "1",
        "confidential": form.get("confidential") == "1",
    }
    if errors:
        raise InvalidInput(errors)
    return step


def add_step(draft: TemplateVersion, form: MultiDict, language: str) -> dict:
    data = document(draft)
    if len(data["steps"]) >= MAX_STEPS:
        raise InvalidInput.form(gettext("A process can have at most %(max)d steps.", max=MAX_STEPS))
    step = _parse_step(form, data, None, language)
    data["steps"].append(step)
    save_draft_definition(draft, data)
    return step


def update_step(draft: TemplateVersion, key: str, form: MultiDict, language: str) -> dict:
    data = document(draft)
    index = step_index(data, key)
    step = _parse_step(form, data, index, language)
    if step["key"] != key:
        # Steps timed from this one follow its new key.
        for other in data["steps"]:
            timing = other.get("timing")
            if isinstance(timing, dict) and timing.get("step") == key:
                timing["step"] = step["key"]
    data["steps"][index] = step
    save_draft_definition(draft, data)
    return step


def remove_step(draft: TemplateVersion, key: str) -> None:
    data = document(draft)
    del data["steps"][step_index(data, key)]
    save_draft_definition(draft, data)


def _move(items: list, index: int, direction: Direction) -> bool:
    target = index - 1 if direction is Direction.UP else index + 1
    if not 0 <= target < len(items):
        return False
    items[index], items[target] = items[target], items[index]
    return True


def parse_direction(form: MultiDict) -> Direction:
    try:
        return Direction(form.get("direction", ""))
    except ValueError:
        raise InvalidInput.form(gettext("Choose to move it up or down.")) from None


def move_step(draft: TemplateVersion, key: str, direction: Direction) -> bool:
    data = document(draft)
    moved = _move(data["steps"], step_index(data, key), direction)
    if moved:
        save_draft_definition(draft, data)
    return moved


# --- the field form ---------------------------------------------------------------------------


def field_ceiling(step: dict, field_type: FieldType | None) -> list[Role]:
    """The roles a field of this step may be read by (domain.md), in the usual order."""
    try:
        kind = StepKind(step.get("kind"))
    except ValueError:
        kind = StepKind.CONVERSATION
    ceiling = reader_ceiling(kind, bool(step.get("confidential")), field_type or FieldType.TEXT)
    return [role for role in ROLES if role in ceiling]


def reader_options(step: dict) -> list[tuple[Role, bool]]:
    """Every role a field here could be read by, and whether only non-text fields can have it."""
    free_text = set(field_ceiling(step, FieldType.TEXT))
    widest = set(field_ceiling(step, FieldType.RATING))
    return [(role, role not in free_text) for role in ROLES if role in widest]


def field_values(spec: dict) -> dict:
    values: dict = {
        "key": spec.get("key", ""),
        "type": spec.get("type", FieldType.TEXT.value),
        "required": bool(spec.get("required")),
        "per_goal": bool(spec.get("per_goal")),
        "editors": list(spec.get("editors") or []),
        "readers": list(spec.get("readers") or []),
        "choices": choices_text(spec.get("choices")),
    }
    for lang in LANGUAGES:
        values[f"label_{lang}"] = text_in(spec.get("label"), lang, lang)
        values[f"help_{lang}"] = text_in(spec.get("help"), lang, lang)
    return values


def _parse_field(form: MultiDict, step: dict, index: int | None, language: str) -> dict:
    errors: dict = {}
    label = _texts(form, "label", errors, required=language)
    taken = {str(f.get("key")) for i, f in enumerate(step["fields"]) if i != index}
    key = _key(form, "key", label.get("nl") or label.get(language, ""), "field", taken, errors)
    try:
        field_type = FieldType(form.get("type", ""))
    except ValueError:
        errors["type"] = gettext("Choose the kind of answer.")
        field_type = None
    readers = _roles(form, "readers")
    if field_type is not None:
        ceiling = {role.value for role in field_ceiling(step, field_type)}
        too_wide = [role for role in readers if role not in ceiling]
        if too_wide:
            errors["readers"] = gettext(
                "In this step this kind of field may only be read by: %(allowed)s.",
                allowed=", ".join(_role_label(role) for role in ROLES if role.value in ceiling),
            )
    choices: list[dict] = []
    if field_type is FieldType.CHOICE:
        choices = parse_choices(form.get("choices", ""), errors)
        if not choices and "choices" not in errors:
            errors["choices"] = gettext("Give at least one choice.")
    per_goal = form.get("per_goal") == "1"
    if per_goal and field_type not in {None, FieldType.TEXT, FieldType.LONG_TEXT, FieldType.RATING}:
        errors["per_goal"] = gettext("Only text and ratings can be kept per learning goal.")
    help_texts = _texts(form, "help", errors)
    if errors:
        raise InvalidInput(errors)
    return {
        "key": key,
        "type": field_type.value if field_type else FieldType.TEXT.value,
        "label": label,
        "help": help_texts,
        "required": form.get("required") == "1",
        "readers": readers,
        "editors": _roles(form, "editors"),
        "choices": choices,
        "per_goal": per_goal,
    }


def _role_label(role: Role) -> str:
    return {
        Role.LEARNER: gettext("Learner"),
        Role.COACH: gettext("Learning coach"),
        Role.MANAGER: gettext("Manager"),
        Role.TRAINER: gettext("Trainer"),
        Role.PROGRAMME_ADMIN: gettext("Programme administrator"),
    }[role]


def add_field(draft: TemplateVersion, step_key: str, form: MultiDict, language: str) -> dict:
    data = document(draft)
    step = data["steps"][step_index(data, step_key)]
    if len(step["fields"]) >= MAX_FIELDS:
        raise InvalidInput.form(gettext("A step can have at most %(max)d fields.", max=MAX_FIELDS))
    spec = _parse_field(form, step, None, language)
    step["fields"].append(spec)
    save_draft_definition(draft, data)
    return spec


def update_field(
    draft: TemplateVersion, step_key: str, key: str, form: MultiDict, language: str
) -> dict:
    data = document(draft)
    step = data["steps"][step_index(data, step_key)]
    index = field_index(step, key)
    spec = _parse_field(form, step, index, language)
    step["fields"][index] = spec
    save_draft_definition(draft, data)
    return spec


def remove_field(draft: TemplateVersion, step_key: str, key: str) -> None:
    data = document(draft)
    step = data["steps"][step_index(data, step_key)]
    del step["fields"][field_index(step, key)]
    save_draft_definition(draft, data)


def move_field(draft: TemplateVersion, step_key: str, key: str, direction: Direction) -> bool:
    data = document(draft)
    step = data["steps"][step_index(data, step_key)]
    moved = _move(step["fields"], field_index(step, key), direction)
    if moved:
        save_draft_definition(draft, data)
    return moved
