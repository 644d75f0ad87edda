"""Versions of a process template: compare two, export one as a file, import a file, move
not-yet-started trajectories to a newer version (that page is `trajectories.moving_views`).
Programme administrators only; to anyone else these pages look missing (404)."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale, gettext
from flask_login import current_user
from sqlalchemy import select
from werkzeug.routing import BuildError

from samenleren.core.errors_input import FORM, InvalidInput
from samenleren.core.extensions import db
from samenleren.core.tenancy import current_tenant, require_tenant
from samenleren.core.web import form_action, get_or_404, require_roles
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

# The pages' templates are shared with the other features, in process_templates/templates/.
bp = Blueprint(
    "template_versions", __name__, template_folder="../templates", url_prefix="/<tenant>/templates"
)
require_roles(bp, Role.PROGRAMME_ADMIN)


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
def compare(template_id: uuid.UUID) -> tuple[str, int]:
    """Two versions of the template side by side, as a list of changes per step."""
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
def export(template_id: uuid.UUID, version_id: uuid.UUID) -> Response:
    """The version as a TOML file (docs/template-format.md), to download."""
    version = _version_of(template_id, version_id)
    text = export_version(version, require_tenant().name)
    return Response(
        text,
        mimetype="application/toml",
        headers={
            "Content-Disposition": f'attachment; filename="{export_filename(version)}"',
            "Cache-Control": "no-store",
        },
    )


def _render_import(errors: dict[str, str]) -> str:
    return render_template("versions/import.html", errors=errors, max_kb=MAX_FILE_BYTES // 1024)


@bp.route("/import", methods=["GET", "POST"])
def import_file() -> ResponseReturnValue:
    """Upload a template file: a new draft of the template with its key (or a new template)."""
    if request.method == "GET":
        return _render_import({})
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _render_import({"file": gettext("Choose the template file (.toml) to upload.")}), 422
    raw = upload.stream.read(MAX_FILE_BYTES + 1)
    filename = upload.filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]

    def import_upload() -> TemplateVersion:
        try:
            return import_template_file(
                raw,
                current_user,
                default_language=require_tenant().default_locale,
                filename=filename,
            )
        except TemplateFileError as refused:
            raise InvalidInput({"file": str(refused)}) from None

    return form_action(
        import_upload,
        # One message, next to the file: what is wrong with the file, or why it cannot be a draft.
        invalid=lambda errors: _render_import(
            {"file": errors.get(FORM) or next(iter(errors.values()))}
        ),
        done=lambda draft: redirect(_draft_url(draft.template, draft), 303),
        message=lambda draft: gettext(
            "Imported as a draft (version %(number)d) of %(name)s. Check it and publish it.",
            number=draft.number,
            name=draft.template.name_in(*page_languages()),
        ),
    )


def _draft_url(template: ProcessTemplate, draft: TemplateVersion) -> str:
    endpoints: tuple[tuple[str, dict[str, Any]], ...] = (
        ("process_templates.show_draft", {"draft_id": draft.id}),
        ("process_templates.show_template", {"template_id": template.id}),
    )
    for endpoint, values in endpoints:
        try:
            return url_for(endpoint, **values)
        except BuildError:
            continue
    return url_for("template_versions.compare", template_id=template.id)
