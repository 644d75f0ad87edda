"""Trajectory pages: the timeline, a step, learning goals, the coach, a group meeting.

Order in every view (style.md): the tenant is resolved, the object is loaded through the tenant,
the viewer's relation to it decides (none: 404, as if it did not exist), a service does the work,
and the page is rendered. What values a viewer sees comes from `confidentiality` only.
"""

from __future__ import annotations

import uuid

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from samenleren.audit.events import AuditAction
from samenleren.audit.services import record
from samenleren.core.errors_input import InvalidInput
from samenleren.core.extensions import db
from samenleren.core.formatting import local_today, parse_local_moment
from samenleren.core.web import login_required
from samenleren.identity.models import Role, User
from samenleren.process_templates.definition import StepKind
from samenleren.tenants.models import OrganisationGoal
from samenleren.trajectories import services
from samenleren.trajectories.access import (
    load_meeting,
    load_step,
    load_trajectory,
    may_choose_coach,
)
from samenleren.trajectories.confidentiality import field_views, may_read_goals, readable_values
from samenleren.trajectories.models import (
    GroupMeetingAttendance,
    LearningGoal,
    StepInstance,
    Trajectory,
)
from samenleren.trajectories.timeline import timeline_of

bp = Blueprint("trajectories", __name__, template_folder="templates")


# --- loading ----------------------------------------------------------------------------------


def _goals(trajectory: Trajectory, *, with_links: bool = True) -> list[LearningGoal]:
    query = (
        select(LearningGoal)
        .where(LearningGoal.trajectory_id == trajectory.id)
        .order_by(LearningGoal.position)
    )
    if with_links:
        query = query.options(selectinload(LearningGoal.organisation_goals))
    return list(db.session.scalars(query))


def _steps(trajectory: Trajectory) -> list[StepInstance]:
    return list(
        db.session.scalars(
            select(StepInstance)
            .where(StepInstance.trajectory_id == trajectory.id)
            .order_by(StepInstance.position, StepInstance.occurrence)
        )
    )


# --- the trajectory ----------------------------------------------------------------------------


@bp.get("/<tenant>/trajectories/<uuid:trajectory_id>")
@login_required
def show_trajectory(trajectory_id: str):
    trajectory, relations = load_trajectory(trajectory_id)
    definition = trajectory.template_version.content
    steps = _steps(trajectory)
    goals = _goals(trajectory) if may_read_goals(definition, relations) else None
    timeline = timeline_of(trajectory, definition, steps, relations, local_today())
    return render_template(
        "trajectories/show_trajectory.html",
        trajectory=trajectory,
        relations=relations,
        timeline=timeline,
        goals=goals,
        may_edit_goals=services.may_edit_goals(trajectory, relations),
        may_choose_coach=may_choose_coach(trajectory, relations),
    )


@bp.post("/<tenant>/trajectories/<uuid:trajectory_id>/occurrences")
@login_required
def add_occurrence(trajectory_id: str):
    trajectory, _ = load_trajectory(trajectory_id)
    try:
        step = services.add_occurrence(trajectory, request.form.get("step_key", ""), current_user)
    except InvalidInput as refused:
        db.session.rollback()
        flash(next(iter(refused.errors.values())), "error")
        return redirect(url_for(".show_trajectory", trajectory_id=trajectory.id), 303)
    db.session.commit()
    flash(gettext("Another conversation was planned."))
    return redirect(url_for(".show_step", trajectory_id=trajectory.id, step_id=step.id), 303)


# --- a step -------------------------------------------------------------------------------------


def _render_step(
    trajectory, relations, step, *, errors=None, submitted=None, status=200, audit_view=False
):
    definition = trajectory.template_version.content
    spec = services.step_spec(trajectory, step)
    values = readable_values(definition, [step], relations).get(step.id, {})
    if audit_view and values and not relations & {Role.LEARNER, Role.COACH}:
        # Confidential data seen by someone other than the learner and the coach: which step,
        # never what it says (issue 4, audit log).
        record(
            AuditAction.VALUES_VIEWED,
            actor=current_user,
            subject_type="trajectory",
            subject_id=trajectory.id,
            details={"step": step.step_key, "occurrence": step.occurrence},
        )
    goals = _goals(trajectory, with_links=False)
    fields = field_views(spec, values, relations)
    active = trajectory.status.value == "active"
    is_open = step.state.is_open and active
    return (
        render_template(
            "trajectories/show_step.html",
            trajectory=trajectory,
            relations=relations,
            step=step,
            spec=spec,
            fields=fields,
            goals=goals,
            goals_readable=may_read_goals(definition, relations),
            may_edit_goals=services.may_edit_goals(trajectory, relations),
            may_plan=services.may_plan(spec, relations) and trajectory.status.value == "active",
            is_open=is_open,
            writable=trajectory.status.value != "withdrawn" and step.state.value != "skipped",
            today=local_today(),
            is_group=spec.kind is StepKind.GROUP_MEETING,
            may_fill=any(f.editable for f in fields),
            field_name=services.field_name,
            errors=errors or {},
            submitted=submitted,
        ),
        status,
    )


@bp.get("/<tenant>/trajectories/<uuid:trajectory_id>/steps/<uuid:step_id>")
@login_required
def show_step(trajectory_id: str, step_id: str):
    trajectory, relations = load_trajectory(trajectory_id)
    step = load_step(trajectory, step_id)
    page = _render_step(trajectory, relations, step, audit_view=True)
    db.session.commit()  # the audit event, if the page showed values to a manager or admin
    return page


def _step_action(trajectory_id: str, step_id: str, action, done_message: str):
    trajectory, relations = load_trajectory(trajectory_id)
    step = load_step(trajectory, step_id)
    try:
        action(trajectory, step)
    except InvalidInput as refused:
        db.session.rollback()
        trajectory, relations = load_trajectory(trajectory_id)
        step = load_step(trajectory, step_id)
        return _render_step(
            trajectory,
            relations,
            step,
            errors=refused.errors,
            submitted=request.form,
            status=422,
        )
    db.session.commit()
    flash(done_message)
    return redirect(url_for(".show_step", trajectory_id=trajectory.id, step_id=step.id), 303)


def _appointment() -> services.Appointment:
    errors = {}
    moments = {}
    for name in ("starts_at", "ends_at"):
        try:
            moments[name] = parse_local_moment(request.form.get(name, ""))
        except ValueError as error:
            errors[name] = str(error)
    if errors:
        raise InvalidInput(errors)
    return services.Appointment(
        starts_at=moments["starts_at"],
        ends_at=moments["ends_at"],
        location=request.form.get("location", ""),
        video_url=request.form.get("video_url", ""),
    )


@bp.post("/<tenant>/trajectories/<uuid:trajectory_id>/steps/<uuid:step_id>/schedule")
@login_required
def schedule_step(trajectory_id: str, step_id: str):
    return _step_action(
        trajectory_id,
        step_id,
        lambda t, s: services.schedule_step(t, s, current_user, _appointment()),
        gettext("The appointment was saved."),
    )


@bp.post("/<tenant>/trajectories/<uuid:trajectory_id>/steps/<uuid:step_id>/values")
@login_required
def record_values(trajectory_id: str, step_id: str):
    submitted = {k: v for k, v in request.form.items() if k.startswith("f.")}
    return _step_action(
        trajectory_id,
        step_id,
        lambda t, s: services.record_values(t, s, current_user, submitted),
        gettext("Saved."),
    )


@bp.post("/<tenant>/trajectories/<uuid:trajectory_id>/steps/<uuid:step_id>/complete")
@login_required
def complete_step(trajectory_id: str, step_id: str):
    return _step_action(
        trajectory_id,
        step_id,
        lambda t, s: services.complete_step(t, s, current_user),
        gettext("The step was closed."),
    )


@bp.post("/<tenant>/trajectories/<uuid:trajectory_id>/steps/<uuid:step_id>/skip")
@login_required
def skip_step(trajectory_id: str, step_id: str):
    return _step_action(
        trajectory_id,
        step_id,
        lambda t, s: services.skip_step(t, s, current_user, request.form.get("reason", "")),
        gettext("The step was skipped."),
    )


@bp.post("/<tenant>/trajectories/<uuid:trajectory_id>/steps/<uuid:step_id>/reopen")
@login_required
def reopen_step(trajectory_id: str, step_id: str):
    return _step_action(
        trajectory_id,
        step_id,
        lambda t, s: services.reopen_step(t, s, current_user),
        gettext("The step was reopened."),
    )


@bp.post("/<tenant>/trajectories/<uuid:trajectory_id>/steps/<uuid:step_id>/cancel-appointment")
@login_required
def cancel_appointment(trajectory_id: str, step_id: str):
    return _step_action(
        trajectory_id,
        step_id,
        lambda t, s: services.cancel_appointment(t, s, current_user),
        gettext("The appointment was cancelled; everyone invited was told."),
    )


# --- learning goals -----------------------------------------------------------------------------


def _organisation_goals() -> list[OrganisationGoal]:
    return list(
        db.session.scalars(
            select(OrganisationGoal)
            .where(OrganisationGoal.active)
            .order_by(OrganisationGoal.position)
        )
    )


def _submitted_goals() -> list[services.GoalInput]:
    goals = []
    for index in range(services.MAX_GOALS + 1):
        prefix = f"goal-{index}-"
        if f"{prefix}title" not in request.form:
            continue
        goals.append(
            services.GoalInput(
                title=request.form.get(f"{prefix}title", ""),
                description=request.form.get(f"{prefix}description", ""),
                organisation_goal_ids=request.form.getlist(f"{prefix}organisation_goals"),
            )
        )
    return goals


@bp.route("/<tenant>/trajectories/<uuid:trajectory_id>/goals", methods=["GET", "POST"])
@login_required
def edit_goals(trajectory_id: str):
    trajectory, relations = load_trajectory(trajectory_id)
    if not may_read_goals(trajectory.template_version.content, relations):
        abort(404)
    may_edit = services.may_edit_goals(trajectory, relations)
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        submitted = _submitted_goals()
        try:
            services.set_learning_goals(trajectory, current_user, submitted)
        except InvalidInput as refused:
            db.session.rollback()
            trajectory, relations = load_trajectory(trajectory_id)
            errors, status = refused.errors, 422
            rows = [
                {"title": g.title, "description": g.description, "links": g.organisation_goal_ids}
                for g in submitted
            ]
        else:
            db.session.commit()
            flash(gettext("The learning goals were saved."))
            return redirect(url_for(".show_trajectory", trajectory_id=trajectory.id), 303)
    else:
        rows = [
            {
                "title": g.title,
                "description": g.description,
                "links": [str(o.id) for o in g.organisation_goals],
            }
            for g in _goals(trajectory)
        ]
    target = min(len(rows) + 2, services.MAX_GOALS)  # room for two more goals
    while len(rows) < target:
        rows.append({"title": "", "description": "", "links": []})
    return (
        render_template(
            "trajectories/edit_goals.html",
            trajectory=trajectory,
            rows=rows,
            organisation_goals=_organisation_goals(),
            may_edit=may_edit,
            errors=errors,
        ),
        status,
    )


# --- group meetings ---------------------------------------------------------------------------


def _render_meeting(meeting, runs, members, *, errors=None, status=200):
    learner_ids = [t.learner_id for t, _ in members]
    people = {
        user.id: user for user in db.session.scalars(select(User).where(User.id.in_(learner_ids)))
    }
    attendance = dict(
        db.session.execute(
            select(GroupMeetingAttendance.user_id, GroupMeetingAttendance.present).where(
                GroupMeetingAttendance.meeting_id == meeting.id
            )
        ).all()
    )
    rows = sorted(
        ({"trajectory": t, "step": s, "learner": people.get(t.learner_id)} for t, s in members),
        key=lambda row: row["learner"].name if row["learner"] else "",
    )
    mine = next((row for row in rows if row["trajectory"].learner_id == current_user.id), None)
    return (
        render_template(
            "trajectories/show_meeting.html",
            meeting=meeting,
            runs=runs,
            rows=rows if runs else [],
            mine=mine,
            attendance=attendance,
            errors=errors or {},
        ),
        status,
    )


@bp.get("/<tenant>/meetings/<uuid:meeting_id>")
@login_required
def show_meeting(meeting_id: str):
    return _render_meeting(*load_meeting(meeting_id))


def _meeting_action(meeting_id: str, action, done_message: str):
    meeting, _runs, _members = load_meeting(meeting_id)
    try:
        action(meeting)
    except InvalidInput as refused:
        db.session.rollback()
        return _render_meeting(*load_meeting(meeting_id), errors=refused.errors, status=422)
    db.session.commit()
    flash(done_message)
    return redirect(url_for(".show_meeting", meeting_id=meeting.id), 303)


@bp.post("/<tenant>/meetings/<uuid:meeting_id>/schedule")
@login_required
def schedule_meeting(meeting_id: str):
    return _meeting_action(
        meeting_id,
        lambda m: services.schedule_meeting(m, current_user, _appointment()),
        gettext("The meeting was scheduled; the group's steps follow it."),
    )


@bp.post("/<tenant>/meetings/<uuid:meeting_id>/close")
@login_required
def close_meeting(meeting_id: str):
    present = set()
    for value in request.form.getlist("present"):
        try:
            present.add(uuid.UUID(value))
        except ValueError:
            continue
    return _meeting_action(
        meeting_id,
        lambda m: services.close_meeting(m, current_user, present, request.form.get("outcome", "")),
        gettext("The meeting was recorded."),
    )
