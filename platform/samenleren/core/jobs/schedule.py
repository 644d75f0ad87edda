"""Periodic work: what `flask --app samenleren cron` enqueues, and when.

Run **exactly one** cron process per installation (RQ's cron scheduler has no distributed lock;
two would enqueue everything twice - harmless for the idempotent jobs below, wasteful anyway).
Times are UTC (RQ's clock). An entry with `per_tenant=True` enqueues one job per *active* tenant,
each running in that tenant (see `runtime.perform`). Without Redis (`make run`),
`flask --app samenleren jobs run-periodic` runs every entry once, in the process.

A domain adds an entry with `periodic(Periodic(...))` from its `init_app`, naming a `@job`
function by its registered name (the function's dotted path).
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


#: Every periodic entry, in the order the domains registered them (`periodic`).
SCHEDULE: list[Periodic] = []


def periodic(item: Periodic) -> None:
    """Register a periodic entry; each domain registers its own from its `init_app`. Registering
    the same entry again (a second app in one process) changes nothing."""
    for index, existing in enumerate(SCHEDULE):
        if existing.name == item.name:
            SCHEDULE[index] = item
            return
    SCHEDULE.append(item)


def entry(name: str) -> Periodic:
    for item in SCHEDULE:
        if item.name == name:
            return item
    raise LookupError(f"no periodic entry {name!r}")
