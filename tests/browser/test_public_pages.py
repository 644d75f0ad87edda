"""The public pages and the audit verification on the console, in Chromium: axe finds nothing
on the accessibility statement (default and written, and its form with refused input), the
privacy statement and its form, the vulnerability disclosure page and the cookie statement."""

from __future__ import annotations

import pytest

from tests.browser.conftest import log_in
from tests.browser.test_pages import AxeFindings, choose_language, visit
from tests.factories import World, build_world, in_tenant

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("lang", ["nl", "en", "fy"])
def test_public_pages_have_no_accessibility_violations(app, tenants, page, live_server, lang):
    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        build_world(flevoland)
    base = f"{live_server.url}/flevoland"
    findings = AxeFindings()
    choose_language(page, live_server, "flevoland", lang)
    for label, url in [
        ("accessibility statement (default)", f"{base}/accessibility"),
        ("privacy statement", f"{base}/privacy"),
        ("vulnerability disclosure", f"{live_server.url}/security"),
        ("cookie statement", f"{live_server.url}/cookies"),
    ]:
        visit(page, url, 200)
        assert page.locator("h1").count() == 1, label
        findings.check(page, label, lang)

    log_in(page, live_server, flevoland, World.subjects["admin"], name="Pim Admin")
    visit(page, f"{base}/settings/accessibility", 200)
    findings.check(page, "accessibility statement form", lang)
    page.select_option("#in-status", "B")
    page.fill("#in-scope", "De Samen Leren-pagina's")
    page.fill("#in-contact", "geen adres")
    page.fill("#in-assessed_on", "2026-10-01")
    page.click("form.sl-form button[type=submit]")
    page.wait_for_selector("#err-contact")
    assert page.locator("#in-contact").get_attribute("aria-invalid") == "true"
    findings.check(page, "accessibility statement form, refused contact", lang)
    page.fill("#in-contact", "toegankelijkheid@flevoland.example")
    page.click("form.sl-form button[type=submit]")
    page.wait_for_url(f"{base}/accessibility")
    findings.check(page, "accessibility statement (written)", lang)
    visit(page, f"{base}/settings/privacy", 200)
    findings.check(page, "privacy statement form", lang)
    findings.assert_clean()
