"""The editor's field form: a field's values, who may read it, and adding, changing, removing
and moving a field of a draft's step.

A field is refused (`InvalidInput`) for input the document cannot store, and for a reader the
step may never have (`definition.reader_ceiling`); otherwise the draft's whole document is saved.
"""

from __future__ import annotations

from flask_babel import gettext
from werkzeug.datastructures import MultiDict

from samenleren.core.config import LANGUAGES
from samenleren.core.errors_input import InvalidInput
from samenleren.identity.models import Role
from samenleren.process_templates.definition import (
    MAX_FIELDS,
    FieldType,
    RatingMoment,
    StepKind,
    member_of,
    reader_ceiling,
)
from samenleren.process_templates.drafts import save_draft_definition
from samenleren.process_templates.editor.document import (
    Direction,
    document,
    field_index,
    move,
    step_index,
    text_in,
)
from samenleren.process_templates.editor.form_input import (
    ROLES,
    choices_text,
    chosen_key,
    chosen_roles,
    parse_choices,
    texts_per_language,
)
from samenleren.process_templates.models import TemplateVersion


def field_ceiling(step: dict, field_type: FieldType | None) -> list[Role]:
    """The roles a field of this step may be read by (domain.md), in the usual order."""
    kind = member_of(StepKind, step.get("kind"))
    ceiling = reader_ceiling(
        kind if kind is not None else StepKind.CONVERSATION,
        bool(step.get("confidential")),
        field_type or FieldType.TEXT,
    )
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
        "moment": spec.get("moment") or "",
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
    label = texts_per_language(form, "label", errors, required=language)
    taken = {str(f.get("key")) for i, f in enumerate(step["fields"]) if i != index}
    key = chosen_key(
        form, "key", label.get("nl") or label.get(language, ""), "field", taken, errors
    )
    try:
        field_type = FieldType(form.get("type", ""))
    except ValueError:
        errors["type"] = gettext("Choose the kind of answer.")
        field_type = None
    readers = chosen_roles(form, "readers")
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
    moment = member_of(RatingMoment, form.get("moment"))
    if field_type is FieldType.RESULT_RATING and moment is None:
        errors["moment"] = gettext("Choose when the expected results are rated.")
    help_texts = texts_per_language(form, "help", errors)
    if errors:
        raise InvalidInput(errors)
    extra = {"moment": moment.value} if field_type is FieldType.RESULT_RATING and moment else {}
    return {
        "key": key,
        "type": field_type.value if field_type else FieldType.TEXT.value,
        "label": label,
        "help": help_texts,
        "required": form.get("required") == "1",
        "readers": readers,
        "editors": chosen_roles(form, "editors"),
        "choices": choices,
        "per_goal": per_goal,
        **extra,
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
    moved = move(step["fields"], field_index(step, key), direction)
    if moved:
        save_draft_definition(draft, data)
    return moved
