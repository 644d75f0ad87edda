"""A programme year for a new province in Chromium, from the console to the return day.

The operator onboards Zeeland in the console (its own identity provider; the client secret
entered on the set-up page, the first programme administrator named by e-mail before she ever
logged in) and its SSO test passes. She logs in, finds the first-steps checklist, enters an
organisation goal, adopts the short-course model Flevoland shares in the library, adds a coach
to the pool and a training that follows the short course, with an edition and a session. An
employee applies; the adviser accepts from her worklist and assigns the coach found by a search.
Learner and coach walk the short course's steps to the return day. Each moment's mail arrives
at the SMTP sink, in the walk's language; every page type is axe-checked once, in nl and en.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
import tomli_w
from oidc_provider_mock import run_server_in_thread

from samenleren.core.formatting import local_today
from samenleren.core.jobs.runtime import run_pending_jobs
from tests.browser.test_operator_console import log_in_operator
from tests.browser.test_pages import visit
from tests.browser.test_trajectory_walk import Walk
from tests.conftest import IdP, TenantRef
from tests.factories import add_user, in_tenant
from tests.mail import parts

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SLUG = "zeeland"
ADMIN = ("femke.zeeland", "Femke Adviseur", "femke@zeeland.example.nl")
COACH = ("cas.zeeland", "Cas Coach", "cas@zeeland.example.nl")
LEARNER = ("lotte.zeeland", "Lotte Learner", "lotte@zeeland.example.nl")
SHORT_COURSE = {"nl": "Korte cursus", "en": "Short course"}
SHORT_STEPS = ["learning_goals", "training", "return_day"]
GOAL = {"nl": "Een wendbare organisatie", "en": "An agile organisation"}
TRAINING = "Helder adviseren"
INTRODUCTION = "Twintig jaar beleidsadviseur; bel me gerust."


@pytest.fixture
def zeeland_idp() -> Iterator[IdP]:
    """The new province's own identity provider (a server no other tenant uses)."""
    with run_server_in_thread(port=0) as server:
        yield IdP(f"http://localhost:{server.server_port}")


def _share_short_course(app, tenants) -> uuid.UUID:
    """Flevoland's adviser has published a short course and shared it in the library."""
    from samenleren.core.extensions import db
    from samenleren.process_templates.library.services import publish_to_library
    from samenleren.process_templates.services import builtin_definition
    from samenleren.process_templates.versions.files import import_template_file

    steps = {step["key"]: step for step in builtin_definition("flevoland")["steps"]}
    document = {
        "schema_version": 1,
        "template": {"key": "korte_cursus", "name": SHORT_COURSE},
        "steps": [steps[key] for key in SHORT_STEPS],
    }
    with in_tenant(app, tenants["flevoland"]):
        admin = add_user("flevo.adviser", "programme_admin", name="Flevo Adviser")
        version = import_template_file(
            tomli_w.dumps(document).encode(), admin, default_language="nl", publish=True
        )
        entry = publish_to_library(version, SHORT_COURSE, {}, admin)
        db.session.commit()
        return entry.id


def _mails(app, sink, count: int) -> list:
    """Deliver the outbox (its jobs, as the worker would) and wait for `count` new messages."""
    run_pending_jobs(app)
    messages = sink.wait_for(count)
    sink.clear()
    return messages


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_a_programme_year_for_a_new_province(
    app, tenants, browser, live_server, operator_idp, zeeland_idp, smtp_sink, lang
):
    entry = _share_short_course(app, tenants)
    zeeland = TenantRef(uuid.uuid4(), SLUG, zeeland_idp)  # its id is known once onboarded
    walk = Walk(app, browser, live_server, zeeland, lang)
    t, check = walk.t, walk.check
    try:
        _walk(app, walk, t, check, live_server, operator_idp, zeeland_idp, smtp_sink, entry)
    finally:
        walk.contexts.close()


def _walk(app, walk, t, check, live_server, operator_idp, zeeland_idp, sink, entry) -> None:
    lang = walk.lang
    base = walk.base

    # --- the operator onboards Zeeland and finishes its login set-up in the console ---------
    context = browser_context(walk)
    console = context.new_page()
    visit(console, f"{live_server.url}/operator/logged-out?lang={lang}", 200)
    log_in_operator(console, live_server, operator_idp)
    visit(console, f"{live_server.url}/operator/tenants/new", 200)
    console.fill("#in-slug", SLUG)
    console.fill("#in-name", "Provincie Zeeland")
    console.fill("#in-issuer", zeeland_idp.issuer)
    console.fill("#in-client_id", "samenleren-zeeland")
    console.fill("#in-group_roles", "ZL-Leercoaches = coach")
    console.fill("#in-first_admins", ADMIN[2])
    walk.submit(console, console.locator("form[action='/operator/tenants/new'] button"))
    assert "/zeeland/" in walk.flash(console)

    # Without its client secret the SSO test fails and says what is missing.
    test_sso = console.locator(f"form[action='/operator/tenants/{SLUG}/test-sso'] button")
    with console.expect_navigation():
        test_sso.click()
    assert console.locator(".utrecht-alert--error").count() == 1
    check(console, "SSO test failed: no client secret (operator)")

    visit(console, f"{live_server.url}/operator/tenants/{SLUG}/setup", 200)
    assert ADMIN[2] in console.locator("#in-first_admins").input_value()
    console.fill("#in-client_secret", "zeeland-geheim-" + uuid.uuid4().hex)
    walk.submit(
        console, console.locator(f"form[action='/operator/tenants/{SLUG}/setup/secret'] button")
    )
    check(console, "login set-up, secret stored (operator)")
    visit(console, f"{live_server.url}/operator/", 200)
    with console.expect_navigation():
        test_sso.click()
    assert console.locator(".utrecht-alert--ok").count() == 1
    check(console, "SSO test passed (operator)")

    walk.tenant = _onboarded(app, zeeland_idp)

    # --- the first programme administrator logs in: the first steps -------------------------
    admin = walk.person(*ADMIN)
    visit(admin, f"{base}/dashboard/programme", 200)
    steps = admin.locator("#first-steps ~ ol.sl-checklist")
    assert steps.locator("li").count() == 5
    assert admin.locator(".sl-checklist .sl-done").count() == 1  # groups -> roles, in the form
    check(admin, "programme dashboard with the first steps (admin)")

    visit(admin, f"{base}/organisation-goals/new", 200)
    check(admin, "new organisation goal (admin)")
    admin.fill("#in-code", "ZD1")
    admin.fill("#in-title_nl", GOAL["nl"])
    admin.fill("#in-title_en", GOAL["en"])
    walk.submit(admin, admin.locator("main form.sl-form button[type=submit]").first)
    assert t("The organisation goal is added.") in walk.flash(admin)

    # The short course, adopted from the library and published.
    visit(admin, f"{base}/library/{entry}", 200)
    check(admin, "library entry: the short course (admin)")
    visit(admin, f"{base}/library/{entry}/adopt", 200)
    walk.submit(admin, admin.locator("main form[method=post] button[type=submit]"))
    assert "/drafts/" in admin.url
    check(admin, "the adopted draft (admin)")
    publish = t("Publish version %(number)s", number=1)
    with admin.expect_navigation():
        admin.get_by_role("button", name=publish, exact=True).click()
    check(admin, "publish version 1? (admin)")
    walk.submit(admin, walk.button(admin, "Yes, publish version %(number)s", number=1))

    # A colleague who logged in once joins the coach pool, found by a search.
    coach = walk.person(*COACH)
    visit(admin, f"{base}/coaches/new", 200)
    _choose(admin, "#coach-q", COACH[1])
    admin.fill("#in-capacity", "3")
    admin.fill("#in-introduction", INTRODUCTION)
    check(admin, "add a coach to the pool (admin)")
    walk.submit(admin, walk.button(admin, "Add to the pool"))

    # The training follows the short course; an edition with its session.
    visit(admin, f"{base}/trainings/new", 200)
    admin.fill("#title", TRAINING)
    admin.fill("#description", "Adviezen die het bestuur leest en gebruikt.")
    template = admin.locator("#process_template_id")
    short = template.locator("option", has_text=SHORT_COURSE[lang])
    template.select_option(value=short.get_attribute("value"))
    walk.submit(admin, walk.button(admin, "Add the training"))
    training_url = admin.url
    assert re.search(r"/trainings/[0-9a-f-]{36}$", training_url), training_url
    starts = local_today() + timedelta(days=30)
    visit(admin, f"{training_url}/editions/new", 200)
    admin.fill("#name", "Voorjaar")
    admin.fill("#starts_on", starts.isoformat())
    admin.fill("#ends_on", (starts + timedelta(days=1)).isoformat())
    admin.fill("#capacity", "12")
    walk.submit(admin, walk.button(admin, "Add the edition"))
    admin.fill("#session-starts_at", f"{starts.isoformat()}T09:30")
    admin.fill("#session-ends_at", f"{starts.isoformat()}T16:30")
    admin.fill("#session-location", "Abdij, Middelburg")
    walk.submit(admin, walk.button(admin, "Add the session"))
    check(admin, "edition with its session (admin)")

    visit(admin, f"{base}/dashboard/programme", 200)
    assert admin.locator(".sl-checklist .sl-done").count() == 4  # goals, coaches, training

    # --- an employee applies ------------------------------------------------------------------
    learner = walk.person(*LEARNER)
    visit(learner, training_url, 200)
    check(learner, "training with its edition to apply for (learner)")
    learner.fill("textarea[name=motivation]", "Mijn adviezen moeten korter.")
    walk.submit(learner, walk.button(learner, "Apply for %(name)s", name="Voorjaar"))
    (received,) = _mails(app, sink, 1)
    assert received["To"].addresses[0].addr_spec == LEARNER[2]
    assert received["Subject"].startswith(
        t("Application received: %(training)s", training=TRAINING)
    )

    # --- the adviser accepts from the worklist and assigns the coach found by a search -------
    visit(admin, f"{base}/dashboard/programme", 200)
    waiting = admin.locator("#worklist-applications + ul > li").filter(has_text=LEARNER[1])
    assert waiting.count() == 1
    check(admin, "worklist with an application (admin)")
    walk.submit(admin, waiting.get_by_role("button"))
    (placed,) = _mails(app, sink, 1)
    assert placed["To"].addresses[0].addr_spec == LEARNER[2]
    assert placed["Subject"].startswith(t("You have a place: %(training)s", training=TRAINING))

    visit(admin, f"{base}/dashboard/programme", 200)
    walk.follow(
        admin,
        walk.link(admin, "Choose a coach for %(name)s", name=LEARNER[1]),
        "**/trajectories/*/coach",
    )
    trajectory = re.search(r"/trajectories/([0-9a-f-]{36})/coach$", admin.url).group(1)
    trajectory_url = f"{base}/trajectories/{trajectory}"
    _choose(admin, "#coach-q", COACH[1])
    check(admin, "choose a coach, one found by a search (admin)")
    walk.submit(admin, walk.button(admin, "Assign this coach"))
    assert t("%(name)s is now the learning coach.", name=COACH[1]) in walk.flash(admin)
    (assigned,) = _mails(app, sink, 1)
    assert assigned["To"].addresses[0].addr_spec == LEARNER[2]
    assert assigned["Subject"].startswith(t("Your learning coach: %(coach)s", coach=COACH[1]))
    text = parts(assigned)["text/plain"]
    assert INTRODUCTION in text and COACH[2] in text

    # --- a week on, the hourly sweep reminds learner and coach of the learning goals -------
    names, due_on = _steps_of(app, walk.tenant, trajectory, lang)
    _remind(app, walk.tenant, due_on - timedelta(days=7))
    reminded = sink.wait_for(2)
    sink.clear()
    assert {message["To"].addresses[0].addr_spec for message in reminded} == {LEARNER[2], COACH[2]}
    reminder = t("Reminder: %(step)s on %(due)s", step=names["learning_goals"], due="|")
    assert all(m["Subject"].startswith(reminder.split("|")[0]) for m in reminded), reminder

    # --- the learner sets a learning goal, linked to the province's organisation goal -------
    visit(learner, trajectory_url, 200)
    assert COACH[1] in learner.locator("dl.sl-facts").inner_text()
    check(learner, "trajectory of the short course (learner)")
    visit(learner, f"{trajectory_url}/goals", 200)
    row = learner.get_by_role("group", name=t("Learning goal %(number)s", number=1), exact=True)
    row.get_by_label(t("Goal"), exact=True).fill("Adviezen op één A4")
    row.get_by_label(GOAL[lang], exact=True).check()
    walk.submit(learner, walk.button(learner, "Save the learning goals"))
    assert t("The learning goals were saved.") in walk.flash(learner)

    # --- the coach plans the conversation (invitations with a calendar file), closes it -----
    visit(coach, trajectory_url, 200)
    walk.open_step(coach, names["learning_goals"])
    check(coach, "learning goals step (coach)")
    day = (local_today() + timedelta(days=10)).isoformat()
    walk.schedule(coach, f"{day}T10:00", f"{day}T11:00", "Kamer 2.04")
    assert walk.state_of(coach) == t("Scheduled")
    invitations = _mails(app, sink, 2)
    assert {m["To"].addresses[0].addr_spec for m in invitations} == {LEARNER[2], COACH[2]}
    for invitation in invitations:
        subject = t("Invitation: %(step)s", step=names["learning_goals"])
        assert invitation["Subject"].startswith(subject), invitation["Subject"]
        assert "BEGIN:VEVENT" in parts(invitation)["text/calendar"]
    walk.submit(coach, walk.button(coach, "Mark as done"))
    assert walk.state_of(coach) == t("Done")

    # --- the adviser closes the training; the return day ----------------------------------------
    visit(admin, trajectory_url, 200)
    walk.open_step(admin, names["training"])
    check(admin, "training step (admin)")
    walk.submit(admin, walk.button(admin, "Mark as done"))
    assert walk.state_of(admin) == t("Done")

    visit(learner, trajectory_url, 200)
    return_day = walk.open_step(learner, names["return_day"])
    check(learner, "return day step (learner)")
    learner.get_by_label(names["applied"], exact=True).fill("Twee adviezen op één A4")
    walk.submit(learner, walk.button(learner, "Save"))
    assert t("Saved.") in walk.flash(learner)

    visit(admin, return_day, 200)
    walk.follow(
        admin, walk.link(admin, "The group meeting: date, place and attendance"), "**/meetings/*"
    )
    check(admin, "return day meeting to be planned (admin)")
    later = (starts + timedelta(days=90)).isoformat()
    walk.schedule(admin, f"{later}T13:00", f"{later}T16:00", "Provinciehuis Middelburg")
    invited = [m for m in _mails(app, sink, 1) if m["To"].addresses[0].addr_spec == LEARNER[2]]
    assert len(invited) == 1
    assert "BEGIN:VEVENT" in parts(invited[0])["text/calendar"]
    attended = admin.get_by_role("group", name=t("Who attended?"), exact=True)
    assert attended.get_by_label(LEARNER[1], exact=True).is_checked()
    walk.submit(admin, walk.button(admin, "Record the meeting"))
    assert t("The meeting was recorded.") in walk.flash(admin)
    check(admin, "return day held (admin)")

    visit(learner, trajectory_url, 200)
    assert t("Every step of this trajectory is done.") in learner.content()
    assert learner.locator("ol.sl-timeline > li").count() == len(SHORT_STEPS)
    check(learner, "short course completed (learner)")
    walk.findings.assert_clean()


def _steps_of(app, tenant: TenantRef, trajectory: str, lang: str):
    """The step names of the trajectory's version in `lang`, the return day's `applied` field,
    and the day the learning goals are due."""
    from sqlalchemy import select

    from samenleren.trajectories.models import StepInstance, Trajectory
    from tests.factories import get

    with in_tenant(app, tenant):
        from samenleren.core.extensions import db

        record = get(Trajectory, uuid.UUID(trajectory))
        content = record.template_version.content
        names = {key: content.step(key).name_in(lang, "nl") for key in SHORT_STEPS}
        names["applied"] = content.step("return_day").field("applied").label_in(lang, "nl")
        due_on = db.session.scalar(
            select(StepInstance.due_on).where(
                StepInstance.trajectory_id == record.id,
                StepInstance.step_key == "learning_goals",
            )
        )
        return names, due_on


def _remind(app, tenant: TenantRef, day) -> None:
    """The hourly sweep and the sender on `day` at the hour reminders go out."""
    from samenleren.notifications.delivery import send_due
    from samenleren.notifications.reminders import at_send_hour, sweep

    now = at_send_hour(day) + timedelta(minutes=5)
    with in_tenant(app, tenant):
        assert sweep(now) >= 2
        assert send_due(now=now) >= 2


def _onboarded(app, idp: IdP) -> TenantRef:
    from sqlalchemy import select

    from samenleren.core.extensions import db
    from samenleren.core.tenant import Tenant

    with app.app_context():
        return TenantRef(db.session.scalar(select(Tenant.id).where(Tenant.slug == SLUG)), SLUG, idp)


def browser_context(walk: Walk):
    context = walk.browser.new_context(base_url=walk.live_server.url, locale="nl-NL")
    walk.contexts.callback(context.close)
    context.set_default_timeout(10_000)
    return context


def _choose(page, combobox: str, name: str) -> None:
    """Type a name in a picker's combobox and choose the first match with the keyboard."""
    page.locator(combobox).focus()
    page.keyboard.type(name.split()[0])
    page.locator(f"{combobox}-listbox [role=option]").first.wait_for()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
