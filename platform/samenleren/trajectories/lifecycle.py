"""A trajectory's life: started by an enrolment, retimed with its edition, withdrawn, completed.

Starting builds the step instances from the tenant's current template version, with due dates
counted from the Dutch calendar day of enrolment; a trajectory is complete once none of its steps
is open.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from samenleren.catalogue.models import Edition, Enrolment, process_template_of
from samenleren.core import signals
from samenleren.core.db import as_utc, utcnow
from samenleren.core.extensions import db
from samenleren.core.formatting import local_day
from samenleren.process_templates.definition import StepKind, StepSpec, TemplateDefinition
from samenleren.process_templates.services import current_version
from samenleren.process_templates.timing import due_dates, occurrence_due
from samenleren.trajectories.models import (
    GroupMeeting,
    GroupMeetingState,
    StepInstance,
    StepState,
    Trajectory,
    TrajectoryStatus,
)


def enrolment_day(enrolment: Enrolment, fallback: datetime) -> date:
    """The Dutch calendar day a trajectory's timing counts from: the day of enrolment."""
    return local_day(as_utc(enrolment.enrolled_at) or fallback)


def start_trajectory(enrolment: Enrolment) -> Trajectory:
    """The trajectory of a newly enrolled learner, on the current version of the edition's template
    (its own, the training's, or the tenant's default: `catalogue.models.process_template_of`).

    Idempotent per enrolment. Group steps are linked to the edition's meeting for that step,
    created by the first trajectory of the edition that needs it.
    """
    existing = db.session.scalar(select(Trajectory).where(Trajectory.enrolment_id == enrolment.id))
    if existing is not None:
        if existing.status is TrajectoryStatus.WITHDRAWN:
            existing.status = TrajectoryStatus.ACTIVE
            existing.completed_at = None
        return existing
    edition = enrolment.edition
    version = current_version(process_template_of(edition))
    definition = version.content
    enrolled_on = enrolment_day(enrolment, utcnow())
    trajectory = Trajectory(
        learner_id=enrolment.learner_id,
        edition_id=edition.id,
        enrolment_id=enrolment.id,
        template_version_id=version.id,
        status=TrajectoryStatus.ACTIVE,
    )
    db.session.add(trajectory)
    db.session.flush()
    build_steps(trajectory, definition, enrolled_on, edition)
    signals.trajectory_started.send(trajectory)
    return trajectory


def build_steps(
    trajectory: Trajectory, definition: TemplateDefinition, enrolled_on: date, edition: Edition
) -> None:
    """Create the step instances of a trajectory that has none, from `definition`.

    Used when a trajectory starts and when a not-yet-started one moves to a newer version
    (`samenleren.trajectories.moving`), so both build exactly the same steps.
    """
    dates = due_dates(definition, enrolled_on, edition)
    for position, step in enumerate(definition.steps):
        meeting = _group_meeting(edition, step, dates[step.key]) if _is_group(step) else None
        for occurrence in range(1, step.repeat.min + 1):
            db.session.add(
                StepInstance(
                    trajectory_id=trajectory.id,
                    step_key=step.key,
                    position=position,
                    occurrence=occurrence,
                    due_on=occurrence_due(dates[step.key], step, occurrence),
                    group_meeting_id=meeting.id if meeting else None,
                    **_meeting_schedule(meeting),
                )
            )
    db.session.flush()


def _is_group(step: StepSpec) -> bool:
    return step.kind is StepKind.GROUP_MEETING


def _group_meeting(edition: Edition, step: StepSpec, due_on: date) -> GroupMeeting:
    meeting = db.session.scalar(
        select(GroupMeeting).where(
            GroupMeeting.edition_id == edition.id, GroupMeeting.step_key == step.key
        )
    )
    if meeting is None:
        meeting = GroupMeeting(
            edition_id=edition.id, step_key=step.key, name=dict(step.name), due_on=due_on
        )
        db.session.add(meeting)
        db.session.flush()
    return meeting


def _meeting_schedule(meeting: GroupMeeting | None) -> dict:
    if meeting is None or meeting.state is GroupMeetingState.PLANNED:
        return {}
    state = StepState.DONE if meeting.state is GroupMeetingState.DONE else StepState.SCHEDULED
    return {
        "state": state,
        "starts_at": meeting.starts_at,
        "ends_at": meeting.ends_at,
        "location": meeting.location,
        "video_url": meeting.video_url,
    }


def retime_edition(edition: Edition) -> int:
    """The edition's dates moved: steps not yet planned follow them. Returns how many moved.

    Only steps still waiting for an appointment (state "planned") and group meetings not yet
    scheduled get a new due date; an agreed appointment or a closed step is left as it is, and
    so is every step of a trajectory restricted from further processing.
    """
    trajectories = db.session.scalars(
        select(Trajectory)
        .where(
            Trajectory.edition_id == edition.id,
            Trajectory.status == TrajectoryStatus.ACTIVE,
            Trajectory.restricted_at.is_(None),
        )
        .options(joinedload(Trajectory.template_version), joinedload(Trajectory.enrolment))
    ).all()
    if not trajectories:
        return 0
    by_trajectory = {t.id: t for t in trajectories}
    steps = db.session.scalars(
        select(StepInstance).where(
            StepInstance.trajectory_id.in_(list(by_trajectory)),
            StepInstance.state == StepState.PLANNED,
        )
    ).all()
    moved = 0
    dates_of: dict[uuid.UUID, dict[str, date]] = {}
    for step in steps:
        trajectory = by_trajectory[step.trajectory_id]
        definition = trajectory.template_version.content
        if trajectory.id not in dates_of:
            enrolled_on = enrolment_day(trajectory.enrolment, trajectory.created_at)
            dates_of[trajectory.id] = due_dates(definition, enrolled_on, edition)
        spec = definition.step(step.step_key)
        if spec is None:
            continue
        due = occurrence_due(dates_of[trajectory.id][step.step_key], spec, step.occurrence)
        if due != step.due_on:
            step.due_on = due
            moved += 1
    first = trajectories[0]
    first_dates = dates_of.get(first.id) or due_dates(
        first.template_version.content,
        enrolment_day(first.enrolment, first.created_at),
        edition,
    )
    for meeting in db.session.scalars(
        select(GroupMeeting).where(
            GroupMeeting.edition_id == edition.id,
            GroupMeeting.state == GroupMeetingState.PLANNED,
        )
    ):
        if meeting.step_key in first_dates:
            meeting.due_on = first_dates[meeting.step_key]
    db.session.flush()
    return moved


def withdraw_trajectory(trajectory: Trajectory) -> None:
    """The learner left the edition: the trajectory stops; what was recorded is kept."""
    trajectory.status = TrajectoryStatus.WITHDRAWN
    signals.trajectory_withdrawn.send(trajectory)
    db.session.flush()


def update_completion(trajectory: Trajectory) -> None:
    """A trajectory is complete when none of its steps is open any more."""
    open_steps = db.session.scalar(
        select(StepInstance.id)
        .where(
            StepInstance.trajectory_id == trajectory.id,
            StepInstance.state.in_([StepState.PLANNED, StepState.SCHEDULED]),
        )
        .limit(1)
    )
    if trajectory.status is TrajectoryStatus.ACTIVE and open_steps is None:
        trajectory.status = TrajectoryStatus.COMPLETED
        trajectory.completed_at = utcnow()
    elif trajectory.status is TrajectoryStatus.COMPLETED and open_steps is not None:
        trajectory.status = TrajectoryStatus.ACTIVE
        trajectory.completed_at = None
