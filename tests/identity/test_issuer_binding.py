"""Users are bound to the identity provider that vouched for them (issuer + subject, and Entra
ID's tid + oid): a programme administrator who points the tenant at an IdP they control cannot
log in as anyone. A new issuer waits for a second party's approval, which re-links the users,
each one audited."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import pytest
from flask import Flask
from oidc_provider_mock import run_server_in_thread
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from tests.conftest import IdP, TenantRef, login, make_user
from tests.factories import in_tenant
from tests.identity.page_forms import read_form
from tests.identity.test_sso_settings import (
    APPROVE,
    PAGE,
    REJECT,
    admin_client,
    approve_pending_issuer,
    audit_events,
    second_admin_client,
    settings,
    submit,
)


@pytest.fixture
def other_idp() -> Iterator[IdP]:
    """Another identity provider than the tenant's (the one an administrator points it at)."""
    with run_server_in_thread(port=0) as server:
        yield IdP(f"http://localhost:{server.server_port}")


def user_row(app: Flask, tenant: TenantRef, subject: str) -> dict | None:
    from samenleren.core.extensions import db
    from samenleren.identity.models import User

    with in_tenant(app, tenant):
        user = db.session.scalar(select(User).where(User.subject == subject))
        if user is None:
            return None
        return {
            "id": user.id,
            "issuer": user.issuer,
            "tid": user.idp_tenant_id,
            "oid": user.idp_object_id,
        }


def shows_name(client, name: str) -> bool:
    page = client.get("/flevoland/").get_data(as_text=True)
    return 'action="/flevoland/auth/logout"' in page and name in page


def force_issuer(app: Flask, tenant: TenantRef, issuer: str) -> None:
    """Point the tenant at another issuer directly, as if every check before it had failed."""
    from samenleren.core.extensions import db
    from samenleren.core.tenant import Tenant
    from samenleren.identity import oidc

    with app.app_context():
        db.session.get(Tenant, tenant.id).sso_issuer = issuer
        db.session.commit()
    oidc.forget_client(tenant.id)


def test_a_login_from_another_issuer_does_not_match_an_existing_user(app, tenants, other_idp):
    """The attack: the tenant's issuer now names an IdP the attacker runs, which says `sub` is
    an existing employee. Before, that logged the attacker in as the employee."""
    from tests.conftest import TenantRef as Ref

    flevoland = tenants["flevoland"]
    with app.app_context():
        make_user(flevoland, "dina.directeur", "manager", name="Dina Directeur")
    assert login(app.test_client(), flevoland, "dina.directeur").status_code == 302
    bound = user_row(app, flevoland, "dina.directeur")
    assert bound["issuer"] == flevoland.idp.issuer

    force_issuer(app, flevoland, other_idp.issuer)
    attacker = app.test_client()
    attacker.get("/flevoland/?lang=en")
    answer = login(attacker, Ref(flevoland.id, "flevoland", other_idp), "dina.directeur")
    assert answer.status_code == 403
    page = answer.get_data(as_text=True)
    assert "linked to another identity provider" in page
    assert not shows_name(attacker, "Dina Directeur")
    assert user_row(app, flevoland, "dina.directeur") == bound  # not taken over
    (refused,) = audit_events(app, flevoland, "login.refused")
    assert refused["actor_id"] is None
    assert refused["details"] == {
        "reason": "other_issuer",
        "cause": "the subject belongs to a user of another identity provider",
        "subject": "dina.directeur",
        "issuer": other_idp.issuer,
        "bound_issuer": flevoland.idp.issuer,
    }


def test_a_new_issuer_waits_for_a_second_administrator(app, tenants, other_idp):
    flevoland = tenants["flevoland"]
    client = admin_client(app, flevoland)
    before = settings(app, flevoland)["issuer"]

    assert submit(client, issuer=other_idp.issuer).status_code == 303
    page = html.unescape(client.get(PAGE).get_data(as_text=True))
    assert "Until the platform operator or another programme administrator approves it" in page
    assert settings(app, flevoland)["issuer"] == before  # not in force
    start = app.test_client().get("/flevoland/auth/login")
    assert start.headers["Location"].startswith(flevoland.idp.issuer + "/")
    (requested,) = audit_events(app, flevoland, "sso.issuer_requested")
    assert requested["details"] == {"issuer": other_idp.issuer, "current": before}
    assert audit_events(app, flevoland, "sso.changed") == []

    # The requester cannot approve their own request (there is no button, and a forged post
    # is refused).
    assert f'action="{APPROVE}"' not in page
    forged = client.post(
        APPROVE,
        data=MultiDict([*read_form(page, REJECT), ("issuer", other_idp.issuer)]),
    )
    assert forged.status_code == 422
    assert "not the one who asked for it" in html.unescape(forged.get_data(as_text=True))
    assert settings(app, flevoland)["issuer"] == before
    assert audit_events(app, flevoland, "sso.issuer_approved") == []


def test_approval_re_links_every_user_and_lists_each_in_the_audit_log(app, tenants, other_idp):
    from tests.conftest import TenantRef as Ref

    flevoland = tenants["flevoland"]
    client = admin_client(app, flevoland)
    assert login(app.test_client(), flevoland, "piet.blijft", name="Piet Blijft").status_code == 302
    second = second_admin_client(app, flevoland)
    previous = flevoland.idp.issuer
    piet = user_row(app, flevoland, "piet.blijft")
    assert submit(client, issuer=other_idp.issuer).status_code == 303

    # The second administrator sees who would be re-linked before approving.
    page = html.unescape(second.get(PAGE).get_data(as_text=True))
    assert "Piet Blijft (piet.blijft)" in page
    assert re.search(r"links these 3 accounts", page)
    approve_pending_issuer(app, flevoland)

    assert settings(app, flevoland)["issuer"] == other_idp.issuer
    assert user_row(app, flevoland, "piet.blijft")["issuer"] == other_idp.issuer
    relinked = audit_events(app, flevoland, "user.relinked")
    assert len(relinked) == 3
    assert {e["details"]["previous"] for e in relinked} == {previous}
    (approved,) = audit_events(app, flevoland, "sso.issuer_approved")
    assert approved["details"]["relinked"] == 3
    assert approved["details"]["issuer"] == other_idp.issuer

    # Re-linked explicitly: the same person logs in through the new provider as themself.
    moved = Ref(flevoland.id, "flevoland", other_idp)
    browser = app.test_client()
    assert login(browser, moved, "piet.blijft", name="Piet Blijft").status_code == 302
    assert user_row(app, flevoland, "piet.blijft")["id"] == piet["id"]


def test_the_request_can_be_withdrawn_or_turned_down(app, tenants, other_idp):
    flevoland = tenants["flevoland"]
    client = admin_client(app, flevoland)
    before = settings(app, flevoland)["issuer"]
    for who in ("requester", "second"):
        assert submit(client, issuer=other_idp.issuer).status_code == 303
        actor = client if who == "requester" else second_admin_client(app, flevoland)
        page = actor.get(PAGE).get_data(as_text=True)
        assert actor.post(REJECT, data=MultiDict(read_form(page, REJECT))).status_code == 303
        assert settings(app, flevoland)["issuer"] == before
        assert "waiting for approval" not in actor.get(PAGE).get_data(as_text=True)
    assert len(audit_events(app, flevoland, "sso.issuer_rejected")) == 2


def test_entra_ids_bind_at_the_first_login(app, tenants):
    from samenleren.core.extensions import db
    from samenleren.core.tenant import Tenant
    from samenleren.identity.services import LoginRefused, user_from_claims

    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        tenant = db.session.get(Tenant, flevoland.id)
        claims = {"sub": "e.ntra", "iss": tenant.sso_issuer, "name": "E Ntra"}
        user = user_from_claims(tenant, claims | {"tid": "dir-1", "oid": "obj-1"})
        db.session.commit()
        assert (user.idp_tenant_id, user.idp_object_id) == ("dir-1", "obj-1")
        assert user_from_claims(tenant, claims | {"tid": "dir-1", "oid": "obj-1"}) is user
        assert user_from_claims(tenant, claims) is user  # a token without them: issuer and sub
        with pytest.raises(LoginRefused) as refused:
            user_from_claims(tenant, claims | {"tid": "dir-1", "oid": "obj-2"})
        assert refused.value.reason == "other_identity"
        with pytest.raises(LoginRefused) as refused:
            user_from_claims(tenant, claims | {"tid": "dir-2", "oid": "obj-1"})
        assert refused.value.reason == "other_identity"


def test_users_made_by_scim_are_bound_to_the_tenants_issuer(app, tenants):
    from samenleren.core.extensions import db
    from samenleren.core.tenant import Tenant
    from samenleren.scim.users import UserData, create_user

    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        user = create_user(
            UserData(user_name="s.cim", display_name="S Cim"), actor_label="scim test"
        )
        db.session.commit()
        assert user.issuer == db.session.get(Tenant, flevoland.id).sso_issuer


def test_external_trainers_are_bound_to_no_issuer(app, tenants):
    from samenleren.core.extensions import db
    from samenleren.identity.trainers import invite_external_trainer

    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        issued = invite_external_trainer("Ex Tern", "ex@bureau.example", actor=None)
        db.session.commit()
        assert issued.user.issuer is None


def test_a_manifest_onboarded_again_with_another_issuer_only_requests_it(app, tenants, other_idp):
    """The manifest is another way to the tenant's issuer: onboarding it again with a new one
    does not switch (which locked users out, or let the new IdP log in as them); it asks for the
    change, which a programme administrator (or the operator console) approves, re-linking."""
    from samenleren.demo.devidp import with_issuer
    from samenleren.tenants.manifest import load_manifest
    from samenleren.tenants.services import MANIFEST_ACTOR, OnboardOutcome, onboard_tenant
    from tests.conftest import REPO_ROOT
    from tests.conftest import TenantRef as Ref

    flevoland = tenants["flevoland"]
    previous = flevoland.idp.issuer
    assert login(app.test_client(), flevoland, "piet.blijft", name="Piet Blijft").status_code == 302

    def onboard_with(issuer: str):
        with app.app_context():
            loaded = with_issuer(load_manifest(REPO_ROOT / "tenants" / "flevoland.toml"), issuer)
            return onboard_tenant(loaded).outcome

    assert onboard_with(other_idp.issuer) is OnboardOutcome.UPDATED
    assert settings(app, flevoland)["issuer"] == previous  # not in force
    assert user_row(app, flevoland, "piet.blijft")["issuer"] == previous
    start = app.test_client().get("/flevoland/auth/login")
    assert start.headers["Location"].startswith(previous + "/")
    assert login(app.test_client(), flevoland, "piet.blijft").status_code == 302  # not locked out
    (requested,) = audit_events(app, flevoland, "sso.issuer_requested")
    assert requested["actor_id"] is None
    assert requested["details"] == {"issuer": other_idp.issuer, "current": previous}
    with in_tenant(app, flevoland):
        from samenleren.audit.models import AuditEvent
        from samenleren.core.extensions import db

        label = db.session.scalar(
            select(AuditEvent.actor_label).where(AuditEvent.action == "sso.issuer_requested")
        )
    assert label == MANIFEST_ACTOR
    # The same manifest again asks nothing more (it is waiting already).
    onboard_with(other_idp.issuer)
    assert len(audit_events(app, flevoland, "sso.issuer_requested")) == 1

    # A programme administrator sees who asked, and approves it: the users are re-linked,
    # each one audited.
    admin = admin_client(app, flevoland)
    page = html.unescape(admin.get(PAGE).get_data(as_text=True))
    assert "The platform operator, through the manifest, asked on" in page
    assert f'action="{APPROVE}"' in page
    answer = admin.post(APPROVE, data=MultiDict(read_form(page, APPROVE)))
    assert answer.status_code == 303
    assert settings(app, flevoland)["issuer"] == other_idp.issuer
    assert user_row(app, flevoland, "piet.blijft")["issuer"] == other_idp.issuer
    assert len(audit_events(app, flevoland, "user.relinked")) >= 1
    moved = Ref(flevoland.id, "flevoland", other_idp)
    assert login(app.test_client(), moved, "piet.blijft", name="Piet Blijft").status_code == 302


def test_a_new_tenant_takes_its_manifests_issuer(app, tenants):
    """Nobody is bound to a tenant before it exists: onboarding a new one sets its issuer."""
    assert settings(app, tenants["gelderland"])["issuer"] == tenants["gelderland"].idp.issuer
    assert audit_events(app, tenants["gelderland"], "sso.issuer_requested") == []
