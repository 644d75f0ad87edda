"""Every dashboard in Chromium: axe-core finds no violation, in Dutch and English (the
dashboards themselves are tested in tests/dashboards/)."""

from __future__ import annotations

import pytest

from tests.browser.conftest import log_in
from tests.browser.test_pages import AxeFindings
from tests.dashboards.test_dashboards import PEOPLE, _make_overdue, _record_ratings
from tests.factories import World, build_world, in_tenant

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_dashboards_have_no_accessibility_violations(app, tenants, page, live_server, lang):
    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        world = build_world(flevoland)
        _record_ratings(world, "4", "3")
        _make_overdue(world, "learning_goals")
    findings = AxeFindings()
    for who, boards in PEOPLE.items():
        page.context.clear_cookies()
        page.goto(f"{live_server.url}/flevoland/?lang={lang}")
        log_in(page, live_server, flevoland, World.subjects[who])
        findings.check(page, f"home of the {who}", lang)
        for board in boards:
            answer = page.goto(f"{live_server.url}/flevoland/dashboard/{board}")
            assert answer.status == 200
            if len(boards) > 1:
                current = page.locator('nav.sl-switcher [aria-current="page"]')
                assert current.get_attribute("href") == f"/flevoland/dashboard/{board}"
            findings.check(page, f"{board} dashboard of the {who}", lang)
    findings.assert_clean()
