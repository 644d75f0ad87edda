"""Login through each tenant's own OpenID Connect provider, end to end over real HTTP.

Two tenants, two `oidc-provider-mock` servers (see tests/conftest.py). Nothing is mocked: the app
fetches discovery documents, exchanges codes and checks ID tokens against the real providers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.wrappers import Request, Response

from tests.conftest import TenantRef, login, make_user, serve_wsgi

# --- helpers ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    subject: str
    name: str
    email: str | None
    active: bool
    roles: frozenset[tuple[str, str]]  #: (role, source)

    @property
    def role_names(self) -> set[str]:
        return {role for role, _ in self.roles}


def people(app: Flask, tenant: TenantRef) -> dict[str, Person]:
    """Every user of `tenant`, by subject, read through the tenant-scoped session."""
    from sqlalchemy import select

    from samenleren.core.extensions import db
    from samenleren.core.tenancy import tenant_scope
    from samenleren.core.tenant import Tenant
    from samenleren.identity.models import User

    with app.app_context():
        with tenant_scope(db.session.get(Tenant, tenant.id)):
            return {
                user.subject: Person(
                    user.subject,
                    user.name,
                    user.email,
                    user.active,
                    frozenset((a.role.value, a.source.value) for a in user.role_assignments),
                )
                for user in db.session.scalars(select(User))
            }


def login_session_count(app: Flask, tenant: TenantRef) -> int:
    from sqlalchemy import func, select

    from samenleren.core.extensions import db
    from samenleren.core.tenancy import tenant_scope
    from samenleren.core.tenant import Tenant
    from samenleren.identity.models import LoginSession

    with app.app_context():
        with tenant_scope(db.session.get(Tenant, tenant.id)):
            return db.session.scalar(select(func.count()).select_from(LoginSession))


def snapshot(app: Flask, tenants: dict[str, TenantRef]) -> dict[str, tuple]:
    """What a refused login must not change: users and login sessions of every tenant."""
    return {
        slug: (people(app, ref), login_session_count(app, ref)) for slug, ref in tenants.items()
    }


def start_login(client: FlaskClient, tenant: TenantRef, query: str = "") -> str:
    """Ask the app to log in at `tenant`; returns the authorize URL at the IdP."""
    answer = client.get(f"/{tenant.slug}/auth/login{query}")
    assert answer.status_code == 302, answer.status_code
    return answer.headers["Location"]


def authorize(authorize_url: str, sub: str) -> str:
    """Submit the IdP's login form as `sub`; returns the callback URL the IdP sends us back to."""
    answer = requests.post(authorize_url, data={"sub": sub}, allow_redirects=False, timeout=5)
    assert answer.status_code == 302, answer.text
    return answer.headers["Location"]


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def in_english(client: FlaskClient, tenant: TenantRef) -> None:
    """Choose English (the msgids), so that texts can be checked whatever the catalogues say."""
    client.get(f"/{tenant.slug}/?lang=en")


def translated(app: Flask, message: str, locale: str) -> str:
    from flask_babel import force_locale, gettext

    with app.test_request_context(), force_locale(locale):
        return gettext(message)


def assert_landing(page: str, slug: str) -> None:
    """The public landing page of `slug`: a login link, and no trace of a logged-in user."""
    assert f'href="/{slug}/auth/login"' in page
    assert "/auth/logout" not in page
    assert 'href="/' + slug + '/trainings/"' not in page


def assert_home(page: str, slug: str, name: str) -> None:
    assert f'action="/{slug}/auth/logout"' in page
    assert name in page


# --- first and later logins -------------------------------------------------------------------


def test_first_login_creates_the_user_from_the_id_token_claims(app, tenants):
    flevoland = tenants["flevoland"]
    client = app.test_client()
    answer = login(
        client,
        flevoland,
        "jan.jansen",
        name="Jan Jansen",
        email="jan.jansen@flevoland.nl",
        groups=["SL-Leercoaches", "Some-Other-Group"],
    )
    assert answer.status_code == 302
    assert urlsplit(answer.headers["Location"]).path == "/flevoland/"

    user = people(app, flevoland)["jan.jansen"]
    assert (user.name, user.email, user.active) == ("Jan Jansen", "jan.jansen@flevoland.nl", True)
    assert user.roles == {("learner", "idp"), ("coach", "idp")}
    assert people(app, tenants["gelderland"]) == {}
    assert login_session_count(app, flevoland) == 1
    assert_home(client.get("/flevoland/").get_data(as_text=True), "flevoland", "Jan Jansen")


def test_every_mapped_group_gives_its_role(app, tenants):
    client = app.test_client()
    groups = ["SL-Opleidingsadviseurs", "SL-Leercoaches", "SL-Leidinggevenden", "SL-Trainers"]
    assert login(client, tenants["flevoland"], "alle.rollen", groups=groups).status_code == 302
    roles = people(app, tenants["flevoland"])["alle.rollen"].role_names
    assert roles == {"learner", "coach", "manager", "trainer", "programme_admin"}


def test_users_are_keyed_by_tenant_and_subject_not_by_email(app, tenants):
    flevoland, gelderland = tenants["flevoland"], tenants["gelderland"]
    # The same subject at two tenants is two people.
    assert login(app.test_client(), flevoland, "p.smit", name="Piet Smit").status_code == 302
    assert login(app.test_client(), gelderland, "p.smit", name="Petra Smit").status_code == 302
    assert people(app, flevoland)["p.smit"].name == "Piet Smit"
    assert people(app, gelderland)["p.smit"].name == "Petra Smit"
    # A changed e-mail address is the same person; the same address under another subject is not.
    login(app.test_client(), flevoland, "p.smit", name="Piet Smit", email="nieuw@flevoland.nl")
    login(app.test_client(), flevoland, "x.ander", name="Ander", email="nieuw@flevoland.nl")
    found = people(app, flevoland)
    assert set(found) == {"p.smit", "x.ander"}
    assert found["p.smit"].email == "nieuw@flevoland.nl"
    assert found["p.smit"].name == "Piet Smit"


def test_second_login_brings_idp_roles_in_line_and_keeps_app_roles(app, tenants):
    flevoland = tenants["flevoland"]
    login(app.test_client(), flevoland, "k.bakker", groups=["SL-Leercoaches", "SL-Trainers"])
    assert people(app, flevoland)["k.bakker"].roles == {
        ("learner", "idp"),
        ("coach", "idp"),
        ("trainer", "idp"),
    }

    # Inside the application she is made manager, and coach as well (independent of the IdP).
    from sqlalchemy import select

    from samenleren.core.extensions import db
    from samenleren.core.tenancy import tenant_scope
    from samenleren.core.tenant import Tenant
    from samenleren.identity.models import Role, RoleAssignment, RoleSource, User

    with app.app_context(), tenant_scope(db.session.get(Tenant, flevoland.id)):
        user = db.session.scalar(select(User).where(User.subject == "k.bakker"))
        user.role_assignments.append(RoleAssignment(role=Role.MANAGER, source=RoleSource.APP))
        user.role_assignments.append(RoleAssignment(role=Role.COACH, source=RoleSource.APP))
        db.session.commit()

    # At the IdP she left the coaches' and trainers' groups and joined the programme admins.
    answer = login(
        app.test_client(),
        flevoland,
        "k.bakker",
        name="Karin Bakker-de Boer",
        groups=["SL-Opleidingsadviseurs"],
    )
    assert answer.status_code == 302
    user = people(app, flevoland)["k.bakker"]
    assert user.name == "Karin Bakker-de Boer"
    assert user.roles == {
        ("learner", "idp"),
        ("programme_admin", "idp"),
        ("manager", "app"),
        ("coach", "app"),
    }
    assert len(people(app, flevoland)) == 1

    # With no groups at all only the default role comes from the IdP; app roles still stay.
    login(app.test_client(), flevoland, "k.bakker", groups=[])
    assert people(app, flevoland)["k.bakker"].roles == {
        ("learner", "idp"),
        ("manager", "app"),
        ("coach", "app"),
    }


def test_a_single_group_given_as_a_string_counts(app, tenants):
    login(app.test_client(), tenants["flevoland"], "enkel", groups="SL-Leidinggevenden")
    assert people(app, tenants["flevoland"])["enkel"].role_names == {"learner", "manager"}


# --- the authorize request --------------------------------------------------------------------


def test_authorize_redirect_carries_pkce_state_and_nonce(app, tenants):
    flevoland = tenants["flevoland"]
    client = app.test_client()
    location = start_login(client, flevoland)
    parts = urlsplit(location)
    assert f"{parts.scheme}://{parts.netloc}" == flevoland.idp.issuer
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    assert query["response_type"] == "code"
    assert query["code_challenge_method"] == "S256"
    # base64url of a SHA-256 digest, unpadded: 43 characters
    assert len(query["code_challenge"]) == 43
    assert "=" not in query["code_challenge"]
    assert len(query["state"]) >= 20
    assert len(query["nonce"]) >= 20
    assert query["redirect_uri"] == "http://localhost/flevoland/auth/callback"
    assert "openid" in query["scope"].split()

    # A second login attempt gets a fresh state, nonce and challenge.
    again = {k: v[0] for k, v in parse_qs(urlsplit(start_login(client, flevoland)).query).items()}
    for key in ("state", "nonce", "code_challenge"):
        assert again[key] != query[key]


def test_each_tenant_is_sent_to_its_own_identity_provider(app, tenants):
    for slug, ref in tenants.items():
        location = start_login(app.test_client(), ref)
        assert location.startswith(ref.idp.issuer + "/"), (slug, location)
    assert tenants["flevoland"].idp.issuer != tenants["gelderland"].idp.issuer


# --- refused callbacks: nothing is created ----------------------------------------------------


def test_replayed_callback_is_refused_and_creates_nothing(app, tenants):
    flevoland = tenants["flevoland"]
    flevoland.idp.set_user("r.visser", name="Rik Visser", email="r.visser@example.nl")
    client = app.test_client()
    in_english(client, flevoland)
    callback = path_of(authorize(start_login(client, flevoland), "r.visser"))
    assert client.get(callback).status_code == 302
    before = snapshot(app, tenants)

    # The same URL again, in the same browser and in another one (someone who copied it).
    for replayer in (client, app.test_client()):
        in_english(replayer, flevoland)
        answer = replayer.get(callback)
        assert answer.status_code == 403
        page = answer.get_data(as_text=True)
        assert "Login not possible" in page
        assert 'href="/flevoland/auth/login"' in page  # a way to try again
    assert snapshot(app, tenants) == before

    # The second browser stays anonymous.
    stranger = app.test_client()
    stranger.get(callback)
    assert_landing(stranger.get("/flevoland/").get_data(as_text=True), "flevoland")


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda q: q | {"state": "forged-" + "x" * 30}, id="forged-state"),
        pytest.param(lambda q: {k: v for k, v in q.items() if k != "state"}, id="missing-state"),
        pytest.param(lambda q: q | {"state": ""}, id="empty-state"),
        pytest.param(lambda q: q | {"code": "not-a-code"}, id="forged-code"),
        pytest.param(lambda q: {k: v for k, v in q.items() if k != "code"}, id="missing-code"),
        pytest.param(lambda q: {"error": "access_denied", "state": q["state"]}, id="idp-error"),
    ],
)
def test_tampered_callback_is_refused_and_creates_nothing(app, tenants, tamper):
    flevoland = tenants["flevoland"]
    flevoland.idp.set_user("t.mol", name="Tess Mol")
    client = app.test_client()
    in_english(client, flevoland)
    callback = urlsplit(authorize(start_login(client, flevoland), "t.mol"))
    query = {k: v[0] for k, v in parse_qs(callback.query, keep_blank_values=True).items()}
    before = snapshot(app, tenants)

    answer = client.get(f"{callback.path}?{urlencode(tamper(query))}")
    assert answer.status_code == 403
    assert "Login not possible" in answer.get_data(as_text=True)
    assert snapshot(app, tenants) == before
    assert_landing(client.get("/flevoland/").get_data(as_text=True), "flevoland")


def test_callback_presented_at_the_other_tenant_is_refused(app, tenants):
    flevoland = tenants["flevoland"]
    flevoland.idp.set_user("w.kok", name="Wim Kok")
    client = app.test_client()
    callback = path_of(authorize(start_login(client, flevoland), "w.kok"))
    assert callback.startswith("/flevoland/auth/callback?")
    before = snapshot(app, tenants)

    answer = client.get(callback.replace("/flevoland/", "/gelderland/", 1))
    assert answer.status_code == 403
    assert snapshot(app, tenants) == before
    for slug in ("flevoland", "gelderland"):
        assert_landing(client.get(f"/{slug}/").get_data(as_text=True), slug)


def test_code_from_another_tenants_idp_is_refused(app, tenants):
    """Start at flevoland, but let gelderland's IdP issue the code for flevoland's state."""
    flevoland, gelderland = tenants["flevoland"], tenants["gelderland"]
    gelderland.idp.set_user("indringer", name="Indringer")
    flevoland.idp.set_user("indringer", name="Indringer")
    client = app.test_client()
    authorize_url = urlsplit(start_login(client, flevoland))
    foreign = urlsplit(gelderland.idp.issuer)
    wrong_idp_url = authorize_url._replace(netloc=foreign.netloc).geturl()
    callback = path_of(authorize(wrong_idp_url, "indringer"))
    assert callback.startswith("/flevoland/auth/callback?")
    before = snapshot(app, tenants)

    answer = client.get(callback)
    assert answer.status_code == 403
    assert snapshot(app, tenants) == before
    assert_landing(client.get("/flevoland/").get_data(as_text=True), "flevoland")


def test_deactivated_user_is_refused(app, tenants, ctx):
    flevoland = tenants["flevoland"]
    make_user(flevoland, "vertrokken", "coach", name="Vera Vertrokken")
    from sqlalchemy import select

    from samenleren.core.extensions import db
    from samenleren.core.tenancy import tenant_scope
    from samenleren.core.tenant import Tenant
    from samenleren.identity.models import User

    with tenant_scope(db.session.get(Tenant, flevoland.id)):
        db.session.scalar(select(User).where(User.subject == "vertrokken")).active = False
        db.session.commit()
    before = snapshot(app, tenants)

    client = app.test_client()
    in_english(client, flevoland)
    answer = login(client, flevoland, "vertrokken", name="Vera Vertrokken", groups=["SL-Trainers"])
    assert answer.status_code == 403
    assert "Login not possible" in answer.get_data(as_text=True)
    assert snapshot(app, tenants) == before  # no session, no role from the IdP, no new name
    assert_landing(client.get("/flevoland/").get_data(as_text=True), "flevoland")


# --- sessions are bound to a tenant -----------------------------------------------------------


@pytest.mark.parametrize(
    ("here", "there"), [("flevoland", "gelderland"), ("gelderland", "flevoland")]
)
def test_login_at_one_tenant_is_anonymous_at_the_other(app, tenants, here, there):
    client = app.test_client()
    assert login(client, tenants[here], "anna", name="Anna Uniek-Naam").status_code == 302
    assert_home(client.get(f"/{here}/").get_data(as_text=True), here, "Anna Uniek-Naam")

    elsewhere = client.get(f"/{there}/")
    assert elsewhere.status_code == 200
    page = elsewhere.get_data(as_text=True)
    assert_landing(page, there)
    assert f">{translated(app, 'Log in', 'nl')}</a>" in page  # "Inloggen"
    assert "Anna Uniek-Naam" not in page
    # Pages behind login send you to the other tenant's own login, not in.
    trainings = client.get(f"/{there}/trainings/")
    assert trainings.status_code == 302
    assert urlsplit(trainings.headers["Location"]).path == f"/{there}/auth/login"
    # ... and its login goes to its own IdP.
    assert start_login(client, tenants[there]).startswith(tenants[there].idp.issuer + "/")
    # The first login is still there.
    assert_home(client.get(f"/{here}/").get_data(as_text=True), here, "Anna Uniek-Naam")


def test_logged_in_at_both_tenants_as_different_people(app, tenants):
    client = app.test_client()
    login(client, tenants["flevoland"], "twee", name="Fleur Flevo")
    login(client, tenants["gelderland"], "twee", name="Gijs Gelder")
    flevo = client.get("/flevoland/").get_data(as_text=True)
    gelder = client.get("/gelderland/").get_data(as_text=True)
    # The session was renewed at the second login: the first login is no longer in the cookie.
    assert_landing(flevo, "flevoland")
    assert "Fleur Flevo" not in flevo
    assert_home(gelder, "gelderland", "Gijs Gelder")
    assert "Fleur Flevo" not in gelder


# --- the identity provider's discovery document ---------------------------------------------


@dataclass
class ImpostorDiscovery:
    """A server whose discovery document is that of a real IdP, but with another issuer."""

    url: str


@pytest.fixture
def impostor(idps) -> Iterator[ImpostorDiscovery]:
    real = idps["flevoland"].issuer
    document = requests.get(f"{real}/.well-known/openid-configuration", timeout=5).json()

    @Request.application
    def serve(request: Request) -> Response:
        if request.path == "/.well-known/openid-configuration":
            return Response(
                json.dumps(document | {"issuer": "https://login.example.org/other"}),
                mimetype="application/json",
            )
        return Response("not found", status=404)

    with serve_wsgi(serve) as url:
        yield ImpostorDiscovery(url)


def _reonboard(app: Flask, slug: str, issuer: str) -> None:
    from tests.conftest import repoint

    with app.app_context():
        repoint(slug, issuer)


@pytest.mark.parametrize("variant", ["trailing-slash", "impostor-document"])
def test_discovery_issuer_mismatch_gives_login_unavailable(app, tenants, impostor, variant):
    flevoland = tenants["flevoland"]
    # The IdP states its issuer without a trailing slash; the impostor states another one.
    issuer = flevoland.idp.issuer + "/" if variant == "trailing-slash" else impostor.url
    _reonboard(app, "flevoland", issuer)
    before = snapshot(app, tenants)

    client = app.test_client()
    in_english(client, flevoland)
    answer = client.get("/flevoland/auth/login")
    assert answer.status_code == 503
    page = answer.get_data(as_text=True)
    assert "Login temporarily unavailable" in page
    assert "issuer" not in page.lower()  # the reason goes to the log, not to the visitor
    assert snapshot(app, tenants) == before

    # A callback (e.g. from a login begun before the change) is not accepted either.
    flevoland.idp.set_user("laat", name="Laat")
    answer = client.get("/flevoland/auth/callback?code=abc&state=def")
    assert answer.status_code in {403, 503}
    assert snapshot(app, tenants) == before

    # The other tenant is not affected.
    assert start_login(app.test_client(), tenants["gelderland"]).startswith(
        tenants["gelderland"].idp.issuer
    )


def test_unreachable_identity_provider_gives_login_unavailable(app, tenants):
    _reonboard(app, "flevoland", "http://127.0.0.1:9")  # discard port: nothing listens
    client = app.test_client()
    in_english(client, tenants["flevoland"])
    answer = client.get("/flevoland/auth/login")
    assert answer.status_code == 503
    assert "Login temporarily unavailable" in answer.get_data(as_text=True)


def test_fixed_issuer_works_again_after_a_mismatch(app, tenants):
    flevoland = tenants["flevoland"]
    _reonboard(app, "flevoland", flevoland.idp.issuer + "/")
    assert app.test_client().get("/flevoland/auth/login").status_code == 503
    _reonboard(app, "flevoland", flevoland.idp.issuer)
    assert login(app.test_client(), flevoland, "hersteld").status_code == 302
    assert "hersteld" in people(app, flevoland)


# --- where to go after login ------------------------------------------------------------------


def test_login_returns_to_the_page_that_asked_for_it(app, tenants):
    flevoland = tenants["flevoland"]
    flevoland.idp.set_user("terug", name="Terug")
    client = app.test_client()
    asked = client.get("/flevoland/trainings/")
    assert asked.status_code == 302
    login_url = path_of(asked.headers["Location"])
    assert login_url.startswith("/flevoland/auth/login?next=")
    query = "?" + urlsplit(login_url).query
    answer = client.get(path_of(authorize(start_login(client, flevoland, query), "terug")))
    assert answer.status_code == 302
    assert path_of(answer.headers["Location"]) == "/flevoland/trainings/"


@pytest.mark.parametrize(
    "target",
    [
        "http://evil.example/flevoland/",
        "https://evil.example/",
        "//evil.example/flevoland/",
        "///evil.example/",
        "/\\evil.example/",
        "\\\\evil.example/",
        "/gelderland/",
        "/gelderland/trainings/",
        "/flevoland/../gelderland/",
        "/flevoland/%2e%2e/gelderland/",
        "/flevoland/%2E%2E/%2e%2e/evil",
        "/flevoland/./../gelderland/",
        "/flevoland/\r\nSet-Cookie: x=1",
        "/flevoland/\t/evil",
        "javascript:alert(1)",
        "flevoland/trainings/",
    ],
)
def test_next_outside_the_tenant_is_ignored(app, tenants, target):
    flevoland = tenants["flevoland"]
    flevoland.idp.set_user("volg", name="Volg")
    client = app.test_client()
    query = "?" + urlencode({"next": target})
    answer = client.get(path_of(authorize(start_login(client, flevoland, query), "volg")))
    assert answer.status_code == 302
    assert answer.headers["Location"] in {"/flevoland/", "http://localhost/flevoland/"}


def test_next_is_honoured_when_already_logged_in_only_inside_the_tenant(app, tenants):
    client = app.test_client()
    login(client, tenants["flevoland"], "al.binnen")
    inside = client.get("/flevoland/auth/login?next=/flevoland/trainings/")
    assert (inside.status_code, path_of(inside.headers["Location"])) == (
        302,
        "/flevoland/trainings/",
    )
    outside = client.get("/flevoland/auth/login?next=//evil.example/")
    assert (outside.status_code, path_of(outside.headers["Location"])) == (302, "/flevoland/")
