"""Group meetings: one per edition and group step, planned and closed for the whole group.

The programme admins and the edition's trainer run them; scheduling one schedules the group
steps of every member, and closing it records attendance and closes those steps.
"""

from __future__ import annotations

import uuid

from flask_babel import gettext
from sqlalchemy import delete, select

from samenleren.core import signals
from samenleren.core.db import utcnow
from samenleren.core.errors_input import InvalidInput
from samenleren.core.extensions import db
from samenleren.identity.models import Role, User
from samenleren.trajectories.lifecycle import update_completion
from samenleren.trajectories.models import (
    GroupMeeting,
    GroupMeetingAttendance,
    GroupMeetingState,
    StepInstance,
    StepState,
    Trajectory,
    TrajectoryStatus,
)
from samenleren.trajectories.steps import Appointment, check_appointment


def meeting_trajectories(meeting: GroupMeeting) -> list[tuple[Trajectory, StepInstance]]:
    rows = db.session.execute(
        select(Trajectory, StepInstance)
        .join(StepInstance, StepInstance.trajectory_id == Trajectory.id)
        .where(StepInstance.group_meeting_id == meeting.id)
        .where(Trajectory.status != TrajectoryStatus.WITHDRAWN)
    ).all()
    return [(trajectory, step) for trajectory, step in rows]


def may_run_meeting(meeting: GroupMeeting, actor: User) -> bool:
    """Programme admins, and the edition's trainer, plan and close group meetings."""
    return actor.has_role(Role.PROGRAMME_ADMIN) or (
        meeting.edition.trainer_id is not None and meeting.edition.trainer_id == actor.id
    )


def schedule_meeting(meeting: GroupMeeting, actor: User, appointment: Appointment) -> None:
    if not may_run_meeting(meeting, actor):
        raise InvalidInput.form(
            gettext("Only the programme administrator or the trainer plans group meetings.")
        )
    if meeting.state is GroupMeetingState.DONE:
        raise InvalidInput.form(gettext("This meeting has taken place."))
    check_appointment(appointment)
    meeting.starts_at = appointment.starts_at
    meeting.ends_at = appointment.ends_at
    meeting.location = appointment.location.strip()
    meeting.video_url = appointment.video_url.strip()
    meeting.state = GroupMeetingState.SCHEDULED
    signals.meeting_scheduled.send(meeting)
    for trajectory, step in meeting_trajectories(meeting):
        # A restricted trajectory's step is left as it is (no processing until lifted).
        if step.state.is_open and not trajectory.restricted:
            step.starts_at, step.ends_at = meeting.starts_at, meeting.ends_at
            step.location, step.video_url = meeting.location, meeting.video_url
            step.state = StepState.SCHEDULED
    db.session.flush()


def close_meeting(
    meeting: GroupMeeting, actor: User, present_ids: set[uuid.UUID], outcome: str
) -> None:
    """Record who attended and what the group shared; attendees' steps are done, the others'
    skipped as absent (they can be reopened)."""
    if not may_run_meeting(meeting, actor):
        raise InvalidInput.form(
            gettext("Only the programme administrator or the trainer closes group meetings.")
        )
    if meeting.state is not GroupMeetingState.SCHEDULED:
        raise InvalidInput.form(gettext("Schedule the meeting before recording it."))
    if len(outcome) > 10_000:
        raise InvalidInput({"outcome": gettext("At most %(count)d characters.", count=10_000)})
    members = meeting_trajectories(meeting)
    learner_ids = {trajectory.learner_id for trajectory, _ in members}
    if present_ids - learner_ids:
        raise InvalidInput({"present": gettext("Only learners of this group can attend.")})
    now = utcnow()
    db.session.execute(
        delete(GroupMeetingAttendance).where(GroupMeetingAttendance.meeting_id == meeting.id)
    )
    for trajectory, step in members:
        present = trajectory.learner_id in present_ids
        db.session.add(
            GroupMeetingAttendance(
                meeting_id=meeting.id, user_id=trajectory.learner_id, present=present
            )
        )
        if (
            trajectory.status is TrajectoryStatus.ACTIVE
            and not trajectory.restricted
            and step.state.is_open
        ):
            step.state = StepState.DONE if present else StepState.SKIPPED
            step.skip_reason = "" if present else gettext("Absent from the group meeting.")
            step.completed_at = now
            step.completed_by_id = actor.id
    meeting.outcome = outcome.strip()
    meeting.state = GroupMeetingState.DONE
    meeting.held_at = now
    db.session.flush()
    for trajectory, _step in members:
        update_completion(trajectory)
    db.session.flush()
