"""Process templates as data: the built-in Flevoland model, validation, versions."""

from __future__ import annotations

import copy

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select

from samenleren.process_templates.definition import TemplateDefinition
from samenleren.process_templates.services import builtin_definition
from tests.factories import build_world, get, in_tenant


def flevoland() -> dict:
    return copy.deepcopy(builtin_definition("flevoland"))


def test_the_flevoland_model_matches_the_table_in_domain_md():
    definition = TemplateDefinition.model_validate(flevoland())
    steps = [
        (s.key, s.kind.value, sorted(p.value for p in s.participants)) for s in definition.steps
    ]
    assert steps == [
        ("learning_goals", "conversation", ["coach", "learner"]),
        ("intake", "conversation", ["coach", "learner", "manager"]),
        ("training", "training_session", ["learner", "trainer"]),
        ("progress", "conversation", ["coach", "learner"]),
        ("evaluation", "conversation", ["coach", "learner", "manager"]),
        ("consolidation", "group_meeting", ["coach", "learner", "trainer"]),
        ("return_day", "group_meeting", ["learner", "trainer"]),
        # Not in the seed's table: the mail-only look back at the expected results.
        ("follow_up", "milestone", ["learner", "manager"]),
    ]
    for step in definition.steps:
        assert step.name["nl"] and step.name["en"], step.key
        for field in step.fields:
            assert field.label["nl"] and field.label["en"], field.key
    progress = definition.step("progress")
    assert progress.confidential and progress.repeat.min == 1 and progress.repeat.max > 1
    assert definition.step("return_day").timing.offset_months == 3
    assert definition.step("follow_up").timing.offset_months == 6
    moments = {
        f.moment.value: (s.key, sorted(e.value for e in f.editors))
        for s in definition.steps
        for f in s.fields
        if f.moment is not None
    }
    assert moments == {
        "evaluation": ("evaluation", ["learner", "manager"]),
        "three_months": ("return_day", ["learner", "manager"]),
        "six_months": ("follow_up", ["learner", "manager"]),
    }
    (expected,) = [
        f for f in definition.step("intake").fields if f.type.value == "expected_results"
    ]
    assert sorted(e.value for e in expected.editors) == ["coach", "manager"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["steps"].clear(), "at least one step"),
        (lambda d: d["steps"][1].update(timing={"anchor": "step", "step": "return_day"}), "before"),
        (lambda d: d["steps"][1].update(timing={"anchor": "step", "step": "intake"}), "before"),
        (
            lambda d: d["steps"][3]["fields"][1].update(readers=["learner", "coach", "manager"]),
            "may not be readable by manager",
        ),
        (
            lambda d: d["steps"][1]["fields"][0].update(readers=["programme_admin"]),
            "may not be readable by programme_admin",
        ),
        (lambda d: d["steps"][3].update(repeat={"min": 3, "max": 2}), "at least more often"),
        (lambda d: d["steps"][0].update(responsible=[]), "nobody is responsible"),
        (lambda d: d["steps"][0].update(kind="party"), "kind"),
        (lambda d: d.update(schema_version=2), "schema version 2"),
        (lambda d: d["steps"][2].update(key="intake"), "share this key"),
        (
            lambda d: d["steps"][0]["fields"][0].update(type="rating", per_goal=False, editors=[]),
            "fills",
        ),
    ],
)
def test_invalid_templates_are_refused_with_a_message_naming_the_step(change, message):
    document = flevoland()
    change(document)
    with pytest.raises(ValidationError) as refused:
        TemplateDefinition.model_validate(document)
    assert message in str(refused.value)


def test_a_trajectory_keeps_the_version_it_started_on(app, tenants):
    from samenleren.catalogue.models import Enrolment, EnrolmentStatus
    from samenleren.core.db import utcnow
    from samenleren.core.extensions import db
    from samenleren.process_templates.models import TemplateVersion, VersionStatus
    from samenleren.process_templates.services import current_version
    from samenleren.trajectories.lifecycle import start_trajectory
    from samenleren.trajectories.models import StepInstance, Trajectory
    from tests.factories import add_user

    with in_tenant(app, tenants["flevoland"]):
        world = build_world(tenants["flevoland"])
        first = current_version()
        document = flevoland()
        document["steps"][3]["repeat"] = {"min": 2, "max": 5, "interval_days": 30}
        second = TemplateVersion(
            template_id=first.template_id,
            number=2,
            status=VersionStatus.PUBLISHED,
            definition=document,
            published_at=utcnow(),
        )
        db.session.add(second)
        db.session.flush()
        newcomer = add_user("nieuw.lid", "learner")
        enrolment = Enrolment(
            edition_id=world.edition,
            learner_id=newcomer.id,
            status=EnrolmentStatus.ENROLLED,
            enrolled_at=utcnow(),
        )
        db.session.add(enrolment)
        db.session.flush()
        late = start_trajectory(enrolment)
        db.session.commit()
        assert late.template_version_id == second.id
        assert get(Trajectory, world.trajectory).template_version_id == first.id

        def progress_count(trajectory_id):
            return db.session.scalar(
                select(func.count())
                .select_from(StepInstance)
                .where(
                    StepInstance.trajectory_id == trajectory_id,
                    StepInstance.step_key == "progress",
                )
            )

        assert progress_count(world.trajectory) == 1
        assert progress_count(late.id) == 2


def test_every_onboarded_tenant_gets_the_flevoland_model(app, tenants):
    from samenleren.core.extensions import db
    from samenleren.process_templates.models import ProcessTemplate, TemplateVersion

    for tenant in tenants.values():
        with in_tenant(app, tenant):
            assert db.session.scalar(select(func.count()).select_from(ProcessTemplate)) == 1
            version = db.session.scalar(select(TemplateVersion))
            assert version.status.value == "published"
            assert version.content.step("intake").name_in("en") == "Intake conversation"
