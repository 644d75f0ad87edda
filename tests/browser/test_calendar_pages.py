"""My calendar (the personal feed link) and the step page with an appointment, in Chromium:
axe finds nothing, in Dutch and in English."""

from __future__ import annotations

import pytest

from tests.browser.conftest import log_in
from tests.browser.test_pages import AxeFindings, choose_language, visit
from tests.factories import World, build_world, in_tenant

pytestmark = pytest.mark.browser


def _schedule_intake(app, tenant, world: World):
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import select

    from samenleren.core.extensions import db
    from samenleren.identity.models import User
    from samenleren.trajectories.models import StepInstance, Trajectory
    from samenleren.trajectories.steps import Appointment, schedule_step

    with in_tenant(app, tenant):
        trajectory = db.session.get(Trajectory, (tenant.id, world.trajectory))
        step = db.session.scalar(
            select(StepInstance).where(
                StepInstance.trajectory_id == world.trajectory, StepInstance.step_key == "intake"
            )
        )
        starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=10)
        coach = db.session.get(User, (tenant.id, world.coach))
        schedule_step(
            trajectory, step, coach, Appointment(starts, starts + timedelta(hours=1), "A")
        )
        db.session.commit()
        return step.id


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_my_calendar_has_no_accessibility_violations(app, tenants, page, live_server, lang):
    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        world = build_world(flevoland)
    intake = _schedule_intake(app, flevoland, world)
    base = f"{live_server.url}/flevoland"
    findings = AxeFindings()
    choose_language(page, live_server, "flevoland", lang)
    log_in(page, live_server, flevoland, World.subjects["coach"], name="Carla Coach")

    visit(page, f"{base}/me/calendar", 200)
    findings.check(page, "my calendar, no link", lang)
    page.click('form[action$="/me/calendar/new"] button[type=submit]')
    page.wait_for_selector("#feed-link")
    assert "/flevoland/calendar/" in page.input_value("#feed-link")
    findings.check(page, "my calendar, the new link shown once", lang)
    visit(page, f"{base}/me/calendar", 200)
    findings.check(page, "my calendar, with a link", lang)
    visit(page, f"{base}/trajectories/{world.trajectory}/steps/{intake}", 200)
    assert page.locator('a[href$=".ics"]').count() == 1
    findings.check(page, "a step with an appointment", lang)
    findings.assert_clean()
