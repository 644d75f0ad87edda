"""The coach pool, coach days, organisation goals and settings pages in Chromium: axe finds nothing.

Forms are also checked as they come back refused (422), with messages next to the fields.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from samenleren.core.formatting import local_today
from tests.browser.conftest import log_in
from tests.browser.test_pages import AxeFindings, choose_language, visit
from tests.factories import World, build_world, in_tenant

pytestmark = pytest.mark.browser


def _past_day(app, tenant):
    from samenleren.coaching.models import CoachDay
    from samenleren.core.extensions import db

    with in_tenant(app, tenant):
        day = CoachDay(
            title="Voorjaarsdag",
            held_on=local_today() - timedelta(days=30),
            programme="Intervisie\nOefenen",
            record="Tips uitgewisseld.",
        )
        db.session.add(day)
        db.session.commit()
        return day.id


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_admin_pages_have_no_accessibility_violations(app, tenants, page, live_server, lang):
    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        world = build_world(flevoland)
    past = _past_day(app, flevoland)
    base = f"{live_server.url}/flevoland"
    findings = AxeFindings()
    choose_language(page, live_server, "flevoland", lang)
    log_in(page, live_server, flevoland, World.subjects["admin"], name="Pim Admin")

    for label, path in [
        ("coach pool", "/coaches/"),
        ("add a coach", "/coaches/new"),
        ("edit a coach", f"/coaches/{world.coach_profile}/edit"),
        ("coach profile", f"/coaches/{world.coach_profile}"),
        ("coach days", "/coach-days/"),
        ("plan a coach day", "/coach-days/new"),
        ("past coach day", f"/coach-days/{past}"),
        ("organisation goals", "/organisation-goals/"),
        ("add an organisation goal", "/organisation-goals/new"),
        ("edit an organisation goal", f"/organisation-goals/{world.organisation_goals[0]}/edit"),
        ("programme settings", "/settings/programme"),
    ]:
        visit(page, f"{base}{path}", 200)
        assert page.locator("h1").count() == 1, label
        findings.check(page, label, lang)

    # Refused forms: the messages next to their fields.
    visit(page, f"{base}/coaches/new?q=cor", 200)  # the employee found by a search
    page.check(f"#in-user-{world.colleague}")
    page.fill("#in-capacity", "25")
    page.click("main form[method=post] button.utrecht-button--primary-action")
    page.wait_for_selector("#err-capacity")
    findings.check(page, "add a coach, refused", lang)

    visit(page, f"{base}/organisation-goals/new", 200)
    page.fill("#in-code", "OD1")
    page.click("form.sl-form button[type=submit]")
    page.wait_for_selector("#err-code")
    findings.check(page, "add an organisation goal, refused", lang)

    visit(page, f"{base}/coach-days/{past}", 200)
    page.fill("#in-title", "")
    page.click('form[action$="/edit"] button[type=submit]')
    page.wait_for_selector("#err-title")
    findings.check(page, "coach day, refused", lang)
    findings.assert_clean()


def test_coach_pages_have_no_accessibility_violations(app, tenants, page, live_server):
    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        world = build_world(flevoland)
    past = _past_day(app, flevoland)
    base = f"{live_server.url}/flevoland"
    findings = AxeFindings()
    log_in(page, live_server, flevoland, World.subjects["coach"], name="Carla Coach")
    for label, path in [
        ("own coach profile", f"/coaches/{world.coach_profile}"),
        ("coach days (coach)", "/coach-days/"),
        ("coach day (coach)", f"/coach-days/{world.coach_day}"),
        ("past coach day (coach)", f"/coach-days/{past}"),
    ]:
        visit(page, f"{base}{path}", 200)
        findings.check(page, label, "nl")
    findings.assert_clean()
