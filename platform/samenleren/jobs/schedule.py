"""Periodic work: what `flask --app samenleren cron` enqueues, and when.

Run **exactly one** cron process per installation (RQ's cron scheduler has no distributed lock;
two would enqueue everything twice - harmless for the idempotent jobs below, wasteful anyway).
Times are UTC (RQ's clock). An entry with `per_tenant=True` enqueues one job per *active* tenant,
each running in that tenant (see `samenleren.jobs.core.perform`). Without Redis (`make run`),
`flask --app samenleren jobs run-periodic` runs every entry once, in the process.

To add an entry, append a `Periodic(...)` to `SCHEDULE` naming a `@job` function by dotted path.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Periodic:
    #: Unique name (also RQ's cron job name).
    name: str
    #: Dotted path of a `@job` function taking no arguments (or only defaults).
    job: str
    #: A cron expression in UTC ("5 * * * *") - or `interval` seconds, not both.
    cron: str | None = None
    interval: int | None = None
    #: One job per active tenant (in its context), else one job outside any tenant.
    per_tenant: bool = True


SCHEDULE: list[Periodic] = [
    # The outbox: send what is due (notify() also triggers it right after its commit; this
    # catches retries, mails due later and anything an unavailable Redis dropped).
    Periodic("notifications.send_due", "samenleren.notifications.jobs.send_due", interval=60),
    # Reminders, overdue repeats, escalations and digests (each decides by the local time).
    Periodic("notifications.sweep", "samenleren.notifications.jobs.sweep", cron="7 * * * *"),
    # The return day of editions that have ended: planned, invited, the trainer told (daily).
    Periodic(
        "calendars.return_days", "samenleren.calendars.jobs.plan_return_days", cron="20 4 * * *"
    ),
    # Exports: delete the files of expired exports, give up ones stuck in the queue (hourly).
    Periodic("exports.clean_up", "samenleren.exports.jobs.clean_up", cron="35 * * * *"),
]


def entry(name: str) -> Periodic:
    for item in SCHEDULE:
        if item.name == name:
            return item
    raise LookupError(f"no periodic entry {name!r}")
