"""The programme admin's retention pages: the periods (settings), legal holds, and the
processing register's downloads."""

from __future__ import annotations

from flask import Blueprint, Response, render_template, request
from flask_babel import gettext
from flask_login import current_user

from samenleren.audit.events import AuditAction
from samenleren.audit.services import record
from samenleren.core.extensions import db
from samenleren.core.formatting import local_today
from samenleren.core.tenancy import require_tenant
from samenleren.core.web import form_action, get_or_404, require_roles, see_other
from samenleren.identity.models import Role
from samenleren.retention import holds, policy, register
from samenleren.retention.models import LegalHold

bp = Blueprint("retention", __name__, template_folder="templates")
require_roles(bp, Role.PROGRAMME_ADMIN)


def _render_settings(values: dict, errors: dict, status: int = 200):
    tenant = require_tenant()
    profile = tenant.retention_profile
    defaults = policy.profile_defaults(profile)
    kinds = [
        {
            "key": key,
            "kind": kind,
            "default": policy.describe(key, defaults[key]),
            "minimum": policy.describe(key, kind.minimum_for(profile)),
            "maximum": policy.describe(key, kind.maximum),
            "unit": kind.unit,
        }
        for key, kind in policy.KINDS.items()
    ]
    return (
        render_template(
            "retention/settings.html",
            kinds=kinds,
            values=values,
            errors=errors,
            profile_label=policy.PROFILE_LABELS.get(profile, profile),
        ),
        status,
    )


@bp.route("/<tenant>/settings/retention", methods=["GET", "POST"])
def edit_retention():
    if request.method == "GET":
        return _render_settings({key: str(v) for key, v in policy.periods().items()}, {})
    values = {key: request.form.get(key, "") for key in policy.KINDS}
    return form_action(
        lambda: policy.update_periods(values, current_user),
        invalid=lambda errors: _render_settings(values, errors, 422),
        done=see_other("retention.edit_retention"),
        message=gettext("The retention periods are saved."),
    )


def _render_holds(values: dict, errors: dict, status: int = 200):
    return (
        render_template(
            "retention/holds.html", holds=holds.active_holds(), values=values, errors=errors
        ),
        status,
    )


@bp.get("/<tenant>/retention/holds")
def list_holds():
    return _render_holds({"subject_type": "person"}, {})


@bp.post("/<tenant>/retention/holds")
def place_hold():
    values = {name: request.form.get(name, "") for name in ("subject_type", "subject_id", "reason")}
    return form_action(
        lambda: holds.place_hold(
            values["subject_type"], values["subject_id"], values["reason"], current_user
        ),
        invalid=lambda errors: _render_holds(values, errors, 422),
        done=see_other("retention.list_holds"),
        message=gettext("The legal hold is placed."),
        multiline=("reason",),
    )


@bp.post("/<tenant>/retention/holds/<uuid:hold_id>/lift")
def lift_hold(hold_id):
    hold = get_or_404(LegalHold, hold_id)
    return form_action(
        lambda: holds.lift_hold(hold, current_user),
        invalid=lambda errors: _render_holds({"subject_type": "person"}, errors, 422),
        done=see_other("retention.list_holds"),
        message=gettext("The legal hold is lifted."),
    )


def _download(body: str, mimetype: str, extension: str) -> Response:
    record(AuditAction.REGISTER_EXPORTED, actor=current_user, details={"format": extension})
    slug = require_tenant().slug
    db.session.commit()
    filename = f"processing-register-{slug}-{local_today().isoformat()}.{extension}"
    return Response(
        body,
        mimetype=mimetype,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


@bp.get("/<tenant>/retention/register.json")
def register_json():
    return _download(register.as_json(register.activities()), "application/json", "json")


@bp.get("/<tenant>/retention/register.csv")
def register_csv():
    return _download(register.as_csv(register.activities()), "text/csv", "csv")
