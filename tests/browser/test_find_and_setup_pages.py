"""The pages a new province and its HR adviser meet first, in Chromium, with no axe-core
violation: the console's login set-up (with a set-up link shown once), the IT contact's form,
the programme dashboard with its worklist and first steps, the trajectories and employees lists
and the edition page's search for an employee to enrol."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import log_in
from tests.browser.test_operator_console import log_in_operator
from tests.browser.test_pages import AxeFindings, visit
from tests.factories import World, build_world, in_tenant

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_setup_and_find_pages_have_no_accessibility_violations(
    app, tenants, operator_idp, page, live_server, lang
):
    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        world = build_world(flevoland)
    base = live_server.url
    findings = AxeFindings()

    visit(page, f"{base}/operator/logged-out?lang={lang}", 200)
    log_in_operator(page, live_server, operator_idp)
    visit(page, f"{base}/operator/tenants/flevoland/setup", 200)
    findings.check(page, "login set-up", lang)
    with page.expect_navigation():
        page.click('form[action="/operator/tenants/flevoland/setup/link"] button')
    findings.check(page, "login set-up with a link", lang)
    link = page.locator("#setup-link").inner_text()
    path = re.sub(r"^https?://[^/]+", "", link)
    with page.expect_navigation() as navigation:
        page.click('form[action="/operator/tenants/flevoland/setup/secret"] button')
    assert navigation.value.status == 422
    findings.check(page, "login set-up refused", lang)
    with page.expect_navigation():
        page.click('form[action="/operator/logout"] button')

    visit(page, f"{base}{path}?lang={lang}", 200)
    findings.check(page, "IT contact's form", lang)
    page.fill("#in-client_secret", "geheim-van-it")
    with page.expect_navigation():
        page.click(f'form[action="{path}"] button')
    findings.check(page, "IT contact: saved", lang)

    log_in(page, live_server, flevoland, World.subjects["admin"])
    visit(page, f"{base}/flevoland/dashboard/programme?lang={lang}", 200)
    assert page.locator("#worklist").count() == 1
    findings.check(page, "programme dashboard with worklist", lang)
    visit(page, f"{base}/flevoland/trajectories/?q=anna", 200)
    findings.check(page, "trajectories", lang)
    visit(page, f"{base}/flevoland/employees/?q=a", 200)
    findings.check(page, "employees", lang)
    visit(page, f"{base}/flevoland/editions/{world.edition}?employee_q=cor", 200)
    assert page.locator('input[type="radio"][name="learner_id"]').count() >= 1
    findings.check(page, "edition: employee search", lang)
    findings.assert_clean()
