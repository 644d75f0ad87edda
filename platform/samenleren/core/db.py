"""Column types and helpers shared by every domain's models."""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime
from typing import Any, overload

from sqlalchemy import JSON, CursorResult, DateTime, Integer, Result, String, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.pool import Pool
from sqlalchemy.sql.functions import FunctionElement

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


class uuid_text(FunctionElement[str]):
    """`uuid_text(column)`: a UUID column as `str(uuid)` writes it (lower case, with hyphens),
    to look up JSON documents keyed by ids. SQLite keeps a `Uuid` as 32 hex digits."""

    type = String()
    inherit_cache = True
    name = "uuid_text"


@compiles(uuid_text, "postgresql")
def _uuid_text_postgresql(element, compiler, **kw) -> str:
    return f"CAST({compiler.process(element.clauses, **kw)} AS TEXT)"


@compiles(uuid_text, "sqlite")
def _uuid_text_sqlite(element, compiler, **kw) -> str:
    hex_digits = f"lower({compiler.process(element.clauses, **kw)})"
    parts = [f"substr({hex_digits}, {start}, {length})" for start, length in _UUID_PARTS]
    return " || '-' || ".join(parts)


_UUID_PARTS = ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))


class json_digit_at(FunctionElement[int]):
    """`json_digit_at(document, key)`: the member `key` of a JSON object when it is a whole
    number from 1 to 9 (a rating), else NULL - what `isinstance(value, int) and 1 <= value <= 9`
    says of the decoded member, without decoding the document in Python."""

    type = Integer()
    inherit_cache = True
    name = "json_digit_at"


@compiles(json_digit_at, "postgresql")
def _json_digit_at_postgresql(element, compiler, **kw) -> str:
    document, key = (compiler.process(clause, **kw) for clause in element.clauses)
    member = f"({document} -> {key})"
    return (
        f"CASE WHEN jsonb_typeof({member}) = 'number' AND ({document} ->> {key}) ~ '^[1-9]$' "
        f"THEN CAST({document} ->> {key} AS INTEGER) END"
    )


@compiles(json_digit_at, "sqlite")
def _json_digit_at_sqlite(element, compiler, **kw) -> str:
    document, key = (compiler.process(clause, **kw) for clause in element.clauses)
    path = f"""('$."' || {key} || '"')"""
    return (
        f"CASE WHEN json_type({document}, {path}) = 'integer' "
        f"AND json_extract({document}, {path}) BETWEEN 1 AND 9 "
        f"THEN json_extract({document}, {path}) END"
    )


def rowcount(result: Result[Any]) -> int:
    """How many rows a bulk UPDATE or DELETE matched. `Session.execute` is typed to return a
    plain `Result`; for those statements it is a `CursorResult`, which carries the count."""
    if not isinstance(result, CursorResult):
        raise TypeError(f"no row count on a {type(result).__name__}")
    return result.rowcount


#: A pooled connection unused for longer than this (seconds) is pinged before it is handed out.
PING_AFTER_IDLE = 1.0


@event.listens_for(Pool, "checkin")
def _note_idle_since(dbapi_connection, connection_record) -> None:
    connection_record.info["idle_since"] = time.monotonic()


@event.listens_for(Pool, "checkout")
def _ping_when_idle(dbapi_connection, connection_record, connection_proxy) -> None:
    """Ping a connection only when it has been idle (SQLAlchemy's custom pessimistic recipe).

    Under load a connection comes back within milliseconds: no round trip for a ping. One that
    lay idle while the server restarted answers the ping with an error, and the pool throws it
    away and hands out a fresh one (`DisconnectionError`), so no request meets a dead
    connection. (core.web also retries a tenant request whose first statement met one.)
    """
    idle_since = connection_record.info.get("idle_since")
    if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE:
        return
    if isinstance(dbapi_connection, sqlite3.Connection):
        return
    autocommit = dbapi_connection.autocommit
    try:
        dbapi_connection.autocommit = True  # a ping opens no transaction
        dbapi_connection.execute("SELECT 1")
        dbapi_connection.autocommit = autocommit
    except Exception as error:  # any failure means "do not use this connection"
        raise DisconnectionError(f"pooled connection unusable: {error}") from error


@event.listens_for(Engine, "connect")
def _sqlite_foreign_keys(dbapi_connection, connection_record) -> None:
    """SQLite checks foreign keys (our composite same-tenant keys) only when asked to."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
