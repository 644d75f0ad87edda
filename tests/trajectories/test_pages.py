"""Trajectory pages over HTTP: a whole Flevoland trajectory, refused input, queries per page."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from samenleren.core.formatting import local_today
from tests.conftest import login
from tests.factories import World, build_world, get, in_tenant
from tests.test_isolation import QueryCounter, valid_csrf_token


def client_for(app: Flask, world: World, who: str) -> FlaskClient:
    """A client logged in as one of the world's people (keeping their name and e-mail)."""
    from samenleren.identity.models import User

    with in_tenant(app, world.tenant):
        user = get(User, getattr(world, who))
        claims = {"name": user.name, "email": user.email}
    client = app.test_client()
    answer = login(client, world.tenant, World.subjects[who], **claims)
    assert answer.status_code == 302
    return client


def post(app: Flask, client: FlaskClient, path: str, data: dict | list | None = None):
    token = valid_csrf_token(app, client)
    if isinstance(data, list):
        data = MultiDict([*data, ("csrf_token", token)])
    else:
        data = {**(data or {}), "csrf_token": token}
    return client.post(path, data=data)


def step_ids(app: Flask, world: World) -> dict[str, uuid.UUID]:
    from samenleren.trajectories.models import StepInstance

    with in_tenant(app, world.tenant):
        from samenleren.core.extensions import db

        return {
            key: step_id
            for key, step_id in db.session.execute(
                select(StepInstance.step_key, StepInstance.id)
                .where(StepInstance.trajectory_id == world.trajectory)
                .order_by(StepInstance.occurrence)
            )
        }


def states(app: Flask, world: World) -> dict[str, str]:
    from samenleren.core.extensions import db
    from samenleren.trajectories.models import StepInstance

    with in_tenant(app, world.tenant):
        return {
            key: state.value
            for key, state in db.session.execute(
                select(StepInstance.step_key, StepInstance.state).where(
                    StepInstance.trajectory_id == world.trajectory
                )
            )
        }


def goal_ids(app: Flask, world: World) -> list[uuid.UUID]:
    from samenleren.core.extensions import db
    from samenleren.trajectories.models import LearningGoal

    with in_tenant(app, world.tenant):
        return list(
            db.session.scalars(
                select(LearningGoal.id)
                .where(LearningGoal.trajectory_id == world.trajectory)
                .order_by(LearningGoal.position)
            )
        )


@pytest.fixture
def world(app, tenants) -> World:
    with in_tenant(app, tenants["flevoland"]):
        return build_world(tenants["flevoland"], coached=False)


def test_a_whole_flevoland_trajectory_over_http(app, world):
    base = f"/flevoland/trajectories/{world.trajectory}"
    admin = client_for(app, world, "admin")
    learner = client_for(app, world, "learner")
    coach = client_for(app, world, "coach")
    manager = client_for(app, world, "manager")
    trainer = client_for(app, world, "trainer")

    # The admin assigns a coach from the suggestions.
    page = admin.get(f"{base}/coach").get_data(as_text=True)
    assert "Carla Coach flevoland" in page
    assert post(app, admin, f"{base}/coach", {"coach": str(world.coach)}).status_code == 303

    # Learner sets goals, linked to organisation goals.
    answer = post(
        app,
        learner,
        f"{base}/goals",
        [
            ("goal-0-title", "Helder adviseren aan het bestuur"),
            ("goal-0-organisation_goals", str(world.organisation_goals[2])),
            ("goal-1-title", "Plannen met partners"),
            ("goal-1-organisation_goals", str(world.organisation_goals[0])),
            ("goal-1-organisation_goals", str(world.organisation_goals[1])),
        ],
    )
    assert answer.status_code == 303
    goals = goal_ids(app, world)
    assert len(goals) == 2
    steps = step_ids(app, world)
    assert post(app, coach, f"{base}/steps/{steps['learning_goals']}/complete").status_code == 303

    # Intake: the coach plans it, the manager records expectations, the coach closes it.
    intake = f"{base}/steps/{steps['intake']}"
    assert (
        post(
            app,
            coach,
            f"{intake}/schedule",
            {"starts_at": "2027-01-10T10:00", "ends_at": "2027-01-10T11:00", "location": "Kamer 3"},
        ).status_code
        == 303
    )
    assert (
        post(
            app,
            manager,
            f"{intake}/values",
            {
                "f.manager_expectations": "Zelfstandig adviseren aan GS",
                "f.manager_contribution": "Ruimte in de agenda",
            },
        ).status_code
        == 303
    )
    # Closing it asks who took part (three participants): a role that is not one is refused,
    # and the step stays open.
    assert 'name="present-asked"' in coach.get(intake).get_data(as_text=True)
    present = [("present-asked", "1"), ("present", "learner"), ("present", "manager")]
    refused = post(app, coach, f"{intake}/complete", [*present, ("present", "trainer")])
    assert refused.status_code == 422
    assert "utrecht-form-fieldset--invalid" in refused.get_data(as_text=True)  # the fieldset

    def intake_row():
        from samenleren.core.extensions import db
        from samenleren.trajectories.models import StepInstance

        with in_tenant(app, world.tenant):
            row = db.session.scalars(
                select(StepInstance).where(StepInstance.id == steps["intake"])
            ).one()
            return row.state.value, row.present_roles

    assert intake_row() == ("scheduled", None)
    closing = [*present, ("present", "coach")]
    assert post(app, coach, f"{intake}/complete", closing).status_code == 303
    assert intake_row() == ("done", ["coach", "learner", "manager"])
    assert "Waren erbij" in coach.get(intake).get_data(as_text=True)  # "Took part"

    # The training: the trainer closes it.
    assert post(app, trainer, f"{base}/steps/{steps['training']}/complete").status_code == 303

    # Progress: confidential notes per goal, a second conversation planned.
    progress = f"{base}/steps/{steps['progress']}"
    assert (
        post(
            app,
            coach,
            f"{progress}/values",
            {
                f"f.progress_per_goal.{goals[0]}": "Eerste advies geschreven",
                f"f.progress_per_goal.{goals[1]}": "Nog niet aan toegekomen",
                "f.notes": "Vertrouwelijk: twijfelt over de rol",
            },
        ).status_code
        == 303
    )
    assert post(app, coach, f"{progress}/complete").status_code == 303
    assert post(app, coach, f"{base}/occurrences", {"step_key": "progress"}).status_code == 303
    second = step_ids(app, world)["progress"]
    assert second != steps["progress"]
    assert (
        post(app, coach, f"{base}/steps/{second}/skip", {"reason": "Doelen al bereikt"}).status_code
        == 303
    )

    # Evaluation: both rate every goal, the manager closes.
    evaluation = f"{base}/steps/{steps['evaluation']}"
    learner_ratings = {f"f.attainment_learner.{g}": "4" for g in goals}
    manager_ratings = {f"f.attainment_manager.{g}": "3" for g in goals}
    assert post(app, learner, f"{evaluation}/values", learner_ratings).status_code == 303
    assert (
        post(
            app, manager, f"{evaluation}/values", {**manager_ratings, "f.expectations_met": "4"}
        ).status_code
        == 303
    )
    assert post(app, manager, f"{evaluation}/complete").status_code == 303

    # Consolidation and return day: group meetings held by the trainer.
    for key, answers in (
        ("consolidation", {"f.application_plan": "Elke maand een advies laten reviewen"}),
        ("return_day", {"f.applied": "Drie adviezen", "f.tips_given": "Kort schrijven"}),
    ):
        step_page = learner.get(f"{base}/steps/{steps[key]}").get_data(as_text=True)
        meeting = re.search(r'href="/flevoland/meetings/([0-9a-f-]{36})"', step_page).group(1)
        assert post(app, learner, f"{base}/steps/{steps[key]}/values", answers).status_code == 303
        assert (
            post(
                app,
                trainer,
                f"/flevoland/meetings/{meeting}/schedule",
                {
                    "starts_at": "2027-04-01T13:00",
                    "ends_at": "2027-04-01T16:00",
                    "location": "Zaal",
                },
            ).status_code
            == 303
        )
        assert (
            post(
                app,
                trainer,
                f"/flevoland/meetings/{meeting}/close",
                [("present", str(world.learner)), ("outcome", "Mooie verhalen gedeeld")],
            ).status_code
            == 303
        )
    assert (
        post(
            app,
            manager,
            f"{base}/steps/{steps['return_day']}/values",
            {"f.expectations_met_later": "5"},
        ).status_code
        == 303
    )

    # Six months on, the look back without a meeting: the learner closes it.
    follow_up = f"{base}/steps/{steps['follow_up']}/complete"
    assert post(app, learner, follow_up).status_code == 303

    assert set(states(app, world).values()) <= {"done", "skipped"}
    from samenleren.trajectories.models import Trajectory

    with in_tenant(app, world.tenant):
        assert get(Trajectory, world.trajectory).status.value == "completed"
    page = learner.get(base).get_data(as_text=True)
    assert "Every step of this trajectory is done." in page or "Alle stappen" in page


def _flash_or_error(page: str) -> str:
    return " ".join(
        re.findall(r'class="utrecht-form-field-error-message[^"]*"[^>]*>([^<]+)<', page)
    )


def test_bad_input_is_refused_next_to_the_field_and_nothing_is_written(app, world):
    from samenleren.core.extensions import db
    from samenleren.trajectories.models import FieldValue, LearningGoal, StepInstance

    base = f"/flevoland/trajectories/{world.trajectory}"
    learner = client_for(app, world, "learner")
    coach = client_for(app, world, "coach")
    admin = client_for(app, world, "admin")
    steps = step_ids(app, world)

    # A goal without an organisation goal (the tenant requires one).
    answer = post(app, learner, f"{base}/goals", {"goal-0-title": "Zonder doel"})
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    assert 'id="err-goal-0-organisation_goals"' in page
    assert 'value="Zonder doel"' in page  # the input is kept

    # A rating of 9.
    assert (
        post(
            app,
            learner,
            f"{base}/goals",
            {
                "goal-0-title": "Met doel",
                "goal-0-organisation_goals": str(world.organisation_goals[0]),
            },
        ).status_code
        == 303
    )
    goal = goal_ids(app, world)[0]
    answer = post(
        app,
        learner,
        f"{base}/steps/{steps['evaluation']}/values",
        {f"f.attainment_learner.{goal}": "9"},
    )
    assert answer.status_code == 422
    assert f'id="err-f-attainment_learner-{goal}"' in answer.get_data(as_text=True)

    # Dates in the wrong order (the coach is not assigned yet: the admin assigns first).
    assert post(app, admin, f"{base}/coach", {"coach": str(world.coach)}).status_code == 303
    answer = post(
        app,
        coach,
        f"{base}/steps/{steps['intake']}/schedule",
        {"starts_at": "2027-01-10T11:00", "ends_at": "2027-01-10T10:00", "location": "Kamer 3"},
    )
    assert answer.status_code == 422
    assert 'id="err-ends_at"' in answer.get_data(as_text=True)
    assert 'aria-invalid="true"' in answer.get_data(as_text=True)

    # A step closed by someone not responsible (the learner cannot close the intake).
    answer = post(app, learner, f"{base}/steps/{steps['intake']}/complete")
    assert answer.status_code == 422
    assert 'role="alert"' in answer.get_data(as_text=True)

    # A coach over capacity.
    with in_tenant(app, world.tenant):
        from samenleren.coaching.models import CoachProfile

        profile = db.session.scalar(
            select(CoachProfile).where(CoachProfile.user_id == world.other_coach)
        )
        profile.capacity = 0
        db.session.commit()
    answer = post(
        app, admin, f"{base}/coach", {"coach": str(world.other_coach), "reason": "Wissel"}
    )
    assert answer.status_code == 422
    assert 'id="err-coach"' in answer.get_data(as_text=True)

    with in_tenant(app, world.tenant):
        assert db.session.scalar(select(func.count()).select_from(FieldValue)) == 0
        assert db.session.scalar(select(func.count()).select_from(LearningGoal)) == 1
        intake = get(StepInstance, steps["intake"])
        assert intake.state.value == "planned" and intake.starts_at is None


def test_strangers_get_404_and_people_see_only_their_part(app, world):
    base = f"/flevoland/trajectories/{world.trajectory}"
    colleague = client_for(app, world, "colleague")
    assert colleague.get(base).status_code == 404
    assert colleague.get(f"{base}/goals").status_code == 404
    other_coach = client_for(app, world, "other_coach")
    assert other_coach.get(base).status_code == 404
    trainer = client_for(app, world, "trainer")
    assert trainer.get(base).status_code == 200
    assert trainer.get(f"{base}/goals").status_code == 404  # goals are not the trainer's business
    assert trainer.get(f"{base}/coach").status_code == 404


def test_the_learner_may_pick_a_coach_when_the_tenant_allows_it(app, world):
    from samenleren.core.extensions import db
    from samenleren.core.tenant import Tenant

    base = f"/flevoland/trajectories/{world.trajectory}"
    learner = client_for(app, world, "learner")
    answer = post(app, learner, f"{base}/coach", {"coach": str(world.coach)})
    assert answer.status_code == 422
    with app.app_context():
        db.session.get(Tenant, world.tenant.id).learners_choose_coach = True
        db.session.commit()
    assert post(app, learner, f"{base}/coach", {"coach": str(world.coach)}).status_code == 303
    answer = post(app, learner, f"{base}/coach", {"coach": str(world.other_coach), "reason": "x"})
    assert answer.status_code == 422  # changing a coach stays with the admin


def _grow(app: Flask, world: World, count: int) -> None:
    """More learners with trajectories in the same edition, and more goals for the learner."""
    from samenleren.catalogue.models import Enrolment, EnrolmentStatus
    from samenleren.core.db import utcnow
    from samenleren.core.extensions import db
    from samenleren.identity.models import User
    from samenleren.trajectories.lifecycle import start_trajectory
    from samenleren.trajectories.models import LearningGoal, LearningGoalLink
    from tests.factories import add_user

    with in_tenant(app, world.tenant):
        for _ in range(count):
            person = add_user(f"extra.{uuid.uuid4().hex[:8]}", "learner")
            enrolment = Enrolment(
                edition_id=world.edition,
                learner_id=person.id,
                status=EnrolmentStatus.ENROLLED,
                enrolled_at=utcnow(),
            )
            db.session.add(enrolment)
            db.session.flush()
            start_trajectory(enrolment)
            goal = LearningGoal(trajectory_id=world.trajectory, title=f"Doel {person.subject}")
            db.session.add(goal)
            db.session.flush()
            db.session.add(
                LearningGoalLink(
                    learning_goal_id=goal.id, organisation_goal_id=world.organisation_goals[0]
                )
            )
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(User)) > count


@pytest.mark.parametrize("who", ["learner", "admin", "manager", "coach"])
def test_queries_per_trajectory_page_are_few_and_constant(app, tenants, who):
    with in_tenant(app, tenants["flevoland"]):
        world = build_world(tenants["flevoland"])
    client = client_for(app, world, who)
    steps = step_ids(app, world)
    pages = [
        f"/flevoland/trajectories/{world.trajectory}",
        f"/flevoland/trajectories/{world.trajectory}/steps/{steps['evaluation']}",
        f"/flevoland/trajectories/{world.trajectory}/steps/{steps['consolidation']}",
    ]
    if who in {"learner", "admin", "manager", "coach"}:
        pages.append(f"/flevoland/trajectories/{world.trajectory}/goals")
    counter = QueryCounter(app)

    def measure() -> dict[str, int]:
        counts = {}
        for page in pages:
            client.get(page)
            with counter.counting() as statements:
                answer = client.get(page)
            assert answer.status_code == 200, page
            counts[page] = len(statements)
        return counts

    _grow(app, world, 1)  # one goal already: a page with goals loads their links (1 query)
    small = measure()
    _grow(app, world, 3)
    medium = measure()
    _grow(app, world, 27)
    large = measure()
    assert all(count <= 8 for count in large.values()), large
    assert small == medium == large, (small, large)


def test_meeting_page_is_for_the_group_its_coaches_and_who_runs_it(app, world):
    path = f"/flevoland/meetings/{world.meeting}"
    assert client_for(app, world, "learner").get(path).status_code == 200
    assert client_for(app, world, "trainer").get(path).status_code == 200
    assert client_for(app, world, "admin").get(path).status_code == 200
    assert client_for(app, world, "colleague").get(path).status_code == 404
    assert client_for(app, world, "manager").get(path).status_code == 404


def test_due_dates_follow_the_edition(app, world):
    from samenleren.core.extensions import db
    from samenleren.trajectories.models import StepInstance

    with in_tenant(app, world.tenant):
        due = dict(
            db.session.execute(
                select(StepInstance.step_key, StepInstance.due_on).where(
                    StepInstance.trajectory_id == world.trajectory
                )
            ).all()
        )
    assert due["learning_goals"] == local_today() + timedelta(days=14)
    assert due["return_day"] > due["consolidation"] > due["evaluation"] > due["training"]


def test_your_turn_marks_only_the_step_that_is_yours_now(app, world):
    """The learner of a new trajectory has several steps to do (goals, then later conversations
    to prepare); "your turn" stands on the first of them only. The admin, who runs the
    training, the consolidation and the return day, has one turn too: the training."""
    page = client_for(app, world, "learner").get(f"/flevoland/trajectories/{world.trajectory}")
    assert page.status_code == 200
    timeline = page.get_data(as_text=True).split('id="timeline-heading"', 1)[1]
    assert timeline.count("jij bent aan de beurt") == 1
    first_item = timeline.split("</li>", 1)[0]
    assert "jij bent aan de beurt" in first_item

    admin_page = client_for(app, world, "admin").get(f"/flevoland/trajectories/{world.trajectory}")
    items = admin_page.get_data(as_text=True).split('id="timeline-heading"', 1)[1].split("</li>")
    turns = [item for item in items if "jij bent aan de beurt" in item]
    assert len(turns) == 1 and ">Training<" in turns[0]


def test_a_milestone_offers_no_appointment_and_refuses_one(app, world):
    """A milestone is a moment to mark done ("certificate received"): its page has no
    appointment form, and a posted appointment is refused with a message, changing nothing."""
    from samenleren.catalogue.enrolment import enrol
    from samenleren.catalogue.models import Edition
    from samenleren.core.extensions import db
    from samenleren.identity.models import User
    from samenleren.trajectories.models import StepInstance, Trajectory
    from tests.process_templates.helpers import publish_version

    publish_version(app, world)  # version 2: a "kickoff" milestone in front
    with in_tenant(app, world.tenant):
        enrolment = enrol(
            get(Edition, world.edition), get(User, world.colleague), get(User, world.admin)
        )
        db.session.flush()
        trajectory = db.session.scalar(
            select(Trajectory).where(Trajectory.enrolment_id == enrolment.id)
        )
        kickoff = db.session.scalar(
            select(StepInstance).where(
                StepInstance.trajectory_id == trajectory.id, StepInstance.step_key == "kickoff"
            )
        )
        db.session.commit()
        base = f"/flevoland/trajectories/{trajectory.id}/steps/{kickoff.id}"
    colleague = client_for(app, world, "colleague")
    page = colleague.get(base)
    assert page.status_code == 200
    assert 'id="schedule-heading"' not in page.get_data(as_text=True)
    answer = post(
        app,
        colleague,
        f"{base}/schedule",
        {"starts_at": "2027-03-01T10:00", "ends_at": "2027-03-01T11:00", "location": "Kamer"},
    )
    assert answer.status_code == 422
    assert "mijlpaal" in answer.get_data(as_text=True)
    with in_tenant(app, world.tenant):
        step = get(StepInstance, kickoff.id)
        assert step.starts_at is None and step.state.value != "scheduled"
