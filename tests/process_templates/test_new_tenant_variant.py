"""Issue 5, "done when": a newly onboarded province goes from the Flevoland model in the library to
its own published variant through the pages alone, and the trajectories already running are
untouched. Each step here is a request a programme admin makes; the tests of the editor, the
library and the versions cover each page in depth."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from tests.factories import World, add_user, build_world, get, in_tenant
from tests.process_templates.test_editor_pages import STEP_FORM, form
from tests.trajectories.test_pages import client_for, post

pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture
def world(app, tenants) -> World:
    with in_tenant(app, tenants["gelderland"]):
        return build_world(tenants["gelderland"])


def _step_keys(app, world: World, trajectory_id: uuid.UUID) -> tuple[int, str, list[str]]:
    """(version number, template key, step keys in order) of a trajectory."""
    from samenleren.core.extensions import db
    from samenleren.process_templates.models import ProcessTemplate, TemplateVersion
    from samenleren.trajectories.models import StepInstance, Trajectory

    with in_tenant(app, world.tenant):
        trajectory = get(Trajectory, trajectory_id)
        version = get(TemplateVersion, trajectory.template_version_id)
        template = get(ProcessTemplate, version.template_id)
        steps = db.session.scalars(
            select(StepInstance)
            .where(StepInstance.trajectory_id == trajectory_id)
            .order_by(StepInstance.position, StepInstance.occurrence)
        ).all()
        return version.number, template.key, [s.step_key for s in steps]


def test_a_new_province_adopts_adapts_and_publishes_its_own_model(app, tenants, world):
    from samenleren.catalogue.enrolment import enrol
    from samenleren.catalogue.models import Edition
    from samenleren.core.extensions import db
    from samenleren.identity.models import User
    from samenleren.process_templates.models import LibraryEntry, ProcessTemplate
    from samenleren.trajectories.models import Trajectory

    before = _step_keys(app, world, world.trajectory)
    assert before[1] == "flevoland" and "extra_gesprek" not in before[2]
    admin = client_for(app, world, "admin")

    # The library offers the Flevoland model from the start; the admin adopts it.
    assert "Flevoland model" in admin.get("/gelderland/library/").get_data(as_text=True)
    with app.app_context():
        entry_id = db.session.scalar(select(LibraryEntry.id).where(LibraryEntry.built_in))
    adopted = post(app, admin, f"/gelderland/library/{entry_id}/adopt")
    assert adopted.status_code == 303
    draft = adopted.headers["Location"].rstrip("/").split("/")[-1]
    base = f"/gelderland/templates/drafts/{draft}"

    # It adds its own conversation and publishes the variant.
    assert post(app, admin, f"{base}/steps/new", form(STEP_FORM)).status_code == 303
    assert "No problems found" in admin.get(f"{base}/").get_data(as_text=True)
    assert post(app, admin, f"{base}/publish").status_code == 303
    with in_tenant(app, world.tenant):
        template = db.session.scalar(
            select(ProcessTemplate).where(ProcessTemplate.adopted_from_id == entry_id)
        )
        template_id, template_key = template.id, template.key
    overview = admin.get(f"/gelderland/templates/{template_id}/").get_data(as_text=True)
    assert "Adopted from the model library" in overview  # and where it came from

    # New trajectories start on it once it is the default.
    assert post(app, admin, f"/gelderland/templates/{template_id}/default").status_code == 303
    with in_tenant(app, world.tenant):
        newcomer = add_user("nina.newcomer", "learner", name="Nina Newcomer")
        newcomer.manager_id = world.manager
        enrolment = enrol(get(Edition, world.edition), newcomer, get(User, world.admin))
        db.session.commit()
        new_trajectory = db.session.scalar(
            select(Trajectory.id).where(Trajectory.enrolment_id == enrolment.id)
        )
    number, key, steps = _step_keys(app, world, new_trajectory)
    assert (number, key) == (1, template_key) and "extra_gesprek" in steps

    # The trajectory that was running keeps its version and its steps, and the page says so.
    assert _step_keys(app, world, world.trajectory) == before
    learner = client_for(app, world, "learner")
    page = learner.get(f"/gelderland/trajectories/{world.trajectory}")
    assert page.status_code == 200 and "Extra conversation" not in page.get_data(as_text=True)

    # Flevoland's templates are as they were: one, its own, with no draft.
    with in_tenant(app, tenants["flevoland"]):
        keys = db.session.scalars(select(ProcessTemplate.key)).all()
        assert keys == ["flevoland"]
