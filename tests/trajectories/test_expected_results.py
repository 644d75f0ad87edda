"""Expected results at the intake and their ratings by learner and manager, over HTTP."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.factories import World, build_world, in_tenant
from tests.trajectories.test_pages import client_for, goal_ids, post, step_ids


@pytest.fixture
def world(app, tenants) -> World:
    with in_tenant(app, tenants["flevoland"]):
        return build_world(tenants["flevoland"])


def _goals(app, world: World, client) -> list:
    base = f"/flevoland/trajectories/{world.trajectory}"
    answer = post(
        app,
        client,
        f"{base}/goals",
        [
            ("goal-0-title", "Helder adviseren aan het bestuur"),
            ("goal-0-organisation_goals", str(world.organisation_goals[0])),
            ("goal-1-title", "Plannen met partners"),
            ("goal-1-organisation_goals", str(world.organisation_goals[1])),
        ],
    )
    assert answer.status_code == 303
    return goal_ids(app, world)


def _results(app, world: World):
    from samenleren.core.extensions import db
    from samenleren.trajectories.models import ExpectedResult

    with in_tenant(app, world.tenant):
        return [
            (row.learning_goal_id, row.observable, row.contribution)
            for row in db.session.scalars(
                select(ExpectedResult)
                .where(ExpectedResult.trajectory_id == world.trajectory)
                .order_by(ExpectedResult.position)
            )
        ]


def _ratings(app, world: World, result_id: str | None = None) -> dict:
    """{(moment, rater): (level, example, contribution done)} of one result (or of all, when
    there is one)."""
    from samenleren.core.extensions import db
    from samenleren.trajectories.models import ResultRating

    query = select(ResultRating)
    if result_id is not None:
        query = query.where(ResultRating.expected_result_id == result_id)
    with in_tenant(app, world.tenant):
        return {
            (row.moment, row.rater_role): (row.level.value, row.example, row.contribution_done)
            for row in db.session.scalars(query)
        }


def test_the_manager_sets_expected_results_and_both_rate_them(app, world, english):
    base = f"/flevoland/trajectories/{world.trajectory}"
    learner = client_for(app, world, "learner")
    manager = client_for(app, world, "manager")
    goals = _goals(app, world, learner)
    steps = step_ids(app, world)
    intake = f"{base}/steps/{steps['intake']}"

    form = manager.get(intake).get_data(as_text=True)
    assert "What will we see at work when this worked?" in form
    answer = post(
        app,
        manager,
        f"{intake}/expected-results",
        {
            "result-0-goal": str(goals[0]),
            "result-0-observable": "Adviezen aan GS zijn op één A4",
            "result-0-contribution": "Ik lees de eerste drie adviezen mee",
            "result-1-goal": str(goals[1]),
            "result-1-observable": "Partners worden vroeg betrokken",
            "result-2-goal": "",
            "result-2-observable": "",
        },
    )
    assert answer.status_code == 303, answer.get_data(as_text=True)
    assert _results(app, world) == [
        (goals[0], "Adviezen aan GS zijn op één A4", "Ik lees de eerste drie adviezen mee"),
        (goals[1], "Partners worden vroeg betrokken", ""),
    ]
    # The learner reads them but does not set them.
    page = learner.get(intake).get_data(as_text=True)
    assert "Adviezen aan GS zijn op één A4" in page
    refused = post(
        app,
        learner,
        f"{intake}/expected-results",
        {"result-0-goal": str(goals[0]), "result-0-observable": "Iets anders"},
    )
    assert refused.status_code == 422
    assert _results(app, world)[0][1] == "Adviezen aan GS zijn op één A4"

    # Three months on (the return day), each rates for themselves.
    from samenleren.core.extensions import db
    from samenleren.trajectories.models import ExpectedResult

    with in_tenant(app, world.tenant):
        first, second = (
            str(i)
            for i in db.session.scalars(select(ExpectedResult.id).order_by(ExpectedResult.position))
        )
    return_day = f"{base}/steps/{steps['return_day']}"
    assert "Your rating" in manager.get(return_day).get_data(as_text=True)
    assert (
        post(
            app,
            learner,
            f"{return_day}/result-ratings",
            {
                f"rating-{first}-level": "applied",
                f"rating-{first}-example": "Het advies over de N23 paste op één A4",
                f"rating-{second}-level": "partly",
            },
        ).status_code
        == 303
    )
    assert (
        post(
            app,
            manager,
            f"{return_day}/result-ratings",
            {
                f"rating-{first}-level": "exceeded",
                f"rating-{first}-contribution": "yes",
                f"rating-{second}-level": "not_yet",
            },
        ).status_code
        == 303
    )
    assert _ratings(app, world, first) == {
        ("three_months", "learner"): ("applied", "Het advies over de N23 paste op één A4", None),
        ("three_months", "manager"): ("exceeded", "", True),
    }
    assert _ratings(app, world, second) == {
        ("three_months", "learner"): ("partly", "", None),
        ("three_months", "manager"): ("not_yet", "", None),
    }
    page = manager.get(return_day).get_data(as_text=True)
    assert "Het advies over de N23 paste op één A4" in page  # the learner's example
    # The admin reads none of the words on the step page.
    admin_page = client_for(app, world, "admin").get(return_day).get_data(as_text=True)
    assert "Het advies over de N23" not in admin_page
    assert "Adviezen aan GS" not in admin_page


def test_bad_ratings_and_results_are_refused_and_nothing_is_written(app, world, english):
    base = f"/flevoland/trajectories/{world.trajectory}"
    learner = client_for(app, world, "learner")
    manager = client_for(app, world, "manager")
    steps = step_ids(app, world)
    intake = f"{base}/steps/{steps['intake']}"
    # No learning goals yet.
    answer = post(
        app, manager, f"{intake}/expected-results", {"result-0-observable": "Iets zichtbaars"}
    )
    assert answer.status_code == 422
    goals = _goals(app, world, learner)
    for form, message in [
        ({"result-0-goal": str(goals[0]), "result-0-observable": ""}, "Describe what will be"),
        ({"result-0-goal": "not-a-goal", "result-0-observable": "X"}, "Choose one of the learner"),
        ({"result-0-goal": str(goals[0]), "result-0-observable": "x" * 1001}, "At most 1000"),
        ({"result-0-goal": "", "result-0-observable": ""}, "Give from 1 to 5"),
    ]:
        answer = post(app, manager, f"{intake}/expected-results", form)
        assert answer.status_code == 422, form
        assert message in answer.get_data(as_text=True), form
    six = [(f"result-{i}-goal", str(goals[0])) for i in range(6)] + [
        (f"result-{i}-observable", f"Resultaat {i}") for i in range(6)
    ]
    assert post(app, manager, f"{intake}/expected-results", six).status_code == 422
    assert _results(app, world) == []

    ok = {"result-0-goal": str(goals[0]), "result-0-observable": "Zichtbaar"}
    assert post(app, manager, f"{intake}/expected-results", ok).status_code == 303
    (result_id,) = _result_ids(app, world)
    evaluation = f"{base}/steps/{steps['evaluation']}/result-ratings"
    for who, form in [
        (learner, {f"rating-{result_id}-level": "brilliant"}),
        (
            learner,
            {f"rating-{result_id}-level": "applied", f"rating-{result_id}-contribution": "yes"},
        ),
        (
            manager,
            {f"rating-{result_id}-level": "applied", f"rating-{result_id}-contribution": "x"},
        ),
        (learner, {f"rating-{result_id}-example": "Alleen een voorbeeld"}),
        (learner, {"rating-00000000-0000-0000-0000-000000000000-level": "applied"}),
    ]:
        assert post(app, who, evaluation, form).status_code == 422, form
    # The coach does not rate; neither does anyone in a step that asks for no rating.
    coach_answer = post(
        app, client_for(app, world, "coach"), evaluation, {f"rating-{result_id}-level": "applied"}
    )
    assert coach_answer.status_code in {404, 422}
    no_rating = f"{base}/steps/{steps['learning_goals']}/result-ratings"
    assert (
        post(app, learner, no_rating, {f"rating-{result_id}-level": "applied"}).status_code == 422
    )
    assert _ratings(app, world) == {}


def _result_ids(app, world: World) -> list[str]:
    from samenleren.core.extensions import db
    from samenleren.trajectories.models import ExpectedResult

    with in_tenant(app, world.tenant):
        return [str(i) for i in db.session.scalars(select(ExpectedResult.id))]


def test_a_rating_is_replaced_and_removed_by_its_own_rater(app, world):
    base = f"/flevoland/trajectories/{world.trajectory}"
    learner = client_for(app, world, "learner")
    manager = client_for(app, world, "manager")
    goals = _goals(app, world, learner)
    steps = step_ids(app, world)
    ok = {"result-0-goal": str(goals[0]), "result-0-observable": "Zichtbaar"}
    assert (
        post(app, manager, f"{base}/steps/{steps['intake']}/expected-results", ok).status_code
        == 303
    )
    (result_id,) = _result_ids(app, world)
    follow_up = f"{base}/steps/{steps['follow_up']}/result-ratings"
    level = f"rating-{result_id}-level"
    assert post(app, learner, follow_up, {level: "partly"}).status_code == 303
    assert post(app, manager, follow_up, {level: "applied"}).status_code == 303
    assert post(app, learner, follow_up, {level: "exceeded"}).status_code == 303
    assert _ratings(app, world) == {
        ("six_months", "learner"): ("exceeded", "", None),
        ("six_months", "manager"): ("applied", "", None),
    }
    assert post(app, learner, follow_up, {level: ""}).status_code == 303
    assert set(_ratings(app, world)) == {("six_months", "manager")}
    # Another result in the same place loses the ratings of the old one.
    other = {"result-0-goal": str(goals[1]), "result-0-observable": "Iets anders"}
    assert (
        post(app, manager, f"{base}/steps/{steps['intake']}/expected-results", other).status_code
        == 303
    )
    assert _ratings(app, world) == {}


def test_a_required_expected_results_field_keeps_the_step_open(app, world):
    """The template decides: with `required`, the intake cannot close without a result."""
    from samenleren.core.extensions import db
    from samenleren.process_templates.definition import FieldType
    from samenleren.trajectories.models import StepInstance, Trajectory
    from samenleren.trajectories.results import missing_for_completion
    from tests.factories import get

    with in_tenant(app, world.tenant):
        trajectory = get(Trajectory, world.trajectory)
        spec = trajectory.template_version.content.step("intake")
        fields = [
            f.model_copy(update={"required": f.type is FieldType.EXPECTED_RESULTS})
            for f in spec.fields
        ]
        required = spec.model_copy(update={"fields": fields})
        step = db.session.scalar(
            select(StepInstance).where(
                StepInstance.trajectory_id == world.trajectory, StepInstance.step_key == "intake"
            )
        )
        assert set(missing_for_completion(trajectory, required, step)) == {"f.expected_results"}
        assert missing_for_completion(trajectory, spec, step) == {}
