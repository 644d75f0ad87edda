"""A trajectory's steps: agreeing an appointment, closing, skipping and reopening a step, and
planning one more of a repeating step.

Each service checks that the actor is responsible for the step (the template's parties) and that
the trajectory is still running, and writes nothing when it refuses (`InvalidInput`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext
from sqlalchemy import select

from samenleren.core import signals
from samenleren.core.db import utcnow
from samenleren.core.errors_input import InvalidInput
from samenleren.core.extensions import db
from samenleren.core.formatting import local_day, local_today
from samenleren.core.text import control_characters_message, has_control_characters
from samenleren.identity.models import User
from samenleren.process_templates.definition import FieldType, StepKind
from samenleren.process_templates.timing import due_dates
from samenleren.trajectories.lifecycle import update_completion
from samenleren.trajectories.models import StepInstance, StepState, Trajectory, TrajectoryStatus
from samenleren.trajectories.permissions import (
    may_plan,
    parties,
    relations_to,
    require_active,
    require_responsible,
    step_spec,
)
from samenleren.trajectories.results import missing_for_completion
from samenleren.trajectories.values import RESULT_TYPES, field_name, label, values_of


@dataclass
class Appointment:
    starts_at: datetime
    ends_at: datetime
    location: str = ""
    video_url: str = ""


def check_appointment(appointment: Appointment) -> None:
    errors = {}
    if appointment.ends_at <= appointment.starts_at:
        errors["ends_at"] = gettext("The end must come after the start.")
    if not appointment.location.strip() and not appointment.video_url.strip():
        errors["location"] = gettext("Give a place or a video link.")
    if appointment.video_url and not appointment.video_url.startswith(("https://", "http://")):
        errors["video_url"] = gettext("A video link starts with https://.")
    if len(appointment.location) > 300:
        errors["location"] = gettext("At most %(count)d characters.", count=300)
    if len(appointment.video_url) > 500:
        errors["video_url"] = gettext("At most %(count)d characters.", count=500)
    for field in ("location", "video_url"):
        if has_control_characters(getattr(appointment, field)):
            errors[field] = control_characters_message()
    if errors:
        raise InvalidInput(errors)


def schedule_step(
    trajectory: Trajectory, step: StepInstance, actor: User, appointment: Appointment
) -> None:
    """Agree date, time and place (or video link) of a conversation."""
    relations = relations_to(trajectory, actor)
    spec = step_spec(trajectory, step)
    require_active(trajectory)
    if spec.kind is StepKind.GROUP_MEETING:
        raise InvalidInput.form(
            gettext("A group meeting is scheduled once for the whole group, on its own page.")
        )
    if spec.kind is StepKind.TRAINING_SESSION:
        raise InvalidInput.form(gettext("The training's sessions are planned on its edition."))
    if spec.kind is StepKind.MILESTONE:
        raise InvalidInput.form(gettext("A milestone has no appointment: mark it done."))
    require_responsible(spec, relations, gettext("schedule"))
    if not step.state.is_open:
        raise InvalidInput.form(gettext("This step is closed."))
    check_appointment(appointment)
    rescheduling = step.state is StepState.SCHEDULED
    step.starts_at = appointment.starts_at
    step.ends_at = appointment.ends_at
    step.location = appointment.location.strip()
    step.video_url = appointment.video_url.strip()
    step.state = StepState.SCHEDULED
    announced = signals.appointment_rescheduled if rescheduling else signals.appointment_scheduled
    announced.send(trajectory, step=step)
    db.session.flush()


def asks_presence(spec) -> bool:
    """A conversation with more than two participants asks who took part when it is closed
    (the programme report counts the intakes and evaluations the manager attended); never a
    confidential one: what happens there is the learner's and the coach's alone."""
    return (
        spec.kind is StepKind.CONVERSATION and len(spec.participants) > 2 and not spec.confidential
    )


def complete_step(
    trajectory: Trajectory, step: StepInstance, actor: User, present: list[str] | None = None
) -> None:
    """Close a step as done: by someone responsible, with every required field filled in; a
    conversation that asks it (`asks_presence`) with who took part (`present`: participant
    roles; None when the caller does not ask, as a job or an import)."""
    relations = relations_to(trajectory, actor)
    spec = step_spec(trajectory, step)
    require_active(trajectory)
    require_responsible(spec, relations, gettext("close"))
    if not step.state.is_open:
        raise InvalidInput.form(gettext("This step is closed already."))
    if present is not None and asks_presence(spec):
        participants = {str(role) for role in spec.participants}
        if not set(present) <= participants or len(set(present)) != len(present):
            raise InvalidInput({"present": gettext("Choose from the participants.")})
        step.present_roles = sorted(present)
    values = values_of(step)
    goal_ids = [goal.id for goal in trajectory.goals]
    errors = {}
    for field_spec in spec.fields:
        if not field_spec.required:
            continue
        if field_spec.type is FieldType.GOALS:
            if not goal_ids:
                errors[field_name(field_spec)] = gettext("Add at least one learning goal first.")
            continue
        if field_spec.type in RESULT_TYPES:
            continue  # checked below, from their own tables
        value = values.get(field_spec.key)
        if field_spec.per_goal:
            missing = [g for g in goal_ids if not isinstance(value, dict) or str(g) not in value]
            if missing or not goal_ids:
                errors[field_name(field_spec)] = gettext("Fill this in for every learning goal.")
        elif value is None:
            errors[field_name(field_spec)] = gettext(
                "%(label)s must be filled in (by %(parties)s) before the step can be closed.",
                label=label(field_spec),
                parties=parties(field_spec.editors),
            )
    errors.update(missing_for_completion(trajectory, spec, step))
    if errors:
        raise InvalidInput(errors)
    step.state = StepState.DONE
    step.completed_at = utcnow()
    step.completed_by_id = actor.id
    db.session.flush()
    update_completion(trajectory)
    signals.step_completed.send(trajectory, step=step, actor=actor)


def skip_step(trajectory: Trajectory, step: StepInstance, actor: User, reason: str) -> None:
    relations = relations_to(trajectory, actor)
    spec = step_spec(trajectory, step)
    require_active(trajectory)
    require_responsible(spec, relations, gettext("skip"))
    if not step.state.is_open:
        raise InvalidInput.form(gettext("This step is closed already."))
    reason = reason.strip()
    if not reason:
        raise InvalidInput({"reason": gettext("Say why the step is skipped.")})
    if len(reason) > 2000:
        raise InvalidInput({"reason": gettext("At most %(count)d characters.", count=2000)})
    step.state = StepState.SKIPPED
    step.skip_reason = reason
    step.completed_at = utcnow()
    step.completed_by_id = actor.id
    signals.appointment_cancelled.send(trajectory, step=step, actor=None)
    db.session.flush()
    update_completion(trajectory)


def reopen_step(trajectory: Trajectory, step: StepInstance, actor: User) -> None:
    """Undo closing a step (a mistake, or a conversation that needs a sequel)."""
    relations = relations_to(trajectory, actor)
    spec = step_spec(trajectory, step)
    if trajectory.status is TrajectoryStatus.WITHDRAWN:
        require_active(trajectory)
    require_responsible(spec, relations, gettext("reopen"))
    if step.state.is_open:
        raise InvalidInput.form(gettext("This step is open already."))
    step.state = StepState.SCHEDULED if step.starts_at else StepState.PLANNED
    step.completed_at = None
    step.completed_by_id = None
    step.skip_reason = ""
    signals.appointment_scheduled.send(trajectory, step=step)
    db.session.flush()
    update_completion(trajectory)


def cancel_appointment(trajectory: Trajectory, step: StepInstance, actor: User) -> None:
    """The agreed appointment of a conversation is off: the step waits for a new one, and
    everyone who was invited is told (`appointment_cancelled`)."""
    spec = step_spec(trajectory, step)
    if not may_plan(spec, relations_to(trajectory, actor)):
        raise InvalidInput.form(gettext("Only those responsible for the step cancel it."))
    if trajectory.status is not TrajectoryStatus.ACTIVE:
        raise InvalidInput.form(gettext("This trajectory has ended; it can no longer be changed."))
    if spec.kind is StepKind.GROUP_MEETING:
        raise InvalidInput.form(
            gettext("A group meeting is scheduled once for the whole group, on its own page.")
        )
    if step.state is not StepState.SCHEDULED:
        raise InvalidInput.form(gettext("This step has no appointment to cancel."))
    step.state = StepState.PLANNED
    step.starts_at = step.ends_at = None
    step.location = step.video_url = ""
    signals.appointment_cancelled.send(trajectory, step=step, actor=actor)
    db.session.flush()


def add_occurrence(trajectory: Trajectory, step_key: str, actor: User) -> StepInstance:
    """One more of a repeating step (another progress conversation), up to its maximum."""
    version = trajectory.template_version.content
    spec = version.step(step_key)
    if spec is None:
        raise InvalidInput.form(gettext("This step does not exist."))
    relations = relations_to(trajectory, actor)
    require_active(trajectory)
    require_responsible(spec, relations, gettext("plan"))
    existing = db.session.scalars(
        select(StepInstance)
        .where(StepInstance.trajectory_id == trajectory.id, StepInstance.step_key == step_key)
        .order_by(StepInstance.occurrence)
    ).all()
    if len(existing) >= spec.repeat.max:
        raise InvalidInput.form(
            gettext("This step can take place at most %(count)d times.", count=spec.repeat.max)
        )
    if existing:
        due = existing[-1].due_on + timedelta(days=max(spec.repeat.interval_days, 1))
    else:
        due = due_dates(version, local_day(trajectory.created_at), trajectory.edition)[step_key]
    step = StepInstance(
        trajectory_id=trajectory.id,
        step_key=step_key,
        position=version.position(step_key),
        occurrence=(existing[-1].occurrence + 1) if existing else 1,
        due_on=max(due, local_today()),
    )
    db.session.add(step)
    db.session.flush()
    update_completion(trajectory)
    return step
