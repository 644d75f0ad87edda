"""The database session class, with the tenancy walls attached as session events.

Flask-SQLAlchemy gives one session per application context, so one per request and, because
every job runs in a fresh application context, one per job (docs/architecture.md, "A request").
"""

from __future__ import annotations

from flask_sqlalchemy.session import Session as FlaskSQLAlchemySession


class TenantAwareSession(FlaskSQLAlchemySession):
    """A Flask-SQLAlchemy session; `samenleren.core.tenancy` registers its events on this class."""
