"""The versions pages over HTTP: compare, export, import (incl. hostile files), move."""

from __future__ import annotations

import io
import tomllib

import pytest
from sqlalchemy import func, select

from tests.factories import build_world, get, in_tenant
from tests.process_templates.helpers import (
    HOSTILE_FILES,
    as_bytes,
    publish_version,
    template_file,
)
from tests.test_isolation import QueryCounter, valid_csrf_token
from tests.trajectories.test_pages import client_for, post

pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture
def world(app, tenants):
    with in_tenant(app, tenants["flevoland"]):
        return build_world(tenants["flevoland"])


def _counts(app, tenant) -> tuple[int, int, int]:
    from samenleren.audit.models import AuditEvent
    from samenleren.core.extensions import db
    from samenleren.process_templates.models import ProcessTemplate, TemplateVersion

    with in_tenant(app, tenant):
        return tuple(
            db.session.scalar(select(func.count()).select_from(model))
            for model in (ProcessTemplate, TemplateVersion, AuditEvent)
        )


def test_the_compare_page_lists_the_changes_per_step_in_few_queries(app, world):
    template_id, _ = publish_version(app, world)
    admin = client_for(app, world, "admin")
    base = f"/flevoland/templates/{template_id}"
    counter = QueryCounter(app)
    with counter.counting() as statements:
        page = admin.get(f"{base}/compare?from=1&to=2")
    assert page.status_code == 200
    assert len(statements) <= 8, statements
    html = page.get_data(as_text=True)
    assert "From version 1 to version 2" in html
    assert "Kick-off" in html and "Step added at position 1." in html
    assert "The step is now optional." in html
    # Without a choice: the newest version against the one before.
    assert "From version 1 to version 2" in admin.get(f"{base}/compare").get_data(as_text=True)
    same = admin.get(f"{base}/compare?from=2&to=2").get_data(as_text=True)
    assert "These versions have the same steps and fields." in same
    wrong = admin.get(f"{base}/compare?from=7&to=2")
    assert wrong.status_code == 422
    assert "Choose one of the versions of this template." in wrong.get_data(as_text=True)
    # The template overview links to it.
    overview = admin.get(f"{base}/").get_data(as_text=True)
    assert f"{base}/compare?from=1&amp;to=2" in overview
    for who in ("coach", "manager", "learner", "trainer"):
        assert client_for(app, world, who).get(f"{base}/compare").status_code == 404


def test_the_compare_page_includes_the_draft(app, world):
    from samenleren.core.extensions import db
    from samenleren.identity.models import User
    from samenleren.process_templates.drafts import save_draft_definition, start_draft
    from samenleren.process_templates.services import current_version

    with in_tenant(app, world.tenant):
        template = current_version().template
        draft = start_draft(template, get(User, world.admin))
        definition = dict(draft.definition)
        definition["steps"] = [s for s in definition["steps"] if s["key"] != "return_day"]
        save_draft_definition(draft, definition)
        db.session.commit()
        template_id = template.id
    page = client_for(app, world, "admin").get(
        f"/flevoland/templates/{template_id}/compare?from=1&to=2"
    )
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Version 2 (draft)" in html and "Step removed (it was at position 7)." in html


def test_export_downloads_the_version_as_a_toml_attachment(app, world):
    from samenleren.process_templates.services import current_version

    with in_tenant(app, world.tenant):
        version = current_version()
        path = f"/flevoland/templates/{version.template_id}/versions/{version.id}/export"
    answer = client_for(app, world, "admin").get(path)
    assert answer.status_code == 200
    assert answer.headers["Content-Disposition"] == 'attachment; filename="flevoland-v1.toml"'
    document = tomllib.loads(answer.get_data(as_text=True))
    assert document["template"]["exported_from"]["tenant"] == "Provincie Flevoland"
    assert [step["key"] for step in document["steps"]][:2] == ["learning_goals", "intake"]
    assert client_for(app, world, "coach").get(path).status_code == 404


def _upload(app, client, content: bytes, filename: str = "template.toml"):
    token = valid_csrf_token(app, client)
    return client.post(
        "/flevoland/templates/import",
        data={"csrf_token": token, "file": (io.BytesIO(content), filename)},
        content_type="multipart/form-data",
    )


def test_importing_a_file_makes_a_draft_and_goes_to_it(app, world):
    admin = client_for(app, world, "admin")
    assert admin.get("/flevoland/templates/import").status_code == 200
    raw = as_bytes(template_file(template={"key": "short", "name": {"nl": "Kort", "en": "Short"}}))
    answer = _upload(app, admin, raw, "short.toml")
    assert answer.status_code == 303
    assert "/flevoland/templates/drafts/" in answer.headers["Location"]
    draft_page = admin.get(answer.headers["Location"])
    assert draft_page.status_code == 200
    # A second import onto the same template is refused while the draft exists.
    before = _counts(app, world.tenant)
    again = _upload(app, admin, raw, "short.toml")
    assert again.status_code == 422
    assert "already has a draft" in again.get_data(as_text=True)
    assert _counts(app, world.tenant) == before
    missing = post(app, admin, "/flevoland/templates/import")
    assert missing.status_code == 422
    assert "Choose the template file (.toml) to upload." in missing.get_data(as_text=True)
    assert client_for(app, world, "coach").get("/flevoland/templates/import").status_code == 404


@pytest.mark.parametrize(
    "name",
    [
        "unknown step kind",
        "10,000 steps",
        "script in a label",
        "wrong schema version",
        "nested too deep for the parser",
    ],
)
def test_a_hostile_upload_is_refused_at_the_field_and_writes_nothing(app, world, name):
    import html as html_lib

    make, expected = HOSTILE_FILES[name]
    admin = client_for(app, world, "admin")
    before = _counts(app, world.tenant)
    answer = _upload(app, admin, make())
    assert answer.status_code == 422
    page = html_lib.unescape(answer.get_data(as_text=True))
    assert expected in page
    assert 'aria-invalid="true"' in answer.get_data(as_text=True)
    assert "<script>alert" not in answer.get_data(as_text=True)
    assert _counts(app, world.tenant) == before


def test_the_move_page_lists_not_started_trajectories_with_new_dates_and_moves_them(app, world):
    from samenleren.core.extensions import db
    from samenleren.trajectories.models import StepInstance, StepState, Trajectory

    template_id, version_id = publish_version(app, world)
    admin = client_for(app, world, "admin")
    path = f"/flevoland/templates/{template_id}/versions/{version_id}/move"
    counter = QueryCounter(app)
    with counter.counting() as statements:
        page = admin.get(path)
    assert page.status_code == 200
    assert len(statements) <= 8, statements
    html = page.get_data(as_text=True)
    assert "Anna Learner flevoland" in html and "Editie flevoland" in html
    assert "Now on version 1" in html and "Step added at position 1." in html
    assert "Kick-off" in html  # the new step's due date is listed
    assert client_for(app, world, "coach").get(path).status_code == 404

    # Started meanwhile: refused, nothing moved.
    with in_tenant(app, world.tenant):
        get(StepInstance, world.step).state = StepState.DONE
        db.session.commit()
    refused = post(app, admin, path, {"trajectory": str(world.trajectory)})
    assert refused.status_code == 422
    assert "has started in the meantime" in refused.get_data(as_text=True)
    with in_tenant(app, world.tenant):
        assert get(Trajectory, world.trajectory).template_version_id != version_id
        get(StepInstance, world.step).state = StepState.PLANNED
        db.session.commit()

    assert post(app, admin, path, {"trajectory": "not-a-uuid"}).status_code == 422
    moved = post(app, admin, path, {"trajectory": str(world.trajectory)})
    assert moved.status_code == 303
    with in_tenant(app, world.tenant):
        assert get(Trajectory, world.trajectory).template_version_id == version_id
    after = admin.get(path).get_data(as_text=True)
    assert "1 trajectory now follows version 2." in after
    assert "No trajectory can move to this version" in after


def test_the_move_page_needs_no_more_queries_for_more_trajectories(app, world):
    from samenleren.catalogue.models import Enrolment, EnrolmentStatus
    from samenleren.core.db import utcnow
    from samenleren.core.extensions import db
    from samenleren.trajectories.lifecycle import start_trajectory
    from tests.factories import add_user

    with in_tenant(app, world.tenant):
        for n in range(4):
            learner = add_user(f"peer.{n}", "learner", name=f"Peer {n}")
            enrolment = Enrolment(
                edition_id=world.edition,
                learner_id=learner.id,
                status=EnrolmentStatus.ENROLLED,
                enrolled_at=utcnow(),
            )
            db.session.add(enrolment)
            db.session.flush()
            start_trajectory(enrolment)
        db.session.commit()
    template_id, version_id = publish_version(app, world)
    admin = client_for(app, world, "admin")
    path = f"/flevoland/templates/{template_id}/versions/{version_id}/move"
    admin.get(path)
    with QueryCounter(app).counting() as statements:
        page = admin.get(path)
    assert page.status_code == 200
    assert page.get_data(as_text=True).count('name="trajectory"') == 5
    assert len(statements) <= 8, statements
