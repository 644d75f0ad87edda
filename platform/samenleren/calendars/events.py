"""Appointments as calendar events: a conversation or a group meeting named in the viewer's
language (never a recorded value), and one of them as an `.ics` file to download.

Who takes part in an appointment comes from the template (`participants` of the step, relative
to the trajectory: its learner, coach, the learner's manager, the edition's trainer); people
without an e-mail address are left out. One conversation is one event (`UID` from the step
instance); a group meeting is one event (`UID` from the meeting) that every member gets a copy of
listing only themselves as attendee, so nobody learns the group's addresses from it (the meeting
page does not show learners the group either).
"""

from __future__ import annotations

from collections.abc import Iterable
from email.utils import parseaddr
from urllib.parse import urlsplit

from flask import current_app

from samenleren.calendars.ics import CalendarEvent, Method, Person, build_calendar, uid_for
from samenleren.core.tenancy import require_tenant
from samenleren.identity.models import Role, User
from samenleren.notifications.rendering import sender_of_current_tenant
from samenleren.process_templates.definition import StepSpec
from samenleren.trajectories.confidentiality import step_texts
from samenleren.trajectories.models import (
    GroupMeeting,
    StepInstance,
    Trajectory,
)
from samenleren.trajectories.participants import step_people
from samenleren.trajectories.permissions import step_spec

APPOINTMENT_FIELDS = ("starts_at", "ends_at", "location", "video_url")


def person_of(user: User | None) -> Person | None:
    if user is None or not user.email or not user.active:
        return None
    return Person(email=user.email, name=user.name)


def organizer() -> Person:
    """The tenant's sender address, named after the tenant (replies and RSVPs go there)."""
    _display, address = parseaddr(sender_of_current_tenant().mail_from)
    return Person(email=address, name=require_tenant().name)


def locale_of(user: User | None) -> str:
    tenant = require_tenant()
    return (user.locale if user is not None else None) or tenant.default_locale


def page_url(endpoint: str, **values) -> str:
    """An absolute link into the application, on SAMENLEREN_BASE_URL (the address the mails
    use too), so an invitation sent from a page and one sent by a job link to the same place."""
    base = urlsplit(current_app.config.get("SAMENLEREN_BASE_URL") or "http://localhost")
    adapter = current_app.url_map.bind(
        base.netloc, script_name=base.path or "/", url_scheme=base.scheme
    )
    return adapter.build(endpoint, {"tenant": require_tenant().slug, **values}, force_external=True)


def step_uid(step: StepInstance) -> str:
    return uid_for("step", step.id, step.tenant_id)


def meeting_uid(meeting: GroupMeeting) -> str:
    return uid_for("meeting", meeting.id, meeting.tenant_id)


def step_event(
    trajectory: Trajectory,
    step: StepInstance,
    spec: StepSpec,
    viewer: User | None,
    *,
    attendees: Iterable[User],
    cancelled: bool = False,
    appointment: dict | None = None,
) -> CalendarEvent:
    """The event of a conversation, named in the viewer's language (no recorded values).
    `appointment`: the time and place to show instead of the step's (a cancelled one)."""
    tenant = require_tenant()
    when = appointment or {name: getattr(step, name) for name in APPOINTMENT_FIELDS}
    locale = locale_of(viewer)
    summary = spec.name_in(locale, tenant.default_locale)
    if step.occurrence > 1:
        summary = f"{summary} {step.occurrence}"
    if viewer is None or viewer.id != trajectory.learner_id:
        summary = f"{summary} · {trajectory.learner.name}"
    people = [p for p in (person_of(u) for u in attendees) if p is not None]
    return CalendarEvent(
        uid=step_uid(step),
        sequence=step.calendar_sequence or 0,
        summary=summary,
        starts=when["starts_at"],
        ends=when["ends_at"],
        location=when["location"],
        video_url=when["video_url"],
        page_url=page_url("trajectories.show_step", trajectory_id=trajectory.id, step_id=step.id),
        notes=tenant.name,
        attendees=tuple(people),
        cancelled=cancelled,
    )


def meeting_event(
    meeting: GroupMeeting, viewer: User | None, *, cancelled: bool = False
) -> CalendarEvent:
    """The event of a group meeting; the viewer is its only attendee (see the module text)."""
    if meeting.starts_at is None or meeting.ends_at is None:
        raise ValueError("a group meeting without a time has no calendar event")
    tenant = require_tenant()
    locale = locale_of(viewer)
    edition = meeting.edition
    summary = f"{meeting.name_in(locale, tenant.default_locale)} · {edition.training.title}"
    person = person_of(viewer)
    return CalendarEvent(
        uid=meeting_uid(meeting),
        sequence=meeting.calendar_sequence or 0,
        summary=summary,
        starts=meeting.starts_at,
        ends=meeting.ends_at,
        location=meeting.location,
        video_url=meeting.video_url,
        page_url=page_url("trajectories.show_meeting", meeting_id=meeting.id),
        notes=f"{tenant.name} · {edition.name}",
        attendees=(person,) if person else (),
        cancelled=cancelled,
    )


def step_download(
    trajectory: Trajectory, step: StepInstance, viewer: User, relations: frozenset[Role]
) -> str:
    """A scheduled conversation as a file to open in one's calendar (METHOD:PUBLISH).

    Its place and video link as far as `relations` may read them (`confidentiality.step_texts`):
    the manager may put a progress conversation in a calendar, not learn where it is held."""
    spec = step_spec(trajectory, step)
    if step.group_meeting_id is not None and step.group_meeting is not None:
        event = meeting_event(step.group_meeting, viewer)
    else:
        texts = step_texts(spec, step, relations)
        appointment = {
            "starts_at": step.starts_at,
            "ends_at": step.ends_at,
            "location": texts.location,
            "video_url": texts.video_url,
        }
        event = step_event(
            trajectory,
            step,
            spec,
            viewer,
            attendees=step_people(trajectory, spec),
            appointment=appointment,
        )
    return build_calendar(Method.PUBLISH, [event], organizer=organizer())


def meeting_download(meeting: GroupMeeting, viewer: User) -> str:
    return build_calendar(Method.PUBLISH, [meeting_event(meeting, viewer)], organizer=organizer())
