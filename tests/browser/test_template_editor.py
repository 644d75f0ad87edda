"""Issue 5 in Chromium: a programme admin builds a variant of the Flevoland model and publishes it.

The admin (mostly with the keyboard) starts a draft, allows one more progress conversation,
moves the return day to six months after the edition, adds a rating field to the evaluation,
previews the timeline, publishes, and enrols a learner through the edition page. The new
learner's trajectory follows the new version (return day six months after the edition, the new
field on the evaluation) while the trajectory started before publishing keeps the old version.
Every editor page is checked with axe-core, in Dutch and in English, including a refused form.
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from dateutil.relativedelta import relativedelta

from tests.browser.test_pages import visit
from tests.browser.test_trajectory_walk import LEARNER, LEARNER_NAME, Walk
from tests.factories import add_user, build_world, get, in_tenant

pytestmark = pytest.mark.browser

FIELD_NL = "Cijfer voor de leercoach (1–5)"
FIELD_EN = "Rating for the learning coach (1–5)"


def _setting(app, tenant):
    """A running trajectory (on version 1) and a colleague not enrolled yet."""
    from samenleren.catalogue.models import Edition
    from samenleren.core.extensions import db
    from samenleren.identity.models import User

    with in_tenant(app, tenant):
        world = build_world(tenant)
        learner = add_user(
            LEARNER,
            "learner",
            name=LEARNER_NAME,
            manager_id=world.manager,
            department_id=world.department,
        )
        db.session.commit()
        admin = get(User, world.admin)
        edition = get(Edition, world.edition)
        assert learner.id
        return world, (admin.subject, admin.name, admin.email), edition.ends_on


def _flevoland():
    from samenleren.process_templates.definition import TemplateDefinition
    from samenleren.process_templates.services import builtin_definition

    return TemplateDefinition.model_validate(builtin_definition("flevoland"))


def _show_date(app, lang: str, day: date) -> str:
    from flask_babel import force_locale

    from samenleren.core.formatting import show_date

    with app.test_request_context("/"), force_locale(lang):
        return show_date(day)


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_an_admin_builds_publishes_and_uses_a_variant_of_the_flevoland_model(
    app, browser, live_server, tenants, lang
):
    tenant = tenants["flevoland"]
    flevoland = _flevoland()
    walk = Walk(app, browser, live_server, tenant, lang)
    t = walk.t
    world, admin_person, edition_end = _setting(app, tenant)
    base = walk.base
    names = {
        key: flevoland.step(key).name_in(lang, "nl")
        for key in ("progress", "return_day", "evaluation")
    }
    try:
        admin = walk.person(*admin_person)

        def press(locator, status: int = 200) -> None:
            """Activate a button or link with the keyboard (Enter), wait for the next page."""
            locator.focus()
            with admin.expect_navigation() as navigation:
                admin.keyboard.press("Enter")
            assert navigation.value.status == status, (admin.url, navigation.value.status)

        def type_into(label: str, text: str) -> None:
            # Optional fields say so after their label ("... (optional)").
            field = admin.get_by_label(label)
            field.focus()
            admin.keyboard.press("Control+A")
            admin.keyboard.type(text)

        # --- the template list, the overview, a new draft ----------------------------------
        press(
            admin.get_by_role("navigation", name=t("Main")).get_by_role(
                "link", name=t("Process templates"), exact=True
            )
        )
        assert admin.locator("h1").inner_text() == t("Process templates")
        walk.check(admin, "template list")
        name = {"nl": "Flevolands model", "en": "Flevoland model"}[lang]
        press(admin.get_by_role("link", name=name, exact=True))
        walk.check(admin, "template overview")
        press(walk.button(admin, "Start editing"))
        assert re.search(r"/templates/drafts/[0-9a-f-]{36}/$", admin.url)
        draft_url = admin.url
        assert t("No problems found: this draft can be published.") in admin.inner_text("main")
        walk.check(admin, "draft")

        # --- one more progress conversation (refused input first) -------------------------
        progress = names["progress"]
        steps = admin.locator("ol.sl-editor-steps")
        press(steps.get_by_role("link", name=progress, exact=True))
        walk.check(admin, "step form")
        type_into(t("At most (times)"), "many")
        press(walk.button(admin, "Save the step"), 422)
        at_most = admin.get_by_label(t("At most (times)"))
        assert at_most.get_attribute("aria-invalid") == "true"
        assert admin.locator("#repeat_max-error").inner_text() == t(
            "Enter a whole number, such as 14 or -7."
        )
        walk.check(admin, "step form refused")
        type_into(t("At most (times)"), "5")
        press(walk.button(admin, "Save the step"))
        assert admin.url.startswith(draft_url)
        assert t("The step is saved.") in walk.flash(admin)

        # --- the return day six months after the edition -----------------------------------
        press(steps.get_by_role("link", name=names["return_day"], exact=True))
        type_into(t("Months after it"), "6")
        press(walk.button(admin, "Save the step"))

        # --- a new rating field on the evaluation ------------------------------------------
        press(steps.get_by_role("link", name=names["evaluation"], exact=True))
        press(walk.link(admin, "Add a field to this step"))
        walk.check(admin, "field form")
        labels = admin.get_by_label(t("Label"))
        labels.nth(0).fill(FIELD_NL)
        labels.nth(1).fill(FIELD_EN)
        admin.get_by_label(t("Kind of answer"), exact=True).select_option("rating")
        editors = admin.get_by_role("group", name=t("Filled in by"), exact=True)
        editors.get_by_label(t("Learner"), exact=True).check()
        editors.get_by_label(t("Manager"), exact=True).uncheck()
        readers = admin.get_by_role("group", name=t("Read by"), exact=True)
        for role in ("Learner", "Learning coach"):
            readers.get_by_label(t(role), exact=True).check()
        readers.get_by_label(re.compile("^" + re.escape(t("Programme administrator")))).check()
        press(walk.button(admin, "Add the field"))
        assert t("The field is added.") in walk.flash(admin)
        field_label = FIELD_NL if lang == "nl" else FIELD_EN
        assert field_label in admin.locator("table").inner_text()
        walk.check(admin, "step with its fields")

        # --- preview, then publish -----------------------------------------------------------
        visit(admin, draft_url, 200)
        assert t("No problems found: this draft can be published.") in admin.inner_text("main")
        press(walk.link(admin, "Preview the timeline"))
        admin.get_by_label(t("First day of the edition"), exact=True).fill("2027-03-01")
        admin.get_by_label(t("Last day of the edition"), exact=True).fill("2027-03-31")
        press(walk.button(admin, "Show the timeline"))
        timeline = admin.locator("#preview-timeline")
        assert timeline.locator('[data-step="progress"]').count() == 5
        return_day = timeline.locator('[data-step="return_day"]').inner_text()
        assert _show_date(app, lang, date(2027, 9, 30)) in return_day
        walk.check(admin, "preview")

        visit(admin, draft_url, 200)
        press(walk.button(admin, "Publish version %(number)s", number=2))
        assert "/confirm-publish" in admin.url
        walk.check(admin, "confirm publishing")
        press(walk.button(admin, "Yes, publish version %(number)s", number=2))
        published = t(
            "Version %(number)s is published. Trajectories that start from now on follow it; "
            "running trajectories keep their version.",
            number=2,
        )
        assert published in walk.flash(admin)
        assert "/templates/" in admin.url and "drafts" not in admin.url
        row = admin.locator("#version-2").inner_text()
        assert t("Published") in row and admin_person[1] in row
        walk.check(admin, "template overview after publishing")

        # --- a learner enrolled now gets version 2 -------------------------------------------
        visit(admin, f"{base}/editions/{world.edition}", 200)
        admin.fill("#enrol-employee_q", LEARNER_NAME)
        with admin.expect_navigation():
            admin.press("#enrol-employee_q", "Enter")  # the search: matches to choose from
        admin.get_by_label(LEARNER_NAME, exact=True).check()
        press(walk.button(admin, "Enrol"))
        press(walk.link(admin, "Trajectory of %(name)s", name=LEARNER_NAME))
        facts = admin.locator("dl.sl-facts").inner_text()
        assert t("Version %(number)s", number=2) in facts
        timeline = admin.locator("ol.sl-timeline")
        six_months = _show_date(app, lang, edition_end + relativedelta(months=6))
        return_name = names["return_day"]
        new_return = timeline.locator("li", has_text=return_name).inner_text()
        assert six_months in new_return, new_return
        press(timeline.get_by_role("link", name=names["evaluation"], exact=True))
        assert field_label in admin.inner_text("main")

        # --- the trajectory started before publishing keeps version 1 ----------------------
        visit(admin, f"{base}/trajectories/{world.trajectory}", 200)
        assert t("Version %(number)s", number=1) in admin.locator("dl.sl-facts").inner_text()
        three_months = _show_date(app, lang, edition_end + relativedelta(months=3))
        old_return = admin.locator("ol.sl-timeline li", has_text=return_name).inner_text()
        assert three_months in old_return, old_return
        press(
            admin.locator("ol.sl-timeline").get_by_role(
                "link", name=names["evaluation"], exact=True
            )
        )
        assert field_label not in admin.inner_text("main")
    finally:
        walk.contexts.close()
    walk.findings.assert_clean()


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_refusals_and_confirmations_of_the_editor_are_accessible(
    app, browser, live_server, tenants, lang
):
    """The pages the walk above does not reach: problems, refused publishing, refused field,
    the confirmations of removing and discarding."""
    tenant = tenants["flevoland"]
    flevoland = _flevoland()
    walk = Walk(app, browser, live_server, tenant, lang)
    t = walk.t
    world, admin_person, _ = _setting(app, tenant)
    try:
        admin = walk.person(*admin_person)
        visit(admin, f"{walk.base}/templates/", 200)
        name = {"nl": "Flevolands model", "en": "Flevoland model"}[lang]
        walk.follow(admin, admin.get_by_role("link", name=name, exact=True), "**/templates/*/")
        walk.submit(admin, walk.button(admin, "Start editing"))
        draft_url = admin.url
        steps = admin.locator("ol.sl-editor-steps")

        # Nobody responsible for the training: saved, listed as a problem, publishing refused.
        walk.follow(
            admin,
            steps.get_by_role("link", name=flevoland.step("training").name_in(lang), exact=True),
            "**/steps/training/",
        )
        responsible = admin.get_by_role("group", name=t("Who is responsible"), exact=True)
        for box in responsible.get_by_role("checkbox").all():
            box.uncheck()
        walk.submit(admin, walk.button(admin, "Save the step"))
        problems = admin.locator("#problems").inner_text()
        assert t("nobody is responsible for this step.") in problems
        walk.check(admin, "draft with a problem")
        walk.submit(admin, walk.button(admin, "Publish version %(number)s", number=2), 422)
        assert admin.locator('[role="alert"]').count() == 1
        walk.check(admin, "publishing refused")

        # A choice field without choices is refused at the field.
        evaluation = flevoland.step("evaluation")
        visit(admin, f"{draft_url}steps/evaluation/fields/expectations_met/", 200)
        admin.get_by_label(t("Kind of answer"), exact=True).select_option("choice")
        walk.submit(admin, walk.button(admin, "Save the field"), 422)
        assert admin.locator("#choices-error").inner_text() == t("Give at least one choice.")
        walk.check(admin, "field form refused")

        # Removing a field and a step, and discarding the draft, ask first.
        visit(admin, f"{draft_url}steps/evaluation/", 200)
        label = evaluation.field("evaluation_notes").label_in(lang)
        remove = admin.locator('a[href$="/fields/evaluation_notes/remove"]')
        assert label in remove.inner_text() and t("Remove") in remove.inner_text()
        walk.follow(admin, remove, "**/remove")
        walk.check(admin, "remove a field?")
        walk.submit(admin, walk.button(admin, "Yes, remove it"))
        assert t("The field is removed from the step.") in walk.flash(admin)
        visit(admin, f"{draft_url}steps/learning_goals/remove", 200)
        goals_name = flevoland.step("learning_goals").name_in(lang)
        assert admin.locator("h1").inner_text() == t("Remove the step “%(step)s”?", step=goals_name)
        walk.check(admin, "remove a step?")
        visit(admin, draft_url, 200)
        walk.follow(admin, walk.link(admin, "Discard the draft"), "**/discard")
        walk.check(admin, "discard the draft?")
        walk.submit(admin, walk.button(admin, "Yes, discard the draft"))
        assert t("The draft is discarded.") in walk.flash(admin)
        assert world.edition
    finally:
        walk.contexts.close()
    walk.findings.assert_clean()
