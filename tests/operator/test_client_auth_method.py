"""The operator chooses how a province's client authenticates at its IdP, in the console:
`private_key_jwt` makes the province's key pair and the console shows the JWKS address; the SSO
test knows the method and fails when the IdP does not accept it."""

from __future__ import annotations

import html

from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import SECRET_ENVS, csrf_token
from tests.operator.conftest import audit_events
from tests.operator.test_sso_check import fake_idp, last_test, press_test_sso, problem, reonboard
from tests.operator.test_tenant_setup import tenant_row

__all__ = ["fake_idp"]  # the fixture, used below


def choose(console: FlaskClient, slug: str, method: str):
    return console.post(
        f"/operator/tenants/{slug}/setup/auth-method",
        data={"client_auth_method": method, "csrf_token": csrf_token(console, "/operator/")},
    )


def jwks(app: Flask, slug: str) -> list[dict]:
    return app.test_client().get(f"/{slug}/sso/jwks.json").get_json()["keys"]


def test_choosing_private_key_jwt_makes_the_key_pair_and_needs_no_secret(
    app, console, tenants, monkeypatch
):
    monkeypatch.delenv(SECRET_ENVS["flevoland"])  # no secret anywhere
    page = html.unescape(console.get("/operator/tenants/flevoland/setup").get_data(as_text=True))
    assert "No client secret is set" in page
    assert "http://localhost/flevoland/sso/jwks.json" in page
    assert jwks(app, "flevoland") == []

    answer = choose(console, "flevoland", "private_key_jwt")
    assert answer.status_code == 303
    assert tenant_row(app, "flevoland").sso_client_auth_method == "private_key_jwt"
    assert len(jwks(app, "flevoland")) == 1
    assert jwks(app, "gelderland") == []
    page = html.unescape(console.get("/operator/tenants/flevoland/setup").get_data(as_text=True))
    assert "No client secret is set" not in page
    assert "The client id and the key pair for private_key_jwt are set." in page

    events = audit_events(app, tenants["flevoland"].id)
    made = [e for e in events if e.action == "sso.key_created"]
    assert len(made) == 1 and made[0].actor_label == "Operator: Olga Operator"
    chosen = [e for e in events if e.action == "sso.changed"][-1]
    assert chosen.details["method"] == "private_key_jwt"

    # Chosen again: nothing changes, no second key.
    assert choose(console, "flevoland", "private_key_jwt").status_code == 303
    assert len(jwks(app, "flevoland")) == 1

    # The SSO test passes with the key pair, without any secret.
    page = press_test_sso(console, "flevoland")
    assert problem(page) is None
    assert "The client id and the key pair for private_key_jwt are set." in page


def test_an_unknown_method_is_refused_and_changes_nothing(app, console, tenants):
    answer = choose(console, "flevoland", "client_secret_jwt")
    assert answer.status_code == 422
    assert "Choose a method from the list." in html.unescape(answer.get_data(as_text=True))
    assert tenant_row(app, "flevoland").sso_client_auth_method == "client_secret_basic"
    assert jwks(app, "flevoland") == []


def test_the_sso_test_fails_when_the_idp_does_not_accept_the_method(
    app, console, tenants, fake_idp
):
    issuer = fake_idp(
        lambda doc, base: doc | {"token_endpoint_auth_methods_supported": ["client_secret_basic"]}
    )
    reonboard(app, "flevoland", issuer)
    assert choose(console, "flevoland", "private_key_jwt").status_code == 303
    page = press_test_sso(console, "flevoland")
    assert problem(page) == (
        "The identity provider does not accept the client authentication method "
        "private_key_jwt at its token endpoint (it lists client_secret_basic). Choose another "
        "method in the login set-up."
    )
    assert last_test(app, tenants["flevoland"])["outcome"] == "auth_method_unsupported"

    assert choose(console, "flevoland", "client_secret_basic").status_code == 303
    page = press_test_sso(console, "flevoland")
    assert "It accepts the client authentication method client_secret_basic." in page
