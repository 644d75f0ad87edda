"""Programme insight: did the training pay off? The report over the programme's trajectories.

A read-side face: it reads trajectories, the catalogue, coaching and process templates and
computes figures (`figures`) for a period and filters (`scope`); the report page, its team view
for managers and its CSV are in `views`. Nothing in the programme imports it. What people
write (expected results, their ratings) belongs to the programme (`trajectories.results`).
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from samenleren.core.jobs.schedule import Periodic, periodic
    from samenleren.exports.datasets import Provider, provide
    from samenleren.exports.models import Dataset
    from samenleren.insight.tables import build_tables, check_parameters

    # The report's tables as an export: exports sits below insight and builds them through
    # this provider, in the background like every export.
    provide(Dataset.INSIGHT, Provider(check=check_parameters, build=build_tables))
    # The previous quarter's report mail to the programme admins, on the first day of each
    # quarter (06:00 UTC); the job writes each quarter's mail once.
    periodic(
        Periodic(
            "insight.quarterly_report",
            "samenleren.insight.jobs.send_quarterly_report",
            cron="0 6 1 1,4,7,10 *",
        )
    )
    # The comparison between organisations that share their figures: once for the platform,
    # visiting each tenant in its own context (insight.comparison).
    periodic(
        Periodic(
            "insight.comparisons",
            "samenleren.insight.jobs.compute_comparisons",
            cron="50 3 * * *",
            per_tenant=False,
        )
    )
