"""Trajectories, their step instances and recorded values, learning goals, group meetings."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

from sqlalchemy import Date, Index, Integer, String, Text, UniqueConstraint, Uuid, and_, text
from sqlalchemy.orm import Mapped, foreign, mapped_column, relationship

from samenleren.catalogue.models import Edition, Enrolment
from samenleren.core.db import JSONType, UTCDateTime, utcnow
from samenleren.core.extensions import db
from samenleren.core.tenancy import TenantScoped, tenant_foreign_key
from samenleren.identity.models import User, _enum
from samenleren.process_templates.models import TemplateVersion
from samenleren.tenants.models import OrganisationGoal


class TrajectoryStatus(enum.StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    WITHDRAWN = "withdrawn"


class StepState(enum.StrEnum):
    PLANNED = "planned"  #: has a due date, no appointment yet
    SCHEDULED = "scheduled"  #: date, time and place (or video link) agreed
    DONE = "done"
    SKIPPED = "skipped"  #: with a reason

    @property
    def is_open(self) -> bool:
        return self in {StepState.PLANNED, StepState.SCHEDULED}


class Trajectory(TenantScoped, db.Model):
    """One learner's path through one edition, on the template version it started with."""

    __tablename__ = "trajectories"
    __table_args__ = (
        UniqueConstraint("tenant_id", "enrolment_id"),
        tenant_foreign_key("learner_id", "users"),
        tenant_foreign_key("coach_id", "users"),
        tenant_foreign_key("edition_id", "editions"),
        tenant_foreign_key("enrolment_id", "enrolments"),
        tenant_foreign_key("template_version_id", "template_versions"),
        tenant_foreign_key("restricted_by_id", "users"),
        Index("ix_trajectories_tenant_id_learner_id", "tenant_id", "learner_id"),
        Index("ix_trajectories_tenant_id_coach_id", "tenant_id", "coach_id"),
        Index("ix_trajectories_tenant_id_edition_id", "tenant_id", "edition_id"),
    )

    learner_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    coach_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    edition_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    enrolment_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    #: A trajectory keeps the version it started on; only one in which nothing has happened yet
    #: may move to a newer version of the same template (`process_templates.moving`).
    template_version_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    status: Mapped[TrajectoryStatus] = mapped_column(
        _enum(TrajectoryStatus, 10), default=TrajectoryStatus.ACTIVE
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: Restricted from further processing (AVG art. 18) since then, by a programme admin
    #: (`privacy.restriction`): no step changes, no reminders, no mails, until lifted.
    restricted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    restricted_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    #: Why, as the admin wrote it (shown to those who see the trajectory, and audited).
    restriction_reason: Mapped[str] = mapped_column(Text, default="", server_default="")

    @property
    def restricted(self) -> bool:
        return self.restricted_at is not None

    learner: Mapped[User] = relationship(
        primaryjoin=lambda: and_(
            Trajectory.tenant_id == User.tenant_id, foreign(Trajectory.learner_id) == User.id
        ),
    )
    coach: Mapped[User | None] = relationship(
        primaryjoin=lambda: and_(
            Trajectory.tenant_id == User.tenant_id, foreign(Trajectory.coach_id) == User.id
        ),
    )
    edition: Mapped[Edition] = relationship(
        primaryjoin=lambda: and_(
            Trajectory.tenant_id == Edition.tenant_id, foreign(Trajectory.edition_id) == Edition.id
        ),
    )
    enrolment: Mapped[Enrolment] = relationship(
        primaryjoin=lambda: and_(
            Trajectory.tenant_id == Enrolment.tenant_id,
            foreign(Trajectory.enrolment_id) == Enrolment.id,
        ),
    )
    template_version: Mapped[TemplateVersion] = relationship(
        primaryjoin=lambda: and_(
            Trajectory.tenant_id == TemplateVersion.tenant_id,
            foreign(Trajectory.template_version_id) == TemplateVersion.id,
        ),
    )
    steps: Mapped[list[StepInstance]] = relationship(
        primaryjoin=lambda: and_(
            Trajectory.tenant_id == StepInstance.tenant_id,
            Trajectory.id == foreign(StepInstance.trajectory_id),
        ),
        order_by=lambda: (StepInstance.position, StepInstance.occurrence),
        viewonly=True,
    )
    goals: Mapped[list[LearningGoal]] = relationship(
        primaryjoin=lambda: and_(
            Trajectory.tenant_id == LearningGoal.tenant_id,
            Trajectory.id == foreign(LearningGoal.trajectory_id),
        ),
        order_by=lambda: LearningGoal.position,
        viewonly=True,
    )


class CoachAssignment(TenantScoped, db.Model):
    """The history of a trajectory's coach: who, since when, chosen how, and why changed."""

    __tablename__ = "coach_assignments"
    __table_args__ = (
        tenant_foreign_key("trajectory_id", "trajectories", ondelete="CASCADE"),
        tenant_foreign_key("coach_id", "users"),
        tenant_foreign_key("assigned_by_id", "users"),
        Index("ix_coach_assignments_tenant_id_trajectory_id", "tenant_id", "trajectory_id"),
    )

    trajectory_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    coach_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    assigned_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    #: Why the previous coach was replaced (empty for the first assignment).
    reason: Mapped[str] = mapped_column(Text, default="")
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    coach: Mapped[User] = relationship(
        primaryjoin=lambda: and_(
            CoachAssignment.tenant_id == User.tenant_id,
            foreign(CoachAssignment.coach_id) == User.id,
        ),
    )
    assigned_by: Mapped[User | None] = relationship(
        primaryjoin=lambda: and_(
            CoachAssignment.tenant_id == User.tenant_id,
            foreign(CoachAssignment.assigned_by_id) == User.id,
        ),
    )


class GroupMeetingState(enum.StrEnum):
    PLANNED = "planned"
    SCHEDULED = "scheduled"
    DONE = "done"


class GroupMeeting(TenantScoped, db.Model):
    """A group step (consolidation meeting, return day) held once for an edition's group."""

    __tablename__ = "group_meetings"
    __table_args__ = (
        UniqueConstraint("tenant_id", "edition_id", "step_key"),
        tenant_foreign_key("edition_id", "editions", ondelete="CASCADE"),
    )

    edition_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    #: The template step this meeting holds (same key in every trajectory of the edition).
    step_key: Mapped[str] = mapped_column(String(40))
    #: {"nl": ..., "en": ...}: the step's name when the meeting was created.
    name: Mapped[dict] = mapped_column(JSONType)
    due_on: Mapped[date] = mapped_column(Date)
    state: Mapped[GroupMeetingState] = mapped_column(
        _enum(GroupMeetingState, 10), default=GroupMeetingState.PLANNED
    )
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    location: Mapped[str] = mapped_column(String(300), default="")
    video_url: Mapped[str] = mapped_column(String(500), default="")
    #: What the group shared: readable by the group, its trainer and coaches (no personal notes).
    outcome: Mapped[str] = mapped_column(Text, default="")
    held_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: SEQUENCE of its calendar event (samenleren.calendars); None: no event issued yet.
    calendar_sequence: Mapped[int | None] = mapped_column(Integer, nullable=True)

    edition: Mapped[Edition] = relationship(
        primaryjoin=lambda: and_(
            GroupMeeting.tenant_id == Edition.tenant_id,
            foreign(GroupMeeting.edition_id) == Edition.id,
        ),
    )

    def name_in(self, locale: str, fallback: str = "nl") -> str:
        return self.name.get(locale) or self.name.get(fallback) or self.step_key


class GroupMeetingAttendance(TenantScoped, db.Model):
    __tablename__ = "group_meeting_attendances"
    __table_args__ = (
        UniqueConstraint("tenant_id", "meeting_id", "user_id"),
        tenant_foreign_key("meeting_id", "group_meetings", ondelete="CASCADE"),
        tenant_foreign_key("user_id", "users", ondelete="CASCADE"),
    )

    meeting_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    present: Mapped[bool] = mapped_column()


class StepInstance(TenantScoped, db.Model):
    """One step of one trajectory (one occurrence of a repeating step)."""

    __tablename__ = "step_instances"
    __table_args__ = (
        UniqueConstraint("tenant_id", "trajectory_id", "step_key", "occurrence"),
        tenant_foreign_key("trajectory_id", "trajectories", ondelete="CASCADE"),
        tenant_foreign_key("group_meeting_id", "group_meetings"),
        tenant_foreign_key("completed_by_id", "users"),
        Index("ix_step_instances_tenant_id_state_due_on", "tenant_id", "state", "due_on"),
        #: The programme's worklist: conversations completed in the last weeks.
        Index("ix_step_instances_tenant_id_completed_at", "tenant_id", "completed_at"),
        # Open steps oldest first (the programme's overdue list stops after its first rows).
        Index(
            "ix_step_instances_tenant_id_open_due_on",
            "tenant_id",
            "due_on",
            postgresql_where=text("state IN ('planned', 'scheduled')"),
            sqlite_where=text("state IN ('planned', 'scheduled')"),
        ),
    )

    trajectory_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    step_key: Mapped[str] = mapped_column(String(40))
    #: The step's place in the template, kept to order without parsing the template.
    position: Mapped[int] = mapped_column(Integer)
    #: 1, 2, ... for steps that repeat (progress conversations).
    occurrence: Mapped[int] = mapped_column(Integer, default=1)
    due_on: Mapped[date] = mapped_column(Date)
    state: Mapped[StepState] = mapped_column(_enum(StepState, 10), default=StepState.PLANNED)
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    location: Mapped[str] = mapped_column(String(300), default="")
    video_url: Mapped[str] = mapped_column(String(500), default="")
    skip_reason: Mapped[str] = mapped_column(Text, default="")
    #: Set for group steps: the edition's meeting this step is held in.
    group_meeting_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    completed_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    #: SEQUENCE of its calendar event (samenleren.calendars); None: no event issued yet.
    calendar_sequence: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: A conversation's participants (roles) who took part, recorded when it was closed;
    #: None: not recorded (not a conversation, or closed before this was asked).
    present_roles: Mapped[list[str] | None] = mapped_column(JSONType, nullable=True)

    trajectory: Mapped[Trajectory] = relationship(
        primaryjoin=lambda: and_(
            StepInstance.tenant_id == Trajectory.tenant_id,
            foreign(StepInstance.trajectory_id) == Trajectory.id,
        ),
    )
    group_meeting: Mapped[GroupMeeting | None] = relationship(
        primaryjoin=lambda: and_(
            StepInstance.tenant_id == GroupMeeting.tenant_id,
            foreign(StepInstance.group_meeting_id) == GroupMeeting.id,
        ),
    )

    def is_overdue(self, today: date) -> bool:
        return self.state.is_open and self.due_on < today


class FieldValue(TenantScoped, db.Model):
    """The value of one template field in one step instance. Never read outside the
    confidentiality service (`samenleren.trajectories.confidentiality`)."""

    __tablename__ = "field_values"
    __table_args__ = (
        UniqueConstraint("tenant_id", "step_instance_id", "field_key"),
        tenant_foreign_key("step_instance_id", "step_instances", ondelete="CASCADE"),
        tenant_foreign_key("updated_by_id", "users"),
    )

    step_instance_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    field_key: Mapped[str] = mapped_column(String(40))
    #: Typed by the field: str, int (rating), bool, ISO date, choice key, or {goal id: value}.
    value: Mapped[object] = mapped_column(JSONType)
    updated_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class LearningGoal(TenantScoped, db.Model):
    """A goal of the learner in one trajectory, tied to organisation goals (seed goal 1)."""

    __tablename__ = "learning_goals"
    __table_args__ = (
        tenant_foreign_key("trajectory_id", "trajectories", ondelete="CASCADE"),
        Index("ix_learning_goals_tenant_id_trajectory_id", "tenant_id", "trajectory_id"),
    )

    trajectory_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    organisation_goals: Mapped[list[OrganisationGoal]] = relationship(
        secondary="learning_goal_links",
        primaryjoin="and_(LearningGoal.tenant_id == LearningGoalLink.tenant_id, "
        "LearningGoal.id == LearningGoalLink.learning_goal_id)",
        secondaryjoin="and_(LearningGoalLink.tenant_id == OrganisationGoal.tenant_id, "
        "LearningGoalLink.organisation_goal_id == OrganisationGoal.id)",
        order_by=lambda: OrganisationGoal.position,
        viewonly=True,
    )


class LearningGoalLink(TenantScoped, db.Model):
    __tablename__ = "learning_goal_links"
    __table_args__ = (
        UniqueConstraint("tenant_id", "learning_goal_id", "organisation_goal_id"),
        tenant_foreign_key("learning_goal_id", "learning_goals", ondelete="CASCADE"),
        tenant_foreign_key("organisation_goal_id", "organisation_goals"),
    )

    learning_goal_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    organisation_goal_id: Mapped[uuid.UUID] = mapped_column(Uuid)


class ResultLevel(enum.StrEnum):
    """How far an expected result shows at work, as the learner or the manager sees it."""

    NOT_YET = "not_yet"
    PARTLY = "partly"
    APPLIED = "applied"  #: applied in the work
    EXCEEDED = "exceeded"

    @property
    def transferred(self) -> bool:
        """Counts as transfer: the result shows in the work."""
        return self in {ResultLevel.APPLIED, ResultLevel.EXCEEDED}


class ExpectedResult(TenantScoped, db.Model):
    """What the manager expects a trajectory to deliver at work, set at the intake: tied to one
    of the learner's learning goals (and through it to organisation goals), rated again later
    by learner and manager (`ResultRating`)."""

    __tablename__ = "expected_results"
    __table_args__ = (
        tenant_foreign_key("trajectory_id", "trajectories", ondelete="CASCADE"),
        tenant_foreign_key("learning_goal_id", "learning_goals", ondelete="CASCADE"),
        tenant_foreign_key("created_by_id", "users"),
        Index("ix_expected_results_tenant_id_trajectory_id", "tenant_id", "trajectory_id"),
    )

    trajectory_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    learning_goal_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    position: Mapped[int] = mapped_column(Integer, default=0)
    #: "What will we see at work when this worked?"
    observable: Mapped[str] = mapped_column(Text)
    #: What the manager will contribute to it.
    contribution: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    learning_goal: Mapped[LearningGoal] = relationship(
        primaryjoin=lambda: and_(
            ExpectedResult.tenant_id == LearningGoal.tenant_id,
            foreign(ExpectedResult.learning_goal_id) == LearningGoal.id,
        ),
    )


class ResultRating(TenantScoped, db.Model):
    """One rater's rating of one expected result at one moment (the template's result-rating
    field of that moment). The learner and the manager each give their own."""

    __tablename__ = "result_ratings"
    __table_args__ = (
        UniqueConstraint("tenant_id", "expected_result_id", "moment", "rater_role"),
        tenant_foreign_key("expected_result_id", "expected_results", ondelete="CASCADE"),
        tenant_foreign_key("step_instance_id", "step_instances", ondelete="CASCADE"),
        tenant_foreign_key("rater_id", "users"),
        Index("ix_result_ratings_tenant_id_step_instance_id", "tenant_id", "step_instance_id"),
    )

    expected_result_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    #: The step whose result-rating field asked for it.
    step_instance_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    #: A `process_templates.definition.RatingMoment` value.
    moment: Mapped[str] = mapped_column(String(20))
    #: "learner" or "manager": in which capacity it was given.
    rater_role: Mapped[str] = mapped_column(String(20))
    rater_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    level: Mapped[ResultLevel] = mapped_column(_enum(ResultLevel, 10))
    #: An optional example from the work (the rater's own words).
    example: Mapped[str] = mapped_column(Text, default="")
    #: The manager's own report: did they give the contribution they promised? (None: not said,
    #: and always None for the learner's rating.)
    contribution_done: Mapped[bool | None] = mapped_column(nullable=True)
    rated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
