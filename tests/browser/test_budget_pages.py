"""The budget pages in Chromium: axe finds nothing, also on refused forms and a refused import."""

from __future__ import annotations

from datetime import date

import pytest

from tests.browser.conftest import log_in
from tests.browser.test_pages import AxeFindings, choose_language, visit
from tests.factories import World, build_world, in_tenant

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("lang", ["nl", "en", "fy"])
def test_budget_pages_have_no_accessibility_violations(
    app, tenants, page, live_server, lang, tmp_path
):
    from samenleren.core.extensions import db
    from tests.budget.helpers import book, edition_year, set_costs

    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        world = build_world(flevoland)
        set_costs(world, 400000, 2500)
        year = edition_year(world)
        actual = book(world, 12550, on=date(year, 2, 1), category="venues", edition=world.edition)
        actual_id = actual.id
        db.session.commit()
    base = f"{live_server.url}/flevoland"
    findings = AxeFindings()
    choose_language(page, live_server, "flevoland", lang)
    log_in(page, live_server, flevoland, World.subjects["admin"], name="Pim Admin")

    for label, path in [
        ("budget", f"/budget/?year={year}"),
        ("empty year", f"/budget/?year={year + 3}"),
        ("add an expense", "/budget/actuals/new"),
        ("change an expense", f"/budget/actuals/{actual_id}/edit"),
        ("import", "/budget/import"),
        ("the year's budget", f"/budget/plan?year={year}"),
        ("categories", "/budget/categories"),
    ]:
        visit(page, f"{base}{path}", 200)
        assert page.locator("h1").count() == 1, label
        findings.check(page, label, lang)

    visit(page, f"{base}/budget/actuals/new", 200)
    page.fill("#in-amount", "12,345")
    page.click("form.sl-form button[type=submit]")
    page.wait_for_selector("#err-amount")
    findings.check(page, "add an expense, refused", lang)

    bad = tmp_path / "kosten.csv"
    bad.write_text("date;amount;category\n2027-13-01;x;reizen\n", encoding="utf-8")
    visit(page, f"{base}/budget/import", 200)
    page.set_input_files("#in-file", str(bad))
    page.click("form.sl-form button[type=submit]")
    page.wait_for_selector("#problems")
    findings.check(page, "import, refused", lang)

    findings.assert_clean()
