"""Calendar events for appointments: invitations, updates and cancellations by mail, `.ics`
downloads, personal feeds, and planning the return day when an edition has ended.

Who takes part in an appointment comes from the template (`participants` of the step, relative
to the trajectory: its learner, coach, the learner's manager, the edition's trainer); people
without an e-mail address get no mail. One conversation is one event (`UID` from the step
instance); a group meeting is one event (`UID` from the meeting) that every member gets a copy of
listing only themselves as attendee, so nobody learns the group's addresses from it (the meeting
page does not show learners the group either).

The trajectory services call three hooks, right before they flush a change:
`appointment_changed(trajectory, step)` (schedule, skip, reopen, cancel),
`meeting_changed(meeting)` (schedule a group meeting) and `trajectory_withdrawn(trajectory)`.
What changed is read from the ORM's attribute history, so saving the same appointment again
sends nothing, and a new time or place sends an update with a higher `SEQUENCE`.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.utils import parseaddr
from urllib.parse import urlsplit

from flask import current_app, url_for
from flask_babel import force_locale, gettext
from sqlalchemy import inspect, or_, select
from sqlalchemy.orm import joinedload

from samenleren.audit.events import AuditAction
from samenleren.audit.services import record
from samenleren.calendars.ics import CalendarEvent, Method, Person, build_calendar, uid_for
from samenleren.calendars.models import CalendarFeed
from samenleren.catalogue.models import (
    Edition,
    EditionSession,
    Enrolment,
    EnrolmentStatus,
    Training,
)
from samenleren.coaching.models import CoachDay
from samenleren.core.db import as_utc, utcnow
from samenleren.core.extensions import db
from samenleren.core.formatting import show_moment
from samenleren.core.tenancy import current_tenant
from samenleren.identity.models import Role, User
from samenleren.notifications.models import NotificationKind
from samenleren.notifications.outbox import notify
from samenleren.notifications.rendering import sender_of_current_tenant
from samenleren.process_templates.definition import StepSpec
from samenleren.process_templates.models import TemplateVersion
from samenleren.trajectories.models import (
    GroupMeeting,
    GroupMeetingState,
    StepInstance,
    StepState,
    Trajectory,
    TrajectoryStatus,
)
from samenleren.trajectories.participants import meeting_people, step_people

log = logging.getLogger(__name__)

#: A feed lists appointments from this many days ago on (and everything ahead).
FEED_PAST_DAYS = 92
_APPOINTMENT_FIELDS = ("starts_at", "ends_at", "location", "video_url")


# --- who takes part ---------------------------------------------------------------------------


def _person(user: User | None) -> Person | None:
    if user is None or not user.email or not user.active:
        return None
    return Person(email=user.email, name=user.name)


# --- events -----------------------------------------------------------------------------------


def organizer() -> Person:
    """The tenant's sender address, named after the tenant (replies and RSVPs go there)."""
    _display, address = parseaddr(sender_of_current_tenant().mail_from)
    return Person(email=address, name=current_tenant().name)


def _locale_of(user: User | None) -> str:
    tenant = current_tenant()
    return (user.locale if user is not None else None) or tenant.default_locale


def _page_url(endpoint: str, **values) -> str:
    """An absolute link into the application, on SAMENLEREN_BASE_URL (the address the mails
    use too), so an invitation sent from a page and one sent by a job link to the same place."""
    base = urlsplit(current_app.config.get("SAMENLEREN_BASE_URL") or "http://localhost")
    adapter = current_app.url_map.bind(
        base.netloc, script_name=base.path or "/", url_scheme=base.scheme
    )
    return adapter.build(endpoint, {"tenant": current_tenant().slug, **values}, force_external=True)


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
    tenant = current_tenant()
    when = appointment or {name: getattr(step, name) for name in _APPOINTMENT_FIELDS}
    locale = _locale_of(viewer)
    summary = spec.name_in(locale, tenant.default_locale)
    if step.occurrence > 1:
        summary = f"{summary} {step.occurrence}"
    if viewer is None or viewer.id != trajectory.learner_id:
        summary = f"{summary} · {trajectory.learner.name}"
    people = [p for p in (_person(u) for u in attendees) if p is not None]
    return CalendarEvent(
        uid=step_uid(step),
        sequence=step.calendar_sequence or 0,
        summary=summary,
        starts=when["starts_at"],
        ends=when["ends_at"],
        location=when["location"],
        video_url=when["video_url"],
        page_url=_page_url("trajectories.show_step", trajectory_id=trajectory.id, step_id=step.id),
        notes=tenant.name,
        attendees=tuple(people),
        cancelled=cancelled,
    )


def meeting_event(
    meeting: GroupMeeting, viewer: User | None, *, cancelled: bool = False
) -> CalendarEvent:
    """The event of a group meeting; the viewer is its only attendee (see the module text)."""
    tenant = current_tenant()
    locale = _locale_of(viewer)
    edition = meeting.edition
    summary = f"{meeting.name_in(locale, tenant.default_locale)} · {edition.training.title}"
    person = _person(viewer)
    return CalendarEvent(
        uid=meeting_uid(meeting),
        sequence=meeting.calendar_sequence or 0,
        summary=summary,
        starts=meeting.starts_at,
        ends=meeting.ends_at,
        location=meeting.location,
        video_url=meeting.video_url,
        page_url=_page_url("trajectories.show_meeting", meeting_id=meeting.id),
        notes=f"{tenant.name} · {edition.name}",
        attendees=(person,) if person else (),
        cancelled=cancelled,
    )


# --- sending ------------------------------------------------------------------------------------


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
    if _person(recipient) is None:
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
    if step.group_meeting_id is not None:
        # One learner leaves (or rejoins) the group's meeting: only their copy changes.
        meeting = step.group_meeting
        _bump(meeting)
        with_learner = [trajectory.learner]
        if method is Method.REQUEST and Role.COACH in spec.participants and trajectory.coach_id:
            # (never a cancel to the coach: they may still coach others of the same group)
            with_learner.append(trajectory.coach)
        for person in with_learner:
            with force_locale(_locale_of(person)):
                event = meeting_event(meeting, person, cancelled=method is Method.CANCEL)
                _send(person, event, method, meeting.id)
        return
    _bump(step)
    people = step_people(trajectory, spec)
    for person in people:
        with force_locale(_locale_of(person)):
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
        if was_scheduled and not _changed(step, _APPOINTMENT_FIELDS):
            return
        if _in_future(step.starts_at):
            _send_step(trajectory, step, Method.REQUEST)
    elif was_scheduled and step.state is not StepState.DONE:
        issued = step.calendar_sequence is not None or step.group_meeting_id is not None
        if issued and _in_future(_old_value(step, "starts_at")):
            old = {name: _old_value(step, name) for name in _APPOINTMENT_FIELDS}
            _send_step(trajectory, step, Method.CANCEL, old)


def meeting_changed(meeting: GroupMeeting) -> None:
    """Hook: called by `schedule_meeting` before it flushes. Everyone of the group gets the
    invitation (or the update); saving the same date and place again sends nothing."""
    if meeting.state is not GroupMeetingState.SCHEDULED:
        return
    was_scheduled = _old_value(meeting, "state") is GroupMeetingState.SCHEDULED
    if was_scheduled and not _changed(meeting, _APPOINTMENT_FIELDS):
        return
    if not _in_future(meeting.starts_at):
        return
    invite_to_meeting(meeting)


def invite_to_meeting(meeting: GroupMeeting) -> list[User]:
    """Send the (updated) invitation of a scheduled group meeting to all of its people."""
    _bump(meeting)
    people = meeting_people(meeting)
    for person in people:
        with force_locale(_locale_of(person)):
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
            with force_locale(_locale_of(previous)):
                event = step_event(
                    trajectory, step, spec, previous, attendees=[previous], cancelled=True
                )
                _send(previous, event, Method.CANCEL, step.id)


# --- downloads and feeds ---------------------------------------------------------------------


def step_download(trajectory: Trajectory, step: StepInstance, viewer: User) -> str:
    """A scheduled conversation as a file to open in one's calendar (METHOD:PUBLISH)."""
    spec = trajectory.template_version.content.step(step.step_key)
    if step.group_meeting_id is not None and step.group_meeting is not None:
        event = meeting_event(step.group_meeting, viewer)
    else:
        event = step_event(trajectory, step, spec, viewer, attendees=step_people(trajectory, spec))
    return build_calendar(Method.PUBLISH, [event], organizer=organizer())


def meeting_download(meeting: GroupMeeting, viewer: User) -> str:
    return build_calendar(Method.PUBLISH, [meeting_event(meeting, viewer)], organizer=organizer())


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedFeed:
    """A feed just made: the token exists only here (and in the link shown once)."""

    feed: CalendarFeed
    token: str


def active_feed(user: User) -> CalendarFeed | None:
    return db.session.scalar(
        select(CalendarFeed).where(
            CalendarFeed.user_id == user.id, CalendarFeed.revoked_at.is_(None)
        )
    )


def create_feed(user: User) -> IssuedFeed:
    """A new personal feed link for `user`; the previous one stops working. Audited."""
    now = utcnow()
    revoke_feed(user, audit=False, when=now)
    token = secrets.token_urlsafe(32)
    feed = CalendarFeed(user_id=user.id, token_hash=hash_token(token), created_at=now)
    db.session.add(feed)
    db.session.flush()
    record(
        AuditAction.CALENDAR_FEED_CREATED,
        actor=user,
        subject_type="user",
        subject_id=user.id,
        details={"feed": str(feed.id)},
    )
    return IssuedFeed(feed=feed, token=token)


def revoke_feed(user: User, *, audit: bool = True, when: datetime | None = None) -> bool:
    """The user's feed link stops working (404 from now on). False: there was none."""
    feeds = db.session.scalars(
        select(CalendarFeed).where(
            CalendarFeed.user_id == user.id, CalendarFeed.revoked_at.is_(None)
        )
    ).all()
    for feed in feeds:
        feed.revoked_at = when or utcnow()
        if audit:
            record(
                AuditAction.CALENDAR_FEED_REVOKED,
                actor=user,
                subject_type="user",
                subject_id=user.id,
                details={"feed": str(feed.id)},
            )
    db.session.flush()
    return bool(feeds)


def feed_by_token(token: str) -> CalendarFeed | None:
    """The live feed of the current tenant with this token (another tenant's: None)."""
    if not token or len(token) > 100:
        return None
    # All rows (one per role of the user), so the joined collection of roles is complete.
    found = (
        db.session.scalars(
            select(CalendarFeed)
            .where(CalendarFeed.token_hash == hash_token(token), CalendarFeed.revoked_at.is_(None))
            .options(joinedload(CalendarFeed.user).joinedload(User.role_assignments))
        )
        .unique()
        .all()
    )
    return found[0] if found else None


def feed_events(user: User) -> list[CalendarEvent]:
    """Every scheduled appointment `user` takes part in, from FEED_PAST_DAYS ago on: their
    conversations and group meetings (as learner, coach, manager or trainer, as the template
    says), the sessions of editions they follow or train, and coach days if they coach.

    A fixed number of queries, whatever the number of appointments.
    """
    horizon = utcnow() - timedelta(days=FEED_PAST_DAYS)
    events: list[CalendarEvent] = []
    seen_meetings: set[uuid.UUID] = set()
    Learner = db.aliased(User)
    rows = db.session.execute(
        select(StepInstance, Trajectory)
        .join(Trajectory, Trajectory.id == StepInstance.trajectory_id)
        .join(Learner, Learner.id == Trajectory.learner_id)
        .join(Edition, Edition.id == Trajectory.edition_id)
        .where(
            StepInstance.state == StepState.SCHEDULED,
            StepInstance.starts_at >= horizon,
            Trajectory.status != TrajectoryStatus.WITHDRAWN,
            or_(
                Trajectory.learner_id == user.id,
                Trajectory.coach_id == user.id,
                Learner.manager_id == user.id,
                Edition.trainer_id == user.id,
            ),
        )
        .options(
            joinedload(StepInstance.group_meeting)
            .joinedload(GroupMeeting.edition)
            .joinedload(Edition.training)
            .lazyload(Training.departments),
            joinedload(Trajectory.learner).joinedload(User.manager).lazyload(User.role_assignments),
            joinedload(Trajectory.learner).lazyload(User.role_assignments),
            joinedload(Trajectory.coach).lazyload(User.role_assignments),
            joinedload(Trajectory.edition)
            .joinedload(Edition.trainer)
            .lazyload(User.role_assignments),
        )
        .order_by(StepInstance.starts_at)
    ).all()
    versions = (
        {
            version.id: version
            for version in db.session.scalars(
                select(TemplateVersion).where(
                    TemplateVersion.id.in_({t.template_version_id for _, t in rows})
                )
            )
        }
        if rows
        else {}
    )
    for step, trajectory in rows:
        spec = versions[trajectory.template_version_id].content.step(step.step_key)
        if spec is None:
            continue
        relations = relations_to_people(trajectory, user)
        if not relations & set(spec.participants):
            continue
        if step.group_meeting is not None:
            if step.group_meeting_id not in seen_meetings:
                seen_meetings.add(step.group_meeting_id)
                events.append(meeting_event(step.group_meeting, user))
            continue
        events.append(
            step_event(trajectory, step, spec, user, attendees=step_people(trajectory, spec))
        )
    for meeting in db.session.scalars(
        select(GroupMeeting)
        .join(Edition, Edition.id == GroupMeeting.edition_id)
        .where(
            Edition.trainer_id == user.id,
            GroupMeeting.state == GroupMeetingState.SCHEDULED,
            GroupMeeting.starts_at >= horizon,
        )
        .options(
            joinedload(GroupMeeting.edition)
            .joinedload(Edition.training)
            .lazyload(Training.departments)
        )
    ):
        if meeting.id not in seen_meetings:
            seen_meetings.add(meeting.id)
            events.append(meeting_event(meeting, user))
    events.extend(_session_events(user, horizon))
    if user.has_role(Role.COACH):
        events.extend(_coach_day_events(user, horizon.date()))
    return events


def relations_to_people(trajectory: Trajectory, user: User) -> set[Role]:
    """The parts `user` plays in `trajectory` as a person (not as administrator)."""
    relations = set()
    if trajectory.learner_id == user.id:
        relations.add(Role.LEARNER)
    if trajectory.coach_id == user.id:
        relations.add(Role.COACH)
    if trajectory.learner.manager_id == user.id:
        relations.add(Role.MANAGER)
    if trajectory.edition.trainer_id == user.id:
        relations.add(Role.TRAINER)
    return relations


def _session_events(user: User, horizon: datetime) -> list[CalendarEvent]:
    tenant = current_tenant()
    enrolled = select(Enrolment.edition_id).where(
        Enrolment.learner_id == user.id, Enrolment.status == EnrolmentStatus.ENROLLED
    )
    rows = db.session.execute(
        select(EditionSession, Edition)
        .join(Edition, Edition.id == EditionSession.edition_id)
        .where(
            EditionSession.starts_at >= horizon,
            Edition.cancelled.is_(False),
            or_(Edition.trainer_id == user.id, Edition.id.in_(enrolled)),
        )
        .options(joinedload(Edition.training).lazyload(Training.departments))
        .order_by(EditionSession.starts_at)
    ).all()
    person = _person(user)
    events = []
    for session, edition in rows:
        summary = edition.training.title
        if session.topic:
            summary = f"{summary}: {session.topic}"
        events.append(
            CalendarEvent(
                uid=uid_for("session", session.id, session.tenant_id),
                sequence=0,
                summary=summary,
                starts=session.starts_at,
                ends=session.ends_at,
                location=session.location or edition.location,
                page_url=_page_url("catalogue.show_edition", edition_id=edition.id),
                notes=f"{tenant.name} · {edition.name}",
                attendees=(person,) if person else (),
            )
        )
    return events


def _coach_day_events(user: User, since: date) -> list[CalendarEvent]:
    tenant = current_tenant()
    person = _person(user)
    return [
        CalendarEvent(
            uid=uid_for("coachday", day.id, day.tenant_id),
            sequence=0,
            summary=day.title,
            starts=day.held_on,
            ends=day.held_on + timedelta(days=1),
            location=day.location,
            page_url=_page_url("coaching.show_coach_day", coach_day_id=day.id),
            notes=tenant.name,
            attendees=(person,) if person else (),
        )
        for day in db.session.scalars(
            select(CoachDay).where(CoachDay.held_on >= since).order_by(CoachDay.held_on)
        )
    ]


def feed_calendar(feed: CalendarFeed) -> str:
    """The feed's text (METHOD:PUBLISH) in its owner's language; notes when it was fetched."""
    user = feed.user
    now = utcnow()
    if feed.last_used_at is None or as_utc(feed.last_used_at) < now - timedelta(hours=1):
        feed.last_used_at = now  # at most one write an hour per feed
    with force_locale(_locale_of(user)):
        events = feed_events(user)
        name = gettext("%(tenant)s: my appointments", tenant=current_tenant().name)
    return build_calendar(Method.PUBLISH, events, organizer=organizer(), name=name)


# --- the return day ------------------------------------------------------------------------------


def return_day_planned(meeting: GroupMeeting, trainer: User | None) -> None:
    """A return day was planned (trajectories.return_day): its people get the invitation and the
    trainer a note of it, with how many were invited."""
    people = invite_to_meeting(meeting)
    if trainer is None or _person(trainer) is None:
        return
    edition = meeting.edition
    with force_locale(_locale_of(trainer)):
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


def feed_url(token: str) -> str:
    return url_for("calendars.feed", feed_token=token, _external=True)
