"""The programme report and a manager's team view in Chromium: axe-core finds no violation,
in Dutch, English and Frisian, with charts, tables and the "fewer than 5" cells showing; and
the step page with its expected-results form."""

from __future__ import annotations

import pytest

from tests.browser.conftest import log_in
from tests.browser.test_pages import AxeFindings
from tests.factories import World, add_user, build_world, in_tenant
from tests.insight.helpers import build_programme
from tests.insight.test_costs import add_costs

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("lang", ["nl", "en", "fy"])
def test_the_report_has_no_accessibility_violations(app, tenants, page, live_server, lang):
    from samenleren.core.extensions import db

    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        world = build_world(flevoland)
        add_user("pim.insight", "programme_admin", name="Pim Insight")
        db.session.commit()
        programme = build_programme()
    add_costs(app, flevoland, programme)
    with in_tenant(app, flevoland):
        from samenleren.insight.models import Comparison, SharingSetting

        # The organisation shares, and five did: its figures beside the others' median.
        db.session.add(SharingSetting(share=True))
        db.session.add(
            Comparison(
                year=2025,
                tenants=6,
                own_transfer_percent=50,
                own_cost_per_learner_cents=19735,
                others_transfer_percent=55,
                others_cost_per_learner_cents=21000,
            )
        )
        db.session.commit()
    findings = AxeFindings()
    page.goto(f"{live_server.url}/flevoland/?lang={lang}")
    log_in(page, live_server, flevoland, "pim.insight")
    answer = page.goto(f"{live_server.url}/flevoland/insight/?year=2025")
    assert answer.status == 200
    # Eight sections of figures and three of costs (budget, per training, over the years).
    assert page.locator("svg.sl-chart__svg").count() == 11
    assert page.locator("#comparison-table").count() == 1
    assert page.locator("#in-quarterly-mail").is_checked()
    findings.check(page, "the programme report with its costs and the comparison", lang)
    answer = page.goto(f"{live_server.url}/flevoland/dashboard/programme")
    assert answer.status == 200 and page.locator("#insight-card").count() == 1
    findings.check(page, "the programme dashboard with the report's headline", lang)
    answer = page.goto(f"{live_server.url}/flevoland/insight/?year=20x5")
    assert answer.status == 422
    findings.check(page, "the programme report with a refused year", lang)

    page.context.clear_cookies()
    page.goto(f"{live_server.url}/flevoland/?lang={lang}")
    log_in(page, live_server, flevoland, "mila.manager")
    answer = page.goto(f"{live_server.url}/flevoland/insight/team?year=2025")
    assert answer.status == 200
    findings.check(page, "a manager's team report", lang)

    page.context.clear_cookies()
    page.goto(f"{live_server.url}/flevoland/?lang={lang}")
    log_in(page, live_server, flevoland, World.subjects["manager"])
    from sqlalchemy import select

    from samenleren.trajectories.models import StepInstance

    with in_tenant(app, flevoland):
        intake = db.session.scalar(
            select(StepInstance.id).where(
                StepInstance.trajectory_id == world.trajectory, StepInstance.step_key == "intake"
            )
        )
    page.goto(f"{live_server.url}/flevoland/trajectories/{world.trajectory}/steps/{intake}")
    findings.check(page, "the intake with its expected results", lang)
    findings.assert_clean()
