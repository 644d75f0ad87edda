"""The training catalogue: trainings open to me, editions, applying, enrolment and attendance.

Programme-admin pages declare the role on the route (anyone else gets 404, the same as a missing
object); every view loads its objects through the tenant (`get_or_404`), checks who else may see
them, then calls a service through `form_action`. Refused input is shown again, with the messages
next to the fields and status 422.
"""

from __future__ import annotations

import uuid
from collections import defaultdict

from flask import Blueprint, abort, flash, render_template, request
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from samenleren.catalogue import enrolment as enrolments
from samenleren.catalogue import forms, pages, sessions
from samenleren.catalogue.access import is_admin, is_open_to, may_record_attendance, open_to_clause
from samenleren.catalogue.editions import create_edition, update_edition
from samenleren.catalogue.models import (
    Edition,
    EditionSession,
    Enrolment,
    EnrolmentStatus,
    ManagerApproval,
    Training,
)
from samenleren.catalogue.summaries import edition_summaries, first_editions
from samenleren.catalogue.trainings import create_training, update_training
from samenleren.core.errors_input import InvalidInput
from samenleren.core.extensions import db
from samenleren.core.formatting import local_today
from samenleren.core.web import form_action, get_or_404, login_required, role_required, see_other
from samenleren.identity.directory import picker_answer
from samenleren.identity.models import Role, User

bp = Blueprint("catalogue", __name__, template_folder="templates")


# --- the catalogue ------------------------------------------------------------------------------


#: The catalogue lists the first coming editions of each training; the training's page has all.
EDITIONS_SHOWN_PER_TRAINING = 4


@bp.get("/<tenant>/trainings/")
@login_required
def list_trainings():
    """Trainings open to me, each with its coming editions, places left and my status."""
    offered = open_to_clause(current_user)
    trainings = db.session.scalars(
        select(Training).where(offered).order_by(Training.title, Training.id)
    ).all()
    coming = (offered, Edition.cancelled.is_(False), Edition.ends_on >= local_today())
    shown, matching = first_editions(*coming, per_training=EDITIONS_SHOWN_PER_TRAINING)
    editions = defaultdict(list)
    for summary in edition_summaries(current_user, Edition.id.in_(shown)) if shown else []:
        editions[summary.edition.training_id].append(summary)
    return render_template(
        "catalogue/list_trainings.html",
        trainings=trainings,
        editions=editions,
        more_editions={
            training_id: count - len(editions[training_id])
            for training_id, count in matching.items()
            if count > len(editions[training_id])
        },
        is_admin=is_admin(current_user),
    )


@bp.get("/<tenant>/trainings/<uuid:training_id>")
@login_required
def show_training(training_id: uuid.UUID):
    training = get_or_404(Training, training_id)
    return pages.render_training(training)


# --- trainings: new and edit (programme admin) ----------------------------------------------------


@bp.route("/<tenant>/trainings/new", methods=["GET", "POST"])
@role_required(Role.PROGRAMME_ADMIN)
def new_training():
    if request.method == "GET":
        return pages.render_training_form(None, pages.training_values(None))
    return form_action(
        lambda: create_training(current_user, forms.training_input(request.form)),
        invalid=lambda errors: pages.render_training_form(None, request.form, errors),
        done=lambda training: see_other("catalogue.show_training", training_id=training.id),
        message=lambda training: gettext(
            "The training %(title)s was added to the catalogue.", title=training.title
        ),
        multiline=("description",),
    )


@bp.route("/<tenant>/trainings/<uuid:training_id>/edit", methods=["GET", "POST"])
@role_required(Role.PROGRAMME_ADMIN)
def edit_training(training_id: uuid.UUID):
    training = get_or_404(Training, training_id)
    if request.method == "GET":
        return pages.render_training_form(training, pages.training_values(training))
    return form_action(
        lambda: update_training(training, current_user, forms.training_input(request.form)),
        invalid=lambda errors: pages.render_training_form(training, request.form, errors),
        done=lambda saved: see_other("catalogue.show_training", training_id=saved.id),
        message=lambda saved: gettext("The training %(title)s was saved.", title=saved.title),
        multiline=("description",),
    )


# --- editions: new and edit (programme admin) -----------------------------------------------------


@bp.route("/<tenant>/trainings/<uuid:training_id>/editions/new", methods=["GET", "POST"])
@role_required(Role.PROGRAMME_ADMIN)
def new_edition(training_id: uuid.UUID):
    training = get_or_404(Training, training_id)
    if request.method == "GET":
        return pages.render_edition_form(training, None, pages.edition_values(None))
    if request.form.get("search_trainer"):  # the trainer's search: nothing is saved
        return pages.render_edition_form(training, None, request.form)
    return form_action(
        lambda: create_edition(training, current_user, forms.edition_input(request.form)),
        invalid=lambda errors: pages.render_edition_form(training, None, request.form, errors),
        done=lambda edition: see_other("catalogue.show_edition", edition_id=edition.id),
        message=lambda edition: gettext("The edition %(name)s was added.", name=edition.name),
    )


@bp.route("/<tenant>/editions/<uuid:edition_id>/edit", methods=["GET", "POST"])
@role_required(Role.PROGRAMME_ADMIN)
def edit_edition(edition_id: uuid.UUID):
    edition = get_or_404(
        Edition, edition_id, joinedload(Edition.training), joinedload(Edition.trainer)
    )
    if request.method == "GET":
        return pages.render_edition_form(edition.training, edition, pages.edition_values(edition))
    if request.form.get("search_trainer"):  # the trainer's search: nothing is saved
        return pages.render_edition_form(edition.training, edition, request.form)
    return form_action(
        lambda: update_edition(edition, current_user, forms.edition_input(request.form)),
        invalid=lambda errors: pages.render_edition_form(
            edition.training, edition, request.form, errors
        ),
        done=lambda saved: see_other("catalogue.show_edition", edition_id=saved.id),
        message=lambda saved: gettext("The edition %(name)s was saved.", name=saved.name),
    )


# --- the edition page ---------------------------------------------------------------------------


def _load_edition(edition_id: uuid.UUID) -> Edition:
    return get_or_404(
        Edition,
        edition_id,
        joinedload(Edition.training).lazyload(Training.departments),
        joinedload(Edition.trainer).lazyload(User.role_assignments),
    )


@bp.get("/<tenant>/editions/<uuid:edition_id>")
@login_required
def show_edition(edition_id: uuid.UUID):
    return pages.render_edition(_load_edition(edition_id))


# --- applying, enrolling, withdrawing -----------------------------------------------------------


@bp.post("/<tenant>/editions/<uuid:edition_id>/apply")
@login_required
def apply_edition(edition_id: uuid.UUID):
    edition = _load_edition(edition_id)
    training = edition.training
    if not is_open_to(training, current_user):
        abort(404)
    return form_action(
        lambda: enrolments.apply_for(edition, current_user, request.form.get("motivation", "")),
        invalid=lambda errors: pages.render_training(training, failed=edition.id, errors=errors),
        done=see_other("catalogue.show_training", training_id=training.id),
        message=lambda _: gettext(
            "Your application for %(edition)s has been sent. The programme administrator "
            "will let you know.",
            edition=edition.name,
        ),
        multiline=("motivation",),
    )


def _enrolled_message(enrolment: Enrolment) -> str:
    if enrolment.status is EnrolmentStatus.ENROLLED:
        return gettext(
            "%(name)s is enrolled; their trajectory has started.", name=enrolment.learner.name
        )
    return gettext(
        "The edition is full: %(name)s is on the waiting list.", name=enrolment.learner.name
    )


@bp.get("/<tenant>/trainers/search")
@role_required(Role.PROGRAMME_ADMIN)
def search_trainers():
    """The edition form's trainer search field, as JSON (static/picker.js)."""
    return picker_answer(pages.trainer_matches(request.args.get("q", "")))


@bp.get("/<tenant>/editions/<uuid:edition_id>/employees")
@role_required(Role.PROGRAMME_ADMIN)
def search_employees(edition_id: uuid.UUID):
    """The enrol form's search field, as JSON (static/picker.js)."""
    edition = get_or_404(Edition, edition_id)
    return picker_answer(pages.enrol_candidates(edition, request.args.get("q", "")))


@bp.post("/<tenant>/editions/<uuid:edition_id>/enrol")
@role_required(Role.PROGRAMME_ADMIN)
def enrol_learner(edition_id: uuid.UUID):
    edition = _load_edition(edition_id)

    def enrol() -> Enrolment:
        learner_id = forms.chosen_learner_id(request.form)
        learner = db.session.scalar(select(User).where(User.id == learner_id))
        if learner is None:
            raise InvalidInput({"learner_id": gettext("Choose an employee from the list.")})
        return enrolments.enrol(edition, learner, current_user)

    return form_action(
        enrol,
        invalid=lambda errors: pages.render_edition(edition, failed=("enrol", None), errors=errors),
        done=see_other("catalogue.show_edition", edition_id=edition.id),
        message=_enrolled_message,
    )


def _load_enrolment(enrolment_id: uuid.UUID) -> Enrolment:
    return get_or_404(
        Enrolment,
        enrolment_id,
        joinedload(Enrolment.edition).joinedload(Edition.training),
        joinedload(Enrolment.learner),
    )


def _render_approval(enrolment: Enrolment, errors: dict[str, str] | None = None):
    return render_template(
        "catalogue/approval.html",
        enrolment=enrolment,
        Status=EnrolmentStatus,
        Approval=ManagerApproval,
        errors=errors or {},
    ), (422 if errors else 200)


@bp.route("/<tenant>/enrolments/<uuid:enrolment_id>/approval", methods=["GET", "POST"])
@login_required
def answer_application(enrolment_id: uuid.UUID):
    """The manager's answer to a team member's application, when the template asks for it (the
    page says so when it does not). Anyone but that employee's manager gets 404, as for a
    missing application."""
    enrolment = _load_enrolment(enrolment_id)
    if enrolment.learner.manager_id != current_user.id or enrolment.learner_id == current_user.id:
        abort(404)
    if request.method == "GET":
        return _render_approval(enrolment)
    approve = request.form.get("answer") == "approve"

    def answer() -> None:
        if request.form.get("answer") not in ("approve", "discuss"):
            raise InvalidInput.form(gettext("Approve the application or ask to discuss it."))
        enrolments.answer_as_manager(enrolment, current_user, approve=approve)

    name = enrolment.learner.name
    return form_action(
        answer,
        invalid=lambda errors: _render_approval(_load_enrolment(enrolment_id), errors),
        done=see_other("catalogue.answer_application", enrolment_id=enrolment_id),
        message=gettext("You approved the application of %(name)s.", name=name)
        if approve
        else gettext(
            "The programme administrator sees that you want to discuss it with %(name)s first.",
            name=name,
        ),
    )


@bp.post("/<tenant>/enrolments/<uuid:enrolment_id>/accept")
@role_required(Role.PROGRAMME_ADMIN)
def accept_enrolment(enrolment_id: uuid.UUID):
    enrolment = _load_enrolment(enrolment_id)
    edition = enrolment.edition
    return form_action(
        lambda: enrolments.accept(enrolment, current_user),
        invalid=lambda errors: pages.render_edition(
            edition, failed=("accept", enrolment.id), errors=errors
        ),
        # Accepted from the worklist on the dashboard: back there, to the next one.
        done=see_other("dashboards.programme")
        if request.form.get("from") == "worklist"
        else see_other("catalogue.show_edition", edition_id=edition.id),
        message=_enrolled_message,
    )


@bp.post("/<tenant>/enrolments/<uuid:enrolment_id>/withdraw")
@login_required
def withdraw_enrolment(enrolment_id: uuid.UUID):
    """The admin withdraws anyone; a learner their own application or waiting place."""
    enrolment = _load_enrolment(enrolment_id)
    admin = is_admin(current_user)
    own = enrolment.learner_id == current_user.id
    if not admin and not own:
        abort(404)
    edition = enrolment.edition

    def withdraw() -> list[Enrolment]:
        return enrolments.withdraw(enrolment, current_user, request.form.get("reason", ""))

    if not admin:
        return form_action(
            withdraw,
            invalid=lambda errors: pages.render_training(
                edition.training, failed=edition.id, errors=errors
            ),
            done=see_other("catalogue.show_training", training_id=edition.training_id),
            message=lambda _: gettext("You have withdrawn from %(edition)s.", edition=edition.name),
        )

    def moved_up(promoted: list[Enrolment]):
        for moved in promoted:
            flash(
                gettext(
                    "%(name)s moved up from the waiting list and is now enrolled.",
                    name=moved.learner.name,
                )
            )
        return see_other("catalogue.show_edition", edition_id=edition.id)

    return form_action(
        withdraw,
        invalid=lambda errors: pages.render_edition(
            edition, failed=("withdraw", enrolment.id), errors=errors
        ),
        done=moved_up,
        message=lambda _: gettext("%(name)s was withdrawn.", name=enrolment.learner.name),
    )


@bp.post("/<tenant>/enrolments/<uuid:enrolment_id>/decline")
@role_required(Role.PROGRAMME_ADMIN)
def decline_enrolment(enrolment_id: uuid.UUID):
    enrolment = _load_enrolment(enrolment_id)
    edition = enrolment.edition
    return form_action(
        lambda: enrolments.decline(enrolment, current_user, request.form.get("reason", "")),
        invalid=lambda errors: pages.render_edition(
            edition, failed=("decline", enrolment.id), errors=errors
        ),
        done=see_other("catalogue.show_edition", edition_id=edition.id),
        message=lambda _: gettext(
            "The application of %(name)s was declined.", name=enrolment.learner.name
        ),
    )


# --- sessions and attendance --------------------------------------------------------------------


def _load_session(edition: Edition, session_id: uuid.UUID) -> EditionSession:
    session = get_or_404(EditionSession, session_id)
    if session.edition_id != edition.id:
        abort(404)
    return session


@bp.post("/<tenant>/editions/<uuid:edition_id>/sessions")
@role_required(Role.PROGRAMME_ADMIN)
def add_session(edition_id: uuid.UUID):
    edition = _load_edition(edition_id)
    return form_action(
        lambda: sessions.add_session(edition, current_user, forms.session_input(request.form)),
        invalid=lambda errors: pages.render_edition(
            edition, failed=("session", None), errors=errors
        ),
        done=see_other("catalogue.show_edition", edition_id=edition.id),
        message=gettext("The session was added."),
    )


@bp.post("/<tenant>/editions/<uuid:edition_id>/sessions/<uuid:session_id>/delete")
@role_required(Role.PROGRAMME_ADMIN)
def delete_session(edition_id: uuid.UUID, session_id: uuid.UUID):
    edition = _load_edition(edition_id)
    session = _load_session(edition, session_id)
    return form_action(
        lambda: sessions.remove_session(session, current_user),
        invalid=lambda errors: pages.render_edition(
            edition, failed=("delete_session", session.id), errors=errors
        ),
        done=see_other("catalogue.show_edition", edition_id=edition.id),
        message=gettext("The session was removed."),
    )


@bp.route(
    "/<tenant>/editions/<uuid:edition_id>/sessions/<uuid:session_id>/attendance",
    methods=["GET", "POST"],
)
@login_required
def record_attendance(edition_id: uuid.UUID, session_id: uuid.UUID):
    """The trainer (or an admin) records who was present at a session."""
    edition = _load_edition(edition_id)
    session = _load_session(edition, session_id)
    if not may_record_attendance(edition, current_user):
        abort(404)
    learners = sessions.enrolled_learners(edition)
    if request.method == "GET":
        return pages.render_attendance(edition, session, learners)
    marks = forms.attendance_marks(request.form, [learner.id for learner in learners])
    return form_action(
        lambda: sessions.record_attendance(session, edition, current_user, marks),
        invalid=lambda errors: pages.render_attendance(edition, session, learners, errors),
        done=see_other("catalogue.show_edition", edition_id=edition.id),
        message=gettext("The attendance was saved."),
    )
