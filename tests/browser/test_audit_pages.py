"""The audit log in Chromium: axe finds nothing, also on a refused filter and the 429 page."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.audit.test_pages import add_events
from tests.browser.conftest import log_in
from tests.browser.test_pages import AxeFindings, choose_language, visit
from tests.factories import World, build_world, in_tenant

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_audit_pages_have_no_accessibility_violations(
    app, tenants, page, live_server, lang, monkeypatch
):
    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        world = build_world(flevoland)
    start = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    add_events(app, flevoland, 60, start=start, action="logout")
    add_events(
        app,
        flevoland,
        2,
        start=start,
        action="login.refused",
        details={"reason": "state", "subject": "onbekend"},
    )
    add_events(
        app,
        flevoland,
        1,
        start=start,
        action="role.added",
        subject_type="user",
        subject_id=str(world.coach),
        details={"role": "coach", "source": "app"},
    )
    base = f"{live_server.url}/flevoland"
    findings = AxeFindings()
    choose_language(page, live_server, "flevoland", lang)
    log_in(page, live_server, flevoland, World.subjects["admin"], name="Pim Admin")

    for label, path in [
        ("audit log", "/audit/"),
        ("audit log, page 2", "/audit/?page=2"),
        ("audit log, refused logins", "/audit/?action=login.refused&from=2026-03-01"),
        ("audit log, nothing found", "/audit/?from=2020-01-01&to=2020-01-02"),
    ]:
        visit(page, f"{base}{path}", 200)
        assert page.locator("h1").count() == 1, label
        findings.check(page, label, lang)

    # A refused filter, submitted through the form: the message next to the field.
    visit(page, f"{base}/audit/", 200)
    page.fill("#in-from", "2026-03-10")
    page.fill("#in-to", "2026-03-01")
    page.click("form.sl-audit-filter button[type=submit]")
    page.wait_for_selector("#err-to")
    assert page.locator("#in-to").get_attribute("aria-invalid") == "true"
    findings.check(page, "audit log, refused filter", lang)

    # Too many login attempts: the error page.
    monkeypatch.setitem(app.config, "SAMENLEREN_RATELIMIT_LOGIN", "1 per minute")
    context = page.context.browser.new_context(base_url=live_server.url, locale="nl-NL")
    try:
        other = context.new_page()
        visit(other, f"{base}/?lang={lang}", 200)
        # The admin's login above already counts for this address: at most one more passes.
        other.request.get(f"{base}/auth/login", max_redirects=0)
        response = visit(other, f"{base}/auth/login", 429)
        assert response.headers.get("retry-after")
        findings.check(other, "too many requests", lang)
    finally:
        context.close()
    findings.assert_clean()
