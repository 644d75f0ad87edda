"""Moving trajectories that have not started yet to a newer version of their template.

A trajectory keeps the template version it started on, so publishing a version never changes a
running trajectory. A trajectory in which nothing has happened yet may move, though: its steps are
rebuilt from the newer version exactly as `start_trajectory` builds them
(`trajectories.lifecycle.build_steps`), with the new due dates. Its learner, edition, enrolment,
coach (and coach history) and learning goals stay as they are.

**Not yet started** (defined here, once: `not_started_clause`): an *active* trajectory on an
older published version of the same template of which

- every step is still "planned": none scheduled (for a group step: its group meeting scheduled),
  none done, none skipped;
- no answer (field value) is recorded in any step;
- no group meeting its steps belong to has been held (state "done" or a held-at moment).

Learning goals and a coach do not count as started: they do not depend on the version.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext
from sqlalchemy import ColumnElement, and_, delete, exists, not_, or_, select
from sqlalchemy.orm import joinedload

from samenleren.audit.events import AuditAction
from samenleren.audit.services import record
from samenleren.core.errors_input import InvalidInput
from samenleren.core.extensions import db
from samenleren.identity.models import User
from samenleren.process_templates.models import TemplateVersion, VersionStatus
from samenleren.process_templates.timing import due_dates, occurrence_due
from samenleren.trajectories.lifecycle import build_steps, enrolment_day
from samenleren.trajectories.models import (
    FieldValue,
    GroupMeeting,
    GroupMeetingState,
    StepInstance,
    StepState,
    Trajectory,
    TrajectoryStatus,
)


def not_started_clause() -> ColumnElement[bool]:
    """SQL condition on `Trajectory`: nothing has happened in it yet (see the module doc)."""
    step_taken = exists().where(
        StepInstance.tenant_id == Trajectory.tenant_id,
        StepInstance.trajectory_id == Trajectory.id,
        StepInstance.state != StepState.PLANNED,
    )
    answered = exists().where(
        FieldValue.tenant_id == Trajectory.tenant_id,
        StepInstance.tenant_id == Trajectory.tenant_id,
        StepInstance.trajectory_id == Trajectory.id,
        FieldValue.step_instance_id == StepInstance.id,
    )
    meeting_held = exists().where(
        GroupMeeting.tenant_id == Trajectory.tenant_id,
        StepInstance.tenant_id == Trajectory.tenant_id,
        StepInstance.trajectory_id == Trajectory.id,
        StepInstance.group_meeting_id == GroupMeeting.id,
        or_(GroupMeeting.state == GroupMeetingState.DONE, GroupMeeting.held_at.is_not(None)),
    )
    return and_(
        Trajectory.status == TrajectoryStatus.ACTIVE,
        not_(step_taken),
        not_(answered),
        not_(meeting_held),
    )


def _older_versions(target: TemplateVersion) -> ColumnElement[bool]:
    """`Trajectory` is on an older published version of `target`'s template."""
    return Trajectory.template_version_id.in_(
        select(TemplateVersion.id).where(
            TemplateVersion.template_id == target.template_id,
            TemplateVersion.status == VersionStatus.PUBLISHED,
            TemplateVersion.number < target.number,
        )
    )


def movable_trajectories(target: TemplateVersion) -> list[Trajectory]:
    """The trajectories that may move to `target`, with learner, edition, enrolment and version
    loaded (one query), by learner name."""
    if target.status is not VersionStatus.PUBLISHED:
        return []
    return list(
        db.session.scalars(
            select(Trajectory)
            .join(
                User, and_(User.tenant_id == Trajectory.tenant_id, User.id == Trajectory.learner_id)
            )
            .where(_older_versions(target), not_started_clause())
            .options(
                joinedload(Trajectory.learner),
                joinedload(Trajectory.edition),
                joinedload(Trajectory.enrolment),
                joinedload(Trajectory.template_version),
            )
            .order_by(User.name, Trajectory.id)
        ).unique()
    )


def enrolled_on(trajectory: Trajectory) -> date:
    """The day a trajectory's timing counts from (as `start_trajectory` takes it)."""
    return enrolment_day(trajectory.enrolment, trajectory.created_at)


@dataclass(frozen=True)
class NewDue:
    step_key: str
    occurrence: int
    due_on: date


def new_due_dates(trajectory: Trajectory, target: TemplateVersion) -> list[NewDue]:
    """The steps `trajectory` would have on `target`, with their due dates (the preview)."""
    definition = target.content
    dates = due_dates(definition, enrolled_on(trajectory), trajectory.edition)
    return [
        NewDue(step.key, occurrence, occurrence_due(dates[step.key], step, occurrence))
        for step in definition.steps
        for occurrence in range(1, step.repeat.min + 1)
    ]


def move_trajectories(
    target: TemplateVersion, trajectory_ids: Iterable[uuid.UUID], actor: User
) -> int:
    """Move the chosen not-yet-started trajectories to `target`; returns how many moved.

    All or nothing: when any of them is not movable (any more), nothing is changed and the
    refusal names the learner. The trajectories and their steps are locked first, so a step
    scheduled or answered at the same moment either comes before (and refuses the move) or
    waits for it. Audited per trajectory.
    """
    wanted = list(dict.fromkeys(trajectory_ids))
    if not wanted:
        raise InvalidInput({"trajectory": gettext("Choose at least one trajectory to move.")})
    if target.status is not VersionStatus.PUBLISHED:
        raise InvalidInput.form(gettext("Only a published version can take trajectories."))
    locked = {
        t.id: t
        for t in db.session.scalars(
            select(Trajectory)
            .where(Trajectory.id.in_(wanted))
            .options(
                joinedload(Trajectory.learner),
                joinedload(Trajectory.edition),
                joinedload(Trajectory.enrolment),
                joinedload(Trajectory.template_version),
            )
            .with_for_update(of=Trajectory)
        ).unique()
    }
    db.session.execute(
        select(StepInstance.id).where(StepInstance.trajectory_id.in_(wanted)).with_for_update()
    )
    movable = set(
        db.session.scalars(
            select(Trajectory.id).where(
                Trajectory.id.in_(wanted), _older_versions(target), not_started_clause()
            )
        )
    )
    for trajectory_id in wanted:
        if trajectory_id not in movable:
            trajectory = locked.get(trajectory_id)
            if trajectory is None:
                raise InvalidInput.form(
                    gettext("One of the chosen trajectories does not exist; nothing was moved.")
                )
            raise InvalidInput.form(
                gettext(
                    "The trajectory of %(name)s has started in the meantime (or is not on an "
                    "older version any more); nothing was moved.",
                    name=trajectory.learner.name,
                )
            )
    definition = target.content
    for trajectory_id in wanted:
        trajectory = locked[trajectory_id]
        before = trajectory.template_version
        db.session.execute(delete(StepInstance).where(StepInstance.trajectory_id == trajectory.id))
        trajectory.template_version_id = target.id
        db.session.flush()
        db.session.expire(trajectory, ["template_version", "steps"])
        build_steps(trajectory, definition, enrolled_on(trajectory), trajectory.edition)
        record(
            AuditAction.TRAJECTORY_MOVED,
            actor=actor,
            subject_type="trajectory",
            subject_id=trajectory.id,
            details={
                "template": target.template.key,
                "from_number": before.number,
                "number": target.number,
            },
        )
    db.session.flush()
    return len(wanted)
