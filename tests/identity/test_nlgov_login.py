"""Login as OpenID NLGov asks, against the real `oidc-provider-mock` over HTTP.

`oidc-provider-mock` (0.3.4) registers no `private_key_jwt` client authentication: its token
endpoint lets any client in without checking an assertion. So a gate in front of it plays the
strict IdP: on `POST /oauth2/token` it reads the request the platform really sent and, while it
holds a JWKS, refuses (401 `invalid_client`) unless `client_assertion` is a JWT signed by a key
of that set with `iss` = `sub` = the client id, `aud` = the token endpoint and an `exp` in the
future. The set is the one the platform published at `/<tenant>/sso/jwks.json`, fetched by the
test as an IdP would. Holding certificates instead (`Gate.certificates`, the PEMs downloaded from
the SSO settings page) it checks as Microsoft Entra ID does: the assertion's header must name one
of them by `x5t` (base64url SHA-1 of its DER encoding; `x5t#S256` must agree), and the signature
must verify with that certificate's public key. The gate also counts discovery and JWKS
requests, can add cache headers and can hide the `end_session_endpoint`.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from flask import Flask
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from oidc_provider_mock import run_server_in_thread

from tests.conftest import IdP, TenantRef, login, make_user, repoint
from tests.factories import in_tenant
from tests.operator.conftest import audit_events

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
SUBSTANTIAL = "http://eidas.europa.eu/LoA/substantial"


@dataclass
class Gate:
    """WSGI middleware in front of the mock (see the module's docstring)."""

    app: object
    issuer: str = ""
    jwks: dict | None = None
    token_requests: list[dict[str, str]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    fetched: Counter = field(default_factory=Counter)
    cache_control: dict[str, str] = field(default_factory=dict)
    hide_end_session: bool = False
    #: Certificates (PEM) "uploaded" as at Entra ID: the key is found by the header's `x5t`.
    certificates: list[str] | None = None
    client_id: str = "3e8a1b52-9c4d-4e7f-8a6b-5c4d3e2f1a0b"  #: Flevoland's, from its manifest

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        self.fetched[path] += 1
        if path == "/oauth2/token" and environ.get("REQUEST_METHOD") == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length).decode()
            form = {key: values[0] for key, values in parse_qs(body).items()}
            checking = self.jwks is not None or self.certificates is not None
            problem = self._check(form) if checking else None
            self.token_requests.append(
                dict(form) | {"_authorization": environ.get("HTTP_AUTHORIZATION", "")}
            )
            if problem is not None:
                self.refused.append(problem)
                return _json(start_response, "401 Unauthorized", {"error": "invalid_client"})
            if checking:
                # Verified here; the mock itself knows only secrets (and takes any).
                form = {k: v for k, v in form.items() if not k.startswith(("client_assert", "_"))}
                form |= {"client_id": self.client_id, "client_secret": "checked-by-the-gate"}
            forwarded = urlencode(form).encode()
            environ["wsgi.input"] = io.BytesIO(forwarded)
            environ["CONTENT_LENGTH"] = str(len(forwarded))
        if path == "/.well-known/openid-configuration" and self.hide_end_session:
            document = json.loads(b"".join(self.app(environ, lambda *a, **k: None)))
            document.pop("end_session_endpoint", None)
            return _json(start_response, "200 OK", document, self.cache_control.get(path))
        header = self.cache_control.get(path)
        if header is None:
            return self.app(environ, start_response)

        def with_cache_header(status, headers, exc_info=None):
            return start_response(status, [*headers, ("Cache-Control", header)], exc_info)

        return self.app(environ, with_cache_header)

    def _check(self, form: dict[str, str]) -> str | None:
        if "client_secret" in form:
            return "a client secret was sent"
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            return "no client assertion"
        if self.certificates is not None:
            header = json.loads(_unb64(form["client_assertion"].split(".")[0]))
            found = [pem for pem in self.certificates if thumbprints(pem)[0] == header.get("x5t")]
            if not found:
                return "no uploaded certificate has the x5t of the header"
            if thumbprints(found[0])[1] != header.get("x5t#S256"):
                return "x5t#S256 does not match the certificate"
            keys = KeySet([RSAKey.import_key(public_pem(found[0]))])
        else:
            keys = KeySet.import_key_set(self.jwks)
        try:
            token = jwt.decode(form["client_assertion"], keys)
        except Exception as exc:  # noqa: BLE001 (any failure is a refusal, named)
            return f"assertion not verified: {type(exc).__name__}"
        claims = token.claims
        if not (claims.get("iss") == claims.get("sub") == self.client_id):
            return "iss/sub is not the client id"
        if claims.get("aud") != f"{self.issuer}/oauth2/token":
            return f"aud is {claims.get('aud')}"
        if not isinstance(claims.get("exp"), int) or claims["exp"] <= time.time():
            return "expired"
        if claims["exp"] - time.time() > 300:
            return "an assertion valid for longer than five minutes"
        if not claims.get("jti"):
            return "no jti"
        form["_kid"] = token.header.get("kid", "")
        form["_x5t"] = token.header.get("x5t", "")
        return None


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def thumbprints(pem: str) -> tuple[str, str]:
    """`x5t` and `x5t#S256` of a certificate, computed here independently of the platform."""
    der = x509.load_pem_x509_certificate(pem.encode()).public_bytes(serialization.Encoding.DER)

    def b64(digest: bytes) -> str:
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    return b64(hashlib.sha1(der).digest()), b64(hashlib.sha256(der).digest())  # noqa: S324


def public_pem(pem: str) -> bytes:
    certificate = x509.load_pem_x509_certificate(pem.encode())
    return certificate.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _json(start_response, status: str, body: dict, cache: str | None = None):
    data = json.dumps(body).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    if cache:
        headers.append(("Cache-Control", cache))
    start_response(status, headers)
    return [data]


@pytest.fixture
def gated(app: Flask, tenants) -> Iterator[tuple[Gate, TenantRef]]:
    with run_server_in_thread(port=0) as server:
        gate = Gate(server.app)
        server.app = gate  # the request handler reads `server.app` on every request
        idp = IdP(f"http://localhost:{server.server_port}")
        gate.issuer = idp.issuer
        with app.app_context():
            repoint("flevoland", idp.issuer)
        yield gate, TenantRef(tenants["flevoland"].id, "flevoland", idp)


def _tenant_do(app: Flask, tenant: TenantRef, action):
    from samenleren.core.extensions import db
    from samenleren.core.tenancy import require_tenant

    with in_tenant(app, tenant):
        result = action(require_tenant())
        db.session.commit()
        return result


def use_private_key_jwt(app: Flask, tenant: TenantRef) -> None:
    from samenleren.identity.sso_setup import choose_client_auth_method

    _tenant_do(
        app,
        tenant,
        lambda row: choose_client_auth_method(row, "private_key_jwt", actor_label="test"),
    )


def published(app: Flask, slug: str) -> dict:
    answer = app.test_client().get(f"/{slug}/sso/jwks.json")
    assert answer.status_code == 200
    return answer.get_json()


def users(app: Flask, tenant: TenantRef) -> dict[str, tuple]:
    from sqlalchemy import select

    from samenleren.core.extensions import db
    from samenleren.identity.models import User

    with in_tenant(app, tenant):
        return {
            user.subject: (user.id, user.idp_tenant_id, user.idp_object_id)
            for user in db.session.scalars(select(User))
        }


# --- private_key_jwt ----------------------------------------------------------------------------


def test_private_key_jwt_login_sends_an_assertion_the_published_keys_verify(app, gated):
    gate, flevoland = gated
    use_private_key_jwt(app, flevoland)
    keys = published(app, "flevoland")
    assert len(keys["keys"]) == 1
    gate.jwks = keys

    assert login(app.test_client(), flevoland, "sanne.sleutel").status_code == 302
    assert gate.refused == []
    sent = gate.token_requests[-1]
    assert sent["client_assertion_type"] == ASSERTION_TYPE
    assert "client_secret" not in sent
    assert sent["_kid"] == keys["keys"][0]["kid"]
    assert "sanne.sleutel" in users(app, flevoland)


def test_the_gate_refuses_an_assertion_of_another_key_so_the_test_above_can_fail(app, gated):
    gate, flevoland = gated
    use_private_key_jwt(app, flevoland)
    gate.jwks = {"keys": [RSAKey.generate_key(2048).as_dict(private=False)]}
    assert login(app.test_client(), flevoland, "niet.de.sleutel").status_code in (403, 503)
    assert gate.refused and "not verified" in gate.refused[-1]
    assert "niet.de.sleutel" not in users(app, flevoland)


def test_a_client_secret_login_still_works_and_sends_no_assertion(app, gated):
    gate, flevoland = gated
    assert login(app.test_client(), flevoland, "geheim.gebruik").status_code == 302
    sent = gate.token_requests[-1]
    assert "client_assertion" not in sent and "client_secret" not in sent
    assert sent["_authorization"].startswith("Basic ")  # client_secret_basic, the default

    from samenleren.identity.sso_setup import choose_client_auth_method

    _tenant_do(
        app,
        flevoland,
        lambda row: choose_client_auth_method(row, "client_secret_post", actor_label="test"),
    )
    assert login(app.test_client(), flevoland, "in.de.body").status_code == 302
    sent = gate.token_requests[-1]
    assert sent["client_secret"] and not sent["_authorization"]
    assert "client_assertion" not in sent


def test_rotation_publishes_both_keys_then_retiring_drops_the_old_one(app, gated):
    from samenleren.core.errors_input import InvalidInput
    from samenleren.identity.client_keys import retire_previous_keys, rotate_client_key

    gate, flevoland = gated
    use_private_key_jwt(app, flevoland)
    old = published(app, "flevoland")
    old_kid = old["keys"][0]["kid"]

    _tenant_do(app, flevoland, lambda row: rotate_client_key(row, None, actor_label="test"))
    both = published(app, "flevoland")
    kids = [key["kid"] for key in both["keys"]]
    assert len(kids) == 2 and kids[1] == old_kid  # the new key first, the old one beside it
    gate.jwks = both
    assert login(app.test_client(), flevoland, "na.rotatie").status_code == 302
    assert gate.token_requests[-1]["_kid"] == kids[0]  # signed with the new key

    # A third key is refused while two are published; nothing changes.
    with pytest.raises(InvalidInput):
        _tenant_do(app, flevoland, lambda row: rotate_client_key(row, None, actor_label="t"))
    assert published(app, "flevoland") == both

    _tenant_do(app, flevoland, lambda row: retire_previous_keys(row, None, actor_label="test"))
    assert [key["kid"] for key in published(app, "flevoland")["keys"]] == kids[:1]
    with pytest.raises(InvalidInput):  # nothing left to retire
        _tenant_do(app, flevoland, lambda row: retire_previous_keys(row, None, actor_label="t"))

    # An IdP that still holds only the retired key refuses the platform's assertions.
    gate.jwks = old
    assert login(app.test_client(), flevoland, "oude.sleutel").status_code in (403, 503)
    assert "oude.sleutel" not in users(app, flevoland)

    actions = [event.action for event in audit_events(app, flevoland.id)]
    assert {"sso.key_created", "sso.key_rotated", "sso.key_retired"} <= set(actions)
    choice = [e for e in audit_events(app, flevoland.id) if e.action == "sso.changed"]
    assert choice[-1].details["method"] == "private_key_jwt"


def test_the_jwks_address_is_public_cacheable_and_shows_only_the_tenants_own_keys(app, tenants):
    flevoland, gelderland = tenants["flevoland"], tenants["gelderland"]
    use_private_key_jwt(app, flevoland)
    use_private_key_jwt(app, gelderland)
    answer = app.test_client().get("/flevoland/sso/jwks.json")
    assert answer.status_code == 200
    assert "public" in answer.headers["Cache-Control"]
    assert "max-age=" in answer.headers["Cache-Control"]
    ours = {key["kid"] for key in answer.get_json()["keys"]}
    theirs = {key["kid"] for key in published(app, "gelderland")["keys"]}
    assert ours and theirs and not ours & theirs
    for key in answer.get_json()["keys"]:
        assert set(key) <= {"kty", "kid", "use", "alg", "n", "e"}  # never a private member
    assert app.test_client().get("/atlantis/sso/jwks.json").status_code == 404


def test_a_tenant_without_keys_publishes_an_empty_set(app, tenants):
    assert published(app, "gelderland") == {"keys": []}


def test_private_key_jwt_without_a_usable_key_is_named_as_missing(app, tenants):
    from sqlalchemy import update

    from samenleren.core.extensions import db
    from samenleren.core.tenant import Tenant
    from samenleren.identity.sso_setup import login_problems

    flevoland = tenants["flevoland"]
    with app.app_context():
        db.session.execute(
            update(Tenant)
            .where(Tenant.id == flevoland.id)
            .values(sso_client_auth_method="private_key_jwt")
        )
        db.session.commit()
        tenant = db.session.get(Tenant, flevoland.id)
        problems = login_problems(tenant)
    assert any("private_key_jwt" in problem for problem in problems)
    answer = app.test_client().get("/flevoland/auth/login")
    assert answer.status_code == 503


# --- acr --------------------------------------------------------------------------------------


def set_minimum(app: Flask, tenant: TenantRef, level: str | None) -> None:
    def apply(row):
        row.sso_acr_minimum = level

    _tenant_do(app, tenant, apply)


def test_acr_values_are_asked_and_a_lower_level_is_refused_and_audited(app, gated):
    _gate, flevoland = gated
    set_minimum(app, flevoland, SUBSTANTIAL)
    client = app.test_client()
    start = client.get("/flevoland/auth/login")
    asked = parse_qs(urlsplit(start.headers["Location"]).query)["acr_values"][0].split()
    assert asked == [SUBSTANTIAL, "http://eidas.europa.eu/LoA/high"]

    low = login(app.test_client(), flevoland, "laag.niveau", acr="http://eidas.europa.eu/LoA/low")
    assert low.status_code == 403
    assert "laag.niveau" not in users(app, flevoland)
    none = login(app.test_client(), flevoland, "geen.niveau")
    assert none.status_code == 403
    refused = [e for e in audit_events(app, flevoland.id) if e.action == "login.refused"]
    assert [e.details["reason"] for e in refused[-2:]] == ["acr", "acr"]
    assert "below" in refused[-2].details["cause"]

    high = login(app.test_client(), flevoland, "hoog.niveau", acr="http://eidas.europa.eu/LoA/high")
    assert high.status_code == 302
    assert "hoog.niveau" in users(app, flevoland)


def test_the_refusal_page_names_the_assurance_level(app, gated):
    _gate, flevoland = gated
    set_minimum(app, flevoland, SUBSTANTIAL)
    client = app.test_client()
    client.get("/flevoland/?lang=en")
    page = login(client, flevoland, "laag", acr="http://eidas.europa.eu/LoA/low")
    assert page.status_code == 403
    assert "higher assurance level" in page.get_data(as_text=True)


def test_without_a_minimum_no_acr_values_are_asked(app, gated):
    _gate, _flevoland = gated
    start = app.test_client().get("/flevoland/auth/login")
    assert "acr_values" not in parse_qs(urlsplit(start.headers["Location"]).query)


# --- discovery and keys follow the IdP's cache headers ------------------------------------------

DISCOVERY = "/.well-known/openid-configuration"


def test_discovery_and_keys_are_kept_for_their_max_age(app, gated):
    gate, flevoland = gated
    gate.cache_control = {DISCOVERY: "max-age=600", "/jwks": "public, max-age=600"}
    for sub in ("een", "twee", "drie"):
        assert login(app.test_client(), flevoland, sub).status_code == 302
    assert gate.fetched[DISCOVERY] == 1
    assert gate.fetched["/jwks"] == 1


def test_no_store_makes_every_use_fetch_again(app, gated):
    gate, flevoland = gated
    gate.cache_control = {DISCOVERY: "no-store", "/jwks": "max-age=0"}
    for sub in ("een", "twee"):
        assert login(app.test_client(), flevoland, sub).status_code == 302
    assert gate.fetched[DISCOVERY] >= 4  # at the start and at the callback of each login
    assert gate.fetched["/jwks"] == 2


def test_an_unknown_key_is_fetched_again_despite_a_long_max_age(app, gated):
    from joserfc.jwk import RSAKey

    from samenleren.identity import oidc

    gate, flevoland = gated
    gate.cache_control = {"/jwks": "max-age=86400"}
    assert login(app.test_client(), flevoland, "eerst").status_code == 302
    # Keys the token's key is not among (two keys, no kid: none chosen, as for an unknown kid).
    client = oidc._clients[flevoland.id].client
    client.server_metadata["jwks"] = {
        "keys": [RSAKey.generate_key(2048).as_dict(private=False) for _ in range(2)]
    }
    assert login(app.test_client(), flevoland, "daarna").status_code == 302
    assert gate.fetched["/jwks"] == 2


def test_max_age_reading():
    from samenleren.identity.oidc import DEFAULT_MAX_AGE, MAX_AGE, max_age

    assert max_age({"Cache-Control": "public, max-age=120"}) == 120
    assert max_age({"Cache-Control": "no-cache"}) == 0
    assert max_age({"Cache-Control": "max-age=abc"}) == 0
    assert max_age({"Cache-Control": "max-age=99999999"}) == MAX_AGE
    assert max_age({}) == DEFAULT_MAX_AGE


# --- RP-initiated logout ------------------------------------------------------------------------


def _logout(client, slug: str):
    page = client.get(f"/{slug}/")
    token = page.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    return client.post(f"/{slug}/auth/logout", data={"csrf_token": token})


def test_logout_ends_the_session_at_the_idp_too(app, gated):
    _gate, flevoland = gated
    client = app.test_client()
    assert login(client, flevoland, "uit.logger").status_code == 302
    answer = _logout(client, "flevoland")
    assert answer.status_code == 302
    target = urlsplit(answer.headers["Location"])
    assert f"{target.scheme}://{target.netloc}" == gated[1].idp.issuer
    assert target.path == "/oauth2/end_session"
    query = parse_qs(target.query)
    assert query["id_token_hint"][0].count(".") == 2
    assert query["post_logout_redirect_uri"][0].endswith("/flevoland/?logged_out=1")
    # The IdP's logout page answers and leads back to the tenant.
    assert requests.get(answer.headers["Location"], timeout=5).status_code == 200
    # Locally logged out as well: the start page no longer knows the person.
    assert "Uit.Logger" not in client.get("/flevoland/").get_data(as_text=True)

    from sqlalchemy import select

    from samenleren.core.extensions import db
    from samenleren.identity.models import LoginSession

    with in_tenant(app, flevoland):
        rows = db.session.scalars(select(LoginSession)).all()
        assert rows and all(row.id_token_hint_encrypted is None for row in rows if row.ended_at)


def test_without_an_end_session_endpoint_logout_stays_local(app, gated):
    gate, flevoland = gated
    gate.hide_end_session = True
    client = app.test_client()
    assert login(client, flevoland, "lokaal").status_code == 302
    answer = _logout(client, "flevoland")
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("/flevoland/")


def test_the_pages_let_the_logout_form_lead_to_the_tenants_own_idp_only(app, gated):
    _gate, flevoland = gated
    policy = app.test_client().get("/flevoland/").headers["Content-Security-Policy"]
    assert f"form-action 'self' {flevoland.idp.issuer};" in policy + ";"
    other = app.test_client().get("/gelderland/").headers["Content-Security-Policy"]
    assert flevoland.idp.issuer not in other
    outside = app.test_client().get("/security").headers["Content-Security-Policy"]
    assert "form-action 'self';" in outside + ";"


# --- Microsoft Entra ID: (tid, oid) ---------------------------------------------------------------

TID, OID = "9b2a3c4d-0000-4000-8000-000000000001", "5e6f7a8b-0000-4000-8000-000000000002"


def test_the_object_id_finds_the_user_whatever_the_subject(app, gated):
    _gate, flevoland = gated
    assert login(app.test_client(), flevoland, "sub-app-een", tid=TID, oid=OID).status_code == 302
    first = users(app, flevoland)["sub-app-een"]
    # Another app registration: another sub for the same person.
    assert login(app.test_client(), flevoland, "sub-app-twee", tid=TID, oid=OID).status_code == 302
    known = users(app, flevoland)
    assert "sub-app-twee" not in known
    assert known["sub-app-een"] == first


def test_scim_external_id_links_the_first_login_to_the_provisioned_user(app, gated):
    from samenleren.core.extensions import db
    from samenleren.identity.models import User
    from tests.factories import get

    _gate, flevoland = gated
    with app.app_context():
        provisioned = make_user(flevoland, "piet@flevoland.nl", "learner", name="Piet Provisie")
    with in_tenant(app, flevoland):
        get(User, provisioned).external_id = OID
        db.session.commit()
    assert login(app.test_client(), flevoland, "pairwise-sub", tid=TID, oid=OID).status_code == 302
    known = users(app, flevoland)
    assert "pairwise-sub" not in known
    assert known["piet@flevoland.nl"] == (provisioned, TID, OID)


def test_an_admin_relinks_a_user_whose_identity_changed(app, gated):
    _gate, flevoland = gated
    admin = app.test_client()
    with app.app_context():
        make_user(flevoland, "beheer.der", "programme_admin", name="Beheer Der")
    assert login(admin, flevoland, "beheer.der").status_code == 302
    admin.get("/flevoland/?lang=en")
    assert login(app.test_client(), flevoland, "ver.huisd", tid=TID, oid=OID).status_code == 302
    person = users(app, flevoland)["ver.huisd"][0]
    # The directory moved: a new object id for the same subject is refused until relinked.
    new_oid = "00000000-0000-4000-8000-0000000000ff"
    moved = login(app.test_client(), flevoland, "ver.huisd", tid=TID, oid=new_oid)
    assert moved.status_code == 403

    page = admin.get(f"/flevoland/employees/{person}/identity")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert OID in text and "Unlink and link anew" in text
    token = text.split('name="csrf_token" value="')[1].split('"')[0]
    done = admin.post(f"/flevoland/employees/{person}/identity", data={"csrf_token": token})
    assert done.status_code == 303
    assert users(app, flevoland)["ver.huisd"] == (person, None, None)
    again = admin.post(f"/flevoland/employees/{person}/identity", data={"csrf_token": token})
    assert again.status_code == 422
    assert "not linked" in again.get_data(as_text=True)

    assert login(app.test_client(), flevoland, "ver.huisd", tid=TID, oid=new_oid).status_code == 302
    assert users(app, flevoland)["ver.huisd"] == (person, TID, new_oid)
    relinked = [e for e in audit_events(app, flevoland.id) if e.action == "user.identity_relinked"]
    assert len(relinked) == 1


def test_the_relink_page_is_for_the_programme_admin_only(app, gated):
    _gate, flevoland = gated
    learner = app.test_client()
    assert login(learner, flevoland, "gewoon.lid", tid=TID, oid=OID).status_code == 302
    person = users(app, flevoland)["gewoon.lid"][0]
    assert learner.get(f"/flevoland/employees/{person}/identity").status_code == 404


# --- queries per page -------------------------------------------------------------------------


def test_the_new_pages_take_few_queries_whatever_the_number_of_keys(app, gated):
    from samenleren.identity.client_keys import rotate_client_key
    from tests.test_isolation import QueryCounter

    _gate, flevoland = gated
    admin = app.test_client()
    with app.app_context():
        make_user(flevoland, "tel.beheer", "programme_admin", name="Tel Beheer")
    assert login(admin, flevoland, "tel.beheer").status_code == 302
    person = users(app, flevoland)["tel.beheer"][0]
    counter = QueryCounter(app)
    counts = []
    for _ in range(2):
        pages = (f"/flevoland/employees/{person}/identity", "/flevoland/sso/jwks.json")
        for path in pages:
            admin.get(path)  # warm
        with counter.counting() as statements:
            for path in pages:
                assert admin.get(path).status_code == 200
        counts.append(len(statements))
        _tenant_do(app, flevoland, lambda row: rotate_client_key(row, None, actor_label="t"))
    assert counts[0] == counts[1]
    assert counts[0] <= 8


# --- the ID tokens kept for logout are forgotten once the login expired --------------------------


def test_expired_logins_forget_their_id_token_in_their_own_tenant_only(app, tenants):
    from datetime import timedelta

    from sqlalchemy import select, update

    from samenleren.core.db import utcnow
    from samenleren.core.extensions import db
    from samenleren.core.jobs.runtime import enqueue, run_pending_jobs
    from samenleren.core.jobs.schedule import entry
    from samenleren.identity.models import LoginSession

    assert entry("identity.forget_id_tokens").per_tenant
    flevoland, gelderland = tenants["flevoland"], tenants["gelderland"]
    for tenant in (flevoland, gelderland):
        for sub in ("verlopen", "geldig"):
            assert login(app.test_client(), tenant, f"{sub}.{tenant.slug}").status_code == 302
        with in_tenant(app, tenant):
            (expired,) = db.session.scalars(
                select(LoginSession.id).where(
                    LoginSession.user.has(subject=f"verlopen.{tenant.slug}")
                )
            ).all()
            db.session.execute(
                update(LoginSession)
                .where(LoginSession.id == expired)
                .values(expires_at=utcnow() - timedelta(minutes=1))
            )
            db.session.commit()

    def hints(tenant: TenantRef) -> dict[bool, bool]:
        """Expired? -> has a hint."""
        with in_tenant(app, tenant):
            return {
                row.expires_at <= utcnow(): row.id_token_hint_encrypted is not None
                for row in db.session.scalars(select(LoginSession))
            }

    assert hints(flevoland) == {True: True, False: True}
    with in_tenant(app, flevoland):
        enqueue("samenleren.identity.jobs.forget_id_tokens", tenant_id=flevoland.id)
        db.session.commit()
    assert run_pending_jobs(app, ["reports"]) == 1
    assert hints(flevoland) == {True: False, False: True}  # the valid login keeps its hint
    assert hints(gelderland) == {True: True, False: True}  # another tenant's job: untouched


# --- Microsoft Entra ID: the uploaded certificate ----------------------------------------------


def admin_of(app: Flask, tenant: TenantRef, sub: str):
    client = app.test_client()
    with app.app_context():
        make_user(tenant, sub, "programme_admin", name=sub.title())
    assert login(client, tenant, sub).status_code == 302
    client.get(f"/{tenant.slug}/?lang=en")
    return client


def kids(app: Flask, slug: str) -> list[str]:
    return [key["kid"] for key in published(app, slug)["keys"]]


def download(client, slug: str, kid: str) -> str:
    answer = client.get(f"/{slug}/settings/sso/keys/{kid}/certificate.pem")
    assert answer.status_code == 200
    assert answer.mimetype == "application/x-pem-file"
    assert answer.headers["Content-Disposition"].startswith("attachment;")
    return answer.get_data(as_text=True)


def test_entra_id_finds_the_key_by_the_thumbprint_of_the_downloaded_certificate(app, gated):
    from datetime import UTC, datetime, timedelta

    from samenleren.identity.client_keys import retire_previous_keys, rotate_client_key

    gate, flevoland = gated
    admin = admin_of(app, flevoland, "entra.beheer")  # logged in with the secret, unchecked
    use_private_key_jwt(app, flevoland)
    (kid,) = kids(app, "flevoland")
    pem = download(admin, "flevoland", kid)
    certificate = x509.load_pem_x509_certificate(pem.encode())
    # The certificate is of the published key, names the tenant and lives about two years.
    published_n = published(app, "flevoland")["keys"][0]["n"]
    assert RSAKey.import_key(public_pem(pem)).as_dict()["n"] == published_n
    assert "flevoland" in certificate.subject.rfc4514_string()
    lifetime = certificate.not_valid_after_utc - datetime.now(UTC)
    assert timedelta(days=700) < lifetime < timedelta(days=731)
    assert "PRIVATE" not in pem

    page = admin.get("/flevoland/settings/sso").get_data(as_text=True)
    sha1_hex = hashlib.sha1(certificate.public_bytes(serialization.Encoding.DER)).hexdigest()  # noqa: S324
    assert sha1_hex.upper() in page  # as Entra ID lists it, to compare
    assert f"{certificate.not_valid_after_utc:%Y}" in page
    assert "Certificates & secrets" in page

    gate.certificates = [pem]  # uploaded at "Entra ID"; no JWKS
    assert login(app.test_client(), flevoland, "via.certificaat").status_code == 302
    assert gate.refused == []
    assert gate.token_requests[-1]["_x5t"] == thumbprints(pem)[0]
    assert gate.token_requests[-1]["_kid"] == kid

    # A rotation makes a new certificate; until it is uploaded, Entra ID refuses the new key.
    _tenant_do(app, flevoland, lambda row: rotate_client_key(row, None, actor_label="test"))
    new_kid = kids(app, "flevoland")[0]
    new_pem = download(admin, "flevoland", new_kid)
    assert new_pem != pem and thumbprints(new_pem) != thumbprints(pem)
    assert download(admin, "flevoland", kid) == pem  # the previous one is still offered
    assert login(app.test_client(), flevoland, "voor.upload").status_code in (403, 503)
    assert "no uploaded certificate" in gate.refused[-1]
    gate.certificates = [pem, new_pem]
    assert login(app.test_client(), flevoland, "na.upload").status_code == 302
    assert gate.token_requests[-1]["_x5t"] == thumbprints(new_pem)[0]

    # Retired: its certificate is no longer offered.
    _tenant_do(app, flevoland, lambda row: retire_previous_keys(row, None, actor_label="test"))
    assert admin.get(f"/flevoland/settings/sso/keys/{kid}/certificate.pem").status_code == 404


def test_the_gate_refuses_a_thumbprint_of_another_certificate(app, gated, monkeypatch):
    """The same check as Entra ID's, able to fail: a certificate of another key pair, and the
    right certificate with a header naming another thumbprint, are both refused."""
    from types import SimpleNamespace

    from samenleren.core.db import utcnow
    from samenleren.identity import client_keys

    gate, flevoland = gated
    admin = admin_of(app, flevoland, "fout.beheer")
    use_private_key_jwt(app, flevoland)
    other = client_keys.make_certificate(
        RSAKey.generate_key(2048, private=True), SimpleNamespace(slug="flevoland"), now=utcnow()
    )
    gate.certificates = [other]
    assert login(app.test_client(), flevoland, "andere.sleutel").status_code in (403, 503)
    assert "no uploaded certificate" in gate.refused[-1]
    assert "andere.sleutel" not in users(app, flevoland)

    # The right certificate, but the header names another one's thumbprint.
    (kid,) = kids(app, "flevoland")
    gate.certificates = [download(admin, "flevoland", kid)]
    original = client_keys.assertion_header

    def wrong(key):
        return original(key) | {"x5t": thumbprints(other)[0]}

    monkeypatch.setattr(client_keys, "assertion_header", wrong)
    assert login(app.test_client(), flevoland, "fout.kenmerk").status_code in (403, 503)
    assert "no uploaded certificate" in gate.refused[-1]


def test_a_certificate_is_for_the_own_tenants_programme_admin_only(app, gated, tenants):
    from samenleren.core.extensions import db
    from samenleren.core.tenancy import require_tenant
    from samenleren.identity.client_keys import rotate_client_key

    _gate, flevoland = gated
    with in_tenant(app, tenants["gelderland"]):
        theirs = rotate_client_key(require_tenant(), None, actor_label="test").kid
        db.session.commit()
    admin = admin_of(app, flevoland, "buur.beheer")
    learner = app.test_client()  # logged in before the mock would need the gate's check
    assert login(learner, flevoland, "geen.beheer").status_code == 302
    use_private_key_jwt(app, flevoland)
    (ours,) = kids(app, "flevoland")
    assert download(admin, "flevoland", ours).startswith("-----BEGIN CERTIFICATE-----")
    missing = admin.get("/flevoland/settings/sso/keys/geen-sleutel/certificate.pem")
    other = admin.get(f"/flevoland/settings/sso/keys/{theirs}/certificate.pem")
    assert missing.status_code == other.status_code == 404
    assert missing.get_data() == other.get_data().replace(theirs.encode(), b"geen-sleutel")
    assert learner.get(f"/flevoland/settings/sso/keys/{ours}/certificate.pem").status_code == 404
    anonymous = app.test_client().get(f"/flevoland/settings/sso/keys/{ours}/certificate.pem")
    assert anonymous.status_code in (302, 404) and b"CERTIFICATE" not in anonymous.get_data()


# --- the ID token kept for logout is stored encrypted -------------------------------------------


def test_the_id_token_is_kept_encrypted_and_logout_still_sends_it(app, gated):
    from sqlalchemy import text

    from samenleren.core.extensions import db
    from samenleren.identity.encryption import decrypt_secret

    _gate, flevoland = gated
    client = app.test_client()
    assert login(client, flevoland, "versleuteld").status_code == 302
    with in_tenant(app, flevoland):
        (stored,) = db.session.execute(
            text("SELECT id_token_hint_encrypted FROM login_sessions WHERE ended_at IS NULL")
        ).scalars()
        plain = decrypt_secret(stored)
    answer = _logout(client, "flevoland")
    hint = parse_qs(urlsplit(answer.headers["Location"]).query)["id_token_hint"][0]
    assert hint == plain and hint.count(".") == 2
    for part in hint.split("."):
        assert part not in stored  # neither the token nor any of its parts in plain text
    claims = json.loads(_unb64(hint.split(".")[1]))
    assert claims["sub"] == "versleuteld"
    assert b"versleuteld" not in base64.urlsafe_b64decode(stored.encode())


def test_reencrypting_keeps_the_id_tokens_usable_under_the_new_key(app, gated, monkeypatch):
    from cryptography.fernet import Fernet

    _gate, flevoland = gated
    client = app.test_client()
    assert login(client, flevoland, "herversleuteld").status_code == 302
    old = list(app.config["SAMENLEREN_SECRET_ENCRYPTION_KEYS"])
    new = Fernet.generate_key().decode()
    monkeypatch.setitem(app.config, "SAMENLEREN_SECRET_ENCRYPTION_KEYS", [new, *old])
    result = app.test_cli_runner().invoke(args=["sso", "reencrypt-secrets"])
    assert result.exit_code == 0, result.output
    assert "1 ID token(s)" in result.output
    monkeypatch.setitem(app.config, "SAMENLEREN_SECRET_ENCRYPTION_KEYS", [new])
    answer = _logout(client, "flevoland")
    assert parse_qs(urlsplit(answer.headers["Location"]).query)["id_token_hint"][0].count(".") == 2


def test_an_id_token_no_key_reads_makes_the_logout_local(app, gated, monkeypatch):
    from cryptography.fernet import Fernet

    _gate, flevoland = gated
    client = app.test_client()
    assert login(client, flevoland, "oude.sleutel").status_code == 302
    monkeypatch.setitem(
        app.config, "SAMENLEREN_SECRET_ENCRYPTION_KEYS", [Fernet.generate_key().decode()]
    )
    answer = _logout(client, "flevoland")
    assert answer.status_code == 302
    assert "id_token_hint" not in answer.headers["Location"]


def test_the_settings_page_and_a_certificate_take_few_queries_whatever_the_number_of_keys(
    app, gated
):
    from samenleren.identity.client_keys import rotate_client_key
    from tests.test_isolation import QueryCounter

    _gate, flevoland = gated
    admin = admin_of(app, flevoland, "tel.certificaat")
    use_private_key_jwt(app, flevoland)
    counter = QueryCounter(app)
    counts = []
    for rotate in (True, False):
        kid = kids(app, "flevoland")[0]
        pages = ("/flevoland/settings/sso", f"/flevoland/settings/sso/keys/{kid}/certificate.pem")
        for path in pages:
            admin.get(path)  # warm
        per_page = []
        for path in pages:
            with counter.counting() as statements:
                assert admin.get(path).status_code == 200
            per_page.append(len(statements))
        counts.append(per_page)
        if rotate:
            _tenant_do(app, flevoland, lambda row: rotate_client_key(row, None, actor_label="t"))
    assert counts[0] == counts[1]  # one key or two: the same statements
    assert counts[0][1] <= 6, counts


def test_the_signing_key_is_imported_once_until_it_rotates_or_cannot_be_read(
    app, gated, monkeypatch
):
    from cryptography.fernet import Fernet

    from samenleren.identity.client_keys import (
        ClientKeyMissing,
        rotate_client_key,
        signing_key,
    )

    _gate, flevoland = gated
    use_private_key_jwt(app, flevoland)
    first_header, first = _tenant_do(app, flevoland, lambda row: signing_key())
    again_header, again = _tenant_do(app, flevoland, lambda row: signing_key())
    assert again_header == first_header
    assert again is first  # the same imported key, not imported a second time

    _tenant_do(app, flevoland, lambda row: rotate_client_key(row, None, actor_label="test"))
    rotated_header, rotated = _tenant_do(app, flevoland, lambda row: signing_key())
    assert rotated_header["kid"] != first_header["kid"]
    assert rotated is not first
    assert rotated.as_dict(private=False) != first.as_dict(private=False)

    # Under encryption keys that cannot read it, the key is missing: nothing kept answers.
    monkeypatch.setitem(
        app.config, "SAMENLEREN_SECRET_ENCRYPTION_KEYS", [Fernet.generate_key().decode()]
    )
    with pytest.raises(ClientKeyMissing):
        _tenant_do(app, flevoland, lambda row: signing_key())
