"""Pickers of people in Chromium: a coach found and chosen with the keyboard alone through the
combobox (static/picker.js), axe-clean with its listbox open; and the same without JavaScript,
where the search button answers with the matches as radio buttons."""

from __future__ import annotations

import pytest

from tests.browser.conftest import log_in
from tests.browser.test_pages import AxeFindings, choose_language, visit
from tests.factories import World, build_world, in_tenant

pytestmark = pytest.mark.browser


def _tab_to(page, selector: str, limit: int = 40) -> None:
    """Press Tab until the element matching `selector` has the focus (keyboard only)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_a_coach_is_found_and_chosen_with_the_keyboard_alone(app, tenants, page, live_server):
    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        world = build_world(flevoland, coached=False)
    findings = AxeFindings()
    choose_language(page, live_server, "flevoland", "en")
    log_in(page, live_server, flevoland, World.subjects["admin"], name="Pim Admin")
    # From here on (the IdP's page links a style sheet from elsewhere, which is blocked): a
    # script refused by the CSP, or a failed search, shows as an error in the console.
    problems: list[str] = []
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    visit(page, f"{live_server.url}/flevoland/trajectories/{world.trajectory}/coach", 200)
    combobox = page.locator("#coach-q")
    assert combobox.get_attribute("role") == "combobox"  # the script ran (CSP: a file of its own)
    assert combobox.get_attribute("aria-expanded") == "false"
    listbox = page.locator(f"#{combobox.get_attribute('aria-controls')}")
    assert listbox.get_attribute("role") == "listbox"

    _tab_to(page, "#coach-q")
    page.keyboard.type("otto")
    listbox.locator("[role=option]").first.wait_for()
    assert combobox.get_attribute("aria-expanded") == "true"
    status = page.locator("[data-picker-status]")
    assert status.inner_text() == "1 match: use the down arrow to choose."
    assert listbox.locator("[role=option]").inner_text().startswith("Otto Coach flevoland")
    findings.check(page, "coach page, the combobox open", "en")

    page.keyboard.press("ArrowDown")
    option = listbox.locator("[role=option]").first
    assert combobox.get_attribute("aria-activedescendant") == option.get_attribute("id")
    assert option.get_attribute("aria-selected") == "true"
    page.keyboard.press("Enter")
    assert combobox.get_attribute("aria-expanded") == "false"
    assert page.locator(f"input[name=coach][value='{world.other_coach}']").is_checked()
    assert status.inner_text() == "Otto Coach flevoland is chosen."
    findings.check(page, "coach page, a coach chosen", "en")

    # Escape closes the list and, pressed again, empties the field.
    page.keyboard.press("Control+A")
    page.keyboard.type("carla")
    listbox.locator("[role=option]").first.wait_for()
    page.keyboard.press("Escape")
    assert combobox.get_attribute("aria-expanded") == "false"
    page.keyboard.press("Escape")
    assert combobox.input_value() == ""

    _tab_to(page, "main form[method=post] button.utrecht-button--primary-action")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Otto Coach flevoland is now the learning coach." in page.locator("main").inner_text()
    assert problems == []
    # The pages as a search answers them (the form without the script): matches to choose from.
    visit(page, f"{live_server.url}/flevoland/trajectories/{world.trajectory}/coach?q=coach", 200)
    findings.check(page, "coach page, a search's matches", "en")
    visit(page, f"{live_server.url}/flevoland/coaches/new?q=cor", 200)
    findings.check(page, "add a coach, a search's matches", "en")
    findings.assert_clean()


def test_the_coach_pool_and_the_coach_page_work_without_javascript(
    app, tenants, browser, live_server
):
    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        world = build_world(flevoland, coached=False)
    context = browser.new_context(
        base_url=live_server.url, locale="nl-NL", java_script_enabled=False
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        # (axe runs as a script, so it checks these pages in the test above, not here.)
        choose_language(page, live_server, "flevoland", "en")
        log_in(page, live_server, flevoland, World.subjects["admin"], name="Pim Admin")

        visit(page, f"{live_server.url}/flevoland/trajectories/{world.trajectory}/coach", 200)
        assert page.locator("#coach-q").get_attribute("role") is None  # a plain search field
        page.fill("#coach-q", "otto")
        with page.expect_navigation():
            page.click("form[role=search] button[type=submit]")
        assert "q=otto" in page.url
        page.get_by_label("Otto Coach flevoland", exact=False).check()
        with page.expect_navigation():
            page.click("main form[method=post] button.utrecht-button--primary-action")
        assert (
            "Otto Coach flevoland is now the learning coach." in page.locator("main").inner_text()
        )

        visit(page, f"{live_server.url}/flevoland/coaches/new", 200)
        page.fill("#coach-q", "cor")
        with page.expect_navigation():
            page.click("form[role=search] button[type=submit]")
        page.get_by_label("Cor Colleague flevoland", exact=False).check()
        page.fill("#in-capacity", "2")
        with page.expect_navigation():
            page.click("main form[method=post] button.utrecht-button--primary-action")
        assert (
            "Cor Colleague flevoland is now a learning coach." in page.locator("main").inner_text()
        )
    finally:
        context.close()
