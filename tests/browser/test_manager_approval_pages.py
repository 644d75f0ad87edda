"""The manager's approval of an application in Chromium, axe-clean: the manager's page before
and after answering, and the admin's worklist with the applications waiting for the manager."""

from __future__ import annotations

import pytest

from tests.browser.conftest import log_in
from tests.browser.test_pages import AxeFindings, choose_language, visit
from tests.catalogue.test_manager_approval import _applicant_world, _apply
from tests.factories import World

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_the_approval_pages_have_no_accessibility_violations(app, tenants, page, live_server, lang):
    flevoland = tenants["flevoland"]
    world, _ = _applicant_world(app, flevoland, approval=True)
    enrolment_id = _apply(app, flevoland, world)
    base = f"{live_server.url}/flevoland"
    findings = AxeFindings()
    choose_language(page, live_server, "flevoland", lang)

    log_in(page, live_server, flevoland, World.subjects["manager"], name="Mark Manager")
    visit(page, f"{base}/enrolments/{enrolment_id}/approval", 200)
    findings.check(page, "the manager's approval page", lang)
    with page.expect_navigation():
        page.click("main form:has(input[name=answer][value=discuss]) button")
    assert page.locator("main form input[name=answer][value=discuss]").count() == 0
    findings.check(page, "the manager's approval page, to discuss", lang)
    page.context.clear_cookies()

    choose_language(page, live_server, "flevoland", lang)
    log_in(page, live_server, flevoland, World.subjects["admin"], name="Pim Admin")
    visit(page, f"{base}/dashboard/programme", 200)
    assert page.locator("#worklist-with-manager").count() == 1
    findings.check(page, "the worklist with an application waiting for the manager", lang)
    findings.assert_clean()
