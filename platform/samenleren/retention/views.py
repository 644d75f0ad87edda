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
from samenleren.identity.directory import MIN_QUERY, clean_query, parse_uuid, search_people
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
    """The holds in place (named), and placing one: find the person, then choose what to hold
    (all of the person's data, or one of their trajectories). Nobody types an id."""
    q = clean_query(request.args.get("q"))
    person_id = parse_uuid(values.get("person") or request.args.get("person"))
    person = holds.candidate(person_id) if person_id else None
    return (
        render_template(
            "retention/holds.html",
            holds=holds.describe(holds.active_holds()),
            q=q,
            found=search_people(q, include_departed=True) if person is None else [],
            min_query=MIN_QUERY,
            person=person,
            subject_options=_subject_options(person) if person else [],
            values=values,
            errors=errors,
        ),
        status,
    )


def _subject_options(person: holds.Candidate) -> list[tuple[str, str]]:
    """What a hold on `person` may cover: all their data, or one of their trajectories."""
    return [
        (f"person:{person.id}", gettext("All data of %(name)s", name=person.name)),
        *(
            (f"trajectory:{trajectory_id}", gettext("Only the trajectory %(label)s", label=label))
            for trajectory_id, label in person.trajectories
        ),
    ]


@bp.get("/<tenant>/retention/holds")
def list_holds():
    return _render_holds({}, {})


#: The service names what is refused by its parts; the page has one choice for both.
_SUBJECT_ERRORS = {"subject_type": "subject", "subject_id": "subject"}


@bp.post("/<tenant>/retention/holds")
def place_hold():
    values = {name: request.form.get(name, "") for name in ("person", "subject", "reason")}
    subject_type, _, subject_id = values["subject"].partition(":")

    def refused(errors: dict):
        named = {_SUBJECT_ERRORS.get(key, key): message for key, message in errors.items()}
        return _render_holds(values, named, 422)

    return form_action(
        lambda: holds.place_hold(subject_type, subject_id, values["reason"], current_user),
        invalid=refused,
        done=see_other("retention.list_holds"),
        message=gettext("The legal hold is placed."),
        multiline=("reason",),
    )


@bp.post("/<tenant>/retention/holds/<uuid:hold_id>/lift")
def lift_hold(hold_id):
    hold = get_or_404(LegalHold, hold_id)
    return form_action(
        lambda: holds.lift_hold(hold, current_user),
        invalid=lambda errors: _render_holds({}, errors, 422),
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
