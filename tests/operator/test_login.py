"""Operator login through the platform's own OIDC provider, and the wall between the console and
the tenants: an operator is nobody on a tenant's pages, a tenant's employee is nobody here.

Three `oidc-provider-mock` servers run: one per tenant and the platform's own (`operator_idp`).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests.conftest import (
    OPERATOR_GROUP,
    OPERATOR_SUBJECT,
    TenantRef,
    login,
    make_user,
    operator_login,
)

#: Every console page a GET can reach, and every console action (POST), for a real tenant.
CONSOLE_PAGES = [
    "/operator/",
    "/operator/tenants/new",
    "/operator/tenants/flevoland/suspend",
    "/operator/tenants/flevoland/resume",
]
CONSOLE_ACTIONS = [
    "/operator/tenants/new",
    "/operator/tenants/upload",
    "/operator/tenants/flevoland/suspend",
    "/operator/tenants/gelderland/resume",
    "/operator/tenants/flevoland/test-sso",
]
#: Text that only a console page shows.
CONSOLE_MARKS = ("Tenants and their usage", "Onboard a province", "Test SSO", "Operator:")


def counts(app: Flask) -> tuple[int, int]:
    """(operators, operator logins) in the database."""
    from samenleren.core.extensions import db
    from samenleren.identity.models import PlatformOperator
    from samenleren.operator.models import OperatorLoginSession

    with app.app_context():
        return (
            db.session.scalar(select(func.count()).select_from(PlatformOperator)),
            db.session.scalar(select(func.count()).select_from(OperatorLoginSession)),
        )


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def start(client: FlaskClient) -> str:
    answer = client.get("/operator/login")
    assert answer.status_code == 302, answer.status_code
    return answer.headers["Location"]


def authorize(url: str, sub: str) -> str:
    answer = requests.post(url, data={"sub": sub}, allow_redirects=False, timeout=5)
    assert answer.status_code == 302, answer.text
    return answer.headers["Location"]


def token_for(app: Flask, client: FlaskClient) -> str:
    """A valid CSRF token for this client's session."""
    from tests.test_isolation import valid_csrf_token

    return valid_csrf_token(app, client)


def assert_sent_to_operator_login(answer) -> None:
    assert answer.status_code in {302, 303}, answer.status_code
    assert urlsplit(answer.headers["Location"]).path == "/operator/login"
    page = answer.get_data(as_text=True)
    for mark in CONSOLE_MARKS:
        assert mark not in page


# --- logging in ---------------------------------------------------------------------------------


def test_operator_logs_in_at_the_platforms_own_idp(app, operator_idp, tenants):
    client = app.test_client()
    location = start(client)
    parts = urlsplit(location)
    # The platform's IdP, not a tenant's.
    assert f"{parts.scheme}://{parts.netloc}" == operator_idp.issuer
    assert operator_idp.issuer not in {ref.idp.issuer for ref in tenants.values()}
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    assert query["client_id"] == "samenleren-operator-console"
    assert query["redirect_uri"] == "http://localhost/operator/callback"
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert len(query["state"]) >= 20 and len(query["nonce"]) >= 20
    assert "openid" in query["scope"].split()

    operator_idp.set_user(OPERATOR_SUBJECT, name="Olga Operator", email="olga@platform.example")
    answer = client.get(path_of(authorize(location, OPERATOR_SUBJECT)))
    assert answer.status_code == 302
    assert urlsplit(answer.headers["Location"]).path == "/operator/"
    page = client.get("/operator/?lang=en").get_data(as_text=True)
    assert "Operator: Olga Operator" in page
    assert "Provincie Flevoland" in page and "Provincie Gelderland" in page
    assert counts(app) == (1, 1)

    # Logged in, the login page goes straight to the console.
    again = client.get("/operator/login")
    assert (again.status_code, urlsplit(again.headers["Location"]).path) == (302, "/operator/")

    # A second login updates the operator (name from the IdP), it does not add one.
    other = app.test_client()
    assert operator_login(other, operator_idp, name="Olga O. Operator").status_code == 302
    assert counts(app) == (1, 2)
    assert "Olga O. Operator" in other.get("/operator/").get_data(as_text=True)


def test_a_member_of_the_operator_group_is_let_in(app, operator_idp, tenants):
    client = app.test_client()
    answer = operator_login(client, operator_idp, "gerrit.groep", groups=[OPERATOR_GROUP])
    assert answer.status_code == 302
    assert client.get("/operator/").status_code == 200
    assert counts(app) == (1, 1)


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param({}, id="no-groups"),
        pytest.param({"groups": ["SL-Iets-Anders"]}, id="other-group"),
        pytest.param({"groups": OPERATOR_GROUP + "-nep"}, id="look-alike-group"),
    ],
)
def test_someone_else_at_the_platforms_idp_is_refused_and_nothing_is_created(
    app, operator_idp, tenants, claims
):
    client = app.test_client()
    client.get("/operator/logged-out?lang=en")
    answer = operator_login(client, operator_idp, "indringer", **claims)
    assert answer.status_code == 403
    page = answer.get_data(as_text=True)
    assert "Login not possible" in page
    assert 'href="/operator/login"' in page  # a way to try again
    assert counts(app) == (0, 0)
    assert_sent_to_operator_login(client.get("/operator/"))


def test_replayed_or_forged_callbacks_are_refused(app, operator_idp, tenants):
    operator_idp.set_user(OPERATOR_SUBJECT, name="Olga Operator")
    client = app.test_client()
    callback = path_of(authorize(start(client), OPERATOR_SUBJECT))
    assert client.get(callback).status_code == 302
    before = counts(app)
    for replayer in (client, app.test_client()):
        assert replayer.get(callback).status_code == 403
    assert counts(app) == before

    stranger = app.test_client()
    parts = urlsplit(authorize(start(stranger), OPERATOR_SUBJECT))
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    forged = stranger.get(f"{parts.path}?{urlencode(query | {'state': 'x' * 30})}")
    assert forged.status_code == 403
    assert counts(app) == before
    assert_sent_to_operator_login(stranger.get("/operator/"))


def test_a_code_from_a_tenants_idp_does_not_open_the_console(app, operator_idp, tenants):
    """The operator's authorize request, answered by Flevoland's IdP (the same subject exists
    there): the token's issuer is not the platform's, so the callback is refused."""
    flevoland = tenants["flevoland"]
    flevoland.idp.set_user(OPERATOR_SUBJECT, name="Olga at Flevoland")
    client = app.test_client()
    url = urlsplit(start(client))
    wrong = url._replace(netloc=urlsplit(flevoland.idp.issuer).netloc).geturl()
    answer = client.get(path_of(authorize(wrong, OPERATOR_SUBJECT)))
    assert answer.status_code == 403
    assert counts(app) == (0, 0)
    assert_sent_to_operator_login(client.get("/operator/"))


def test_the_platforms_idp_with_another_issuer_makes_login_unavailable(
    app, operator_idp, tenants, monkeypatch
):
    monkeypatch.setitem(app.config, "SAMENLEREN_OPERATOR_OIDC_ISSUER", operator_idp.issuer + "/")
    client = app.test_client()
    client.get("/operator/logged-out?lang=en")
    answer = client.get("/operator/login")
    assert answer.status_code == 503
    assert "Operator login unavailable" in answer.get_data(as_text=True)
    assert counts(app) == (0, 0)


def test_without_configuration_the_console_cannot_be_logged_in_to(app, tenants, monkeypatch):
    monkeypatch.setitem(app.config, "SAMENLEREN_OPERATOR_OIDC_ISSUER", "")
    client = app.test_client()
    client.get("/operator/logged-out?lang=en")
    answer = client.get("/operator/login")
    assert answer.status_code == 503
    assert "not set up" in answer.get_data(as_text=True)
    assert_sent_to_operator_login(client.get("/operator/"))


# --- the operator login ends, and is worth nothing elsewhere -------------------------------------


def test_logout_ends_the_login_for_every_copy_of_the_cookie(app, console):
    cookie = console.get_cookie("samenleren")
    copy = app.test_client()
    copy.set_cookie("samenleren", cookie.value)
    assert copy.get("/operator/").status_code == 200

    answer = console.post("/operator/logout", data={"csrf_token": token_for(app, console)})
    assert answer.status_code == 303
    assert urlsplit(answer.headers["Location"]).path == "/operator/logged-out"
    assert "You are logged out" in console.get("/operator/logged-out").get_data(as_text=True)
    assert_sent_to_operator_login(console.get("/operator/"))
    assert_sent_to_operator_login(copy.get("/operator/"))

    from samenleren.core.extensions import db
    from samenleren.operator.models import OperatorLoginSession

    with app.app_context():
        [row] = db.session.scalars(select(OperatorLoginSession)).all()
        assert row.ended_at is not None


def test_an_operator_taken_off_the_list_loses_access_at_once(app, console, monkeypatch):
    assert console.get("/operator/").status_code == 200
    monkeypatch.setitem(app.config, "SAMENLEREN_OPERATORS", ("someone.else",))
    assert_sent_to_operator_login(console.get("/operator/"))


def test_an_expired_operator_login_is_over(app, console):
    from samenleren.core.db import utcnow
    from samenleren.core.extensions import db
    from samenleren.operator.models import OperatorLoginSession

    with app.app_context():
        for row in db.session.scalars(select(OperatorLoginSession)):
            row.expires_at = utcnow()
        db.session.commit()
    assert_sent_to_operator_login(console.get("/operator/"))


@pytest.mark.parametrize("slug", ["flevoland", "gelderland"])
def test_an_operator_is_a_stranger_on_every_tenants_pages(app, console, tenants, slug):
    home = console.get(f"/{slug}/")
    assert home.status_code == 200
    page = home.get_data(as_text=True)
    assert f'href="/{slug}/auth/login"' in page
    assert "/auth/logout" not in page
    assert "Olga Operator" not in page
    trainings = console.get(f"/{slug}/trainings/")
    assert trainings.status_code == 302
    assert urlsplit(trainings.headers["Location"]).path == f"/{slug}/auth/login"
    # The console login is still there.
    assert console.get("/operator/").status_code == 200


# --- a tenant's employee gets nothing from the console -----------------------------------------


@pytest.mark.parametrize("role", ["learner", "coach", "manager", "trainer", "programme_admin"])
def test_a_tenant_user_of_any_role_gets_no_console(app, operator_idp, tenants, role):
    """Logged in at Flevoland as an allowlisted operator's very subject, even: a tenant login
    opens no console page and no console action."""
    flevoland: TenantRef = tenants["flevoland"]
    subject = OPERATOR_SUBJECT  # the same `sub` as the operator, at the tenant's IdP
    with app.app_context():
        make_user(flevoland, subject, role, name="Tanja Tenant")
    client = app.test_client()
    assert login(client, flevoland, subject, name="Tanja Tenant").status_code == 302
    assert "Tanja Tenant" in client.get("/flevoland/").get_data(as_text=True)

    for path in CONSOLE_PAGES:
        assert_sent_to_operator_login(client.get(path))
    token = token_for(app, client)
    for path in CONSOLE_ACTIONS:
        answer = client.post(path, data={"csrf_token": token, "slug": "nieuw", "name": "Nieuw"})
        assert_sent_to_operator_login(answer)
    # Nothing happened: both tenants still active, no operator, no audit event by an operator.
    from tests.operator.conftest import audit_events

    assert _statuses(app) == {"flevoland": "active", "gelderland": "active"}
    assert counts(app) == (0, 0)
    for ref in tenants.values():
        assert not [e for e in audit_events(app, ref.id) if e.actor_label.startswith("Operator")]
    # ... and the tenant login is untouched.
    assert "Tanja Tenant" in client.get("/flevoland/").get_data(as_text=True)


def _statuses(app: Flask) -> dict[str, str]:
    from samenleren.core.extensions import db
    from samenleren.core.tenant import Tenant

    with app.app_context():
        return {t.slug: t.status.value for t in db.session.scalars(select(Tenant))}


def test_logging_in_as_one_kind_ends_the_other_in_that_browser(app, operator_idp, tenants):
    """One cookie, one login at a time: the fresh session at login leaves nothing of the other
    (no fixation, no mixing)."""
    flevoland = tenants["flevoland"]
    client = app.test_client()
    assert operator_login(client, operator_idp).status_code == 302
    assert login(client, flevoland, "wisselaar", name="Wim Wissel").status_code == 302
    assert_sent_to_operator_login(client.get("/operator/"))
    assert "Wim Wissel" in client.get("/flevoland/").get_data(as_text=True)

    assert operator_login(client, operator_idp).status_code == 302
    assert client.get("/operator/").status_code == 200
    page = client.get("/flevoland/").get_data(as_text=True)
    assert "Wim Wissel" not in page and "/auth/logout" not in page


def test_console_pages_carry_no_tenants_look_or_login(app, console):
    """base.html without a tenant: the product's name, no tenant's style sheet, logo or
    navigation, also on pages about one tenant (whose context must not leak into the layout)."""
    page = console.get("/operator/").get_data(as_text=True)
    assert re.search(r"<title>Tenants · Samen Leren</title>", page)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    pages = {
        "list": page,
        "new": console.get("/operator/tenants/new").get_data(as_text=True),
        "confirm": console.get("/operator/tenants/flevoland/suspend").get_data(as_text=True),
        "sso": console.post(
            "/operator/tenants/flevoland/test-sso", data={"csrf_token": token}
        ).get_data(as_text=True),
    }
    for name, html in pages.items():
        assert "theme.css" not in html, name
        assert "/flevoland/logo" not in html, name
        assert '<span class="sl-brand__name">Samen Leren</span>' in html, name
        assert 'action="/operator/logout"' in html, name
        assert "/auth/logout" not in html, name
