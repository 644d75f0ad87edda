"""The training catalogue: trainings open to me, editions, applying, enrolment and attendance.

Every view loads its objects through the tenant (`get_or_404`), then checks who may see them
(404 for anyone else, the same as a missing object), then calls a service. Refused input is shown
again, with the messages next to the fields and status 422.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from werkzeug.datastructures import MultiDict

from samenleren.catalogue import forms, services
from samenleren.catalogue.models import (
    Edition,
    EditionSession,
    Enrolment,
    EnrolmentStatus,
    Training,
)
from samenleren.core.errors_input import InvalidInput
from samenleren.core.extensions import db
from samenleren.core.web import get_or_404, login_required
from samenleren.identity.models import Department, User

bp = Blueprint("catalogue", __name__, template_folder="templates")


def _admin() -> bool:
    return services.is_admin(current_user)


def _require_admin() -> None:
    if not _admin():
        abort(404)


def _see_other(endpoint: str, **values: Any):
    return redirect(url_for(endpoint, **values), code=303)


# --- the catalogue ------------------------------------------------------------------------------


@bp.get("/<tenant>/trainings/")
@login_required
def list_trainings():
    """Trainings open to me, each with its coming editions, places left and my status."""
    offered = services.open_to_clause(current_user)
    trainings = db.session.scalars(
        select(Training).where(offered).order_by(Training.title, Training.id)
    ).all()
    editions = defaultdict(list)
    for summary in services.edition_summaries(
        current_user,
        offered,
        Edition.cancelled.is_(False),
        Edition.ends_on >= services.local_today(),
    ):
        editions[summary.edition.training_id].append(summary)
    return render_template(
        "catalogue/list_trainings.html",
        trainings=trainings,
        editions=editions,
        is_admin=_admin(),
    )


def _render_training(training: Training, *, failed: uuid.UUID | None = None, errors=None):
    """The training page; `failed` is the edition whose apply form was refused."""
    admin = _admin()
    summaries = services.edition_summaries(current_user, Edition.training_id == training.id)
    open_to_me = services.is_open_to(training, current_user)
    if not admin:
        today = services.local_today()
        involved = [
            s for s in summaries if s.mine is not None or s.edition.trainer_id == current_user.id
        ]
        if not open_to_me and not involved:
            abort(404)
        summaries = [
            s
            for s in summaries
            if s in involved or (not s.edition.cancelled and s.edition.ends_on >= today)
        ]
    may_apply = {
        s.edition.id
        for s in summaries
        if open_to_me
        and training.active
        and s.open_for_applications
        and s.edition.trainer_id != current_user.id
        and (s.mine is None or s.mine.status is EnrolmentStatus.WITHDRAWN)
    }
    status = 422 if errors else 200
    return render_template(
        "catalogue/show_training.html",
        training=training,
        summaries=summaries,
        positions=services.waiting_positions(current_user, summaries),
        may_apply=may_apply,
        is_admin=admin,
        failed=failed,
        errors=errors or {},
        values=request.form if errors else MultiDict(),
    ), status


@bp.get("/<tenant>/trainings/<uuid:training_id>")
@login_required
def show_training(training_id: uuid.UUID):
    training = get_or_404(Training, training_id)
    return _render_training(training)


# --- trainings: new and edit (programme admin) ----------------------------------------------------


def _departments() -> list[Department]:
    return list(db.session.scalars(select(Department).order_by(Department.name)))


def _training_values(training: Training | None) -> MultiDict:
    if training is None:
        return MultiDict({"open_to": "all", "active": "1"})
    values = MultiDict(
        {
            "title": training.title,
            "description": training.description,
            "provider": training.provider,
            "open_to": "all" if training.open_to_all else "departments",
            "capacity": "" if training.capacity is None else str(training.capacity),
        }
    )
    if training.active:
        values["active"] = "1"
    for department in training.departments:
        values.add("department_ids", str(department.id))
    return values


def _render_training_form(training: Training | None, values: MultiDict, errors=None):
    return render_template(
        "catalogue/training_form.html",
        training=training,
        departments=_departments(),
        values=values,
        errors=errors or {},
    ), (422 if errors else 200)


@bp.route("/<tenant>/trainings/new", methods=["GET", "POST"])
@login_required
def new_training():
    _require_admin()
    if request.method == "GET":
        return _render_training_form(None, _training_values(None))
    try:
        training = services.create_training(current_user, forms.training_input(request.form))
    except InvalidInput as refused:
        db.session.rollback()
        return _render_training_form(None, request.form, refused.errors)
    db.session.commit()
    flash(gettext("The training %(title)s was added to the catalogue.", title=training.title))
    return _see_other("catalogue.show_training", training_id=training.id)


@bp.route("/<tenant>/trainings/<uuid:training_id>/edit", methods=["GET", "POST"])
@login_required
def edit_training(training_id: uuid.UUID):
    training = get_or_404(Training, training_id)
    _require_admin()
    if request.method == "GET":
        return _render_training_form(training, _training_values(training))
    try:
        services.update_training(training, current_user, forms.training_input(request.form))
    except InvalidInput as refused:
        db.session.rollback()
        return _render_training_form(training, request.form, refused.errors)
    db.session.commit()
    flash(gettext("The training %(title)s was saved.", title=training.title))
    return _see_other("catalogue.show_training", training_id=training.id)


# --- editions: new and edit (programme admin) -----------------------------------------------------


def _edition_values(edition: Edition | None) -> MultiDict:
    if edition is None:
        return MultiDict()
    values = MultiDict(
        {
            "name": edition.name,
            "starts_on": edition.starts_on.isoformat(),
            "ends_on": edition.ends_on.isoformat(),
            "location": edition.location,
            "trainer_id": str(edition.trainer_id) if edition.trainer_id else "",
            "capacity": "" if edition.capacity is None else str(edition.capacity),
        }
    )
    if edition.cancelled:
        values["cancelled"] = "1"
    return values


def _render_edition_form(
    training: Training, edition: Edition | None, values: MultiDict, errors=None
):
    trainers = services.trainer_choices()
    if edition is not None and edition.trainer is not None:
        if edition.trainer_id not in {user_id for user_id, _ in trainers}:
            trainers.append((edition.trainer_id, edition.trainer.name))
    return render_template(
        "catalogue/edition_form.html",
        training=training,
        edition=edition,
        trainers=trainers,
        values=values,
        errors=errors or {},
    ), (422 if errors else 200)


@bp.route("/<tenant>/trainings/<uuid:training_id>/editions/new", methods=["GET", "POST"])
@login_required
def new_edition(training_id: uuid.UUID):
    training = get_or_404(Training, training_id)
    _require_admin()
    if request.method == "GET":
        return _render_edition_form(training, None, _edition_values(None))
    try:
        edition = services.create_edition(training, current_user, forms.edition_input(request.form))
    except InvalidInput as refused:
        db.session.rollback()
        return _render_edition_form(training, None, request.form, refused.errors)
    db.session.commit()
    flash(gettext("The edition %(name)s was added.", name=edition.name))
    return _see_other("catalogue.show_edition", edition_id=edition.id)


@bp.route("/<tenant>/editions/<uuid:edition_id>/edit", methods=["GET", "POST"])
@login_required
def edit_edition(edition_id: uuid.UUID):
    edition = get_or_404(
        Edition, edition_id, joinedload(Edition.training), joinedload(Edition.trainer)
    )
    _require_admin()
    if request.method == "GET":
        return _render_edition_form(edition.training, edition, _edition_values(edition))
    try:
        services.update_edition(edition, current_user, forms.edition_input(request.form))
    except InvalidInput as refused:
        db.session.rollback()
        return _render_edition_form(edition.training, edition, request.form, refused.errors)
    db.session.commit()
    flash(gettext("The edition %(name)s was saved.", name=edition.name))
    return _see_other("catalogue.show_edition", edition_id=edition.id)


# --- the edition page ---------------------------------------------------------------------------


def _load_edition(edition_id: uuid.UUID) -> Edition:
    return get_or_404(
        Edition,
        edition_id,
        joinedload(Edition.training).lazyload(Training.departments),
        joinedload(Edition.trainer).lazyload(User.role_assignments),
    )


def _viewer_role(edition: Edition, own: Enrolment | None) -> str | None:
    """How the current user sees the edition: admin, trainer, learner, or not at all (None)."""
    if _admin():
        return "admin"
    if edition.trainer_id is not None and edition.trainer_id == current_user.id:
        return "trainer"
    if own is not None and own.status is EnrolmentStatus.ENROLLED:
        return "learner"
    return None


def _render_edition(
    edition: Edition,
    *,
    failed: tuple[str, uuid.UUID | None] | None = None,
    errors: dict[str, str] | None = None,
):
    """The edition page for the admin, its trainer or an enrolled learner; 404 for anyone else.

    `failed` names the form whose input was refused (kind, enrolment or session id).
    """
    admin = _admin()
    trainer = edition.trainer_id is not None and edition.trainer_id == current_user.id
    participants = services.participants(edition) if admin or trainer else []
    if admin or trainer:
        own = next((e for e, _ in participants if e.learner_id == current_user.id), None)
    else:
        own = db.session.scalar(
            select(Enrolment).where(
                Enrolment.edition_id == edition.id, Enrolment.learner_id == current_user.id
            )
        )
    role = _viewer_role(edition, own)
    if role is None:
        abort(404)
    by_status: dict[EnrolmentStatus, list[tuple[Enrolment, uuid.UUID | None]]] = defaultdict(list)
    for enrolment, trajectory_id in participants:
        by_status[enrolment.status].append((enrolment, trajectory_id))
    own_trajectory = None
    if role == "learner":
        own_trajectory = own.trajectory.id if own.trajectory is not None else None
    employees: list[tuple[uuid.UUID, str]] = []
    if admin:
        taken = {
            enrolment.learner_id
            for enrolment, _ in participants
            if enrolment.status in services.ACTIVE_STATUSES
        }
        employees = [
            (user_id, name)
            for user_id, name in db.session.execute(
                select(User.id, User.name).where(User.active.is_(True)).order_by(User.name)
            )
            if user_id not in taken
        ]
    enrolled = len(by_status[EnrolmentStatus.ENROLLED])
    places = edition.places
    return render_template(
        "catalogue/show_edition.html",
        edition=edition,
        role=role,
        by_status=by_status,
        Status=EnrolmentStatus,
        enrolled=enrolled,
        places=places,
        places_left=None if places is None else max(places - enrolled, 0),
        sessions=services.sessions_with_attendance(edition),
        employees=employees,
        own_trajectory=own_trajectory,
        may_record_attendance=services.may_record_attendance(edition, current_user),
        over=edition.ends_on < services.local_today(),
        failed=failed,
        errors=errors or {},
        values=request.form if errors else MultiDict(),
    ), (422 if errors else 200)


@bp.get("/<tenant>/editions/<uuid:edition_id>")
@login_required
def show_edition(edition_id: uuid.UUID):
    return _render_edition(_load_edition(edition_id))


# --- applying, enrolling, withdrawing -----------------------------------------------------------


@bp.post("/<tenant>/editions/<uuid:edition_id>/apply")
@login_required
def apply_edition(edition_id: uuid.UUID):
    edition = _load_edition(edition_id)
    training = edition.training
    if not services.is_open_to(training, current_user):
        abort(404)
    try:
        services.apply_for(edition, current_user, request.form.get("motivation", ""))
    except InvalidInput as refused:
        db.session.rollback()
        return _render_training(training, failed=edition.id, errors=refused.errors)
    db.session.commit()
    flash(
        gettext(
            "Your application for %(edition)s has been sent. The programme administrator "
            "will let you know.",
            edition=edition.name,
        )
    )
    return _see_other("catalogue.show_training", training_id=training.id)


def _enrolled_message(enrolment: Enrolment) -> str:
    if enrolment.status is EnrolmentStatus.ENROLLED:
        return gettext(
            "%(name)s is enrolled; their trajectory has started.", name=enrolment.learner.name
        )
    return gettext(
        "The edition is full: %(name)s is on the waiting list.", name=enrolment.learner.name
    )


@bp.post("/<tenant>/editions/<uuid:edition_id>/enrol")
@login_required
def enrol_learner(edition_id: uuid.UUID):
    edition = _load_edition(edition_id)
    _require_admin()
    try:
        learner_id = forms.chosen_learner_id(request.form)
        learner = db.session.scalar(select(User).where(User.id == learner_id))
        if learner is None:
            raise InvalidInput({"learner_id": gettext("Choose an employee from the list.")})
        enrolment = services.enrol(edition, learner, current_user)
    except InvalidInput as refused:
        db.session.rollback()
        return _render_edition(edition, failed=("enrol", None), errors=refused.errors)
    db.session.commit()
    flash(_enrolled_message(enrolment))
    return _see_other("catalogue.show_edition", edition_id=edition.id)


def _load_enrolment(enrolment_id: uuid.UUID) -> Enrolment:
    return get_or_404(
        Enrolment,
        enrolment_id,
        joinedload(Enrolment.edition).joinedload(Edition.training),
        joinedload(Enrolment.learner),
    )


@bp.post("/<tenant>/enrolments/<uuid:enrolment_id>/accept")
@login_required
def accept_enrolment(enrolment_id: uuid.UUID):
    enrolment = _load_enrolment(enrolment_id)
    _require_admin()
    edition = enrolment.edition
    try:
        enrolment = services.accept(enrolment, current_user)
    except InvalidInput as refused:
        db.session.rollback()
        return _render_edition(edition, failed=("accept", enrolment.id), errors=refused.errors)
    db.session.commit()
    flash(_enrolled_message(enrolment))
    return _see_other("catalogue.show_edition", edition_id=edition.id)


@bp.post("/<tenant>/enrolments/<uuid:enrolment_id>/withdraw")
@login_required
def withdraw_enrolment(enrolment_id: uuid.UUID):
    """The admin withdraws anyone; a learner their own application or waiting place."""
    enrolment = _load_enrolment(enrolment_id)
    admin = _admin()
    own = enrolment.learner_id == current_user.id
    if not admin and not own:
        abort(404)
    edition = enrolment.edition
    try:
        promoted = services.withdraw(enrolment, current_user, request.form.get("reason", ""))
    except InvalidInput as refused:
        db.session.rollback()
        if admin:
            return _render_edition(
                edition, failed=("withdraw", enrolment.id), errors=refused.errors
            )
        return _render_training(edition.training, failed=edition.id, errors=refused.errors)
    db.session.commit()
    if not admin:
        flash(gettext("You have withdrawn from %(edition)s.", edition=edition.name))
        return _see_other("catalogue.show_training", training_id=edition.training_id)
    flash(gettext("%(name)s was withdrawn.", name=enrolment.learner.name))
    for moved_up in promoted:
        flash(
            gettext(
                "%(name)s moved up from the waiting list and is now enrolled.",
                name=moved_up.learner.name,
            )
        )
    return _see_other("catalogue.show_edition", edition_id=edition.id)


@bp.post("/<tenant>/enrolments/<uuid:enrolment_id>/decline")
@login_required
def decline_enrolment(enrolment_id: uuid.UUID):
    enrolment = _load_enrolment(enrolment_id)
    _require_admin()
    edition = enrolment.edition
    try:
        services.decline(enrolment, current_user, request.form.get("reason", ""))
    except InvalidInput as refused:
        db.session.rollback()
        return _render_edition(edition, failed=("decline", enrolment.id), errors=refused.errors)
    db.session.commit()
    flash(gettext("The application of %(name)s was declined.", name=enrolment.learner.name))
    return _see_other("catalogue.show_edition", edition_id=edition.id)


# --- sessions and attendance --------------------------------------------------------------------


def _load_session(edition: Edition, session_id: uuid.UUID) -> EditionSession:
    session = get_or_404(EditionSession, session_id)
    if session.edition_id != edition.id:
        abort(404)
    return session


@bp.post("/<tenant>/editions/<uuid:edition_id>/sessions")
@login_required
def add_session(edition_id: uuid.UUID):
    edition = _load_edition(edition_id)
    _require_admin()
    try:
        services.add_session(edition, current_user, forms.session_input(request.form))
    except InvalidInput as refused:
        db.session.rollback()
        return _render_edition(edition, failed=("session", None), errors=refused.errors)
    db.session.commit()
    flash(gettext("The session was added."))
    return _see_other("catalogue.show_edition", edition_id=edition.id)


@bp.post("/<tenant>/editions/<uuid:edition_id>/sessions/<uuid:session_id>/delete")
@login_required
def delete_session(edition_id: uuid.UUID, session_id: uuid.UUID):
    edition = _load_edition(edition_id)
    session = _load_session(edition, session_id)
    _require_admin()
    try:
        services.remove_session(session, current_user)
    except InvalidInput as refused:
        db.session.rollback()
        return _render_edition(
            edition, failed=("delete_session", session.id), errors=refused.errors
        )
    db.session.commit()
    flash(gettext("The session was removed."))
    return _see_other("catalogue.show_edition", edition_id=edition.id)


@bp.route(
    "/<tenant>/editions/<uuid:edition_id>/sessions/<uuid:session_id>/attendance",
    methods=["GET", "POST"],
)
@login_required
def record_attendance(edition_id: uuid.UUID, session_id: uuid.UUID):
    """The trainer (or an admin) records who was present at a session."""
    edition = _load_edition(edition_id)
    session = _load_session(edition, session_id)
    if not services.may_record_attendance(edition, current_user):
        abort(404)
    learners = services.enrolled_learners(edition)
    errors: dict[str, str] = {}
    if request.method == "POST":
        marks = forms.attendance_marks(request.form, [learner.id for learner in learners])
        try:
            services.record_attendance(session, edition, current_user, marks)
        except InvalidInput as refused:
            db.session.rollback()
            errors = refused.errors
        else:
            db.session.commit()
            flash(gettext("The attendance was saved."))
            return _see_other("catalogue.show_edition", edition_id=edition.id)
    recorded = services.attendance_of(session)
    if errors:
        for learner in learners:
            value = request.form.get(f"present-{learner.id}")
            if value in {"yes", "no"}:
                recorded[learner.id] = value == "yes"
    return render_template(
        "catalogue/attendance.html",
        edition=edition,
        session=session,
        learners=learners,
        recorded=recorded,
        started=services.session_started(session),
        errors=errors,
    ), (422 if errors else 200)
