"""Trajectory pages: the timeline, a step, learning goals, the coach, a group meeting.

Order in every view (docs/architecture.md, "A request"): the tenant is resolved, the object is
loaded through the tenant, the viewer's relation to it decides (none: 404, as if it did not
exist), a service does the work through `form_action`, and the page is rendered. What values a
viewer sees comes from `confidentiality` only.
"""

from __future__ import annotations

import uuid

from flask import Blueprint, abort, flash, render_template, request
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from samenleren.core.errors_input import InvalidInput
from samenleren.core.extensions import db
from samenleren.core.formatting import local_today, parse_local_moment
from samenleren.core.terminology import role_term
from samenleren.core.web import form_action, login_required, see_other
from samenleren.identity.models import Role, User
from samenleren.process_templates.definition import StepKind
from samenleren.tenants.models import OrganisationGoal
from samenleren.trajectories import meetings, results, steps, values
from samenleren.trajectories.access import (
    load_meeting,
    load_step,
    load_trajectory,
    may_choose_coach,
)
from samenleren.trajectories.confidentiality import field_views, may_read_goals, read_step
from samenleren.trajectories.goals import MAX_GOALS, GoalInput, may_edit_goals, set_learning_goals
from samenleren.trajectories.models import (
    GroupMeetingAttendance,
    LearningGoal,
    ResultLevel,
    StepInstance,
    Trajectory,
    TrajectoryStatus,
)
from samenleren.trajectories.participants import attends
from samenleren.trajectories.permissions import may_plan, step_spec
from samenleren.trajectories.search import (
    filter_choices,
    may_search,
    search_trajectories,
    trajectory_filter,
)
from samenleren.trajectories.steps import Appointment
from samenleren.trajectories.timeline import timeline_of
from samenleren.trajectories.values import field_name

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


# --- finding trajectories ---------------------------------------------------------------------


@bp.get("/<tenant>/trajectories/")
@login_required
def list_trajectories():
    """Every trajectory for the programme administrator, the team's for a manager; searchable,
    filtered, a page at a time. Anyone else: 404, as if the page did not exist."""
    if not may_search(current_user):
        abort(404)
    chosen = trajectory_filter(request.args)
    return render_template(
        "trajectories/list_trajectories.html",
        chosen=chosen,
        found=search_trajectories(current_user, chosen),
        choices=filter_choices(),
        Status=TrajectoryStatus,
        admin=current_user.has_role(Role.PROGRAMME_ADMIN),
    )


# --- the trajectory ----------------------------------------------------------------------------


@bp.get("/<tenant>/trajectories/<uuid:trajectory_id>")
@login_required
def show_trajectory(trajectory_id: str):
    trajectory, relations = load_trajectory(trajectory_id)
    definition = trajectory.template_version.content
    instances = _steps(trajectory)
    goals = _goals(trajectory) if may_read_goals(definition, relations) else None
    timeline = timeline_of(trajectory, definition, instances, relations, local_today())
    return render_template(
        "trajectories/show_trajectory.html",
        trajectory=trajectory,
        relations=relations,
        timeline=timeline,
        goals=goals,
        may_edit_goals=may_edit_goals(trajectory, relations),
        may_choose_coach=may_choose_coach(trajectory, relations),
    )


@bp.post("/<tenant>/trajectories/<uuid:trajectory_id>/occurrences")
@login_required
def add_occurrence(trajectory_id: str):
    trajectory, _ = load_trajectory(trajectory_id)

    def refused(errors: dict[str, str]):
        # The button sits on the trajectory page, which has no form to show again: back there,
        # with the reason flashed.
        flash(next(iter(errors.values())), "error")
        return see_other(".show_trajectory", trajectory_id=trajectory.id)

    return form_action(
        lambda: steps.add_occurrence(trajectory, request.form.get("step_key", ""), current_user),
        invalid=refused,
        done=lambda step: see_other(".show_step", trajectory_id=trajectory.id, step_id=step.id),
        message=gettext("Another conversation was planned."),
    )


# --- a step -------------------------------------------------------------------------------------


def _render_step(trajectory, relations, step, *, errors=None, submitted=None, status=200):
    """The step page. What it shows of the step comes from `confidentiality.read_step`, which
    also records the read in the audit log (the caller commits)."""
    definition = trajectory.template_version.content
    spec = step_spec(trajectory, step)
    read = read_step(trajectory, spec, step, relations, current_user)
    readable = read.values
    goals = _goals(trajectory, with_links=False)
    # Expected results and their ratings have a section of their own.
    fields = [
        view
        for view in field_views(spec, readable, relations)
        if view.spec.type not in values.RESULT_TYPES
    ]
    active = trajectory.status.value == "active"
    is_open = step.state.is_open and active
    return (
        render_template(
            "trajectories/show_step.html",
            expected=_expected_results_view(trajectory, definition, spec, step, relations),
            trajectory=trajectory,
            relations=relations,
            step=step,
            texts=read.texts,
            spec=spec,
            fields=fields,
            goals=goals,
            goals_readable=may_read_goals(definition, relations),
            may_edit_goals=may_edit_goals(trajectory, relations),
            may_plan=may_plan(spec, relations) and trajectory.status.value == "active",
            is_open=is_open,
            writable=trajectory.status.value != "withdrawn" and step.state.value != "skipped",
            today=local_today(),
            is_group=spec.kind is StepKind.GROUP_MEETING,
            # A calendar file only for who takes part: a manager does not put a confidential
            # conversation between learner and coach in his calendar (nor learns its place).
            attends=attends(spec, relations),
            # A conversation (or a group meeting) is agreed for a date; a milestone is a moment
            # to mark done, with nothing to plan.
            plannable=spec.kind is StepKind.CONVERSATION,
            # Who took part: asked when a conversation of three or more is closed.
            presence=[(str(role), role_term(role)) for role in spec.participants]
            if steps.asks_presence(spec)
            else [],
            may_fill=any(f.editable for f in fields),
            field_name=field_name,
            errors=errors or {},
            submitted=submitted,
        ),
        status,
    )


def _expected_results_view(trajectory, definition, spec, step, relations) -> dict | None:
    """What the step page shows of the expected results: set here (the template's
    expected-results step) or rated here (a step with a result-rating field). Only the readers
    of the expected results see their words; the programme admin sees none of it here."""
    found = results.results_field(definition)
    rating = results.rating_field(spec)
    sets_here = found is not None and found[0].key == spec.key
    if not (sets_here or rating is not None) or found is None:
        return None
    if not results.may_read_results(definition, relations):
        return None
    rows = results.results_of(trajectory)
    return {
        "spec": found[1],
        "sets_here": sets_here,
        "may_set": sets_here and bool(relations & set(found[1].editors)),
        "results": rows,
        "rating": rating,
        "rater": results.rater_role(rating, relations) if rating else None,
        "ratings": results.ratings_of(step) if rating and rows else {},
        "rows": results.MAX_RESULTS,
        "levels": [level.value for level in ResultLevel],
    }


@bp.get("/<tenant>/trajectories/<uuid:trajectory_id>/steps/<uuid:step_id>")
@login_required
def show_step(trajectory_id: str, step_id: str):
    trajectory, relations = load_trajectory(trajectory_id)
    step = load_step(trajectory, step_id)
    page = _render_step(trajectory, relations, step)
    db.session.commit()  # the audit event, if the page showed confidential or others' values
    return page


def _step_action(trajectory_id: str, step_id: str, action, done_message: str):
    trajectory, _ = load_trajectory(trajectory_id)
    step = load_step(trajectory, step_id)

    def refused(errors: dict[str, str]):
        # Rolled back: load the step again as it was before this post.
        again, relations = load_trajectory(trajectory_id)
        page = _render_step(
            again,
            relations,
            load_step(again, step_id),
            errors=errors,
            submitted=request.form,
            status=422,
        )
        db.session.commit()  # only the audit event of this read: the refused change is gone
        return page

    return form_action(
        lambda: action(trajectory, step),
        invalid=refused,
        done=see_other(".show_step", trajectory_id=trajectory.id, step_id=step.id),
        message=done_message,
        # A step's long texts (`f.<field>`; a short one refuses line breaks when it is
        # parsed), the reason for skipping it, and the texts of expected results and ratings.
        multiline=(
            "f.*",
            "reason",
            "result-*-observable",
            "result-*-contribution",
            "rating-*-example",
        ),
    )


def _appointment() -> Appointment:
    errors = {}
    moments = {}
    for name in ("starts_at", "ends_at"):
        try:
            moments[name] = parse_local_moment(request.form.get(name, ""))
        except ValueError as error:
            errors[name] = str(error)
    if errors:
        raise InvalidInput(errors)
    return Appointment(
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
        lambda t, s: steps.schedule_step(t, s, current_user, _appointment()),
        gettext("The appointment was saved."),
    )


@bp.post("/<tenant>/trajectories/<uuid:trajectory_id>/steps/<uuid:step_id>/values")
@login_required
def record_values(trajectory_id: str, step_id: str):
    submitted = {k: v for k, v in request.form.items() if k.startswith("f.")}
    return _step_action(
        trajectory_id,
        step_id,
        lambda t, s: values.record_values(t, s, current_user, submitted),
        gettext("Saved."),
    )


@bp.post("/<tenant>/trajectories/<uuid:trajectory_id>/steps/<uuid:step_id>/expected-results")
@login_required
def set_expected_results(trajectory_id: str, step_id: str):
    rows = [
        results.ResultInput(
            learning_goal_id=request.form.get(f"result-{i}-goal", ""),
            observable=request.form.get(f"result-{i}-observable", ""),
            contribution=request.form.get(f"result-{i}-contribution", ""),
        )
        for i in range(results.MAX_RESULTS + 1)
        if any(f"result-{i}-{part}" in request.form for part in ("goal", "observable"))
    ]
    return _step_action(
        trajectory_id,
        step_id,
        lambda t, s: results.set_expected_results(t, s, current_user, rows),
        gettext("The expected results were saved."),
    )


@bp.post("/<tenant>/trajectories/<uuid:trajectory_id>/steps/<uuid:step_id>/result-ratings")
@login_required
def rate_results(trajectory_id: str, step_id: str):
    given = {}
    for name in request.form:
        result_id, _, part = name.removeprefix("rating-").rpartition("-")
        if name.startswith("rating-") and part in {"level", "example", "contribution"}:
            given[result_id] = results.RatingInput(
                level=request.form.get(f"rating-{result_id}-level", ""),
                example=request.form.get(f"rating-{result_id}-example", ""),
                contribution_done=request.form.get(f"rating-{result_id}-contribution", ""),
            )
    return _step_action(
        trajectory_id,
        step_id,
        lambda t, s: results.rate_results(t, s, current_user, given),
        gettext("Your ratings were saved."),
    )


def _present() -> list[str] | None:
    """Who took part, when the form asked (its `present-asked` field): the roles ticked."""
    if "present-asked" not in request.form:
        return None
    return request.form.getlist("present")


@bp.post("/<tenant>/trajectories/<uuid:trajectory_id>/steps/<uuid:step_id>/complete")
@login_required
def complete_step(trajectory_id: str, step_id: str):
    return _step_action(
        trajectory_id,
        step_id,
        lambda t, s: steps.complete_step(t, s, current_user, _present()),
        gettext("The step was closed."),
    )


@bp.post("/<tenant>/trajectories/<uuid:trajectory_id>/steps/<uuid:step_id>/skip")
@login_required
def skip_step(trajectory_id: str, step_id: str):
    return _step_action(
        trajectory_id,
        step_id,
        lambda t, s: steps.skip_step(t, s, current_user, request.form.get("reason", "")),
        gettext("The step was skipped."),
    )


@bp.post("/<tenant>/trajectories/<uuid:trajectory_id>/steps/<uuid:step_id>/reopen")
@login_required
def reopen_step(trajectory_id: str, step_id: str):
    return _step_action(
        trajectory_id,
        step_id,
        lambda t, s: steps.reopen_step(t, s, current_user),
        gettext("The step was reopened."),
    )


@bp.post("/<tenant>/trajectories/<uuid:trajectory_id>/steps/<uuid:step_id>/cancel-appointment")
@login_required
def cancel_appointment(trajectory_id: str, step_id: str):
    return _step_action(
        trajectory_id,
        step_id,
        lambda t, s: steps.cancel_appointment(t, s, current_user),
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


def _submitted_goals() -> list[GoalInput]:
    goals = []
    for index in range(MAX_GOALS + 1):
        prefix = f"goal-{index}-"
        if f"{prefix}title" not in request.form:
            continue
        goals.append(
            GoalInput(
                title=request.form.get(f"{prefix}title", ""),
                description=request.form.get(f"{prefix}description", ""),
                organisation_goal_ids=request.form.getlist(f"{prefix}organisation_goals"),
            )
        )
    return goals


def _render_goals(trajectory: Trajectory, rows: list[dict], may_edit: bool, errors=None):
    target = min(len(rows) + 2, MAX_GOALS)  # room for two more goals
    while len(rows) < target:
        rows.append({"title": "", "description": "", "links": []})
    return (
        render_template(
            "trajectories/edit_goals.html",
            trajectory=trajectory,
            rows=rows,
            organisation_goals=_organisation_goals(),
            may_edit=may_edit,
            errors=errors or {},
        ),
        422 if errors else 200,
    )


@bp.route("/<tenant>/trajectories/<uuid:trajectory_id>/goals", methods=["GET", "POST"])
@login_required
def edit_goals(trajectory_id: str):
    trajectory, relations = load_trajectory(trajectory_id)
    if not may_read_goals(trajectory.template_version.content, relations):
        abort(404)
    may_edit = may_edit_goals(trajectory, relations)
    if request.method == "GET":
        rows = [
            {
                "title": g.title,
                "description": g.description,
                "links": [str(o.id) for o in g.organisation_goals],
            }
            for g in _goals(trajectory)
        ]
        return _render_goals(trajectory, rows, may_edit)
    submitted = _submitted_goals()

    def refused(errors: dict[str, str]):
        again, _ = load_trajectory(trajectory_id)
        rows = [
            {"title": g.title, "description": g.description, "links": g.organisation_goal_ids}
            for g in submitted
        ]
        return _render_goals(again, rows, may_edit, errors)

    return form_action(
        lambda: set_learning_goals(trajectory, current_user, submitted),
        invalid=refused,
        done=see_other(".show_trajectory", trajectory_id=trajectory.id),
        message=gettext("The learning goals were saved."),
        multiline=("goal-*-description",),
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
    return form_action(
        lambda: action(meeting),
        invalid=lambda errors: _render_meeting(
            *load_meeting(meeting_id), errors=errors, status=422
        ),
        done=see_other(".show_meeting", meeting_id=meeting.id),
        message=done_message,
        multiline=("outcome",),
    )


@bp.post("/<tenant>/meetings/<uuid:meeting_id>/schedule")
@login_required
def schedule_meeting(meeting_id: str):
    return _meeting_action(
        meeting_id,
        lambda m: meetings.schedule_meeting(m, current_user, _appointment()),
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
        lambda m: meetings.close_meeting(m, current_user, present, request.form.get("outcome", "")),
        gettext("The meeting was recorded."),
    )
