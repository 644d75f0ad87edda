"""The exports' background work, on the `reports` queue: building a file, and the periodic
cleanup of expired files, which also enqueues again builds whose job was lost (registered in
`exports.init_app`)."""

from __future__ import annotations

import logging
import uuid

from samenleren.core.jobs.runtime import job
from samenleren.exports import services

log = logging.getLogger(__name__)


@job(queue="reports", retries=2, intervals=(30, 300), timeout=1800)
def build(*, export_id: str) -> None:
    """Build one export (in its tenant: `perform` activated it; RLS applies)."""
    services.build_export(uuid.UUID(export_id))


@job(queue="reports")
def clean_up() -> None:
    """Delete the files of this tenant's expired exports; give up exports stuck in the queue;
    enqueue again the builds of exports whose job was lost."""
    expired, given_up = services.clean_up()
    requeued = services.requeue_lost()
    if expired or given_up or requeued:
        log.info("exports: %d expired, %d given up, %d enqueued again", expired, given_up, requeued)
