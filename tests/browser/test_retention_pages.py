"""The retention pages in Chromium: axe finds nothing on the periods (also refused), the legal
holds (none, one placed, a refused one), in nl, en and fy."""

from __future__ import annotations

import pytest

from tests.browser.conftest import log_in
from tests.browser.test_pages import AxeFindings, choose_language, visit
from tests.factories import World, build_world, in_tenant

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("lang", ["nl", "en", "fy"])
def test_retention_pages_have_no_accessibility_violations(app, tenants, page, live_server, lang):
    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        world = build_world(flevoland)
    base = f"{live_server.url}/flevoland"
    findings = AxeFindings()
    choose_language(page, live_server, "flevoland", lang)
    log_in(page, live_server, flevoland, World.subjects["admin"], name="Pim Admin")

    visit(page, f"{base}/settings/retention", 200)
    assert page.locator("h1").count() == 1
    findings.check(page, "retention periods", lang)

    # Below the legal minimum: refused, the message next to the field.
    page.fill("#in-audit_log", "12")
    with page.expect_navigation() as navigation:
        page.click('form[action="/flevoland/settings/retention"] button[type="submit"]')
    assert navigation.value.status == 422
    assert page.locator("#err-audit_log").count() == 1
    findings.check(page, "retention periods, refused", lang)

    visit(page, f"{base}/retention/holds", 200)
    findings.check(page, "legal holds, none", lang)
    # Find the person (no id typed), then choose what to keep; no reason: refused.
    page.fill("#hold-q", "Anna")
    with page.expect_navigation():
        page.click('form[role="search"] button[type="submit"]')
    findings.check(page, "legal holds, people found", lang)
    with page.expect_navigation():
        page.click(f'a[href="/flevoland/retention/holds?person={world.learner}"]')
    with page.expect_navigation() as navigation:
        page.click('form[action="/flevoland/retention/holds"] button[type="submit"]')
    assert navigation.value.status == 422
    findings.check(page, "legal holds, refused", lang)
    page.fill("#in-reason", "Bezwaar")
    with page.expect_navigation() as navigation:
        page.click('form[action="/flevoland/retention/holds"] button[type="submit"]')
    assert page.locator("tbody tr").count() == 1
    findings.check(page, "legal holds, one placed", lang)
    findings.assert_clean()
