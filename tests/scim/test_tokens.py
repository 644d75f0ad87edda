"""Bearer tokens: per tenant, stored hashed, revocable (CLI and page); tenants stay apart."""

from __future__ import annotations

import hashlib
import re

import psycopg
import pytest

from tests.conftest import csrf_token, login, make_user
from tests.scim.conftest import CORE_USER, ENTERPRISE, ERROR, Scim, make_token
from tests.scim.helpers import audit_events, person

UNAUTHORIZED_DETAIL = "A valid bearer token of this organisation is required"


def assert_unauthorized(answer) -> None:
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == 'Bearer realm="SCIM"'
    assert answer.headers["Content-Type"] == "application/scim+json"
    body = answer.get_json()
    assert body["schemas"] == [ERROR]
    assert UNAUTHORIZED_DETAIL in body["detail"]


def test_no_wrong_or_foreign_token_gets_401_and_nothing_else(app, tenants, tokens, scim):
    client = app.test_client()
    refused = [
        Scim(client, "flevoland", None),  # no token
        Scim(client, "flevoland", "slscim_" + "x" * 43),  # a made-up token
        Scim(client, "flevoland", tokens["gelderland"]),  # a token of another tenant
        Scim(client, "atlantis", tokens["flevoland"]),  # no such tenant
    ]
    bodies = set()
    for visitor in refused:
        for answer in (
            visitor.get("/Users"),
            visitor.get("/ServiceProviderConfig"),
            visitor.post("/Users", {"schemas": [CORE_USER], "userName": "indringer"}),
            visitor.delete("/Users/5b0d0c58-8f6a-4c57-9d6e-0d4d0a0d0a0d"),
        ):
            assert_unauthorized(answer)
            bodies.add(answer.get_data(as_text=True))
    assert len(bodies) == 1, "every refusal looks the same: nothing tells which tenants exist"
    basic = client.get("/scim/v2/flevoland/Users", headers={"Authorization": "Basic Zm9vOmJhcg=="})
    assert_unauthorized(basic)
    assert person(app, tenants["flevoland"], "indringer") is None
    assert person(app, tenants["gelderland"], "indringer") is None
    # The right token works, at its own tenant only.
    assert scim.get("/Users").status_code == 200
    assert Scim(client, "gelderland", tokens["gelderland"]).get("/Users").status_code == 200


def test_a_suspended_tenant_gets_401(app, tenants, scim):
    from samenleren.core.tenant import TenantStatus
    from samenleren.tenants.services import set_tenant_status

    with app.app_context():
        set_tenant_status("flevoland", TenantStatus.SUSPENDED)
    assert_unauthorized(scim.get("/Users"))
    with app.app_context():
        set_tenant_status("flevoland", TenantStatus.ACTIVE)
    assert scim.get("/Users").status_code == 200


def test_ids_of_another_tenant_are_missing_here(app, tenants, tokens, scim):
    gelderland = Scim(app.test_client(), "gelderland", tokens["gelderland"])
    theirs = gelderland.create_user("gelders", displayName="Gerrit Gelders")
    their_group = gelderland.create_group("SL-Leercoaches", theirs["id"])
    mine = scim.create_user("flevo")
    for path in (f"/Users/{theirs['id']}", f"/Groups/{their_group['id']}"):
        assert scim.get(path).status_code == 404
        assert (
            scim.put(path, {"schemas": [CORE_USER], "userName": "overgenomen"}).status_code == 404
        )
        assert (
            scim.patch(path, {"op": "replace", "path": "displayName", "value": "x"}).status_code
            == 404
        )
        assert scim.delete(path).status_code == 404
    found = scim.get("/Users", query_string={"filter": f'id eq "{theirs["id"]}"'}).get_json()
    assert found["totalResults"] == 0
    assert scim.get("/Users").get_json()["totalResults"] == 1
    # Another tenant's user can be neither a manager nor a group member here.
    answer = scim.patch(
        f"/Users/{mine['id']}",
        {"op": "add", "path": f"{ENTERPRISE}:manager", "value": {"value": theirs["id"]}},
    )
    assert answer.status_code == 400
    gerrit = person(app, tenants["gelderland"], "gelders")
    assert (gerrit.name, gerrit.active) == ("Gerrit Gelders", True)
    assert (
        gelderland.get(f"/Groups/{their_group['id']}").get_json()["members"][0]["value"]
        == (theirs["id"])
    )


def test_tokens_are_stored_hashed_and_revocation_is_immediate(app, tenants, database, scim):
    token = scim.token
    with psycopg.connect(database.owner_url) as owner, owner.transaction():
        # FORCEd row-level security applies to the owner too: look as the tenant.
        owner.execute(
            "SELECT set_config('app.tenant_id', %s, true)", (str(tenants["flevoland"].id),)
        )
        rows = owner.execute("SELECT name, token_hash, tenant_id FROM scim_tokens").fetchall()
        dump = owner.execute("SELECT row_to_json(t)::text FROM scim_tokens t").fetchall()
    assert token not in str(dump)
    assert token[len("slscim_") :] not in str(dump)
    assert (
        "Entra ID",
        hashlib.sha256(token.encode()).hexdigest(),
        tenants["flevoland"].id,
    ) in rows
    assert len(token) >= 40  # 256 random bits, URL-safe

    assert scim.get("/Users").status_code == 200
    from samenleren.core.extensions import db
    from samenleren.scim.tokens import list_tokens, revoke_token
    from tests.factories import in_tenant

    with in_tenant(app, tenants["flevoland"]):
        (row,) = list_tokens()
        assert row.last_used_at is not None
        revoke_token(row, actor_label="test")
        db.session.commit()
    assert_unauthorized(scim.get("/Users"))


def test_row_level_security_keeps_tokens_apart(app, tenants, database, tokens):
    """Even a query without the application's filter sees only the current tenant's tokens."""
    with psycopg.connect(database.runtime_url) as runtime:
        with runtime.transaction():
            runtime.execute(
                "SELECT set_config('app.tenant_id', %s, true)", (str(tenants["flevoland"].id),)
            )
            seen = runtime.execute("SELECT tenant_id FROM scim_tokens").fetchall()
        nothing = runtime.execute("SELECT count(*) FROM scim_tokens").fetchone()
    assert seen == [(tenants["flevoland"].id,)]
    assert nothing == (0,)


def test_cli_creates_lists_and_revokes_tokens(app, tenants):
    runner = app.test_cli_runner()
    made = runner.invoke(args=["scim", "token", "create", "flevoland", "--name", "HR-koppeling"])
    assert made.exit_code == 0, made.output
    token = made.output.strip().splitlines()[-1]
    assert token.startswith("slscim_")
    scim = Scim(app.test_client(), "flevoland", token)
    assert scim.get("/Users").status_code == 200

    listed = runner.invoke(args=["scim", "token", "list", "flevoland"])
    assert listed.exit_code == 0
    assert "HR-koppeling" in listed.output
    assert token not in listed.output
    token_id = re.search(r"^([0-9a-f-]{36})\s", listed.output, re.MULTILINE).group(1)

    # Another tenant's token id is not found there.
    wrong = runner.invoke(args=["scim", "token", "revoke", "gelderland", token_id])
    assert wrong.exit_code != 0
    assert scim.get("/Users").status_code == 200

    revoked = runner.invoke(args=["scim", "token", "revoke", "flevoland", token_id])
    assert revoked.exit_code == 0, revoked.output
    assert_unauthorized(scim.get("/Users"))
    again = runner.invoke(args=["scim", "token", "revoke", "flevoland", token_id])
    assert "already revoked" in again.output
    assert runner.invoke(args=["scim", "token", "create", "atlantis"]).exit_code != 0
    assert runner.invoke(args=["scim", "token", "create", "flevoland", "--name", " "]).exit_code
    events = audit_events(app, tenants["flevoland"])
    assert [e[:2] for e in events] == [
        ("scim.token_created", "command line"),
        ("scim.token_revoked", "command line"),
    ]


# --- the programme administrator's page ---------------------------------------------------------


def admin_client(app, tenants):
    client = app.test_client()
    with app.app_context():
        make_user(tenants["flevoland"], "beheer", "programme_admin", name="Bea Beheer")
    assert login(client, tenants["flevoland"], "beheer", name="Bea Beheer").status_code == 302
    client.get("/flevoland/?lang=en")
    return client


def test_settings_page_makes_shows_once_and_revokes_tokens(app, tenants, tokens):
    client = admin_client(app, tenants)
    page = client.get("/flevoland/settings/scim")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "http://localhost/scim/v2/flevoland" in text
    assert "Entra ID" in text  # the token of the `tokens` fixture
    assert tokens["flevoland"] not in text
    assert "gelderland" not in text.lower()

    csrf = csrf_token(client, "/flevoland/settings/scim")
    made = client.post(
        "/flevoland/settings/scim/tokens", data={"csrf_token": csrf, "name": "Entra"}
    )
    assert made.status_code == 200
    assert made.headers["Cache-Control"] == "no-store"
    token = re.search(r'id="new-token" value="(slscim_[^"]+)"', made.get_data(as_text=True))[1]
    scim = Scim(app.test_client(), "flevoland", token)
    assert scim.get("/Users").status_code == 200
    again = client.get("/flevoland/settings/scim").get_data(as_text=True)
    assert token not in again  # shown once
    assert "Never" not in again.split("Entra</th>")[1].split("</tr>")[0]  # last used: now

    from samenleren.scim.tokens import list_tokens
    from tests.factories import in_tenant

    with in_tenant(app, tenants["flevoland"]):
        new_id = next(t.id for t in list_tokens() if t.name == "Entra")
    revoked = client.post(
        f"/flevoland/settings/scim/tokens/{new_id}/revoke", data={"csrf_token": csrf}
    )
    assert revoked.status_code == 303
    assert_unauthorized(scim.get("/Users"))
    after = client.get("/flevoland/settings/scim").get_data(as_text=True)
    assert "Revoked on" in after
    assert "is revoked" in after  # the flashed confirmation
    events = audit_events(app, tenants["flevoland"])
    assert ("scim.token_created", "Bea Beheer") in [e[:2] for e in events]
    assert ("scim.token_revoked", "Bea Beheer") in [e[:2] for e in events]


def test_a_token_needs_a_name(app, tenants):
    client = admin_client(app, tenants)
    csrf = csrf_token(client, "/flevoland/settings/scim")
    refused = client.post(
        "/flevoland/settings/scim/tokens", data={"csrf_token": csrf, "name": "  "}
    )
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert "Give the token a name" in text
    assert 'aria-invalid="true"' in text
    assert "slscim_" not in text
    too_long = client.post(
        "/flevoland/settings/scim/tokens", data={"csrf_token": csrf, "name": "x" * 101}
    )
    assert too_long.status_code == 422
    from samenleren.scim.tokens import list_tokens
    from tests.factories import in_tenant

    with in_tenant(app, tenants["flevoland"]):
        assert list_tokens() == []
    # Without a CSRF token the form is refused.
    assert client.post("/flevoland/settings/scim/tokens", data={"name": "x"}).status_code == 400


@pytest.mark.parametrize("role", ["learner", "coach", "manager", "trainer"])
def test_only_the_programme_admin_may_see_or_use_the_page(app, tenants, tokens, role):
    from samenleren.scim.tokens import list_tokens
    from tests.factories import in_tenant
    from tests.test_isolation import valid_csrf_token

    with in_tenant(app, tenants["flevoland"]):
        (token_id,) = [t.id for t in list_tokens()]
    client = app.test_client()
    with app.app_context():
        make_user(tenants["flevoland"], f"niet.{role}", role)
    assert login(client, tenants["flevoland"], f"niet.{role}").status_code == 302
    csrf = valid_csrf_token(app, client)
    assert client.get("/flevoland/settings/scim").status_code == 404
    made = client.post("/flevoland/settings/scim/tokens", data={"csrf_token": csrf, "name": "x"})
    assert made.status_code == 404
    revoke = client.post(
        f"/flevoland/settings/scim/tokens/{token_id}/revoke", data={"csrf_token": csrf}
    )
    assert revoke.status_code == 404
    assert (
        Scim(app.test_client(), "flevoland", tokens["flevoland"]).get("/Users").status_code == 200
    )
    with in_tenant(app, tenants["flevoland"]):
        assert len(list_tokens()) == 1
    anonymous = app.test_client().get("/flevoland/settings/scim")
    assert anonymous.status_code == 302
    assert "/flevoland/auth/login" in anonymous.headers["Location"]


def test_another_tenants_token_cannot_be_revoked(app, tenants, tokens):
    make_token(app, tenants["gelderland"], "Gelders")
    from samenleren.scim.tokens import list_tokens
    from tests.factories import in_tenant

    with in_tenant(app, tenants["gelderland"]):
        theirs = [t.id for t in list_tokens()]
    client = admin_client(app, tenants)
    csrf = csrf_token(client, "/flevoland/settings/scim")
    for token_id in theirs:
        answer = client.post(
            f"/flevoland/settings/scim/tokens/{token_id}/revoke", data={"csrf_token": csrf}
        )
        assert answer.status_code == 404
    assert (
        Scim(app.test_client(), "gelderland", tokens["gelderland"]).get("/Users").status_code == 200
    )


def test_scim_requests_are_rate_limited_per_tenant_and_token(app, tenants, tokens, scim):
    other_token = Scim(app.test_client(), "flevoland", make_token(app, tenants["flevoland"]))
    gelderland = Scim(app.test_client(), "gelderland", tokens["gelderland"])
    previous = app.config["SAMENLEREN_RATELIMIT_SCIM"]
    app.config["SAMENLEREN_RATELIMIT_SCIM"] = "3 per minute"
    try:
        assert [scim.get("/Users").status_code for _ in range(3)] == [200, 200, 200]
        limited = scim.get("/Users")
        assert limited.status_code == 429
        assert limited.headers["Content-Type"] == "application/scim+json"
        assert limited.get_json()["schemas"] == [ERROR]
        assert "Retry-After" in limited.headers
        # Another token of the same tenant, and another tenant, have their own counters.
        assert other_token.get("/Users").status_code == 200
        assert gelderland.get("/Users").status_code == 200
    finally:
        app.config["SAMENLEREN_RATELIMIT_SCIM"] = previous


def test_the_page_needs_few_queries_whatever_the_number_of_tokens(app, tenants, tokens):
    from tests.test_isolation import QueryCounter

    client = admin_client(app, tenants)
    counter = QueryCounter(app)
    counts = []
    for extra in (0, 10):
        for number in range(extra):
            make_token(app, tenants["flevoland"], f"Token {number}")
        client.get("/flevoland/settings/scim")
        with counter.counting() as statements:
            assert client.get("/flevoland/settings/scim").status_code == 200
        counts.append(len(statements))
    assert counts[0] == counts[1] <= 8, counts
