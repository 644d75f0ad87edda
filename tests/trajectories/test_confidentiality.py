"""Who may see what, for every role and every kind of field, in every page.

The expectations below are written from the confidentiality rules, not read from the template,
so a template or service that shows too much fails here. Every field of every step is filled
with a marker text; then each person opens every page of the trajectory they can reach, and the
markers they must not read may not appear anywhere (nor in the service that pages, exports and
search use).
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.factories import World, build_world, get, in_tenant
from tests.trajectories.test_pages import client_for

#: field key -> (marker, who may read it by the rules besides the learner)
TEXT_FIELDS = {
    # learning goals step: latent needs are for learner and coach only
    "latent_needs": ("MARK-latent-needs", {"coach"}),
    # intake: the manager's expectations are the manager's, coach's and learner's business
    "manager_expectations": ("MARK-expectations", {"coach", "manager"}),
    "manager_contribution": ("MARK-contribution", {"coach", "manager"}),
    # progress conversation: confidential between learner and coach, never anyone else
    "notes": ("MARK-progress-notes", {"coach"}),
    "next_steps": ("MARK-next-steps", {"coach"}),
    "progress_per_goal": ("MARK-progress-per-goal", {"coach"}),
    # evaluation comments: not for the trainer nor the admin (free text)
    "evaluation_notes": ("MARK-evaluation-notes", {"coach", "manager"}),
    # group-meeting outcomes: the trainer may read them
    "application_plan": ("MARK-application-plan", {"coach", "manager", "trainer"}),
    "applied": ("MARK-applied", {"coach", "manager", "trainer"}),
    "tips_received": ("MARK-tips-received", {"coach", "manager", "trainer"}),
}
#: rating fields -> who may read them: aggregates are the admin's business, not the trainer's
RATING_FIELDS = {
    "attainment_learner": {"coach", "manager", "programme_admin"},
    "attainment_manager": {"coach", "manager", "programme_admin"},
    "expectations_met": {"coach", "manager", "programme_admin"},
    "expectations_met_later": {"coach", "manager", "programme_admin"},
}
GOAL_MARKER = "MARK-learning-goal"
#: Who may read the learning goals (besides learner and coach).
GOAL_READERS = {"manager", "programme_admin"}
#: world person -> the relation they have to the trajectory
PEOPLE = {
    "learner": "learner",
    "coach": "coach",
    "manager": "manager",
    "trainer": "trainer",
    "admin": "programme_admin",
    "other_coach": None,
    "colleague": None,
}


def _fill_everything(app, world: World) -> None:
    from samenleren.core.extensions import db
    from samenleren.identity.models import User
    from samenleren.trajectories.goals import GoalInput, set_learning_goals
    from samenleren.trajectories.models import StepInstance, Trajectory
    from samenleren.trajectories.values import record_values

    with in_tenant(app, world.tenant):
        trajectory = get(Trajectory, world.trajectory)
        people = {name: get(User, getattr(world, name)) for name in ("learner", "coach", "manager")}
        set_learning_goals(
            trajectory,
            people["learner"],
            [GoalInput(GOAL_MARKER, "", [str(world.organisation_goals[0])])],
        )
        goal = str(trajectory.goals[0].id)
        steps = {
            s.step_key: s
            for s in db.session.scalars(
                select(StepInstance).where(StepInstance.trajectory_id == trajectory.id)
            )
        }
        spec = trajectory.template_version.content
        for step_key, step in steps.items():
            for field in spec.step(step_key).fields:
                if field.type.value in ("goals", "expected_results", "result_rating"):
                    continue  # kept in their own tables, tested in test_expected_results.py
                if field.key in TEXT_FIELDS:
                    value = TEXT_FIELDS[field.key][0]
                elif field.type.value == "rating":
                    value = "4"
                else:
                    value = f"MARK-{field.key}"
                editor = next(p for p in ("learner", "coach", "manager") if p in field.editors)
                name = f"f.{field.key}.{goal}" if field.per_goal else f"f.{field.key}"
                record_values(trajectory, step, people[editor], {name: value})
        db.session.commit()


def _pages(world: World, steps: list, meetings: list) -> list[str]:
    base = f"/flevoland/trajectories/{world.trajectory}"
    return [
        "/flevoland/",
        base,
        f"{base}/goals",
        f"{base}/coach",
        *(f"{base}/steps/{step}" for step in steps),
        *(f"/flevoland/meetings/{meeting}" for meeting in meetings),
    ]


@pytest.mark.parametrize("person", list(PEOPLE))
def test_each_role_sees_exactly_what_domain_md_allows(app, tenants, person):
    from samenleren.core.extensions import db
    from samenleren.identity.models import User
    from samenleren.trajectories.confidentiality import readable_values
    from samenleren.trajectories.models import StepInstance, Trajectory
    from samenleren.trajectories.permissions import relations_to

    with in_tenant(app, tenants["flevoland"]):
        world = build_world(tenants["flevoland"])
    _fill_everything(app, world)
    relation = PEOPLE[person]
    with in_tenant(app, world.tenant):
        steps = db.session.execute(
            select(StepInstance.id, StepInstance.group_meeting_id).where(
                StepInstance.trajectory_id == world.trajectory
            )
        ).all()
    client = client_for(app, world, person)
    seen = ""
    for path in _pages(world, [s for s, _ in steps], {m for _, m in steps if m}):
        answer = client.get(path)
        assert answer.status_code in {200, 404}, (path, answer.status_code)
        seen += answer.get_data(as_text=True)

    for key, (marker, readers) in TEXT_FIELDS.items():
        allowed = relation == "learner" or relation in readers
        assert (marker in seen) == allowed, f"{person} {'misses' if allowed else 'sees'} {key}"
    goals_allowed = relation in {"learner", "coach"} | GOAL_READERS
    assert (GOAL_MARKER in seen) == goals_allowed, f"{person} and the learning goals"

    # Ratings, as pages, exports and search get them: through the confidentiality service.
    with in_tenant(app, world.tenant):
        trajectory = get(Trajectory, world.trajectory)
        viewer = get(User, getattr(world, person))
        relations = relations_to(trajectory, viewer)
        all_steps = db.session.scalars(
            select(StepInstance).where(StepInstance.trajectory_id == trajectory.id)
        ).all()
        readable = readable_values(trajectory.template_version.content, all_steps, relations)
        keys = {key for values in readable.values() for key in values}
    for key, readers in RATING_FIELDS.items():
        allowed = relation == "learner" or relation in readers
        assert (key in keys) == allowed, f"{person} and rating {key}"
    for key, (_marker, readers) in TEXT_FIELDS.items():
        assert (key in keys) == (relation == "learner" or relation in readers), key
    if relation is None:
        assert keys == set()


def test_a_refused_write_does_not_echo_what_the_writer_may_not_read(app, tenants):
    """The manager posting into the confidential progress step gets a refusal that shows none of
    the stored notes."""
    from samenleren.core.extensions import db
    from samenleren.trajectories.models import StepInstance
    from tests.test_isolation import valid_csrf_token

    with in_tenant(app, tenants["flevoland"]):
        world = build_world(tenants["flevoland"])
    _fill_everything(app, world)
    with in_tenant(app, world.tenant):
        progress = db.session.scalar(
            select(StepInstance.id).where(
                StepInstance.trajectory_id == world.trajectory,
                StepInstance.step_key == "progress",
            )
        )
    manager = client_for(app, world, "manager")
    path = f"/flevoland/trajectories/{world.trajectory}/steps/{progress}"
    page = manager.get(path).get_data(as_text=True)
    assert "MARK-progress-notes" not in page
    token = valid_csrf_token(app, manager)
    answer = manager.post(f"{path}/values", data={"f.notes": "x", "csrf_token": token})
    assert answer.status_code == 422
    assert "MARK-progress-notes" not in answer.get_data(as_text=True)


def test_every_read_of_a_confidential_step_is_audited_without_its_text(app, tenants):
    """Learner and coach reading the progress notes are recorded too; the manager, who sees
    nothing of them, leaves no such event; no event holds the note."""
    from samenleren.core.extensions import db
    from samenleren.trajectories.models import StepInstance
    from tests.audit.helpers import events

    tenant = tenants["flevoland"]
    with in_tenant(app, tenant):
        world = build_world(tenant)
    _fill_everything(app, world)
    with in_tenant(app, world.tenant):
        progress = db.session.scalar(
            select(StepInstance.id).where(
                StepInstance.trajectory_id == world.trajectory,
                StepInstance.step_key == "progress",
            )
        )
    path = f"/flevoland/trajectories/{world.trajectory}/steps/{progress}"
    for person in ("learner", "coach", "manager", "admin"):
        page = client_for(app, world, person).get(path)
        assert page.status_code == 200
    viewed = events(app, tenant, "trajectory.values_viewed")
    readers = {event.actor_id for event in viewed if event.details.get("step") == "progress"}
    assert readers == {world.learner, world.coach}
    for event in viewed:
        assert event.subject_id == str(world.trajectory)
        assert "MARK" not in repr(event.details)
    coach_read = next(e for e in viewed if e.actor_id == world.coach)
    assert coach_read.details == {"step": "progress", "occurrence": 1}
