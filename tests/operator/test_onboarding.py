"""Onboarding a province from the console: through the form, or by uploading its manifest.

Both go through the manifest's own validation (the command line's); a refused onboarding shows
its message next to the field and writes nothing at all.
"""

from __future__ import annotations

import html
import io
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.conftest import REPO_ROOT, operator_login
from tests.operator.conftest import audit_events
from tests.tenants.test_cli import recorded_sql
from tests.tenants.test_manifest import BAD_MANIFESTS, BASE

SVG_LOGO = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect/></svg>'


def token(client: FlaskClient) -> str:
    page = client.get("/operator/tenants/new").get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match
    return match.group(1)


def tenant_state(app: Flask) -> list[tuple]:
    """Everything that says what the tenants table holds."""
    from samenleren.core.extensions import db
    from samenleren.core.tenant import Tenant

    with app.app_context():
        return [
            (t.slug, t.name, t.status.value, t.manifest_digest, t.updated_at)
            for t in db.session.scalars(select(Tenant).order_by(Tenant.slug))
        ]


def text_of(answer) -> str:
    return html.unescape(answer.get_data(as_text=True))


def field_error(page: str, field: str) -> str:
    """The error message shown next to `field`, which is marked invalid and points at it."""
    match = re.search(rf'<p class="[^"]*" id="err-{field}">([^<]*)</p>', page)
    assert match, f"no error next to {field}"
    tag = re.search(rf'<(?:input|select|textarea)[^>]*\bid="in-{field}"[^>]*>', page)
    assert tag, f"no field {field}"
    assert 'aria-invalid="true"' in tag.group(0)
    assert f"err-{field}" in tag.group(0)  # aria-describedby
    return html.unescape(match.group(1))


# --- the form -----------------------------------------------------------------------------------

VALID_FORM = {
    "slug": "zeeland",
    "name": "Provincie Zeeland",
    "default_locale": "en",
    "issuer": "https://login.zeeland.example.nl/adfs",
    "client_id": "samenleren",
    "client_secret_env": "SAMENLEREN_ZEELAND_OIDC_SECRET",
    "group_roles": "ZL-Leercoaches = coach\nZL-Opleidingen = programme_admin, manager\n\n",
    "primary_color": "#0B5394",
}


def test_the_form_onboards_a_province_and_logs_who_did(app, console, tenants):
    answer = console.post("/operator/tenants/new", data=VALID_FORM | {"csrf_token": token(console)})
    assert answer.status_code == 303, text_of(answer)
    assert answer.headers["Location"].endswith("/operator/")
    listing = text_of(console.get("/operator/"))
    assert "Provincie Zeeland is onboarded; its address is /zeeland/." in listing
    assert 'id="tenant-zeeland"' in listing

    from samenleren.core.extensions import db
    from samenleren.core.tenant import Tenant, TenantStatus
    from samenleren.process_templates.services import current_version

    with app.app_context():
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == "zeeland"))
        assert tenant.status is TenantStatus.ACTIVE
        assert (tenant.name, tenant.default_locale) == ("Provincie Zeeland", "en")
        assert tenant.sso_issuer == "https://login.zeeland.example.nl/adfs"
        assert tenant.sso_client_secret_env == "SAMENLEREN_ZEELAND_OIDC_SECRET"
        assert tenant.sso_scopes == ["openid", "profile", "email"]
        assert tenant.group_roles == {
            "ZL-Leercoaches": ["coach"],
            "ZL-Opleidingen": ["programme_admin", "manager"],
        }
        assert tenant.default_roles == ["learner"]
        assert tenant.theme_primary_color == "#0b5394"
        tenant_id = tenant.id
        from samenleren.core.tenancy import tenant_scope

        with tenant_scope(tenant):
            assert current_version() is not None  # the Flevoland model, ready to run

    [event] = audit_events(app, tenant_id)
    assert event.action == "tenant.onboarded"
    assert event.actor_label == "Operator: Olga Operator"
    assert event.details["from"] == "form"
    # Its pages are open.
    assert app.test_client().get("/zeeland/").status_code == 200


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"slug": ""}, "slug", "Give the address"),
        ({"slug": "Zee Land"}, "slug", "lowercase letters"),
        ({"slug": "zee--land"}, "slug", "single hyphens"),
        ({"slug": "operator"}, "slug", "used by the platform itself"),
        ({"name": "  "}, "name", "Give the name"),
        ({"name": "x" * 201}, "name", "At most 200 characters"),
        ({"default_locale": "de"}, "default_locale", "Choose one of the languages"),
        ({"issuer": "http://login.zeeland.example.nl"}, "issuer", "https://"),
        ({"issuer": "login.zeeland.example.nl"}, "issuer", "https://"),
        ({"client_id": ""}, "client_id", "Give the client id"),
        ({"client_secret_env": "q8Fj~2kL.9zXwPp"}, "client_secret_env", "never the secret"),
        ({"primary_color": "#ffff00"}, "primary_color", "contrast of 1.1:1"),
        ({"primary_color": "blue"}, "primary_color", "six hexadecimal digits"),
        ({"group_roles": "ZL-Coaches coach"}, "group_roles", "Line 1: write the group"),
        ({"group_roles": "A = coach\nB = superuser"}, "group_roles", "Line 2: give one or more"),
        ({"group_roles": "A = coach\nA = trainer"}, "group_roles", "appears twice"),
        ({"group_roles": "A ="}, "group_roles", "Line 1: give one or more"),
    ],
)
def test_refused_form_input_shows_a_message_at_the_field_and_writes_nothing(
    app, console, tenants, changes, field, words
):
    before = tenant_state(app)
    values = VALID_FORM | changes
    answer = console.post("/operator/tenants/new", data=values | {"csrf_token": token(console)})
    assert answer.status_code == 422
    page = text_of(answer)
    assert words in field_error(page, field)
    assert "Not saved: please correct the fields marked below." in page
    # The operator's input is kept.
    if field in {"slug", "name", "issuer", "client_id", "client_secret_env", "primary_color"}:
        assert f'value="{values[field]}"' in page
    assert tenant_state(app) == before


def test_every_refused_field_is_reported_at_once(app, console, tenants):
    values = VALID_FORM | {"slug": "X", "issuer": "ftp://x", "primary_color": "#fff"}
    answer = console.post("/operator/tenants/new", data=values | {"csrf_token": token(console)})
    assert answer.status_code == 422
    page = text_of(answer)
    for field in ("slug", "issuer", "primary_color"):
        field_error(page, field)


def test_an_existing_address_is_refused_clearly(app, console, tenants):
    before = tenant_state(app)
    values = VALID_FORM | {"slug": "flevoland"}
    answer = console.post("/operator/tenants/new", data=values | {"csrf_token": token(console)})
    assert answer.status_code == 422
    assert "A province with the address flevoland exists already" in field_error(
        text_of(answer), "slug"
    )
    assert tenant_state(app) == before
    assert not audit_events(app, tenants["flevoland"].id)


# --- the upload ---------------------------------------------------------------------------------


def upload(
    client: FlaskClient,
    manifest: bytes | None,
    name: str = "zeeland.toml",
    logo: tuple[bytes, str] | None = None,
):
    data: dict = {"csrf_token": token(client)}
    if manifest is not None:
        data["manifest"] = (io.BytesIO(manifest), name)
    if logo is not None:
        data["logo"] = (io.BytesIO(logo[0]), logo[1])
    return client.post("/operator/tenants/upload", data=data, content_type="multipart/form-data")


def with_logo(text: str, logo: str = "assets/zeeland.svg") -> str:
    return text.replace('primary_color = "#154273"', f'primary_color = "#154273"\nlogo = "{logo}"')


def test_an_uploaded_manifest_with_its_logo_onboards_the_province(app, console, tenants):
    answer = upload(console, with_logo(BASE).encode(), logo=(SVG_LOGO, "zeeland.svg"))
    assert answer.status_code == 303, text_of(answer)
    assert "Provincie Zeeland is onboarded" in text_of(console.get("/operator/"))

    from samenleren.core.extensions import db
    from samenleren.core.tenancy import tenant_scope
    from samenleren.core.tenant import Tenant
    from samenleren.tenants.models import OrganisationGoal

    with app.app_context():
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == "zeeland"))
        assert (tenant.theme_logo, tenant.theme_logo_type) == (SVG_LOGO, "image/svg+xml")
        assert tenant.group_roles == {"ZL-Leercoaches": ["coach"]}
        with tenant_scope(tenant):
            codes = [g.code for g in db.session.scalars(select(OrganisationGoal))]
        assert sorted(codes) == ["Z1", "Z2"]
        tenant_id = tenant.id
    [event] = audit_events(app, tenant_id)
    assert (event.action, event.actor_label) == ("tenant.onboarded", "Operator: Olga Operator")
    assert event.details["from"] == "upload"
    logo = app.test_client().get("/zeeland/logo")
    assert (logo.status_code, logo.data) == (200, SVG_LOGO)


def test_the_shipped_manifests_upload_like_on_the_command_line(app, operator_idp):
    """No tenants yet: Flevoland's own manifest and logo, as an operator would upload them."""
    client = app.test_client()
    assert operator_login(client, operator_idp).status_code == 302
    manifest = (REPO_ROOT / "tenants" / "flevoland.toml").read_bytes()
    logo = (REPO_ROOT / "tenants" / "assets" / "flevoland.svg").read_bytes()
    answer = upload(client, manifest, "flevoland.toml", logo=(logo, "flevoland.svg"))
    assert answer.status_code == 303, text_of(answer)
    assert [row[0] for row in tenant_state(app)] == ["flevoland"]


@pytest.mark.parametrize(
    ("edit", "key", "words"),
    [
        pytest.param(edit, key, words, id=case)
        for case, edit, key, words in BAD_MANIFESTS
        if case != "missing-logo-file"  # an upload names no file on disk; see the logo tests
    ],
)
def test_a_malformed_manifest_shows_the_command_lines_line_and_writes_nothing(
    app, console, tenants, edit, key, words
):
    before = tenant_state(app)
    content = edit(BASE)
    raw = content if isinstance(content, bytes) else content.encode()
    with recorded_sql(app) as statements:
        answer = upload(console, raw)
    assert answer.status_code == 422
    message = field_error(text_of(answer), "manifest")
    prefix = f"zeeland.toml: {key}: " if key else "zeeland.toml: "
    assert message.startswith(prefix), message
    assert words in message
    assert "\n" not in message
    writes = [s for s in statements if s.split()[0].upper() in {"INSERT", "UPDATE", "DELETE"}]
    assert writes == []
    assert tenant_state(app) == before


def test_an_upload_without_a_file_is_refused(app, console, tenants):
    before = tenant_state(app)
    answer = upload(console, None)
    assert answer.status_code == 422
    assert "Choose the manifest file" in field_error(text_of(answer), "manifest")
    assert tenant_state(app) == before


@pytest.mark.parametrize("depth", [100, 5000])
def test_a_deeply_nested_manifest_is_refused_clearly(app, console, tenants, depth):
    """Deep nesting made tomllib raise RecursionError (a 500); now a clear refusal."""
    before = tenant_state(app)
    nested = "x = " + "[" * depth + "]" * depth + "\n"
    answer = upload(console, (nested + BASE).encode())
    assert answer.status_code == 422
    assert "nested more than 32 levels deep" in field_error(text_of(answer), "manifest")
    assert tenant_state(app) == before


def test_a_too_large_manifest_is_refused_before_it_is_read(app, console, tenants):
    before = tenant_state(app)
    padding = "# " + "x" * 100 + "\n"
    answer = upload(console, (BASE + padding * 700).encode())
    assert answer.status_code == 422
    assert "larger than 64 kB" in field_error(text_of(answer), "manifest")
    assert tenant_state(app) == before


def test_a_request_larger_than_the_platform_allows_is_refused(app, console, tenants, monkeypatch):
    """SAMENLEREN_MAX_UPLOAD_BYTES (here lowered, so that the test client keeps the body in
    memory) caps the whole request: 413, nothing written."""
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 100_000)
    before = tenant_state(app)
    answer = upload(console, BASE.encode(), logo=(b"x" * 150_000, "zeeland.png"))
    assert answer.status_code == 413
    assert tenant_state(app) == before


@pytest.mark.parametrize(
    ("manifest", "logo", "field", "words"),
    [
        pytest.param(with_logo(BASE), None, "logo", "upload that file", id="named-not-uploaded"),
        pytest.param(
            BASE, (b"GIF89a", "z.gif"), "logo", "theme.logo: must be an .svg or .png", id="gif"
        ),
        pytest.param(
            BASE, (b"<svg/>" + b" " * 200_001, "z.svg"), "logo", "larger than 200 kB", id="large"
        ),
        pytest.param(
            with_logo(BASE, "assets/zeeland.gif"), None, "manifest", ".svg or .png", id="named-gif"
        ),
    ],
)
def test_logo_problems_are_shown_at_the_logo_and_write_nothing(
    app, console, tenants, manifest, logo, field, words
):
    before = tenant_state(app)
    answer = upload(console, manifest.encode(), logo=logo)
    assert answer.status_code == 422
    assert words in field_error(text_of(answer), field)
    assert tenant_state(app) == before


def test_uploading_an_existing_province_changes_nothing(app, console, tenants):
    before = tenant_state(app)
    manifest = (REPO_ROOT / "tenants" / "gelderland.toml").read_bytes()
    logo = (REPO_ROOT / "tenants" / "assets" / "gelderland.svg").read_bytes()
    answer = upload(console, manifest, "gelderland.toml", logo=(logo, "gelderland.svg"))
    assert answer.status_code == 422
    assert "A province with the address gelderland exists already" in field_error(
        text_of(answer), "manifest"
    )
    assert tenant_state(app) == before
    assert not audit_events(app, tenants["gelderland"].id)


def test_the_onboarding_page_offers_both_ways(app, console, tenants):
    page = text_of(console.get("/operator/tenants/new"))
    assert page.count("<form") == 3  # logout, the form, the upload
    assert 'enctype="multipart/form-data"' in page
    for field in ("slug", "name", "default_locale", "issuer", "client_id"):
        assert f'for="in-{field}"' in page
    assert 'for="in-manifest"' in page and 'for="in-logo"' in page
