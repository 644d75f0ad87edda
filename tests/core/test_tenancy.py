"""Wall 2: the ORM keeps every query and every write inside the tenant in context.

Each test runs twice: on SQLite, where there is no row-level security so wall 2 stands alone
(a leak there is a leak of wall 2), and on PostgreSQL as the runtime role, the production setup.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from flask import Flask
from sqlalchemy import Uuid, delete, func, insert, literal, select, update
from sqlalchemy.orm import aliased
from werkzeug.exceptions import NotFound

from samenleren.catalogue.models import Training
from samenleren.core.extensions import db
from samenleren.core.tenancy import (
    CrossTenantWrite,
    TenantNotSet,
    current_tenant_id,
    require_tenant,
    tenant_scope,
)
from samenleren.core.tenant import Tenant
from samenleren.identity.models import Department, User
from tests.conftest import REPO_ROOT

USERS_PER_TENANT = 3
TRAININGS_PER_TENANT = 2


@dataclass(frozen=True)
class World:
    """Two tenants with a few rows each, on one backend."""

    app: Flask
    backend: str
    a: uuid.UUID
    b: uuid.UUID
    users: dict[uuid.UUID, list[uuid.UUID]]


@contextmanager
def as_tenant(tenant_id: uuid.UUID | None) -> Iterator[None]:
    """Run a block with the tenant of `tenant_id` in context (None: no tenant)."""
    tenant = db.session.get(Tenant, tenant_id) if tenant_id else None
    with tenant_scope(tenant):
        yield


def _fill(tenant: Tenant) -> list[uuid.UUID]:
    """Departments, a manager chain of users and trainings inside `tenant`."""
    with tenant_scope(tenant):
        department = Department(name=f"Afdeling {tenant.slug}")
        db.session.add(department)
        users: list[User] = []
        for number in range(USERS_PER_TENANT):
            user = User(
                subject=f"{tenant.slug}-{number}",
                name=f"Medewerker {number} van {tenant.slug}",
                department=department,
                manager=users[-1] if users else None,
            )
            db.session.add(user)
            users.append(user)
        for number in range(TRAININGS_PER_TENANT):
            db.session.add(Training(title=f"Training {number} {tenant.slug}"))
        db.session.commit()
        return [user.id for user in users]


@pytest.fixture(params=["sqlite", "postgresql"])
def world(request: pytest.FixtureRequest) -> Iterator[World]:
    if request.param == "sqlite":
        app: Flask = request.getfixturevalue("sqlite_app")
        from samenleren.tenants.manifest import load_manifest
        from samenleren.tenants.services import onboard_tenant

        with app.app_context():
            ids = [
                onboard_tenant(load_manifest(REPO_ROOT / "tenants" / f"{slug}.toml")).tenant.id
                for slug in ("flevoland", "gelderland")
            ]
    else:
        app = request.getfixturevalue("app")
        refs = request.getfixturevalue("tenants")
        ids = [refs["flevoland"].id, refs["gelderland"].id]
    with app.app_context():
        users = {tid: _fill(db.session.get(Tenant, tid)) for tid in ids}
    with app.app_context():
        yield World(app, request.param, ids[0], ids[1], users)


# --- reading --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        pytest.param(lambda: select(User), id="entity"),
        pytest.param(lambda: select(User.name), id="column"),
        pytest.param(lambda: select(func.count()).select_from(User), id="count-select-from"),
        pytest.param(lambda: select(func.count(User.id)), id="count-column"),
        pytest.param(
            lambda: select(func.count()).select_from(select(User.id).subquery()), id="subquery"
        ),
        pytest.param(lambda: update(User).values(name="x"), id="bulk-update"),
        pytest.param(lambda: delete(Training), id="bulk-delete"),
    ],
)
def test_no_tenant_in_context_raises(world: World, statement) -> None:
    """With no tenant set, every ORM statement on tenant data raises instead of returning rows."""
    assert current_tenant_id() is None
    with pytest.raises(TenantNotSet):
        db.session.execute(statement())


def test_get_by_key_without_tenant_raises(world: World) -> None:
    """`session.get()` of a tenant row not yet loaded raises too: it is a query."""
    with pytest.raises(TenantNotSet):
        db.session.get(User, (world.a, world.users[world.a][0]))


def test_platform_tables_need_no_tenant(world: World) -> None:
    """The tenant registry is not tenant-owned: resolving a slug works with no tenant set."""
    slugs = set(db.session.scalars(select(Tenant.slug)))
    assert slugs == {"flevoland", "gelderland"}


def test_select_returns_only_the_current_tenant(world: World) -> None:
    """With tenant A set, a plain select gives A's rows and none of B's."""
    with as_tenant(world.a):
        users = db.session.scalars(select(User)).all()
        trainings = db.session.scalars(select(Training)).all()
    assert {u.id for u in users} == set(world.users[world.a])
    assert {u.tenant_id for u in users} == {world.a}
    assert {t.tenant_id for t in trainings} == {world.a}
    assert len(trainings) == TRAININGS_PER_TENANT


def test_asking_for_another_tenant_explicitly_gives_nothing(world: World) -> None:
    """A filter on B's id or B's key, written while A is set, finds nothing."""
    b_user = world.users[world.b][0]
    with as_tenant(world.a):
        assert db.session.scalars(select(User).where(User.tenant_id == world.b)).all() == []
        assert db.session.scalars(select(User).where(User.id == b_user)).all() == []
        assert db.session.get(User, (world.b, b_user)) is None


@pytest.mark.parametrize(
    "statement",
    [
        pytest.param(lambda: select(func.count()).select_from(User), id="count-select-from"),
        pytest.param(lambda: select(func.count(User.id)), id="count-column"),
        pytest.param(
            lambda: select(func.count()).select_from(select(User.id).subquery()), id="subquery"
        ),
    ],
)
def test_counts_are_scoped(world: World, statement) -> None:
    """Counts in every spelling count the current tenant's rows only."""
    with as_tenant(world.a):
        assert db.session.scalar(statement()) == USERS_PER_TENANT


def test_statements_of_the_same_shape_are_scoped_every_time(world: World) -> None:
    """Whether a statement touches tenant data is remembered per shape (`_touches_by_shape`):
    the same statement again, with other values, is scoped and refused as the first was, and a
    platform table stays readable without a tenant."""
    from samenleren.core import tenancy

    tenancy._touches_by_shape.clear()

    def union(name: str):
        return (
            select(User.id)
            .where(User.name == name)
            .union_all(select(Training.id).where(Training.title == name))
        )

    def count():
        return select(func.count()).select_from(select(User.id).subquery())

    for attempt in range(2):
        with pytest.raises(TenantNotSet):
            db.session.execute(union(f"name {attempt}"))
        with pytest.raises(TenantNotSet):
            db.session.execute(count())
        assert set(db.session.scalars(select(Tenant.slug).where(Tenant.slug != f"x{attempt}"))) == {
            "flevoland",
            "gelderland",
        }
        with as_tenant(world.a):
            assert db.session.scalar(count()) == USERS_PER_TENANT
            assert len(db.session.execute(union("nobody")).all()) == 0
    assert len(tenancy._touches_by_shape) >= 2  # remembered, not walked again


def test_joins_and_aliases_are_scoped(world: World) -> None:
    """Both sides of a self-join (user and manager alias) stay inside the tenant."""
    manager = aliased(User)
    with as_tenant(world.a):
        rows = db.session.execute(
            select(User.tenant_id, manager.tenant_id).join(manager, User.manager)
        ).all()
    assert len(rows) == USERS_PER_TENANT - 1
    assert {tid for row in rows for tid in row} == {world.a}


def test_relationship_loads_stay_in_the_tenant(world: World) -> None:
    """Lazy loads (manager, department, role assignments) are scoped like queries."""
    with as_tenant(world.a):
        last = db.session.get(User, (world.a, world.users[world.a][-1]))
        assert last.manager is not None and last.manager.tenant_id == world.a
        assert last.department is not None and last.department.tenant_id == world.a


# --- bulk writes ----------------------------------------------------------------------------------


def _names(tenant_id: uuid.UUID) -> set[str]:
    with as_tenant(tenant_id):
        return set(db.session.scalars(select(User.name)))


def test_bulk_update_touches_only_the_current_tenant(world: World) -> None:
    """`update(User)` with no WHERE changes A's rows and leaves B's alone."""
    b_before = _names(world.b)
    with as_tenant(world.a):
        result = db.session.execute(update(User).values(name="Hernoemd"))
        db.session.commit()
    assert result.rowcount == USERS_PER_TENANT
    assert _names(world.a) == {"Hernoemd"}
    assert _names(world.b) == b_before


def test_bulk_delete_touches_only_the_current_tenant(world: World) -> None:
    """`delete(Training)` with no WHERE removes A's trainings and none of B's."""
    with as_tenant(world.a):
        result = db.session.execute(delete(Training))
        db.session.commit()
        assert db.session.scalar(select(func.count(Training.id))) == 0
    assert result.rowcount == TRAININGS_PER_TENANT
    with as_tenant(world.b):
        assert db.session.scalar(select(func.count(Training.id))) == TRAININGS_PER_TENANT


# --- before_flush ---------------------------------------------------------------------------------


def test_new_rows_get_the_current_tenant(world: World) -> None:
    """A new row without tenant_id is stamped with the tenant in context."""
    with as_tenant(world.b):
        department = Department(name="Nieuw")
        db.session.add(department)
        db.session.commit()
        assert department.tenant_id == world.b


def test_new_row_of_another_tenant_is_refused(world: World) -> None:
    """Adding a row with B's tenant_id while A is set raises, and nothing is written."""
    with as_tenant(world.a):
        db.session.add(Department(tenant_id=world.b, name="Ingeschoven"))
        with pytest.raises(CrossTenantWrite):
            db.session.flush()
        db.session.rollback()
    with as_tenant(world.b):
        assert db.session.scalar(select(Department).where(Department.name == "Ingeschoven")) is None


def test_new_row_without_tenant_is_refused(world: World) -> None:
    """Adding a tenant row with no tenant in context raises, even with tenant_id filled in."""
    for department in (Department(name="Zwevend"), Department(tenant_id=world.a, name="Zwevend")):
        db.session.add(department)
        with pytest.raises(TenantNotSet):
            db.session.flush()
        db.session.rollback()


def _department_row(tenant_id: uuid.UUID, name: str) -> dict:
    return {"tenant_id": tenant_id, "id": uuid.uuid4(), "name": name}


@pytest.mark.parametrize(
    "statement",
    [
        pytest.param(lambda b: insert(Department).values(**_department_row(b, "X")), id="values"),
        pytest.param(
            lambda b: insert(Department).values([_department_row(b, "X"), _department_row(b, "Y")]),
            id="multi-values",
        ),
        pytest.param(lambda b: (insert(Department), [_department_row(b, "X")]), id="executemany"),
    ],
)
def test_bulk_insert_into_another_tenant_is_refused(world: World, statement) -> None:
    """`session.execute(insert(...))` skips before_flush; rows of B are still refused under A,
    and any bulk insert is refused with no tenant."""
    made = statement(world.b)
    args = made if isinstance(made, tuple) else (made,)
    with as_tenant(world.a), pytest.raises(CrossTenantWrite):
        db.session.execute(*args)
    db.session.rollback()
    with pytest.raises(TenantNotSet):
        db.session.execute(*args)
    db.session.rollback()
    with as_tenant(world.b):
        assert db.session.scalar(select(func.count(Department.id))) == 1


def test_insert_from_select_is_refused(world: World) -> None:
    """`INSERT … FROM SELECT` would copy rows of every tenant on SQLite (its SELECT is not
    scoped; PostgreSQL's row-level security would stop it): wall 2 refuses it on both."""
    copy = insert(Department).from_select(
        ["tenant_id", "id", "name"],
        select(
            literal(world.a, Uuid),
            func.lower(func.hex(func.randomblob(16)))
            if world.backend == "sqlite"
            else func.gen_random_uuid(),
            Department.name,
        ),
    )
    with as_tenant(world.a):
        before = db.session.scalar(select(func.count(Department.id)))
        with pytest.raises(CrossTenantWrite):
            db.session.execute(copy)
        db.session.rollback()
        assert db.session.scalar(select(func.count(Department.id))) == before
    with pytest.raises(TenantNotSet):
        db.session.execute(copy)
    db.session.rollback()


def test_bulk_insert_into_the_current_tenant_works(world: World) -> None:
    """A bulk insert of the current tenant's own rows goes through."""
    with as_tenant(world.a):
        db.session.execute(insert(Department), [_department_row(world.a, "Bulk")])
        db.session.commit()
        names = set(db.session.scalars(select(Department.name)))
    assert "Bulk" in names


def _load_user_of(world: World, tenant_id: uuid.UUID) -> User:
    """One of the tenant's users, loaded (and kept in the session) in its own context."""
    with as_tenant(tenant_id):
        return db.session.get(User, (tenant_id, world.users[tenant_id][0]))


@pytest.mark.parametrize("other", ["another-tenant", "no-tenant"])
def test_changing_a_row_outside_its_tenant_is_refused(world: World, other: str) -> None:
    """A row of B, loaded in B's context, cannot be changed once A (or no tenant) is set."""
    user = _load_user_of(world, world.b)
    with as_tenant(world.a if other == "another-tenant" else None):
        user.name = "Overgenomen"
        with pytest.raises(CrossTenantWrite):
            db.session.flush()
        db.session.rollback()
    assert "Overgenomen" not in _names(world.b)


@pytest.mark.parametrize("other", ["another-tenant", "no-tenant"])
def test_deleting_a_row_outside_its_tenant_is_refused(world: World, other: str) -> None:
    """A row of B, loaded in B's context, cannot be deleted once A (or no tenant) is set."""
    with as_tenant(world.b):
        training = db.session.scalars(select(Training)).first()
    with as_tenant(world.a if other == "another-tenant" else None):
        db.session.delete(training)
        with pytest.raises(CrossTenantWrite):
            db.session.flush()
        db.session.rollback()
    with as_tenant(world.b):
        assert db.session.scalar(select(func.count(Training.id))) == TRAININGS_PER_TENANT


def test_tenant_scope_restores_the_previous_tenant(world: World) -> None:
    """`tenant_scope` nests and restores the outer context on the way out."""
    with as_tenant(world.a):
        with as_tenant(world.b):
            assert current_tenant_id() == world.b
        assert current_tenant_id() == world.a
    assert current_tenant_id() is None


def test_require_tenant_fails_closed(world: World) -> None:
    """`require_tenant` gives the tenant in context, and 404 when there is none."""
    with as_tenant(world.a):
        assert require_tenant().id == world.a
    with pytest.raises(NotFound):
        require_tenant()


# --- the opt-out ----------------------------------------------------------------------------------


def test_all_tenants_option_lifts_wall_2(world: World) -> None:
    """`.execution_options(all_tenants=True)` runs the statement without the tenant filter.

    On SQLite that yields both tenants' rows; on PostgreSQL wall 3 still applies, so with no
    tenant set it yields no rows and with A set only A's rows, but it never raises.
    """
    everyone = select(User).execution_options(all_tenants=True)
    expected_none = set() if world.backend == "postgresql" else {world.a, world.b}
    assert {u.tenant_id for u in db.session.scalars(everyone)} == expected_none
    with as_tenant(world.a):
        expected_a = {world.a} if world.backend == "postgresql" else {world.a, world.b}
        assert {u.tenant_id for u in db.session.scalars(everyone)} == expected_a


@pytest.mark.parametrize(
    "options",
    [
        {"all_tenants": False},
        {"all_tenants": None},
        {"all_tenant": True},
        {"tenant_id": None},
        {"populate_existing": True},
    ],
    ids=repr,
)
def test_no_other_execution_option_lifts_wall_2(world: World, options: dict) -> None:
    """Only a true `all_tenants` opts out; near misses and other options still raise."""
    with pytest.raises(TenantNotSet):
        db.session.execute(select(User).execution_options(**options))
    with pytest.raises(TenantNotSet):
        db.session.execute(select(User), execution_options=options)


def test_the_opt_out_holds_for_one_statement_only(world: World) -> None:
    """A statement after an opted-out one is scoped again."""
    db.session.execute(select(User).execution_options(all_tenants=True)).all()
    with pytest.raises(TenantNotSet):
        db.session.execute(select(User))
