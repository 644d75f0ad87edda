"""The model library and the terminology settings in Chromium: axe-core finds no WCAG 2.1 AA
violation, in Dutch and English, including forms refused with errors."""

from __future__ import annotations

import pytest

from tests.browser.conftest import log_in
from tests.browser.test_pages import AxeFindings, choose_language, visit
from tests.factories import World, build_world, get, in_tenant

pytestmark = pytest.mark.browser


def _shared_entry(app, tenants):
    """Gelderland shares its current version; Flevoland's world exists too."""
    from samenleren.core.extensions import db
    from samenleren.identity.models import User
    from samenleren.process_templates.library.services import publish_to_library
    from samenleren.process_templates.services import current_version

    with in_tenant(app, tenants["flevoland"]):
        build_world(tenants["flevoland"])
        version_id = current_version().id
    with in_tenant(app, tenants["gelderland"]):
        world = build_world(tenants["gelderland"])
        admin = get(User, world.admin)
        entry = publish_to_library(
            current_version(), {"nl": "Gelders model", "en": "Gelderland model"}, {}, admin
        )
        db.session.commit()
        return entry.id, version_id


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_library_and_terminology_pages_have_no_accessibility_violations(
    app, tenants, page, live_server, lang
):
    entry_id, version_id = _shared_entry(app, tenants)
    flevoland = tenants["flevoland"]
    base = f"{live_server.url}/flevoland"
    findings = AxeFindings()
    choose_language(page, live_server, "flevoland", lang)
    log_in(page, live_server, flevoland, World.subjects["admin"])
    for label, path in (
        ("library", "/library/"),
        ("library entry", f"/library/{entry_id}"),
        ("adopt", f"/library/{entry_id}/adopt"),
        ("share a version", f"/library/share/{version_id}"),
        ("terminology", "/settings/terminology"),
    ):
        visit(page, base + path, 200)
        findings.check(page, label, lang)

    # Refused forms: the messages next to their fields must be accessible too.
    visit(page, f"{base}/library/share/{version_id}", 200)
    page.fill("#in-name_nl", "<b>Model</b>")
    page.click("form.sl-form button[type=submit]")
    assert page.locator("#in-name_nl[aria-invalid=true]").count() == 1
    findings.check(page, "share refused", lang)
    visit(page, f"{base}/settings/terminology", 200)
    page.fill("#in-nl-coach-one", "<i>Maatje</i>")
    page.click("form.sl-form button[type=submit]")
    assert page.locator("#in-nl-coach-one[aria-invalid=true]").count() == 1
    findings.check(page, "terminology refused", lang)

    # Shared, then withdrawn: the pages of one's own entry.
    visit(page, f"{base}/library/share/{version_id}", 200)
    page.fill("#in-name_nl", "Flevolands model, aangepast")
    page.click("form.sl-form button[type=submit]")
    page.wait_for_load_state()
    findings.check(page, "own entry", lang)
    page.click("a[href$='/withdraw']")
    page.wait_for_load_state()
    findings.check(page, "withdraw", lang)
    findings.assert_clean()
