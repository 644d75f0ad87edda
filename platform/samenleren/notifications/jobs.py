"""The outbox's jobs: `send_due` (queue mail) and the hourly `sweep` (reminders and digests)."""

from __future__ import annotations

from samenleren.core.jobs.runtime import job


@job(queue="mail", retries=5, intervals=(10, 30, 60, 300, 900))
def send_due() -> int:
    """Send every due notification of the job's tenant (claims rows; see delivery)."""
    from samenleren.notifications import delivery

    return delivery.send_due()


@job(queue="default")
def sweep() -> None:
    """Reminders, overdue repeats, escalations and digests of the job's tenant (idempotent)."""
    from samenleren.notifications import reminders

    reminders.sweep()
