"""The SCIM provisioning page in Chromium: no axe-core violation in any of its states, and the
token shown once can be copied from the page and used."""

from __future__ import annotations

import pytest
import requests

from tests.browser.conftest import log_in
from tests.browser.test_pages import AxeFindings, choose_language, visit
from tests.scim.conftest import make_token

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_scim_page_has_no_accessibility_violations(app, tenants, page, live_server, lang):
    flevoland = tenants["flevoland"]
    base = live_server.url
    findings = AxeFindings()
    choose_language(page, live_server, "flevoland", lang)
    log_in(page, live_server, flevoland, "beheerder", groups=["SL-Opleidingsadviseurs"])

    visit(page, f"{base}/flevoland/settings/scim", 200)
    assert page.locator("table").count() == 0
    findings.check(page, "SCIM, no tokens", lang)

    # Refused: no name.
    page.click('button[type="submit"].utrecht-button--primary-action')
    assert page.locator('#in-name[aria-invalid="true"]').count() == 1
    findings.check(page, "SCIM, token without a name", lang)

    # Made: the token is shown once, and it works.
    page.fill("#in-name", "Microsoft Entra ID")
    page.click('button[type="submit"].utrecht-button--primary-action')
    token = page.locator("#new-token").input_value()
    assert token.startswith("slscim_")
    findings.check(page, "SCIM, new token shown", lang)
    answer = requests.get(
        f"{base}/scim/v2/flevoland/Users",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert answer.status_code == 200

    # A second token, then the first one revoked.
    make_token(app, flevoland, "HR-koppeling")
    visit(page, f"{base}/flevoland/settings/scim", 200)
    assert page.locator("#new-token").count() == 0
    page.locator("form[action$='/revoke'] button").last.click()
    page.wait_for_url(f"{base}/flevoland/settings/scim")
    assert page.locator("form[action$='/revoke']").count() == 1
    findings.check(page, "SCIM, a revoked token", lang)
    revoked = requests.get(
        f"{base}/scim/v2/flevoland/Users",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert revoked.status_code == 401

    findings.assert_clean()
