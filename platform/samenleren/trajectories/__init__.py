"""Trajectories: one learner's path through one edition, step by step."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from samenleren.core.jobs.schedule import Periodic, periodic
    from samenleren.trajectories import receivers

    receivers.connect()
    # The return day of editions that have ended: planned, invited, the trainer told (daily).
    periodic(
        Periodic(
            "trajectories.return_days",
            "samenleren.trajectories.jobs.plan_return_days",
            cron="20 4 * * *",
        )
    )
