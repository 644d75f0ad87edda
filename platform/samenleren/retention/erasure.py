"""Applying the tenant's retention periods: what the nightly job does, one step per kind.

Every step works in the current tenant only (the job runs in it; the ORM's tenant filter and
RLS apply) and skips whatever is on legal hold (`holds.held`). Nothing is removed that belongs
to someone else: anonymising a person touches their own row, their own trajectories (as
learner) and the mails to them; a group meeting's or coach day's record, another learner's
trajectory and the trajectories a departed coach coached stay as they are. The rows the
programme report counts (trajectories, steps, attendance, rating levels) stay too: only names,
addresses and words are removed.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from dateutil.relativedelta import relativedelta
from flask_babel import gettext
from sqlalchemy import and_, delete, func, or_, select, update

from samenleren.audit.events import AuditAction
from samenleren.audit.models import AuditEvent
from samenleren.audit.pruning import prune_before
from samenleren.audit.services import record
from samenleren.audit.verification import verify_tenant
from samenleren.catalogue.models import Enrolment
from samenleren.coaching.models import CoachProfile
from samenleren.core.db import rowcount, utcnow
from samenleren.core.extensions import db
from samenleren.exports.models import Export, ExportState
from samenleren.identity.models import LoginSession, SignInLink, User
from samenleren.notifications.models import Notification, NotificationState
from samenleren.process_templates.definition import FieldType, TemplateDefinition
from samenleren.process_templates.models import TemplateVersion
from samenleren.retention.holds import Held, held
from samenleren.retention.models import Departure
from samenleren.retention.policy import periods
from samenleren.trajectories.models import (
    ExpectedResult,
    FieldValue,
    LearningGoal,
    ResultRating,
    StepInstance,
    Trajectory,
    TrajectoryStatus,
)

log = logging.getLogger(__name__)

#: Field types whose values are someone's own words (removed when anonymising).
FREE_TEXT = frozenset({FieldType.TEXT, FieldType.LONG_TEXT})
#: Mails still to go out are never removed.
FINISHED_MAILS = (
    NotificationState.SENT,
    NotificationState.FAILED,
    NotificationState.CANCELLED,
    NotificationState.BUNDLED,
)


@dataclass
class Outcome:
    """What one run removed, as counts (the audit event's details; never a name)."""

    anonymised: int = 0
    notes_deleted: int = 0
    mails_deleted: int = 0
    audit_events_removed: int = 0
    exports_expired: int = 0
    #: Set when the audit chain was found broken: nothing of the log is then removed.
    audit_chain_broken: bool = False
    anonymised_ids: list[uuid.UUID] = field(default_factory=list)

    def counts(self) -> dict[str, int | bool]:
        return {
            "anonymised": self.anonymised,
            "notes_deleted": self.notes_deleted,
            "mails_deleted": self.mails_deleted,
            "audit_events_removed": self.audit_events_removed,
            "exports_expired": self.exports_expired,
            "audit_chain_broken": self.audit_chain_broken,
        }


def apply_retention(now: datetime | None = None) -> Outcome:
    """Apply every retention period of the current tenant (flushes; the caller commits)."""
    now = now or utcnow()
    months = periods()
    on_hold = held()
    outcome = Outcome()
    record_departures()
    outcome.anonymised_ids = anonymise_departed(
        now - relativedelta(months=months["trajectory_records"]), on_hold
    )
    outcome.anonymised = len(outcome.anonymised_ids)
    outcome.notes_deleted = delete_coaching_notes(
        now - relativedelta(months=months["coaching_notes"]), on_hold
    )
    outcome.mails_deleted = delete_mails(now - relativedelta(months=months["mails"]), on_hold)
    outcome.exports_expired = expire_exports(now - relativedelta(days=months["exports"]))
    removed = prune_audit_log(now - relativedelta(months=months["audit_log"]), on_hold)
    if removed is None:
        outcome.audit_chain_broken = True
    else:
        outcome.audit_events_removed = removed
    if any(value for value in outcome.counts().values()):
        record(AuditAction.RETENTION_APPLIED, details=outcome.counts())
    db.session.flush()
    return outcome


# --- who left, and when ------------------------------------------------------------------------


def note_departure(user: User) -> None:
    """`user` lost access now: the retention clock of their records starts (again)."""
    departure = db.session.scalar(select(Departure).where(Departure.user_id == user.id))
    if departure is None:
        db.session.add(Departure(user_id=user.id, left_at=utcnow()))
    elif departure.anonymised_at is None:
        departure.left_at = utcnow()
    db.session.flush()


def record_departures() -> int:
    """Deactivated users without a departure (deactivated before departures were kept): their
    clock starts at the last change of their row, the latest moment they can have left."""
    rows = db.session.execute(
        select(User.id, func.coalesce(User.scim_removed_at, User.updated_at, User.created_at))
        .outerjoin(
            Departure, and_(Departure.tenant_id == User.tenant_id, Departure.user_id == User.id)
        )
        .where(User.active.is_(False), Departure.id.is_(None))
    ).all()
    for user_id, moment in rows:
        db.session.add(Departure(user_id=user_id, left_at=moment))
    db.session.flush()
    return len(rows)


# --- anonymising employees who left ------------------------------------------------------------


def _definitions(version_ids: set[uuid.UUID]) -> dict[uuid.UUID, TemplateDefinition]:
    if not version_ids:
        return {}
    versions = db.session.scalars(
        select(TemplateVersion).where(TemplateVersion.id.in_(list(version_ids)))
    )
    return {version.id: version.content for version in versions}


def anonymise_departed(cutoff: datetime, on_hold: Held) -> list[uuid.UUID]:
    """Anonymise everyone who left before `cutoff`, is still inactive and not on hold."""
    candidates = db.session.scalars(
        select(User)
        .join(Departure, and_(Departure.tenant_id == User.tenant_id, Departure.user_id == User.id))
        .where(
            User.active.is_(False),
            Departure.left_at < cutoff,
            Departure.anonymised_at.is_(None),
        )
    ).all()
    done = []
    for user in candidates:
        if on_hold.person(user.id):
            continue
        anonymise_user(user, on_hold)
        done.append(user.id)
    return done


def anonymise_user(user: User, on_hold: Held) -> None:
    """Remove who `user` was and what they wrote in their own trajectories; keep the rows the
    programme counts. Their trajectories on hold keep everything."""
    user_id = user.id
    user.name = gettext("Former employee")
    user.email = None
    user.employee_number = None
    user.subject = f"anonymised:{user_id}"
    user.issuer = None
    user.idp_tenant_id = None
    user.idp_object_id = None
    user.external_id = None
    user.scim_attributes = {}
    user.manager_id = None
    user.locale = None
    db.session.execute(
        update(CoachProfile).where(CoachProfile.user_id == user_id).values(introduction="")
    )
    db.session.execute(delete(Notification).where(Notification.recipient_id == user_id))
    db.session.execute(delete(SignInLink).where(SignInLink.user_id == user_id))
    db.session.execute(delete(LoginSession).where(LoginSession.user_id == user_id))
    db.session.execute(
        update(Enrolment).where(Enrolment.learner_id == user_id).values(motivation="", reason="")
    )
    trajectories = db.session.execute(
        select(Trajectory.id, Trajectory.template_version_id).where(
            Trajectory.learner_id == user_id
        )
    ).all()
    own = [tid for tid, _version in trajectories if tid not in on_hold.trajectories]
    if own:
        _erase_words(own, {version for tid, version in trajectories if tid in own})
    db.session.execute(
        update(Departure).where(Departure.user_id == user_id).values(anonymised_at=utcnow())
    )
    record(
        AuditAction.USER_ANONYMISED,
        subject_type="user",
        subject_id=user_id,
    )
    db.session.flush()


def _erase_words(trajectory_ids: list[uuid.UUID], version_ids: set[uuid.UUID]) -> None:
    """The words in these trajectories (goals, expected results, examples, free-text answers,
    where a step took place); ratings, states and dates stay for the report."""
    db.session.execute(
        update(LearningGoal)
        .where(LearningGoal.trajectory_id.in_(trajectory_ids))
        .values(title="—", description="")
    )
    results = select(ExpectedResult.id).where(ExpectedResult.trajectory_id.in_(trajectory_ids))
    db.session.execute(
        update(ExpectedResult)
        .where(ExpectedResult.trajectory_id.in_(trajectory_ids))
        .values(observable="—", contribution="")
    )
    db.session.execute(
        update(ResultRating)
        .where(ResultRating.expected_result_id.in_(results.scalar_subquery()))
        .values(example="")
    )
    # A step of a group meeting keeps its place: the meeting belongs to the whole group.
    db.session.execute(
        update(StepInstance)
        .where(
            StepInstance.trajectory_id.in_(trajectory_ids),
            StepInstance.group_meeting_id.is_(None),
        )
        .values(location="", video_url="", skip_reason="")
    )
    definitions = _definitions(version_ids)
    rows = db.session.execute(
        select(
            FieldValue.id,
            FieldValue.field_key,
            StepInstance.step_key,
            Trajectory.template_version_id,
        )
        .join(
            StepInstance,
            and_(
                StepInstance.tenant_id == FieldValue.tenant_id,
                StepInstance.id == FieldValue.step_instance_id,
            ),
        )
        .join(
            Trajectory,
            and_(
                Trajectory.tenant_id == StepInstance.tenant_id,
                Trajectory.id == StepInstance.trajectory_id,
            ),
        )
        .where(StepInstance.trajectory_id.in_(trajectory_ids))
    ).all()
    words = []
    for value_id, field_key, step_key, version_id in rows:
        step = definitions[version_id].step(step_key) if version_id in definitions else None
        spec = step.field(field_key) if step is not None else None
        if spec is not None and spec.type in FREE_TEXT:
            words.append(value_id)
    if words:
        db.session.execute(delete(FieldValue).where(FieldValue.id.in_(words)))


# --- confidential coaching notes ---------------------------------------------------------------


def delete_coaching_notes(cutoff: datetime, on_hold: Held) -> int:
    """Delete what was recorded in confidential steps of trajectories that ended before
    `cutoff` (completed, or withdrawn: the enrolment's last change), unless the trajectory, its
    learner or its coach is on hold. Returns the values deleted."""
    ended = func.coalesce(Trajectory.completed_at, Enrolment.changed_at)
    trajectories = db.session.execute(
        select(
            Trajectory.id,
            Trajectory.learner_id,
            Trajectory.coach_id,
            Trajectory.template_version_id,
        )
        .join(
            Enrolment,
            and_(
                Enrolment.tenant_id == Trajectory.tenant_id, Enrolment.id == Trajectory.enrolment_id
            ),
        )
        .where(
            Trajectory.status.in_([TrajectoryStatus.COMPLETED, TrajectoryStatus.WITHDRAWN]),
            ended < cutoff,
        )
    ).all()
    chosen = {
        tid: version
        for tid, learner, coach, version in trajectories
        if tid not in on_hold.trajectories
        and not on_hold.person(learner)
        and (coach is None or coach not in on_hold.people)
    }
    if not chosen:
        return 0
    definitions = _definitions(set(chosen.values()))
    steps = db.session.execute(
        select(StepInstance.id, StepInstance.step_key, StepInstance.trajectory_id).where(
            StepInstance.trajectory_id.in_(list(chosen))
        )
    ).all()
    confidential = []
    for step_id, step_key, trajectory_id in steps:
        spec = definitions[chosen[trajectory_id]].step(step_key)
        if spec is not None and spec.confidential:
            confidential.append(step_id)
    if not confidential:
        return 0
    deleted = rowcount(
        db.session.execute(delete(FieldValue).where(FieldValue.step_instance_id.in_(confidential)))
    )
    db.session.execute(
        update(StepInstance)
        .where(StepInstance.id.in_(confidential), StepInstance.group_meeting_id.is_(None))
        .values(location="", video_url="", skip_reason="")
    )
    return deleted


# --- mails, exports ----------------------------------------------------------------------------


def delete_mails(cutoff: datetime, on_hold: Held) -> int:
    """Delete the outbox rows of mails that went out (or were given up) before `cutoff`."""
    query = delete(Notification).where(
        Notification.state.in_(FINISHED_MAILS),
        func.coalesce(Notification.sent_at, Notification.created_at) < cutoff,
    )
    if on_hold.people or on_hold.learners_of_trajectories:
        query = query.where(
            Notification.recipient_id.not_in(
                list(on_hold.people | on_hold.learners_of_trajectories)
            )
        )
    return rowcount(db.session.execute(query))


def expire_exports(cutoff: datetime) -> int:
    """Remove the files of exports finished before `cutoff` (whatever expiry they were given)."""
    return rowcount(
        db.session.execute(
            update(Export)
            .where(Export.content.is_not(None), Export.finished_at < cutoff)
            .values(state=ExportState.EXPIRED, content=None)
        )
    )


# --- the audit log -----------------------------------------------------------------------------


def prune_audit_log(cutoff: datetime, on_hold: Held) -> int | None:
    """Remove the audit events older than `cutoff`, after verifying the chain (None: the chain
    is broken, nothing is removed so the evidence stays). An event naming someone or something
    on hold stays, and so does everything after it (only a prefix of the chain can go)."""
    report, _stored = verify_tenant()
    if not report.ok:
        log.error("retention: audit chain broken at %s; nothing removed", report.broken_sequence)
        return None
    keep_from = None
    names = [str(i) for i in on_hold.people | on_hold.trajectories]
    if names:
        actor_ids = list(on_hold.people)
        conditions = [AuditEvent.subject_id.in_(names)]
        if actor_ids:
            conditions.append(AuditEvent.actor_id.in_(actor_ids))
        keep_from = db.session.scalar(select(func.min(AuditEvent.sequence)).where(or_(*conditions)))
    return prune_before(cutoff, keep_from=keep_from)
