"""One whole Flevoland trajectory in Chromium, the way the people in it click through it.

The programme admin enrols a learner in an edition and assigns the suggested coach; learner
and coach set the learning goals; the coach plans and closes the conversations; the manager
fills in the intake; the trainer closes the training; progress is recorded (confidential) and a
second progress conversation skipped; learner and manager rate the goals; the group meetings
are planned and recorded; the manager rates the expectations three months on. Every person has
their own browser context (all logged in at once), and every trajectory page type they reach is
checked with axe-core, in Dutch and in English, including refused forms.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass

import pytest

from tests.browser.conftest import LiveServer, log_in
from tests.browser.test_pages import AxeFindings, choose_language, visit
from tests.conftest import TenantRef
from tests.factories import World, add_user, build_world, get, in_tenant

pytestmark = pytest.mark.browser

LEARNER = "bea.learner"
LEARNER_NAME = "Bea Learner flevoland"
GOALS = ["Helder adviseren aan het bestuur", "Plannen met partners"]
LATENT = "Eigenlijk wil ik vooral zekerder presenteren"
NOTE = "Vertrouwelijk: twijfelt over de rol van adviseur"
PROGRESS = ["Eerste advies geschreven en besproken", "Nog niet aan toegekomen"]
EXPECTATIONS = "Zelfstandig adviseren aan Gedeputeerde Staten"
CONTRIBUTION = "Ruimte in de agenda en een maandelijks gesprek"
PLAN = "Elke maand een advies laten reviewen door een collega"
APPLIED = "Drie adviezen geschreven, twee aangenomen"


@dataclass
class Setting:
    world: World
    learner: uuid.UUID
    people: dict[str, tuple[str, str, str]]  #: who -> (subject, name, e-mail)
    training_title: str
    organisation_goals: list[str]  #: titles in the walk's language, in order
    definition: object  #: the process template definition the trajectory follows


def _setting(app, tenant: TenantRef, lang: str) -> Setting:
    """A programme without coaches assigned, and a learner not enrolled yet (the admin will)."""
    from samenleren.catalogue.models import Training
    from samenleren.core.extensions import db
    from samenleren.identity.models import User
    from samenleren.process_templates.services import current_version
    from samenleren.tenants.models import OrganisationGoal

    with in_tenant(app, tenant):
        world = build_world(tenant, coached=False)
        learner = add_user(
            LEARNER,
            "learner",
            name=LEARNER_NAME,
            manager_id=world.manager,
            department_id=world.department,
        )
        db.session.commit()
        people = {LEARNER: (LEARNER, learner.name, learner.email)}
        for who in ("admin", "coach", "manager", "trainer"):
            user = get(User, getattr(world, who))
            people[who] = (user.subject, user.name, user.email)
        return Setting(
            world=world,
            learner=learner.id,
            people=people,
            training_title=get(Training, world.training).title,
            organisation_goals=[
                get(OrganisationGoal, goal_id).title_in(lang, "nl")
                for goal_id in world.organisation_goals
            ],
            definition=current_version().content,
        )


def _translate(app, lang: str, msgid: str, **values: object) -> str:
    """What the app shows for `msgid` in `lang` (the same catalogues, so it holds however far
    the translations are)."""
    from flask_babel import force_locale, gettext

    with app.test_request_context("/"), force_locale(lang):
        return gettext(msgid, **values)


class Walk:
    """The walk's language, its axe findings and the ways people act on a page."""

    def __init__(self, app, browser, live_server: LiveServer, tenant: TenantRef, lang: str):
        self.app = app
        self.browser = browser
        self.live_server = live_server
        self.tenant = tenant
        self.lang = lang
        self.base = f"{live_server.url}/{tenant.slug}"
        self.findings = AxeFindings()
        self.contexts = ExitStack()

    def t(self, msgid: str, **values: object) -> str:
        return _translate(self.app, self.lang, msgid, **values)

    def person(self, subject: str, name: str, email: str):
        """A browser context of its own, logged in (several people are logged in at once)."""
        context = self.browser.new_context(base_url=self.live_server.url, locale="nl-NL")
        self.contexts.callback(context.close)
        context.set_default_timeout(10_000)
        page = context.new_page()
        choose_language(page, self.live_server, self.tenant.slug, self.lang)
        log_in(page, self.live_server, self.tenant, subject, name=name, email=email)
        assert page.locator("html").get_attribute("lang") == self.lang
        return page

    def check(self, page, label: str) -> None:
        self.findings.check(page, label, self.lang)

    @staticmethod
    def submit(page, button, status: int = 200):
        """Click a form's button; the page that comes back (after a redirect) has `status`."""
        with page.expect_navigation() as navigation:
            button.click()
        response = navigation.value
        assert response.status == status, (page.url, response.status)
        if status == 200:
            assert response.request.redirected_from is not None, "a POST answers with a redirect"
            assert response.request.redirected_from.method == "POST"
        return response

    def flash(self, page) -> str:
        return page.locator('.sl-flashes[role="status"]').inner_text()

    def button(self, page, msgid: str, **values: object):
        return page.get_by_role("button", name=self.t(msgid, **values), exact=True)

    def link(self, page, msgid: str, **values: object):
        return page.get_by_role("link", name=self.t(msgid, **values), exact=True)

    def follow(self, page, link, url_pattern: str) -> None:
        link.click()
        page.wait_for_url(url_pattern)

    def open_step(self, page, name: str) -> str:
        """From the trajectory page, the step's link in the timeline; returns the step's URL."""
        page.locator("ol.sl-timeline").get_by_role("link", name=name, exact=True).click()
        page.wait_for_url("**/steps/*")
        assert page.locator("h1").inner_text() == name
        return page.url

    def schedule(self, page, starts: str, ends: str, place: str, status: int = 200) -> None:
        """Fill in and send the appointment form of a step or a group meeting."""
        page.get_by_label(self.t("Start"), exact=True).fill(starts)
        page.get_by_label(self.t("End"), exact=True).fill(ends)
        page.get_by_label(self.t("Place"), exact=True).fill(place)
        buttons = page.locator("form[action$='/schedule'] button[type=submit]")
        self.submit(page, buttons, status)

    @staticmethod
    def state_of(page) -> str:
        """The state of the step on the page (its first badge)."""
        return page.locator("dl.sl-facts .sl-badge").first.inner_text()


@pytest.fixture
def walk_in(app, browser, live_server, tenants) -> Iterator[object]:
    walks: list[Walk] = []

    def start(lang: str) -> Walk:
        walk = Walk(app, browser, live_server, tenants["flevoland"], lang)
        walks.append(walk)
        return walk

    yield start
    for walk in walks:
        walk.contexts.close()


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_a_whole_flevoland_trajectory_in_the_browser(app, tenants, walk_in, lang):
    walk = walk_in(lang)
    t = walk.t
    setting = _setting(app, tenants["flevoland"], lang)
    world, definition = setting.world, setting.definition
    base = walk.base

    def field(step_key: str, field_key: str) -> str:
        return definition.step(step_key).field(field_key).label_in(lang, "nl")

    def step_name(step_key: str, occurrence: int = 1) -> str:
        spec = definition.step(step_key)
        name = spec.name_in(lang, "nl")
        return f"{name} {occurrence}" if spec.repeat.max > 1 else name

    def open_step(page, step_key: str, occurrence: int = 1) -> str:
        return walk.open_step(page, step_name(step_key, occurrence))

    def back_to_trajectory(page) -> None:
        walk.follow(
            page,
            walk.link(page, "Back to the trajectory of %(name)s", name=LEARNER_NAME),
            f"**/trajectories/{trajectory}",
        )

    schedule, state_of = walk.schedule, walk.state_of

    people = {who: walk.person(*details) for who, details in setting.people.items()}
    admin, learner = people["admin"], people[LEARNER]
    coach, manager, trainer = people["coach"], people["manager"], people["trainer"]
    coach_name = setting.people["coach"][1]

    # --- the programme admin enrols the learner and assigns the suggested coach -------------
    visit(admin, f"{base}/editions/{world.edition}", 200)
    admin.fill("#enrol-employee_q", LEARNER_NAME)
    with admin.expect_navigation():
        admin.press("#enrol-employee_q", "Enter")  # the search: matches to choose from
    admin.get_by_label(LEARNER_NAME, exact=True).check()
    walk.submit(admin, walk.button(admin, "Enrol"))
    assert LEARNER_NAME in walk.flash(admin)
    walk.follow(
        admin,
        walk.link(admin, "Trajectory of %(name)s", name=LEARNER_NAME),
        "**/trajectories/*",
    )
    trajectory = re.search(r"/trajectories/([0-9a-f-]{36})$", admin.url).group(1)
    trajectory_url = f"{base}/trajectories/{trajectory}"
    assert admin.locator("h1").inner_text() == t("Trajectory of %(name)s", name=LEARNER_NAME)
    assert t("No coach yet") in admin.locator("dl.sl-facts").inner_text()
    walk.check(admin, "trajectory without a coach (admin)")

    walk.follow(admin, walk.link(admin, "Choose a coach"), "**/coach")
    walk.check(admin, "coach page: suggestions (admin)")
    chosen = admin.locator("input[name=coach]:checked")
    assert chosen.count() == 1  # the least busy suitable coach is suggested first
    suggested = admin.locator(f"label[for={chosen.get_attribute('id')}]").inner_text()
    assert suggested.startswith(coach_name), suggested
    # The coach found by a search, chosen with the keyboard in the combobox.
    admin.locator("#coach-q").focus()
    admin.keyboard.type(coach_name.split()[0])
    admin.locator("#coach-q-listbox [role=option]").first.wait_for()
    admin.keyboard.press("ArrowDown")
    admin.keyboard.press("Enter")
    assert admin.locator("#coach-q").get_attribute("aria-expanded") == "false"
    assert admin.locator(f"label[for={chosen.get_attribute('id')}]").inner_text() == suggested
    walk.submit(admin, walk.button(admin, "Assign this coach"))
    assert t("%(name)s is now the learning coach.", name=coach_name) in walk.flash(admin)
    assert coach_name in admin.locator("dl.sl-facts").inner_text()
    walk.follow(admin, walk.link(admin, "Change coach"), "**/coach")
    assert coach_name in admin.locator("table").inner_text()  # the history
    walk.check(admin, "coach page: history and change (admin)")

    # --- the learner sets two learning goals, linked to organisation goals ------------------
    learner.reload()  # the learner's start page: the dashboard with the new trajectory
    walk.check(learner, "dashboard with a running trajectory (learner)")
    walk.follow(
        learner,
        learner.get_by_role("link", name=setting.training_title, exact=True),
        f"**/trajectories/{trajectory}",
    )
    assert coach_name in learner.locator("dl.sl-facts").inner_text()
    walk.check(learner, "trajectory (learner)")
    # Closing the learning-goals step without goals is refused, and the page says why.
    goals_step = open_step(learner, "learning_goals")
    walk.check(learner, "learning goals step (learner)")
    walk.submit(learner, walk.button(learner, "Mark as done"), 422)
    assert learner.locator('[role="alert"]').count() == 1
    no_goals = t("Add at least one learning goal first.")
    assert learner.locator("#err-f-goals").inner_text() == no_goals
    assert state_of(learner) == t("To be planned")
    walk.check(learner, "learning goals step refused to close (learner)")
    visit(learner, goals_step, 200)
    back_to_trajectory(learner)
    walk.follow(
        learner,
        learner.locator("#goals-heading ~ p").get_by_role(
            "link", name=t("Set the learning goals"), exact=True
        ),
        "**/goals",
    )
    walk.check(learner, "goals page (learner)")

    def goal_row(number: int):
        return learner.get_by_role(
            "group", name=t("Learning goal %(number)s", number=number), exact=True
        )

    goal_row(1).get_by_label(t("Goal"), exact=True).fill(GOALS[0])
    walk.submit(learner, walk.button(learner, "Save the learning goals"), 422)
    links = learner.locator("#err-goal-0-organisation_goals")
    assert links.inner_text() == t("Link the learning goal to at least one organisation goal.")
    described = goal_row(1).locator("fieldset[aria-invalid=true]")
    assert described.get_attribute("aria-describedby") == "err-goal-0-organisation_goals"
    assert goal_row(1).get_by_label(t("Goal"), exact=True).input_value() == GOALS[0]
    walk.check(learner, "goals page refused (learner)")

    goal_row(1).get_by_label(setting.organisation_goals[2], exact=True).check()
    goal_row(2).get_by_label(t("Goal"), exact=True).fill(GOALS[1])
    goal_row(2).get_by_label(setting.organisation_goals[0], exact=True).check()
    goal_row(2).get_by_label(setting.organisation_goals[1], exact=True).check()
    walk.submit(learner, walk.button(learner, "Save the learning goals"))
    assert learner.url == trajectory_url
    assert t("The learning goals were saved.") in walk.flash(learner)
    goals_list = learner.locator("#goals-heading ~ ol").inner_text()
    assert GOALS[0] in goals_list and GOALS[1] in goals_list
    assert setting.organisation_goals[2] in goals_list
    assert setting.organisation_goals[0] in goals_list

    # --- the coach plans the learning-goals conversation and closes it ----------------------
    coach.reload()
    walk.follow(
        coach,
        coach.get_by_role("link", name=LEARNER_NAME, exact=True).first,
        f"**/trajectories/{trajectory}",
    )
    walk.check(coach, "trajectory (coach)")
    open_step(coach, "learning_goals")
    walk.check(coach, "learning goals step (coach)")
    assert GOALS[0] in coach.locator("#record-heading ~ *").first.inner_text()
    schedule(coach, "2027-01-05T10:00", "2027-01-05T11:00", "Kamer 1.12")
    assert t("The appointment was saved.") in walk.flash(coach)
    assert state_of(coach) == t("Scheduled")
    coach.get_by_label(field("learning_goals", "latent_needs"), exact=True).fill(LATENT)
    walk.submit(coach, walk.button(coach, "Save"))
    assert t("Saved.") in walk.flash(coach)
    walk.submit(coach, walk.button(coach, "Mark as done"))
    assert t("The step was closed.") in walk.flash(coach)
    assert state_of(coach) == t("Done")
    assert walk.button(coach, "Reopen the step").count() == 1
    walk.check(coach, "learning goals step done (coach)")

    # --- the intake: the coach schedules it (keyboard), the manager fills it in -------------
    back_to_trajectory(coach)
    intake = open_step(coach, "intake")
    schedule(coach, "2027-01-10T11:00", "2027-01-10T10:00", "Kamer 3", status=422)
    ends = coach.get_by_label(t("End"), exact=True)
    assert ends.get_attribute("aria-invalid") == "true"
    assert ends.get_attribute("aria-describedby") == "err-ends_at"
    assert coach.locator("#err-ends_at").inner_text() == t("The end must come after the start.")
    assert coach.get_by_label(t("Start"), exact=True).input_value() == "2027-01-10T11:00"
    assert coach.locator('[role="alert"]').count() == 1
    walk.check(coach, "intake with a refused appointment (coach)")

    visit(coach, intake, 200)
    assert state_of(coach) == t("To be planned")  # nothing was saved
    _schedule_with_the_keyboard(coach, "2027-01-10T10:00", "2027-01-10T11:00", "Kamer 3")
    assert coach.url == intake
    assert t("The appointment was saved.") in walk.flash(coach)
    assert state_of(coach) == t("Scheduled")
    assert "Kamer 3" in coach.locator("dl.sl-facts").inner_text()

    manager.reload()  # the manager's dashboard, with the new team member's trajectory
    walk.follow(
        manager,
        manager.get_by_role("link", name=LEARNER_NAME, exact=True).first,
        f"**/trajectories/{trajectory}",
    )
    assert GOALS[0] in manager.content()  # the manager reads the goals ...
    assert LATENT not in manager.content()  # ... not what surfaced between learner and coach
    walk.check(manager, "trajectory (manager)")
    open_step(manager, "intake")
    walk.check(manager, "intake (manager)")
    assert walk.button(manager, "Mark as done").count() == 0  # the coach closes the intake
    manager.get_by_label(field("intake", "manager_expectations"), exact=True).fill(EXPECTATIONS)
    manager.get_by_label(field("intake", "manager_contribution"), exact=True).fill(CONTRIBUTION)
    walk.submit(manager, walk.button(manager, "Save"))
    assert t("Saved.") in walk.flash(manager)

    visit(coach, intake, 200)
    expectations = coach.get_by_label(field("intake", "manager_expectations"), exact=True)
    assert expectations.input_value() == EXPECTATIONS
    walk.submit(coach, walk.button(coach, "Mark as done"))
    assert state_of(coach) == t("Done")

    visit(learner, intake, 200)
    record = learner.locator("#record-heading").locator("xpath=..").inner_text()
    assert EXPECTATIONS in record and CONTRIBUTION in record
    assert learner.locator("#record-heading ~ form").count() == 0  # read only for the learner
    walk.check(learner, "intake done, read only (learner)")

    # --- the trainer closes the training step -------------------------------------------------
    visit(trainer, f"{base}/editions/{world.edition}", 200)
    walk.follow(
        trainer,
        walk.link(trainer, "Trajectory of %(name)s", name=LEARNER_NAME),
        f"**/trajectories/{trajectory}",
    )
    assert GOALS[0] not in trainer.content()  # goals are not the trainer's business
    walk.check(trainer, "trajectory (trainer)")
    open_step(trainer, "training")
    walk.check(trainer, "training step (trainer)")
    assert walk.link(trainer, "The training's sessions and attendance").count() == 1
    walk.submit(trainer, walk.button(trainer, "Mark as done"))
    assert state_of(trainer) == t("Done")

    # --- progress: confidential between learner and coach; a second one is skipped ----------
    back_to_trajectory(coach)
    progress = open_step(coach, "progress", 1)
    assert coach.locator(".utrecht-alert--info").count() == 1  # says it is confidential
    walk.check(coach, "progress step (coach)")
    schedule(coach, "2027-03-01T09:00", "2027-03-01T10:00", "Kantine")
    per_goal = coach.get_by_role("group", name=field("progress", "progress_per_goal"), exact=True)
    per_goal.get_by_label(GOALS[0], exact=True).fill(PROGRESS[0])
    per_goal.get_by_label(GOALS[1], exact=True).fill(PROGRESS[1])
    coach.get_by_label(field("progress", "notes"), exact=True).fill(NOTE)
    coach.get_by_label(field("progress", "next_steps"), exact=True).fill("Advies 2 voorbereiden")
    walk.submit(coach, walk.button(coach, "Save"))
    walk.submit(coach, walk.button(coach, "Mark as done"))
    assert state_of(coach) == t("Done")
    assert NOTE in coach.content()

    back_to_trajectory(coach)
    another = t("Plan another: %(name)s", name=definition.step("progress").name_in(lang, "nl"))
    walk.submit(coach, coach.get_by_role("button", name=another, exact=True))
    assert coach.locator("h1").inner_text() == step_name("progress", 2)
    assert t("Another conversation was planned.") in walk.flash(coach)
    coach.get_by_label(t("Reason for skipping"), exact=True).fill("Doelen al ruim op koers")
    walk.submit(coach, walk.button(coach, "Skip this step"))
    assert state_of(coach) == t("Skipped")
    assert "Doelen al ruim op koers" in coach.locator("dl.sl-facts").inner_text()
    walk.check(coach, "progress step skipped (coach)")

    visit(learner, progress, 200)
    assert NOTE in learner.content() and PROGRESS[0] in learner.content()
    walk.check(learner, "progress step (learner)")
    for who, viewer in (("manager", manager), ("admin", admin), ("trainer", trainer)):
        visit(viewer, progress, 200)
        page_text = viewer.content()
        for secret in (NOTE, *PROGRESS, LATENT):
            assert secret not in page_text, (who, secret)
        walk.check(viewer, f"progress step, nothing readable ({who})")
    visit(manager, trajectory_url, 200)
    assert NOTE not in manager.content()

    # --- evaluation: learner and manager rate every goal; the manager closes ----------------
    visit(manager, trajectory_url, 200)
    evaluation = open_step(manager, "evaluation")
    walk.check(manager, "evaluation step (manager)")
    ratings = manager.get_by_role(
        "group", name=field("evaluation", "attainment_manager"), exact=True
    )
    ratings.get_by_label(GOALS[0], exact=True).select_option("3")
    ratings.get_by_label(GOALS[1], exact=True).select_option("4")
    manager.get_by_label(field("evaluation", "expectations_met"), exact=True).select_option("4")
    walk.submit(manager, walk.button(manager, "Save"))
    # Closing before the learner rated is refused, and says why.
    walk.submit(manager, walk.button(manager, "Mark as done"), 422)
    assert manager.locator('[role="alert"]').count() == 1
    learners = manager.get_by_role(
        "group", name=field("evaluation", "attainment_learner"), exact=True
    )
    assert learners.get_attribute("aria-describedby") == "err-f-attainment_learner"
    assert learners.get_attribute("aria-invalid") == "true"
    assert learners.locator("#err-f-attainment_learner").inner_text() == t(
        "Fill this in for every learning goal."
    )
    assert state_of(manager) == t("To be planned")
    walk.check(manager, "evaluation refused to close (manager)")

    visit(learner, trajectory_url, 200)
    open_step(learner, "evaluation")
    walk.check(learner, "evaluation step (learner)")
    mine = learner.get_by_role("group", name=field("evaluation", "attainment_learner"), exact=True)
    mine.get_by_label(GOALS[0], exact=True).select_option("4")
    mine.get_by_label(GOALS[1], exact=True).select_option("5")
    learner.get_by_label(field("evaluation", "evaluation_notes"), exact=True).fill("Goed gesprek")
    walk.submit(learner, walk.button(learner, "Save"))
    managers = learner.get_by_role(
        "group", name=field("evaluation", "attainment_manager"), exact=True
    ).inner_text()
    assert t("%(value)s of 5", value=3) in managers  # the learner reads the manager's view
    assert walk.button(learner, "Mark as done").count() == 0

    visit(manager, evaluation, 200)
    walk.submit(manager, walk.button(manager, "Mark as done"))
    assert state_of(manager) == t("Done")
    walk.check(manager, "evaluation step done (manager)")

    # --- consolidation: the learner's application plan; the trainer runs the meeting --------
    visit(learner, trajectory_url, 200)
    consolidation = open_step(learner, "consolidation")
    walk.check(learner, "consolidation step (learner)")
    learner.get_by_label(field("consolidation", "application_plan"), exact=True).fill(PLAN)
    walk.submit(learner, walk.button(learner, "Save"))
    walk.follow(
        learner,
        walk.link(learner, "The group meeting: date, place and attendance"),
        "**/meetings/*",
    )
    meeting_url = learner.url
    assert walk.link(learner, "Your own part: what you record for this meeting").count() == 1
    assert learner.locator("form[action$='/schedule']").count() == 0
    walk.check(learner, "meeting to be planned (learner)")

    visit(trainer, consolidation, 200)
    assert PLAN in trainer.content()  # the trainer reads the application plan
    walk.follow(
        trainer,
        walk.link(trainer, "The group meeting: date, place and attendance"),
        meeting_url,
    )
    walk.check(trainer, "meeting to be planned (trainer)")
    schedule(trainer, "2027-04-01T16:00", "2027-04-01T13:00", "Zaal Flevo", status=422)
    assert trainer.locator("#err-ends_at").inner_text() == t("The end must come after the start.")
    walk.check(trainer, "meeting with a refused date (trainer)")
    schedule(trainer, "2027-04-01T13:00", "2027-04-01T16:00", "Zaal Flevo")
    assert trainer.url == meeting_url
    walk.check(trainer, "meeting scheduled, attendance form (trainer)")
    attended = trainer.get_by_role("group", name=t("Who attended?"), exact=True)
    assert attended.get_by_label(LEARNER_NAME, exact=True).is_checked()
    trainer.get_by_label(
        t("What the group shared (readable by the group, its coaches and the trainer)"),
        exact=True,
    ).fill("Iedereen deelde een concreet borgingsplan")
    walk.submit(trainer, walk.button(trainer, "Record the meeting"))
    assert t("The meeting was recorded.") in walk.flash(trainer)
    assert "Iedereen deelde een concreet borgingsplan" in trainer.content()
    walk.check(trainer, "meeting held (trainer)")

    visit(learner, consolidation, 200)
    assert state_of(learner) == t("Done")
    visit(manager, consolidation, 200)
    assert PLAN in manager.content()  # the manager reads the application plan
    walk.check(manager, "consolidation done (manager)")

    # --- return day: the learner's experience; the admin runs the meeting -------------------
    visit(learner, trajectory_url, 200)
    return_day = open_step(learner, "return_day")
    walk.check(learner, "return day step (learner)")
    learner.get_by_label(field("return_day", "applied"), exact=True).fill(APPLIED)
    learner.get_by_label(field("return_day", "tips_given"), exact=True).fill("Kort schrijven")
    learner.get_by_label(field("return_day", "tips_received"), exact=True).fill("Eerst bellen")
    walk.submit(learner, walk.button(learner, "Save"))

    visit(admin, return_day, 200)
    walk.check(admin, "return day step (admin)")
    walk.follow(
        admin, walk.link(admin, "The group meeting: date, place and attendance"), "**/meetings/*"
    )
    schedule(admin, "2027-07-01T13:00", "2027-07-01T16:00", "Provinciehuis")
    attended = admin.get_by_role("group", name=t("Who attended?"), exact=True)
    # Anna, enrolled in the same edition by the factory, stays away this time.
    attended.get_by_label("Anna Learner flevoland", exact=True).uncheck()
    walk.submit(admin, walk.button(admin, "Record the meeting"))
    group = admin.locator("#group-heading ~ ul").inner_text()
    assert re.search(rf"{LEARNER_NAME}\s*—\s*{t('present')}", group), group
    assert re.search(rf"Anna Learner flevoland\s*—\s*{t('absent')}", group), group
    walk.check(admin, "meeting held (admin)")

    # The trajectory is complete; the manager still answers three months on.
    visit(manager, return_day, 200)
    walk.check(manager, "return day step (manager)")
    later = manager.get_by_label(field("return_day", "expectations_met_later"), exact=True)
    later.select_option("4")
    walk.submit(manager, walk.button(manager, "Save"))
    assert t("Saved.") in walk.flash(manager)
    assert (
        manager.get_by_label(
            field("return_day", "expectations_met_later"), exact=True
        ).input_value()
        == "4"
    )

    # Six months on the learner looks back once more (no expected results were set at this
    # intake, so there is nothing to rate) and closes the last step.
    visit(learner, trajectory_url, 200)
    open_step(learner, "follow_up")
    walk.check(learner, "six months later (learner)")
    assert learner.locator("#schedule-heading").count() == 0  # a milestone: no appointment
    walk.submit(learner, walk.button(learner, "Mark as done"))
    assert state_of(learner) == t("Done")

    # --- what the learner sees at the end -------------------------------------------------
    visit(learner, trajectory_url, 200)
    assert t("Every step of this trajectory is done.") in learner.content()
    facts = learner.locator("dl.sl-facts").inner_text()
    assert t("Completed") in facts
    total = learner.locator("ol.sl-timeline > li").count()
    assert total == 9  # eight steps, the progress conversation twice
    assert learner.locator("#trajectory-progress").get_attribute("value") == str(total)
    assert learner.locator("label[for=trajectory-progress]").inner_text() == t(
        "%(done)s of %(total)s steps done", done=total, total=total
    )
    walk.check(learner, "trajectory completed (learner)")
    visit(learner, return_day, 200)
    assert t("%(value)s of 5", value=4) in learner.content()  # the manager's later rating
    walk.check(learner, "return day done (learner)")

    visit(learner, f"{base}/", 200)
    card = learner.locator("article.sl-card").filter(has_text=setting.training_title)
    assert t("Completed") in card.locator("dl").inner_text()
    assert card.locator("progress").get_attribute("value") == str(total)
    walk.check(learner, "dashboard with a completed trajectory (learner)")

    walk.findings.assert_clean()
    with in_tenant(app, tenants["flevoland"]):
        from samenleren.trajectories.models import Trajectory

        assert get(Trajectory, uuid.UUID(trajectory)).status.value == "completed"


def _schedule_with_the_keyboard(page, starts: str, ends: str, place: str) -> None:
    """Tab from the top of the page to the appointment form, fill it in, press Enter."""
    for _ in range(80):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.id") == "in-starts_at":
            break
    else:
        raise AssertionError("the appointment form cannot be reached with Tab")
    assert page.evaluate("() => document.activeElement.getBoundingClientRect().height > 0"), (
        "the focused field must be visible"
    )
    page.locator("#in-starts_at").fill(starts)
    page.locator("#in-ends_at").fill(ends)
    page.locator("#in-starts_at").focus()
    for _ in range(20):  # Tab moves through the date's parts, then to the next fields
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.id") == "in-location":
            break
    else:
        raise AssertionError("Tab does not lead from the start to the place")
    page.keyboard.type(place)
    with page.expect_navigation() as navigation:
        page.keyboard.press("Enter")
    assert navigation.value.status == 200
