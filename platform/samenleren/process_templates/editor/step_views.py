"""The editor's pages for a draft's steps and fields: adding, changing, moving and removing them.

Pages of the editor's blueprint (`views.bp`: programme administrators only, 404 for anyone else).
A step or field named in the URL that is not in the draft is a missing page (404).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from flask import abort, flash, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import get_locale, gettext
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from samenleren.core.config import LANGUAGES
from samenleren.core.errors_input import InvalidInput
from samenleren.core.web import form_action, see_other
from samenleren.identity.models import Role
from samenleren.process_templates.definition import Anchor, FieldType, StepKind
from samenleren.process_templates.editor import fields, steps
from samenleren.process_templates.editor.document import (
    Direction,
    NotInDraft,
    document,
    field_index,
    step_index,
    text_in,
)
from samenleren.process_templates.editor.form_input import form_values, parse_direction
from samenleren.process_templates.editor.views import (
    bp,
    draft_or_404,
    render_draft,
    tenant_language,
)
from samenleren.process_templates.models import TemplateVersion


def _find_step(data: dict, step_key: str) -> int:
    try:
        return step_index(data, step_key)
    except NotInDraft:
        abort(404)


def _find_field(step: dict, field_key: str) -> int:
    try:
        return field_index(step, field_key)
    except NotInDraft:
        abort(404)


def _direction(form: MultiDict) -> Direction:
    try:
        return parse_direction(form)
    except InvalidInput:
        abort(400)


# --- steps ----------------------------------------------------------------------------------------


def _render_step(
    draft: TemplateVersion, data: dict, index: int | None, values: dict, errors: dict[str, str]
) -> str:
    language = tenant_language()
    return render_template(
        "process_templates/step_form.html",
        draft=draft,
        step=data["steps"][index] if index is not None else None,
        values=values,
        errors=errors,
        anchors=steps.anchor_options(data, index, str(get_locale() or language), language),
        text_in=text_in,
        roles=list(Role),
        kinds=list(StepKind),
        languages=LANGUAGES,
        required_language=language,
    )


NEW_STEP = {
    "kind": StepKind.CONVERSATION.value,
    "participants": [Role.LEARNER.value, Role.COACH.value],
    "responsible": [Role.COACH.value],
    "anchor": Anchor.EDITION_END.value,
    "offset_days": "0",
    "offset_months": "0",
    "reminders": "7, 1",
    "repeat_min": "1",
    "repeat_max": "1",
    "repeat_interval": "0",
}


@bp.route("/drafts/<uuid:draft_id>/steps/new", methods=["GET", "POST"])
def new_step(draft_id: uuid.UUID) -> ResponseReturnValue:
    draft = draft_or_404(draft_id)
    if request.method == "GET":
        return _render_step(draft, document(draft), None, dict(NEW_STEP), {})
    return form_action(
        lambda: steps.add_step(draft, request.form, tenant_language()),
        invalid=lambda errors: _render_step(
            draft, document(draft), None, form_values(request.form), errors
        ),
        done=lambda step: see_other(
            "process_templates.edit_step", draft_id=draft.id, step_key=step["key"]
        ),
        message=gettext("The step is added. Add its fields below."),
        multiline=("description_*",),
    )


@bp.route("/drafts/<uuid:draft_id>/steps/<step_key>/", methods=["GET", "POST"])
def edit_step(draft_id: uuid.UUID, step_key: str) -> ResponseReturnValue:
    draft = draft_or_404(draft_id)
    data = document(draft)
    index = _find_step(data, step_key)
    if request.method == "GET":
        return _render_step(draft, data, index, steps.step_values(data["steps"][index]), {})
    return form_action(
        lambda: steps.update_step(draft, step_key, request.form, tenant_language()),
        invalid=lambda errors: _render_step(
            draft, document(draft), index, form_values(request.form), errors
        ),
        done=lambda step: see_other(
            "process_templates.show_draft", draft_id=draft.id, _anchor=f"step-{step['key']}"
        ),
        message=gettext("The step is saved."),
        multiline=("description_*",),
    )


def _moved(message: str, response: Response) -> Callable[[bool], Response]:
    """After a move: the message only when something moved (not at the top or bottom)."""

    def done(moved: bool) -> Response:
        if moved:
            flash(message)
        return response

    return done


@bp.post("/drafts/<uuid:draft_id>/steps/<step_key>/move")
def move_step(draft_id: uuid.UUID, step_key: str) -> ResponseReturnValue:
    draft = draft_or_404(draft_id)
    _find_step(document(draft), step_key)
    direction = _direction(request.form)
    return form_action(
        lambda: steps.move_step(draft, step_key, direction),
        invalid=lambda errors: render_draft(draft, errors),
        done=_moved(
            gettext("The order of the steps is saved."),
            see_other(
                "process_templates.show_draft", draft_id=draft.id, _anchor=f"step-{step_key}"
            ),
        ),
    )


@bp.route("/drafts/<uuid:draft_id>/steps/<step_key>/remove", methods=["GET", "POST"])
def remove_step(draft_id: uuid.UUID, step_key: str) -> ResponseReturnValue:
    draft = draft_or_404(draft_id)
    data = document(draft)
    step = data["steps"][_find_step(data, step_key)]
    if request.method == "GET":
        followers = [
            other
            for other in data["steps"]
            if isinstance(other.get("timing"), dict) and other["timing"].get("step") == step_key
        ]
        return render_template(
            "process_templates/remove.html",
            draft=draft,
            step=step,
            spec=None,
            followers=followers,
            text_in=text_in,
        )
    return form_action(
        lambda: steps.remove_step(draft, step_key),
        invalid=lambda errors: render_draft(draft, errors),
        done=see_other("process_templates.show_draft", draft_id=draft.id),
        message=gettext("The step is removed from the draft."),
    )


# --- fields -------------------------------------------------------------------------------------


def _render_field(
    draft: TemplateVersion, step: dict, spec: dict | None, values: dict, errors: dict[str, str]
) -> str:
    return render_template(
        "process_templates/field_form.html",
        draft=draft,
        step=step,
        spec=spec,
        values=values,
        errors=errors,
        types=list(FieldType),
        roles=list(Role),
        reader_options=fields.reader_options(step),
        languages=LANGUAGES,
        required_language=tenant_language(),
        text_in=text_in,
    )


@bp.route("/drafts/<uuid:draft_id>/steps/<step_key>/fields/new", methods=["GET", "POST"])
def new_field(draft_id: uuid.UUID, step_key: str) -> ResponseReturnValue:
    draft = draft_or_404(draft_id)
    data = document(draft)
    step = data["steps"][_find_step(data, step_key)]
    if request.method == "GET":
        defaults = {"type": FieldType.TEXT.value, "editors": [Role.LEARNER.value]}
        return _render_field(draft, step, None, defaults, {})
    return form_action(
        lambda: fields.add_field(draft, step_key, request.form, tenant_language()),
        invalid=lambda errors: _render_field(draft, step, None, form_values(request.form), errors),
        done=lambda spec: see_other(
            "process_templates.edit_step",
            draft_id=draft.id,
            step_key=step_key,
            _anchor=f"field-{spec['key']}",
        ),
        message=gettext("The field is added."),
        multiline=("choices",),
    )


@bp.route("/drafts/<uuid:draft_id>/steps/<step_key>/fields/<field_key>/", methods=["GET", "POST"])
def edit_field(draft_id: uuid.UUID, step_key: str, field_key: str) -> ResponseReturnValue:
    draft = draft_or_404(draft_id)
    data = document(draft)
    step = data["steps"][_find_step(data, step_key)]
    spec = step["fields"][_find_field(step, field_key)]
    if request.method == "GET":
        return _render_field(draft, step, spec, fields.field_values(spec), {})
    return form_action(
        lambda: fields.update_field(draft, step_key, field_key, request.form, tenant_language()),
        invalid=lambda errors: _render_field(draft, step, spec, form_values(request.form), errors),
        done=lambda saved: see_other(
            "process_templates.edit_step",
            draft_id=draft.id,
            step_key=step_key,
            _anchor=f"field-{saved['key']}",
        ),
        message=gettext("The field is saved."),
        multiline=("choices",),
    )


@bp.post("/drafts/<uuid:draft_id>/steps/<step_key>/fields/<field_key>/move")
def move_field(draft_id: uuid.UUID, step_key: str, field_key: str) -> ResponseReturnValue:
    draft = draft_or_404(draft_id)
    data = document(draft)
    _find_field(data["steps"][_find_step(data, step_key)], field_key)
    direction = _direction(request.form)
    return form_action(
        lambda: fields.move_field(draft, step_key, field_key, direction),
        invalid=lambda errors: render_draft(draft, errors),
        done=_moved(
            gettext("The order of the fields is saved."),
            see_other(
                "process_templates.edit_step",
                draft_id=draft.id,
                step_key=step_key,
                _anchor=f"field-{field_key}",
            ),
        ),
    )


@bp.route(
    "/drafts/<uuid:draft_id>/steps/<step_key>/fields/<field_key>/remove", methods=["GET", "POST"]
)
def remove_field(draft_id: uuid.UUID, step_key: str, field_key: str) -> ResponseReturnValue:
    draft = draft_or_404(draft_id)
    data = document(draft)
    step = data["steps"][_find_step(data, step_key)]
    spec = step["fields"][_find_field(step, field_key)]
    if request.method == "GET":
        return render_template(
            "process_templates/remove.html",
            draft=draft,
            step=step,
            spec=spec,
            followers=[],
            text_in=text_in,
        )
    return form_action(
        lambda: fields.remove_field(draft, step_key, field_key),
        invalid=lambda errors: render_draft(draft, errors),
        done=see_other("process_templates.edit_step", draft_id=draft.id, step_key=step_key),
        message=gettext("The field is removed from the step."),
    )
