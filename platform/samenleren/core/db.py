"""Column types and helpers shared by every domain's models."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import Any, overload

from sqlalchemy import JSON, CursorResult, DateTime, Result, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Engine

#: JSON that is JSONB on PostgreSQL (indexable, compact) and plain JSON on SQLite.
JSONType = JSON().with_variant(JSONB(), "postgresql")

#: Timestamps are stored in UTC with their zone; shown in Europe/Amsterdam.
UTCDateTime = DateTime(timezone=True)


def utcnow() -> datetime:
    return datetime.now(UTC)


@overload
def as_utc(value: datetime) -> datetime: ...
@overload
def as_utc(value: None) -> None: ...
@overload
def as_utc(value: datetime | None) -> datetime | None: ...


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes for timezone-aware columns; treat them as UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def rowcount(result: Result[Any]) -> int:
    """How many rows a bulk UPDATE or DELETE matched. `Session.execute` is typed to return a
    plain `Result`; for those statements it is a `CursorResult`, which carries the count."""
    if not isinstance(result, CursorResult):
        raise TypeError(f"no row count on a {type(result).__name__}")
    return result.rowcount


@event.listens_for(Engine, "connect")
def _sqlite_foreign_keys(dbapi_connection, connection_record) -> None:
    """SQLite checks foreign keys (our composite same-tenant keys) only when asked to."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
