"""Calendars react to the programme: invitations, updates and cancellations of appointments.

Connected by `samenleren.calendars.init_app`. Each receiver runs inside the sender's
transaction (core.signals) and reads the ORM's attribute history to decide what to send, so an
unchanged appointment sends nothing.
"""

from __future__ import annotations

from typing import Any

from samenleren.calendars import feeds, invitations
from samenleren.core import signals


def _appointment(trajectory: Any, *, step: Any, **_: Any) -> None:
    invitations.appointment_changed(trajectory, step)


def _meeting(meeting: Any, **_: Any) -> None:
    invitations.meeting_changed(meeting)


def _started(trajectory: Any, **_: Any) -> None:
    invitations.trajectory_started(trajectory)


def _withdrawn(trajectory: Any, **_: Any) -> None:
    invitations.trajectory_withdrawn(trajectory)


def _coach(trajectory: Any, *, previous: Any, **_: Any) -> None:
    invitations.coach_changed(trajectory, previous)


def _return_day(meeting: Any, *, trainer: Any, **_: Any) -> None:
    invitations.return_day_planned(meeting, trainer)


def _access_revoked(user: Any, **_: Any) -> None:
    feeds.revoke_feed(user, audit=False)  # the deprovisioning itself is audited by its sender


def connect() -> None:
    # Strong references: these are module functions, connected once per process (blinker
    # ignores a second connect of the same receiver).
    for signal in (
        signals.appointment_scheduled,
        signals.appointment_rescheduled,
        signals.appointment_cancelled,
    ):
        signal.connect(_appointment, weak=False)
    signals.meeting_scheduled.connect(_meeting, weak=False)
    signals.trajectory_started.connect(_started, weak=False)
    signals.trajectory_withdrawn.connect(_withdrawn, weak=False)
    signals.coach_changed.connect(_coach, weak=False)
    signals.return_day_planned.connect(_return_day, weak=False)
    signals.access_revoked.connect(_access_revoked, weak=False)
