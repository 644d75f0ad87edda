"""Which tenant's data changed: a counter per tenant and *watch*, raised when a transaction that
wrote to the watch's tables commits, for caches of figures computed from those tables.

A cache puts the counter in its key (`generation`): once a change commits, the old entries are
never read again and expire on their own. A domain declares what its figures do not depend on
(`watch`): tables it never reads, and for tables it reads only a few columns of, those columns
(a user's `last_login_at` changes with every login; a report that recounted after each login
would hardly ever be served from its cache). Every other write to a tenant table counts, so a
table added later invalidates by default: a cache errs by being empty, not by being stale.

What is seen: rows the ORM session inserts, updates or deletes (`after_flush`) and the session's
bulk INSERT, UPDATE and DELETE statements (`do_orm_execute`) - all writes of the application.
Writes outside the session (migrations, `psql`) are not seen: a cache keeps its entries for a
limited time for that reason. The counters live in Redis; without it (`make run`), or when it
does not answer, `generation` is None and callers compute afresh.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from flask import current_app, has_app_context
from pydantic import TypeAdapter, ValidationError
from redis.exceptions import RedisError
from sqlalchemy import event, inspect
from sqlalchemy.orm import ORMExecuteState, Session

from samenleren.core.tenancy import TenantAwareSession, TenantScoped, current_tenant_id

log = logging.getLogger(__name__)

_PENDING = "samenleren_changed_tenants"

T = TypeVar("T")


@dataclass(frozen=True)
class Watch:
    name: str
    #: Tables whose writes never change what the watch's caches hold.
    ignored_tables: frozenset[str] = frozenset()
    #: Per table, the only columns whose updates do (inserts and deletes always do).
    read_columns: dict[str, frozenset[str]] = field(default_factory=dict)

    def sees(self, table: str, changed: set[str] | None) -> bool:
        """Whether a write to `table` (an update of `changed` columns; None: an insert, a
        delete or a bulk statement) concerns this watch."""
        if table in self.ignored_tables:
            return False
        read = self.read_columns.get(table)
        return read is None or changed is None or bool(changed & read)


_WATCHES: dict[str, Watch] = {}


def watch(
    name: str,
    *,
    ignored_tables: frozenset[str] = frozenset(),
    read_columns: dict[str, frozenset[str]] | None = None,
) -> None:
    """Count the commits that change tenant data, except writes to `ignored_tables` and
    updates of a `read_columns` table that change none of its columns named there."""
    _WATCHES[name] = Watch(name, ignored_tables, dict(read_columns or {}))


def key(name: str, tenant_id: uuid.UUID) -> str:
    """The Redis key of a counter (and the prefix of a cache's entries for that tenant)."""
    prefix = current_app.config.get("SAMENLEREN_QUEUE_PREFIX", "")
    return f"{prefix}cache:{name}:{tenant_id}"


def redis_client():
    """The app's Redis (the job runtime's connection): the counters' and the caches' store."""
    from samenleren.core.jobs.runtime import connection

    return connection()


def generation(name: str, tenant_id: uuid.UUID) -> int | None:
    """The counter of `name` for the tenant (0 before the first change); None without Redis or
    when it does not answer (then nothing may be cached)."""
    if not current_app.config.get("REDIS_URL"):
        return None
    try:
        value = redis_client().get(key(name, tenant_id))
    except RedisError as error:  # compute afresh, never fail the page
        log.warning("change counter %s unreadable: %s", name, error)
        return None
    return int(value or 0)


def kept(
    name: str,
    tenant_id: uuid.UUID | None,
    entry: str,
    adapter: TypeAdapter[T],
    compute: Callable[[], T],
    *,
    seconds: int,
) -> T:
    """`compute()`, kept in Redis for `seconds` under the tenant's counter of `name`: computed
    again after the next change that counter sees, or when nothing may be kept (no tenant, no
    Redis, `seconds` 0). `entry` names what was computed (what its inputs select); stored as
    JSON through `adapter`, never pickled: whoever can write to Redis must not be able to make
    the application run code. Redis trouble only costs the time to compute."""
    counter = generation(name, tenant_id) if seconds > 0 and tenant_id is not None else None
    if counter is None:
        return compute()
    address = f"{key(name, tenant_id)}:{counter}:{entry}"  # type: ignore[arg-type]
    redis = redis_client()
    try:
        found = redis.get(address)
    except RedisError as error:
        log.warning("%s: not read from the cache: %s", name, error)
        found = None
    if found is not None:
        try:
            return adapter.validate_json(found)
        except ValidationError:
            log.warning("%s: an entry of the cache is unreadable; computed again", name)
    value = compute()
    try:
        redis.set(address, adapter.dump_json(value), ex=seconds)
    except RedisError as error:
        log.warning("%s: not kept in the cache: %s", name, error)
    return value


def _note(session: Session, table: str, tenant_id: uuid.UUID | None, changed: set[str] | None):
    if tenant_id is None:
        return
    for name, watched in _WATCHES.items():
        if watched.sees(table, changed):
            session.info.setdefault(_PENDING, set()).add((name, tenant_id))


def _changed_columns(instance: object) -> set[str]:
    """The columns an update changes (a relationship's change is its rows' own insert or
    delete, seen there)."""
    state = inspect(instance)
    return {
        column.key
        for column in state.mapper.column_attrs
        if state.attrs[column.key].history.has_changes()
    }


@event.listens_for(TenantAwareSession, "after_flush")
def _after_flush(session: Session, flush_context) -> None:
    if not _WATCHES:
        return
    for instances, updated in (
        (session.new, False),
        (session.dirty, True),
        (session.deleted, False),
    ):
        for instance in instances:
            if not isinstance(instance, TenantScoped):
                continue
            changed = _changed_columns(instance) if updated else None
            if updated and not changed:
                continue
            _note(session, instance.__table__.name, instance.tenant_id, changed)  # type: ignore[attr-defined]


@event.listens_for(TenantAwareSession, "do_orm_execute")
def _bulk_statement(state: ORMExecuteState) -> None:
    if not _WATCHES or not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    name = getattr(table, "name", None)
    if name is not None:
        _note(state.session, name, current_tenant_id(), None)


@event.listens_for(TenantAwareSession, "after_commit")
def _after_commit(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if not pending or not has_app_context() or not current_app.config.get("REDIS_URL"):
        return
    try:
        with redis_client().pipeline(transaction=False) as pipe:
            for name, tenant_id in pending:
                pipe.incr(key(name, tenant_id))
            pipe.execute()
    except RedisError as error:  # committed; a cache lags until it expires
        log.warning("change counters not raised: %s", error)


@event.listens_for(TenantAwareSession, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
