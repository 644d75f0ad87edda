"""Everything the platform holds about one person in their tenant, as plain JSON values.

What a package holds depends on who it is for (`Audience`):

* `SELF` (the person asked themselves): all of their own trajectories as they see them, their
  confidential progress notes included; in trajectories of others (as coach, manager, trainer)
  the values *they wrote*, as far as they may read them now (a former coach reads nothing: the
  notes stay with the learner and the current coach); the mails sent to them; the audit
  entries about them or by them.
* `PROGRAMME_ADMIN` (produced by a programme administrator on the person's request): the same
  collection read as the programme administrator may read it. The confidentiality rules of the
  trajectories (`trajectories.confidentiality`) decide per field: no confidential step's
  values or texts, no free text only learner, coach or manager may read, no words of expected
  results or the examples of ratings. The person gets those with their own request.

Other people's answers never enter: a group meeting is one step per learner, and only the
subject's own step is read; shared records (a group meeting's outcome, a coach day's record)
are left out, as they speak of the others too.
"""

from __future__ import annotations

import enum
import uuid
from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload

from samenleren.audit.events import action_label
from samenleren.audit.models import AuditEvent
from samenleren.calendars.models import CalendarFeed
from samenleren.catalogue.models import Edition, EditionSession, Enrolment, SessionAttendance
from samenleren.coaching.models import CoachDay, CoachDayAttendance, CoachProfile
from samenleren.core.extensions import db
from samenleren.core.tenancy import require_tenant
from samenleren.identity.models import LoginSession, Role, User
from samenleren.notifications.models import Notification
from samenleren.process_templates.definition import TemplateDefinition
from samenleren.tenants.models import OrganisationGoal
from samenleren.trajectories.confidentiality import (
    may_read_goals,
    may_read_step_texts,
    readable_values,
)
from samenleren.trajectories.models import (
    CoachAssignment,
    ExpectedResult,
    FieldValue,
    GroupMeeting,
    GroupMeetingAttendance,
    LearningGoal,
    LearningGoalLink,
    ResultRating,
    StepInstance,
    Trajectory,
)
from samenleren.trajectories.permissions import relations_to
from samenleren.trajectories.results import may_read_results

#: The name and version of the JSON layout (docs/privacy/my-data-schema.md).
SCHEMA = "samenleren.personal-data/1"

#: The profile fields an identity provider owns (login claims or SCIM overwrite them).
IDP_FIELDS = ("name", "email")


class Audience(enum.StrEnum):
    SELF = "self"
    PROGRAMME_ADMIN = "programme_admin"


ADMIN_RELATIONS = frozenset({Role.PROGRAMME_ADMIN})

Progress = Callable[[int, int], None]


def _moment(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _text(texts: dict | None, locale: str, fallback: str) -> str:
    texts = texts or {}
    return texts.get(locale) or texts.get(fallback) or next(iter(texts.values()), "")


def collect(subject: User, audience: Audience, locale: str, progress: Progress) -> dict[str, Any]:
    """The package's data for `subject` (a user of the current tenant)."""
    tenant = require_tenant()
    fallback = tenant.default_locale
    own_notes = audience is Audience.SELF
    data: dict[str, Any] = {
        "schema": SCHEMA,
        "tenant": {"slug": tenant.slug, "name": tenant.name},
        "audience": audience.value,
        "confidential_notes_included": own_notes,
        "person": _person(subject),
        "roles": _roles(subject),
    }
    progress(1, 6)
    data["enrolments"] = _enrolments(subject)
    data["trajectories"] = _own_trajectories(subject, audience, locale, fallback)
    progress(2, 6)
    data["written_in_other_trajectories"] = _written_elsewhere(subject, audience, locale, fallback)
    progress(3, 6)
    data["coaching"] = _coaching(subject)
    data["training_sessions"] = _sessions(subject)
    progress(4, 6)
    data["mails"] = _mails(subject, audience)
    data["calendar_feeds"] = [
        {
            "created_at": _moment(feed.created_at),
            "revoked_at": _moment(feed.revoked_at),
            "last_used_at": _moment(feed.last_used_at),
        }
        for feed in db.session.scalars(
            select(CalendarFeed)
            .where(CalendarFeed.user_id == subject.id)
            .order_by(CalendarFeed.created_at)
        )
    ]
    data["logins"] = [
        {"started_at": _moment(row.created_at), "ended_at": _moment(row.ended_at)}
        for row in db.session.scalars(
            select(LoginSession)
            .where(LoginSession.user_id == subject.id)
            .order_by(LoginSession.created_at)
        )
    ]
    progress(5, 6)
    data["audit"] = _audit(subject, [t["id"] for t in data["trajectories"]])
    progress(6, 6)
    return data


def _person(subject: User) -> dict[str, Any]:
    return {
        "id": str(subject.id),
        "name": subject.name,
        "email": subject.email,
        "employee_number": subject.employee_number,
        "department": subject.department.name if subject.department is not None else None,
        "manager": subject.manager.name if subject.manager is not None else None,
        "language": subject.locale,
        "notification_mode": subject.notification_mode,
        "active": subject.active,
        "created_at": _moment(subject.created_at),
        "last_login_at": _moment(subject.last_login_at),
        "identity_provider_subject": subject.subject,
        "provisioned_by_scim": bool(subject.scim_attributes),
    }


def _roles(subject: User) -> list[dict[str, Any]]:
    return [
        {"role": row.role.value, "source": row.source.value, "since": _moment(row.created_at)}
        for row in sorted(subject.role_assignments, key=lambda r: (r.role.value, r.source.value))
    ]


def _enrolments(subject: User) -> list[dict[str, Any]]:
    rows = db.session.scalars(
        select(Enrolment)
        .where(Enrolment.learner_id == subject.id)
        .options(joinedload(Enrolment.edition).joinedload(Edition.training))
        .order_by(Enrolment.applied_at)
    )
    return [
        {
            "training": row.edition.training.title,
            "edition": row.edition.name,
            "status": row.status.value,
            "motivation": row.motivation,
            "reason": row.reason,
            "applied_at": _moment(row.applied_at),
            "enrolled_at": _moment(row.enrolled_at),
        }
        for row in rows
    ]


def _trajectories(where) -> list[Trajectory]:
    return list(
        db.session.scalars(
            select(Trajectory)
            .where(where)
            .options(
                joinedload(Trajectory.learner),
                joinedload(Trajectory.coach),
                joinedload(Trajectory.edition).joinedload(Edition.training),
                joinedload(Trajectory.template_version),
            )
            .order_by(Trajectory.created_at)
        ).unique()
    )


def _relations(trajectory: Trajectory, subject: User, audience: Audience) -> frozenset[Role]:
    if audience is Audience.PROGRAMME_ADMIN:
        return ADMIN_RELATIONS
    return relations_to(trajectory, subject)


def _field_label(definition: TemplateDefinition, step_key: str, key: str, locale: str) -> str:
    step = definition.step(step_key)
    spec = step.field(key) if step is not None else None
    return spec.label_in(locale, "nl") if spec is not None else key


def _own_trajectories(
    subject: User, audience: Audience, locale: str, fallback: str
) -> list[dict[str, Any]]:
    trajectories = _trajectories(Trajectory.learner_id == subject.id)
    if not trajectories:
        return []
    # Free text the person wrote about their goals: in their own package only.
    own_notes = audience is Audience.SELF
    ids = [t.id for t in trajectories]
    steps_of: dict[uuid.UUID, list[StepInstance]] = defaultdict(list)
    for step in db.session.scalars(
        select(StepInstance)
        .where(StepInstance.trajectory_id.in_(ids))
        .order_by(StepInstance.position, StepInstance.occurrence)
    ):
        steps_of[step.trajectory_id].append(step)
    goals_of: dict[uuid.UUID, list[LearningGoal]] = defaultdict(list)
    for goal in db.session.scalars(
        select(LearningGoal)
        .where(LearningGoal.trajectory_id.in_(ids))
        .order_by(LearningGoal.position)
    ):
        goals_of[goal.trajectory_id].append(goal)
    goal_ids = [g.id for goals in goals_of.values() for g in goals]
    links: dict[uuid.UUID, list[str]] = defaultdict(list)
    if goal_ids:
        for row in db.session.execute(
            select(LearningGoalLink.learning_goal_id, OrganisationGoal.title)
            .join(OrganisationGoal, OrganisationGoal.id == LearningGoalLink.organisation_goal_id)
            .where(LearningGoalLink.learning_goal_id.in_(goal_ids))
        ):
            links[row.learning_goal_id].append(_text(row.title, locale, fallback))
    results_of: dict[uuid.UUID, list[ExpectedResult]] = defaultdict(list)
    for result in db.session.scalars(
        select(ExpectedResult)
        .where(ExpectedResult.trajectory_id.in_(ids))
        .order_by(ExpectedResult.position)
    ):
        results_of[result.trajectory_id].append(result)
    result_ids = [r.id for results in results_of.values() for r in results]
    ratings_of: dict[uuid.UUID, list[ResultRating]] = defaultdict(list)
    if result_ids:
        for rating in db.session.scalars(
            select(ResultRating)
            .where(ResultRating.expected_result_id.in_(result_ids))
            .order_by(ResultRating.rated_at)
        ):
            ratings_of[rating.expected_result_id].append(rating)
    coaches_of: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
    for assignment in db.session.scalars(
        select(CoachAssignment)
        .where(CoachAssignment.trajectory_id.in_(ids))
        .options(joinedload(CoachAssignment.coach))
        .order_by(CoachAssignment.assigned_at)
    ):
        coaches_of[assignment.trajectory_id].append(
            {
                "coach": assignment.coach.name,
                "from": _moment(assignment.assigned_at),
                "until": _moment(assignment.ended_at),
            }
        )
    meeting_ids = {s.group_meeting_id for steps in steps_of.values() for s in steps}
    meeting_ids.discard(None)
    meetings: dict[uuid.UUID, GroupMeeting] = {}
    present: dict[uuid.UUID, bool] = {}
    if meeting_ids:
        meetings = {
            m.id: m
            for m in db.session.scalars(
                select(GroupMeeting).where(GroupMeeting.id.in_(meeting_ids))
            )
        }
        # The subject's own attendance only: who else came is the others' business.
        present = dict(
            db.session.execute(
                select(GroupMeetingAttendance.meeting_id, GroupMeetingAttendance.present).where(
                    GroupMeetingAttendance.meeting_id.in_(meeting_ids),
                    GroupMeetingAttendance.user_id == subject.id,
                )
            ).all()
        )
    packed = []
    for trajectory in trajectories:
        definition = trajectory.template_version.content
        relations = _relations(trajectory, subject, audience)
        steps = steps_of[trajectory.id]
        values = readable_values(definition, steps, relations)
        step_rows = []
        for step in steps:
            spec = definition.step(step.step_key)
            if spec is None:
                continue
            texts_readable = may_read_step_texts(spec, relations)
            meeting = meetings.get(step.group_meeting_id) if step.group_meeting_id else None
            step_rows.append(
                {
                    "id": str(step.id),
                    "step": spec.name_in(locale, fallback),
                    "step_key": step.step_key,
                    "occurrence": step.occurrence,
                    "confidential": spec.confidential,
                    "state": step.state.value,
                    "due_on": _day(step.due_on),
                    "appointment": {
                        "starts_at": _moment(step.starts_at),
                        "ends_at": _moment(step.ends_at),
                        "location": step.location if texts_readable else None,
                        "video_url": step.video_url if texts_readable else None,
                    }
                    if step.starts_at is not None
                    else None,
                    "skip_reason": step.skip_reason if texts_readable else None,
                    "completed_at": _moment(step.completed_at),
                    "present_roles": step.present_roles,
                    "group_meeting": {
                        "name": _text(meeting.name, locale, fallback),
                        "starts_at": _moment(meeting.starts_at),
                        "present": present.get(meeting.id),
                    }
                    if meeting is not None
                    else None,
                    "answers": [
                        {
                            "field": key,
                            "label": _field_label(definition, step.step_key, key, locale),
                            "value": value,
                        }
                        for key, value in sorted(values.get(step.id, {}).items())
                    ],
                }
            )
        goals_readable = may_read_goals(definition, relations)
        words_readable = may_read_results(definition, relations)
        packed.append(
            {
                "id": str(trajectory.id),
                "training": trajectory.edition.training.title,
                "edition": trajectory.edition.name,
                "starts_on": _day(trajectory.edition.starts_on),
                "ends_on": _day(trajectory.edition.ends_on),
                "status": trajectory.status.value,
                "started_at": _moment(trajectory.created_at),
                "completed_at": _moment(trajectory.completed_at),
                "restricted_at": _moment(trajectory.restricted_at),
                "restriction_reason": trajectory.restriction_reason or None,
                "coach": trajectory.coach.name if trajectory.coach is not None else None,
                "coaches": coaches_of[trajectory.id],
                "process_template_version": trajectory.template_version.number,
                "learning_goals": [
                    {
                        "title": goal.title,
                        "description": goal.description if own_notes else None,
                        "organisation_goals": sorted(links[goal.id]),
                    }
                    for goal in goals_of[trajectory.id]
                ]
                if goals_readable
                else [],
                "expected_results": [
                    {
                        "observable": result.observable if words_readable else None,
                        "contribution": result.contribution if words_readable else None,
                        "ratings": [
                            {
                                "moment": rating.moment,
                                "rater_role": rating.rater_role,
                                "level": rating.level.value,
                                "example": rating.example if words_readable else None,
                                "contribution_done": rating.contribution_done,
                                "rated_at": _moment(rating.rated_at),
                            }
                            for rating in ratings_of[result.id]
                        ],
                    }
                    for result in results_of[trajectory.id]
                ],
                "steps": step_rows,
            }
        )
    return packed


def _written_elsewhere(
    subject: User, audience: Audience, locale: str, fallback: str
) -> list[dict[str, Any]]:
    """What the subject recorded in other people's trajectories (as coach, manager, trainer),
    as far as the package's reader may read it there now."""
    rows = db.session.execute(
        select(FieldValue, StepInstance)
        .join(StepInstance, StepInstance.id == FieldValue.step_instance_id)
        .join(Trajectory, Trajectory.id == StepInstance.trajectory_id)
        .where(FieldValue.updated_by_id == subject.id, Trajectory.learner_id != subject.id)
        .order_by(FieldValue.updated_at)
    ).all()
    if not rows:
        return []
    trajectories = {
        t.id: t for t in _trajectories(Trajectory.id.in_({step.trajectory_id for _, step in rows}))
    }
    written = []
    for value, step in rows:
        trajectory = trajectories[step.trajectory_id]
        definition = trajectory.template_version.content
        relations = _relations(trajectory, subject, audience)
        readable = readable_values(definition, [step], relations).get(step.id, {})
        if value.field_key not in readable:
            continue
        spec = definition.step(step.step_key)
        written.append(
            {
                "trajectory": str(trajectory.id),
                "learner": trajectory.learner.name,
                "training": trajectory.edition.training.title,
                "step": spec.name_in(locale, fallback) if spec else step.step_key,
                "occurrence": step.occurrence,
                "confidential": bool(spec and spec.confidential),
                "field": value.field_key,
                "label": _field_label(definition, step.step_key, value.field_key, locale),
                "value": readable[value.field_key],
                "written_at": _moment(value.updated_at),
            }
        )
    return written


def _coaching(subject: User) -> dict[str, Any] | None:
    profile = db.session.scalar(select(CoachProfile).where(CoachProfile.user_id == subject.id))
    assignments = list(
        db.session.execute(
            select(CoachAssignment, Trajectory)
            .join(Trajectory, Trajectory.id == CoachAssignment.trajectory_id)
            .where(CoachAssignment.coach_id == subject.id)
            .options(joinedload(Trajectory.learner))
            .order_by(CoachAssignment.assigned_at)
        ).all()
    )
    days = list(
        db.session.execute(
            select(CoachDay, CoachDayAttendance.present)
            .join(CoachDayAttendance, CoachDayAttendance.coach_day_id == CoachDay.id)
            .where(CoachDayAttendance.coach_id == subject.id)
            .order_by(CoachDay.held_on)
        ).all()
    )
    if profile is None and not assignments and not days:
        return None
    return {
        "profile": {
            "capacity": profile.capacity,
            "trained_on": _day(profile.trained_on),
            "active": profile.active,
            "introduction": profile.introduction,
        }
        if profile is not None
        else None,
        "coached": [
            {
                "trajectory": str(trajectory.id),
                "learner": trajectory.learner.name,
                "from": _moment(assignment.assigned_at),
                "until": _moment(assignment.ended_at),
            }
            for assignment, trajectory in assignments
        ],
        "coach_days": [
            {"title": day.title, "held_on": _day(day.held_on), "present": was_there}
            for day, was_there in days
        ],
    }


def _sessions(subject: User) -> list[dict[str, Any]]:
    return [
        {
            "topic": session.topic,
            "starts_at": _moment(session.starts_at),
            "present": present,
        }
        for session, present in db.session.execute(
            select(EditionSession, SessionAttendance.present)
            .join(SessionAttendance, SessionAttendance.session_id == EditionSession.id)
            .where(SessionAttendance.learner_id == subject.id)
            .order_by(EditionSession.starts_at)
        ).all()
    ]


def _mails(subject: User, audience: Audience) -> list[dict[str, Any]]:
    """The mails to the subject (the outbox). What a mail said (its context) goes in the
    person's own package; the administrator's lists kind, state and dates."""
    own = audience is Audience.SELF
    return [
        {
            "kind": note.kind,
            "state": note.state.value,
            "due_at": _moment(note.due_at),
            "sent_at": _moment(note.sent_at),
            "content": note.context if own else None,
            "attachments": [a.get("filename") for a in note.attachments or []],
        }
        for note in db.session.scalars(
            select(Notification)
            .where(Notification.recipient_id == subject.id)
            .order_by(Notification.created_at)
        )
    ]


def _audit(subject: User, trajectory_ids: list[str]) -> list[dict[str, Any]]:
    """Entries by the subject, or about them: their user, or one of their own trajectories
    (e.g. who read the recorded answers in it), as the subject of the entry."""
    about = [(AuditEvent.subject_type == "user") & (AuditEvent.subject_id == str(subject.id))]
    if trajectory_ids:
        about.append(
            (AuditEvent.subject_type == "trajectory") & AuditEvent.subject_id.in_(trajectory_ids)
        )
    events = db.session.scalars(
        select(AuditEvent)
        .where(or_(AuditEvent.actor_id == subject.id, *about))
        .order_by(AuditEvent.occurred_at, AuditEvent.id)
    )
    return [
        {
            "occurred_at": _moment(event.occurred_at),
            "action": event.action,
            "label": action_label(event.action),
            "result": event.result,
            "actor": event.actor_label,
            "by_this_person": event.actor_id == subject.id,
            "subject_type": event.subject_type,
            "subject_id": event.subject_id,
            "details": event.details,
            "address": event.ip_address,
            "user_agent": event.user_agent,
        }
        for event in events
    ]
