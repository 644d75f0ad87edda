"""Notifications react to the programme: the learner hears of every coach assignment.

Connected by `samenleren.notifications.init_app`. Receivers run inside the sender's transaction
(core.signals) and only write outbox rows, sent after the commit.

Whoever is made a trajectory's coach reads its confidential progress notes, so the learner is
told of every assignment and change, by whom it was made, and how to ask for another coach: an
assignment the learner did not expect is noticed by the one person it is about.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from samenleren.core import signals
from samenleren.core.extensions import db
from samenleren.core.tenancy import current_tenant
from samenleren.identity.models import User
from samenleren.notifications.models import NotificationKind
from samenleren.notifications.outbox import notify
from samenleren.trajectories.models import CoachAssignment, Trajectory


def coach_assigned(trajectory: Trajectory, previous: User | None) -> None:
    """Mail the learner that `trajectory` has a (new) coach, once per assignment."""
    assignment = db.session.scalar(
        select(CoachAssignment).where(
            CoachAssignment.trajectory_id == trajectory.id, CoachAssignment.ended_at.is_(None)
        )
    )
    if assignment is None:
        return
    coach = assignment.coach
    by = assignment.assigned_by
    tenant = current_tenant()
    assert tenant is not None
    edition = trajectory.edition
    notify(
        trajectory.learner,
        NotificationKind.COACH_ASSIGNED,
        key=f"coach_assigned:{assignment.id}",
        context={
            "coach": coach.name if coach else "",
            "previous": previous.name if previous is not None else "",
            "by": by.name if by is not None else "",
            "by_self": by is not None and by.id == trajectory.learner_id,
            "training": f"{edition.training.title} · {edition.name}",
            "path": f"/{tenant.slug}/trajectories/{trajectory.id}",
        },
    )


def _coach(trajectory: Any, *, previous: Any, **_: Any) -> None:
    coach_assigned(trajectory, previous)


def connect() -> None:
    # A strong reference: a module function, connected once per process.
    signals.coach_changed.connect(_coach, weak=False)
