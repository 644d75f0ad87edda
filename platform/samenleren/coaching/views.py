"""Pages of the coaching domain: the coach pool (administrator), the coach days, and choosing
a trajectory's coach."""

from __future__ import annotations

import uuid

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from samenleren.coaching.assignment import assign_coach
from samenleren.coaching.forms import CoachDayForm, CoachForm, parse_ids
from samenleren.coaching.matching import suggest_coaches
from samenleren.coaching.models import CoachDay, CoachProfile
from samenleren.coaching.services import (
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
    may_view_coach_days,
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
from samenleren.core.web import get_or_404, login_required
from samenleren.identity.models import Role, User
from samenleren.trajectories.access import load_trajectory, may_choose_coach
from samenleren.trajectories.models import CoachAssignment, TrajectoryStatus

bp = Blueprint("coaching", __name__, template_folder="templates")

#: A profile with its user's name in the same query (the user's roles are not needed).
_WITH_USER = (joinedload(CoachProfile.user).lazyload(User.role_assignments),)


def _require_admin() -> None:
    """Administrator pages look missing to everyone else (404, never 403)."""
    if not is_admin(current_user):
        abort(404)


def _see_other(endpoint: str, **values):
    return redirect(url_for(endpoint, **values), 303)


# --- the coach pool ---------------------------------------------------------------------------


@bp.get("/<tenant>/coaches/")
@login_required
def list_coaches():
    _require_admin()
    return render_template("coaching/list_coaches.html", pool=coach_pool())


def _render_new_coach(values: dict, errors: dict, status: int = 200):
    return (
        render_template(
            "coaching/new_coach.html",
            candidates=coach_candidates(),
            values=values,
            errors=errors,
            max_capacity=MAX_CAPACITY,
            today=today(),
        ),
        status,
    )


@bp.route("/<tenant>/coaches/new", methods=["GET", "POST"])
@login_required
def new_coach():
    _require_admin()
    if request.method == "GET":
        return _render_new_coach({"capacity": "3", "user": request.args.get("user", "")}, {})
    form = CoachForm.parse(request.form)
    try:
        if form.errors:
            raise InvalidInput(form.errors)
        user = find_candidate(form.user_id)
        add_coach(user, form.capacity, form.trained_on, form.introduction, current_user)
    except InvalidInput as refused:
        db.session.rollback()
        return _render_new_coach(form.values, refused.errors, 422)
    name = user.name
    db.session.commit()
    flash(gettext("%(name)s is now a learning coach.", name=name))
    return _see_other("coaching.list_coaches")


def _render_edit_coach(profile: CoachProfile, values: dict, errors: dict, status: int = 200):
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


@bp.route("/<tenant>/coaches/<uuid:coach_profile_id>/edit", methods=["GET", "POST"])
@login_required
def edit_coach(coach_profile_id: uuid.UUID):
    profile = get_or_404(CoachProfile, coach_profile_id, *_WITH_USER)
    _require_admin()
    if request.method == "GET":
        values = {
            "capacity": str(profile.capacity),
            "trained_on": profile.trained_on.isoformat() if profile.trained_on else "",
            "introduction": profile.introduction,
            "active": profile.active,
        }
        return _render_edit_coach(profile, values, {})
    form = CoachForm.parse(request.form)
    values = form.values | {"active": form.active}
    try:
        if form.errors:
            raise InvalidInput(form.errors)
        warnings = update_coach(
            profile,
            capacity=form.capacity,
            trained_on=form.trained_on,
            active=form.active,
            introduction=form.introduction,
            actor=current_user,
        )
    except InvalidInput as refused:
        db.session.rollback()
        return _render_edit_coach(profile, values, refused.errors, 422)
    name = profile.user.name
    db.session.commit()
    flash(gettext("The coach profile of %(name)s is saved.", name=name))
    for warning in warnings:
        flash(warning, "warning")
    return _see_other("coaching.show_coach", coach_profile_id=profile.id)


@bp.get("/<tenant>/coaches/<uuid:coach_profile_id>")
@login_required
def show_coach(coach_profile_id: uuid.UUID):
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


def _require_coach_day_reader() -> None:
    if not may_view_coach_days(current_user):
        abort(404)


@bp.get("/<tenant>/coach-days/")
@login_required
def list_coach_days():
    _require_coach_day_reader()
    upcoming, past = coach_days()
    return render_template(
        "coaching/list_coach_days.html",
        upcoming=upcoming,
        past=past,
        is_admin=is_admin(current_user),
    )


@bp.route("/<tenant>/coach-days/new", methods=["GET", "POST"])
@login_required
def new_coach_day():
    _require_admin()
    if request.method == "GET":
        return render_template("coaching/new_coach_day.html", values={}, errors={})
    form = CoachDayForm.parse(request.form)
    try:
        if form.errors:
            raise InvalidInput(form.errors)
        day = schedule_coach_day(form.data, current_user)
    except InvalidInput as refused:
        db.session.rollback()
        return (
            render_template(
                "coaching/new_coach_day.html", values=form.values, errors=refused.errors
            ),
            422,
        )
    day_id = day.id
    db.session.commit()
    flash(gettext("The coach day is planned."))
    return _see_other("coaching.show_coach_day", coach_day_id=day_id)


def _render_coach_day(
    day: CoachDay,
    *,
    status: int = 200,
    edit_values: dict | None = None,
    edit_errors: dict | None = None,
    attendance_errors: dict | None = None,
    record_value: str | None = None,
    record_errors: dict | None = None,
):
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
@login_required
def show_coach_day(coach_day_id: uuid.UUID):
    day = get_or_404(CoachDay, coach_day_id)
    _require_coach_day_reader()
    return _render_coach_day(day)


@bp.post("/<tenant>/coach-days/<uuid:coach_day_id>/edit")
@login_required
def edit_coach_day(coach_day_id: uuid.UUID):
    day = get_or_404(CoachDay, coach_day_id)
    _require_admin()
    form = CoachDayForm.parse(request.form)
    try:
        if form.errors:
            raise InvalidInput(form.errors)
        update_coach_day(day, form.data, current_user)
    except InvalidInput as refused:
        db.session.rollback()
        return _render_coach_day(
            day, status=422, edit_values=form.values, edit_errors=refused.errors
        )
    db.session.commit()
    flash(gettext("The coach day is saved."))
    return _see_other("coaching.show_coach_day", coach_day_id=day.id)


@bp.post("/<tenant>/coach-days/<uuid:coach_day_id>/attendance")
@login_required
def record_coach_day_attendance(coach_day_id: uuid.UUID):
    day = get_or_404(CoachDay, coach_day_id)
    _require_admin()
    present, errors = parse_ids(request.form.getlist("present"), "present")
    try:
        if errors:
            raise InvalidInput(errors)
        record_attendance(day, present, current_user)
    except InvalidInput as refused:
        db.session.rollback()
        return _render_coach_day(day, status=422, attendance_errors=refused.errors)
    db.session.commit()
    flash(gettext("The attendance is saved."))
    return _see_other("coaching.show_coach_day", coach_day_id=day.id)


@bp.post("/<tenant>/coach-days/<uuid:coach_day_id>/record")
@login_required
def edit_coach_day_record(coach_day_id: uuid.UUID):
    day = get_or_404(CoachDay, coach_day_id)
    _require_coach_day_reader()
    text = request.form.get("record", "")
    try:
        update_record(day, text, current_user)
    except InvalidInput as refused:
        db.session.rollback()
        return _render_coach_day(day, status=422, record_value=text, record_errors=refused.errors)
    db.session.commit()
    flash(gettext("The record of the coach day is saved."))
    return _see_other("coaching.show_coach_day", coach_day_id=day.id)


# --- a trajectory's coach ----------------------------------------------------------------------


@bp.route("/<tenant>/trajectories/<uuid:trajectory_id>/coach", methods=["GET", "POST"])
@login_required
def choose_coach(trajectory_id: str):
    trajectory, relations = load_trajectory(trajectory_id)
    if not (Role.PROGRAMME_ADMIN in relations or Role.LEARNER in relations):
        abort(404)
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        coach = db.session.scalar(select(User).where(User.id == _coach_key()))
        try:
            if coach is None:
                raise InvalidInput({"coach": gettext("Choose a coach from the list.")})
            assign_coach(trajectory, coach, current_user, request.form.get("reason", ""))
        except InvalidInput as refused:
            db.session.rollback()
            trajectory, relations = load_trajectory(trajectory_id)
            errors, status = refused.errors, 422
        else:
            db.session.commit()
            flash(gettext("%(name)s is now the learning coach.", name=coach.name))
            return redirect(
                url_for("trajectories.show_trajectory", trajectory_id=trajectory.id), 303
            )
    history = db.session.scalars(
        select(CoachAssignment)
        .where(CoachAssignment.trajectory_id == trajectory.id)
        .order_by(CoachAssignment.assigned_at)
        .options(joinedload(CoachAssignment.coach), joinedload(CoachAssignment.assigned_by))
    ).all()
    return (
        render_template(
            "trajectories/choose_coach.html",
            trajectory=trajectory,
            suggestions=suggest_coaches(trajectory.learner),
            history=history,
            may_choose=may_choose_coach(trajectory, relations),
            errors=errors,
        ),
        status,
    )


def _coach_key() -> uuid.UUID | None:
    try:
        return uuid.UUID(request.form.get("coach", ""))
    except ValueError:
        return None
