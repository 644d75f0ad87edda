"""The SSO settings page's OpenID NLGov part: the client authentication method with the JWKS
address and the key pairs (made, rotated, retired through the page), and the minimum assurance
level. Refused input changes nothing."""

from __future__ import annotations

import html

from flask import Flask
from werkzeug.datastructures import MultiDict

from tests.conftest import TenantRef, csrf_token, login
from tests.identity.page_forms import read_form
from tests.identity.test_sso_settings import (
    PAGE,
    admin_client,
    audit_events,
    error_of,
    submit,
)

SUBSTANTIAL = "http://eidas.europa.eu/LoA/substantial"


def row(app: Flask, tenant: TenantRef):
    from samenleren.core.extensions import db
    from samenleren.core.tenant import Tenant

    with app.app_context():
        tenant_row = db.session.get(Tenant, tenant.id)
        return tenant_row.sso_client_auth_method, tenant_row.sso_acr_minimum


def kids(app: Flask, slug: str) -> list[str]:
    return [key["kid"] for key in app.test_client().get(f"/{slug}/sso/jwks.json").json["keys"]]


def test_the_page_shows_the_jwks_address_and_offers_the_methods(app, tenants):
    client = admin_client(app, tenants["flevoland"])
    page = html.unescape(client.get(PAGE).get_data(as_text=True))
    assert "http://localhost/flevoland/sso/jwks.json" in page
    assert 'value="private_key_jwt"' in page and 'value="client_secret_post"' in page
    assert SUBSTANTIAL in page
    assert "No key pair yet" in page
    fields = dict(read_form(page, PAGE))
    assert fields["client_auth_method"] == "client_secret_basic"


def test_choosing_private_key_jwt_and_a_minimum_level_through_the_page(app, tenants):
    flevoland = tenants["flevoland"]
    client = admin_client(app, flevoland)
    answer = submit(client, client_auth_method="private_key_jwt", acr_minimum=SUBSTANTIAL)
    assert answer.status_code == 303
    assert row(app, flevoland) == ("private_key_jwt", SUBSTANTIAL)
    first = kids(app, "flevoland")
    assert len(first) == 1
    changed = audit_events(app, flevoland, "sso.changed")[-1]["details"]
    assert set(changed["fields"]) == {"client_auth_method", "acr_minimum"}
    assert changed["method"] == "private_key_jwt" and changed["acr_minimum"] == SUBSTANTIAL
    assert len(audit_events(app, flevoland, "sso.key_created")) == 1

    page = html.unescape(client.get(PAGE).get_data(as_text=True))
    assert first[0] in page and "Signs now" in page

    # Rotation through the page: both published, then the previous one retired.
    token = csrf_token(client, PAGE)
    assert client.post(f"{PAGE}/keys/rotate", data={"csrf_token": token}).status_code == 303
    both = kids(app, "flevoland")
    assert len(both) == 2 and both[1] == first[0]
    page = html.unescape(client.get(PAGE).get_data(as_text=True))
    assert "Previous key, still published" in page
    refused = client.post(f"{PAGE}/keys/rotate", data={"csrf_token": token})
    assert refused.status_code == 422
    assert "Retire the previous key first" in html.unescape(refused.get_data(as_text=True))
    assert kids(app, "flevoland") == both
    assert client.post(f"{PAGE}/keys/retire", data={"csrf_token": token}).status_code == 303
    assert kids(app, "flevoland") == both[:1]
    assert [e["details"]["kid"] for e in audit_events(app, flevoland, "sso.key_retired")] == [
        first[0]
    ]


def test_unknown_method_or_level_is_refused_next_to_its_field(app, tenants):
    flevoland = tenants["flevoland"]
    client = admin_client(app, flevoland)
    answer = submit(client, client_auth_method="none", acr_minimum="urn:made:up")
    assert answer.status_code == 422
    page = html.unescape(answer.get_data(as_text=True))
    assert error_of(page, "client_auth_method") == "Choose a method from the list."
    assert error_of(page, "acr_minimum") == "Choose a level from the list."
    assert row(app, flevoland) == ("client_secret_basic", None)
    assert kids(app, "flevoland") == []


def test_key_actions_are_for_the_programme_admin_only(app, tenants):
    flevoland = tenants["flevoland"]
    learner = app.test_client()
    assert login(learner, flevoland, "lea.leerling").status_code == 302
    token = csrf_token(learner, "/flevoland/")
    for action in ("rotate", "retire"):
        answer = learner.post(f"{PAGE}/keys/{action}", data={"csrf_token": token})
        assert answer.status_code == 404
    assert kids(app, "flevoland") == []


def test_the_client_the_login_uses_follows_the_page(app, tenants):
    """What the login then sends is checked against a strict token endpoint in
    tests/identity/test_nlgov_login.py; here: the page's choice reaches the login's client."""
    from samenleren.core.tenancy import require_tenant
    from samenleren.identity.oidc import client_for
    from tests.factories import in_tenant

    flevoland = tenants["flevoland"]
    client = admin_client(app, flevoland)
    assert submit(client, client_auth_method="private_key_jwt").status_code == 303
    with in_tenant(app, flevoland):
        oauth = client_for(require_tenant())
        assert oauth.client_kwargs["token_endpoint_auth_method"] == "private_key_jwt"
        assert [method.headers["kid"] for method in oauth.client_auth_methods] == kids(
            app, "flevoland"
        )


def test_a_form_without_the_new_fields_keeps_them(app, tenants):
    flevoland = tenants["flevoland"]
    client = admin_client(app, flevoland)
    assert submit(client, client_auth_method="private_key_jwt").status_code == 303
    fields = [
        (name, value)
        for name, value in read_form(client.get(PAGE).get_data(as_text=True), PAGE)
        if name != "client_auth_method"
    ]
    assert client.post(PAGE, data=MultiDict(fields)).status_code == 303
    assert row(app, flevoland)[0] == "private_key_jwt"
