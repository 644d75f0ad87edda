"""The editor's step form: a step's values, what it can be timed from, and adding, changing,
removing and moving a step of a draft.

Every change reads a form, refuses input it cannot store (`InvalidInput`: not a number, out of
range, a key that is taken or malformed) and otherwise writes the draft's whole document. What is
storable but not yet publishable (nobody responsible, a timing anchored to a later step ...) is
saved and listed by `validation.validate_definition`.
"""

from __future__ import annotations

from flask_babel import gettext
from werkzeug.datastructures import MultiDict

from samenleren.core.config import LANGUAGES
from samenleren.core.errors_input import InvalidInput
from samenleren.process_templates.definition import MAX_STEPS, Anchor, StepKind
from samenleren.process_templates.drafts import save_draft_definition
from samenleren.process_templates.editor.document import (
    Direction,
    document,
    move,
    step_index,
    text_in,
)
from samenleren.process_templates.editor.form_input import (
    INTERVAL_DAYS,
    OFFSET_DAYS,
    OFFSET_MONTHS,
    REPEAT_MAX,
    REPEAT_MIN,
    chosen_key,
    chosen_roles,
    parse_reminders,
    texts_per_language,
    whole_number,
)
from samenleren.process_templates.models import TemplateVersion

#: The anchor choice "timed from another step" is this prefix and the step's key.
STEP_PREFIX = "step:"


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
    timing, repeat = step.get("timing"), step.get("repeat")
    if not isinstance(timing, dict):
        timing = {}
    if not isinstance(repeat, dict):
        repeat = {}
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


def _parse_step(form: MultiDict, data: dict, index: int | None, language: str) -> dict:
    errors: dict = {}
    existing = data["steps"][index] if index is not None else {}
    name = texts_per_language(form, "name", errors, required=language)
    taken = {str(s.get("key")) for i, s in enumerate(data["steps"]) if i != index}
    key = chosen_key(form, "key", name.get("nl") or name.get(language, ""), "step", taken, errors)
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
    timing["offset_days"] = whole_number(form, "offset_days", 0, OFFSET_DAYS, errors)
    timing["offset_months"] = whole_number(form, "offset_months", 0, OFFSET_MONTHS, errors)
    repeat = {
        "min": whole_number(form, "repeat_min", 1, REPEAT_MIN, errors),
        "max": whole_number(form, "repeat_max", 1, REPEAT_MAX, errors),
        "interval_days": whole_number(form, "repeat_interval", 0, INTERVAL_DAYS, errors),
    }
    step = {
        "key": key,
        "name": name,
        "description": texts_per_language(form, "description", errors),
        "kind": kind.value,
        "participants": chosen_roles(form, "participants"),
        "responsible": chosen_roles(form, "responsible"),
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


def move_step(draft: TemplateVersion, key: str, direction: Direction) -> bool:
    data = document(draft)
    moved = move(data["steps"], step_index(data, key), direction)
    if moved:
        save_draft_definition(draft, data)
    return moved
