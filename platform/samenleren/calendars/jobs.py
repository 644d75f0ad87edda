"""Periodic calendar work (registered in `samenleren.jobs.schedule`)."""

from __future__ import annotations

import logging

from samenleren.extensions import db
from samenleren.jobs import job

log = logging.getLogger(__name__)


@job(queue="default")
def plan_return_days() -> int:
    """Daily, per tenant: plan the return days of editions that have ended (see
    `samenleren.calendars.services.plan_return_days`). Running it twice plans nothing new."""
    from samenleren.calendars import services

    planned = services.plan_return_days()
    db.session.commit()
    if planned:
        log.info("planned %d return day(s)", planned)
    return planned
