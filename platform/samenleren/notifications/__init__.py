"""The notification outbox: rows first, mail later. See `outbox.notify`."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from samenleren.core.jobs.schedule import Periodic, periodic
    from samenleren.core.metrics import register_collector
    from samenleren.notifications import receivers
    from samenleren.notifications.metrics import outbox_metrics

    receivers.connect()

    # The outbox's backlog and the age of its oldest due mail, when the scheduler is scraped.
    register_collector("outbox", outbox_metrics)

    # The outbox: send what is due (notify() also triggers it right after its commit; this
    # catches retries, mails due later and anything an unavailable Redis dropped).
    periodic(
        Periodic("notifications.send_due", "samenleren.notifications.jobs.send_due", interval=60)
    )
    # Reminders, overdue repeats, escalations and digests (each decides by the local time).
    periodic(
        Periodic("notifications.sweep", "samenleren.notifications.jobs.sweep", cron="7 * * * *")
    )
