"""The audit log: who did what in a tenant, append-only and hash-chained per tenant."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from samenleren.core.jobs.schedule import Periodic, periodic

    # Every tenant's chain verified each night (also on demand: `flask audit verify`).
    periodic(Periodic("audit.verify", "samenleren.audit.jobs.verify", cron="40 2 * * *"))
