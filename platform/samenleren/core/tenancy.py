"""Tenant context and the two application-side walls of tenant isolation.

Wall 1 (resolution) sets the tenant once per request or job with `activate_tenant()`.
Wall 2 (application scoping) lives here as session events:

* every ORM query that touches a `TenantScoped` model gets `tenant_id = <current>` added through
  `with_loader_criteria`; with no tenant set it raises `TenantNotSet` instead of returning rows of
  every tenant. The single, greppable way out is `.execution_options(all_tenants=True)`.
* `before_flush` stamps new rows with the current tenant and refuses to write a row of another
  tenant (or any tenant row with no tenant set).
* a bulk `insert()` is checked row by row; `INSERT … FROM SELECT` into a tenant table is refused
  outright: its SELECT would run unscoped (loader criteria do not reach into an INSERT), so it
  could copy any tenant's rows. PostgreSQL's row-level security blocks that too, SQLite has
  nothing of the kind. Select the rows, then insert them.

Wall 3 (the database) is the PostgreSQL row-level security policy on `app.tenant_id`, which the
`after_begin` event below sets inside every transaction (see `samenleren.core.rls`).
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from flask import abort, g, has_app_context
from sqlalchemy import ForeignKey, ForeignKeyConstraint, Uuid, event, text
from sqlalchemy.orm import (
    Mapped,
    ORMExecuteState,
    declared_attr,
    mapped_column,
    with_loader_criteria,
)
from sqlalchemy.sql.util import find_tables
from sqlalchemy.util import LRUCache

from samenleren.core.session import TenantAwareSession

if TYPE_CHECKING:
    from samenleren.core.tenant import Tenant


class TenantNotSet(RuntimeError):
    """Tenant data was queried or written with no tenant in context."""


class CrossTenantWrite(RuntimeError):
    """A row of one tenant was about to be written while another tenant is in context."""


class TenantScoped:
    """Mixin for every tenant-owned model: primary key `(tenant_id, id)`.

    References between tenant tables use `tenant_foreign_key()`, a composite foreign key that
    includes `tenant_id`, so the database refuses a row that points into another tenant.
    """

    @declared_attr
    def tenant_id(cls) -> Mapped[uuid.UUID]:
        # First column of the table and of the primary key (sort_order): the key's index then
        # serves every "WHERE tenant_id = ..." and the table is ready to be sharded by tenant.
        return mapped_column(
            Uuid, ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True, sort_order=-2
        )

    #: Random UUIDs work the same on PostgreSQL and SQLite and reveal nothing about volume.
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4, sort_order=-1)


def tenant_foreign_key(
    column: str, target_table: str, *, ondelete: str | None = None
) -> ForeignKeyConstraint:
    """`(tenant_id, <column>) -> <target_table>(tenant_id, id)`: same-tenant references only."""
    return ForeignKeyConstraint(
        ["tenant_id", column],
        [f"{target_table}.tenant_id", f"{target_table}.id"],
        ondelete=ondelete,
    )


# --- the context -----------------------------------------------------------------------------


def current_tenant() -> Tenant | None:
    """The tenant of this request or job, or None outside any tenant."""
    if not has_app_context():
        return None
    return g.get("tenant")


def require_tenant() -> Tenant:
    """The tenant of this request or job, for code that only runs inside one.

    Fails closed: with no tenant in context it answers 404 (in a job, the `NotFound` fails the
    job) instead of carrying on with None.
    """
    tenant = current_tenant()
    if tenant is None:
        abort(404)
    return tenant


def current_tenant_id() -> uuid.UUID | None:
    """The id captured at activation: reading `tenant.id` could reload an expired row from
    inside a session event, where the session may not run a query."""
    if not has_app_context():
        return None
    return g.get("tenant_id")


def activate_tenant(tenant: Tenant | None) -> None:
    """Make `tenant` the context of this request or job (None leaves every tenant)."""
    from samenleren.core.extensions import db

    g.tenant = tenant
    g.tenant_id = tenant.id if tenant is not None else None
    session = db.session()
    if session.in_transaction():
        # The transaction began before the tenant was known (resolving the slug reads the
        # tenants table): bring its RLS setting in line now.
        for connection in _connections(session):
            _apply_rls_setting(connection)


@contextmanager
def tenant_scope(tenant: Tenant | None) -> Iterator[None]:
    """Run a block as `tenant` (CLI commands, jobs, tests); restores the previous context."""
    previous = g.get("tenant")
    activate_tenant(tenant)
    try:
        yield
    finally:
        activate_tenant(previous)


# --- wall 2: application scoping ---------------------------------------------------------------


@functools.cache
def _tenant_table_names() -> frozenset[str]:
    """Names of all tenant-owned tables; every model is imported before the first query."""
    names: set[str] = set()
    pending = list(TenantScoped.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        table = getattr(cls, "__table__", None)
        if table is not None:
            names.add(table.name)
    return frozenset(names)


#: Whether a statement reads or writes a tenant table, by the statement's shape (SQLAlchemy's
#: cache key without the bound values: the tables are part of it). Walking a statement for its
#: tables costs a tenth of a large page's time, and pages build the same statements on every
#: request; the cache key is computed for the compiled-statement cache anyway.
_touches_by_shape: LRUCache[Any, bool] = LRUCache(2000)


def _touches_tenant_data(state: ORMExecuteState) -> bool:
    if any(issubclass(mapper.class_, TenantScoped) for mapper in state.all_mappers):
        return True
    # `all_mappers` only lists the selected entities: `select(func.count()).select_from(User)`
    # or a subquery over a tenant table would otherwise run unscoped, across every tenant.
    statement = state.statement
    # None: the statement cannot be cached (an ORM statement is a ClauseElement, which has one)
    cache_key = statement._generate_cache_key()  # type: ignore[attr-defined]
    if cache_key is None:
        return _reads_tenant_table(statement)
    found = _touches_by_shape.get(cache_key.key)
    if found is None:
        found = _touches_by_shape[cache_key.key] = _reads_tenant_table(statement)
    return found


def _reads_tenant_table(statement: Any) -> bool:
    names = _tenant_table_names()
    tables = find_tables(
        statement, include_aliases=True, include_joins=True, include_crud=True, check_columns=True
    )
    return any(getattr(table, "name", None) in names for table in tables)


@event.listens_for(TenantAwareSession, "do_orm_execute")
def _scope_to_tenant(state: ORMExecuteState) -> None:
    if state.is_column_load or state.execution_options.get("all_tenants", False):
        return
    if not (state.is_select or state.is_update or state.is_delete or state.is_insert):
        return
    if not _touches_tenant_data(state):
        return
    tenant_id = current_tenant_id()
    if tenant_id is None:
        raise TenantNotSet("tenant data queried with no tenant in context")
    if state.is_insert:
        # `session.execute(insert(Model)...)` bypasses before_flush: check its rows here.
        _check_inserted_tenant(state, tenant_id)
        return
    state.statement = state.statement.options(
        with_loader_criteria(
            TenantScoped, lambda cls: cls.tenant_id == tenant_id, include_aliases=True
        )
    )


def _check_inserted_tenant(state: ORMExecuteState, tenant_id: uuid.UUID) -> None:
    if getattr(state.statement, "select", None) is not None:
        raise CrossTenantWrite(
            "INSERT … FROM SELECT into tenant data is refused: its SELECT is not scoped to the "
            "tenant; select the rows, then insert them"
        )
    rows = state.parameters
    if rows:  # session.execute(insert(Model), [{...}, ...])
        batch: list[Any] = [rows] if isinstance(rows, dict) else list(rows)
        given = [row.get("tenant_id") for row in batch]
    else:  # insert(Model).values(...), one row or several
        given = [
            value
            for name, value in state.statement.compile().params.items()  # type: ignore[attr-defined]
            if name == "tenant_id" or name.startswith("tenant_id_m")
        ]
    if any(value is not None and uuid.UUID(str(value)) != tenant_id for value in given):
        raise CrossTenantWrite("rows of another tenant inserted")


@event.listens_for(TenantAwareSession, "before_flush")
def _check_tenant_on_write(session: Any, flush_context: Any, instances: Any) -> None:
    tenant_id = current_tenant_id()
    for obj in session.new:
        if not isinstance(obj, TenantScoped):
            continue
        if tenant_id is None:
            raise TenantNotSet(f"{type(obj).__name__} written with no tenant in context")
        if obj.tenant_id is None:
            obj.tenant_id = tenant_id
        elif obj.tenant_id != tenant_id:
            raise CrossTenantWrite(f"{type(obj).__name__} belongs to another tenant")
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, TenantScoped) and (tenant_id is None or obj.tenant_id != tenant_id):
            raise CrossTenantWrite(f"{type(obj).__name__} changed outside its tenant")


# --- wall 3: the database setting, per transaction ------------------------------------------------


def _connections(session: Any) -> list[Any]:
    transaction = session.get_transaction()
    if transaction is None:
        return []
    # The transaction lists each connection under two keys (the connection and its engine).
    unique = {id(conn): conn for conn, *_ in transaction._connections.values()}
    return list(unique.values())


_SET_TENANT = text(
    "SELECT (SELECT xmin::text FROM tenants WHERE id = CAST(NULLIF(:tenant_id, '') AS uuid)) "
    "FROM (SELECT set_config('app.tenant_id', :tenant_id, true)) AS setting"
)


def _apply_rls_setting(connection: Any) -> None:
    if connection.dialect.name != "postgresql":
        return
    tenant_id = current_tenant_id()
    # Transaction-local (third argument true): it can never leak into another request that
    # reuses this pooled connection. An empty string means "no tenant": the policy sees no rows.
    # The same statement reads the version of the tenant's row (`xmin`), against which a tenant
    # taken from the per-process cache is checked (core.tenant): no round trip of its own.
    g.tenant_row_version = connection.execute(
        _SET_TENANT, {"tenant_id": str(tenant_id) if tenant_id else ""}
    ).scalar()


@event.listens_for(TenantAwareSession, "after_begin")
def _set_rls_tenant(session: Any, transaction: Any, connection: Any) -> None:
    # With no tenant there is nothing to set: we only ever set the value transaction-locally,
    # so a new transaction starts with it unset, which the policy reads as "no rows". This saves
    # a round trip on every request, whose first transaction begins before the tenant is known.
    if current_tenant_id() is not None:
        _apply_rls_setting(connection)
