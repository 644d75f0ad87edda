"""The programme administrator's SSO settings page: `/<tenant>/settings/sso`.

Against real identity providers (`oidc-provider-mock` over HTTP): a client registered at a
provider of its own has its secret checked at the token endpoint, so "the login works with the new
secret" and "a wrong secret is refused" are proven end to end, not by looking at our own cache.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import psycopg
import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from oidc_provider_mock import run_server_in_thread
from werkzeug.datastructures import MultiDict

from tests.conftest import SECRET_ENVS, IdP, TenantRef, login, make_user
from tests.identity.page_forms import inputs_of, read_form, replace

PAGE = "/flevoland/settings/sso"
CALLBACK = "http://localhost/flevoland/auth/callback"


# --- helpers --------------------------------------------------------------------------------------


@pytest.fixture
def own_idp() -> Iterator[IdP]:
    """A provider only this test uses (a registered client there has its secret checked)."""
    with run_server_in_thread(port=0) as server:
        yield IdP(f"http://localhost:{server.server_port}")


def register_client(idp: IdP) -> tuple[str, str]:
    """Register Samen Leren at `idp`; from then on the token endpoint checks its secret."""
    answer = requests.post(
        f"{idp.issuer}/oauth2/clients", json={"redirect_uris": [CALLBACK]}, timeout=5
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    return body["client_id"], body["client_secret"]


def admin_client(app: Flask, tenant: TenantRef) -> FlaskClient:
    with app.app_context():
        make_user(tenant, "bea.beheer", "programme_admin", name="Bea Beheer")
    client = app.test_client()
    client.get(f"/{tenant.slug}/?lang=en")  # English: the msgids, whatever the catalogues say
    assert login(client, tenant, "bea.beheer", name="Bea Beheer").status_code == 302
    return client


APPROVE = "/flevoland/settings/sso/issuer/approve"
REJECT = "/flevoland/settings/sso/issuer/reject"


def second_admin_client(app: Flask, tenant: TenantRef) -> FlaskClient:
    """Another programme administrator: the one who may approve a new issuer."""
    from sqlalchemy import select

    from samenleren.core.extensions import db
    from samenleren.identity.models import User
    from tests.factories import in_tenant

    with in_tenant(app, tenant):
        known = db.session.scalar(select(User.id).where(User.subject == "tweede.beheer"))
    if known is None:
        with app.app_context():
            make_user(tenant, "tweede.beheer", "programme_admin", name="Tom Tweede")
    client = app.test_client()
    client.get(f"/{tenant.slug}/?lang=en")
    assert login(client, tenant, "tweede.beheer", name="Tom Tweede").status_code == 302
    return client


def approve_pending_issuer(app: Flask, tenant: TenantRef) -> FlaskClient:
    """Approve the pending issuer as a second programme administrator, through the page."""
    client = second_admin_client(app, tenant)
    answer = client.post(
        APPROVE, data=MultiDict(read_form(client.get(PAGE).get_data(as_text=True), APPROVE))
    )
    assert answer.status_code == 303, answer.status_code
    return client


def current_form(client: FlaskClient) -> list[tuple[str, str]]:
    answer = client.get(PAGE)
    assert answer.status_code == 200
    return read_form(answer.get_data(as_text=True), PAGE)


def submit(client: FlaskClient, **changes: str | list[str]):
    return client.post(PAGE, data=MultiDict(replace(current_form(client), **changes)))


def settings(app: Flask, tenant: TenantRef) -> dict:
    from samenleren.core.extensions import db
    from samenleren.core.tenant import Tenant

    with app.app_context():
        row = db.session.get(Tenant, tenant.id)
        return {
            "issuer": row.sso_issuer,
            "client_id": row.sso_client_id,
            "secret": row.sso_client_secret_encrypted,
            "secret_set_at": row.sso_client_secret_set_at,
            "scopes": list(row.sso_scopes),
            "claims": dict(row.sso_claims),
            "department": row.sso_claim_department,
            "employee_number": row.sso_claim_employee_number,
            "manager": row.sso_claim_manager,
            "group_roles": dict(row.group_roles),
            "default_roles": list(row.default_roles),
            "updated_at": row.updated_at,
        }


def audit_events(app: Flask, tenant: TenantRef, action: str | None = None) -> list[dict]:
    from sqlalchemy import select

    from samenleren.audit.models import AuditEvent
    from tests.factories import in_tenant

    with in_tenant(app, tenant):
        query = select(AuditEvent).order_by(AuditEvent.occurred_at)
        if action:
            query = query.where(AuditEvent.action == action)
        from samenleren.core.extensions import db

        return [
            {"action": e.action, "actor_id": e.actor_id, "details": dict(e.details)}
            for e in db.session.scalars(query)
        ]


def user_roles(app: Flask, tenant: TenantRef, subject: str) -> set[tuple[str, str]]:
    from sqlalchemy import select

    from samenleren.core.extensions import db
    from samenleren.identity.models import User
    from tests.factories import in_tenant

    with in_tenant(app, tenant):
        user = db.session.scalar(select(User).where(User.subject == subject))
        return {(a.role.value, a.source.value) for a in user.role_assignments}


def error_of(page: str, field: str) -> str:
    match = re.search(rf'id="err-{re.escape(field)}">([^<]*)<', page)
    assert match, f"no error message for {field}"
    return match.group(1)


# --- who may --------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["learner", "coach", "manager", "trainer"])
def test_only_the_programme_admin_finds_the_page(app, tenants, role):
    flevoland = tenants["flevoland"]
    with app.app_context():
        make_user(flevoland, f"niet.{role}", role)
    client = app.test_client()
    login(client, flevoland, f"niet.{role}")
    before = settings(app, flevoland)
    assert client.get(PAGE).status_code == 404
    token_page = client.get("/flevoland/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', token_page).group(1)
    answer = client.post(PAGE, data={"csrf_token": token, "issuer": "https://evil.example"})
    assert answer.status_code == 404
    assert settings(app, flevoland) == before
    assert audit_events(app, flevoland, "sso.changed") == []


def test_anonymous_visitors_are_sent_to_the_login(app, tenants):
    answer = app.test_client().get(PAGE)
    assert answer.status_code == 302
    assert urlsplit(answer.headers["Location"]).path == "/flevoland/auth/login"


def test_the_programme_settings_page_links_to_it(app, tenants):
    client = admin_client(app, tenants["flevoland"])
    page = client.get("/flevoland/settings/programme").get_data(as_text=True)
    assert f'href="{PAGE}"' in page


# --- showing and saving ---------------------------------------------------------------------------


def test_page_shows_the_current_settings_but_never_a_secret(app, tenants, monkeypatch):
    flevoland = tenants["flevoland"]
    client = admin_client(app, flevoland)
    answer = client.get(PAGE)
    page = answer.get_data(as_text=True)
    fields = dict(read_form(page, PAGE))
    assert fields["issuer"] == flevoland.idp.issuer
    assert fields["client_id"] == "3e8a1b52-9c4d-4e7f-8a6b-5c4d3e2f1a0b"
    assert fields["scopes"] == "openid profile email"
    assert (fields["claim_name"], fields["claim_email"], fields["claim_groups"]) == (
        "name",
        "email",
        "groups",
    )
    assert fields["claim_department"] == fields["claim_manager"] == ""
    groups = {value for name, value in read_form(page, PAGE) if name.startswith("group-")}
    assert {"SL-Leercoaches", "SL-Trainers", "SL-Opleidingsadviseurs"} <= groups
    # The secret comes from the manifest's variable; its value is nowhere on the page.
    assert SECRET_ENVS["flevoland"] in page
    import os

    assert os.environ[SECRET_ENVS["flevoland"]] not in page
    secret_input = inputs_of(page, PAGE)["in-client_secret"]
    assert secret_input["type"] == "password"
    assert secret_input["value"] == ""

    # After storing one, the page says so and still shows nothing of it.
    assert submit(client, client_secret="zeer-geheim-1234567890").status_code == 303
    page = client.get(PAGE).get_data(as_text=True)
    assert "zeer-geheim-1234567890" not in page
    assert "A client secret is stored, encrypted" in page
    assert inputs_of(page, PAGE)["in-client_secret"]["value"] == ""


def test_saving_the_form_unchanged_changes_nothing(app, tenants):
    flevoland = tenants["flevoland"]
    client = admin_client(app, flevoland)
    before = settings(app, flevoland)
    answer = client.post(PAGE, data=MultiDict(current_form(client)))
    assert answer.status_code == 303
    assert "Nothing changed." in client.get(PAGE).get_data(as_text=True)
    assert settings(app, flevoland) == before
    assert audit_events(app, flevoland, "sso.changed") == []


def test_a_new_secret_is_stored_encrypted_and_the_login_uses_it(
    app, tenants, own_idp, database, monkeypatch
):
    from samenleren.identity import oidc

    flevoland = tenants["flevoland"]
    client = admin_client(app, flevoland)
    client_id, secret = register_client(own_idp)
    answer = submit(client, issuer=own_idp.issuer, client_id=client_id, client_secret=secret)
    assert answer.status_code == 303, error_texts(answer)
    assert flevoland.id not in oidc._clients  # the cached client is gone at once
    approve_pending_issuer(app, flevoland)  # the new issuer needs a second administrator

    # Encrypted at rest: not in the tenants row, not in the audit log, not in the page.
    with psycopg.connect(database.owner_url) as owner:
        row = owner.execute(
            "SELECT row_to_json(t)::text, sso_client_secret_encrypted FROM tenants t WHERE id = %s",
            (flevoland.id,),
        ).fetchone()
        audit = owner.execute(
            "SELECT coalesce(string_agg(details::text, ' '), '') FROM audit_events"
        ).fetchone()[0]
    assert secret not in row[0]
    assert row[1] and row[1].startswith("gAAAAA")  # a Fernet token
    assert secret not in audit
    from samenleren.identity.encryption import decrypt_secret

    with app.app_context():
        assert decrypt_secret(row[1]) == secret

    # The stored secret takes precedence over the manifest's variable, which may go away.
    monkeypatch.delenv(SECRET_ENVS["flevoland"])
    own_idp_tenant = TenantRef(flevoland.id, "flevoland", own_idp)
    assert login(app.test_client(), own_idp_tenant, "eva.eerst").status_code == 302
    assert "eva.eerst" in people_of(app, flevoland)

    # A wrong secret: the provider refuses the code exchange, nobody is logged in.
    assert submit(client, client_secret="niet-het-goede-geheim").status_code == 303
    before = people_of(app, flevoland)
    refused = login(app.test_client(), own_idp_tenant, "ferdinand.fout")
    assert refused.status_code == 403
    assert people_of(app, flevoland) == before

    # The right one again (the empty field keeps it from then on).
    assert submit(client, client_secret=secret).status_code == 303
    assert submit(client, scopes="openid profile email").status_code == 303
    assert login(app.test_client(), own_idp_tenant, "ferdinand.fout").status_code == 302


def test_removing_the_stored_secret_falls_back_to_the_manifests_variable(app, tenants, monkeypatch):
    flevoland = tenants["flevoland"]
    client = admin_client(app, flevoland)
    assert submit(client, client_secret="opgeslagen-geheim").status_code == 303
    assert settings(app, flevoland)["secret"]

    # Without the variable on the server, removing it would lock everyone out: refused.
    variable = SECRET_ENVS["flevoland"]
    value = __import__("os").environ[variable]
    monkeypatch.delenv(variable)
    answer = submit(client, forget_secret="yes")
    assert answer.status_code == 422
    assert variable in error_of(answer.get_data(as_text=True), "forget_secret")
    assert settings(app, flevoland)["secret"]

    monkeypatch.setenv(variable, value)
    assert submit(client, forget_secret="yes").status_code == 303
    assert settings(app, flevoland)["secret"] is None
    assert settings(app, flevoland)["secret_set_at"] is None
    from samenleren.identity import oidc

    with app.app_context():
        from samenleren.core.extensions import db
        from samenleren.core.tenant import Tenant

        assert oidc.client_secret(db.session.get(Tenant, flevoland.id)) == value
    assert login(app.test_client(), flevoland, "weer.env").status_code == 302
    fields = [e["details"]["fields"] for e in audit_events(app, flevoland, "sso.changed")]
    assert fields == [["client_secret"], ["client_secret"]]


def test_a_changed_issuer_takes_effect_at_the_next_login(app, tenants, own_idp):
    from samenleren.identity import oidc

    flevoland = tenants["flevoland"]
    client = admin_client(app, flevoland)  # the login cached flevoland's client
    assert oidc._clients[flevoland.id].fingerprint[0] == flevoland.idp.issuer
    # Someone is halfway through a login at the old provider.
    flevoland.idp.set_user("oude.idp", name="Olga Oud")
    halfway = app.test_client()
    start = halfway.get("/flevoland/auth/login").headers["Location"]
    assert start.startswith(flevoland.idp.issuer + "/")
    back = requests.post(start, data={"sub": "oude.idp"}, allow_redirects=False, timeout=5)
    callback = urlsplit(back.headers["Location"])

    assert submit(client, issuer=own_idp.issuer).status_code == 303
    approve_pending_issuer(app, flevoland)  # the new issuer needs a second administrator
    assert flevoland.id not in oidc._clients
    start = app.test_client().get("/flevoland/auth/login")
    assert start.headers["Location"].startswith(own_idp.issuer + "/")
    moved = TenantRef(flevoland.id, "flevoland", own_idp)
    assert login(app.test_client(), moved, "nieuwe.idp", name="Nina Nieuw").status_code == 302
    assert "nieuwe.idp" in people_of(app, flevoland)
    # The old provider's code is not accepted any more (it is exchanged at the new one).
    assert halfway.get(f"{callback.path}?{callback.query}").status_code == 403
    assert "oude.idp" not in people_of(app, flevoland)


def test_group_mapping_changes_apply_at_the_next_login(app, tenants):
    from samenleren.identity import oidc

    flevoland = tenants["flevoland"]
    client = admin_client(app, flevoland)
    login(app.test_client(), flevoland, "gert.groep", groups=["SL-Leercoaches", "Extern-Team"])
    assert user_roles(app, flevoland, "gert.groep") == {("learner", "idp"), ("coach", "idp")}
    assert flevoland.id in oidc._clients

    fields = current_form(client)
    rows = {value: name for name, value in fields if name.startswith("group-")}
    coaches_row = rows["SL-Leercoaches"].split("-")[1]
    blank = next(name for name, value in fields if name.startswith("group-") and not value)
    blank_row = blank.split("-")[1]
    changed = replace(
        fields,
        **{
            f"remove__{coaches_row}": "yes",
            f"group__{blank_row}": "Extern-Team",
            f"roles__{blank_row}": ["trainer", "manager"],
            "default_roles": [],
        },
    )
    answer = client.post(PAGE, data=MultiDict(changed))
    assert answer.status_code == 303, error_texts(answer)
    assert flevoland.id not in oidc._clients  # dropped also for changes outside the client
    stored = settings(app, flevoland)
    assert "SL-Leercoaches" not in stored["group_roles"]
    assert stored["group_roles"]["Extern-Team"] == ["manager", "trainer"]
    assert stored["default_roles"] == []
    fields_changed = audit_events(app, flevoland, "sso.changed")[-1]["details"]["fields"]
    assert fields_changed == ["group_roles", "default_roles"]

    login(app.test_client(), flevoland, "gert.groep", groups=["SL-Leercoaches", "Extern-Team"])
    assert user_roles(app, flevoland, "gert.groep") == {("manager", "idp"), ("trainer", "idp")}


def test_more_empty_rows_saves_nothing_and_keeps_no_typed_secret(app, tenants):
    flevoland = tenants["flevoland"]
    client = admin_client(app, flevoland)
    before = settings(app, flevoland)
    fields = current_form(client)
    count = int(dict(fields)["row_count"])
    typed = replace(fields, issuer="https://elders.example.org", client_secret="getypt-geheim")
    answer = client.post(PAGE, data=MultiDict([*typed, ("action", "add_rows")]))
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    again = dict(read_form(page, PAGE))
    assert int(again["row_count"]) == count + 3
    assert again["issuer"] == "https://elders.example.org"  # what was typed stays on the page
    assert "getypt-geheim" not in page
    assert "The client secret you typed was not kept" in page
    assert settings(app, flevoland) == before


# --- refused input --------------------------------------------------------------------------------


REFUSALS = [
    pytest.param({"issuer": ""}, "issuer", "Give the issuer URL", id="issuer-empty"),
    pytest.param({"issuer": "ftp://idp.example.org"}, "issuer", "https://", id="issuer-ftp"),
    pytest.param(
        {"issuer": "http://idp.example.org"}, "issuer", "https://", id="issuer-http-not-local"
    ),
    pytest.param(
        {"issuer": "https://idp.example.org/?tenant=1"}, "issuer", "exactly", id="issuer-query"
    ),
    pytest.param(
        {"issuer": "http://127.0.0.1:9"}, "issuer", "No identity provider answers", id="unreachable"
    ),
    pytest.param({"client_id": "  "}, "client_id", "client id", id="client-id-empty"),
    pytest.param({"scopes": "profile email"}, "scopes", "openid", id="scopes-without-openid"),
    pytest.param({"scopes": 'openid "x"'}, "scopes", "not a valid scope", id="scope-quote"),
    pytest.param({"claim_name": ""}, "claim_name", "name of the claim", id="claim-empty"),
    pytest.param({"claim_email": "e mail"}, "claim_email", "no spaces", id="claim-space"),
    pytest.param(
        {"claim_department": "1afdeling"}, "claim_department", "starts with", id="claim-digit"
    ),
    pytest.param({"default_roles": ["superuser"]}, "default_roles", "from the list", id="role"),
    pytest.param(
        {"client_secret": "nieuw", "forget_secret": "yes"},
        "client_secret",
        "not both",
        id="secret-and-remove",
    ),
]


def error_texts(answer) -> str:
    return " | ".join(
        re.findall(r'class="[^"]*sl-field-error[^"]*"[^>]*>([^<]*)<', answer.get_data(as_text=True))
    )


@pytest.mark.parametrize(("changes", "field", "message"), REFUSALS)
def test_refused_input_is_explained_next_to_its_field_and_nothing_is_written(
    app, tenants, changes, field, message
):
    flevoland = tenants["flevoland"]
    client = admin_client(app, flevoland)
    if "forget_secret" in changes:
        assert submit(client, client_secret="eerst-opgeslagen").status_code == 303
    before = settings(app, flevoland)
    events = audit_events(app, flevoland)
    answer = submit(client, **changes)
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    assert message in error_of(page, field)
    assert 'role="alert"' in page
    if field != "default_roles":
        attributes = inputs_of(page, PAGE)[f"in-{field}"]
        assert attributes.get("aria-invalid") == "true"
        assert f"err-{field}" in (attributes.get("aria-describedby") or "")
        if field not in {"client_secret"} and isinstance(changes[field], str) and changes[field]:
            assert attributes["value"] == changes[field]  # the input is kept
    assert settings(app, flevoland) == before
    assert audit_events(app, flevoland) == events


def test_group_rows_are_checked_one_by_one(app, tenants):
    flevoland = tenants["flevoland"]
    client = admin_client(app, flevoland)
    before = settings(app, flevoland)
    fields = current_form(client)
    rows = {value: name.split("-")[1] for name, value in fields if name.startswith("group-")}
    blanks = [
        name.split("-")[1] for name, value in fields if name.startswith("group-") and not value
    ]
    duplicate, no_roles, no_name = blanks
    changed = replace(
        fields,
        **{
            f"group__{duplicate}": "SL-Trainers",
            f"roles__{duplicate}": ["coach"],
            f"group__{no_roles}": "Zonder-Rollen",
            f"roles__{no_roles}": [],
            f"roles__{no_name}": ["manager"],
            f"roles__{rows['SL-Leercoaches']}": ["coach", "keizer"],
        },
    )
    answer = client.post(PAGE, data=MultiDict(changed))
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    trainers_row = int(rows["SL-Trainers"]) + 1
    assert f"already in row {trainers_row}" in error_of(page, f"group-{duplicate}")
    assert "at least one role" in error_of(page, f"roles-{no_roles}")
    assert "name of the group" in error_of(page, f"group-{no_name}")
    assert "from the list" in error_of(page, f"roles-{rows['SL-Leercoaches']}")
    assert settings(app, flevoland) == before


def test_the_issuer_must_be_the_one_the_provider_states(app, tenants):
    flevoland = tenants["flevoland"]
    client = admin_client(app, flevoland)
    answer = submit(client, issuer=flevoland.idp.issuer + "/")
    assert answer.status_code == 422
    assert flevoland.idp.issuer in error_of(answer.get_data(as_text=True), "issuer")


def test_production_accepts_only_https_issuers(app, tenants, monkeypatch, own_idp):
    flevoland = tenants["flevoland"]
    client = admin_client(app, flevoland)
    monkeypatch.setitem(app.config, "SAMENLEREN_ENV", "production")
    answer = submit(client, issuer=own_idp.issuer)  # http://localhost:...
    assert answer.status_code == 422
    assert "https://" in error_of(answer.get_data(as_text=True), "issuer")
    monkeypatch.setitem(app.config, "SAMENLEREN_ENV", "test")
    assert submit(client, issuer=own_idp.issuer).status_code == 303


# --- the audit log and the encryption key ---------------------------------------------------------


def test_changes_are_audited_by_field_name_only(app, tenants):
    flevoland = tenants["flevoland"]
    client = admin_client(app, flevoland)
    answer = submit(
        client,
        client_secret="audit-geheim-999",
        scopes="openid profile email offline_access",
        claim_department="department",
        claim_employee_number="employee_id",
        claim_manager="manager_sub",
    )
    assert answer.status_code == 303
    events = audit_events(app, flevoland, "sso.changed")
    assert len(events) == 1
    assert events[0]["details"] == {
        "fields": [
            "client_secret",
            "scopes",
            "claim_department",
            "claim_employee_number",
            "claim_manager",
        ]
    }
    assert "audit-geheim-999" not in str(events)
    stored = settings(app, flevoland)
    assert (stored["department"], stored["employee_number"], stored["manager"]) == (
        "department",
        "employee_id",
        "manager_sub",
    )
    assert stored["scopes"] == ["openid", "profile", "email", "offline_access"]


def test_a_secret_no_key_can_read_makes_login_unavailable(app, tenants, monkeypatch):
    from cryptography.fernet import Fernet

    flevoland = tenants["flevoland"]
    client = admin_client(app, flevoland)
    assert submit(client, client_secret="onder-de-oude-sleutel").status_code == 303
    monkeypatch.setitem(
        app.config, "SAMENLEREN_SECRET_ENCRYPTION_KEYS", [Fernet.generate_key().decode()]
    )
    answer = app.test_client().get("/flevoland/auth/login")
    assert answer.status_code == 503


def test_our_own_key_rotates_with_the_reencrypt_command(app, tenants, monkeypatch):
    from cryptography.fernet import Fernet

    from samenleren.identity.encryption import decrypt_secret

    flevoland = tenants["flevoland"]
    client = admin_client(app, flevoland)
    assert submit(client, client_secret="roteer-mij").status_code == 303
    old = list(app.config["SAMENLEREN_SECRET_ENCRYPTION_KEYS"])
    new = Fernet.generate_key().decode()
    monkeypatch.setitem(app.config, "SAMENLEREN_SECRET_ENCRYPTION_KEYS", [new, *old])
    result = app.test_cli_runner().invoke(args=["sso", "reencrypt-secrets"])
    assert result.exit_code == 0, result.output
    assert "1 stored client secret(s)" in result.output
    monkeypatch.setitem(app.config, "SAMENLEREN_SECRET_ENCRYPTION_KEYS", [new])
    with app.app_context():
        assert decrypt_secret(settings(app, flevoland)["secret"]) == "roteer-mij"
    assert login(app.test_client(), flevoland, "na.rotatie").status_code == 302


# --- helpers used above ---------------------------------------------------------------------------


def people_of(app: Flask, tenant: TenantRef) -> set[str]:
    from sqlalchemy import select

    from samenleren.core.extensions import db
    from samenleren.identity.models import User
    from tests.factories import in_tenant

    with in_tenant(app, tenant):
        return set(db.session.scalars(select(User.subject)))


def test_production_never_fetches_a_private_or_loopback_issuer(app, tenants, monkeypatch, own_idp):
    """An https issuer on loopback (or any private address) is refused before anything is
    fetched from it: the check resolves the host, it does not look at the scheme alone."""
    flevoland = tenants["flevoland"]
    client = admin_client(app, flevoland)
    monkeypatch.setitem(app.config, "SAMENLEREN_ENV", "production")
    for issuer in ("https://127.0.0.1:9", "https://localhost:9/realm", "https://169.254.169.254"):
        answer = submit(client, issuer=issuer)
        assert answer.status_code == 422
        assert "public https://" in error_of(answer.get_data(as_text=True), "issuer")
    assert settings(app, flevoland)["issuer"] == flevoland.idp.issuer


def test_a_discovery_document_may_not_send_the_secret_to_another_host(app, tenants, monkeypatch):
    """The token endpoint named by discovery receives the client secret: a document naming an
    endpoint on another host than the issuer's makes login unavailable instead."""
    from samenleren.identity import oidc

    flevoland = tenants["flevoland"]
    original = oidc.TenantOAuth2App.load_server_metadata

    def elsewhere(self):
        metadata = original(self)
        return dict(metadata, token_endpoint="http://127.0.0.2:9/token")

    monkeypatch.setattr(oidc.TenantOAuth2App, "load_server_metadata", elsewhere)
    with app.test_request_context():
        tenant = app.extensions["sqlalchemy"].session.get(oidc.Tenant, flevoland.id)
        oidc.forget_client(tenant.id)
        with pytest.raises(oidc.SSOConfigurationError, match="token_endpoint"):
            oidc.client_for(tenant)
