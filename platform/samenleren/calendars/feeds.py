"""Personal calendar feeds: a secret link per user (stored only as a hash, replaceable and
revocable) to every appointment they take part in - conversations, group meetings, training
sessions and coach days - for a calendar application to subscribe to."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import url_for
from flask_babel import force_locale, gettext
from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload

from samenleren.audit.events import AuditAction
from samenleren.audit.services import record
from samenleren.calendars.events import (
    locale_of,
    meeting_event,
    organizer,
    page_url,
    person_of,
    step_event,
)
from samenleren.calendars.ics import CalendarEvent, Method, build_calendar, uid_for
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
from samenleren.core.tenancy import require_tenant
from samenleren.identity.models import Role, User
from samenleren.process_templates.models import TemplateVersion
from samenleren.trajectories.models import (
    GroupMeeting,
    GroupMeetingState,
    StepInstance,
    StepState,
    Trajectory,
    TrajectoryStatus,
)
from samenleren.trajectories.participants import step_people

#: A feed lists appointments from this many days ago on (and everything ahead).
FEED_PAST_DAYS = 92


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
    """The live feed of the current tenant with this token (another tenant's: None), only while
    its user has access: a deprovisioned user's feed (or a withdrawn external trainer's) answers
    nothing, even if revoking it was missed."""
    if not token or len(token) > 100:
        return None
    # All rows (one per role of the user), so the joined collection of roles is complete.
    found = (
        db.session.scalars(
            select(CalendarFeed)
            .join(CalendarFeed.user)
            .where(
                CalendarFeed.token_hash == hash_token(token),
                CalendarFeed.revoked_at.is_(None),
                User.active.is_(True),
                User.scim_removed_at.is_(None),
            )
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
        meeting = step.group_meeting
        if meeting is not None:
            if meeting.id not in seen_meetings:
                seen_meetings.add(meeting.id)
                events.append(meeting_event(meeting, user))
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
    tenant = require_tenant()
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
    person = person_of(user)
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
                page_url=page_url("catalogue.show_edition", edition_id=edition.id),
                notes=f"{tenant.name} · {edition.name}",
                attendees=(person,) if person else (),
            )
        )
    return events


def _coach_day_events(user: User, since: date) -> list[CalendarEvent]:
    tenant = require_tenant()
    person = person_of(user)
    return [
        CalendarEvent(
            uid=uid_for("coachday", day.id, day.tenant_id),
            sequence=0,
            summary=day.title,
            starts=day.held_on,
            ends=day.held_on + timedelta(days=1),
            location=day.location,
            page_url=page_url("coaching.show_coach_day", coach_day_id=day.id),
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
    with force_locale(locale_of(user)):
        events = feed_events(user)
        name = gettext("%(tenant)s: my appointments", tenant=require_tenant().name)
    return build_calendar(Method.PUBLISH, events, organizer=organizer(), name=name)


def feed_url(token: str) -> str:
    return url_for("calendars.feed", feed_token=token, _external=True)
