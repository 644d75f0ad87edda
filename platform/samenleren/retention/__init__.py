"""Retention: how long each kind of data is kept per tenant, legal holds, the nightly run that
anonymises employees who left and removes what is past its period, and the processing
register (art. 30 AVG)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from samenleren.core.jobs.schedule import Periodic, periodic
    from samenleren.retention import receivers

    receivers.connect()
    # After the night's audit verification (02:40), before people start working.
    periodic(Periodic("retention.apply", "samenleren.retention.jobs.apply", cron="10 3 * * *"))
