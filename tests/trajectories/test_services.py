"""The trajectory services: starting, timing, who may do what, values, goals, group meetings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from dateutil.relativedelta import relativedelta
from sqlalchemy import func, select

from samenleren.core.errors_input import FORM, InvalidInput
from samenleren.core.formatting import local_today
from tests.factories import build_world, get, in_tenant


def _load(world):
    from samenleren.core.extensions import db
    from samenleren.identity.models import User
    from samenleren.trajectories.models import StepInstance, Trajectory

    trajectory = get(Trajectory, world.trajectory)
    people = {
        name: get(User, getattr(world, name))
        for name in ("learner", "manager", "coach", "other_coach", "trainer", "admin", "colleague")
    }
    steps = {
        (s.step_key, s.occurrence): s
        for s in db.session.scalars(
            select(StepInstance).where(StepInstance.trajectory_id == trajectory.id)
        )
    }
    return trajectory, people, steps


def test_enrolment_starts_a_trajectory_with_every_flevoland_step_timed(app, tenants):
    with in_tenant(app, tenants["flevoland"]):
        world = build_world(tenants["flevoland"])
        trajectory, _, steps = _load(world)
        edition = trajectory.edition
        assert sorted(key for key, _ in steps) == sorted(
            [
                "consolidation",
                "evaluation",
                "follow_up",
                "intake",
                "learning_goals",
                "progress",
                "return_day",
                "training",
            ]
        )
        assert steps[("return_day", 1)].due_on == edition.ends_on + relativedelta(months=3)
        assert steps[("follow_up", 1)].due_on == edition.ends_on + relativedelta(months=6)
        assert steps[("intake", 1)].due_on == edition.starts_on - timedelta(days=7)
        assert steps[("learning_goals", 1)].due_on == local_today() + timedelta(days=14)
        assert steps[("consolidation", 1)].group_meeting_id == world.meeting
        assert trajectory.template_version.number == 1
        assert trajectory.coach_id == world.coach


def test_rating_out_of_range_is_refused_and_nothing_written(app, tenants):
    from samenleren.core.extensions import db
    from samenleren.trajectories.goals import GoalInput, set_learning_goals
    from samenleren.trajectories.models import FieldValue
    from samenleren.trajectories.values import record_values

    with in_tenant(app, tenants["flevoland"]):
        world = build_world(tenants["flevoland"])
        trajectory, people, steps = _load(world)
        set_learning_goals(
            trajectory,
            people["learner"],
            [GoalInput("Beter presenteren", "", [str(world.organisation_goals[0])])],
        )
        goal = trajectory.goals[0]
        evaluation = steps[("evaluation", 1)]
        with pytest.raises(InvalidInput) as refused:
            record_values(
                trajectory, evaluation, people["learner"], {f"f.attainment_learner.{goal.id}": "9"}
            )
        assert f"f.attainment_learner.{goal.id}" in refused.value.errors
        with pytest.raises(InvalidInput) as refused:
            record_values(
                trajectory, evaluation, people["learner"], {f"f.attainment_manager.{goal.id}": "4"}
            )
        assert set(refused.value.errors) == {f"f.attainment_manager.{goal.id}"}
        assert db.session.scalar(select(func.count()).select_from(FieldValue)) == 0
        record_values(
            trajectory, evaluation, people["learner"], {f"f.attainment_learner.{goal.id}": "4"}
        )
        assert db.session.scalar(select(FieldValue.value)) == {str(goal.id): 4}


def test_only_the_responsible_close_a_step_and_only_when_complete(app, tenants):
    from samenleren.trajectories.models import StepState
    from samenleren.trajectories.steps import complete_step
    from samenleren.trajectories.values import record_values

    with in_tenant(app, tenants["flevoland"]):
        world = build_world(tenants["flevoland"])
        trajectory, people, steps = _load(world)
        intake = steps[("intake", 1)]
        with pytest.raises(InvalidInput) as refused:
            complete_step(trajectory, intake, people["learner"])
        assert FORM in refused.value.errors
        with pytest.raises(InvalidInput) as refused:
            complete_step(trajectory, intake, people["coach"])
        assert set(refused.value.errors) == {"f.manager_expectations", "f.manager_contribution"}
        record_values(
            trajectory,
            intake,
            people["manager"],
            {"f.manager_expectations": "Zelfstandig adviseren", "f.manager_contribution": "Tijd"},
        )
        complete_step(trajectory, intake, people["coach"])
        assert intake.state is StepState.DONE


def test_goal_without_organisation_goal_is_refused_when_the_tenant_requires_one(app, tenants):
    from samenleren.trajectories.goals import GoalInput, set_learning_goals

    with in_tenant(app, tenants["flevoland"]):
        world = build_world(tenants["flevoland"])
        trajectory, people, _ = _load(world)
        with pytest.raises(InvalidInput) as refused:
            set_learning_goals(trajectory, people["learner"], [GoalInput("Plannen", "", [])])
        assert "goal-0-organisation_goals" in refused.value.errors
        assert trajectory.goals == []
        with pytest.raises(InvalidInput):
            set_learning_goals(trajectory, people["manager"], [GoalInput("X", "", [])])


def test_dates_in_the_wrong_order_are_refused(app, tenants):
    from samenleren.trajectories.steps import Appointment, schedule_step

    with in_tenant(app, tenants["flevoland"]):
        world = build_world(tenants["flevoland"])
        trajectory, people, steps = _load(world)
        start = datetime(2027, 1, 10, 10, tzinfo=UTC)
        with pytest.raises(InvalidInput) as refused:
            schedule_step(
                trajectory,
                steps[("intake", 1)],
                people["coach"],
                Appointment(start, start - timedelta(hours=1), "Kamer 3"),
            )
        assert "ends_at" in refused.value.errors
        schedule_step(
            trajectory,
            steps[("intake", 1)],
            people["coach"],
            Appointment(start, start + timedelta(hours=1), "Kamer 3"),
        )
        assert steps[("intake", 1)].location == "Kamer 3"


def test_coach_matching_respects_the_hard_rules(app, tenants):
    from samenleren.coaching.assignment import assign_coach
    from samenleren.coaching.matching import suggest_coaches
    from samenleren.core.extensions import db
    from tests.factories import add_coach

    with in_tenant(app, tenants["flevoland"]):
        world = build_world(tenants["flevoland"], coached=False)
        trajectory, people, _ = _load(world)
        learner = people["learner"]
        same_department = add_coach("zelfde.afdeling", department=learner.department)
        boss = people["manager"]
        from samenleren.coaching.models import CoachProfile

        db.session.add(CoachProfile(user_id=boss.id, capacity=5))
        full = add_coach("vol.coach", capacity=0)
        report = add_coach("ondergeschikte")
        report.manager_id = learner.id
        db.session.flush()
        suggested = [c.user.id for c in suggest_coaches(learner)]
        assert set(suggested) == {world.coach, world.other_coach}
        for wrong in (same_department, boss, full, report, learner):
            with pytest.raises(InvalidInput) as refused:
                assign_coach(trajectory, wrong, people["admin"])
            assert "coach" in refused.value.errors or FORM in refused.value.errors
        assert trajectory.coach_id is None
        assign_coach(trajectory, people["coach"], people["admin"])
        with pytest.raises(InvalidInput) as refused:
            assign_coach(trajectory, people["other_coach"], people["admin"])
        assert "reason" in refused.value.errors
        assign_coach(trajectory, people["other_coach"], people["admin"], "Klik was er niet")
        assert trajectory.coach_id == world.other_coach


def test_group_meeting_closes_every_learners_step(app, tenants):
    from samenleren.trajectories.meetings import close_meeting, schedule_meeting
    from samenleren.trajectories.models import GroupMeeting, StepState
    from samenleren.trajectories.steps import Appointment

    with in_tenant(app, tenants["flevoland"]):
        world = build_world(tenants["flevoland"])
        _trajectory, people, steps = _load(world)
        meeting = get(GroupMeeting, world.meeting)
        start = datetime(2027, 3, 1, 13, tzinfo=UTC)
        with pytest.raises(InvalidInput):
            schedule_meeting(meeting, people["coach"], Appointment(start, start, "Zaal"))
        schedule_meeting(
            meeting, people["trainer"], Appointment(start, start + timedelta(hours=3), "Zaal")
        )
        assert steps[("consolidation", 1)].state is StepState.SCHEDULED
        close_meeting(meeting, people["trainer"], {world.learner}, "Veel geleerd")
        assert steps[("consolidation", 1)].state is StepState.DONE


def test_moving_an_edition_moves_the_steps_not_yet_planned(app, tenants):
    from samenleren.catalogue.editions import EditionInput, update_edition
    from samenleren.catalogue.models import Edition
    from samenleren.trajectories.models import GroupMeeting
    from samenleren.trajectories.steps import Appointment, schedule_step

    with in_tenant(app, tenants["flevoland"]):
        world = build_world(tenants["flevoland"])
        trajectory, people, steps = _load(world)
        edition = get(Edition, world.edition)
        agreed = datetime(2027, 1, 10, 10, tzinfo=UTC)
        intake = steps[("intake", 1)]
        schedule_step(
            trajectory,
            intake,
            people["coach"],
            Appointment(agreed, agreed + timedelta(hours=1), "Kamer 3"),
        )
        intake_due = intake.due_on
        later = timedelta(days=14)
        update_edition(
            edition,
            people["admin"],
            EditionInput(
                name=edition.name,
                starts_on=edition.starts_on + later,
                ends_on=edition.ends_on + later,
                location=edition.location,
                trainer_id=edition.trainer_id,
            ),
        )
        assert steps[("return_day", 1)].due_on == edition.ends_on + relativedelta(months=3)
        assert steps[("evaluation", 1)].due_on == edition.ends_on + timedelta(days=14)
        assert steps[("learning_goals", 1)].due_on == local_today() + timedelta(days=14)
        assert intake.due_on == intake_due  # an agreed appointment stays
        meeting = get(GroupMeeting, world.meeting)
        assert meeting.due_on == edition.ends_on + timedelta(days=28)


def test_who_took_part_is_asked_of_open_conversations_of_three_or_more_only():
    from samenleren.process_templates.definition import TemplateDefinition
    from samenleren.process_templates.services import FLEVOLAND_KEY, builtin_definition
    from samenleren.trajectories.steps import asks_presence

    model = TemplateDefinition.model_validate(builtin_definition(FLEVOLAND_KEY))
    asked = {step.key for step in model.steps if asks_presence(step)}
    assert {"intake", "evaluation"} <= asked
    assert "progress" not in asked  # learner and coach, confidential
    assert "training" not in asked and "return_day" not in asked  # not conversations
    intake = model.step("intake")
    assert not asks_presence(intake.model_copy(update={"confidential": True}))
