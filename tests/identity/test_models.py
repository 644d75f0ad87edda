"""Users and roles per tenant; the platform operator has no tenant."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError

from samenleren.core.extensions import db
from samenleren.core.tenancy import TenantScoped, tenant_scope
from samenleren.core.tenant import Tenant
from samenleren.identity.models import PlatformOperator, Role, User
from tests.conftest import make_user


def test_a_user_can_hold_several_roles_and_has_a_manager(ctx, tenants):
    flevoland = tenants["flevoland"]
    boss = make_user(flevoland, "marieke.boss", "manager", "learner")
    worker = make_user(flevoland, "piet.worker", "learner", "coach", manager_id=boss)
    with tenant_scope(db.session.get(Tenant, flevoland.id)):
        user = db.session.scalar(select(User).where(User.id == worker))
        assert user.roles == {Role.LEARNER, Role.COACH}
        assert user.manager.subject == "marieke.boss"
        assert user.manager.roles == {Role.MANAGER, Role.LEARNER}


def test_users_are_keyed_by_tenant_and_subject_not_by_email(ctx, tenants):
    make_user(tenants["flevoland"], "same.subject")
    make_user(tenants["gelderland"], "same.subject")  # another tenant: another person
    flevoland = db.session.get(Tenant, tenants["flevoland"].id)
    with tenant_scope(flevoland):
        # The same e-mail address under another subject is another user, not a match.
        db.session.add(
            User(subject="other.subject", name="X", email="same.subject@flevoland.example.nl")
        )
        db.session.commit()
        assert db.session.scalar(select(db.func.count()).select_from(User)) == 2
        db.session.add(User(subject="same.subject", name="Duplicate"))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()


def test_the_platform_operator_has_no_tenant(ctx):
    assert not issubclass(PlatformOperator, TenantScoped)
    assert "tenant_id" not in {c.key for c in inspect(PlatformOperator).columns}
    db.session.add(PlatformOperator(subject="operator-1", name="Beheerder"))
    db.session.commit()  # no tenant in context, and none needed
    assert db.session.scalar(select(PlatformOperator.name)) == "Beheerder"
