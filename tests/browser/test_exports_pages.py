"""Exports and the console's background jobs page in Chromium: axe finds nothing (nl, en), and the
exports page follows an export being made by itself (static/exports.js) until it can be
downloaded."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.browser.conftest import log_in
from tests.browser.test_operator_console import log_in_operator
from tests.browser.test_pages import AxeFindings, choose_language, visit
from tests.factories import World, build_world, in_tenant
from tests.operator.test_jobs_page import fail_a_job, make_outbox

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_export_pages_have_no_accessibility_violations(app, tenants, page, live_server, lang):
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
    log_in(page, live_server, flevoland, World.subjects["admin"], name="Pim Admin")

    visit(page, f"{base}/exports/", 200)
    assert page.locator("h1").count() == 1
    findings.check(page, "exports, none yet", lang)

    # Refused: no data chosen; the message next to the choices.
    for box in page.locator('input[name="datasets"]').all():
        box.uncheck()
    with page.expect_navigation() as navigation:
        page.click('form[action="/flevoland/exports/"] button[type="submit"]')
    assert navigation.value.status == 422
    assert page.locator("#err-datasets").count() == 1
    findings.check(page, "exports, refused request", lang)

    # Asked for: the list shows it waiting, with its progress.
    page.check('input[value="trajectories"]')
    page.check('input[value="csv"]')
    with page.expect_navigation():
        page.click('form[action="/flevoland/exports/"] button[type="submit"]')
    row = page.locator("tr[data-export]")
    assert row.count() == 1
    assert row.locator("progress").count() == 1
    findings.check(page, "exports, one being made", lang)

    # A worker makes it; the page sees it by itself and offers the download.
    assert run_pending_jobs(app, ["reports"]) == 1
    page.wait_for_selector('tr[data-export] [data-role="file"] a', timeout=15_000)
    assert row.locator("progress").count() == 0
    findings.check(page, "exports, ready (updated by the page)", lang)
    visit(page, f"{base}/exports/", 200)
    findings.check(page, "exports, ready", lang)

    with in_tenant(app, flevoland):
        export = db.session.scalars(db.select(Export)).one()
        export.expires_at = utcnow() - timedelta(minutes=1)
        export_id = export.id
        db.session.commit()
    visit(page, f"{base}/exports/{export_id}/download", 410)
    findings.check(page, "export expired", lang)
    findings.assert_clean()


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_jobs_page_has_no_accessibility_violations(
    app, tenants, operator_idp, page, live_server, lang
):
    job_id = fail_a_job(app, tenants["flevoland"], f"browser-{lang}")
    make_outbox(app, tenants["gelderland"])
    base = live_server.url
    findings = AxeFindings()
    visit(page, f"{base}/operator/logged-out?lang={lang}", 200)
    log_in_operator(page, live_server, operator_idp)

    visit(page, f"{base}/operator/jobs", 200)
    assert page.locator(f"#job-{job_id}").count() == 1
    findings.check(page, "background jobs", lang)
    visit(page, f"{base}/operator/jobs/default/{job_id}/retry", 200)
    findings.check(page, "retry a job", lang)
    visit(page, f"{base}/operator/jobs/default/{job_id}/delete", 200)
    findings.check(page, "delete a job", lang)
    visit(page, f"{base}/operator/outbox/gelderland/retry", 200)
    findings.check(page, "retry failed notifications", lang)
    with page.expect_navigation():
        page.click('form[action="/operator/outbox/gelderland/retry"] button[type="submit"]')
    findings.check(page, "background jobs, after the retry", lang)
    findings.assert_clean()
