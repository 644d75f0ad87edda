"""Versions as services: comparing, template files (export, parse, import), moving trajectories."""

from __future__ import annotations

import copy
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests.conftest import TenantRef
from tests.factories import build_world, get, in_tenant
from tests.process_templates.helpers import (
    HOSTILE_FILES,
    add_kickoff,
    as_bytes,
    publish_version,
    template_file,
)

pytestmark = pytest.mark.usefixtures("english")


@contextmanager
def in_request(app: Flask, tenant: TenantRef) -> Iterator[None]:
    """A tenant and a request (English, as the `english` fixture makes it)."""
    with app.test_request_context("/"), in_tenant(app, tenant):
        yield


def flevoland() -> dict:
    from samenleren.process_templates.services import builtin_definition

    return copy.deepcopy(builtin_definition("flevoland"))


def counts() -> tuple[int, int]:
    from samenleren.core.extensions import db
    from samenleren.process_templates.models import ProcessTemplate, TemplateVersion

    return (
        db.session.scalar(select(func.count()).select_from(ProcessTemplate)),
        db.session.scalar(select(func.count()).select_from(TemplateVersion)),
    )


# --- comparing ----------------------------------------------------------------------------


def test_the_comparison_lists_every_kind_of_change_per_step(app):
    from samenleren.process_templates.versions.diff import compare_definitions

    old, new = flevoland(), flevoland()
    add_kickoff(new)  # a step in front; intake optional
    new["steps"].append(new["steps"].pop(3))  # training to the end
    goals = new["steps"][1]
    goals["name"]["en"] = "Goals"
    goals["fields"].reverse()
    goals["fields"][1]["required"] = False
    goals["fields"][1]["readers"].remove("manager")
    new["steps"][2]["timing"] = {"anchor": "step", "step": "learning_goals", "offset_months": 1}
    new["steps"][3]["confidential"] = False
    new["steps"][3]["repeat"] = {"min": 2, "max": 3, "interval_days": 30}
    new["steps"][3]["fields"].append(
        {
            "key": "mood",
            "type": "choice",
            "label": {"nl": "Stemming", "en": "Mood"},
            "readers": ["learner", "coach"],
            "editors": ["learner"],
            "choices": [{"key": "good", "label": {"nl": "Goed", "en": "Good"}}],
        }
    )
    new["steps"] = [step for step in new["steps"] if step["key"] != "return_day"]
    with app.test_request_context("/"):
        diff = compare_definitions(old, new, "en", "nl")
    by_key = {step.key: step for step in diff}
    assert [step.key for step in diff] == [
        "kickoff",
        "learning_goals",
        "intake",
        "progress",
        "training",
        "return_day",
    ]
    assert by_key["kickoff"].status == "added"
    assert by_key["kickoff"].changes[0].message == "Step added at position 1."
    goal_changes = [(c.what, c.field, c.message) for c in by_key["learning_goals"].changes]
    assert (
        "changed",
        "",
        "Name (English) changed from “Setting learning goals” to “Goals”.",
    ) in goal_changes
    assert ("moved", "Learning goals", "Field moved from position 1 to 2.") in goal_changes
    assert ("changed", "Learning goals", "No longer required.") in goal_changes
    assert any(
        c.field == "Learning goals" and c.message.startswith("Readers changed from learner, ")
        for c in by_key["learning_goals"].changes
    )
    moved_fields = {c.field for c in by_key["learning_goals"].changes if c.what == "moved"}
    assert moved_fields == {"Learning goals"}
    intake = [c.message for c in by_key["intake"].changes]
    assert intake == [
        "Timing changed from 7 days before the first day of the edition to "
        "1 month after the step Goals.",
        "The step is now optional.",
    ]
    progress = [c.message for c in by_key["progress"].changes]
    assert "The step is no longer confidential." in progress
    assert (
        "Repetition changed from 1 to 4 times, 42 days apart to 2 to 3 times, 30 days apart."
    ) in progress
    assert "Field added at position 4." in progress
    assert [c.message for c in by_key["training"].changes] == ["Moved from position 3 to 8."]
    assert by_key["return_day"].status == "removed"
    # Only the step that really moved is "moved": the others kept their relative order.
    assert [s.key for s in diff if any(c.what == "moved" and not c.field for c in s.changes)] == [
        "training"
    ]


def test_identical_versions_have_no_changes_and_broken_drafts_compare_without_error(app):
    from samenleren.process_templates.versions.diff import compare_definitions

    with app.test_request_context("/"):
        assert compare_definitions(flevoland(), flevoland(), "en") == []
        broken = {"steps": [{"key": "x", "name": "not a table", "fields": ["junk", {"key": 3}]}, 7]}
        diff = compare_definitions(flevoland(), broken, "en")
        assert {step.key: step.status for step in diff}["x"] == "added"
        assert compare_definitions(None, broken, "en")[0].key == "x"


# --- files --------------------------------------------------------------------------------


def test_export_then_import_gives_the_identical_definition(app, tenants):
    from samenleren.core.extensions import db
    from samenleren.identity.models import User
    from samenleren.process_templates.definition import TemplateDefinition
    from samenleren.process_templates.models import VersionStatus
    from samenleren.process_templates.services import current_version
    from samenleren.process_templates.versions.files import export_version, import_template_file

    flevo, gelderland = tenants["flevoland"], tenants["gelderland"]
    with in_tenant(app, flevo):
        world = build_world(flevo)
    publish_version(app, world)
    with in_request(app, flevo):
        version = current_version()
        text = export_version(version, "Provincie Flevoland")
        original = TemplateDefinition.model_validate(version.definition)
    document = tomllib.loads(text)
    assert text.startswith("# A Samen Leren process template")
    assert document["template"]["key"] == "flevoland"
    assert document["template"]["exported_from"]["version"] == 2
    assert document["steps"][0]["key"] == "kickoff"
    # Into the same tenant: a draft (version 3) of the same template.
    with in_request(app, flevo):
        admin = get(User, world.admin)
        draft = import_template_file(text.encode(), admin, default_language="nl", filename="f.toml")
        db.session.commit()
        assert draft.number == 3 and draft.status is VersionStatus.DRAFT
        assert TemplateDefinition.model_validate(draft.definition) == original
        assert "Provincie Flevoland, version 2" in draft.origin
    # Into another tenant, published at once; its template exists there too (the default).
    with in_request(app, gelderland):
        other = build_world(gelderland)
        admin = get(User, other.admin)
        imported = import_template_file(
            text.encode(), admin, default_language="nl", filename="f.toml", publish=True
        )
        db.session.commit()
        assert imported.status is VersionStatus.PUBLISHED
        assert imported.content == original


def test_a_file_with_a_new_key_becomes_a_new_template_and_a_second_import_is_refused(app, tenants):
    from samenleren.core.errors_input import InvalidInput
    from samenleren.core.extensions import db
    from samenleren.identity.models import User
    from samenleren.process_templates.models import ProcessTemplate
    from samenleren.process_templates.versions.files import import_template_file

    flevo = tenants["flevoland"]
    with in_tenant(app, flevo):
        world = build_world(flevo)
    raw = as_bytes(
        template_file(template={"key": "kort", "name": {"nl": "Kort traject", "en": "Short"}})
    )
    with in_request(app, flevo):
        admin = get(User, world.admin)
        draft = import_template_file(raw, admin, default_language="nl")
        db.session.commit()
        template = db.session.scalar(select(ProcessTemplate).where(ProcessTemplate.key == "kort"))
        assert draft.template_id == template.id and not template.is_default
        assert template.name == {"nl": "Kort traject", "en": "Short"}
        before = counts()
        with pytest.raises(InvalidInput, match="already has a draft"):
            import_template_file(raw, admin, default_language="nl")
        db.session.rollback()
        assert counts() == before


@pytest.mark.parametrize("name", list(HOSTILE_FILES))
def test_hostile_files_are_refused_with_one_line_naming_the_place(app, tenants, name):
    from samenleren.process_templates.versions.files import TemplateFileError, import_template_file

    make, expected = HOSTILE_FILES[name]
    raw = make()
    with in_request(app, tenants["flevoland"]):
        before = counts()
        started = time.monotonic()
        with pytest.raises(TemplateFileError) as refused:
            import_template_file(raw, None, default_language="nl")
        assert time.monotonic() - started < 2
        assert expected in str(refused.value)
        assert "\n" not in str(refused.value)
        assert counts() == before


def test_a_name_missing_in_the_default_language_and_a_missing_template_table_are_refused(app):
    from samenleren.process_templates.versions.files import TemplateFileError, parse_template_file

    with app.test_request_context("/"):
        document = template_file(template={"key": "x", "name": {"en": "Only English"}})
        with pytest.raises(TemplateFileError, match=r"^template.name: the name in Nederlands"):
            parse_template_file(as_bytes(document), "nl")
        document = template_file()
        del document["template"]
        with pytest.raises(TemplateFileError, match=r"^template: the \[template\] table"):
            parse_template_file(as_bytes(document), "nl")


def test_the_committed_json_schema_is_the_generated_one():
    from pathlib import Path

    from samenleren.process_templates.versions.files import json_schema_text

    committed = Path(__file__).parents[2] / "docs" / "template-format.schema.json"
    assert committed.read_text(encoding="utf-8") == json_schema_text(), (
        "regenerate: flask --app samenleren templates schema > docs/template-format.schema.json"
    )


def test_the_documented_example_is_a_valid_file(app):
    """docs/template-format.md's example (the block after "## Example") parses."""
    from pathlib import Path

    from samenleren.process_templates.versions.files import parse_template_file

    doc = (Path(__file__).parents[2] / "docs" / "template-format.md").read_text(encoding="utf-8")
    example = doc.split("## Example", 1)[1].split("```toml\n", 1)[1].split("```", 1)[0]
    with app.test_request_context("/"):
        parsed = parse_template_file(example.encode(), "nl")
    assert parsed.key == "short_course"


# --- moving -------------------------------------------------------------------------------


def _steps(trajectory_id):
    from samenleren.core.extensions import db
    from samenleren.trajectories.models import StepInstance

    return db.session.execute(
        select(StepInstance.step_key, StepInstance.occurrence, StepInstance.due_on)
        .where(StepInstance.trajectory_id == trajectory_id)
        .order_by(StepInstance.position, StepInstance.occurrence)
    ).all()


def test_a_trajectory_that_has_not_started_moves_exactly_as_it_would_have_started(app, tenants):
    from samenleren.audit.models import AuditEvent
    from samenleren.core.extensions import db
    from samenleren.identity.models import User
    from samenleren.process_templates.models import TemplateVersion
    from samenleren.trajectories.lifecycle import start_trajectory
    from samenleren.trajectories.models import LearningGoal, Trajectory
    from samenleren.trajectories.moving import movable_trajectories, move_trajectories

    flevo = tenants["flevoland"]
    with in_tenant(app, flevo):
        world = build_world(flevo)
        db.session.add(LearningGoal(trajectory_id=world.trajectory, title="Beter plannen"))
        db.session.commit()
    _, version_id = publish_version(app, world)
    with in_request(app, flevo):
        target = get(TemplateVersion, version_id)
        assert [t.id for t in movable_trajectories(target)] == [world.trajectory]
        moved = move_trajectories(target, [world.trajectory], get(User, world.admin))
        db.session.commit()
        assert moved == 1
        trajectory = get(Trajectory, world.trajectory)
        assert trajectory.template_version_id == version_id
        assert trajectory.coach_id == world.coach and trajectory.enrolment_id == world.enrolment
        assert [goal.title for goal in trajectory.goals] == ["Beter plannen"]
        steps = _steps(world.trajectory)
        assert steps[0][0] == "kickoff"
        # The same steps and dates as a trajectory started on version 2 gets.
        enrolment = trajectory.enrolment
        db.session.delete(trajectory)
        db.session.flush()
        fresh = start_trajectory(enrolment)
        assert fresh.template_version_id == version_id
        assert _steps(fresh.id) == steps
        db.session.rollback()
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "trajectory.moved_to_version")
        )
        assert event.subject_id == str(world.trajectory)
        assert event.details == {"template": "flevoland", "from_number": 1, "number": 2}
        assert movable_trajectories(target) == []


@pytest.mark.parametrize("how", ["scheduled", "done", "skipped", "answered", "meeting held"])
def test_a_trajectory_that_started_meanwhile_is_refused_and_nothing_moves(app, tenants, how):
    from samenleren.core.errors_input import InvalidInput
    from samenleren.core.extensions import db
    from samenleren.identity.models import User
    from samenleren.process_templates.models import TemplateVersion
    from samenleren.trajectories.models import (
        FieldValue,
        GroupMeeting,
        GroupMeetingState,
        StepInstance,
        StepState,
        Trajectory,
    )
    from samenleren.trajectories.moving import movable_trajectories, move_trajectories
    from tests.factories import add_user

    flevo = tenants["flevoland"]
    with in_tenant(app, flevo):
        world = build_world(flevo)
        # A second, untouched trajectory in the same edition.
        from samenleren.catalogue.models import Enrolment, EnrolmentStatus
        from samenleren.core.db import utcnow
        from samenleren.trajectories.lifecycle import start_trajectory

        peer = add_user("piet.peer", "learner", name="Piet Peer")
        enrolment = Enrolment(
            edition_id=world.edition,
            learner_id=peer.id,
            status=EnrolmentStatus.ENROLLED,
            enrolled_at=utcnow(),
        )
        db.session.add(enrolment)
        db.session.flush()
        peer_trajectory = start_trajectory(enrolment).id
        db.session.commit()
    _, version_id = publish_version(app, world)
    with in_request(app, flevo):
        target = get(TemplateVersion, version_id)
        assert len(movable_trajectories(target)) == 2
        step = get(StepInstance, world.step)
        if how == "answered":
            db.session.add(FieldValue(step_instance_id=step.id, field_key="notes", value="Hoi"))
        elif how == "meeting held":
            meeting = get(GroupMeeting, world.meeting)
            meeting.state = GroupMeetingState.DONE
        else:
            step.state = StepState(how)
        db.session.commit()
        before = _steps(world.trajectory), _steps(peer_trajectory)
        with pytest.raises(InvalidInput) as refused:
            move_trajectories(target, [world.trajectory, peer_trajectory], get(User, world.admin))
        db.session.rollback()
        assert "Anna Learner flevoland" in refused.value.errors["__form__"]
        assert "nothing was moved" in refused.value.errors["__form__"]
        assert (_steps(world.trajectory), _steps(peer_trajectory)) == before
        assert {t.template_version_id for t in db.session.scalars(select(Trajectory))} != {
            version_id
        }
        listed = [t.id for t in movable_trajectories(target)]
        if how == "meeting held":
            # The whole edition's meeting was held: neither trajectory may move.
            assert listed == []
        else:
            assert listed == [peer_trajectory]
            move_trajectories(target, [peer_trajectory], get(User, world.admin))
            db.session.commit()
            assert get(Trajectory, peer_trajectory).template_version_id == version_id
            # The running one is untouched.
            assert _steps(world.trajectory) == before[0]
            assert get(Trajectory, world.trajectory).template_version_id != version_id


def test_only_newer_published_versions_of_the_same_template_take_trajectories(app, tenants):
    from samenleren.core.errors_input import InvalidInput
    from samenleren.core.extensions import db
    from samenleren.identity.models import User
    from samenleren.process_templates.drafts import start_draft
    from samenleren.process_templates.models import TemplateVersion
    from samenleren.trajectories.models import Trajectory
    from samenleren.trajectories.moving import movable_trajectories, move_trajectories

    flevo = tenants["flevoland"]
    with in_tenant(app, flevo):
        world = build_world(flevo)
    _, version_id = publish_version(app, world)
    with in_request(app, flevo):
        admin = get(User, world.admin)
        first = get(Trajectory, world.trajectory).template_version
        # Its own version, and a draft, take nothing.
        assert movable_trajectories(first) == []
        draft = start_draft(get(TemplateVersion, version_id).template, admin)
        db.session.commit()
        assert movable_trajectories(draft) == []
        with pytest.raises(InvalidInput):
            move_trajectories(draft, [world.trajectory], admin)
        db.session.rollback()
        with pytest.raises(InvalidInput, match="not on an older version"):
            move_trajectories(first, [world.trajectory], admin)
        db.session.rollback()
        with pytest.raises(InvalidInput):
            move_trajectories(get(TemplateVersion, version_id), [], admin)
