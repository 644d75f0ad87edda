"""A process template per training, and per edition overriding it: trajectories start on the
chosen template's current version, keep it, and a choice outside the tenant's published
templates is refused with nothing written."""

from __future__ import annotations

import copy
import uuid

import pytest
from sqlalchemy import select

from tests.factories import World, build_world, get, in_tenant
from tests.process_templates.helpers import as_bytes, template_file
from tests.trajectories.test_pages import client_for, post

pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture
def world(app, tenants) -> World:
    with in_tenant(app, tenants["flevoland"]):
        return build_world(tenants["flevoland"])


def _short_course(app, world: World, *, publish: bool = True) -> uuid.UUID:
    """A second template, "Korte cursus": the Flevoland steps without the return day."""
    from samenleren.core.extensions import db
    from samenleren.identity.models import User
    from samenleren.process_templates.services import builtin_definition
    from samenleren.process_templates.versions.files import import_template_file

    steps = [
        step
        for step in copy.deepcopy(builtin_definition("flevoland")["steps"])
        if step["key"] != "return_day"
    ]
    document = template_file(
        steps,
        template={"key": "korte_cursus", "name": {"nl": "Korte cursus", "en": "Short course"}},
    )
    with in_tenant(app, world.tenant):
        draft = import_template_file(
            as_bytes(document), get(User, world.admin), default_language="nl", publish=publish
        )
        db.session.commit()
        return draft.template_id


def _started_on(app, world: World, learner: str, edition_id) -> tuple[str, int]:
    """Enrol `learner` in the edition; (template key, version number) of their trajectory."""
    from samenleren.catalogue.enrolment import enrol
    from samenleren.catalogue.models import Edition
    from samenleren.core.extensions import db
    from samenleren.identity.models import User
    from samenleren.trajectories.models import Trajectory

    with in_tenant(app, world.tenant):
        enrolment = enrol(
            get(Edition, edition_id), get(User, getattr(world, learner)), get(User, world.admin)
        )
        trajectory = db.session.scalar(
            select(Trajectory).where(Trajectory.enrolment_id == enrolment.id)
        )
        version = trajectory.template_version
        db.session.commit()
        return version.template.key, version.number


def test_a_training_with_its_own_template_starts_its_trajectories_there(app, world):
    from samenleren.catalogue.models import Edition, Training
    from samenleren.core.extensions import db

    short = _short_course(app, world)
    with in_tenant(app, world.tenant):
        get(Training, get(Edition, world.edition).training_id).process_template_id = short
        db.session.commit()
    assert _started_on(app, world, "colleague", world.edition) == ("korte_cursus", 1)


def test_an_edition_overrides_its_training(app, world):
    from samenleren.catalogue.models import Edition, Training
    from samenleren.core.extensions import db
    from samenleren.process_templates.models import ProcessTemplate

    short = _short_course(app, world)
    with in_tenant(app, world.tenant):
        edition = get(Edition, world.edition)
        get(Training, edition.training_id).process_template_id = short
        default = db.session.scalar(select(ProcessTemplate.id).where(ProcessTemplate.is_default))
        edition.process_template_id = default
        db.session.commit()
    key, _ = _started_on(app, world, "colleague", world.edition)
    assert key != "korte_cursus"


def test_the_forms_offer_published_templates_and_save_the_choice(app, world):
    from samenleren.catalogue.models import Edition, Training

    short = _short_course(app, world)
    _short_course_draft_only = _draft_only_template(app, world)
    admin = client_for(app, world, "admin")
    with in_tenant(app, world.tenant):
        training_id = get(Edition, world.edition).training_id
    page = admin.get(f"/flevoland/trainings/{training_id}/edit").get_data(as_text=True)
    assert "The default: " in page and f'value="{short}"' in page
    assert "Short course (version 1)" in page
    assert str(_short_course_draft_only) not in page  # nothing published: nothing to start on

    edition_page = admin.get(f"/flevoland/editions/{world.edition}/edit").get_data(as_text=True)
    assert "As the training: " in edition_page and f'value="{short}"' in edition_page

    answer = post(
        app,
        admin,
        f"/flevoland/trainings/{training_id}/edit",
        {
            "title": "Training van flevoland",
            "open_to": "all",
            "active": "1",
            "process_template_id": str(short),
        },
    )
    assert answer.status_code == 303
    with in_tenant(app, world.tenant):
        assert get(Training, training_id).process_template_id == short
    shown = admin.get(f"/flevoland/trainings/{training_id}").get_data(as_text=True)
    assert shown.count("Short course (version 1)") == 2  # the training and its edition


def _draft_only_template(app, world: World) -> uuid.UUID:
    from samenleren.core.extensions import db
    from samenleren.identity.models import User
    from samenleren.process_templates.versions.files import import_template_file

    document = template_file(
        template={"key": "in_de_maak", "name": {"nl": "In de maak", "en": "In the making"}}
    )
    with in_tenant(app, world.tenant):
        draft = import_template_file(
            as_bytes(document), get(User, world.admin), default_language="nl"
        )
        db.session.commit()
        return draft.template_id


@pytest.mark.parametrize("choice", ["draft", "garbage", "other tenant"])
def test_a_choice_that_is_not_on_the_list_is_refused_and_nothing_changes(
    app, world, tenants, choice
):
    from samenleren.catalogue.models import Edition, Training
    from samenleren.core.extensions import db
    from samenleren.process_templates.models import ProcessTemplate

    if choice == "draft":
        value = str(_draft_only_template(app, world))
    elif choice == "garbage":
        value = "not-a-template"
    else:
        with in_tenant(app, tenants["gelderland"]):
            value = str(db.session.scalar(select(ProcessTemplate.id)))
            db.session.rollback()
    admin = client_for(app, world, "admin")
    with in_tenant(app, world.tenant):
        training_id = get(Edition, world.edition).training_id
    answer = post(
        app,
        admin,
        f"/flevoland/trainings/{training_id}/edit",
        {"title": "Nieuwe titel", "open_to": "all", "active": "1", "process_template_id": value},
    )
    assert answer.status_code == 422
    assert "Choose a process template from the list" in answer.get_data(as_text=True)
    with in_tenant(app, world.tenant):
        training = get(Training, training_id)
        assert training.process_template_id is None and training.title != "Nieuwe titel"
