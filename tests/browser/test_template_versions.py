"""The versions pages of process templates in Chromium: axe finds nothing (nl and en), also on a
refused upload, and moving a trajectory works with the keyboard-reachable form."""

from __future__ import annotations

import pytest

from tests.browser.conftest import log_in
from tests.browser.test_pages import AxeFindings, choose_language, visit
from tests.factories import World, build_world, in_tenant
from tests.process_templates.helpers import HOSTILE_FILES, publish_version

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_versions_pages_have_no_accessibility_violations(
    app, tenants, page, live_server, lang, tmp_path
):
    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        world = build_world(flevoland)
    template_id, version_id = publish_version(app, world)
    base = f"{live_server.url}/flevoland/templates"
    findings = AxeFindings()
    choose_language(page, live_server, "flevoland", lang)
    log_in(page, live_server, flevoland, World.subjects["admin"], name="Pim Admin")

    # The template's overview page, with the compare form and the per-version links.
    visit(page, f"{base}/{template_id}/", 200)
    page.select_option("#compare-from", "1")
    page.click("form.sl-compare-form button[type=submit]")
    page.wait_for_url("**/compare?from=1&to=2")
    assert page.locator("h1").count() == 1
    findings.check(page, "compare", lang)
    visit(page, f"{base}/{template_id}/compare?from=9", 422)
    findings.check(page, "compare, unknown version", lang)
    visit(page, f"{base}/{template_id}/versions/{version_id}/move", 200)
    page.locator("details.sl-details summary").first.click()
    findings.check(page, "move trajectories", lang)
    visit(page, f"{base}/import", 200)
    findings.check(page, "import", lang)

    # A refused upload: the message next to the field.
    hostile = tmp_path / "hostile.toml"
    hostile.write_bytes(HOSTILE_FILES["script in a label"][0]())
    page.set_input_files("#in-file", str(hostile))
    page.click("form.sl-form button[type=submit]")
    page.wait_for_selector("#err-file")
    assert page.locator("#in-file").get_attribute("aria-invalid") == "true"
    findings.check(page, "import, refused file", lang)

    # Moving: the learner's checkbox is checked by default; confirm.
    visit(page, f"{base}/{template_id}/versions/{version_id}/move", 200)
    page.click("form.sl-form button[type=submit]")
    page.wait_for_selector(".sl-flashes")
    findings.check(page, "move trajectories, done", lang)
    findings.assert_clean()
