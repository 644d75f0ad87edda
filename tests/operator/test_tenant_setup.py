"""A province finishes its login set-up in the console, with no restart and no server access:
the client secret (from the operator, or from its IT contact through a one-time link), the first
programme administrators, an SSO test that fails while a login would, and the technical cause of
refused logins for the operator."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.conftest import SECRET_ENVS, csrf_token, login
from tests.operator.conftest import audit_events
from tests.operator.test_onboarding import VALID_FORM, field_error, token


def text_of(answer) -> str:
    return html.unescape(answer.get_data(as_text=True))


def tenant_row(app: Flask, slug: str):
    from samenleren.core.extensions import db
    from samenleren.core.tenant import Tenant

    with app.app_context():
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
        db.session.expunge(tenant)
        return tenant


def stored_secret(app: Flask, slug: str) -> str | None:
    from samenleren.identity.encryption import decrypt_secret

    tenant = tenant_row(app, slug)
    if tenant.sso_client_secret_encrypted is None:
        return None
    with app.app_context():
        return decrypt_secret(tenant.sso_client_secret_encrypted)


@pytest.fixture
def no_env_secret(monkeypatch):
    """Flevoland as the issue found it: no secret stored, none in the environment."""
    monkeypatch.delenv(SECRET_ENVS["flevoland"])


def post(console: FlaskClient, path: str, **data):
    return console.post(path, data=data | {"csrf_token": csrf_token(console, "/operator/")})


# --- onboarding with the secret and the first administrators ------------------------------------


def test_the_form_takes_the_secret_and_the_first_administrators(app, console, tenants):
    values = VALID_FORM | {
        "client_secret_env": "",
        "client_secret": "zl-geheim-123",
        "first_admins": "femke@zeeland.nl\nsub-42\n",
    }
    answer = console.post("/operator/tenants/new", data=values | {"csrf_token": token(console)})
    assert answer.status_code == 303, text_of(answer)
    tenant = tenant_row(app, "zeeland")
    assert tenant.sso_client_secret_encrypted
    assert "zl-geheim-123" not in tenant.sso_client_secret_encrypted  # encrypted
    assert stored_secret(app, "zeeland") == "zl-geheim-123"
    assert tenant.first_admins == ["femke@zeeland.nl", "sub-42"]
    # No environment variable named: one is derived, used only while no secret is stored.
    assert tenant.sso_client_secret_env == "SAMENLEREN_ZEELAND_OIDC_SECRET"
    actions = [event.action for event in audit_events(app, tenant.id)]
    assert actions == ["tenant.onboarded", "sso.changed", "sso.first_admins_named"]


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"client_secret": "two words"}, "client_secret", "no spaces"),
        ({"client_secret": "x" * 2001}, "client_secret", "At most 2000"),
        ({"first_admins": "Femke van Geffen"}, "first_admins", "not an e-mail address"),
        (
            {"first_admins": "\n".join(f"a{n}@x.nl" for n in range(21))},
            "first_admins",
            "At most 20 people",
        ),
    ],
)
def test_a_refused_secret_or_administrator_writes_nothing(
    app, console, tenants, changes, field, words
):
    answer = console.post(
        "/operator/tenants/new", data=VALID_FORM | changes | {"csrf_token": token(console)}
    )
    assert answer.status_code == 422
    assert words in field_error(text_of(answer), field)
    from samenleren.core.extensions import db
    from samenleren.core.tenant import Tenant

    with app.app_context():
        assert db.session.scalar(select(Tenant).where(Tenant.slug == "zeeland")) is None


def test_the_dutch_form_shows_role_words_and_a_decimal_comma(app, console, tenants):
    page = console.get("/operator/tenants/new?lang=nl").get_data(as_text=True)
    assert "programme_admin" not in page
    assert "opleidingsadviseur" in page
    # The example issuer keeps its placeholder (escaped, not swallowed as an HTML tag).
    assert "https://login.microsoftonline.com//v2.0" not in page
    assert "https://login.microsoftonline.com/&lt;tenant-id&gt;/v2.0" in page
    values = VALID_FORM | {
        "primary_color": "#ffff00",
        "group_roles": "ZL-Coaches = leercoach\nZL-HR = Opleidingsadviseur, leidinggevende",
    }
    refused = console.post("/operator/tenants/new", data=values | {"csrf_token": token(console)})
    assert "1,1:1" in field_error(text_of(refused), "primary_color")
    assert "4,5:1" in text_of(refused)
    # The role words are understood.
    answer = console.post(
        "/operator/tenants/new",
        data=values | {"primary_color": "#0B5394", "csrf_token": token(console)},
    )
    assert answer.status_code == 303, text_of(answer)
    assert tenant_row(app, "zeeland").group_roles == {
        "ZL-Coaches": ["coach"],
        "ZL-HR": ["programme_admin", "manager"],
    }


# --- what a login needs: the SSO test, the login page, the console's cause ----------------------


def test_without_a_secret_the_sso_test_fails_in_plain_words(app, console, tenants, no_env_secret):
    answer = post(console, "/operator/tenants/flevoland/test-sso")
    assert answer.status_code == 200
    page = text_of(answer)
    assert "Failed:" in page
    assert "No client secret is set" in page
    # The identity provider itself was fine.
    assert "The signing keys (JWKS) could be fetched" in page
    (event,) = [e for e in audit_events(app, tenants["flevoland"].id) if e.action == "sso.tested"]
    assert event.details["outcome"] == "settings_missing"


def test_with_the_secret_the_sso_test_passes(app, console, tenants):
    page = text_of(post(console, "/operator/tenants/flevoland/test-sso"))
    assert "Passed:" in page
    assert "The client id and the client secret are set." in page


def test_a_login_without_a_secret_names_the_cause_and_the_console_shows_it(
    app, console, tenants, no_env_secret
):
    answer = app.test_client().get("/flevoland/auth/login?lang=en")
    assert answer.status_code == 503
    page = text_of(answer)
    assert "Login not possible yet" in page
    assert "still lacks its client secret" in page
    assert "Trying again will not help" in page
    setup = text_of(console.get("/operator/tenants/flevoland/setup"))
    assert "No client secret is set" in setup
    assert "The identity provider could not be used" in setup  # the reason, in words
    assert "environment variable SAMENLEREN_FLEVOLAND_OIDC_SECRET is not set" in setup


def test_the_operator_enters_the_secret_and_login_works_without_a_restart(
    app, console, tenants, no_env_secret
):
    client = app.test_client()
    assert client.get("/flevoland/auth/login").status_code == 503
    empty = post(console, "/operator/tenants/flevoland/setup/secret", client_secret="  ")
    assert empty.status_code == 422
    assert "Give the client secret" in field_error(text_of(empty), "client_secret")
    assert stored_secret(app, "flevoland") is None
    saved = post(console, "/operator/tenants/flevoland/setup/secret", client_secret="fl-geheim")
    assert saved.status_code == 303
    assert stored_secret(app, "flevoland") == "fl-geheim"
    assert "stored encrypted" in text_of(console.get(saved.headers["Location"]))
    assert login(client, tenants["flevoland"], "eerste.medewerker").status_code == 302
    (changed,) = [
        e for e in audit_events(app, tenants["flevoland"].id) if e.action == "sso.changed"
    ]
    assert changed.actor_label == "Operator: Olga Operator"
    assert changed.details == {"fields": ["client_secret"]}


def test_unknown_tenants_have_no_setup_page(app, console, tenants):
    assert console.get("/operator/tenants/nergens/setup").status_code == 404
    assert post(console, "/operator/tenants/nergens/setup/link").status_code == 404


# --- the IT contact's link -----------------------------------------------------------------------


def make_link(console: FlaskClient) -> str:
    answer = post(console, "/operator/tenants/flevoland/setup/link")
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"
    match = re.search(r'<code id="setup-link">([^<]+)</code>', answer.get_data(as_text=True))
    assert match
    return match.group(1).replace("http://localhost", "")


def test_the_it_contact_enters_the_secret_once_through_the_link(
    app, console, tenants, no_env_secret
):
    path = make_link(console)
    assert path.startswith("/flevoland/auth/setup/")
    contact = app.test_client()
    form = contact.get(path + "?lang=en")
    assert form.status_code == 200
    assert form.headers["Cache-Control"] == "no-store"
    assert "Enter the client secret of Provincie Flevoland" in text_of(form)
    refused = contact.post(
        path, data={"client_secret": "", "csrf_token": csrf_token(contact, path)}
    )
    assert refused.status_code == 422
    assert stored_secret(app, "flevoland") is None
    done = contact.post(
        path, data={"client_secret": "van-it", "csrf_token": csrf_token(contact, path)}
    )
    assert done.status_code == 200
    assert "Client secret saved" in text_of(done)
    assert stored_secret(app, "flevoland") == "van-it"
    # Used once: gone.
    assert contact.get(path).status_code == 404
    assert tenant_row(app, "flevoland").sso_setup_token_hash is None
    events = audit_events(app, tenants["flevoland"].id)
    assert [e.action for e in events] == ["sso.setup_link_issued", "sso.changed"]
    assert events[1].actor_label == "IT contact (set-up link)"


def test_an_expired_replaced_or_foreign_link_is_refused(app, console, tenants):
    first = make_link(console)
    second = make_link(console)
    client = app.test_client()
    assert client.get(first).status_code == 404  # replaced
    token_part = second.rsplit("/", 1)[1]
    assert client.get(f"/gelderland/auth/setup/{token_part}").status_code == 404
    assert client.get("/flevoland/auth/setup/not-a-token").status_code == 404
    from samenleren.core.db import utcnow
    from samenleren.core.extensions import db
    from samenleren.core.tenant import Tenant

    with app.app_context():
        tenant = db.session.get(Tenant, tenants["flevoland"].id)
        tenant.sso_setup_token_expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    assert client.get(second).status_code == 404
    page = client.post(second, data={"client_secret": "x"})
    assert page.status_code in {400, 404}  # no CSRF token, or no link: nothing either way
    assert stored_secret(app, "flevoland") is None


# --- the first programme administrators ---------------------------------------------------------


def roles_of(app: Flask, tenant, subject: str) -> set[str]:
    from samenleren.core.extensions import db
    from samenleren.core.tenancy import tenant_scope
    from samenleren.core.tenant import Tenant
    from samenleren.identity.models import User

    with app.app_context(), tenant_scope(db.session.get(Tenant, tenant.id)):
        user = db.session.scalar(select(User).where(User.subject == subject))
        return {role.value for role in user.roles}


def test_a_named_first_administrator_gets_the_role_at_first_login(app, console, tenants):
    flevoland = tenants["flevoland"]
    answer = post(
        console,
        "/operator/tenants/flevoland/setup/admins",
        first_admins="Femke@Flevoland.nl\nsub-van-jan",
    )
    assert answer.status_code == 303
    assert tenant_row(app, "flevoland").first_admins == ["Femke@Flevoland.nl", "sub-van-jan"]
    # By e-mail (any case) and by subject; someone else gets nothing more.
    login(app.test_client(), flevoland, "f.geffen", email="femke@flevoland.nl", groups=[])
    login(app.test_client(), flevoland, "sub-van-jan", groups=[])
    login(app.test_client(), flevoland, "iemand", email="iemand@flevoland.nl", groups=[])
    assert "programme_admin" in roles_of(app, flevoland, "f.geffen")
    assert "programme_admin" in roles_of(app, flevoland, "sub-van-jan")
    assert "programme_admin" not in roles_of(app, flevoland, "iemand")
    assert tenant_row(app, "flevoland").first_admins == []
    # The role stays at the next login, though no group gives it.
    login(app.test_client(), flevoland, "f.geffen", email="femke@flevoland.nl", groups=[])
    assert "programme_admin" in roles_of(app, flevoland, "f.geffen")


def test_an_unverified_address_or_a_later_login_does_not_make_an_administrator(
    app, console, tenants
):
    flevoland = tenants["flevoland"]
    login(app.test_client(), flevoland, "al.bekend", email="al@flevoland.nl", groups=[])
    post(
        console,
        "/operator/tenants/flevoland/setup/admins",
        first_admins="al@flevoland.nl\nniet@flevoland.nl",
    )
    login(app.test_client(), flevoland, "al.bekend", email="al@flevoland.nl", groups=[])
    login(
        app.test_client(),
        flevoland,
        "onzeker",
        email="niet@flevoland.nl",
        email_verified=False,
        groups=[],
    )
    assert "programme_admin" not in roles_of(app, flevoland, "al.bekend")
    assert "programme_admin" not in roles_of(app, flevoland, "onzeker")
    assert tenant_row(app, "flevoland").first_admins == ["al@flevoland.nl", "niet@flevoland.nl"]


def test_refused_first_administrators_change_nothing(app, console, tenants):
    answer = post(console, "/operator/tenants/flevoland/setup/admins", first_admins="a b")
    assert answer.status_code == 422
    page = text_of(answer)
    assert "not an e-mail address or subject" in field_error(page, "first_admins")
    assert "a b</textarea>" in page
    assert tenant_row(app, "flevoland").first_admins == []
