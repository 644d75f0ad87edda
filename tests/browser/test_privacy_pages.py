"""The employee's rights in Chromium: "My data" (asked for, being made, ready, expired), the
programme admin's privacy requests (find, the person's page, a refused form, a restricted
trajectory); axe finds nothing (nl, en)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.browser.conftest import log_in
from tests.browser.test_pages import AxeFindings, choose_language, visit
from tests.factories import World, build_world, in_tenant

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_my_data_has_no_accessibility_violations(app, tenants, page, live_server, lang):
    from samenleren.core.db import utcnow
    from samenleren.core.extensions import db
    from samenleren.core.jobs.runtime import run_pending_jobs
    from samenleren.exports.models import Export

    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        build_world(flevoland)
    base = f"{live_server.url}/flevoland"
    findings = AxeFindings()
    choose_language(page, live_server, "flevoland", lang)
    log_in(page, live_server, flevoland, World.subjects["learner"], name="Anna Learner")

    visit(page, f"{base}/my-data/", 200)
    assert page.locator("h1").count() == 1
    findings.check(page, "my data, nothing asked yet", lang)
    with page.expect_navigation():
        page.click('form[action="/flevoland/my-data/"] button[type="submit"]')
    assert page.locator("#packages progress").count() == 1
    findings.check(page, "my data, being made", lang)
    assert run_pending_jobs(app, ["reports"]) == 1
    visit(page, f"{base}/my-data/", 200)
    assert page.locator("#packages a[download]").count() == 1
    findings.check(page, "my data, ready", lang)

    with in_tenant(app, flevoland):
        export = db.session.scalars(db.select(Export)).one()
        export.expires_at = utcnow() - timedelta(minutes=1)
        export_id = export.id
        db.session.commit()
    visit(page, f"{base}/my-data/{export_id}/download", 410)
    findings.check(page, "my data, expired", lang)
    findings.assert_clean()


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_privacy_requests_have_no_accessibility_violations(app, tenants, page, live_server, lang):
    from samenleren.core.jobs.runtime import run_pending_jobs

    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        world = build_world(flevoland)
    base = f"{live_server.url}/flevoland"
    findings = AxeFindings()
    choose_language(page, live_server, "flevoland", lang)
    log_in(page, live_server, flevoland, World.subjects["admin"], name="Pim Admin")

    visit(page, f"{base}/privacy/?q=Anna", 200)
    assert page.locator(f'a[href="/flevoland/privacy/people/{world.learner}"]').count() == 1
    findings.check(page, "privacy requests, found", lang)

    person = f"{base}/privacy/people/{world.learner}"
    visit(page, person, 200)
    findings.check(page, "a person's data and rights", lang)

    # Refused: no reason; the message next to the field, the form again (422).
    with page.expect_navigation() as navigation:
        page.click(f'form[action="/flevoland/privacy/people/{world.learner}/packages"] button')
    assert navigation.value.status == 422
    assert page.locator("#package-reason-error").count() == 1
    findings.check(page, "a person, refused package", lang)

    page.fill("#package-reason", "Verzoek per e-mail")
    with page.expect_navigation():
        page.click(f'form[action="/flevoland/privacy/people/{world.learner}/packages"] button')
    findings.check(page, "a person, package being made", lang)
    run_pending_jobs(app, ["reports"])

    restrict = f"/flevoland/privacy/trajectories/{world.trajectory}/restrict"
    page.fill(f"#restrict-{world.trajectory}-reason", "Bezwaar van de medewerker")
    with page.expect_navigation():
        page.click(f'form[action="{restrict}"] button')
    assert page.locator(".sl-badge--overdue").count() >= 1
    findings.check(page, "a person, restricted trajectory, package ready", lang)

    visit(page, f"{base}/trajectories/{world.trajectory}", 200)
    assert page.locator(".sl-restricted").count() == 1
    findings.check(page, "a restricted trajectory", lang)
    findings.assert_clean()
