"""Build a tenant's programme for tests: people, a training with an edition, a running trajectory.

`build_world(tenant)` needs an app context with `tenant` active (see `in_tenant`). Every test
of the Flevoland model starts from it, so the people and their relations are the same
everywhere: the learner's manager, a coach from another department, the edition's trainer and a
programme admin.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import ClassVar

from flask import Flask

from samenleren.core.formatting import local_today
from tests.conftest import TenantRef


@contextmanager
def in_tenant(app: Flask, tenant: TenantRef) -> Iterator[None]:
    from samenleren.core.extensions import db
    from samenleren.core.tenancy import tenant_scope
    from samenleren.core.tenant import Tenant

    with app.app_context(), tenant_scope(db.session.get(Tenant, tenant.id)):
        yield


def get(model, object_id):
    """The active tenant's `model` row with this id (primary keys are (tenant_id, id))."""
    from sqlalchemy import select

    from samenleren.core.extensions import db

    return db.session.scalar(select(model).where(model.id == object_id))


def add_user(subject: str, *roles: str, name: str | None = None, **columns: object):
    """A user of the active tenant with app-given roles (flushed, not committed)."""
    from samenleren.core.extensions import db
    from samenleren.identity.models import Role, RoleAssignment, RoleSource, User

    user = User(
        subject=subject,
        name=name or subject.replace(".", " ").title(),
        email=f"{subject}@example.nl",
        **columns,
    )
    user.role_assignments = [RoleAssignment(role=Role(r), source=RoleSource.APP) for r in roles]
    db.session.add(user)
    db.session.flush()
    return user


def add_coach(subject: str, *, capacity: int = 3, department=None, name: str | None = None):
    from samenleren.coaching.models import CoachProfile
    from samenleren.core.extensions import db

    user = add_user(
        subject, "coach", name=name, department_id=department.id if department else None
    )
    db.session.add(CoachProfile(user_id=user.id, capacity=capacity, trained_on=date(2025, 3, 1)))
    db.session.flush()
    return user


@dataclass
class World:
    """Ids of one tenant's programme (usable outside the app context)."""

    tenant: TenantRef
    learner: uuid.UUID
    manager: uuid.UUID
    coach: uuid.UUID
    other_coach: uuid.UUID
    trainer: uuid.UUID
    admin: uuid.UUID
    colleague: uuid.UUID  #: a learner's peer in the same department, no relation
    department: uuid.UUID
    coach_department: uuid.UUID
    training: uuid.UUID
    edition: uuid.UUID
    session: uuid.UUID
    enrolment: uuid.UUID
    trajectory: uuid.UUID
    organisation_goals: list[uuid.UUID]
    coach_profile: uuid.UUID
    coach_day: uuid.UUID
    meeting: uuid.UUID  #: the edition's consolidation meeting
    step: uuid.UUID  #: the learner's first progress conversation

    subjects: ClassVar[dict[str, str]] = {
        "learner": "anna.learner",
        "manager": "mark.manager",
        "coach": "carla.coach",
        "other_coach": "otto.coach",
        "trainer": "tina.trainer",
        "admin": "pim.admin",
        "colleague": "cor.colleague",
    }


def build_world(tenant: TenantRef, *, coached: bool = True, starts_in_days: int = 20) -> World:
    """One learner enrolled in an edition, with a trajectory (and a coach when `coached`)."""
    from sqlalchemy import select

    from samenleren.catalogue.models import (
        Edition,
        EditionSession,
        Enrolment,
        EnrolmentStatus,
        Training,
    )
    from samenleren.coaching.models import CoachDay, CoachProfile
    from samenleren.core.db import utcnow
    from samenleren.core.extensions import db
    from samenleren.identity.models import Department
    from samenleren.tenants.models import OrganisationGoal
    from samenleren.trajectories.lifecycle import start_trajectory
    from samenleren.trajectories.models import StepInstance

    slug = tenant.slug
    department = Department(name=f"Ruimte {slug}")
    coach_department = Department(name=f"Bedrijfsvoering {slug}")
    db.session.add_all([department, coach_department])
    db.session.flush()
    s = World.subjects
    manager = add_user(s["manager"], "manager", name=f"Mark Manager {slug}")
    learner = add_user(
        s["learner"],
        "learner",
        name=f"Anna Learner {slug}",
        manager_id=manager.id,
        department_id=department.id,
    )
    colleague = add_user(
        s["colleague"], "learner", name=f"Cor Colleague {slug}", department_id=department.id
    )
    coach = add_coach(s["coach"], department=coach_department, name=f"Carla Coach {slug}")
    other_coach = add_coach(
        s["other_coach"], department=coach_department, name=f"Otto Coach {slug}"
    )
    trainer = add_user(s["trainer"], "trainer", name=f"Tina Trainer {slug}")
    admin = add_user(s["admin"], "programme_admin", name=f"Pim Admin {slug}")
    training = Training(
        title=f"Training van {slug}",
        description=f"Alleen voor {slug}",
        provider=f"Bureau {slug}",
        capacity=12,
    )
    db.session.add(training)
    db.session.flush()
    today = local_today()
    edition = Edition(
        training_id=training.id,
        name=f"Editie {slug}",
        starts_on=today + timedelta(days=starts_in_days),
        ends_on=today + timedelta(days=starts_in_days + 30),
        location="Provinciehuis, Lelystad",
        trainer_id=trainer.id,
    )
    db.session.add(edition)
    db.session.flush()
    first_day = datetime.combine(edition.starts_on, datetime.min.time(), tzinfo=UTC)
    session = EditionSession(
        edition_id=edition.id,
        starts_at=first_day + timedelta(hours=9),
        ends_at=first_day + timedelta(hours=16),
        location="Zaal 2",
        topic="Kennismaking",
    )
    db.session.add(session)
    enrolment = Enrolment(
        edition_id=edition.id,
        learner_id=learner.id,
        status=EnrolmentStatus.ENROLLED,
        enrolled_at=utcnow(),
    )
    db.session.add(enrolment)
    coach_day = CoachDay(title=f"Leercoachdag {slug}", held_on=today + timedelta(days=60))
    db.session.add(coach_day)
    db.session.flush()
    trajectory = start_trajectory(enrolment)
    if coached:
        from samenleren.coaching.assignment import assign_coach
        from samenleren.core import signals

        # The world's coach was assigned before anything was planned: the effects of that
        # (the learner's mail about the coach) are no part of what the tests count.
        with signals.coach_changed.muted():
            assign_coach(trajectory, coach, admin)
    db.session.commit()
    goals = db.session.scalars(select(OrganisationGoal.id).order_by(OrganisationGoal.position))
    progress = db.session.scalar(
        select(StepInstance.id).where(
            StepInstance.trajectory_id == trajectory.id, StepInstance.step_key == "progress"
        )
    )
    meeting = db.session.scalar(
        select(StepInstance.group_meeting_id).where(
            StepInstance.trajectory_id == trajectory.id, StepInstance.step_key == "consolidation"
        )
    )
    profile = db.session.scalar(select(CoachProfile.id).where(CoachProfile.user_id == coach.id))
    return World(
        tenant=tenant,
        learner=learner.id,
        manager=manager.id,
        coach=coach.id,
        other_coach=other_coach.id,
        trainer=trainer.id,
        admin=admin.id,
        colleague=colleague.id,
        department=department.id,
        coach_department=coach_department.id,
        training=training.id,
        edition=edition.id,
        session=session.id,
        enrolment=enrolment.id,
        trajectory=trajectory.id,
        organisation_goals=list(goals),
        coach_profile=profile,
        coach_day=coach_day.id,
        meeting=meeting,
        step=progress,
    )
