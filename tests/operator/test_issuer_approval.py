"""The platform operator approves (or turns down) a tenant's new identity provider; the console
shows how many accounts an approval re-links, never who."""

from __future__ import annotations

import html
from collections.abc import Iterator

import pytest
from oidc_provider_mock import run_server_in_thread
from werkzeug.datastructures import MultiDict

from tests.conftest import IdP
from tests.identity.page_forms import read_form
from tests.identity.test_sso_settings import (
    admin_client,
    settings,
    submit,
)
from tests.operator.conftest import audit_events as operator_events


@pytest.fixture
def other_idp() -> Iterator[IdP]:
    """Another identity provider than the tenant's (the one an administrator points it at)."""
    with run_server_in_thread(port=0) as server:
        yield IdP(f"http://localhost:{server.server_port}")


def test_the_platform_operator_may_approve(app, tenants, other_idp, console):
    flevoland = tenants["flevoland"]
    client = admin_client(app, flevoland)
    assert submit(client, issuer=other_idp.issuer).status_code == 303
    listing = console.get("/operator/").get_data(as_text=True)
    assert "/operator/tenants/flevoland/issuer" in listing
    page = html.unescape(console.get("/operator/tenants/flevoland/issuer").get_data(as_text=True))
    assert "Approving links 1 accounts" in page
    assert "Bea Beheer" not in page  # counts only: the console shows no person
    action = "/operator/tenants/flevoland/issuer/approve"
    # A request replaced after the operator looked is not approved by accident.
    stale = [
        (k, "https://other.example" if k == "issuer" else v) for k, v in read_form(page, action)
    ]
    assert console.post(action, data=MultiDict(stale)).status_code == 422
    assert console.post(action, data=MultiDict(read_form(page, action))).status_code == 303
    assert settings(app, flevoland)["issuer"] == other_idp.issuer
    approved = [e for e in operator_events(app, flevoland.id) if e.action == "sso.issuer_approved"]
    assert len(approved) == 1 and approved[0].actor_label


def test_the_platform_operator_may_turn_it_down(app, tenants, other_idp, console):
    flevoland = tenants["flevoland"]
    before = settings(app, flevoland)["issuer"]
    assert submit(admin_client(app, flevoland), issuer=other_idp.issuer).status_code == 303
    page = console.get("/operator/tenants/flevoland/issuer").get_data(as_text=True)
    action = "/operator/tenants/flevoland/issuer/reject"
    assert console.post(action, data=MultiDict(read_form(page, action))).status_code == 303
    assert settings(app, flevoland)["issuer"] == before
    events = operator_events(app, flevoland.id)
    assert [e.action for e in events if e.action.startswith("sso.issuer")] == [
        "sso.issuer_requested",
        "sso.issuer_rejected",
    ]
    # Nothing waits any more: approving now is refused.
    approve = "/operator/tenants/flevoland/issuer/approve"
    refused = console.post(approve, data=MultiDict(read_form(page, approve)))
    assert refused.status_code == 422
    assert "No change of the identity provider is waiting." in html.unescape(
        refused.get_data(as_text=True)
    )


def test_a_new_issuer_from_the_manifest_is_approved_in_the_console_too(
    app, tenants, other_idp, console
):
    from samenleren.demo.devidp import with_issuer
    from samenleren.tenants.manifest import load_manifest
    from samenleren.tenants.services import onboard_tenant
    from tests.conftest import REPO_ROOT

    flevoland = tenants["flevoland"]
    before = settings(app, flevoland)["issuer"]
    with app.app_context():
        manifest = load_manifest(REPO_ROOT / "tenants" / "flevoland.toml")
        onboard_tenant(with_issuer(manifest, other_idp.issuer))
    assert settings(app, flevoland)["issuer"] == before
    page = html.unescape(console.get("/operator/tenants/flevoland/issuer").get_data(as_text=True))
    assert "onboarded again on" in page and other_idp.issuer in page
    action = "/operator/tenants/flevoland/issuer/approve"
    assert console.post(action, data=MultiDict(read_form(page, action))).status_code == 303
    assert settings(app, flevoland)["issuer"] == other_idp.issuer
