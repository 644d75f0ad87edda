"""Periodic trajectory work, run by the job runtime (registered in `trajectories.init_app`)."""

from __future__ import annotations

import logging

from samenleren.core.extensions import db
from samenleren.core.jobs.runtime import job
from samenleren.trajectories import return_day

log = logging.getLogger(__name__)


@job(queue="default")
def plan_return_days() -> int:
    """Daily, per tenant: plan the return days of editions that have ended (see
    `return_day.plan_return_days`). Running it twice plans nothing new."""
    planned = return_day.plan_return_days()
    db.session.commit()
    if planned:
        log.info("planned %d return day(s)", planned)
    return planned
