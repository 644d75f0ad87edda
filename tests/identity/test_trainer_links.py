"""External trainers: invited by the programme admin, signed in through single-use links that
expire, seeing only the editions they train."""

from __future__ import annotations

import hashlib
import html
import re
from datetime import timedelta
from urllib.parse import urlsplit

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient

from samenleren.core.formatting import local_today
from tests.conftest import TenantRef, csrf_token, login, make_user
from tests.factories import build_world, get, in_tenant
from tests.identity.test_sso_settings import admin_client, audit_events

LINK = re.compile(r'value="(http://localhost/(\w+)/auth/link/([A-Za-z0-9_-]+))"')


# --- helpers ----------------------------------------------------------------------------------


def invite(client: FlaskClient, slug: str, name: str, email: str):
    token = csrf_token(client, f"/{slug}/trainers/invite")
    return client.post(
        f"/{slug}/trainers/invite", data={"csrf_token": token, "name": name, "email": email}
    )


def link_of(answer) -> tuple[str, str]:
    """(path, token) of the link shown on the page."""
    assert answer.status_code == 200, answer.status_code
    match = LINK.search(answer.get_data(as_text=True))
    assert match, "no sign-in link on the page"
    return urlsplit(match.group(1)).path, match.group(3)


def invited(app: Flask, tenant: TenantRef, name: str = "Tom Trainer") -> tuple[str, str]:
    """Invite an external trainer through the admin's page; (link path, token)."""
    client = admin_client(app, tenant)
    email = f"{name.lower().replace(' ', '.')}@bureau.example"
    return link_of(invite(client, tenant.slug, name, email))


def press(client: FlaskClient, path: str):
    """Open the link and press its button, as a person does."""
    page = client.get(path)
    assert page.status_code == 200, page.status_code
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    return client.post(path, data={"csrf_token": token.group(1)})


def csrf_for(client: FlaskClient, slug: str) -> str:
    """A valid CSRF token of this client's session, as a form of the app would carry it."""
    from tests.test_isolation import valid_csrf_token

    return valid_csrf_token(client.application, client)


def post(client: FlaskClient, slug: str, path: str):
    return client.post(path, data={"csrf_token": csrf_for(client, slug)})


def externals(app: Flask, tenant: TenantRef) -> list[dict]:
    from sqlalchemy import select

    from samenleren.core.extensions import db
    from samenleren.identity.models import User

    with in_tenant(app, tenant):
        return [
            {
                "id": user.id,
                "subject": user.subject,
                "name": user.name,
                "email": user.email,
                "active": user.active,
                "roles": {(a.role.value, a.source.value) for a in user.role_assignments},
            }
            for user in db.session.scalars(select(User).where(User.subject.startswith("external:")))
        ]


def counts(app: Flask, tenants: dict[str, TenantRef]) -> dict[str, tuple[int, int]]:
    """Users and login sessions per tenant: what a refused link must not change."""
    from sqlalchemy import func, select

    from samenleren.core.extensions import db
    from samenleren.identity.models import LoginSession, User

    result = {}
    for slug, ref in tenants.items():
        with in_tenant(app, ref):
            result[slug] = (
                db.session.scalar(select(func.count()).select_from(User)),
                db.session.scalar(select(func.count()).select_from(LoginSession)),
            )
    return result


def link_row(app: Flask, tenant: TenantRef, token: str):
    from sqlalchemy import select

    from samenleren.core.extensions import db
    from samenleren.identity.models import SignInLink

    digest = hashlib.sha256(token.encode()).hexdigest()
    with in_tenant(app, tenant):
        row = db.session.scalar(select(SignInLink).where(SignInLink.token_hash == digest))
        db.session.expunge_all()
        return row


def shows_name(client: FlaskClient, slug: str, name: str) -> bool:
    page = client.get(f"/{slug}/").get_data(as_text=True)
    return f'action="/{slug}/auth/logout"' in page and name in page


# --- who may ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["learner", "coach", "manager", "trainer"])
def test_only_the_programme_admin_finds_the_trainer_pages(app, tenants, role):
    flevoland = tenants["flevoland"]
    invited(app, flevoland)
    trainer_id = externals(app, flevoland)[0]["id"]
    with app.app_context():
        make_user(flevoland, f"geen.{role}", role)
    client = app.test_client()
    login(client, flevoland, f"geen.{role}")
    before = counts(app, tenants)
    assert client.get("/flevoland/trainers/").status_code == 404
    assert client.get("/flevoland/trainers/invite").status_code == 404
    for path, data in (
        ("/flevoland/trainers/invite", {"name": "X", "email": "x@example.nl"}),
        (f"/flevoland/trainers/{trainer_id}/link", {}),
        (f"/flevoland/trainers/{trainer_id}/access", {"active": "no"}),
    ):
        answer = client.post(path, data=data | {"csrf_token": csrf_for(client, "flevoland")})
        assert answer.status_code == 404, path
    assert counts(app, tenants) == before
    assert externals(app, flevoland)[0]["active"] is True


def test_employees_are_not_external_trainers_on_these_routes(app, tenants):
    flevoland = tenants["flevoland"]
    client = admin_client(app, flevoland)
    with in_tenant(app, flevoland):
        world = build_world(flevoland)
    for path in (f"/flevoland/trainers/{world.trainer}/link", "/flevoland/trainers/x/link"):
        assert post(client, "flevoland", path).status_code == 404


# --- inviting -----------------------------------------------------------------------------------


def test_inviting_creates_an_external_trainer_and_shows_the_link_once(app, tenants, database):
    from samenleren.catalogue.editions import trainer_choices

    flevoland = tenants["flevoland"]
    client = admin_client(app, flevoland)
    answer = invite(client, "flevoland", "Tom Trainer", "Tom@Bureau.example")
    path, token = link_of(answer)
    page = answer.get_data(as_text=True)
    assert "Send this link to the trainer" in page
    assert answer.headers["Cache-Control"] == "no-store"
    assert path == f"/flevoland/auth/link/{token}"

    (trainer,) = externals(app, flevoland)
    assert trainer["name"] == "Tom Trainer"
    assert trainer["email"] == "Tom@Bureau.example"
    assert re.fullmatch(r"external:[0-9a-f-]{36}", trainer["subject"])
    assert trainer["roles"] == {("trainer", "app")}
    with in_tenant(app, flevoland):
        assert (trainer["id"], "Tom Trainer") in trainer_choices()

    # Only the token's hash is stored; the token is nowhere in the database.
    row = link_row(app, flevoland, token)
    assert row is not None and row.used_at is None
    assert row.expires_at - row.created_at == timedelta(hours=24)
    with psycopg.connect(database.owner_url) as owner:
        dump = owner.execute(
            "SELECT coalesce((SELECT string_agg(row_to_json(l)::text, ' ') FROM sign_in_links l)"
            ", '') || coalesce((SELECT string_agg(row_to_json(a)::text, ' ') "
            "FROM audit_events a), '')"
        ).fetchone()[0]
    assert token not in dump
    (event,) = audit_events(app, flevoland, "trainer.invited")
    assert event["details"].keys() == {"link_expires_at"}

    listing = client.get("/flevoland/trainers/").get_data(as_text=True)
    assert "Tom Trainer" in listing
    assert "Not used yet" in listing
    assert token not in listing


@pytest.mark.parametrize(
    ("name", "email", "field", "message"),
    [
        ("", "a@b.nl", "name", "Give the trainer's name."),
        ("Ann", "", "email", "Give the trainer's e-mail address."),
        ("Ann", "geen-adres", "email", "such as name@example.nl"),
        ("Ann", "a@b", "email", "such as name@example.nl"),
        ("Ann", "TOM@bureau.example", "email", "already invited"),
        ("Ann", "Bea.Beheer@example.nl", "email", "organisation's own account"),
        ("Ann\r\nBcc: eve@example.nl", "a@b.nl", "name", "control character"),
        ("Ann", "a@b.nl\r\nBcc: eve@example.nl", "email", "control character"),
    ],
)
def test_refused_invitations_write_nothing(app, tenants, name, email, field, message):
    flevoland = tenants["flevoland"]
    client = admin_client(app, flevoland)
    invite(client, "flevoland", "Tom Trainer", "tom@bureau.example")
    before = counts(app, tenants)
    events = audit_events(app, flevoland)
    answer = invite(client, "flevoland", name, email)
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    assert message in html.unescape(re.search(rf'id="err-{field}">([^<]*)<', page).group(1))
    assert 'aria-invalid="true"' in page
    assert f'value="{email}"' in page or not email
    assert counts(app, tenants) == before
    assert audit_events(app, flevoland) == events


def test_the_link_is_logged_in_development(app, tenants, monkeypatch, caplog):
    import logging

    # Alembic's fileConfig (migrations/env.py, run by the app fixture) disables the loggers that
    # existed before the upgrade; a development server never runs migrations in-process.
    monkeypatch.setattr(logging.getLogger("samenleren.identity.trainers"), "disabled", False)
    monkeypatch.setitem(app.config, "SAMENLEREN_ENV", "development")
    with caplog.at_level("INFO", logger="samenleren.identity.trainers"):
        _path, token = invited(app, tenants["flevoland"])
    assert any(token in record.getMessage() for record in caplog.records)


def test_the_link_is_not_logged_outside_development(app, tenants, caplog, monkeypatch):
    import logging

    monkeypatch.setattr(logging.getLogger("samenleren.identity.trainers"), "disabled", False)
    with caplog.at_level("INFO"):
        _path, token = invited(app, tenants["flevoland"])
    assert not any(token in record.getMessage() for record in caplog.records)


# --- signing in ----------------------------------------------------------------------------------


def test_the_link_signs_in_once_and_only_on_the_button(app, tenants):
    flevoland = tenants["flevoland"]
    path, token = invited(app, flevoland)
    before = counts(app, tenants)

    # Opening the link (a person, or a mail scanner) spends nothing.
    scanner = app.test_client()
    scanner.get("/flevoland/?lang=en")
    for _ in range(2):
        page = scanner.get(path)
        assert page.status_code == 200
        assert page.headers["Cache-Control"] == "no-store"
    assert link_row(app, flevoland, token).used_at is None
    assert counts(app, tenants) == before

    browser = app.test_client()
    browser.get("/flevoland/?lang=en")
    answer = press(browser, path)
    assert answer.status_code == 303
    assert urlsplit(answer.headers["Location"]).path == "/flevoland/"
    assert shows_name(browser, "flevoland", "Tom Trainer")
    users, sessions = before["flevoland"]
    assert counts(app, tenants)["flevoland"] == (users, sessions + 1)
    assert link_row(app, flevoland, token).used_at is not None
    (trainer,) = externals(app, flevoland)
    (event,) = [
        e for e in audit_events(app, flevoland, "login.succeeded") if e["actor_id"] == trainer["id"]
    ]
    assert event["details"] == {"method": "link"}

    # Used: a second press (here the scanner's copy) signs nobody in.
    spent = post(scanner, "flevoland", path)
    assert spent.status_code == 410
    assert "used before" in spent.get_data(as_text=True)
    assert scanner.get(path).status_code == 410
    assert counts(app, tenants)["flevoland"] == (users, sessions + 1)
    assert not shows_name(scanner, "flevoland", "Tom Trainer")
    refused = audit_events(app, flevoland, "login.refused")
    assert [e["details"] for e in refused] == [{"method": "link", "reason": "link_used"}]


def test_an_expired_link_signs_nobody_in(app, tenants):
    from sqlalchemy import select

    from samenleren.core.db import utcnow
    from samenleren.core.extensions import db
    from samenleren.identity.models import SignInLink

    flevoland = tenants["flevoland"]
    path, _token = invited(app, flevoland)
    with in_tenant(app, flevoland):
        link = db.session.scalar(select(SignInLink))
        link.expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    before = counts(app, tenants)
    client = app.test_client()
    client.get("/flevoland/?lang=en")
    answer = client.get(path)
    assert answer.status_code == 410
    assert "The link has expired." in answer.get_data(as_text=True)
    assert "Ask the programme administrator" in answer.get_data(as_text=True)
    assert post(client, "flevoland", path).status_code == 410
    assert counts(app, tenants) == before
    assert not shows_name(client, "flevoland", "Tom Trainer")


def test_a_link_of_another_tenant_looks_exactly_like_a_missing_one(app, tenants):
    from tests.test_isolation import comparable

    flevoland = tenants["flevoland"]
    path, token = invited(app, flevoland)
    clients = (app.test_client(), admin_client(app, tenants["gelderland"]))
    before = counts(app, tenants)
    elsewhere = f"/gelderland/auth/link/{token}"
    missing = "/gelderland/auth/link/" + "A" * 43
    for client in clients:
        got = [client.get(elsewhere), post(client, "gelderland", elsewhere)]
        none = [client.get(missing), post(client, "gelderland", missing)]
        for foreign, absent in zip(got, none, strict=True):
            assert foreign.status_code == 404
            assert comparable(foreign, [token, "A" * 43]) == comparable(absent, [token, "A" * 43])
    assert counts(app, tenants) == before
    # ... and it still works where it belongs.
    assert press(app.test_client(), path).status_code == 303


@pytest.mark.parametrize(
    "token",
    [
        "x",
        "A" * 42,
        "A" * 44,
        "%00",
        "' OR 1=1 --",
        "6dc5861f-22d6-4b25-a466-297102e10a4f",  # well-formed, but no link has it
        "A" * 42 + "!",
    ],
)
def test_malformed_tokens_look_missing(app, tenants, token):
    answer = app.test_client().get(f"/flevoland/auth/link/{token}")
    assert answer.status_code == 404


def test_a_new_link_replaces_the_previous_one(app, tenants):
    flevoland = tenants["flevoland"]
    client = admin_client(app, flevoland)
    old_path, old_token = link_of(invite(client, "flevoland", "Tom Trainer", "tom@bureau.example"))
    (trainer,) = externals(app, flevoland)
    answer = post(client, "flevoland", f"/flevoland/trainers/{trainer['id']}/link")
    new_path, new_token = link_of(answer)
    assert new_token != old_token
    assert "Send this link to the trainer" in answer.get_data(as_text=True)
    stale = app.test_client()
    stale.get("/flevoland/?lang=en")
    answer = stale.get(old_path)
    assert answer.status_code == 410
    assert "newer link" in answer.get_data(as_text=True)
    assert press(app.test_client(), new_path).status_code == 303
    assert [
        e["action"] for e in audit_events(app, flevoland) if e["action"].startswith("trainer")
    ] == [
        "trainer.invited",
        "trainer.link_sent",
    ]


def test_withdrawn_access_ends_sessions_and_voids_links(app, tenants):
    flevoland = tenants["flevoland"]
    admin = admin_client(app, flevoland)
    first, _ = link_of(invite(admin, "flevoland", "Tom Trainer", "tom@bureau.example"))
    trainer_browser = app.test_client()
    press(trainer_browser, first)
    assert shows_name(trainer_browser, "flevoland", "Tom Trainer")
    (trainer,) = externals(app, flevoland)
    second, _ = link_of(post(admin, "flevoland", f"/flevoland/trainers/{trainer['id']}/link"))

    access = f"/flevoland/trainers/{trainer['id']}/access"
    answer = admin.post(access, data={"csrf_token": csrf_for(admin, "flevoland"), "active": "no"})
    assert answer.status_code == 303
    assert externals(app, flevoland)[0]["active"] is False
    assert not shows_name(trainer_browser, "flevoland", "Tom Trainer")  # signed out
    before = counts(app, tenants)
    other = app.test_client()
    other.get("/flevoland/?lang=en")
    answer = other.get(second)
    assert answer.status_code == 410
    assert "has been withdrawn" in answer.get_data(as_text=True)
    assert post(other, "flevoland", second).status_code == 410
    assert counts(app, tenants) == before
    # No new link while access is withdrawn.
    refused = post(admin, "flevoland", f"/flevoland/trainers/{trainer['id']}/link")
    assert refused.status_code == 422

    # Restored: the old links stay void; a new one works.
    admin.post(access, data={"csrf_token": csrf_for(admin, "flevoland"), "active": "yes"})
    assert other.get(second).status_code == 410
    third, _ = link_of(post(admin, "flevoland", f"/flevoland/trainers/{trainer['id']}/link"))
    assert press(app.test_client(), third).status_code == 303
    actions = [e["action"] for e in audit_events(app, flevoland)]
    assert "trainer.access_withdrawn" in actions and "trainer.access_restored" in actions


def test_a_logged_in_employee_pressing_a_link_becomes_the_trainer(app, tenants):
    """The link is the credential: whoever presses it is the trainer from then on (the
    employee's own login ends, as at any new login in the same browser)."""
    flevoland, gelderland = tenants["flevoland"], tenants["gelderland"]
    path, _ = invited(app, flevoland)
    client = app.test_client()
    login(client, gelderland, "gijs", name="Gijs Gelder")
    assert press(client, path).status_code == 303
    assert shows_name(client, "flevoland", "Tom Trainer")
    assert not shows_name(client, "gelderland", "Gijs Gelder")


# --- what an external trainer sees ----------------------------------------------------------------


def test_an_external_trainer_sees_only_the_editions_they_train(app, tenants):

    from samenleren.catalogue.editions import EditionInput, update_edition
    from samenleren.catalogue.models import Edition
    from samenleren.core.extensions import db
    from samenleren.identity.models import User

    flevoland = tenants["flevoland"]
    path, _ = invited(app, flevoland)
    (trainer,) = externals(app, flevoland)
    with in_tenant(app, flevoland):
        world = build_world(flevoland)
        edition = get(Edition, world.edition)
        update_edition(
            edition,
            get(User, world.admin),
            EditionInput(
                name=edition.name,
                starts_on=edition.starts_on,
                ends_on=edition.ends_on,
                location=edition.location,
                trainer_id=trainer["id"],  # refused unless trainer_choices() offers them
            ),
        )
        other = Edition(
            training_id=world.training,
            name="Andere editie",
            starts_on=local_today() + timedelta(days=50),
            ends_on=local_today() + timedelta(days=60),
            trainer_id=world.trainer,
        )
        db.session.add(other)
        db.session.commit()
        other_id = other.id

    client = app.test_client()
    press(client, path)
    own = client.get(f"/flevoland/editions/{world.edition}")
    assert own.status_code == 200
    assert "Anna Learner flevoland" in own.get_data(as_text=True)  # the participants
    assert client.get(f"/flevoland/editions/{other_id}").status_code == 404
    dashboard = client.get("/flevoland/").get_data(as_text=True)
    assert "Editie flevoland" in dashboard
    assert "Andere editie" not in dashboard


def test_signing_in_with_a_link_has_the_login_rate_limit(app, tenants, monkeypatch):
    """Nobody can try tokens at will: the link counts like the login, per tenant and client."""
    import secrets

    flevoland = tenants["flevoland"]
    path, _token = invited(app, flevoland)
    monkeypatch.setitem(app.config, "SAMENLEREN_RATELIMIT_LOGIN", "3 per minute")
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = f"127.9.{secrets.randbelow(250)}.{secrets.randbelow(250)}"
    guesses = [f"/flevoland/auth/link/{secrets.token_urlsafe(32)}" for _ in range(3)]
    assert [client.get(guess).status_code for guess in guesses] == [404, 404, 404]
    refused = client.get(path)  # even the right link, once the client has used up its limit
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert post(client, "flevoland", path).status_code == 429
    assert link_row(app, flevoland, _token).used_at is None
    # Another client, and the same client at another tenant, have limits of their own.
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = f"127.8.{secrets.randbelow(250)}.{secrets.randbelow(250)}"
    assert press(other, path).status_code == 303
    assert client.get(f"/gelderland/auth/link/{secrets.token_urlsafe(32)}").status_code == 404
