"""Shared by the privacy tests: a second learner in the same group with the same coach, answers
and notes planted with who wrote them, and reading a package back."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from dataclasses import dataclass

from flask import Flask
from sqlalchemy import select

from tests.factories import World, get, in_tenant

#: Planted texts, each naming who wrote it where (none is in any other text of the programme).
NOTE_A = "NOTITIE-A-door-coach"  #: A's confidential progress note, written by the coach
OWN_A = "EIGEN-A-vertrouwelijk"  #: A's own answer in the confidential progress conversation
GROUP_A = "PLAN-A-groep"  #: A's application plan in the group meeting (consolidation)
MANAGER_A = "VERWACHTING-A-manager"  #: the manager's expectations at A's intake
NOTE_B = "NOTITIE-B-door-coach"  #: B's confidential progress note, written by the same coach
GROUP_B = "PLAN-B-groep"  #: B's application plan in the same group meeting
STRANGER = "NOTITIE-A-door-ander"  #: in A's progress step, by a coach who does not coach A

EVERY = (NOTE_A, OWN_A, GROUP_A, MANAGER_A, NOTE_B, GROUP_B, STRANGER)


@dataclass(frozen=True)
class Group:
    other_learner: uuid.UUID  #: B: the world's colleague, now in the same edition
    other_trajectory: uuid.UUID


def plant_group(app: Flask, world: World) -> Group:
    """B (the colleague) joins A's edition with the same coach; everyone writes something."""
    from samenleren.catalogue.models import Enrolment, EnrolmentStatus
    from samenleren.coaching.assignment import assign_coach
    from samenleren.core import signals
    from samenleren.core.db import utcnow
    from samenleren.core.extensions import db
    from samenleren.identity.models import User
    from samenleren.trajectories.lifecycle import start_trajectory
    from samenleren.trajectories.models import FieldValue, StepInstance, Trajectory

    with in_tenant(app, world.tenant):
        enrolment = Enrolment(
            edition_id=world.edition,
            learner_id=world.colleague,
            status=EnrolmentStatus.ENROLLED,
            enrolled_at=utcnow(),
        )
        db.session.add(enrolment)
        db.session.flush()
        other = start_trajectory(enrolment)
        with signals.coach_changed.muted():
            assign_coach(other, get(User, world.coach), get(User, world.admin))
        db.session.flush()

        def step(trajectory_id: uuid.UUID, key: str) -> uuid.UUID:
            return db.session.scalars(
                select(StepInstance.id).where(
                    StepInstance.trajectory_id == trajectory_id, StepInstance.step_key == key
                )
            ).first()

        def write(trajectory_id, key, field, value, by):
            db.session.add(
                FieldValue(
                    step_instance_id=step(trajectory_id, key),
                    field_key=field,
                    value=value,
                    updated_by_id=by,
                )
            )

        a, b = world.trajectory, other.id
        write(a, "progress", "notes", NOTE_A, world.coach)
        write(a, "progress", "next_steps", OWN_A, world.learner)
        write(a, "consolidation", "application_plan", GROUP_A, world.learner)
        write(a, "intake", "manager_expectations", MANAGER_A, world.manager)
        write(a, "evaluation", "expectations_met", 4, world.manager)
        write(b, "progress", "notes", NOTE_B, world.coach)
        write(b, "consolidation", "application_plan", GROUP_B, world.colleague)
        # Written by someone who is not A's coach (e.g. a stand-in, since replaced).
        progress_b = step(a, "progress")
        db.session.add(
            FieldValue(
                step_instance_id=progress_b,
                field_key="progress_per_goal",
                value=STRANGER,
                updated_by_id=world.other_coach,
            )
        )
        db.session.commit()
        assert db.session.get(Trajectory, (world.tenant.id, b)) is not None
        return Group(other_learner=world.colleague, other_trajectory=b)


def package_files(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def package_data(content: bytes) -> dict:
    return json.loads(package_files(content)["data.json"])


def package_text(content: bytes) -> str:
    """Everything in the package (JSON and HTML), for "is X anywhere in it"."""
    return "\n".join(data.decode("utf-8") for data in package_files(content).values())
