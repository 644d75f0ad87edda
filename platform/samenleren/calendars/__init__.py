"""Calendar invitations (.ics), downloads and personal calendar feeds, and the return day's
invitations: calendars react to the programme's appointments (see `receivers`)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from samenleren.calendars import receivers

    receivers.connect()
