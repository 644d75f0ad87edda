"""Demo data: deterministic per tenant, idempotent, complete, and the embedded default runs."""

from __future__ import annotations

import json
from collections import Counter

from flask import Flask
from sqlalchemy import func, select

from samenleren.catalogue.models import Training
from samenleren.core.tenancy import tenant_scope
from samenleren.demo.seed import DEPARTMENTS, TRAININGS, demo_people, seed_tenant
from samenleren.extensions import db
from samenleren.identity.models import Department, Role, RoleAssignment, User
from samenleren.tenants.models import Tenant
from tests.conftest import REPO_ROOT, TenantRef


def _tenant(ref: TenantRef) -> Tenant:
    return db.session.get(Tenant, ref.id)


def _counts(tenant: Tenant) -> dict[str, int]:
    with tenant_scope(tenant):
        return {
            model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
            for model in (Department, User, RoleAssignment, Training)
        }


def test_seeding_is_deterministic_per_slug(app: Flask, tenants: dict[str, TenantRef]) -> None:
    """The same slug always gives the same people, in the database too."""
    with app.app_context():
        flevoland = _tenant(tenants["flevoland"])
        first = [(p.subject, p.name, p.email, p.roles) for p in demo_people(flevoland)]
        second = [(p.subject, p.name, p.email, p.roles) for p in demo_people(flevoland)]
        assert first == second
        seed_tenant(flevoland)
        with tenant_scope(flevoland):
            stored = set(db.session.scalars(select(User.subject)))
    assert stored == {subject for subject, *_ in first}
    assert len(stored) == len(first)


def test_seeding_twice_adds_nothing(app: Flask, tenants: dict[str, TenantRef]) -> None:
    """A second seed of the same tenant leaves every table's row count unchanged."""
    with app.app_context():
        flevoland = _tenant(tenants["flevoland"])
        seed_tenant(flevoland)
        once = _counts(flevoland)
        seed_tenant(flevoland)
        assert _counts(flevoland) == once
    assert once["departments"] == len(DEPARTMENTS)
    assert once["trainings"] == len(TRAININGS)
    assert once["users"] > 50


def test_tenants_get_different_people(app: Flask, tenants: dict[str, TenantRef]) -> None:
    """Flevoland and Gelderland get different names and e-mail domains."""
    with app.app_context():
        fle = demo_people(_tenant(tenants["flevoland"]))
        gel = demo_people(_tenant(tenants["gelderland"]))
    fle_names, gel_names = {p.name for p in fle}, {p.name for p in gel}
    assert len(fle_names & gel_names) <= len(fle_names) // 10
    assert all(p.email.endswith("@gelderland.example.nl") for p in gel if p.department)
    assert all(
        p.email.endswith("@flevoland.example.nl") or "trainingsbureau" in p.email for p in fle
    )


def test_every_role_is_present_with_the_tenants_own_groups(
    app: Flask, tenants: dict[str, TenantRef]
) -> None:
    """Each role is held by someone, through the groups of the tenant's own IdP mapping."""
    with app.app_context():
        gelderland = _tenant(tenants["gelderland"])
        people = seed_tenant(gelderland)
        group_roles = gelderland.group_roles
        with tenant_scope(gelderland):
            stored = Counter(db.session.scalars(select(RoleAssignment.role)))
    assert set(stored) == set(Role)
    assert stored[Role.COACH] == 13
    assert stored[Role.LEARNER] == len(people)
    groups = {group for p in people for group in p.groups}
    assert groups and groups <= set(group_roles)


def test_managers_are_set(app: Flask, tenants: dict[str, TenantRef]) -> None:
    """Every employee has their department's manager as line manager, in the database."""
    with app.app_context():
        flevoland = _tenant(tenants["flevoland"])
        people = seed_tenant(flevoland)
        with tenant_scope(flevoland):
            users = {u.subject: u for u in db.session.scalars(select(User))}
            for person in people:
                user = users[person.subject]
                if person.manager_subject is None:
                    assert user.manager_id is None
                    continue
                assert user.manager.subject == person.manager_subject
                assert Role.MANAGER in user.manager.roles
                if Role.MANAGER not in user.roles and Role.PROGRAMME_ADMIN not in user.roles:
                    assert user.manager.department_id == user.department_id
    with_manager = [p for p in people if p.manager_subject]
    assert len(with_manager) >= len(DEPARTMENTS) * 6


def test_demo_seed_json_lists_the_users(app: Flask, tenants: dict[str, TenantRef]) -> None:
    """`flask demo seed SLUG --json` prints the demo users for an IdP as valid JSON."""
    result = app.test_cli_runner().invoke(args=["demo", "seed", "flevoland", "--json"])
    assert result.exit_code == 0, result.output
    users = json.loads(result.output)["users"]
    assert users
    for user in users:
        assert set(user) == {"sub", "name", "email", "roles", "groups"}
        assert isinstance(user["roles"], list) and isinstance(user["groups"], list)
    with app.app_context(), tenant_scope(_tenant(tenants["flevoland"])):
        stored = set(db.session.scalars(select(User.subject)))
    assert {user["sub"] for user in users} == stored

    plain = app.test_cli_runner().invoke(args=["demo", "seed", "flevoland"])
    assert plain.exit_code == 0
    assert plain.output.strip() == f"flevoland: {len(users)} demo users present"


def test_demo_seed_of_an_unknown_tenant_fails(app: Flask) -> None:
    """Seeding a slug that was never onboarded exits non-zero and says to onboard first."""
    result = app.test_cli_runner().invoke(args=["demo", "seed", "nergensland"])
    assert result.exit_code != 0
    assert "onboard it first" in result.output


def test_the_embedded_default_serves_flevoland(sqlite_app: Flask) -> None:
    """Fresh SQLite file, migrations, onboarding from the shipped manifest and seeding: the
    landing page of Provincie Flevoland is served."""
    runner = sqlite_app.test_cli_runner()
    manifest = REPO_ROOT / "tenants" / "flevoland.toml"
    onboarded = runner.invoke(args=["tenants", "onboard", str(manifest)])
    assert onboarded.exit_code == 0, onboarded.output
    seeded = runner.invoke(args=["demo", "seed", "flevoland"])
    assert seeded.exit_code == 0, seeded.output
    assert runner.invoke(args=["demo", "seed", "flevoland"]).output == seeded.output

    client = sqlite_app.test_client()
    page = client.get("/flevoland/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Provincie Flevoland" in html
    assert client.get("/flevoland/theme.css").status_code == 200
    assert client.get("/flevoland/logo").mimetype == "image/svg+xml"
    assert client.get("/gelderland/").status_code == 404
