"""Trajectories follow the catalogue: a place in an edition starts one, losing it withdraws it,
and new edition dates move the steps not yet planned. Connected by `trajectories.init_app`;
each receiver runs inside the catalogue's transaction (core.signals)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from samenleren.core import signals
from samenleren.core.extensions import db
from samenleren.trajectories.lifecycle import retime_edition, start_trajectory, withdraw_trajectory
from samenleren.trajectories.models import Trajectory, TrajectoryStatus


def _enrolment_changed(enrolment: Any, *, admitted: bool, **_: Any) -> None:
    if admitted:
        start_trajectory(enrolment)
        return
    trajectory = db.session.scalar(
        select(Trajectory).where(Trajectory.enrolment_id == enrolment.id)
    )
    if trajectory is not None and trajectory.status is not TrajectoryStatus.WITHDRAWN:
        withdraw_trajectory(trajectory)


def _edition_rescheduled(edition: Any, **_: Any) -> None:
    retime_edition(edition)


def connect() -> None:
    signals.enrolment_changed.connect(_enrolment_changed, weak=False)
    signals.edition_rescheduled.connect(_edition_rescheduled, weak=False)
