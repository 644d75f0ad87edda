"""The programme administrator's process-template editor (issue 5).

Templates and their versions, a draft edited step by step and field by field, publishing and
discarding it, making a template the default, and a preview of the timeline a learner would
get. Only programme administrators; to everyone else these pages look missing (404). Refused
input is shown again with the message next to the field and status 422, nothing written.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from werkzeug.datastructures import MultiDict

from samenleren.core.config import LANGUAGES
from samenleren.core.errors_input import FORM, InvalidInput
from samenleren.core.extensions import db
from samenleren.core.formatting import local_today
from samenleren.core.tenancy import current_tenant
from samenleren.core.web import get_or_404, login_required
from samenleren.identity.models import Role, User
from samenleren.process_templates import drafts
from samenleren.process_templates.definition import (
    Anchor,
    FieldType,
    StepKind,
    TemplateDefinition,
    is_valid_key,
)
from samenleren.process_templates.editor import steps as editing
from samenleren.process_templates.editor.preview import preview
from samenleren.process_templates.models import ProcessTemplate, TemplateVersion, VersionStatus
from samenleren.process_templates.versions import files

bp = Blueprint(
    "process_templates", __name__, template_folder="../templates", url_prefix="/<tenant>/templates"
)


def _require_admin() -> None:
    """Administrator pages look missing to everyone else (404, never 403)."""
    if not current_user.has_role(Role.PROGRAMME_ADMIN):
        abort(404)


def _see_other(endpoint: str, **values: Any):
    return redirect(url_for(endpoint, **values), 303)


def _language() -> str:
    return current_tenant().default_locale


def _draft(draft_id: uuid.UUID) -> TemplateVersion:
    """The draft in the URL; a published version (or anything else) is not a draft: 404."""
    draft = get_or_404(TemplateVersion, draft_id, joinedload(TemplateVersion.template))
    _require_admin()
    if draft.status is not VersionStatus.DRAFT:
        abort(404)
    return draft


def origin_label(version: TemplateVersion) -> str:
    """Where a version came from, in the reader's language when it is one of ours."""
    match = drafts.EDITED_ORIGIN.match(version.origin or "")
    if match:
        return gettext("Edited from version %(number)s", number=match.group(1))
    if version.origin == "Flevoland model (built in)":
        return gettext("Flevoland model (built in)")
    imported = files.imported_origin_label(version.origin)
    if imported:
        return imported
    return version.origin or "—"


# --- templates ----------------------------------------------------------------------------------


@bp.get("/")
@login_required
def list_templates():
    _require_admin()
    templates = db.session.scalars(
        select(ProcessTemplate).order_by(ProcessTemplate.is_default.desc(), ProcessTemplate.key)
    ).all()
    versions = db.session.scalars(
        select(TemplateVersion).order_by(TemplateVersion.number.desc())
    ).all()
    latest: dict[uuid.UUID, TemplateVersion] = {}
    has_draft: set[uuid.UUID] = set()
    for version in versions:
        if version.status is VersionStatus.DRAFT:
            has_draft.add(version.template_id)
        elif version.template_id not in latest:
            latest[version.template_id] = version
    return render_template(
        "process_templates/list_templates.html",
        templates=templates,
        latest=latest,
        has_draft=has_draft,
    )


def _render_template_page(template: ProcessTemplate, errors: dict, status: int = 200):
    rows = db.session.execute(
        select(TemplateVersion, User)
        .outerjoin(
            User,
            (User.tenant_id == TemplateVersion.tenant_id)
            & (User.id == TemplateVersion.published_by_id),
        )
        .where(TemplateVersion.template_id == template.id)
        .order_by(TemplateVersion.number.desc())
    ).all()
    draft = next((v for v, _ in rows if v.status is VersionStatus.DRAFT), None)
    return (
        render_template(
            "process_templates/show_template.html",
            template=template,
            rows=rows,
            draft=draft,
            published=any(v.status is VersionStatus.PUBLISHED for v, _ in rows),
            origin_label=origin_label,
            errors=errors,
        ),
        status,
    )


@bp.get("/<uuid:template_id>/")
@login_required
def show_template(template_id: uuid.UUID):
    template = get_or_404(ProcessTemplate, template_id)
    _require_admin()
    return _render_template_page(template, {})


@bp.post("/<uuid:template_id>/default")
@login_required
def make_default(template_id: uuid.UUID):
    template = get_or_404(ProcessTemplate, template_id)
    _require_admin()
    try:
        drafts.make_default(template, current_user)
    except InvalidInput as refused:
        db.session.rollback()
        return _render_template_page(template, refused.errors, 422)
    db.session.commit()
    flash(gettext("New trajectories now start on this process template."))
    return _see_other("process_templates.show_template", template_id=template.id)


@bp.post("/<uuid:template_id>/draft")
@login_required
def start_draft(template_id: uuid.UUID):
    template = get_or_404(ProcessTemplate, template_id)
    _require_admin()
    existing = drafts.draft_of(template)
    if existing is not None:
        return _see_other("process_templates.show_draft", draft_id=existing.id)
    draft = drafts.start_draft(template, current_user)
    db.session.commit()
    flash(
        gettext(
            "A draft is started: a copy of the newest version. "
            "Nothing changes until you publish it."
        )
    )
    return _see_other("process_templates.show_draft", draft_id=draft.id)


# --- the draft ------------------------------------------------------------------------------------


def _render_draft(draft: TemplateVersion, errors: dict, status: int = 200, problems=None):
    data = editing.document(draft)
    if problems is None:
        problems = drafts.problems_of(draft)
    step_keys = {str(step.get("key")) for step in data["steps"]}
    return (
        render_template(
            "process_templates/show_draft.html",
            draft=draft,
            template=draft.template,
            steps=data["steps"],
            problems=problems,
            linkable=lambda key: key in step_keys and is_valid_key(key),
            errors=errors,
            text_in=editing.text_in,
        ),
        status,
    )


@bp.get("/drafts/<uuid:draft_id>/")
@login_required
def show_draft(draft_id: uuid.UUID):
    return _render_draft(_draft(draft_id), {})[0]


@bp.post("/drafts/<uuid:draft_id>/publish")
@login_required
def publish_draft(draft_id: uuid.UUID):
    draft = _draft(draft_id)
    try:
        published = drafts.publish_draft(draft, current_user)
    except InvalidInput as refused:
        db.session.rollback()
        draft = _draft(draft_id)
        problems = getattr(refused, "problems", None)
        return _render_draft(draft, {FORM: refused.errors[FORM]}, 422, problems)
    db.session.commit()
    flash(
        gettext(
            "Version %(number)s is published. Trajectories that start from now on follow it; "
            "running trajectories keep their version.",
            number=published.number,
        )
    )
    return _see_other("process_templates.show_template", template_id=published.template_id)


@bp.route("/drafts/<uuid:draft_id>/discard", methods=["GET", "POST"])
@login_required
def discard_draft(draft_id: uuid.UUID):
    draft = _draft(draft_id)
    if request.method == "GET":
        return render_template("process_templates/discard_draft.html", draft=draft)
    template_id = draft.template_id
    drafts.discard_draft(draft, current_user)
    db.session.commit()
    flash(gettext("The draft is discarded."))
    return _see_other("process_templates.show_template", template_id=template_id)


# --- steps ----------------------------------------------------------------------------------------


def _step_choices() -> dict:
    return {
        "roles": list(Role),
        "kinds": list(StepKind),
        "languages": LANGUAGES,
        "required_language": _language(),
    }


def _render_step(
    draft: TemplateVersion,
    data: dict,
    index: int | None,
    values: dict,
    errors: dict,
    status: int = 200,
):
    step = data["steps"][index] if index is not None else None
    return (
        render_template(
            "process_templates/step_form.html",
            draft=draft,
            step=step,
            values=values,
            errors=errors,
            anchors=editing.anchor_options(data, index, _current_locale(), _language()),
            text_in=editing.text_in,
            **_step_choices(),
        ),
        status,
    )


def _current_locale() -> str:
    from flask_babel import get_locale

    return str(get_locale() or _language())


def _find_step(data: dict, step_key: str) -> int:
    try:
        return editing.step_index(data, step_key)
    except editing.NotInDraft:
        abort(404)


@bp.route("/drafts/<uuid:draft_id>/steps/new", methods=["GET", "POST"])
@login_required
def new_step(draft_id: uuid.UUID):
    draft = _draft(draft_id)
    data = editing.document(draft)
    if request.method == "GET":
        defaults = {
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
        return _render_step(draft, data, None, defaults, {})
    try:
        step = editing.add_step(draft, request.form, _language())
    except InvalidInput as refused:
        db.session.rollback()
        draft = _draft(draft_id)
        values = editing.form_values(request.form)
        return _render_step(draft, editing.document(draft), None, values, refused.errors, 422)
    db.session.commit()
    flash(gettext("The step is added. Add its fields below."))
    return _see_other("process_templates.edit_step", draft_id=draft.id, step_key=step["key"])


@bp.route("/drafts/<uuid:draft_id>/steps/<step_key>/", methods=["GET", "POST"])
@login_required
def edit_step(draft_id: uuid.UUID, step_key: str):
    draft = _draft(draft_id)
    data = editing.document(draft)
    index = _find_step(data, step_key)
    if request.method == "GET":
        return _render_step(draft, data, index, editing.step_values(data["steps"][index]), {})
    try:
        step = editing.update_step(draft, step_key, request.form, _language())
    except InvalidInput as refused:
        db.session.rollback()
        draft = _draft(draft_id)
        values = editing.form_values(request.form)
        return _render_step(draft, editing.document(draft), index, values, refused.errors, 422)
    db.session.commit()
    flash(gettext("The step is saved."))
    return redirect(
        url_for("process_templates.show_draft", draft_id=draft.id, _anchor=f"step-{step['key']}"),
        303,
    )


def _direction(form: MultiDict) -> editing.Direction:
    try:
        return editing.parse_direction(form)
    except InvalidInput:
        abort(400)


@bp.post("/drafts/<uuid:draft_id>/steps/<step_key>/move")
@login_required
def move_step(draft_id: uuid.UUID, step_key: str):
    draft = _draft(draft_id)
    _find_step(editing.document(draft), step_key)
    if editing.move_step(draft, step_key, _direction(request.form)):
        db.session.commit()
        flash(gettext("The order of the steps is saved."))
    return redirect(
        url_for("process_templates.show_draft", draft_id=draft.id, _anchor=f"step-{step_key}"),
        303,
    )


@bp.route("/drafts/<uuid:draft_id>/steps/<step_key>/remove", methods=["GET", "POST"])
@login_required
def remove_step(draft_id: uuid.UUID, step_key: str):
    draft = _draft(draft_id)
    data = editing.document(draft)
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
            text_in=editing.text_in,
        )
    editing.remove_step(draft, step_key)
    db.session.commit()
    flash(gettext("The step is removed from the draft."))
    return _see_other("process_templates.show_draft", draft_id=draft.id)


# --- fields -------------------------------------------------------------------------------------


def _render_field(
    draft: TemplateVersion,
    step: dict,
    spec: dict | None,
    values: dict,
    errors: dict,
    status: int = 200,
):
    return (
        render_template(
            "process_templates/field_form.html",
            draft=draft,
            step=step,
            spec=spec,
            values=values,
            errors=errors,
            types=list(FieldType),
            roles=list(Role),
            reader_options=editing.reader_options(step),
            languages=LANGUAGES,
            required_language=_language(),
            text_in=editing.text_in,
        ),
        status,
    )


def _find_field(step: dict, field_key: str) -> int:
    try:
        return editing.field_index(step, field_key)
    except editing.NotInDraft:
        abort(404)


@bp.route("/drafts/<uuid:draft_id>/steps/<step_key>/fields/new", methods=["GET", "POST"])
@login_required
def new_field(draft_id: uuid.UUID, step_key: str):
    draft = _draft(draft_id)
    data = editing.document(draft)
    step = data["steps"][_find_step(data, step_key)]
    if request.method == "GET":
        defaults = {"type": FieldType.TEXT.value, "editors": [Role.LEARNER.value]}
        return _render_field(draft, step, None, defaults, {})
    try:
        spec = editing.add_field(draft, step_key, request.form, _language())
    except InvalidInput as refused:
        db.session.rollback()
        values = editing.form_values(request.form)
        return _render_field(_draft(draft_id), step, None, values, refused.errors, 422)
    db.session.commit()
    flash(gettext("The field is added."))
    return redirect(
        url_for(
            "process_templates.edit_step",
            draft_id=draft.id,
            step_key=step_key,
            _anchor=f"field-{spec['key']}",
        ),
        303,
    )


@bp.route("/drafts/<uuid:draft_id>/steps/<step_key>/fields/<field_key>/", methods=["GET", "POST"])
@login_required
def edit_field(draft_id: uuid.UUID, step_key: str, field_key: str):
    draft = _draft(draft_id)
    data = editing.document(draft)
    step = data["steps"][_find_step(data, step_key)]
    spec = step["fields"][_find_field(step, field_key)]
    if request.method == "GET":
        return _render_field(draft, step, spec, editing.field_values(spec), {})
    try:
        saved = editing.update_field(draft, step_key, field_key, request.form, _language())
    except InvalidInput as refused:
        db.session.rollback()
        values = editing.form_values(request.form)
        return _render_field(_draft(draft_id), step, spec, values, refused.errors, 422)
    db.session.commit()
    flash(gettext("The field is saved."))
    return redirect(
        url_for(
            "process_templates.edit_step",
            draft_id=draft.id,
            step_key=step_key,
            _anchor=f"field-{saved['key']}",
        ),
        303,
    )


@bp.post("/drafts/<uuid:draft_id>/steps/<step_key>/fields/<field_key>/move")
@login_required
def move_field(draft_id: uuid.UUID, step_key: str, field_key: str):
    draft = _draft(draft_id)
    data = editing.document(draft)
    _find_field(data["steps"][_find_step(data, step_key)], field_key)
    if editing.move_field(draft, step_key, field_key, _direction(request.form)):
        db.session.commit()
        flash(gettext("The order of the fields is saved."))
    return redirect(
        url_for(
            "process_templates.edit_step",
            draft_id=draft.id,
            step_key=step_key,
            _anchor=f"field-{field_key}",
        ),
        303,
    )


@bp.route(
    "/drafts/<uuid:draft_id>/steps/<step_key>/fields/<field_key>/remove", methods=["GET", "POST"]
)
@login_required
def remove_field(draft_id: uuid.UUID, step_key: str, field_key: str):
    draft = _draft(draft_id)
    data = editing.document(draft)
    step = data["steps"][_find_step(data, step_key)]
    spec = step["fields"][_find_field(step, field_key)]
    if request.method == "GET":
        return render_template(
            "process_templates/remove.html",
            draft=draft,
            step=step,
            spec=spec,
            followers=[],
            text_in=editing.text_in,
        )
    editing.remove_field(draft, step_key, field_key)
    db.session.commit()
    flash(gettext("The field is removed from the step."))
    return _see_other("process_templates.edit_step", draft_id=draft.id, step_key=step_key)


# --- preview ------------------------------------------------------------------------------------


def _date(name: str, default: date, errors: dict) -> date:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors[name] = gettext("Enter a date, such as 2026-09-01.")
        return default


@bp.get("/versions/<uuid:version_id>/preview")
@login_required
def preview_version(version_id: uuid.UUID):
    """The timeline a learner enrolled on a given day in an imagined edition would get."""
    version = get_or_404(TemplateVersion, version_id, joinedload(TemplateVersion.template))
    _require_admin()
    today = local_today()
    errors: dict = {}
    enrolled_on = _date("enrolled_on", today, errors)
    starts_on = _date("starts_on", today + timedelta(days=28), errors)
    ends_on = _date("ends_on", starts_on + timedelta(days=28), errors)
    if not errors and ends_on < starts_on:
        errors["ends_on"] = gettext("The edition cannot end before it starts.")
    values = {
        "enrolled_on": request.args.get("enrolled_on") or enrolled_on.isoformat(),
        "starts_on": request.args.get("starts_on") or starts_on.isoformat(),
        "ends_on": request.args.get("ends_on") or ends_on.isoformat(),
    }
    problems = drafts.problems_of(version) if version.status is VersionStatus.DRAFT else []
    entries = []
    if not errors and not problems:
        definition = TemplateDefinition.model_validate(version.definition)
        entries = preview(definition, starts_on, ends_on, enrolled_on)
    return (
        render_template(
            "process_templates/preview.html",
            version=version,
            template=version.template,
            values=values,
            errors=errors,
            problems=problems,
            entries=entries,
        ),
        422 if errors else 200,
    )
