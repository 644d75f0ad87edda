"""Insight's background work: the quarterly report mail (per tenant) and the comparison
between organisations (once, across the tenants that share)."""

from __future__ import annotations

import logging
from datetime import date

from samenleren.core.extensions import db
from samenleren.core.formatting import local_today
from samenleren.core.jobs.runtime import job
from samenleren.insight import comparison, mail

log = logging.getLogger(__name__)


@job(queue="default")
def send_quarterly_report(today: str | None = None) -> int:
    """On the first day of a quarter, per tenant: the previous quarter's report mail to the
    programme admins. Running it again in the same quarter writes nothing. `today` (ISO date):
    the day it runs as, else today."""
    written = mail.send_quarterly_report(date.fromisoformat(today) if today else local_today())
    db.session.commit()
    if written:
        log.info("quarterly report mailed to %d programme admin(s)", written)
    return written


@job(queue="default", timeout=3600)
def compute_comparisons(today: str | None = None) -> int:
    """Daily, once for the platform (no tenant): the comparison of this year and last year
    between the tenants that share their figures (`insight.comparison`)."""
    year = (date.fromisoformat(today) if today else local_today()).year
    shared = 0
    for each in (year - 1, year):
        shared = comparison.compute_comparisons(each)
    db.session.commit()
    return shared
