"""Invitations, updates and cancellations by mail, as the programme's appointments change.

The receivers (`calendars.receivers`) call these when a trajectory's signals arrive, before the
sender flushes: `appointment_changed(trajectory, step)` (schedule, skip, reopen, cancel),
`meeting_changed(meeting)` (a group meeting scheduled), `trajectory_started`,
`trajectory_withdrawn`, `coach_changed` and `return_day_planned`. What changed is read from the
ORM's attribute history, so saving the same appointment again sends nothing, and a new time or
place sends an update with a higher `SEQUENCE`. Each mail is an outbox row (`notifications`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from urllib.parse import urlsplit

from flask_babel import force_locale
from sqlalchemy import inspect, select
from sqlalchemy.orm import joinedload

from samenleren.calendars.events import (
    APPOINTMENT_FIELDS,
    locale_of,
    meeting_event,
    organizer,
    person_of,
    step_event,
)
from samenleren.calendars.ics import CalendarEvent, Method, build_calendar
from samenleren.core.db import as_utc, utcnow
from samenleren.core.extensions import db
from samenleren.core.formatting import show_moment
from samenleren.identity.models import Role, User
from samenleren.notifications.models import NotificationKind
from samenleren.notifications.outbox import notify
from samenleren.trajectories.models import (
    GroupMeeting,
    GroupMeetingState,
    StepInstance,
    StepState,
    Trajectory,
)
from samenleren.trajectories.participants import meeting_people, step_people


def _bump(holder: StepInstance | GroupMeeting) -> int:
    holder.calendar_sequence = (
        0 if holder.calendar_sequence is None else holder.calendar_sequence + 1
    )
    return holder.calendar_sequence


def _context(event: CalendarEvent, method: Method) -> dict:
    """What the mail shows, in the recipient's language (formatted under their locale by the
    caller); JSON values only, never a recorded value."""
    when = ""
    if isinstance(event.starts, datetime) and isinstance(event.ends, datetime):
        when = f"{show_moment(event.starts)} – {show_moment(event.ends, 'short')}"
    return {
        "step": event.summary,
        "when": when,
        "starts_at": event.starts.isoformat() if event.starts else None,
        "location": event.location,
        "video_url": event.video_url,
        "path": urlsplit(event.page_url).path if event.page_url else None,
        "is_update": method is Method.REQUEST and event.sequence > 0,
    }


def _send(recipient: User, event: CalendarEvent, method: Method, object_id: uuid.UUID) -> None:
    if person_of(recipient) is None:
        return
    kind = NotificationKind.CANCELLATION if method is Method.CANCEL else NotificationKind.INVITATION
    prefix = "cancel" if method is Method.CANCEL else "invite"
    text = build_calendar(method, [event], organizer=organizer())
    notify(
        recipient,
        kind,
        key=f"{prefix}:{object_id}:{event.sequence}:{recipient.id}",
        context=_context(event, method),
        attachments=[
            {
                "filename": "invitation.ics" if method is Method.REQUEST else "cancellation.ics",
                "content_type": "text/calendar",
                "method": method.value,
                "text": text,
            }
        ],
    )


def _send_step(
    trajectory: Trajectory, step: StepInstance, method: Method, old: dict | None = None
) -> None:
    spec = trajectory.template_version.content.step(step.step_key)
    if spec is None:
        return
    meeting = step.group_meeting if step.group_meeting_id is not None else None
    if meeting is not None:
        # One learner leaves (or rejoins) the group's meeting: only their copy changes.
        _bump(meeting)
        with_learner = [trajectory.learner]
        if (
            method is Method.REQUEST
            and Role.COACH in spec.participants
            and trajectory.coach_id
            and trajectory.coach is not None
        ):
            # (never a cancel to the coach: they may still coach others of the same group)
            with_learner.append(trajectory.coach)
        for person in with_learner:
            with force_locale(locale_of(person)):
                event = meeting_event(meeting, person, cancelled=method is Method.CANCEL)
                _send(person, event, method, meeting.id)
        return
    _bump(step)
    people = step_people(trajectory, spec)
    for person in people:
        with force_locale(locale_of(person)):
            event = step_event(
                trajectory,
                step,
                spec,
                person,
                attendees=people,
                cancelled=method is Method.CANCEL,
                appointment=old,
            )
            _send(person, event, method, step.id)


def _changed(obj: object, names: Iterable[str]) -> bool:
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in names)


def _old_value(obj: object, name: str):
    history = inspect(obj).attrs[name].history
    if history.deleted:
        return history.deleted[0]
    return getattr(obj, name)


def _in_future(moment: datetime | None) -> bool:
    return moment is not None and as_utc(moment) > utcnow()


def appointment_changed(trajectory: Trajectory, step: StepInstance) -> None:
    """Hook: called by the step services before they flush a change to `step`.

    Now scheduled, and newly so or at another time or place: an invitation (or update). No
    longer scheduled (skipped, appointment cancelled) after an event went out: a cancellation
    of the appointment as it was.
    """
    was_scheduled = _old_value(step, "state") is StepState.SCHEDULED
    now_scheduled = step.state is StepState.SCHEDULED
    if now_scheduled:
        if was_scheduled and not _changed(step, APPOINTMENT_FIELDS):
            return
        if _in_future(step.starts_at):
            _send_step(trajectory, step, Method.REQUEST)
    elif was_scheduled and step.state is not StepState.DONE:
        issued = step.calendar_sequence is not None or step.group_meeting_id is not None
        if issued and _in_future(_old_value(step, "starts_at")):
            old = {name: _old_value(step, name) for name in APPOINTMENT_FIELDS}
            _send_step(trajectory, step, Method.CANCEL, old)


def meeting_changed(meeting: GroupMeeting) -> None:
    """Hook: called by `schedule_meeting` before it flushes. Everyone of the group gets the
    invitation (or the update); saving the same date and place again sends nothing."""
    if meeting.state is not GroupMeetingState.SCHEDULED:
        return
    was_scheduled = _old_value(meeting, "state") is GroupMeetingState.SCHEDULED
    if was_scheduled and not _changed(meeting, APPOINTMENT_FIELDS):
        return
    if not _in_future(meeting.starts_at):
        return
    invite_to_meeting(meeting)


def invite_to_meeting(meeting: GroupMeeting) -> list[User]:
    """Send the (updated) invitation of a scheduled group meeting to all of its people."""
    _bump(meeting)
    people = meeting_people(meeting)
    for person in people:
        with force_locale(locale_of(person)):
            event = meeting_event(meeting, person)
            _send(person, event, Method.REQUEST, meeting.id)
    return people


def trajectory_withdrawn(trajectory: Trajectory) -> None:
    """Hook: the learner left; their appointments still ahead are cancelled for everyone."""
    steps = db.session.scalars(
        select(StepInstance)
        .where(
            StepInstance.trajectory_id == trajectory.id,
            StepInstance.state == StepState.SCHEDULED,
        )
        .options(joinedload(StepInstance.group_meeting))
    ).all()
    for step in steps:
        issued = step.calendar_sequence is not None or step.group_meeting_id is not None
        if issued and _in_future(step.starts_at):
            _send_step(trajectory, step, Method.CANCEL)


def trajectory_started(trajectory: Trajectory) -> None:
    """Hook: a learner joined an edition whose group meetings are already scheduled: they get
    the invitations (the others of the group get nothing new)."""
    steps = db.session.scalars(
        select(StepInstance)
        .where(
            StepInstance.trajectory_id == trajectory.id,
            StepInstance.state == StepState.SCHEDULED,
            StepInstance.group_meeting_id.is_not(None),
        )
        .options(joinedload(StepInstance.group_meeting))
    ).all()
    for step in steps:
        if _in_future(step.starts_at):
            _send_step(trajectory, step, Method.REQUEST)


def coach_changed(trajectory: Trajectory, previous: User | None) -> None:
    """Hook: the trajectory has another coach. Every conversation ahead that the coach takes
    part in is sent again (an update listing the new coach); the previous coach gets its
    cancellation."""
    db.session.flush()
    db.session.expire(trajectory, ["coach"])
    steps = db.session.scalars(
        select(StepInstance).where(
            StepInstance.trajectory_id == trajectory.id,
            StepInstance.state == StepState.SCHEDULED,
            StepInstance.group_meeting_id.is_(None),
            StepInstance.calendar_sequence.is_not(None),
        )
    ).all()
    for step in steps:
        spec = trajectory.template_version.content.step(step.step_key)
        if spec is None or Role.COACH not in spec.participants or not _in_future(step.starts_at):
            continue
        _send_step(trajectory, step, Method.REQUEST)
        if previous is not None and previous.id != trajectory.coach_id:
            with force_locale(locale_of(previous)):
                event = step_event(
                    trajectory, step, spec, previous, attendees=[previous], cancelled=True
                )
                _send(previous, event, Method.CANCEL, step.id)


def return_day_planned(meeting: GroupMeeting, trainer: User | None) -> None:
    """A return day was planned (trajectories.return_day): its people get the invitation and the
    trainer a note of it, with how many were invited."""
    people = invite_to_meeting(meeting)
    if trainer is None or person_of(trainer) is None:
        return
    edition = meeting.edition
    with force_locale(locale_of(trainer)):
        event = meeting_event(meeting, trainer)
        context = {
            **_context(event, Method.REQUEST),
            "edition": f"{edition.training.title} · {edition.name}",
            "invited": len(people) - 1,
        }
    notify(
        trainer,
        NotificationKind.RETURN_DAY_PLANNED,
        key=f"return_day_planned:{meeting.id}",
        context=context,
    )
