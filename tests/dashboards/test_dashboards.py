"""The dashboards per role: what each of learner, coach, manager, trainer and admin sees first,
switching between them, and what never appears on them (progress notes)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from samenleren.core.formatting import local_today
from tests.conftest import login
from tests.factories import World, add_user, build_world, get, in_tenant

NOTE = "Vertrouwelijk: Anna twijfelt of ze bij haar team wil blijven"
AGREEMENT = "Afspraak: Anna oefent de presentatie met een collega"

#: (world person, the dashboards that person has: the learner role comes with every login)
PEOPLE = {
    "learner": ["learner"],
    "coach": ["learner", "coach"],
    "manager": ["learner", "manager"],
    "trainer": ["learner", "trainer"],
    "admin": ["learner", "programme"],
}


# --- helpers ----------------------------------------------------------------------------------


def _client(app, tenant, who: str):
    client = app.test_client()
    assert login(client, tenant, World.subjects[who]).status_code == 302
    client.get(f"/{tenant.slug}/?lang=en")  # stable words to look for
    return client


def _page(client, path: str, status: int = 200) -> str:
    answer = client.get(path)
    assert answer.status_code == status, (path, answer.status_code)
    return answer.get_data(as_text=True)


def _section(html: str, heading_id: str) -> str:
    """The <section> labelled by `heading_id`."""
    match = re.search(
        rf'<section[^>]*aria-labelledby="{heading_id}"[^>]*>(.*?)</section>', html, re.S
    )
    assert match, f"no section {heading_id}"
    return match.group(1)


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _steps(world: World) -> dict[str, object]:
    from samenleren.core.extensions import db
    from samenleren.trajectories.models import StepInstance

    return {
        step.step_key: step
        for step in db.session.scalars(
            select(StepInstance)
            .where(StepInstance.trajectory_id == world.trajectory)
            .order_by(StepInstance.occurrence.desc())
        )
    }


def _people(world: World) -> dict[str, object]:
    from samenleren.identity.models import User

    return {name: get(User, getattr(world, name)) for name in PEOPLE}


def _make_overdue(world: World, step_key: str, days: int = 3) -> object:
    from samenleren.core.extensions import db

    step = _steps(world)[step_key]
    step.due_on = local_today() - timedelta(days=days)
    db.session.commit()
    return step


def _record_ratings(world: World, learner_rating: str, manager_rating: str):
    """A learning goal linked to the first organisation goal, rated at the evaluation."""
    from samenleren.core.extensions import db
    from samenleren.trajectories.goals import GoalInput, set_learning_goals
    from samenleren.trajectories.models import Trajectory
    from samenleren.trajectories.values import record_values

    trajectory = get(Trajectory, world.trajectory)
    people = _people(world)
    set_learning_goals(
        trajectory,
        people["learner"],
        [GoalInput("Beter presenteren", "", [str(world.organisation_goals[0])])],
    )
    goal = trajectory.goals[0]
    evaluation = _steps(world)["evaluation"]
    for who, rating in (("learner", learner_rating), ("manager", manager_rating)):
        field = f"f.attainment_{who}.{goal.id}"
        record_values(trajectory, evaluation, people[who], {field: rating})
    db.session.commit()


# --- learner ----------------------------------------------------------------------------------


def test_learner_sees_trajectory_progress_next_step_and_waiting_places(app, tenants):
    from samenleren.catalogue.models import Edition, Enrolment, EnrolmentStatus, Training
    from samenleren.core.extensions import db

    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        world = build_world(flevoland)
        steps = _steps(world)
        full = Training(title="Schrijven voor de burger", capacity=1)
        db.session.add(full)
        db.session.flush()
        editions = []
        for name in ("Voorjaar", "Najaar"):
            edition = Edition(
                training_id=full.id,
                name=name,
                starts_on=steps["intake"].due_on + timedelta(days=60),
                ends_on=steps["intake"].due_on + timedelta(days=70),
            )
            db.session.add(edition)
            db.session.flush()
            editions.append(edition.id)
        colleague_first = Enrolment(
            edition_id=editions[0], learner_id=world.colleague, status=EnrolmentStatus.WAITLISTED
        )
        db.session.add(colleague_first)
        db.session.flush()
        db.session.add_all(
            [
                Enrolment(
                    edition_id=editions[0],
                    learner_id=world.learner,
                    status=EnrolmentStatus.WAITLISTED,
                ),
                Enrolment(
                    edition_id=editions[1], learner_id=world.learner, status=EnrolmentStatus.APPLIED
                ),
            ]
        )
        db.session.commit()
        first_step = steps["learning_goals"].id

    client = _client(app, flevoland, "learner")
    for path in ("/flevoland/", "/flevoland/dashboard/learner"):
        html = _page(client, path)
        mine = _section(html, "my-trajectories")
        assert f'href="/flevoland/trajectories/{world.trajectory}"' in mine
        assert "Training van flevoland" in mine and "Carla Coach flevoland" in mine
        assert f'<label for="progress-{world.trajectory}">' in mine
        # Eight steps: the Flevoland model with its six-months look back.
        assert re.search(rf'<progress[^>]*id="progress-{world.trajectory}"[^>]*max="8"', mine)
        assert "0 of 8 steps done" in _text(mine)
        # The next thing to do: setting the learning goals, a link to that step.
        assert f'href="/flevoland/trajectories/{world.trajectory}/steps/{first_step}"' in mine
        waiting = _text(_section(html, "my-applications"))
        assert "Schrijven voor de burger" in waiting
        assert "On the waiting list (number 2)" in waiting
        assert "Applied" in waiting
        assert 'href="/flevoland/trainings/"' in _section(html, "my-applications")
        for edition_id in editions:
            assert f'href="/flevoland/editions/{edition_id}"' in html
        # The home keeps the facts it always showed.
        assert "Ruimte flevoland" in html and "Mark Manager flevoland" in html


def test_the_learner_sees_what_is_coming_up_with_dates_and_where_the_training_stands(app, tenants):
    """Coming up: the agreed intake and the next training session (numbered among all), soonest
    first; the next step, while the training runs, says which session comes when."""
    from datetime import UTC, datetime

    from samenleren.catalogue.models import Edition, EditionSession
    from samenleren.core.extensions import db
    from samenleren.identity.models import User
    from samenleren.trajectories.models import StepInstance, Trajectory
    from samenleren.trajectories.steps import Appointment, schedule_step

    flevoland = tenants["flevoland"]
    now = datetime.now(UTC).replace(microsecond=0, second=0)
    with in_tenant(app, flevoland):
        world = build_world(flevoland)
        edition = get(Edition, world.edition)
        # Three more sessions: two held already and one after the world's own (in 20 days).
        for days in (-20, -10, 30):
            moment = now + timedelta(days=days)
            db.session.add(
                EditionSession(
                    edition_id=edition.id,
                    starts_at=moment,
                    ends_at=moment + timedelta(hours=3),
                    location="Lelystad",
                )
            )
        intake = _steps(world)["intake"]
        schedule_step(
            get(Trajectory, world.trajectory),
            get(StepInstance, intake.id),
            get(User, world.coach),
            Appointment(now + timedelta(days=2), now + timedelta(days=2, hours=1), "Kamer 7"),
        )
        db.session.commit()

    with in_tenant(app, flevoland):
        from samenleren.coaching.models import CoachProfile

        db.session.scalar(
            select(CoachProfile).where(CoachProfile.user_id == world.coach)
        ).introduction = "Ik ben beleidsadviseur en coach al vijf jaar."
        coach_email = get(User, world.coach).email
        db.session.commit()
    html = _page(_client(app, flevoland, "learner"), "/flevoland/dashboard/learner")
    mine = _section(html, "my-trajectories")
    assert "Ik ben beleidsadviseur en coach al vijf jaar." in mine  # who the coach is
    assert f'href="mailto:{coach_email}"' in mine  # and how to reach them
    coming = _text(_section(html, "coming-up"))
    assert "Kamer 7" in coming
    assert "Training van flevoland: session 3 of 4" in coming  # two are held already
    assert coming.index("Kamer 7") < coming.index("session 3 of 4")  # soonest first


def test_a_learner_with_nothing_planned_is_told_so(app, tenants):
    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        build_world(flevoland)
    html = _page(_client(app, flevoland, "colleague"), "/flevoland/dashboard/learner")
    assert "Nothing is planned yet" in _text(_section(html, "coming-up"))


def test_a_colleague_without_trajectory_sees_how_to_get_one(app, tenants):
    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        build_world(flevoland)
    html = _page(_client(app, flevoland, "colleague"), "/flevoland/dashboard/learner")
    assert "You have no learning trajectory yet" in html
    assert "/trajectories/" not in html
    assert "Anna" not in html


# --- coach ------------------------------------------------------------------------------------


def test_coach_sees_coachee_conversations_coming_up_overdue_and_the_coach_day(app, tenants):
    from samenleren.core.db import utcnow
    from samenleren.core.extensions import db
    from samenleren.trajectories.models import Trajectory
    from samenleren.trajectories.steps import Appointment, schedule_step

    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        world = build_world(flevoland)
        steps = _steps(world)
        soon = utcnow().replace(microsecond=0) + timedelta(days=10)
        schedule_step(
            get(Trajectory, world.trajectory),
            steps["progress"],
            _people(world)["coach"],
            Appointment(soon, soon + timedelta(hours=1), location="Koffiehoek B"),
        )
        db.session.commit()
        overdue = _make_overdue(world, "learning_goals").id
        progress = steps["progress"].id

    html = _page(_client(app, flevoland, "coach"), "/flevoland/dashboard/coach")
    coachees = _section(html, "coachees")
    assert "Anna Learner flevoland" in coachees
    assert f'href="/flevoland/trajectories/{world.trajectory}"' in coachees
    coming = _section(html, "coming-up")
    assert f"/steps/{progress}" in coming and "Koffiehoek B" in coming
    late = _section(html, "coach-overdue")
    assert f"/steps/{overdue}" in late and "Anna Learner flevoland" in late
    assert f"/steps/{progress}" not in late
    day = _section(html, "next-coach-day")
    assert f'href="/flevoland/coach-days/{world.coach_day}"' in day
    assert "Leercoachdag flevoland" in day

    other = _page(_client(app, flevoland, "other_coach"), "/flevoland/dashboard/coach")
    assert "Anna Learner flevoland" not in other
    assert "You coach no learner at the moment." in other


# --- manager ----------------------------------------------------------------------------------


def test_manager_sees_the_reports_trajectory_and_the_intake_awaiting_them(app, tenants):
    from samenleren.core.extensions import db
    from samenleren.trajectories.models import Trajectory
    from samenleren.trajectories.values import record_values

    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        world = build_world(flevoland)
        steps = {key: step.id for key, step in _steps(world).items()}

    client = _client(app, flevoland, "manager")
    html = _page(client, "/flevoland/dashboard/manager")
    team = _section(html, "team-trajectories")
    assert "Anna Learner flevoland" in team
    assert f'href="/flevoland/trajectories/{world.trajectory}"' in team
    assert f"/steps/{steps['learning_goals']}" in team  # where the trajectory stands
    awaiting = _section(html, "awaiting")
    assert f"/steps/{steps['intake']}" in awaiting
    assert "What does the manager expect this trajectory to deliver?" in awaiting
    assert f"/steps/{steps['evaluation']}" in awaiting  # the manager plans it, with the coach
    assert "You plan and close this step." in awaiting
    assert f"/steps/{steps['return_day']}" in awaiting  # expectations three months on
    assert f"/steps/{steps['progress']}" not in awaiting
    assert "Comments" not in _text(awaiting)  # optional and shared: not the manager's task

    with in_tenant(app, flevoland):
        trajectory = get(Trajectory, world.trajectory)
        intake = _steps(world)["intake"]
        record_values(
            trajectory,
            intake,
            _people(world)["manager"],
            {"f.manager_expectations": "Betere adviezen", "f.manager_contribution": "Tijd"},
        )
        db.session.commit()
    awaiting = _section(_page(client, "/flevoland/dashboard/manager"), "awaiting")
    assert f"/steps/{steps['intake']}" not in awaiting
    assert f"/steps/{steps['evaluation']}" in awaiting

    # Someone else's manager sees nothing of Anna.
    with in_tenant(app, flevoland):
        add_user("nina.manager", "manager", name="Nina Manager")
        db.session.commit()
    stranger = app.test_client()
    login(stranger, flevoland, "nina.manager")
    html = _page(stranger, "/flevoland/dashboard/manager")
    assert "Anna Learner flevoland" not in html
    # No link to any trajectory (the navigation's list of the team's trajectories aside).
    assert not re.search(r"/trajectories/[0-9a-f-]{36}", html)


def _next_for_learner(html: str) -> str | None:
    """The step the learner's own start page names as next (its link's step id)."""
    found = re.search(r'<p class="utrecht-paragraph sl-next">.*?/steps/([0-9a-f-]+)"', html, re.S)
    return found.group(1) if found else None


def _current_for_manager(html: str, trajectory) -> str | None:
    """The step in the 'Current step' column of the manager's team table."""
    row = re.search(
        rf'href="/flevoland/trajectories/{trajectory}".*?</tr>',
        _section(html, "team-trajectories"),
        re.S,
    )
    assert row, html
    found = re.search(r"/steps/([0-9a-f-]+)", row.group(0))
    return found.group(1) if found else None


def test_the_managers_team_table_shows_the_step_the_learners_own_page_shows(app, tenants):
    """One definition of where a trajectory stands, at every step of the Flevoland model: the
    learner's next step, not the first open one in the template's order (which may be a step
    the learner has nothing to do in) nor the manager's own next task."""
    from samenleren.core.extensions import db
    from samenleren.trajectories.models import StepState

    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        world = build_world(flevoland)
    learner = _client(app, flevoland, "learner")
    manager = _client(app, flevoland, "manager")
    seen = []
    for _ in range(20):
        learners = _next_for_learner(_page(learner, "/flevoland/dashboard/learner"))
        managers = _current_for_manager(
            _page(manager, "/flevoland/dashboard/manager"), world.trajectory
        )
        assert managers == learners, seen
        if learners is None:
            break
        seen.append(learners)
        with in_tenant(app, flevoland):  # that step done: the next one
            step = next(s for s in _steps(world).values() if str(s.id) == learners)
            step.state = StepState.DONE
            db.session.commit()
    assert len(seen) >= 6, seen  # the model's steps, one after another


# --- trainer ----------------------------------------------------------------------------------


def test_trainer_sees_editions_with_numbers_sessions_and_group_meetings(app, tenants):
    from samenleren.catalogue.models import Enrolment, EnrolmentStatus
    from samenleren.core.extensions import db

    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        world = build_world(flevoland)
        db.session.add(
            Enrolment(
                edition_id=world.edition,
                learner_id=world.colleague,
                status=EnrolmentStatus.WAITLISTED,
            )
        )
        db.session.commit()

    html = _page(_client(app, flevoland, "trainer"), "/flevoland/dashboard/trainer")
    editions = _section(html, "my-editions")
    assert f'href="/flevoland/editions/{world.edition}"' in editions
    row = re.search(r'<th[^>]*scope="row">.*?</tr>', editions, re.S).group(0)
    cells = re.findall(r'<td class="utrecht-table__cell">(.*?)</td>', row, re.S)
    assert [_text(cell).strip() for cell in cells[1:]] == ["1 / 12", "1"]  # enrolled, waiting
    assert "Kennismaking" in _section(html, "next-sessions")
    meetings = _section(html, "group-meetings")
    assert f'href="/flevoland/meetings/{world.meeting}"' in meetings
    assert "Consolidation meeting" in meetings and "Return day" in meetings
    assert "Anna" not in html  # who is in the group is on the edition's page


def test_trainer_dashboard_leaves_out_editions_ended_over_half_a_year_ago(app, tenants):
    """A trainer of many years: the start page does not grow with every edition ever given."""
    from samenleren.catalogue.models import Edition
    from samenleren.core.extensions import db
    from samenleren.trajectories.models import GroupMeeting

    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        world = build_world(flevoland)
        current = db.session.get(Edition, (flevoland.id, world.edition))
        old = Edition(
            training_id=current.training_id,
            name="Voorjaar 2019",
            starts_on=local_today() - timedelta(days=400),
            ends_on=local_today() - timedelta(days=184),
            trainer_id=current.trainer_id,
        )
        db.session.add(old)
        db.session.flush()
        db.session.add(
            GroupMeeting(
                edition_id=old.id,
                step_key="return_day",
                name={"en": "Old return day", "nl": "Oude terugkomdag"},
                due_on=local_today() - timedelta(days=90),
            )
        )
        recent = Edition(
            training_id=current.training_id,
            name="Najaar recent",
            starts_on=local_today() - timedelta(days=300),
            ends_on=local_today() - timedelta(days=182),
            trainer_id=current.trainer_id,
        )
        db.session.add(recent)
        db.session.commit()
        old_id, recent_id = old.id, recent.id

    html = _page(_client(app, flevoland, "trainer"), "/flevoland/dashboard/trainer")
    editions = _section(html, "my-editions")
    assert f'href="/flevoland/editions/{world.edition}"' in editions
    assert f'href="/flevoland/editions/{recent_id}"' in editions
    assert f"/flevoland/editions/{old_id}" not in html
    assert "Old return day" not in _section(html, "group-meetings")
    assert "half a year ago" in editions


# --- programme administrator ------------------------------------------------------------------


def test_admin_sees_learner_without_coach_overdue_steps_and_counts(app, tenants):
    from samenleren.catalogue.models import Enrolment, EnrolmentStatus
    from samenleren.core.db import utcnow
    from samenleren.core.extensions import db
    from samenleren.trajectories.lifecycle import start_trajectory, withdraw_trajectory

    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        world = build_world(flevoland, coached=False)
        overdue = _make_overdue(world, "intake", days=5).id
        _make_overdue(world, "learning_goals", days=2)
        enrolment = Enrolment(
            edition_id=world.edition,
            learner_id=world.colleague,
            status=EnrolmentStatus.ENROLLED,
            enrolled_at=utcnow(),
        )
        db.session.add(enrolment)
        db.session.flush()
        withdraw_trajectory(start_trajectory(enrolment))
        db.session.commit()

    html = _page(_client(app, flevoland, "admin"), "/flevoland/dashboard/programme")
    counts = _text(_section(html, "programme-counts"))
    assert "Running 1" in counts and "Completed 0" in counts and "Withdrawn 1" in counts
    assert "Without a learning coach 1" in counts and "Overdue steps 2" in counts
    # The only running trajectory stands at its first step.
    assert re.search(r"Setting learning goals\s*</th>\s*<td[^>]*>1</td>", html)
    without = _section(html, "without-coach")
    assert f'href="/flevoland/trajectories/{world.trajectory}/coach"' in without
    assert "Anna Learner flevoland" in without
    assert "Cor Colleague" not in without  # withdrawn
    late = _section(html, "programme-overdue")
    assert f'href="/flevoland/trajectories/{world.trajectory}/steps/{overdue}"' in late
    assert late.index(f"/steps/{overdue}") < late.index("Setting learning goals")  # oldest first
    loads = _text(_section(html, "coach-load"))
    assert "Carla Coach flevoland 0 of 3" in loads


def test_a_restricted_trajectory_is_not_listed_as_work_waiting(app, tenants):
    """Frozen for privacy (no coach, no step changes): neither 'without a coach' nor overdue,
    in the counts or the lists; still counted as running."""
    from samenleren.core.extensions import db
    from samenleren.identity.models import User
    from samenleren.privacy.restriction import restrict
    from samenleren.trajectories.models import Trajectory
    from tests.factories import get

    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        world = build_world(flevoland, coached=False)
        overdue = _make_overdue(world, "intake", days=5).id
        db.session.commit()
    client = _client(app, flevoland, "admin")
    before = _page(client, "/flevoland/dashboard/programme")
    assert f"/steps/{overdue}" in _section(before, "programme-overdue")
    with in_tenant(app, flevoland):
        restrict(get(Trajectory, world.trajectory), get(User, world.admin), "Bezwaar")
        db.session.commit()

    html = _page(client, "/flevoland/dashboard/programme")
    counts = _text(_section(html, "programme-counts"))
    assert "Running 1" in counts
    assert "Without a learning coach 0" in counts and "Overdue steps 0" in counts
    assert f"/flevoland/trajectories/{world.trajectory}" not in html


def test_admin_sees_coach_load_and_the_organisation_goal_table(app, tenants):
    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        world = build_world(flevoland)
        _record_ratings(world, "4", "2")

    html = _page(_client(app, flevoland, "admin"), "/flevoland/dashboard/programme")
    assert "Carla Coach flevoland 1 of 3" in _text(_section(html, "coach-load"))
    assert "Every running trajectory has a learning coach." in html
    table = _section(html, "organisation-goals")
    rows = re.findall(r'<tr class="utrecht-table__row">(.*?)</tr>', table, re.S)[1:]
    cells = [_text(row).split() for row in rows]
    first = _text(rows[0])
    assert "A sustainable and accessible province" in first
    assert "province 1 1 4.0 (1 rating) 2.0 (1 rating)" in first
    assert all("0 0 no ratings yet no ratings yet" in " ".join(c) for c in cells[1:])
    assert "does not let the programme administrator read" not in html


def test_the_coach_load_lists_the_fullest_coaches_and_links_to_the_pool(app, tenants):
    """A large pool: the start page lists the 25 fullest coaches, fullest first, says how many
    there are and links to the pool; a province with few coaches sees them all."""
    from samenleren.core.extensions import db
    from samenleren.dashboards.programme import COACHES_SHOWN
    from tests.factories import add_coach

    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        world = build_world(flevoland)  # Carla coaches one learner of 3
        for number in range(COACHES_SHOWN + 5):
            add_coach(f"pool.{number:02d}", capacity=4, name=f"Pool Coach {number:02d}")
        add_coach("spare.zero", capacity=0, name="Zero Capacity")  # never room: listed first
        db.session.commit()

    html = _page(_client(app, flevoland, "admin"), "/flevoland/dashboard/programme")
    loads = _section(html, "coach-load")
    assert loads.count('scope="row"') == COACHES_SHOWN == 25
    text = _text(loads)
    assert text.index("Zero Capacity") < text.index("Carla Coach flevoland 1 of 3")
    assert text.index("Carla Coach flevoland") < text.index("Pool Coach 00 0 of 4")
    # Zero, the world's two coaches, then the empty ones by name: 00 to 21.
    assert "Pool Coach 21" in text and "Pool Coach 22" not in text
    assert f"The fullest 25 of {COACHES_SHOWN + 8} coaches, fullest first." in text
    assert 'href="/flevoland/coaches/"' in loads
    assert world.coach is not None


def test_the_goal_table_is_kept_until_a_rating_changes(app, tenants):
    """The organisation goals' table and the report's headline are counted once and kept
    (`core.changes`): a second view does not count them, a login keeps them, a changed rating
    shows at once."""
    from samenleren.core.extensions import db
    from samenleren.trajectories.models import Trajectory
    from samenleren.trajectories.values import record_values
    from tests.test_isolation import QueryCounter

    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        world = build_world(flevoland)
        _record_ratings(world, "4", "2")
    admin = _client(app, flevoland, "admin")
    counter = QueryCounter(app)

    def goals_row(client) -> str:
        table = _section(_page(client, "/flevoland/dashboard/programme"), "organisation-goals")
        return _text(re.findall(r'<tr class="utrecht-table__row">(.*?)</tr>', table, re.S)[1])

    def counted(statements: list[str]) -> list[str]:
        """The statements of the kept figures: the goal table's, the headline's."""
        return [s for s in statements if "learning_goal_links" in s or "budget_years" in s]

    with in_tenant(app, flevoland):  # a change: the next view counts
        get(Trajectory, world.trajectory).goals[0].title = "Beter presenteren voor publiek"
        db.session.commit()
    with counter.counting() as first:
        assert "province 1 1 4.0 (1 rating) 2.0 (1 rating)" in goals_row(admin)
    with counter.counting() as second:
        assert "province 1 1 4.0 (1 rating) 2.0 (1 rating)" in goals_row(admin)
    assert len(counted(first)) == 2, first
    assert counted(second) == []
    assert len(first) - len(second) == 2, (len(first), len(second))

    _client(app, flevoland, "learner")  # a login writes its session, the user's last login
    with counter.counting() as after_login:
        goals_row(admin)
    assert counted(after_login) == []

    with in_tenant(app, flevoland):
        trajectory = get(Trajectory, world.trajectory)
        goal = trajectory.goals[0]
        record_values(
            trajectory,
            _steps(world)["evaluation"],
            _people(world)["manager"],
            {f"f.attainment_manager.{goal.id}": "5"},
        )
        db.session.commit()
    assert "province 1 1 4.0 (1 rating) 5.0 (1 rating)" in goals_row(admin)


def test_ratings_are_averaged_per_organisation_goal(app, tenants):
    from samenleren.core.extensions import db
    from samenleren.dashboards.programme import programme_dashboard
    from samenleren.identity.models import User

    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        world = build_world(flevoland)
        _record_ratings(world, "5", "3")
        admin = db.session.scalar(select(User).where(User.id == world.admin))
        rows = {row.goal.id: row for row in programme_dashboard(admin).goals}
        first = rows[world.organisation_goals[0]]
        assert (first.learning_goals, first.trajectories) == (1, 1)
        assert (first.by_learner.value, first.by_manager.value) == (5, 3)
        assert rows[world.organisation_goals[1]].by_learner.value is None


# --- switching between dashboards -------------------------------------------------------------


def _switcher(html: str) -> str:
    match = re.search(r'<nav class="sl-switcher" aria-label="[^"]+">(.*?)</nav>', html, re.S)
    assert match, "no role switcher"
    return match.group(1)


def test_the_start_page_shows_the_most_relevant_dashboard_and_remembers_the_choice(app, tenants):
    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        build_world(flevoland)
    client = _client(app, flevoland, "admin")

    home = _page(client, "/flevoland/")
    assert 'id="programme-counts"' in home
    nav = _switcher(home)
    assert re.search(r'href="/flevoland/dashboard/programme" aria-current="page"', nav)
    assert 'href="/flevoland/dashboard/learner"' in nav
    assert nav.count("aria-current") == 1

    learner = _page(client, "/flevoland/dashboard/learner")
    assert 'id="my-trajectories"' in learner and 'id="programme-counts"' not in learner
    assert re.search(r'href="/flevoland/dashboard/learner" aria-current="page"', _switcher(learner))

    home = _page(client, "/flevoland/")  # remembers the last choice
    assert 'id="my-trajectories"' in home and 'id="programme-counts"' not in home

    _page(client, "/flevoland/dashboard/programme")
    assert 'id="programme-counts"' in _page(client, "/flevoland/")


@pytest.mark.parametrize("who", list(PEOPLE))
def test_a_dashboard_of_a_role_one_does_not_hold_is_missing(app, tenants, who):
    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        build_world(flevoland)
    client = _client(app, flevoland, who)
    for board in ("learner", "coach", "manager", "trainer", "programme"):
        answer = client.get(f"/flevoland/dashboard/{board}")
        if board in PEOPLE[who]:
            assert answer.status_code == 200, board
        else:
            assert answer.status_code == 404, board
            assert 'class="sl-dashboard-section"' not in answer.get_data(as_text=True)
    home = _page(client, "/flevoland/")
    if len(PEOPLE[who]) == 1:
        assert 'class="sl-switcher"' not in home  # nothing to switch to
    else:
        links = re.findall(r'href="/flevoland/dashboard/([a-z]+)"', _switcher(home))
        assert links == PEOPLE[who]


def test_dashboards_need_a_login(app, tenants):
    client = app.test_client()
    answer = client.get("/flevoland/dashboard/learner")
    assert answer.status_code == 302
    assert "/flevoland/auth/login" in answer.headers["Location"]


# --- confidentiality --------------------------------------------------------------------------


def test_no_progress_note_reaches_a_manager_trainer_or_admin_dashboard(app, tenants):
    from samenleren.core.extensions import db
    from samenleren.trajectories.models import Trajectory
    from samenleren.trajectories.values import record_values

    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        world = build_world(flevoland)
        _record_ratings(world, "4", "4")
        trajectory = get(Trajectory, world.trajectory)
        progress = _steps(world)["progress"]
        goal = trajectory.goals[0]
        record_values(
            trajectory,
            progress,
            _people(world)["coach"],
            {
                "f.notes": NOTE,
                "f.next_steps": AGREEMENT,
                f"f.progress_per_goal.{goal.id}": NOTE + " (per doel)",
            },
        )
        db.session.commit()
        progress_id = progress.id

    coach = _client(app, flevoland, "coach")
    assert NOTE in _page(coach, f"/flevoland/trajectories/{world.trajectory}/steps/{progress_id}")
    for who in ("manager", "trainer", "admin"):
        client = _client(app, flevoland, who)
        pages = ["/flevoland/"] + [f"/flevoland/dashboard/{b}" for b in PEOPLE[who]]
        for path in pages:
            html = _page(client, path)
            assert NOTE not in html, (who, path)
            assert AGREEMENT not in html, (who, path)
            assert "twijfelt" not in html, (who, path)


def test_join_readable_values_never_joins_a_field_the_viewer_may_not_read(app, tenants):
    from samenleren.core.extensions import db
    from samenleren.identity.models import Role
    from samenleren.trajectories.confidentiality import (
        FieldRef,
        filled_fields,
        join_readable_values,
    )
    from samenleren.trajectories.models import Trajectory
    from samenleren.trajectories.values import record_values

    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        world = build_world(flevoland)
        _record_ratings(world, "4", "2")
        trajectory = get(Trajectory, world.trajectory)
        progress = _steps(world)["progress"]
        record_values(trajectory, progress, _people(world)["coach"], {"f.notes": NOTE})
        db.session.commit()
        version = trajectory.template_version_id
        definitions = {version: trajectory.template_version.content}
        refs = [
            FieldRef(version, "progress", "notes"),
            FieldRef(version, "evaluation", "attainment_learner"),
            FieldRef(version, "evaluation", "no_such_field"),
        ]
        base = select(Trajectory.id)
        for relations, readable in [
            ({Role.PROGRAMME_ADMIN}, ["attainment_learner"]),
            ({Role.MANAGER}, ["attainment_learner"]),
            ({Role.TRAINER}, []),
            ({Role.COACH}, ["notes", "attainment_learner"]),
        ]:
            query, refs_read = join_readable_values(base, definitions, refs, frozenset(relations))
            assert [ref.field_key for ref in refs_read] == readable, relations
            values = [row.value for row in db.session.execute(query) if row.value is not None]
            assert (NOTE in values) == ("notes" in readable), relations
            if "notes" not in readable:
                assert "notes" not in str(query.compile(compile_kwargs={"literal_binds": True}))
        # Whether a note was written is not the manager's business either.
        definition_of = {trajectory.id: trajectory.template_version.content}
        assert filled_fields(definition_of, [progress], frozenset({Role.MANAGER})) == {}
        assert filled_fields(definition_of, [progress], frozenset({Role.COACH})) == {
            progress.id: {"notes"}
        }


# --- SQL queries: few, and not growing with the data ------------------------------------------


def _grow(app, tenant, world: World, count: int, start: int) -> None:
    """`count` more learners in the edition (reporting to the manager, coached by the coach),
    with goals linked to an organisation goal, ratings, an overdue step and waiting places."""
    from samenleren.catalogue.models import Enrolment, EnrolmentStatus
    from samenleren.core.db import utcnow
    from samenleren.core.extensions import db
    from samenleren.identity.models import User
    from samenleren.trajectories.goals import GoalInput, set_learning_goals
    from samenleren.trajectories.lifecycle import start_trajectory
    from samenleren.trajectories.models import StepInstance
    from samenleren.trajectories.values import record_values

    with in_tenant(app, tenant):
        manager = get(User, world.manager)
        for i in range(start, start + count):
            learner = add_user(
                f"extra.{i}", "learner", manager_id=world.manager, department_id=world.department
            )
            enrolment = Enrolment(
                edition_id=world.edition,
                learner_id=learner.id,
                status=EnrolmentStatus.ENROLLED if i % 5 else EnrolmentStatus.WAITLISTED,
                enrolled_at=utcnow(),
            )
            db.session.add(enrolment)
            db.session.flush()
            if enrolment.status is EnrolmentStatus.WAITLISTED:
                continue
            trajectory = start_trajectory(enrolment)
            if i % 3:
                trajectory.coach_id = world.coach  # over capacity on purpose: a data-size test
            set_learning_goals(
                trajectory,
                learner,
                [GoalInput(f"Doel {i}", "", [str(world.organisation_goals[i % 2])])],
            )
            goal = trajectory.goals[0]
            steps = {
                s.step_key: s
                for s in db.session.scalars(
                    select(StepInstance).where(StepInstance.trajectory_id == trajectory.id)
                )
            }
            record_values(
                trajectory, steps["evaluation"], learner, {f"f.attainment_learner.{goal.id}": "3"}
            )
            record_values(
                trajectory, steps["evaluation"], manager, {f"f.attainment_manager.{goal.id}": "4"}
            )
            steps["learning_goals"].due_on = steps["learning_goals"].due_on - timedelta(days=40)
        db.session.commit()


def _count(app, client, paths: list[str]) -> dict[str, int]:
    from tests.test_isolation import QueryCounter

    counter = QueryCounter(app)
    counts = {}
    for path in paths:
        client.get(path)  # warm: first-request work is not per-page cost
        with counter.counting() as statements:
            answer = client.get(path)
        assert answer.status_code == 200, path
        assert len(statements) <= 8, f"{path}: {len(statements)} queries\n" + "\n".join(
            " ".join(s.split()) for s in statements
        )
        counts[path] = len(statements)
    return counts


def test_queries_per_dashboard_are_few_and_constant_in_data_size(app, tenants):
    from samenleren.core.extensions import db
    from samenleren.identity.models import User

    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        world = build_world(flevoland)
        # The worst case for every page: each person has a manager and a department to show.
        for user in db.session.scalars(select(User)):
            user.department_id = user.department_id or world.coach_department
            if user.id != world.admin:
                user.manager_id = user.manager_id or world.admin
            else:
                user.manager_id = world.manager
        db.session.commit()
    clients = {who: _client(app, flevoland, who) for who in PEOPLE}
    paths = {
        who: ["/flevoland/"] + [f"/flevoland/dashboard/{b}" for b in boards]
        for who, boards in PEOPLE.items()
    }

    _grow(app, flevoland, world, 5, 0)
    small = {who: _count(app, clients[who], paths[who]) for who in PEOPLE}
    _grow(app, flevoland, world, 45, 5)  # ten times the trajectories
    large = {who: _count(app, clients[who], paths[who]) for who in PEOPLE}
    assert large == small, "queries grow with the data"

    # ... and the pages really show the grown data.
    admin = _page(clients["admin"], "/flevoland/dashboard/programme")
    assert "Running 41" in _text(_section(admin, "programme-counts"))
    assert "28 of 3" in _text(_section(admin, "coach-load"))
    manager = _page(clients["manager"], "/flevoland/dashboard/manager")
    assert _section(manager, "team-trajectories").count('scope="row"') == 41
