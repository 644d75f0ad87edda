"""What the catalogue's pages show: the training page, the edition page (for the admin, its
trainer or an enrolled learner), the training and edition forms with their values, and the
attendance form. Each renders again after refused input, with the errors and status 422."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass

from flask import abort, render_template, request
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from samenleren.catalogue.access import is_admin, is_open_to, may_record_attendance
from samenleren.catalogue.enrolment import ACTIVE_STATUSES
from samenleren.catalogue.models import (
    Edition,
    Enrolment,
    EnrolmentStatus,
    Training,
    process_template_of,
)
from samenleren.catalogue.process_choice import follows, option_label, template_choices
from samenleren.catalogue.sessions import attendance_of, session_started
from samenleren.catalogue.summaries import (
    edition_summaries,
    participants,
    sessions_with_attendance,
    waiting_positions,
)
from samenleren.core.extensions import db
from samenleren.core.formatting import local_today
from samenleren.core.money import input_value
from samenleren.identity.directory import (
    MIN_QUERY,
    Person,
    clean_query,
    detail,
    parse_uuid,
    search_people,
)
from samenleren.identity.models import Department, Role, User


def render_training(training: Training, *, failed: uuid.UUID | None = None, errors=None):
    """The training page; `failed` is the edition whose apply form was refused."""
    admin = is_admin(current_user)
    summaries = edition_summaries(current_user, Edition.training_id == training.id)
    open_to_me = is_open_to(training, current_user)
    if not admin:
        today = local_today()
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
    models, training_model = {}, None
    if admin:  # which process model (and version) new trajectories of each edition start on
        choices = template_choices()
        training_model = follows(training.process_template_id, choices)
        models = {s.edition.id: follows(process_template_of(s.edition), choices) for s in summaries}
    return render_template(
        "catalogue/show_training.html",
        training=training,
        models=models,
        training_model=training_model,
        summaries=summaries,
        positions=waiting_positions(current_user, summaries),
        may_apply=may_apply,
        is_admin=admin,
        failed=failed,
        errors=errors or {},
        values=request.form if errors else MultiDict(),
    ), status


def _departments() -> list[Department]:
    return list(db.session.scalars(select(Department).order_by(Department.name)))


def training_values(training: Training | None) -> MultiDict:
    if training is None:
        return MultiDict({"open_to": "all", "active": "1"})
    values = MultiDict(
        {
            "title": training.title,
            "description": training.description,
            "provider": training.provider,
            "open_to": "all" if training.open_to_all else "departments",
            "capacity": "" if training.capacity is None else str(training.capacity),
            "process_template_id": str(training.process_template_id or ""),
        }
    )
    if training.active:
        values["active"] = "1"
    for department in training.departments:
        values.add("department_ids", str(department.id))
    return values


@dataclass(frozen=True)
class TemplateOptions:
    """The process-template field of the training and edition forms."""

    #: (value, label) of the templates to choose other than the default.
    options: list[tuple[str, str]]
    #: The label of the empty choice: the tenant's default template and its version.
    default: str


def template_options(training: Training | None = None) -> TemplateOptions:
    """For a training: the default template or another one. For an edition (`training` given):
    the training's template, or another one."""
    choices = template_choices()
    if training is None:
        inherited = follows(None, choices)
        empty = (
            gettext("The default: %(template)s", template=option_label(inherited))
            if inherited
            else gettext("The default process template")
        )
    else:
        inherited = follows(training.process_template_id, choices)
        empty = (
            gettext("As the training: %(template)s", template=option_label(inherited))
            if inherited
            else gettext("As the training")
        )
    options = [
        (str(choice.template_id), option_label(choice))
        for choice in choices
        if inherited is None or choice.template_id != inherited.template_id
    ]
    return TemplateOptions(options, empty)


def render_training_form(training: Training | None, values: MultiDict, errors=None):
    return render_template(
        "catalogue/training_form.html",
        training=training,
        departments=_departments(),
        templates=template_options(),
        values=values,
        errors=errors or {},
    ), (422 if errors else 200)


def edition_values(edition: Edition | None) -> MultiDict:
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
            "cost_fixed": input_value(edition.cost_fixed_cents) if edition.cost_fixed_cents else "",
            "cost_per_participant": (
                input_value(edition.cost_per_participant_cents)
                if edition.cost_per_participant_cents
                else ""
            ),
            "minimum": "" if edition.minimum is None else str(edition.minimum),
            "process_template_id": str(edition.process_template_id or ""),
            "apply_until": "" if edition.apply_until is None else edition.apply_until.isoformat(),
        }
    )
    if edition.cancelled:
        values["cancelled"] = "1"
    return values


def render_edition_form(
    training: Training, edition: Edition | None, values: MultiDict, errors=None
):
    # The trainer is found by a search among the people holding the trainer role (the form's
    # search button renders the form again with the values as typed and the matches).
    trainer_q = clean_query(values.get("trainer_q"))
    trainers = [(person.id, person.name, detail(person)) for person in trainer_matches(trainer_q)]
    chosen = parse_uuid(values.get("trainer_id"))
    if chosen is not None and chosen not in {user_id for user_id, *_ in trainers}:
        current = db.session.scalar(select(User).where(User.id == chosen))
        if current is not None:
            trainers.insert(0, (current.id, current.name, current.email or ""))
    return render_template(
        "catalogue/edition_form.html",
        training=training,
        edition=edition,
        trainers=trainers,
        trainer_q=trainer_q,
        min_query=MIN_QUERY,
        templates=template_options(training),
        values=values,
        errors=errors or {},
    ), (422 if errors else 200)


def trainer_matches(q: str) -> list[Person]:
    """People holding the trainer role whose name or e-mail address matches `q`."""
    return search_people(q, role=Role.TRAINER)


def _viewer_role(edition: Edition, own: Enrolment | None) -> str | None:
    """How the current user sees the edition: admin, trainer, learner, or not at all (None)."""
    if is_admin(current_user):
        return "admin"
    if edition.trainer_id is not None and edition.trainer_id == current_user.id:
        return "trainer"
    if own is not None and own.status is EnrolmentStatus.ENROLLED:
        return "learner"
    return None


def render_edition(
    edition: Edition,
    *,
    failed: tuple[str, uuid.UUID | None] | None = None,
    errors: dict[str, str] | None = None,
):
    """The edition page for the admin, its trainer or an enrolled learner; 404 for anyone else.

    `failed` names the form whose input was refused (kind, enrolment or session id).
    """
    admin = is_admin(current_user)
    trainer = edition.trainer_id is not None and edition.trainer_id == current_user.id
    members = participants(edition) if admin or trainer else []
    if admin or trainer:
        own = next((e for e, _ in members if e.learner_id == current_user.id), None)
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
    for enrolment, trajectory_id in members:
        by_status[enrolment.status].append((enrolment, trajectory_id))
    own_trajectory = None
    if role == "learner" and own is not None:
        own_trajectory = own.trajectory.id if own.trajectory is not None else None
    # Enrolling someone: a search (never a list of every employee), its matches to choose from.
    employee_q = clean_query(request.values.get("employee_q")) if admin else ""
    employees = enrol_candidates(edition, employee_q) if admin and employee_q else []
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
        sessions=sessions_with_attendance(edition),
        employees=employees,
        employee_q=employee_q,
        min_query=MIN_QUERY,
        own_trajectory=own_trajectory,
        may_record_attendance=may_record_attendance(edition, current_user),
        over=edition.ends_on < local_today(),
        failed=failed,
        errors=errors or {},
        values=request.form if errors else MultiDict(),
    ), (422 if errors else 200)


def enrol_candidates(edition: Edition, q: str) -> list[Person]:
    """Employees matching `q` who may be enrolled in the edition: not applied or enrolled yet."""
    taken = (
        select(Enrolment.id)
        .where(
            Enrolment.edition_id == edition.id,
            Enrolment.learner_id == User.id,
            Enrolment.status.in_(ACTIVE_STATUSES),
        )
        .exists()
    )
    return search_people(q, where=~taken)


def render_attendance(edition, session, learners, errors=None):
    """The attendance form; after refused input, the marks as entered."""
    recorded = attendance_of(session)
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
        started=session_started(session),
        errors=errors or {},
    ), (422 if errors else 200)
