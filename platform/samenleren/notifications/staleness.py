"""A mail about a step goes out only while that step is open; a stale one is cancelled instead.

A reminder, an overdue mail or an escalation is about one step: its context names it
(`step_id`, written by `reminders._context`). Between the sweep writing it and its due time the
step may have been done or skipped, its trajectory withdrawn, completed or restricted from
further processing, or the step row gone
altogether (a not-yet-started trajectory moved to a newer template version gets new step rows:
`process_templates.moving`). The sender then marks the notification `cancelled` rather than
mailing it. This is checked in the two places where the outbox turns rows into mail:
`delivery.claim_due` (each claimed batch) and `reminders._bundle_digests` (the reminders held
for a digest) - one query per batch, and none for a batch without step-bound rows.

Calendar mails name no `step_id` on purpose: a cancellation of a withdrawn learner's appointment
must still go out, and an invitation is superseded by its cancellation (same UID), not dropped.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, Protocol

from sqlalchemy import select, update

from samenleren.core.extensions import db
from samenleren.notifications.models import Notification, NotificationState

#: The context key naming the step a notification is about.
STEP_ID = "step_id"
STALE_REASON = "stale: its step is closed or gone, or its trajectory ended or is restricted"


class HasContext(Protocol):
    """A notification as the sender holds it: an ORM object or a row of its columns."""

    id: uuid.UUID
    context: Any


def subject_step(context: object) -> uuid.UUID | None:
    """The step a notification's context is about, or None (not about a step)."""
    value = context.get(STEP_ID) if isinstance(context, dict) else None
    if not value:
        return None
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def open_steps(step_ids: set[uuid.UUID]) -> set[uuid.UUID]:
    """Those of `step_ids` (current tenant) that still exist, are open, in an active trajectory
    that is not restricted from further processing."""
    from samenleren.trajectories.models import StepInstance, StepState, Trajectory, TrajectoryStatus

    if not step_ids:
        return set()
    return set(
        db.session.scalars(
            select(StepInstance.id)
            .join(StepInstance.trajectory)
            .where(
                StepInstance.id.in_(step_ids),
                StepInstance.state.in_([StepState.PLANNED, StepState.SCHEDULED]),
                Trajectory.status == TrajectoryStatus.ACTIVE,
                Trajectory.restricted_at.is_(None),
            )
        )
    )


def cancel_stale(notes: Sequence[HasContext]) -> set[uuid.UUID]:
    """Cancel those of `notes` whose step is no longer open; returns their ids.

    One SELECT when any note names a step, one UPDATE when any is stale; nothing is committed
    (the caller's transaction is)."""
    steps = {note.id: subject_step(note.context) for note in notes}
    named = {step for step in steps.values() if step is not None}
    if not named:
        return set()
    alive = open_steps(named)
    stale = {note for note, step in steps.items() if step is not None and step not in alive}
    if stale:
        db.session.execute(
            update(Notification)
            .where(Notification.id.in_(stale))
            .values(state=NotificationState.CANCELLED, claimed_until=None, last_error=STALE_REASON)
            .execution_options(synchronize_session="fetch")
        )
    return stale
