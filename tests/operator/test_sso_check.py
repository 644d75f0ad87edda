"""The console's "test SSO" button, against a live `oidc-provider-mock` and against servers that
get one thing wrong each: every outcome in plain words, every test in the tenant's audit log."""

from __future__ import annotations

import html
import json
import re
import time
from collections.abc import Callable, Iterator

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.wrappers import Request, Response

from tests.conftest import TenantRef, repoint, serve_wsgi
from tests.operator.conftest import audit_events


def press_test_sso(client: FlaskClient, slug: str) -> str:
    page = client.get("/operator/").get_data(as_text=True)
    form = re.search(
        rf'<form method="post" action="/operator/tenants/{slug}/test-sso">\s*'
        r'<input type="hidden" name="csrf_token" value="([^"]+)">',
        page,
    )
    assert form, "no Test SSO button"
    answer = client.post(f"/operator/tenants/{slug}/test-sso", data={"csrf_token": form.group(1)})
    assert answer.status_code == 200
    return html.unescape(answer.get_data(as_text=True))


def problem(page: str) -> str | None:
    match = re.search(r"<strong>Failed:</strong> ([^<]*)</p>", page)
    return match.group(1) if match else None


def reonboard(app: Flask, slug: str, issuer: str) -> None:
    with app.app_context():
        repoint(slug, issuer)


def last_test(app: Flask, tenant: TenantRef) -> dict:
    events = [e for e in audit_events(app, tenant.id) if e.action == "sso.tested"]
    assert events, "the test is not in the audit log"
    assert events[-1].actor_label == "Operator: Olga Operator"
    return events[-1].details


@pytest.fixture
def fake_idp(idps) -> Iterator[Callable[..., str]]:
    """Serve a discovery document made from the real one by `change(document, base_url)`;
    yields a function that starts such a server and returns its URL (the issuer to configure)."""
    real = requests.get(
        f"{idps['flevoland'].issuer}/.well-known/openid-configuration", timeout=5
    ).json()
    servers = []

    def start(change: Callable[[dict, str], dict | str], delay: float = 0.0) -> str:
        @Request.application
        def serve(request: Request) -> Response:
            base = request.host_url.rstrip("/")
            if request.path == "/.well-known/openid-configuration":
                time.sleep(delay)
                document = change(dict(real, issuer=base), base)
                body = document if isinstance(document, str) else json.dumps(document)
                return Response(body, mimetype="application/json")
            if request.path == "/jwks":
                return Response(json.dumps({"keys": []}), mimetype="application/json")
            return Response("not found", status=404)

        context = serve_wsgi(serve)
        url = context.__enter__()
        servers.append(context)
        return url

    yield start
    for context in servers:
        context.__exit__(None, None, None)


def test_a_working_identity_provider_passes_and_says_what_was_checked(app, console, tenants):
    flevoland = tenants["flevoland"]
    page = press_test_sso(console, "flevoland")
    assert "SSO test of Provincie Flevoland" in page
    assert "Passed:" in page and problem(page) is None
    issuer = flevoland.idp.issuer
    for line in (
        f"The discovery document at {issuer}/.well-known/openid-configuration could be fetched.",
        f"The issuer is {issuer}, as configured.",
        "It names the authorization, token and key (JWKS) endpoints a login needs.",
        "It supports the scopes the platform asks for: openid profile email.",
        "The signing keys (JWKS) could be fetched: 1 key.",
    ):
        assert line in page
    assert last_test(app, flevoland) == {"issuer": issuer, "outcome": "ok"}
    assert not [e for e in audit_events(app, tenants["gelderland"].id) if e.action == "sso.tested"]


@pytest.mark.parametrize("variant", ["trailing-slash", "another-issuer"])
def test_an_issuer_mismatch_is_named(app, console, tenants, fake_idp, variant):
    flevoland = tenants["flevoland"]
    if variant == "trailing-slash":
        issuer = flevoland.idp.issuer + "/"
        found = flevoland.idp.issuer
    else:
        issuer = fake_idp(lambda doc, base: doc | {"issuer": "https://login.example.org/other"})
        found = "https://login.example.org/other"
    reonboard(app, "flevoland", issuer)
    page = press_test_sso(console, "flevoland")
    assert problem(page).startswith(
        f"Issuer mismatch: the identity provider calls itself {found}, but this province is "
        f"configured with {issuer}."
    )
    assert "could be fetched" in page  # what did pass is still listed
    assert last_test(app, flevoland)["outcome"] == "issuer_mismatch"


def test_an_unreachable_identity_provider_is_named(app, console, tenants):
    reonboard(app, "flevoland", "http://127.0.0.1:9")  # the discard port: nothing listens
    page = press_test_sso(console, "flevoland")
    assert problem(page) == (
        "The identity provider is unreachable: its discovery document at "
        "http://127.0.0.1:9/.well-known/openid-configuration could not be fetched (the server "
        "could not be reached)."
    )
    assert last_test(app, tenants["flevoland"])["outcome"] == "unreachable"


def test_a_slow_identity_provider_times_out_quickly(app, console, tenants, fake_idp, monkeypatch):
    monkeypatch.setitem(app.config, "SAMENLEREN_SSO_TEST_TIMEOUT", 0.3)
    reonboard(app, "flevoland", fake_idp(lambda doc, base: doc, delay=1.5))
    started = time.monotonic()
    page = press_test_sso(console, "flevoland")
    assert time.monotonic() - started < 1.4
    assert "(no answer within 0.3 seconds)" in problem(page)


def test_a_missing_discovery_document_is_unreachable(app, console, tenants, fake_idp):
    issuer = fake_idp(lambda doc, base: doc)
    reonboard(app, "flevoland", issuer + "/elders")  # /elders/.well-known/... gives 404
    page = press_test_sso(console, "flevoland")
    assert "(the server answered with HTTP status 404)" in problem(page)


@pytest.mark.parametrize(
    ("change", "outcome", "words"),
    [
        pytest.param(
            lambda doc, base: {k: v for k, v in doc.items() if k != "token_endpoint"},
            "missing_endpoints",
            "does not name every endpoint a login needs; missing: token_endpoint.",
            id="no-token-endpoint",
        ),
        pytest.param(
            lambda doc, base: doc | {"authorization_endpoint": "", "jwks_uri": None},
            "missing_endpoints",
            "missing: authorization_endpoint, jwks_uri.",
            id="empty-endpoints",
        ),
        pytest.param(
            lambda doc, base: doc | {"scopes_supported": ["profile", "email"]},
            "scopes_unsupported",
            "does not support the scopes openid that the platform asks for",
            id="no-openid-scope",
        ),
        pytest.param(
            lambda doc, base: doc | {"jwks_uri": "http://127.0.0.1:9/jwks"},
            "jwks_unreachable",
            "The signing keys (JWKS) at http://127.0.0.1:9/jwks could not be fetched",
            id="jwks-unreachable",
        ),
        pytest.param(
            lambda doc, base: doc | {"jwks_uri": f"{base}/jwks"},
            "jwks_unreachable",
            "contain no keys",
            id="jwks-empty",
        ),
        pytest.param(
            lambda doc, base: "[1, 2, 3]",
            "not_a_discovery_document",
            "is not an OpenID Connect discovery document",
            id="not-an-object",
        ),
    ],
)
def test_each_defect_of_the_discovery_document_is_named(
    app, console, tenants, fake_idp, change, outcome, words
):
    reonboard(app, "flevoland", fake_idp(change))
    page = press_test_sso(console, "flevoland")
    assert words in problem(page)
    assert last_test(app, tenants["flevoland"])["outcome"] == outcome


def test_an_identity_provider_that_lists_no_scopes_is_not_refused_for_it(
    app, console, tenants, fake_idp
):
    reonboard(
        app,
        "flevoland",
        fake_idp(lambda doc, base: {k: v for k, v in doc.items() if k != "scopes_supported"}),
    )
    page = press_test_sso(console, "flevoland")
    assert "Passed:" in page
    assert "does not list the scopes it supports" in page
