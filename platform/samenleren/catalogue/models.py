"""The training catalogue: trainings, their editions and sessions, and who takes part."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

from sqlalchemy import Date, Index, Integer, String, Text, UniqueConstraint, Uuid, and_
from sqlalchemy.orm import Mapped, foreign, mapped_column, relationship

from samenleren.core.db import UTCDateTime, utcnow
from samenleren.core.extensions import db
from samenleren.core.tenancy import TenantScoped, tenant_foreign_key
from samenleren.identity.models import Department, User, _enum


class Training(TenantScoped, db.Model):
    """An internal course of the tenant, run in editions."""

    __tablename__ = "trainings"
    __table_args__ = (tenant_foreign_key("process_template_id", "process_templates"),)

    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    #: The training bureau or trainer that delivers it.
    provider: Mapped[str] = mapped_column(String(200), default="")
    #: Open to every employee, or only to the departments in `departments` (seed: per subject).
    open_to_all: Mapped[bool] = mapped_column(default=True)
    #: Places per edition unless the edition says otherwise; None: no limit.
    capacity: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: Withdrawn from the catalogue: kept for history, not offered.
    active: Mapped[bool] = mapped_column(default=True)
    #: The process template its trajectories follow; None: the tenant's default template.
    process_template_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    departments: Mapped[list[Department]] = relationship(
        secondary="training_departments",
        primaryjoin="and_(Training.tenant_id == TrainingDepartment.tenant_id, "
        "Training.id == TrainingDepartment.training_id)",
        secondaryjoin="and_(TrainingDepartment.tenant_id == Department.tenant_id, "
        "TrainingDepartment.department_id == Department.id)",
        viewonly=True,
        lazy="selectin",
    )


class TrainingDepartment(TenantScoped, db.Model):
    """A department a restricted training is open to."""

    __tablename__ = "training_departments"
    __table_args__ = (
        UniqueConstraint("tenant_id", "training_id", "department_id"),
        tenant_foreign_key("training_id", "trainings", ondelete="CASCADE"),
        tenant_foreign_key("department_id", "departments", ondelete="CASCADE"),
    )

    training_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    department_id: Mapped[uuid.UUID] = mapped_column(Uuid)


class Edition(TenantScoped, db.Model):
    """One run of a training: dates, a place, a trainer and a group of learners."""

    __tablename__ = "editions"
    __table_args__ = (
        tenant_foreign_key("training_id", "trainings", ondelete="CASCADE"),
        tenant_foreign_key("trainer_id", "users"),
        tenant_foreign_key("process_template_id", "process_templates"),
        Index("ix_editions_tenant_id_training_id", "tenant_id", "training_id"),
        Index("ix_editions_tenant_id_trainer_id", "tenant_id", "trainer_id"),
    )

    training_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    #: e.g. "Voorjaar 2027" — tells editions of one training apart.
    name: Mapped[str] = mapped_column(String(200))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    location: Mapped[str] = mapped_column(String(300), default="")
    trainer_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    #: None: the training's capacity applies.
    capacity: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: The process template of this edition's trajectories; None: the training's (or default).
    process_template_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    #: The fewest learners the edition goes ahead with; None: no minimum. An edition that starts
    #: soon with fewer is on the programme administrator's worklist.
    minimum: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: The last day employees can apply; None: until the day before it starts.
    apply_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    cancelled: Mapped[bool] = mapped_column(default=False)
    #: What the edition costs, in euro cents, whatever the number of learners (trainer's fee,
    #: venue); committed in the budget once the edition is planned.
    cost_fixed_cents: Mapped[int] = mapped_column(Integer, default=0)
    #: What each enrolled learner adds, in euro cents (materials, a place at a provider).
    cost_per_participant_cents: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    training: Mapped[Training] = relationship(
        primaryjoin=lambda: and_(
            Edition.tenant_id == Training.tenant_id, foreign(Edition.training_id) == Training.id
        ),
    )
    trainer: Mapped[User | None] = relationship(
        primaryjoin=lambda: and_(
            Edition.tenant_id == User.tenant_id, foreign(Edition.trainer_id) == User.id
        ),
    )
    sessions: Mapped[list[EditionSession]] = relationship(
        primaryjoin=lambda: and_(
            Edition.tenant_id == EditionSession.tenant_id,
            Edition.id == foreign(EditionSession.edition_id),
        ),
        order_by=lambda: EditionSession.starts_at,
        viewonly=True,
    )

    @property
    def places(self) -> int | None:
        return self.capacity if self.capacity is not None else self.training.capacity


class EditionSession(TenantScoped, db.Model):
    """One session (day or part of a day) of an edition's training (step 3)."""

    __tablename__ = "edition_sessions"
    __table_args__ = (
        tenant_foreign_key("edition_id", "editions", ondelete="CASCADE"),
        Index("ix_edition_sessions_tenant_id_edition_id", "tenant_id", "edition_id"),
    )

    edition_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    location: Mapped[str] = mapped_column(String(300), default="")
    topic: Mapped[str] = mapped_column(String(300), default="")


class SessionAttendance(TenantScoped, db.Model):
    """Whether a learner attended one session; kept by the trainer or the programme admin."""

    __tablename__ = "session_attendances"
    __table_args__ = (
        UniqueConstraint("tenant_id", "session_id", "learner_id"),
        tenant_foreign_key("session_id", "edition_sessions", ondelete="CASCADE"),
        tenant_foreign_key("learner_id", "users", ondelete="CASCADE"),
    )

    session_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    learner_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    present: Mapped[bool] = mapped_column()
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class EnrolmentStatus(enum.StrEnum):
    #: The employee asked to take part; the programme admin decides.
    APPLIED = "applied"
    #: Has a place; a trajectory runs.
    ENROLLED = "enrolled"
    #: The edition was full; first in line gets the next free place.
    WAITLISTED = "waitlisted"
    WITHDRAWN = "withdrawn"
    DECLINED = "declined"


class ManagerApproval(enum.StrEnum):
    """The manager's answer to an application, when the edition's process template asks for
    it (`application.manager_approval`)."""

    #: Waiting for the manager.
    PENDING = "pending"
    APPROVED = "approved"
    #: The manager wants to talk it over with the employee first.
    DISCUSS = "discuss"


class Enrolment(TenantScoped, db.Model):
    """An employee's place (or wish for one) in an edition."""

    __tablename__ = "enrolments"
    __table_args__ = (
        UniqueConstraint("tenant_id", "edition_id", "learner_id"),
        tenant_foreign_key("edition_id", "editions", ondelete="CASCADE"),
        tenant_foreign_key("learner_id", "users", ondelete="CASCADE"),
        Index("ix_enrolments_tenant_id_learner_id", "tenant_id", "learner_id"),
    )

    edition_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    learner_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    status: Mapped[EnrolmentStatus] = mapped_column(_enum(EnrolmentStatus, 12))
    #: The learner's motivation when applying.
    motivation: Mapped[str] = mapped_column(Text, default="")
    #: Why the admin withdrew or declined, shown to the learner.
    reason: Mapped[str] = mapped_column(Text, default="")
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Set on enrolment; the trajectory's "enrolment" anchor.
    enrolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    #: The manager's answer to the application; None when the template does not ask for one.
    manager_approval: Mapped[ManagerApproval | None] = mapped_column(
        _enum(ManagerApproval, 12), nullable=True
    )
    manager_answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    edition: Mapped[Edition] = relationship(
        primaryjoin=lambda: and_(
            Enrolment.tenant_id == Edition.tenant_id, foreign(Enrolment.edition_id) == Edition.id
        ),
    )
    learner: Mapped[User] = relationship(
        primaryjoin=lambda: and_(
            Enrolment.tenant_id == User.tenant_id, foreign(Enrolment.learner_id) == User.id
        ),
    )
    #: The trajectory the enrolment started, if any. Named by string: trajectories own it and sit
    #: above the catalogue, which never imports them.
    trajectory: Mapped[Trajectory | None] = relationship(  # noqa: F821 (resolved by name)
        "Trajectory",
        primaryjoin="and_(Trajectory.tenant_id == Enrolment.tenant_id, "
        "foreign(Trajectory.enrolment_id) == Enrolment.id)",
        uselist=False,
        viewonly=True,
    )


def process_template_of(edition: Edition) -> uuid.UUID | None:
    """The template the edition's trajectories follow: the edition's own, else the training's;
    None: the tenant's default template."""
    return edition.process_template_id or edition.training.process_template_id
