"""Pages of the coaching domain: the coach pool (administrator), the coach days, and choosing
a trajectory's coach."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, abort, flash, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from samenleren.coaching.assignment import assign_coach
from samenleren.coaching.forms import CoachDayForm, CoachForm, parse_ids
from samenleren.coaching.matching import SUGGESTED, find_coaches, suggest_coaches
from samenleren.coaching.models import CoachDay, CoachProfile
from samenleren.coaching.services import (
    COACH_DAY_READERS,
    MAX_CAPACITY,
    add_coach,
    attendance,
    coach_candidates,
    coach_days,
    coach_pool,
    coachees,
    current_load,
    find_candidate,
    is_admin,
    may_edit_record,
    may_view_profile,
    record_attendance,
    schedule_coach_day,
    today,
    update_coach,
    update_coach_day,
    update_record,
)
from samenleren.core.errors_input import InvalidInput
from samenleren.core.extensions import db
from samenleren.core.web import form_action, get_or_404, login_required, role_required, see_other
from samenleren.identity.directory import (
    MIN_QUERY,
    PICKER_MATCHES,
    Person,
    clean_query,
    picker_answer,
)
from samenleren.identity.models import Role, User
from samenleren.trajectories.access import load_trajectory, may_choose_coach
from samenleren.trajectories.models import CoachAssignment, Trajectory, TrajectoryStatus

bp = Blueprint("coaching", __name__, template_folder="templates")

#: A profile with its user's name in the same query (the user's roles are not needed).
_WITH_USER = (joinedload(CoachProfile.user).lazyload(User.role_assignments),)


# --- the coach pool ---------------------------------------------------------------------------


@bp.get("/<tenant>/coaches/")
@role_required(Role.PROGRAMME_ADMIN)
def list_coaches() -> ResponseReturnValue:
    return render_template("coaching/list_coaches.html", pool=coach_pool())


def _render_new_coach(
    values: dict[str, str], errors: dict[str, str], status: int = 200
) -> ResponseReturnValue:
    # The employee is found by a search (GET `q`), never chosen from a list of everyone; after
    # refused input the search is the one the form was sent with.
    q = clean_query(request.values.get("q"))
    candidates = coach_candidates(q)
    chosen = find_candidate(values.get("user"))
    if chosen is not None and chosen.id not in {person.id for person in candidates}:
        candidates.insert(0, Person(chosen.id, chosen.name, chosen.email, None, None))
    return (
        render_template(
            "coaching/new_coach.html",
            candidates=candidates,
            q=q,
            min_query=MIN_QUERY,
            values=values,
            errors=errors,
            max_capacity=MAX_CAPACITY,
            today=today(),
        ),
        status,
    )


@bp.route("/<tenant>/coaches/new", methods=["GET", "POST"])
@role_required(Role.PROGRAMME_ADMIN)
def new_coach() -> ResponseReturnValue:
    if request.method == "GET":
        return _render_new_coach({"capacity": "3", "user": request.args.get("user", "")}, {})
    form = CoachForm.parse(request.form)

    def add() -> str:
        if form.errors:
            raise InvalidInput(form.errors)
        profile = add_coach(
            find_candidate(form.user_id),
            form.capacity,
            form.trained_on,
            form.introduction,
            current_user,
        )
        return profile.user.name

    return form_action(
        add,
        invalid=lambda errors: _render_new_coach(form.values, errors, 422),
        done=see_other("coaching.list_coaches"),
        message=lambda name: gettext("%(name)s is now a learning coach.", name=name),
        multiline=("introduction",),
    )


def _render_edit_coach(
    profile: CoachProfile, values: dict[str, Any], errors: dict[str, str], status: int = 200
) -> ResponseReturnValue:
    return (
        render_template(
            "coaching/edit_coach.html",
            profile=profile,
            load=current_load(profile),
            values=values,
            errors=errors,
            max_capacity=MAX_CAPACITY,
            today=today(),
        ),
        status,
    )


@bp.get("/<tenant>/coaches/candidates")
@role_required(Role.PROGRAMME_ADMIN)
def search_coach_candidates() -> ResponseReturnValue:
    """The add-a-coach page's search field, as JSON (static/picker.js)."""
    return picker_answer(coach_candidates(request.args.get("q", "")))


@bp.route("/<tenant>/coaches/<uuid:coach_profile_id>/edit", methods=["GET", "POST"])
@role_required(Role.PROGRAMME_ADMIN)
def edit_coach(coach_profile_id: uuid.UUID) -> ResponseReturnValue:
    profile = get_or_404(CoachProfile, coach_profile_id, *_WITH_USER)
    if request.method == "GET":
        values: dict[str, Any] = {
            "capacity": str(profile.capacity),
            "trained_on": profile.trained_on.isoformat() if profile.trained_on else "",
            "introduction": profile.introduction,
            "active": profile.active,
        }
        return _render_edit_coach(profile, values, {})
    form = CoachForm.parse(request.form)
    values = form.values | {"active": form.active}
    name = profile.user.name

    def update() -> list[str]:
        if form.errors:
            raise InvalidInput(form.errors)
        return update_coach(
            profile,
            capacity=form.capacity,
            trained_on=form.trained_on,
            active=form.active,
            introduction=form.introduction,
            actor=current_user,
        )

    def saved(warnings: list[str]) -> ResponseReturnValue:
        # After the message of `form_action`: what the new capacity means for the coach.
        for warning in warnings:
            flash(warning, "warning")
        return see_other("coaching.show_coach", coach_profile_id=coach_profile_id)

    return form_action(
        update,
        invalid=lambda errors: _render_edit_coach(profile, values, errors, 422),
        done=saved,
        message=gettext("The coach profile of %(name)s is saved.", name=name),
        multiline=("introduction",),
    )


@bp.get("/<tenant>/coaches/<uuid:coach_profile_id>")
@login_required
def show_coach(coach_profile_id: uuid.UUID) -> ResponseReturnValue:
    profile = get_or_404(CoachProfile, coach_profile_id, *_WITH_USER)
    if not may_view_profile(profile, current_user):
        abort(404)
    trajectories = coachees(profile)
    return render_template(
        "coaching/show_coach.html",
        profile=profile,
        coachees=trajectories,
        load=sum(1 for c in trajectories if c.status is TrajectoryStatus.ACTIVE),
        is_admin=is_admin(current_user),
    )


# --- coach days -------------------------------------------------------------------------------


@bp.get("/<tenant>/coach-days/")
@role_required(*COACH_DAY_READERS)
def list_coach_days() -> ResponseReturnValue:
    upcoming, past = coach_days()
    return render_template(
        "coaching/list_coach_days.html",
        upcoming=upcoming,
        past=past,
        is_admin=is_admin(current_user),
    )


@bp.route("/<tenant>/coach-days/new", methods=["GET", "POST"])
@role_required(Role.PROGRAMME_ADMIN)
def new_coach_day() -> ResponseReturnValue:
    if request.method == "GET":
        return render_template("coaching/new_coach_day.html", values={}, errors={})
    form = CoachDayForm.parse(request.form)

    def schedule() -> uuid.UUID:
        if form.errors:
            raise InvalidInput(form.errors)
        return schedule_coach_day(form.data, current_user).id

    return form_action(
        schedule,
        invalid=lambda errors: render_template(
            "coaching/new_coach_day.html", values=form.values, errors=errors
        ),
        done=lambda day_id: see_other("coaching.show_coach_day", coach_day_id=day_id),
        message=gettext("The coach day is planned."),
        multiline=("programme",),
    )


def _render_coach_day(
    day: CoachDay,
    *,
    status: int = 200,
    edit_values: dict[str, str] | None = None,
    edit_errors: dict[str, str] | None = None,
    attendance_errors: dict[str, str] | None = None,
    record_value: str | None = None,
    record_errors: dict[str, str] | None = None,
) -> ResponseReturnValue:
    admin = is_admin(current_user)
    if edit_values is None:
        edit_values = {
            "title": day.title,
            "held_on": day.held_on.isoformat(),
            "location": day.location,
            "programme": day.programme,
        }
    return (
        render_template(
            "coaching/show_coach_day.html",
            day=day,
            is_admin=admin,
            may_edit_record=may_edit_record(current_user),
            attendance=attendance(day),
            attendance_open=day.held_on <= today(),
            edit_values=edit_values,
            edit_errors=edit_errors or {},
            attendance_errors=attendance_errors or {},
            record_value=day.record if record_value is None else record_value,
            record_errors=record_errors or {},
        ),
        status,
    )


@bp.get("/<tenant>/coach-days/<uuid:coach_day_id>")
@role_required(*COACH_DAY_READERS)
def show_coach_day(coach_day_id: uuid.UUID) -> ResponseReturnValue:
    day = get_or_404(CoachDay, coach_day_id)
    return _render_coach_day(day)


@bp.post("/<tenant>/coach-days/<uuid:coach_day_id>/edit")
@role_required(Role.PROGRAMME_ADMIN)
def edit_coach_day(coach_day_id: uuid.UUID) -> ResponseReturnValue:
    day = get_or_404(CoachDay, coach_day_id)
    form = CoachDayForm.parse(request.form)

    def update() -> None:
        if form.errors:
            raise InvalidInput(form.errors)
        update_coach_day(day, form.data, current_user)

    return form_action(
        update,
        invalid=lambda errors: _render_coach_day(
            day, status=422, edit_values=form.values, edit_errors=errors
        ),
        done=see_other("coaching.show_coach_day", coach_day_id=coach_day_id),
        message=gettext("The coach day is saved."),
        multiline=("programme",),
    )


@bp.post("/<tenant>/coach-days/<uuid:coach_day_id>/attendance")
@role_required(Role.PROGRAMME_ADMIN)
def record_coach_day_attendance(coach_day_id: uuid.UUID) -> ResponseReturnValue:
    day = get_or_404(CoachDay, coach_day_id)
    present, unread = parse_ids(request.form.getlist("present"), "present")

    def record() -> None:
        if unread:
            raise InvalidInput(unread)
        record_attendance(day, present, current_user)

    return form_action(
        record,
        invalid=lambda errors: _render_coach_day(day, status=422, attendance_errors=errors),
        done=see_other("coaching.show_coach_day", coach_day_id=coach_day_id),
        message=gettext("The attendance is saved."),
    )


@bp.post("/<tenant>/coach-days/<uuid:coach_day_id>/record")
@role_required(*COACH_DAY_READERS)
def edit_coach_day_record(coach_day_id: uuid.UUID) -> ResponseReturnValue:
    day = get_or_404(CoachDay, coach_day_id)
    text = request.form.get("record", "")
    return form_action(
        lambda: update_record(day, text, current_user),
        invalid=lambda errors: _render_coach_day(
            day, status=422, record_value=text, record_errors=errors
        ),
        done=see_other("coaching.show_coach_day", coach_day_id=coach_day_id),
        message=gettext("The record of the coach day is saved."),
        multiline=("record",),
    )


# --- a trajectory's coach ----------------------------------------------------------------------


def _render_choose_coach(
    trajectory: Trajectory, relations: frozenset[Role], errors: dict[str, str]
) -> str:
    history = db.session.scalars(
        select(CoachAssignment)
        .where(CoachAssignment.trajectory_id == trajectory.id)
        .order_by(CoachAssignment.assigned_at)
        .options(joinedload(CoachAssignment.coach), joinedload(CoachAssignment.assigned_by))
    ).all()
    # The least busy coaches are suggested; any other coach who may coach this learner is
    # found by a search (GET `q`), as in every picker of people.
    q = clean_query(request.values.get("q"))
    if q:
        suggestions = find_coaches(trajectory.learner, q)
    else:
        suggestions = suggest_coaches(trajectory.learner, limit=SUGGESTED)
    return render_template(
        "trajectories/choose_coach.html",
        trajectory=trajectory,
        suggestions=suggestions,
        q=q,
        min_query=MIN_QUERY,
        history=history,
        may_choose=may_choose_coach(trajectory, relations),
        errors=errors,
    )


@bp.get("/<tenant>/trajectories/<uuid:trajectory_id>/coach/candidates")
@login_required
def search_coaches(trajectory_id: uuid.UUID) -> ResponseReturnValue:
    """The coach page's search field, as JSON (static/picker.js): the coaches who may coach
    this learner, for whoever may choose the coach."""
    trajectory, relations = load_trajectory(str(trajectory_id))
    if not may_choose_coach(trajectory, relations):
        abort(404)
    found = find_coaches(trajectory.learner, request.args.get("q", ""))
    return picker_answer(
        [
            # What tells coaches apart here is how busy they are (as the page's radio buttons).
            Person(
                c.user.id,
                c.user.name,
                None,
                None,
                gettext("coaches %(load)s of %(capacity)s", load=c.load, capacity=c.capacity),
            )
            for c in found[:PICKER_MATCHES]
        ]
    )


@bp.route("/<tenant>/trajectories/<uuid:trajectory_id>/coach", methods=["GET", "POST"])
@login_required
def choose_coach(trajectory_id: str) -> ResponseReturnValue:
    trajectory, relations = load_trajectory(trajectory_id)
    if not (Role.PROGRAMME_ADMIN in relations or Role.LEARNER in relations):
        abort(404)
    if request.method == "GET":
        return _render_choose_coach(trajectory, relations, {})
    coach = db.session.scalar(select(User).where(User.id == _coach_key()))

    def assign() -> User:
        if coach is None:
            raise InvalidInput({"coach": gettext("Choose a coach from the list.")})
        assign_coach(trajectory, coach, current_user, request.form.get("reason", ""))
        return coach

    return form_action(
        assign,
        # The rollback expired the trajectory: the page is made from a fresh load.
        invalid=lambda errors: _render_choose_coach(*load_trajectory(trajectory_id), errors),
        done=see_other("trajectories.show_trajectory", trajectory_id=trajectory_id),
        message=lambda chosen: gettext("%(name)s is now the learning coach.", name=chosen.name),
        multiline=("reason",),
    )


def _coach_key() -> uuid.UUID | None:
    try:
        return uuid.UUID(request.form.get("coach", ""))
    except ValueError:
        return None
