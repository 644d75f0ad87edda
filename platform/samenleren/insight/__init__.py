"""Programme insight: did the training pay off? The report over the programme's trajectories.

A read-side face: it reads trajectories, the catalogue, coaching and process templates and
computes figures (`figures`) for a period and filters (`scope`); the report page, its team view
for managers and its CSV are in `views`. Nothing in the programme imports it. What people
write (expected results, their ratings) belongs to the programme (`trajectories.results`).
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from samenleren.exports.datasets import Provider, provide
    from samenleren.exports.models import Dataset
    from samenleren.insight.tables import build_tables, check_parameters

    # The report's tables as an export: exports sits below insight and builds them through
    # this provider, in the background like every export.
    provide(Dataset.INSIGHT, Provider(check=check_parameters, build=build_tables))
