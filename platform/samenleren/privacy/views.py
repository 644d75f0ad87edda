"""Pages of the employee's rights.

* `/<tenant>/my-data/`: every logged-in user asks for their own data and downloads it (their
  own packages only; anyone else's is a 404).
* `/<tenant>/privacy/...`: the programme administrator finds a person, produces their package
  on request (without confidential notes), corrects their profile and restricts (or frees) their
  trajectories. Anyone else gets 404, as if the pages did not exist.
"""

from __future__ import annotations

import uuid

from flask import Blueprint, Response, abort, render_template, request
from flask_babel import get_locale, gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload, lazyload

from samenleren.catalogue.models import Edition
from samenleren.core.config import LANGUAGES
from samenleren.core.extensions import db
from samenleren.core.i18n import LANGUAGE_NAMES
from samenleren.core.web import form_action, get_or_404, login_required, role_required, see_other
from samenleren.exports import services as exports
from samenleren.exports.models import Export, ExportState
from samenleren.identity.directory import MIN_QUERY, departments, search_people
from samenleren.identity.models import Role, User
from samenleren.privacy import rectification, requests, restriction
from samenleren.trajectories.models import Trajectory

bp = Blueprint("privacy", __name__, template_folder="templates")

STATE_LABELS = {
    ExportState.QUEUED: _l("Waiting"),
    ExportState.RUNNING: _l("Being made"),
    ExportState.DONE: _l("Ready"),
    ExportState.FAILED: _l("Failed"),
    ExportState.EXPIRED: _l("Expired"),
}

FIELD_LABELS = {
    "name": _l("Name"),
    "email": _l("E-mail address"),
    "employee_number": _l("Employee number"),
    "department": _l("Department"),
    "manager": _l("Manager"),
    "language": _l("Language"),
}


def _locale() -> str:
    return str(get_locale() or "nl")


def _lifetime_days() -> int:
    return requests.LIFETIME.days


def _not_available(export: Export, back: str):
    """Why a package cannot be downloaded (expired: 410; not ready or failed: 409)."""
    if export.state in (ExportState.DONE, ExportState.EXPIRED):
        status, message = (
            410,
            gettext("This package has expired and its file was deleted. Ask for a new package."),
        )
    elif export.state is ExportState.FAILED:
        status, message = 409, gettext("Making this package failed. Ask for a new package.")
    else:
        status, message = (
            409,
            gettext("This package is not ready yet. Its page shows how far it is."),
        )
    return render_template("privacy/not_available.html", message=message, back=back), status


def _send(export: Export) -> Response:
    content = requests.download(export, current_user)
    db.session.commit()
    return Response(
        content,
        content_type=export.content_type,
        headers={
            "Content-Disposition": f'attachment; filename="{export.filename}"',
            "Cache-Control": "no-store",
        },
    )


# --- my data ------------------------------------------------------------------------------------


def _my_page(errors: dict, status: int = 200):
    packages = requests.my_packages(current_user)
    return (
        render_template(
            "privacy/my_data.html",
            packages=packages,
            errors=errors,
            state_labels=STATE_LABELS,
            downloadable=exports.is_downloadable,
            in_progress=any(p.state.in_progress for p in packages),
            lifetime_days=_lifetime_days(),
        ),
        status,
    )


@bp.get("/<tenant>/my-data/")
@login_required
def show_my_data():
    return _my_page({})


@bp.post("/<tenant>/my-data/")
@login_required
def request_my_data():
    return form_action(
        lambda: requests.request_my_data(current_user, _locale()),
        invalid=lambda errors: _my_page(errors, 422),
        done=see_other("privacy.show_my_data"),
        message=gettext(
            "Your package is being made. You get a mail when it is ready; this page shows how far "
            "it is."
        ),
    )


@bp.get("/<tenant>/my-data/<uuid:my_package_id>/download")
@login_required
def download_my_data(my_package_id: uuid.UUID):
    export = requests.own_package(my_package_id, current_user)
    if export is None:
        abort(404)
    if not exports.is_downloadable(export):
        return _not_available(export, "privacy.show_my_data")
    return _send(export)


# --- the programme administrator ---------------------------------------------------------------


@bp.get("/<tenant>/privacy/")
@role_required(Role.PROGRAMME_ADMIN)
def find_person():
    q = request.args.get("q", "")
    return render_template(
        "privacy/find_person.html",
        q=q,
        found=search_people(q, include_departed=True),  # former employees keep their rights
        min_query=MIN_QUERY,
    )


def _person(person_id: uuid.UUID) -> User:
    return get_or_404(
        User,
        person_id,
        joinedload(User.department),
        joinedload(User.manager).lazyload(User.role_assignments),
        lazyload(User.role_assignments),
    )


def _person_page(person: User, errors: dict | None = None, form: str = "", values=None):
    trajectories = list(
        db.session.scalars(
            select(Trajectory)
            .where(Trajectory.learner_id == person.id)
            .options(joinedload(Trajectory.edition).joinedload(Edition.training))
            .order_by(Trajectory.created_at)
        ).unique()
    )
    packages = requests.packages_of(person)
    owned = rectification.idp_fields(person)
    profile = values or {
        "employee_number": person.employee_number or "",
        "department": str(person.department_id or ""),
        "manager": (person.manager.email or person.manager.employee_number or "")
        if person.manager is not None
        else "",
        "language": person.locale or "",
    }
    return render_template(
        "privacy/person.html",
        person=person,
        trajectories=trajectories,
        packages=packages,
        owned=owned,
        field_labels=FIELD_LABELS,
        profile=profile,
        departments=departments(),
        languages=[(code, LANGUAGE_NAMES.get(code, code)) for code in LANGUAGES],
        errors=errors or {},
        form=form,
        state_labels=STATE_LABELS,
        downloadable=exports.is_downloadable,
        in_progress=any(p.state.in_progress for p, _ in packages),
        lifetime_days=_lifetime_days(),
    )


@bp.get("/<tenant>/privacy/people/<uuid:person_id>")
@role_required(Role.PROGRAMME_ADMIN)
def show_person(person_id: uuid.UUID):
    return _person_page(_person(person_id))


@bp.post("/<tenant>/privacy/people/<uuid:person_id>/packages")
@role_required(Role.PROGRAMME_ADMIN)
def produce_package(person_id: uuid.UUID):
    person = _person(person_id)
    return form_action(
        lambda: requests.request_for_person(
            current_user, person, request.form.get("reason", ""), _locale()
        ),
        invalid=lambda errors: (_person_page(person, errors, "package"), 422),
        done=see_other("privacy.show_person", person_id=person.id),
        message=gettext("The package is being made. You get a mail when it is ready."),
        multiline=("reason",),
    )


@bp.get("/<tenant>/privacy/packages/<uuid:package_id>/download")
@role_required(Role.PROGRAMME_ADMIN)
def download_package(package_id: uuid.UUID):
    export = requests.produced_package(package_id)
    if export is None:
        abort(404)
    if not exports.is_downloadable(export):
        return _not_available(export, "privacy.find_person")
    return _send(export)


@bp.post("/<tenant>/privacy/people/<uuid:person_id>/profile")
@role_required(Role.PROGRAMME_ADMIN)
def rectify_profile(person_id: uuid.UUID):
    person = _person(person_id)
    # A field the form leaves out (the identity provider's) is posted as nothing: kept.
    values = {name: request.form.get(name) for name in rectification.EDITABLE}
    return form_action(
        lambda: rectification.rectify(
            person,
            current_user,
            rectification.ProfileInput(**values),
            request.form.get("reason", ""),
        ),
        invalid=lambda errors: (_person_page(person, errors, "profile", values), 422),
        done=see_other("privacy.show_person", person_id=person.id),
        message=gettext("The profile is corrected."),
        multiline=("reason",),
    )


def _trajectory(trajectory_id: uuid.UUID) -> Trajectory:
    return get_or_404(
        Trajectory,
        trajectory_id,
        joinedload(Trajectory.learner).options(
            joinedload(User.department),
            joinedload(User.manager).lazyload(User.role_assignments),
            lazyload(User.role_assignments),
        ),
    )


@bp.post("/<tenant>/privacy/trajectories/<uuid:trajectory_id>/restrict")
@role_required(Role.PROGRAMME_ADMIN)
def restrict_trajectory(trajectory_id: uuid.UUID):
    trajectory = _trajectory(trajectory_id)
    person = trajectory.learner
    return form_action(
        lambda: restriction.restrict(trajectory, current_user, request.form.get("reason")),
        invalid=lambda errors: (
            _person_page(person, errors, f"restrict-{trajectory.id}"),
            422,
        ),
        done=see_other("privacy.show_person", person_id=person.id),
        message=gettext("The trajectory is restricted: nothing in it is processed any more."),
        multiline=("reason",),
    )


@bp.post("/<tenant>/privacy/trajectories/<uuid:trajectory_id>/lift")
@role_required(Role.PROGRAMME_ADMIN)
def lift_restriction(trajectory_id: uuid.UUID):
    trajectory = _trajectory(trajectory_id)
    person = trajectory.learner
    return form_action(
        lambda: restriction.lift(trajectory, current_user, request.form.get("reason")),
        invalid=lambda errors: (_person_page(person, errors, f"restrict-{trajectory.id}"), 422),
        done=see_other("privacy.show_person", person_id=person.id),
        message=gettext("The restriction is lifted: the trajectory is processed again."),
        multiline=("reason",),
    )
