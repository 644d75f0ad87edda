"""The employee's rights under the AVG (GDPR art. 15-20): their data as a download, produced
by themselves or by the programme administrator on request, corrected or restricted.

The packages are exports of their own kinds: queued, built, kept and cleaned up by the exports'
machinery (`exports.services.register_kind`), downloadable for `requests.LIFETIME`.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from samenleren.privacy.requests import register

    register()
