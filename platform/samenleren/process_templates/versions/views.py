"""Versions of a process template: compare two, export one as a file, import a file, move
not-yet-started trajectories to a newer version (that page is `trajectories.moving_views`).
Programme administrators only; to anyone else these pages look missing (404)."""

from __future__ import annotations

import uuid

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext
from flask_login import current_user
from sqlalchemy import select
from werkzeug.routing import BuildError

from samenleren.core.errors_input import FORM, InvalidInput
from samenleren.core.extensions import db
from samenleren.core.tenancy import current_tenant
from samenleren.core.web import get_or_404, login_required
from samenleren.identity.models import Role
from samenleren.process_templates.models import ProcessTemplate, TemplateVersion, VersionStatus
from samenleren.process_templates.versions.diff import compare_definitions
from samenleren.process_templates.versions.files import (
    MAX_FILE_BYTES,
    TemplateFileError,
    export_filename,
    export_version,
    import_template_file,
)

bp = Blueprint(
    "template_versions", __name__, template_folder="../templates", url_prefix="/<tenant>/templates"
)


def _require_admin() -> None:
    if not current_user.has_role(Role.PROGRAMME_ADMIN):
        abort(404)


def page_languages() -> tuple[str, str]:
    tenant = current_tenant()
    fallback = tenant.default_locale if tenant else "nl"
    return str(get_locale() or fallback), fallback


def versions_of(template: ProcessTemplate) -> list[TemplateVersion]:
    return list(
        db.session.scalars(
            select(TemplateVersion)
            .where(TemplateVersion.template_id == template.id)
            .order_by(TemplateVersion.number)
        )
    )


def _version_of(template_id: uuid.UUID, version_id: uuid.UUID) -> TemplateVersion:
    version = get_or_404(TemplateVersion, version_id)
    if version.template_id != template_id:
        abort(404)
    return version


def overview_url(template: ProcessTemplate) -> str | None:
    """The editor's page of the template (another blueprint), when it exists."""
    try:
        return url_for("process_templates.show_template", template_id=template.id)
    except BuildError:
        return None


def _number(name: str) -> int | None:
    raw = request.args.get(name, "").strip()
    return int(raw) if raw.isdigit() else None


# --- compare ------------------------------------------------------------------------------


@bp.get("/<uuid:template_id>/compare")
@login_required
def compare(template_id: uuid.UUID):
    """Two versions of the template side by side, as a list of changes per step."""
    _require_admin()
    template = get_or_404(ProcessTemplate, template_id)
    versions = versions_of(template)
    by_number = {version.number: version for version in versions}
    published = [v for v in versions if v.status is VersionStatus.PUBLISHED]
    default_to = versions[-1] if versions else None
    default_from = next(
        (v for v in reversed(published) if default_to and v.number < default_to.number),
        default_to,
    )
    errors: dict[str, str] = {}
    chosen = {}
    for name, default in (("from", default_from), ("to", default_to)):
        given = request.args.get(name)
        if given is None or given == "":
            chosen[name] = default
            continue
        number = _number(name)
        chosen[name] = by_number.get(number) if number is not None else None
        if chosen[name] is None:
            errors[name] = gettext("Choose one of the versions of this template.")
    changes = None
    if not errors and chosen["from"] is not None and chosen["to"] is not None:
        locale, fallback = page_languages()
        changes = compare_definitions(
            chosen["from"].definition, chosen["to"].definition, locale, fallback
        )
    return render_template(
        "versions/compare.html",
        template=template,
        versions=versions,
        old=chosen["from"],
        new=chosen["to"],
        values={
            "from": request.args.get("from", str(getattr(default_from, "number", ""))),
            "to": request.args.get("to", str(getattr(default_to, "number", ""))),
        },
        changes=changes,
        errors=errors,
        overview=overview_url(template),
    ), (422 if errors else 200)


# --- export and import --------------------------------------------------------------------


@bp.get("/<uuid:template_id>/versions/<uuid:version_id>/export")
@login_required
def export(template_id: uuid.UUID, version_id: uuid.UUID):
    """The version as a TOML file (docs/template-format.md), to download."""
    _require_admin()
    version = _version_of(template_id, version_id)
    text = export_version(version, current_tenant().name)
    return Response(
        text,
        mimetype="application/toml",
        headers={
            "Content-Disposition": f'attachment; filename="{export_filename(version)}"',
            "Cache-Control": "no-store",
        },
    )


def _render_import(errors: dict[str, str], status: int = 200):
    return render_template(
        "versions/import.html", errors=errors, max_kb=MAX_FILE_BYTES // 1024
    ), status


@bp.route("/import", methods=["GET", "POST"])
@login_required
def import_file():
    """Upload a template file: a new draft of the template with its key (or a new template)."""
    _require_admin()
    if request.method == "GET":
        return _render_import({})
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _render_import({"file": gettext("Choose the template file (.toml) to upload.")}, 422)
    raw = upload.stream.read(MAX_FILE_BYTES + 1)
    filename = upload.filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    try:
        draft = import_template_file(
            raw,
            current_user,
            default_language=current_tenant().default_locale,
            filename=filename,
        )
    except TemplateFileError as refused:
        db.session.rollback()
        return _render_import({"file": str(refused)}, 422)
    except InvalidInput as refused:
        db.session.rollback()
        message = refused.errors.get(FORM) or next(iter(refused.errors.values()))
        return _render_import({"file": message}, 422)
    template = draft.template
    db.session.commit()
    flash(
        gettext(
            "Imported as a draft (version %(number)d) of %(name)s. Check it and publish it.",
            number=draft.number,
            name=template.name_in(*page_languages()),
        )
    )
    return redirect(_draft_url(template, draft), 303)


def _draft_url(template: ProcessTemplate, draft: TemplateVersion) -> str:
    for endpoint, values in (
        ("process_templates.show_draft", {"draft_id": draft.id}),
        ("process_templates.show_template", {"template_id": template.id}),
    ):
        try:
            return url_for(endpoint, **values)
        except BuildError:
            continue
    return url_for("template_versions.compare", template_id=template.id)
