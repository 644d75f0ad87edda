"""The notification preferences page in Chromium: no axe-core violation, in nl and en."""

from __future__ import annotations

import pytest

from tests.browser.conftest import log_in
from tests.browser.test_pages import AxeFindings, choose_language, visit

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_preferences_page_has_no_accessibility_violations(app, tenants, page, live_server, lang):
    flevoland = tenants["flevoland"]
    base = live_server.url
    findings = AxeFindings()
    choose_language(page, live_server, "flevoland", lang)
    log_in(page, live_server, flevoland, "deelnemer")

    visit(page, f"{base}/flevoland/me/notifications", 200)
    assert page.locator("#in-mode-immediate").is_checked()
    findings.check(page, "Notifications, the choice", lang)

    page.check("#in-mode-digest")
    page.click('button[type="submit"].utrecht-button--primary-action')
    page.wait_for_url(f"{base}/flevoland/me/notifications")
    assert page.locator("#in-mode-digest").is_checked()
    findings.check(page, "Notifications, saved", lang)
    findings.assert_clean()
