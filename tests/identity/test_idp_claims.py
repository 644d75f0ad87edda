"""What a login takes from the ID token besides name, e-mail and roles: department, employee
number and manager, from the claim names the tenant configured (SSO settings page)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
from flask import Flask

from tests.conftest import TenantRef, login, make_user


@dataclass(frozen=True)
class Profile:
    department: str | None
    employee_number: str | None
    manager: str | None  #: the manager's subject


def configure(app: Flask, tenant: TenantRef, **claims: str | None) -> None:
    from samenleren.core.extensions import db
    from samenleren.core.tenant import Tenant

    with app.app_context():
        row = db.session.get(Tenant, tenant.id)
        for key, value in claims.items():
            setattr(row, f"sso_claim_{key}", value)
        db.session.commit()


def profile(app: Flask, tenant: TenantRef, subject: str) -> Profile:
    from sqlalchemy import select
    from sqlalchemy.orm import joinedload

    from samenleren.core.extensions import db
    from samenleren.identity.models import User
    from tests.factories import in_tenant

    with in_tenant(app, tenant):
        user = db.session.scalar(
            select(User)
            .where(User.subject == subject)
            .options(joinedload(User.department), joinedload(User.manager))
        )
        return Profile(
            user.department.name if user.department else None,
            user.employee_number,
            user.manager.subject if user.manager else None,
        )


def departments(app: Flask, tenant: TenantRef) -> list[str]:
    from sqlalchemy import select

    from samenleren.core.extensions import db
    from samenleren.identity.models import Department
    from tests.factories import in_tenant

    with in_tenant(app, tenant):
        return sorted(db.session.scalars(select(Department.name)))


@pytest.fixture
def claims_configured(app, tenants) -> TenantRef:
    flevoland = tenants["flevoland"]
    configure(
        app, flevoland, department="afdeling", employee_number="personeelsnummer", manager="chef"
    )
    return flevoland


def test_department_employee_number_and_manager_come_from_the_configured_claims(
    app, tenants, claims_configured
):
    flevoland = claims_configured
    with app.app_context():
        make_user(flevoland, "marja.manager", "manager", name="Marja Manager")
    answer = login(
        app.test_client(),
        flevoland,
        "lars.leerling",
        afdeling="Ruimte en Mobiliteit",
        personeelsnummer="P-10293",
        chef="marja.manager",
    )
    assert answer.status_code == 302
    assert profile(app, flevoland, "lars.leerling") == Profile(
        "Ruimte en Mobiliteit", "P-10293", "marja.manager"
    )
    assert departments(app, flevoland) == ["Ruimte en Mobiliteit"]
    assert departments(app, tenants["gelderland"]) == []


def test_a_known_department_is_reused_and_a_move_follows_the_idp(app, claims_configured):
    flevoland = claims_configured
    login(app.test_client(), flevoland, "a.een", afdeling="Financiën")
    login(app.test_client(), flevoland, "b.twee", afdeling="Financiën")
    assert departments(app, flevoland) == ["Financiën"]
    login(app.test_client(), flevoland, "a.een", afdeling="Bedrijfsvoering", personeelsnummer=77)
    assert profile(app, flevoland, "a.een") == Profile("Bedrijfsvoering", "77", None)
    assert profile(app, flevoland, "b.twee").department == "Financiën"
    assert departments(app, flevoland) == ["Bedrijfsvoering", "Financiën"]


def test_a_claim_missing_from_the_token_leaves_the_value_alone(app, claims_configured):
    flevoland = claims_configured
    with app.app_context():
        make_user(flevoland, "de.chef", "manager")
    login(
        app.test_client(),
        flevoland,
        "c.drie",
        afdeling="Cultuur",
        personeelsnummer="9",
        chef="de.chef",
    )
    login(app.test_client(), flevoland, "c.drie", afdeling="", chef=None)  # sent empty / null
    assert profile(app, flevoland, "c.drie") == Profile("Cultuur", "9", "de.chef")


def test_claims_the_tenant_did_not_configure_are_ignored(app, tenants):
    flevoland = tenants["flevoland"]  # the manifest names only name, e-mail and groups
    with app.app_context():
        make_user(flevoland, "de.chef", "manager")
    login(
        app.test_client(),
        flevoland,
        "d.vier",
        department="Sneaky",
        employee_number="1",
        manager="de.chef",
    )
    assert profile(app, flevoland, "d.vier") == Profile(None, None, None)
    assert departments(app, flevoland) == []


def test_the_manager_must_be_a_user_of_this_tenant_and_not_oneself(app, tenants, claims_configured):
    flevoland, gelderland = claims_configured, tenants["gelderland"]
    with app.app_context():
        make_user(gelderland, "elders.chef", "manager")  # the same subject at another tenant
    login(app.test_client(), flevoland, "e.vijf", chef="elders.chef")
    assert profile(app, flevoland, "e.vijf").manager is None
    login(app.test_client(), flevoland, "e.vijf", chef="e.vijf")
    assert profile(app, flevoland, "e.vijf").manager is None
    # Once the manager has logged in here, the next login links them.
    login(app.test_client(), flevoland, "elders.chef", name="Chef Flevoland")
    login(app.test_client(), flevoland, "e.vijf", chef="elders.chef")
    assert profile(app, flevoland, "e.vijf").manager == "elders.chef"


def test_oversized_claims_are_not_stored(app, claims_configured):
    flevoland = claims_configured
    login(app.test_client(), flevoland, "f.zes", afdeling="x" * 201, personeelsnummer="9" * 65)
    assert profile(app, flevoland, "f.zes") == Profile(None, None, None)
    assert departments(app, flevoland) == []


def test_roles_from_groups_follow_each_login_and_app_roles_stay(app, tenants):
    from tests.identity.test_sso_settings import user_roles

    flevoland = tenants["flevoland"]
    with app.app_context():
        make_user(flevoland, "g.zeven", "coach")  # coach given in the application
    login(app.test_client(), flevoland, "g.zeven", groups=["SL-Trainers", "SL-Leidinggevenden"])
    assert user_roles(app, flevoland, "g.zeven") == {
        ("coach", "app"),
        ("learner", "idp"),
        ("trainer", "idp"),
        ("manager", "idp"),
    }
    login(app.test_client(), flevoland, "g.zeven", groups=["SL-Leercoaches"])
    assert user_roles(app, flevoland, "g.zeven") == {
        ("coach", "app"),
        ("coach", "idp"),
        ("learner", "idp"),
    }
    login(app.test_client(), flevoland, "g.zeven", groups=[])
    assert user_roles(app, flevoland, "g.zeven") == {("coach", "app"), ("learner", "idp")}


def test_the_idp_cannot_log_in_as_an_external_trainer(app, tenants):
    from tests.identity.test_oidc_login import snapshot

    flevoland = tenants["flevoland"]
    subject = f"external:{uuid.uuid4()}"
    with app.app_context():
        make_user(flevoland, subject, "trainer", name="Extern Persoon")
    before = snapshot(app, tenants)
    answer = login(app.test_client(), flevoland, subject, groups=["SL-Opleidingsadviseurs"])
    assert answer.status_code == 403
    assert snapshot(app, tenants) == before
    fresh = f"external:{uuid.uuid4()}"  # nor make up a new one
    assert login(app.test_client(), flevoland, fresh).status_code == 403
    assert snapshot(app, tenants) == before
