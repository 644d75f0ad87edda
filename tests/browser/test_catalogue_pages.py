"""Every catalogue page in Chromium: axe-core finds no WCAG 2.1 AA violation, for the programme
admin, the trainer and employees, in Dutch and English, including a form refused with errors.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from samenleren.core.formatting import local_today
from tests.browser.conftest import log_in
from tests.browser.test_pages import AxeFindings, choose_language, visit
from tests.factories import World, build_world, get, in_tenant

pytestmark = pytest.mark.browser


def _programme(app, tenant):
    """A running edition (sessions in the past) and a coming one with every kind of participant."""
    from samenleren.catalogue.enrolment import apply_for, decline, enrol
    from samenleren.catalogue.models import Edition
    from samenleren.core.extensions import db
    from samenleren.identity.models import User

    with in_tenant(app, tenant):
        world = build_world(tenant, starts_in_days=-2)
        people = {
            name: get(User, getattr(world, name))
            for name in ("admin", "colleague", "coach", "other_coach", "manager")
        }
        coming = Edition(
            training_id=world.training,
            name="Najaar",
            starts_on=local_today() + timedelta(days=40),
            ends_on=local_today() + timedelta(days=60),
            capacity=1,
            trainer_id=world.trainer,
        )
        db.session.add(coming)
        db.session.flush()
        enrol(coming, people["manager"], people["admin"])
        enrol(coming, people["other_coach"], people["admin"])  # full: waiting list
        apply_for(coming, people["colleague"], "Ik wil beter leren adviseren.\nGraag!")
        declined = apply_for(coming, people["coach"], "")
        decline(declined, people["admin"], "Eerst de basiscursus")
        db.session.commit()
        return world, coming.id


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_catalogue_pages_have_no_accessibility_violations(app, tenants, page, live_server, lang):
    flevoland = tenants["flevoland"]
    world, coming = _programme(app, flevoland)
    base = f"{live_server.url}/flevoland"
    findings = AxeFindings()

    def as_(person: str) -> None:
        page.context.clear_cookies()
        choose_language(page, live_server, "flevoland", lang)
        log_in(page, live_server, flevoland, World.subjects[person])

    as_("admin")
    for label, path in (
        ("catalogue (admin)", "/trainings/"),
        ("training (admin)", f"/trainings/{world.training}"),
        ("new training", "/trainings/new"),
        ("edit training", f"/trainings/{world.training}/edit"),
        ("new edition", f"/trainings/{world.training}/editions/new"),
        ("edit edition", f"/editions/{coming}/edit"),
        ("edition with every participant (admin)", f"/editions/{coming}"),
        ("running edition (admin)", f"/editions/{world.edition}"),
        ("attendance (admin)", f"/editions/{world.edition}/sessions/{world.session}/attendance"),
    ):
        visit(page, base + path, 200)
        findings.check(page, label, lang)

    # Enrolling: a search for the employee (never a list of everyone), its matches to choose.
    visit(page, f"{base}/editions/{coming}?employee_q=Colleague", 200)
    assert page.locator("#enrol-employee_q").count() == 1
    findings.check(page, "edition, enrol search with matches (admin)", lang)

    # Forms refused: the messages next to their fields must be accessible too.
    visit(page, f"{base}/trainings/new", 200)
    page.click("form.sl-form button[type=submit]")
    assert page.locator("[aria-invalid=true]").count() >= 1
    findings.check(page, "new training refused", lang)
    visit(page, f"{base}/trainings/{world.training}/editions/new", 200)
    page.fill("#name", "Verkeerd om")
    page.fill("#starts_on", "2027-10-20")
    page.fill("#ends_on", "2027-10-01")
    page.click("form.sl-form button.utrecht-button--primary-action")
    assert page.locator("#ends_on[aria-invalid=true]").count() == 1
    findings.check(page, "edition dates refused", lang)
    visit(page, f"{base}/editions/{coming}", 200)
    page.locator("form[action$='/decline'] button").first.click()
    assert page.locator("[aria-invalid=true]").count() == 1
    findings.check(page, "decline without a reason refused", lang)

    as_("trainer")
    visit(page, f"{base}/editions/{world.edition}", 200)
    findings.check(page, "edition (trainer)", lang)
    visit(page, f"{base}/editions/{world.edition}/sessions/{world.session}/attendance", 200)
    findings.check(page, "attendance (trainer)", lang)

    as_("learner")
    visit(page, f"{base}/trainings/", 200)
    findings.check(page, "catalogue (learner)", lang)
    visit(page, f"{base}/editions/{world.edition}", 200)
    findings.check(page, "edition (enrolled learner)", lang)
    visit(page, f"{base}/trainings/{world.training}", 200)
    assert page.locator("form[action$='/apply'] textarea").count() == 1
    findings.check(page, "training with an apply form", lang)

    as_("colleague")
    visit(page, f"{base}/trainings/{world.training}", 200)
    findings.check(page, "training with my application", lang)
    as_("coach")
    visit(page, f"{base}/trainings/{world.training}", 200)
    findings.check(page, "training with a declined application", lang)

    findings.assert_clean()
