"""Drafts of process templates: validation (every problem, naming step and field), publishing,
discarding, and what publishing means for trajectories."""

from __future__ import annotations

import copy

import pytest
from sqlalchemy import func, select

from samenleren.process_templates.services import builtin_definition
from tests.factories import add_user, build_world, get, in_tenant

pytestmark = pytest.mark.usefixtures("english")


def flevoland() -> dict:
    return copy.deepcopy(builtin_definition("flevoland"))


def validate(document: dict, language: str = "nl"):
    from samenleren.process_templates.validation import validate_definition

    return validate_definition(document, language)


def test_the_flevoland_model_has_no_problems(app):
    with app.test_request_context():
        assert validate(flevoland()) == []
        assert validate(flevoland(), "en") == []


def _step(document: dict, key: str) -> dict:
    return next(s for s in document["steps"] if s["key"] == key)


def _field(document: dict, step: str, key: str) -> dict:
    return next(f for f in _step(document, step)["fields"] if f["key"] == key)


@pytest.mark.parametrize(
    ("change", "step", "field", "words"),
    [
        (lambda d: d["steps"].clear(), None, None, "no steps"),
        (
            lambda d: _step(d, "intake").update(timing={"anchor": "step", "step": "return_day"}),
            "intake",
            None,
            "comes later",
        ),
        (
            lambda d: _step(d, "intake").update(timing={"anchor": "step", "step": "intake"}),
            "intake",
            None,
            "the step itself",
        ),
        (
            lambda d: _field(d, "progress", "notes").update(
                readers=["learner", "coach", "manager"]
            ),
            "progress",
            "notes",
            "the manager may not read",
        ),
        (
            lambda d: _field(d, "intake", "manager_expectations").update(
                readers=["programme_admin"]
            ),
            "intake",
            "manager_expectations",
            "the programme administrator may not read",
        ),
        (
            lambda d: _step(d, "progress").update(repeat={"min": 3, "max": 2}),
            "progress",
            None,
            "at least 3 times but at most 2",
        ),
        (
            lambda d: _step(d, "learning_goals").update(responsible=[]),
            "learning_goals",
            None,
            "nobody is responsible",
        ),
        (
            lambda d: _step(d, "evaluation").update(name={"en": "Evaluation"}),
            "evaluation",
            None,
            "name in Nederlands is missing",
        ),
        (
            lambda d: _field(d, "evaluation", "expectations_met").update(label={"en": "Met?"}),
            "evaluation",
            "expectations_met",
            "label in Nederlands is missing",
        ),
        (
            lambda d: _step(d, "training").update(key="intake"),
            "intake",
            None,
            "another step has the key",
        ),
        (
            lambda d: _field(d, "progress", "next_steps").update(key="notes"),
            "progress",
            "notes",
            "another field of this step has the key",
        ),
        (
            lambda d: _field(d, "progress", "next_steps").update(type="choice"),
            "progress",
            "next_steps",
            "needs at least one choice",
        ),
        (
            lambda d: _field(d, "return_day", "applied").update(editors=[]),
            "return_day",
            "applied",
            "nobody fills this field in",
        ),
        (
            lambda d: _step(d, "intake").update(
                timing={"anchor": "edition_start", "offset_days": 999}
            ),
            "intake",
            None,
            "must be at most 731",
        ),
        (
            lambda d: _step(d, "intake").update(kind="party"),
            "intake",
            None,
            "kind of step",
        ),
        (lambda d: d.update(schema_version=2), None, None, "format is not supported"),
        (
            lambda d: _field(d, "return_day", "applied").update(colour="red"),
            "return_day",
            "applied",
            "colour",
        ),
    ],
)
def test_each_rule_gives_a_problem_naming_step_and_field(app, change, step, field, words):
    document = flevoland()
    change(document)
    with app.test_request_context():
        problems = validate(document)
    matching = [p for p in problems if words in p.message]
    assert matching, [p.message for p in problems]
    assert (matching[0].step, matching[0].field) == (step, field)
    if step is not None:
        assert "Step “" in matching[0].message
    if field is not None:
        assert ", field “" in matching[0].message


def test_all_problems_are_listed_not_only_the_first(app):
    document = flevoland()
    _step(document, "progress").update(repeat={"min": 3, "max": 2})
    _field(document, "progress", "notes").update(readers=["manager"])
    _step(document, "intake").update(responsible=[])
    _field(document, "evaluation", "expectations_met").update(editors=[])
    with app.test_request_context():
        problems = validate(document)
    assert {(p.step, p.field) for p in problems} == {
        ("progress", None),
        ("progress", "notes"),
        ("intake", None),
        ("evaluation", "expectations_met"),
    }


def test_problems_are_translated(app):
    from flask_babel import force_locale

    document = flevoland()
    _step(document, "intake").update(responsible=[])
    with app.test_request_context(), force_locale("nl"):
        (problem,) = validate(document)
    assert problem.message.startswith("Stap “Intakegesprek”")


def test_garbage_never_passes(app):
    with app.test_request_context():
        assert validate([]) != []
        assert validate({"schema_version": 1, "steps": "many"}) != []
        assert validate({"schema_version": 1, "steps": [1, None]}) != []


# --- drafts and publishing --------------------------------------------------------------------


def _template():
    from samenleren.core.extensions import db
    from samenleren.process_templates.models import ProcessTemplate

    return db.session.scalar(select(ProcessTemplate).where(ProcessTemplate.is_default))


def _enrol(world, subject: str):
    from samenleren.catalogue.models import Enrolment, EnrolmentStatus
    from samenleren.core.db import utcnow
    from samenleren.core.extensions import db
    from samenleren.trajectories.lifecycle import start_trajectory

    learner = add_user(subject, "learner")
    enrolment = Enrolment(
        edition_id=world.edition,
        learner_id=learner.id,
        status=EnrolmentStatus.ENROLLED,
        enrolled_at=utcnow(),
    )
    db.session.add(enrolment)
    db.session.flush()
    return start_trajectory(enrolment)


def test_publishing_a_valid_draft_makes_a_new_version_new_trajectories_use(app, tenants):
    from samenleren.audit.models import AuditEvent
    from samenleren.core.extensions import db
    from samenleren.identity.models import User
    from samenleren.process_templates.drafts import (
        PublishedVersionChanged,
        draft_of,
        publish_draft,
        save_draft_definition,
        start_draft,
    )
    from samenleren.process_templates.models import TemplateVersion, VersionStatus
    from samenleren.process_templates.services import current_version
    from samenleren.trajectories.models import StepInstance, Trajectory

    with in_tenant(app, tenants["flevoland"]), app.test_request_context():
        world = build_world(tenants["flevoland"])
        admin = get(User, world.admin)
        template = _template()
        first = current_version()
        draft = start_draft(template, admin)
        assert (draft.number, draft.status, draft.origin) == (2, VersionStatus.DRAFT, "version 1")
        assert draft_of(template) == draft
        document = copy.deepcopy(draft.definition)
        _step(document, "return_day")["timing"] = {"anchor": "edition_end", "offset_months": 6}
        save_draft_definition(draft, document)
        db.session.commit()
        # A draft is not used for new trajectories.
        assert current_version().id == first.id
        published = publish_draft(draft, admin)
        db.session.commit()
        assert published.status is VersionStatus.PUBLISHED
        assert published.published_by_id == admin.id and published.published_at is not None
        assert current_version().id == published.id
        assert draft_of(template) is None
        events = db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.subject_id == str(published.id))
        ).all()
        assert "template.published" in events
        late = _enrol(world, "laat.lid")
        db.session.commit()
        assert late.template_version_id == published.id
        assert get(Trajectory, world.trajectory).template_version_id == first.id
        edition_end = late.edition.ends_on
        return_day = db.session.scalar(
            select(StepInstance.due_on).where(
                StepInstance.trajectory_id == late.id, StepInstance.step_key == "return_day"
            )
        )
        assert (return_day.year * 12 + return_day.month) - (
            edition_end.year * 12 + edition_end.month
        ) == 6
        # Published is immutable: services refuse, and so does the database layer.
        with pytest.raises(Exception, match="published"):
            save_draft_definition(published, flevoland())
        published.definition = flevoland()
        with pytest.raises(PublishedVersionChanged):
            db.session.flush()
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(TemplateVersion)) == 2


def test_publish_refuses_an_invalid_draft_and_writes_nothing(app, tenants):
    from samenleren.audit.models import AuditEvent
    from samenleren.core.errors_input import FORM, InvalidInput
    from samenleren.core.extensions import db
    from samenleren.identity.models import User
    from samenleren.process_templates.drafts import (
        publish_draft,
        save_draft_definition,
        start_draft,
    )
    from samenleren.process_templates.models import TemplateVersion, VersionStatus
    from samenleren.process_templates.services import current_version

    with in_tenant(app, tenants["flevoland"]), app.test_request_context():
        world = build_world(tenants["flevoland"])
        admin = get(User, world.admin)
        draft = start_draft(_template(), admin)
        document = copy.deepcopy(draft.definition)
        _step(document, "progress")["repeat"] = {"min": 5, "max": 2}
        _field(document, "progress", "notes")["readers"] = ["learner", "coach", "manager"]
        save_draft_definition(draft, document)
        db.session.commit()
        draft_id = draft.id
        with pytest.raises(InvalidInput) as refused:
            publish_draft(draft, admin)
        db.session.rollback()
        assert "2 problems" in refused.value.errors[FORM]
        assert len(refused.value.problems) == 2
        again = get(TemplateVersion, draft_id)
        assert again.status is VersionStatus.DRAFT and again.published_at is None
        assert current_version().number == 1
        assert not db.session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "template.published")
        )


def test_one_draft_at_a_time_and_discarding(app, tenants):
    from samenleren.core.errors_input import InvalidInput
    from samenleren.core.extensions import db
    from samenleren.identity.models import User
    from samenleren.process_templates.drafts import (
        discard_draft,
        draft_of,
        new_draft,
        publish_draft,
        start_draft,
    )

    with in_tenant(app, tenants["flevoland"]), app.test_request_context():
        world = build_world(tenants["flevoland"])
        admin = get(User, world.admin)
        template = _template()
        draft = start_draft(template, admin)
        with pytest.raises(InvalidInput):
            start_draft(template, admin)
        with pytest.raises(InvalidInput):
            new_draft(template, flevoland(), admin, origin="import")
        discard_draft(draft, admin)
        db.session.commit()
        assert draft_of(template) is None
        imported = new_draft(template, flevoland(), admin, origin="import")
        assert imported.number == 2
        published = publish_draft(imported, admin)
        with pytest.raises(InvalidInput):
            discard_draft(published, admin)
        db.session.commit()


def test_the_demo_has_a_draft_in_progress_with_one_problem(app, tenants):
    from samenleren.core.extensions import db
    from samenleren.core.tenant import Tenant
    from samenleren.demo.seed import seed_tenant
    from samenleren.process_templates.drafts import draft_of, problems_of

    with app.test_request_context():
        flevoland = db.session.get(Tenant, tenants["flevoland"].id)
        seed_tenant(flevoland)
        seed_tenant(flevoland)  # a second seed adds no second draft
        with in_tenant(app, tenants["flevoland"]):
            draft = draft_of(_template())
            assert draft is not None and draft.number == 2
            document = draft.definition
            assert _step(document, "return_day")["timing"]["offset_months"] == 6
            assert _step(document, "progress")["repeat"]["max"] == 5
            assert (
                _field(document, "evaluation", "cijfer_voor_de_leercoach_1_5")["type"] == "rating"
            )
            (problem,) = problems_of(draft)
            assert problem.step == "terugblik_met_de_leidinggevende" and problem.field is None
            assert "nobody is responsible" in problem.message


def test_making_another_template_the_default(app, tenants):
    from samenleren.core.errors_input import InvalidInput
    from samenleren.core.extensions import db
    from samenleren.identity.models import User
    from samenleren.process_templates.drafts import make_default, new_draft, publish_draft
    from samenleren.process_templates.models import ProcessTemplate
    from samenleren.process_templates.services import current_version

    with in_tenant(app, tenants["flevoland"]), app.test_request_context():
        world = build_world(tenants["flevoland"])
        admin = get(User, world.admin)
        old = _template()
        other = ProcessTemplate(key="kort", name={"nl": "Kort model"})
        db.session.add(other)
        db.session.flush()
        with pytest.raises(InvalidInput):
            make_default(other, admin)  # nothing published yet
        document = flevoland()
        document["steps"] = document["steps"][:3]
        publish_draft(new_draft(other, document, admin, origin="test"), admin)
        make_default(other, admin)
        db.session.commit()
        assert other.is_default and not old.is_default
        assert current_version().template_id == other.id
        assert len(current_version().content.steps) == 3
