"""Calendar pages: `.ics` downloads of a conversation or group meeting, the personal feed, and
the page where a user makes (or revokes) the secret link to that feed."""

from __future__ import annotations

import uuid

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    make_response,
    render_template,
)
from flask import request as flask_request
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import select

from samenleren.calendars import feeds
from samenleren.calendars.events import meeting_download, step_download
from samenleren.core.extensions import db
from samenleren.core.ratelimits import client_key, limiter
from samenleren.core.web import login_required, see_other
from samenleren.trajectories.access import load_meeting, load_step, load_trajectory
from samenleren.trajectories.models import StepInstance, StepState
from samenleren.trajectories.participants import attends
from samenleren.trajectories.permissions import step_spec

bp = Blueprint("calendars", __name__, template_folder="templates")

ICS_TYPE = "text/calendar; charset=utf-8"


def _ics(text: str, filename: str) -> Response:
    response = make_response(text)
    response.headers["Content-Type"] = ICS_TYPE
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _no_store(body: str, status: int = 200) -> Response:
    """The page that shows a feed link just made stays out of every cache."""
    response = make_response(body, status)
    response.headers["Cache-Control"] = "no-store"
    return response


# --- downloads --------------------------------------------------------------------------------


@bp.get("/<tenant>/calendar/steps/<uuid:scheduled_step_id>.ics")
@login_required
def download_step(scheduled_step_id: uuid.UUID):
    """A scheduled conversation (or one's part of a group meeting) as an .ics file, for whoever
    may see the step; a step without an appointment is a 404 like a missing one."""
    trajectory_id = db.session.scalar(
        select(StepInstance.trajectory_id).where(StepInstance.id == scheduled_step_id)
    )
    if trajectory_id is None:
        abort(404)
    trajectory, relations = load_trajectory(str(trajectory_id))
    step = load_step(trajectory, str(scheduled_step_id))
    if step.state is not StepState.SCHEDULED or step.starts_at is None:
        abort(404)
    if not attends(step_spec(trajectory, step), relations):
        abort(404)  # who does not take part gets no calendar file (the feed agrees)
    return _ics(step_download(trajectory, step, current_user, relations), "appointment.ics")


@bp.get("/<tenant>/calendar/meetings/<uuid:scheduled_meeting_id>.ics")
@login_required
def download_meeting(scheduled_meeting_id: uuid.UUID):
    meeting, _runs, _members = load_meeting(str(scheduled_meeting_id))
    if meeting.starts_at is None or meeting.state.value != "scheduled":
        abort(404)
    return _ics(meeting_download(meeting, current_user), "meeting.ics")


# --- the personal feed ------------------------------------------------------------------------


def _feed_limit() -> str:
    return current_app.config["SAMENLEREN_RATELIMIT_FEED"]


def _feed_key() -> str:
    """Per tenant and per feed link (a calendar service fetches many users' feeds from one
    address); the token is hashed so it is not kept in the rate limiter's store."""
    token = (flask_request.view_args or {}).get("feed_token", "")
    return f"{client_key().split('/')[0]}/feed/{feeds.hash_token(str(token))[:16]}"


@bp.get("/<tenant>/calendar/<feed_token>.ics")
@limiter.limit(_feed_limit, key_func=_feed_key)
def feed(feed_token: str):
    """The feed a calendar application subscribes to: no login, the secret link is the key.
    Unknown, revoked and other tenants' links are the same 404."""
    found = feeds.feed_by_token(feed_token)
    if found is None:
        abort(404)
    text = feeds.feed_calendar(found)
    db.session.commit()  # last_used_at, at most once an hour
    response = _ics(text, "samenleren.ics")
    response.headers["Content-Disposition"] = 'inline; filename="samenleren.ics"'
    return response


def _render_settings(*, token: str | None = None, status: int = 200) -> Response:
    feed_row = feeds.active_feed(current_user)
    return _no_store(
        render_template(
            "calendars/my_calendar.html",
            feed=feed_row,
            url=feeds.feed_url(token) if token else None,
        ),
        status,
    )


@bp.get("/<tenant>/me/calendar")
@login_required
def my_calendar():
    return _render_settings()


@bp.post("/<tenant>/me/calendar/new")
@login_required
def new_feed():
    # Not `form_action`: nothing here can be refused, and the new link is shown once on this
    # answer instead of after a redirect (only its hash is stored).
    issued = feeds.create_feed(current_user)
    db.session.commit()
    return _render_settings(token=issued.token)


@bp.post("/<tenant>/me/calendar/revoke")
@login_required
def revoke_feed():
    # Not `form_action`: nothing can be refused, and it commits and flashes only when there
    # was a link to revoke.
    if feeds.revoke_feed(current_user):
        db.session.commit()
        flash(gettext("The calendar link no longer works."))
    return see_other("calendars.my_calendar")
