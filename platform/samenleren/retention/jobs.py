"""The nightly retention run, one job per tenant (registered in `retention.init_app`)."""

from __future__ import annotations

import logging

from samenleren.core.extensions import db
from samenleren.core.jobs.runtime import job
from samenleren.retention.erasure import apply_retention

log = logging.getLogger(__name__)


@job(queue="reports", timeout=3600)
def apply() -> None:
    """Apply this tenant's retention periods (in its tenant: `perform` activated it)."""
    outcome = apply_retention()
    db.session.commit()
    log.info("retention: %s", outcome.counts())
