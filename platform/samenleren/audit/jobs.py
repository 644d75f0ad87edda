"""The audit log's background work: verifying each tenant's hash chain every night (registered
in `audit.init_app`), so the operator console always shows a recent outcome."""

from __future__ import annotations

import logging

from samenleren.audit.verification import verify_tenant
from samenleren.core.extensions import db
from samenleren.core.jobs.runtime import job

log = logging.getLogger(__name__)


@job(queue="reports", timeout=3600)
def verify() -> None:
    """Recompute this tenant's chain and store the outcome (a broken chain is logged as an
    error, with its place; never the content of any event)."""
    report, _stored = verify_tenant()
    db.session.commit()
    if not report.ok:
        log.error("audit chain broken at event %s: %s", report.broken_sequence, report.problem)
