"""Login sessions: renewed at login, ended for good at logout, bound to a tenant, safe cookies."""

from __future__ import annotations

from datetime import timedelta
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import TenantRef, csrf_token, login

COOKIE = "samenleren"


def cookie_value(client: FlaskClient) -> str | None:
    cookie = client.get_cookie(COOKIE)
    return cookie.value if cookie is not None else None


def fresh_client_with(app: Flask, value: str) -> FlaskClient:
    """Another browser that somehow got a copy of the cookie."""
    client = app.test_client()
    client.set_cookie(COOKIE, value)
    return client


def is_logged_in(client: FlaskClient, slug: str, name: str) -> bool:
    page = client.get(f"/{slug}/").get_data(as_text=True)
    logged_in = f'action="/{slug}/auth/logout"' in page
    assert logged_in == (name in page), "the name shows exactly when logged in"
    if not logged_in:
        assert f'href="/{slug}/auth/login"' in page  # the landing page
    return logged_in


def login_sessions(app: Flask, tenant: TenantRef):
    from sqlalchemy import select

    from samenleren.core.extensions import db
    from samenleren.core.tenancy import tenant_scope
    from samenleren.core.tenant import Tenant
    from samenleren.identity.models import LoginSession

    with app.app_context(), tenant_scope(db.session.get(Tenant, tenant.id)):
        rows = db.session.scalars(select(LoginSession)).all()
        db.session.expunge_all()
        return rows


def change_login_sessions(app: Flask, tenant: TenantRef, **values) -> None:
    from sqlalchemy import select

    from samenleren.core.extensions import db
    from samenleren.core.tenancy import tenant_scope
    from samenleren.core.tenant import Tenant
    from samenleren.identity.models import LoginSession

    with app.app_context(), tenant_scope(db.session.get(Tenant, tenant.id)):
        for row in db.session.scalars(select(LoginSession)):
            for key, value in values.items():
                setattr(row, key, value)
        db.session.commit()


def set_cookie_header(response) -> SimpleCookie:
    headers = [v for k, v in response.headers.items() if k.lower() == "set-cookie"]
    ours = [h for h in headers if h.startswith(f"{COOKIE}=")]
    assert len(ours) == 1, headers
    parsed = SimpleCookie()
    parsed.load(ours[0])
    return parsed


# --- renewal at login -------------------------------------------------------------------------


def test_session_is_renewed_at_login(app, tenants):
    flevoland = tenants["flevoland"]
    client = app.test_client()
    client.get("/flevoland/?lang=en")  # a language choice is the one thing worth keeping
    with client.session_transaction() as session:
        session["planted_by_attacker"] = "fixation"
    before = cookie_value(client)
    assert before

    assert login(client, flevoland, "nieuw.sessie", name="Nina Sessie").status_code == 302
    after = cookie_value(client)
    assert after and after != before
    with client.session_transaction() as session:
        assert "planted_by_attacker" not in session
        assert not [key for key in session if key.startswith("_state_")]  # OIDC state used up
        assert session.get("lang") == "en"
    assert is_logged_in(client, "flevoland", "Nina Sessie")
    # Someone holding the cookie from before the login (session fixation) is not logged in.
    assert not is_logged_in(fresh_client_with(app, before), "flevoland", "Nina Sessie")


def test_login_session_lasts_the_configured_hours(app, tenants):
    from samenleren.core.db import as_utc, utcnow

    login(app.test_client(), tenants["flevoland"], "duur")
    (row,) = login_sessions(app, tenants["flevoland"])
    hours = app.config["SAMENLEREN_SESSION_HOURS"]
    remaining = as_utc(row.expires_at) - utcnow()
    assert timedelta(hours=hours) - timedelta(minutes=1) < remaining <= timedelta(hours=hours)
    assert row.ended_at is None


# --- logout -----------------------------------------------------------------------------------


def test_logout_ends_the_server_side_session(app, tenants):
    flevoland = tenants["flevoland"]
    client = app.test_client()
    login(client, flevoland, "uit.logger", name="Uma Uitlogger")
    copy = cookie_value(client)
    # The copy works as long as the login lasts (so the check below can fail) ...
    assert is_logged_in(fresh_client_with(app, copy), "flevoland", "Uma Uitlogger")

    token = csrf_token(client, "/flevoland/")
    answer = client.post("/flevoland/auth/logout", data={"csrf_token": token})
    assert answer.status_code == 302
    # The session ends at the identity provider too (RP-initiated logout), which sends the
    # browser back to the tenant's start page.
    target = urlsplit(answer.headers["Location"])
    assert answer.headers["Location"].startswith(f"{flevoland.idp.issuer}/oauth2/end_session?")
    back = parse_qs(target.query)["post_logout_redirect_uri"][0]
    assert back.endswith("/flevoland/?logged_out=1")
    landing = client.get(back)
    assert 'role="status"' in landing.get_data(as_text=True)
    assert not is_logged_in(client, "flevoland", "Uma Uitlogger")

    # ... and is worthless once logged out: the LoginSession row has ended.
    (row,) = login_sessions(app, flevoland)
    assert row.ended_at is not None
    thief = fresh_client_with(app, copy)
    assert not is_logged_in(thief, "flevoland", "Uma Uitlogger")
    trainings = thief.get("/flevoland/trainings/")
    assert trainings.status_code == 302
    assert "/flevoland/auth/login" in trainings.headers["Location"]


@pytest.mark.parametrize("token", [None, "", "not-a-token"])
def test_logout_without_a_valid_csrf_token_is_refused(app, tenants, token):
    client = app.test_client()
    login(client, tenants["flevoland"], "blijf", name="Bram Blijf")
    data = {} if token is None else {"csrf_token": token}
    answer = client.post("/flevoland/auth/logout", data=data)
    assert answer.status_code == 400
    assert is_logged_in(client, "flevoland", "Bram Blijf")
    (row,) = login_sessions(app, tenants["flevoland"])
    assert row.ended_at is None


def test_csrf_token_of_another_session_is_refused(app, tenants):
    victim, attacker = app.test_client(), app.test_client()
    login(victim, tenants["flevoland"], "slachtoffer", name="Sanne Slachtoffer")
    login(attacker, tenants["flevoland"], "aanvaller", name="Aart Aanvaller")
    foreign_token = csrf_token(attacker, "/flevoland/")
    answer = victim.post("/flevoland/auth/logout", data={"csrf_token": foreign_token})
    assert answer.status_code == 400
    assert is_logged_in(victim, "flevoland", "Sanne Slachtoffer")


def test_logout_is_post_only(app, tenants):
    client = app.test_client()
    login(client, tenants["flevoland"], "get.uit", name="Gert Uit")
    assert client.get("/flevoland/auth/logout").status_code == 405
    assert is_logged_in(client, "flevoland", "Gert Uit")


def test_logout_at_the_other_tenant_leaves_this_login_alone(app, tenants):
    client = app.test_client()
    login(client, tenants["flevoland"], "twee.plekken", name="Tom Plekken")
    token = csrf_token(client, "/flevoland/")
    answer = client.post("/gelderland/auth/logout", data={"csrf_token": token})
    assert answer.status_code == 302
    assert answer.headers["Location"].endswith("/gelderland/?logged_out=1")
    assert is_logged_in(client, "flevoland", "Tom Plekken")


# --- sessions that are no longer valid --------------------------------------------------------


def test_expired_login_session_is_anonymous(app, tenants):
    from samenleren.core.db import utcnow

    client = app.test_client()
    login(client, tenants["flevoland"], "verlopen", name="Vera Verlopen")
    assert is_logged_in(client, "flevoland", "Vera Verlopen")
    change_login_sessions(app, tenants["flevoland"], expires_at=utcnow() - timedelta(seconds=1))
    assert not is_logged_in(client, "flevoland", "Vera Verlopen")
    assert client.get("/flevoland/trainings/").status_code == 302


def test_session_ended_elsewhere_is_anonymous(app, tenants):
    """Deprovisioning ends every open login of a user (`end_all_sessions_of`)."""
    from sqlalchemy import select

    from samenleren.core.extensions import db
    from samenleren.core.tenancy import tenant_scope
    from samenleren.core.tenant import Tenant
    from samenleren.identity.models import User
    from samenleren.identity.sessions import end_all_sessions_of

    laptop, phone = app.test_client(), app.test_client()
    login(laptop, tenants["flevoland"], "overal", name="Olga Overal")
    login(phone, tenants["flevoland"], "overal", name="Olga Overal")
    with app.app_context(), tenant_scope(db.session.get(Tenant, tenants["flevoland"].id)):
        user = db.session.scalar(select(User).where(User.subject == "overal"))
        assert end_all_sessions_of(user) == 2
        db.session.commit()
    assert not is_logged_in(laptop, "flevoland", "Olga Overal")
    assert not is_logged_in(phone, "flevoland", "Olga Overal")


def test_deactivated_user_with_an_open_session_is_anonymous(app, tenants):
    from sqlalchemy import update

    from samenleren.core.extensions import db
    from samenleren.core.tenancy import tenant_scope
    from samenleren.core.tenant import Tenant
    from samenleren.identity.models import User

    client = app.test_client()
    login(client, tenants["flevoland"], "ontslagen", name="Otto Ontslagen")
    assert is_logged_in(client, "flevoland", "Otto Ontslagen")
    with app.app_context(), tenant_scope(db.session.get(Tenant, tenants["flevoland"].id)):
        db.session.execute(update(User).values(active=False))
        db.session.commit()
    assert not is_logged_in(client, "flevoland", "Otto Ontslagen")


@pytest.mark.parametrize("value", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_unknown_login_session_id_in_the_cookie_is_anonymous(app, tenants, value):
    client = app.test_client()
    login(client, tenants["flevoland"], "vals", name="Vals Koekje")
    with client.session_transaction() as session:
        session["_user_id"] = value
    assert not is_logged_in(client, "flevoland", "Vals Koekje")


# --- cookie flags -----------------------------------------------------------------------------


def test_session_cookie_is_httponly_and_samesite_lax(app, tenants):
    answer = login(app.test_client(), tenants["flevoland"], "koekje")
    cookie = set_cookie_header(answer)[COOKIE]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"  # not Strict: the IdP's redirect back must carry it
    assert cookie["path"] == "/"
    assert not cookie["secure"]  # the test configuration is plain http


def test_production_configuration_makes_the_cookie_secure(monkeypatch):
    from samenleren.core.config import load_config

    monkeypatch.setenv("SAMENLEREN_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "p" * 48)
    monkeypatch.setenv("DATABASE_URL", "postgresql://app@db.example/samenleren")
    monkeypatch.setenv("SAMENLEREN_SECRET_ENCRYPTION_KEY", "k" * 43 + "=")
    monkeypatch.setenv("SAMENLEREN_BASE_URL", "https://samenleren.example.nl")
    config = load_config()
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["SESSION_COOKIE_HTTPONLY"] is True
    assert config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert config["TESTING"] is False

    monkeypatch.setenv("SAMENLEREN_ENV", "development")
    assert load_config()["SESSION_COOKIE_SECURE"] is False


def test_production_app_sends_a_secure_cookie(app, tenants, monkeypatch):
    """A whole app built for production (same database) sets Secure on its session cookie."""
    from samenleren import create_app

    monkeypatch.setenv("SAMENLEREN_ENV", "production")
    monkeypatch.setenv("SAMENLEREN_SECRET_ENCRYPTION_KEY", "k" * 43 + "=")
    monkeypatch.setenv("SAMENLEREN_BASE_URL", "https://samenleren.example.nl")
    production = create_app({"SERVER_NAME": None})
    assert production.config["SESSION_COOKIE_SECURE"] is True
    try:
        answer = production.test_client().get("/flevoland/?lang=en", base_url="https://localhost")
        assert answer.status_code == 200
        cookie = set_cookie_header(answer)[COOKIE]
        assert cookie["secure"] is True
        assert cookie["httponly"] is True
        assert cookie["samesite"] == "Lax"
        assert "max-age=" in answer.headers["Strict-Transport-Security"]
    finally:
        with production.app_context():
            from samenleren.core.extensions import db

            db.engine.dispose()
