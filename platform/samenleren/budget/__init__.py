"""The budget ledger: a yearly budget in categories, commitments from the catalogue, actuals.

Connected by `init_app`: the thresholds are checked again whenever enrolments or an edition's
costs change (`receivers`).
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from samenleren.budget import receivers

    receivers.connect()
