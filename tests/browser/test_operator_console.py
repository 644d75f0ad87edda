"""The operator console in Chromium: every page, as shown and as it comes back refused, has no
axe-core violation; an operator logs in the way a person does, at the platform's own IdP."""

from __future__ import annotations

import pytest

from tests.browser.conftest import LiveServer
from tests.browser.test_pages import AxeFindings, visit
from tests.conftest import OPERATOR_SUBJECT, IdP, repoint
from tests.factories import build_world, in_tenant

pytestmark = pytest.mark.browser


def log_in_operator(page, live_server: LiveServer, idp: IdP, sub: str = OPERATOR_SUBJECT) -> None:
    """The console's login link, then the platform IdP's own form."""
    idp.set_user(sub, name="Olga Operator", email=f"{sub}@platform.example")
    page.goto(f"{live_server.url}/operator/logged-out")
    page.click('a[href="/operator/login"]')
    page.wait_for_url(f"{idp.issuer}/**")
    page.fill('input[name="sub"]', sub)
    page.click('button[type="submit"]:not([name])')
    page.wait_for_url(f"{live_server.url}/operator/")
    assert page.locator('form[action="/operator/logout"]').count() == 1


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_console_pages_have_no_accessibility_violations(
    app, tenants, operator_idp, page, live_server, lang, tmp_path, monkeypatch
):
    with in_tenant(app, tenants["flevoland"]):
        build_world(tenants["flevoland"])
    base = live_server.url
    findings = AxeFindings()

    visit(page, f"{base}/operator/logged-out?lang={lang}", 200)
    findings.check(page, "console: not logged in", lang)
    log_in_operator(page, live_server, operator_idp)
    findings.check(page, "tenants", lang)

    visit(page, f"{base}/operator/tenants/new", 200)
    assert page.locator("h1").count() == 1
    findings.check(page, "onboard a province", lang)

    # The form, refused: messages next to the fields.
    page.fill("#in-slug", "Zee Land")
    page.fill("#in-name", "Provincie Zeeland")
    page.fill("#in-issuer", "https://login.zeeland.example.nl/adfs")
    page.fill("#in-client_id", "samenleren")
    page.fill("#in-client_secret_env", "SAMENLEREN_ZEELAND_OIDC_SECRET")
    page.fill("#in-group_roles", "ZL-Leercoaches = superuser")
    page.fill("#in-primary_color", "#ffff00")
    with page.expect_navigation() as navigation:
        page.click('form[action="/operator/tenants/new"] button[type="submit"]')
    assert navigation.value.status == 422
    assert page.locator('[aria-invalid="true"]').count() == 3
    findings.check(page, "onboarding form refused", lang)

    # The upload, refused: the manifest's one line next to the upload field.
    bad = tmp_path / "zeeland.toml"
    bad.write_text('slug = "zeeland"\nthis is not toml\n', encoding="utf-8")
    page.set_input_files("#in-manifest", str(bad))
    with page.expect_navigation() as navigation:
        page.click('form[action="/operator/tenants/upload"] button[type="submit"]')
    assert navigation.value.status == 422
    assert "zeeland.toml: is not valid TOML" in page.locator("#err-manifest").inner_text()
    findings.check(page, "upload refused", lang)

    # Suspend (the confirmation, then the list with its message), and resume.
    visit(page, f"{base}/operator/tenants/flevoland/suspend", 200)
    findings.check(page, "suspend: confirm", lang)
    with page.expect_navigation():
        page.click('form[action="/operator/tenants/flevoland/suspend"] button')
    assert page.url == f"{base}/operator/"
    findings.check(page, "tenants after suspending", lang)
    visit(page, f"{base}/operator/tenants/flevoland/resume", 200)
    findings.check(page, "resume: confirm", lang)
    with page.expect_navigation():
        page.click('form[action="/operator/tenants/flevoland/resume"] button')

    # Test SSO: passed for Flevoland; failed (issuer mismatch) for Gelderland.
    with page.expect_navigation():
        page.click('form[action="/operator/tenants/flevoland/test-sso"] button')
    assert page.locator(".utrecht-alert--ok").count() == 1
    findings.check(page, "SSO test passed", lang)
    with app.app_context():
        repoint("gelderland", tenants["gelderland"].idp.issuer + "/")
    visit(page, f"{base}/operator/", 200)
    with page.expect_navigation():
        page.click('form[action="/operator/tenants/gelderland/test-sso"] button')
    assert page.locator(".utrecht-alert--error").count() == 1
    findings.check(page, "SSO test failed", lang)

    # Logout, then the pages of a login that fails or cannot start.
    with page.expect_navigation():
        page.click('form[action="/operator/logout"] button')
    assert page.url == f"{base}/operator/logged-out"
    findings.check(page, "logged out", lang)
    visit(page, f"{base}/operator/callback?state=vervalst&code=vervalst", 403)
    findings.check(page, "operator login not possible", lang)
    monkeypatch.setitem(app.config, "SAMENLEREN_OPERATOR_OIDC_ISSUER", "")
    visit(page, f"{base}/operator/login", 503)
    findings.check(page, "operator login unavailable", lang)

    findings.assert_clean()


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_a_pending_issuer_page_has_no_accessibility_violations(
    app, tenants, operator_idp, page, live_server, lang
):
    from tests.browser.test_identity_pages import _request_issuer
    from tests.factories import World

    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        build_world(flevoland)
    _request_issuer(app, flevoland, World.subjects["admin"], "https://login.nieuw.example.nl")
    findings = AxeFindings()
    visit(page, f"{live_server.url}/operator/logged-out?lang={lang}", 200)
    log_in_operator(page, live_server, operator_idp)
    findings.check(page, "tenants with a pending issuer", lang)
    visit(page, f"{live_server.url}/operator/tenants/flevoland/issuer", 200)
    findings.check(page, "a pending issuer to approve", lang)
    findings.assert_clean()
