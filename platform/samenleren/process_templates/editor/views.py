"""The programme administrator's process-template editor: templates, drafts and the preview.

Templates and their versions, starting a draft, publishing and discarding it, making a template
the default, and a preview of the timeline a learner would get. The draft's steps and fields are
edited on the pages of `step_views` (the same blueprint). Only programme administrators; to
everyone else these pages look missing (404). Refused input is shown again with the message next
to the field and status 422, nothing written.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from flask import Blueprint, abort, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from samenleren.core.errors_input import FORM
from samenleren.core.extensions import db
from samenleren.core.formatting import local_today
from samenleren.core.tenancy import require_tenant
from samenleren.core.web import form_action, get_or_404, require_roles, see_other
from samenleren.identity.models import Role, User
from samenleren.process_templates import drafts
from samenleren.process_templates.definition import (
    TemplateDefinition,
    application_rules,
    is_valid_key,
)
from samenleren.process_templates.editor.document import document, text_in
from samenleren.process_templates.editor.preview import preview
from samenleren.process_templates.models import ProcessTemplate, TemplateVersion, VersionStatus
from samenleren.process_templates.versions.files import imported_origin_label

# The pages' templates are shared with the other features, in process_templates/templates/.
bp = Blueprint(
    "process_templates", __name__, template_folder="../templates", url_prefix="/<tenant>/templates"
)
require_roles(bp, Role.PROGRAMME_ADMIN)


def tenant_language() -> str:
    """The tenant's default language: every name and label must be given in it."""
    return require_tenant().default_locale


def draft_or_404(draft_id: uuid.UUID) -> TemplateVersion:
    """The draft in the URL; a published version (or anything else) is not a draft: 404."""
    draft = get_or_404(TemplateVersion, draft_id, joinedload(TemplateVersion.template))
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
    imported = imported_origin_label(version.origin)
    if imported:
        return imported
    return version.origin or "—"


# --- templates ----------------------------------------------------------------------------------


@bp.get("/")
def list_templates() -> str:
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


def render_template_page(template: ProcessTemplate, errors: dict[str, str]) -> str:
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
    return render_template(
        "process_templates/show_template.html",
        template=template,
        rows=rows,
        draft=draft,
        published=any(v.status is VersionStatus.PUBLISHED for v, _ in rows),
        origin_label=origin_label,
        errors=errors,
    )


@bp.get("/<uuid:template_id>/")
def show_template(template_id: uuid.UUID) -> str:
    return render_template_page(get_or_404(ProcessTemplate, template_id), {})


@bp.post("/<uuid:template_id>/default")
def make_default(template_id: uuid.UUID) -> ResponseReturnValue:
    template = get_or_404(ProcessTemplate, template_id)
    return form_action(
        lambda: drafts.make_default(template, current_user),
        invalid=lambda errors: render_template_page(template, errors),
        done=see_other("process_templates.show_template", template_id=template.id),
        message=gettext("New trajectories now start on this process template."),
    )


@bp.post("/<uuid:template_id>/draft")
def start_draft(template_id: uuid.UUID) -> ResponseReturnValue:
    template = get_or_404(ProcessTemplate, template_id)
    existing = drafts.draft_of(template)
    if existing is not None:
        return see_other("process_templates.show_draft", draft_id=existing.id)
    return form_action(
        lambda: drafts.start_draft(template, current_user),
        invalid=lambda errors: render_template_page(template, errors),
        done=lambda draft: see_other("process_templates.show_draft", draft_id=draft.id),
        message=gettext(
            "A draft is started: a copy of the newest version. "
            "Nothing changes until you publish it."
        ),
    )


# --- the draft ------------------------------------------------------------------------------------


def render_draft(draft: TemplateVersion, errors: dict[str, str]) -> str:
    data = document(draft)
    step_keys = {str(step.get("key")) for step in data["steps"]}
    return render_template(
        "process_templates/show_draft.html",
        draft=draft,
        template=draft.template,
        steps=data["steps"],
        problems=drafts.problems_of(draft),
        linkable=lambda key: key in step_keys and is_valid_key(key),
        errors=errors,
        text_in=text_in,
        manager_approval=application_rules(draft.definition).manager_approval,
    )


@bp.post("/drafts/<uuid:draft_id>/application")
def edit_application(draft_id: uuid.UUID) -> ResponseReturnValue:
    """How applications are handled under this template (the manager's approval, or not)."""
    draft = draft_or_404(draft_id)
    data = document(draft)
    data["application"] = {"manager_approval": request.form.get("manager_approval") == "yes"}
    return form_action(
        lambda: drafts.save_draft_definition(draft, data),
        invalid=lambda errors: render_draft(draft, errors),
        done=see_other("process_templates.show_draft", draft_id=draft_id),
        message=gettext("Saved in the draft; it applies once the draft is published."),
    )


@bp.get("/drafts/<uuid:draft_id>/")
def show_draft(draft_id: uuid.UUID) -> str:
    return render_draft(draft_or_404(draft_id), {})


@bp.post("/drafts/<uuid:draft_id>/publish")
def publish_draft(draft_id: uuid.UUID) -> ResponseReturnValue:
    draft = draft_or_404(draft_id)
    # Refused: the page lists the problems again (found anew: nothing was written) and only the
    # summary of the refusal, not each problem a second time.
    return form_action(
        lambda: drafts.publish_draft(draft, current_user),
        invalid=lambda errors: render_draft(draft, {FORM: errors[FORM]}),
        done=lambda published: see_other(
            "process_templates.show_template", template_id=published.template_id
        ),
        message=lambda published: gettext(
            "Version %(number)s is published. Trajectories that start from now on follow it; "
            "running trajectories keep their version.",
            number=published.number,
        ),
    )


@bp.route("/drafts/<uuid:draft_id>/discard", methods=["GET", "POST"])
def discard_draft(draft_id: uuid.UUID) -> ResponseReturnValue:
    draft = draft_or_404(draft_id)
    if request.method == "GET":
        return render_template("process_templates/discard_draft.html", draft=draft)
    template_id = draft.template_id
    return form_action(
        lambda: drafts.discard_draft(draft, current_user),
        invalid=lambda errors: render_draft(draft, errors),
        done=see_other("process_templates.show_template", template_id=template_id),
        message=gettext("The draft is discarded."),
    )


# --- preview ------------------------------------------------------------------------------------


def _date(name: str, default: date, errors: dict[str, str]) -> date:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors[name] = gettext("Enter a date, such as 2026-09-01.")
        return default


@bp.get("/versions/<uuid:version_id>/preview")
def preview_version(version_id: uuid.UUID) -> tuple[str, int]:
    """The timeline a learner enrolled on a given day in an imagined edition would get."""
    version = get_or_404(TemplateVersion, version_id, joinedload(TemplateVersion.template))
    today = local_today()
    errors: dict[str, str] = {}
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
