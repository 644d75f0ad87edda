"""Pages of the exports: ask for one, follow it being made, download it (programme admin only;
anyone else gets 404, as if the pages did not exist)."""

from __future__ import annotations

import uuid

from flask import Blueprint, Response, abort, jsonify, render_template, request, url_for
from flask_babel import get_locale, gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from samenleren.core.extensions import db
from samenleren.core.web import form_action, get_or_404, require_roles, see_other
from samenleren.exports import services
from samenleren.exports.datasets import DATASET_TITLES
from samenleren.exports.models import Dataset, Export, ExportFormat, ExportKind, ExportState
from samenleren.identity.models import Role

bp = Blueprint("exports", __name__, template_folder="templates")
require_roles(bp, Role.PROGRAMME_ADMIN)

STATE_LABELS = {
    ExportState.QUEUED: _l("Waiting"),
    ExportState.RUNNING: _l("Being made"),
    ExportState.DONE: _l("Ready"),
    ExportState.FAILED: _l("Failed"),
    ExportState.EXPIRED: _l("Expired"),
}
FORMAT_LABELS = {
    ExportFormat.XLSX: _l("Excel (.xlsx), one sheet per kind of data"),
    ExportFormat.CSV: _l("CSV (separated by semicolons), one file per kind of data"),
}
DATASET_HINTS = {
    Dataset.TRAJECTORIES: _l(
        "Learner, department, training, edition, coach, manager, process model, status, "
        "current step and dates."
    ),
    Dataset.STEPS: _l(
        "Every step of every trajectory: state, due date, appointment, done or skipped on."
    ),
    Dataset.GOALS: _l(
        "Learning goals per organisation goal, with the attainment ratings at the evaluation."
    ),
    Dataset.INSIGHT: _l(
        "Every table of the programme report (this year; from the report page: the period and "
        "filters chosen there). Figures about fewer than 5 learners read “fewer than 5”."
    ),
    Dataset.BUDGET: _l(
        "The budget's expenses: date, amount, category, edition and invoice reference."
    ),
}


def error_text(export: Export) -> str:
    if export.state is not ExportState.FAILED:
        return ""
    if export.error == "stale":
        return gettext("It took too long; ask for a new export.")
    return gettext("Something went wrong while making it; ask for a new export.")


def _render_list(values: dict, errors: dict, status: int = 200):
    exports = services.recent_exports()
    return (
        render_template(
            "exports/list_exports.html",
            exports=exports,
            values=values,
            errors=errors,
            formats=FORMAT_LABELS,
            datasets=[(d, DATASET_TITLES[d], DATASET_HINTS[d]) for d in Dataset],
            dataset_titles={d.value: DATASET_TITLES[d] for d in Dataset},
            state_labels=STATE_LABELS,
            error_text=error_text,
            downloadable=services.is_downloadable,
            in_progress=any(export.state.in_progress for export, _ in exports),
            lifetime_hours=int(services.LIFETIME.total_seconds() // 3600),
        ),
        status,
    )


_DEFAULT_VALUES = {"format": ExportFormat.XLSX.value, "datasets": [d.value for d in Dataset]}


@bp.get("/<tenant>/exports/")
def list_exports():
    return _render_list(_DEFAULT_VALUES, {})


@bp.post("/<tenant>/exports/")
def request_export():
    export_format = request.form.get("format", "")
    datasets = request.form.getlist("datasets")
    values = {"format": export_format, "datasets": datasets}
    # A provided dataset's parameters (the report's period and filters) come as `p.<name>`.
    parameters = {
        name.removeprefix("p."): value
        for name, value in request.form.items()
        if name.startswith("p.")
    }
    return form_action(
        lambda: services.request_export(
            current_user, export_format, datasets, str(get_locale() or "nl"), parameters
        ),
        invalid=lambda errors: _render_list(values, errors, 422),
        done=see_other("exports.list_exports"),
        message=gettext("The export is being made. You can download it here when it is ready."),
    )


@bp.get("/<tenant>/exports/status")
def export_status():
    """The state of the listed exports, for the page's script (static/exports.js)."""
    exports = services.recent_exports()
    return jsonify(
        exports=[
            {
                "id": str(export.id),
                "state": export.state.value,
                "label": str(STATE_LABELS[export.state]),
                "progress": export.progress,
                "rows": export.rows,
                "error": error_text(export),
                "download": url_for("exports.download_export", export_id=export.id)
                if services.is_downloadable(export)
                else None,
            }
            for export, _ in exports
        ]
    )


@bp.get("/<tenant>/exports/<uuid:export_id>/download")
def download_export(export_id: uuid.UUID):
    export = get_or_404(Export, export_id)
    if export.kind is not ExportKind.PROGRAMME:
        # A personal data package is downloaded from the privacy pages, by whom it is for.
        abort(404)
    if not services.is_downloadable(export):
        if export.state in (ExportState.DONE, ExportState.EXPIRED):
            status, message = (
                410,
                gettext("This export has expired and its file was deleted. Ask for a new export."),
            )
        elif export.state is ExportState.FAILED:
            status, message = 409, error_text(export)
        else:
            status, message = (
                409,
                gettext("This export is not ready yet. The list of exports shows how far it is."),
            )
        return render_template("exports/not_available.html", message=message), status
    content = services.download(export, current_user)
    db.session.commit()
    return Response(
        content,
        content_type=export.content_type,
        headers={
            "Content-Disposition": f'attachment; filename="{export.filename}"',
            "Cache-Control": "no-store",
        },
    )
