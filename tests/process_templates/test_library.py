"""The model library shared across tenants: sharing a published version,
browsing and adopting it in another tenant, withdrawing, and what never leaves a tenant."""

from __future__ import annotations

import json
import re
import uuid

import pytest
from sqlalchemy import func, select

from tests.coaching.helpers import client_as, post
from tests.factories import build_world, get, in_tenant
from tests.test_isolation import QueryCounter

pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture
def worlds(app, tenants):
    built = {}
    for slug, ref in tenants.items():
        with in_tenant(app, ref):
            built[slug] = build_world(ref)
    return built


def _current_version_id(app, tenant):
    from samenleren.process_templates.services import current_version

    with in_tenant(app, tenant):
        return current_version().id


def _entries(app) -> list:
    from samenleren.core.extensions import db
    from samenleren.process_templates.models import LibraryEntry

    with app.app_context():
        rows = db.session.scalars(select(LibraryEntry).order_by(LibraryEntry.published_at))
        return [
            {c.name: getattr(row, c.name) for c in LibraryEntry.__table__.columns} for row in rows
        ]


def _share(app, tenants, admin, name="Gelders model", description="Met een extra stap."):
    version_id = _current_version_id(app, tenants["gelderland"])
    answer = post(
        admin,
        tenants["gelderland"],
        f"/gelderland/library/share/{version_id}",
        {"name_nl": name, "name_en": "Gelderland model", "description_nl": description},
    )
    return version_id, answer


def test_the_builtin_model_is_always_in_the_library(app, tenants, worlds):
    admin = client_as(app, tenants["flevoland"], "admin")
    page = admin.get("/flevoland/library/").get_data(as_text=True)
    assert "Flevoland model" in page and "Provincie Flevoland" in page
    assert "built in" in page
    assert len([e for e in _entries(app) if e["built_in"]]) == 1
    admin.get("/flevoland/library/")  # idempotent: a second visit adds nothing
    assert len(_entries(app)) == 1


def test_share_browse_and_adopt_across_tenants(app, tenants, worlds):
    from samenleren.audit.models import AuditEvent
    from samenleren.core.extensions import db
    from samenleren.process_templates.models import (
        ProcessTemplate,
        TemplateVersion,
        VersionStatus,
    )

    gelderland_admin = client_as(app, tenants["gelderland"], "admin")
    version_id, answer = _share(app, tenants, gelderland_admin)
    assert answer.status_code == 303
    entry_id = answer.headers["Location"].rsplit("/", 1)[-1]
    with in_tenant(app, tenants["gelderland"]):
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "library.published")
        ).all()
        assert [e.subject_id for e in events] == [str(version_id)]

    # Flevoland's administrator sees it, with its steps read-only.
    admin = client_as(app, tenants["flevoland"], "admin")
    listing = admin.get("/flevoland/library/").get_data(as_text=True)
    assert "Gelderland model" in listing and "Provincie Gelderland" in listing
    page = admin.get(f"/flevoland/library/{entry_id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Progress conversation" in text and "Who may read it" in text
    assert "weeks" not in text and "Withdraw" not in text  # not theirs to withdraw
    # ... and adopts it: a new template whose first version is a draft, with its provenance.
    confirm = admin.get(f"/flevoland/library/{entry_id}/adopt")
    assert confirm.status_code == 200
    adopted = post(admin, tenants["flevoland"], f"/flevoland/library/{entry_id}/adopt")
    assert adopted.status_code == 303
    draft_page = admin.get(adopted.headers["Location"])  # the draft, in the template editor
    assert draft_page.status_code == 200
    assert "Gelderland model" in draft_page.get_data(as_text=True)
    with in_tenant(app, tenants["flevoland"]):
        template = db.session.scalar(
            select(ProcessTemplate).where(ProcessTemplate.adopted_from_id.is_not(None))
        )
        assert template is not None and not template.is_default
        assert template.name["en"] == "Gelderland model"
        assert template.adopted_from_label == "Gelders model — Provincie Gelderland, versie 1"
        versions = db.session.scalars(
            select(TemplateVersion).where(TemplateVersion.template_id == template.id)
        ).all()
        assert [(v.number, v.status) for v in versions] == [(1, VersionStatus.DRAFT)]
        assert versions[0].origin == template.adopted_from_label
        assert db.session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "library.adopted")
        )
    # Adopting twice gives a second template with its own key.
    post(admin, tenants["flevoland"], f"/flevoland/library/{entry_id}/adopt")
    with in_tenant(app, tenants["flevoland"]):
        keys = sorted(
            db.session.scalars(
                select(ProcessTemplate.key).where(ProcessTemplate.adopted_from_id.is_not(None))
            )
        )
        assert keys == ["flevoland_2", "flevoland_3"]  # the tenant's own "flevoland" exists
    # Gelderland got nothing from Flevoland's adoptions.
    with in_tenant(app, tenants["gelderland"]):
        assert db.session.scalar(select(func.count()).select_from(ProcessTemplate)) == 1


def test_the_library_holds_only_the_template_and_the_organisation(app, tenants, worlds):
    from samenleren.core.extensions import db
    from samenleren.identity.models import User

    admin = client_as(app, tenants["gelderland"], "admin")
    _share(app, tenants, admin)
    with in_tenant(app, tenants["gelderland"]):
        people = db.session.scalars(select(User)).all()
        marks = [p.name for p in people] + [p.email for p in people if p.email]
        marks += [p.subject for p in people] + [str(p.id) for p in people]
    shared = [e for e in _entries(app) if not e["built_in"]]
    assert len(shared) == 1
    stored = json.dumps(shared[0], default=str)
    assert "Pim Admin" in marks  # the publisher's name really is known to the tenant ...
    for mark in marks:
        assert mark not in stored, f"{mark!r} left the tenant"  # ... but not in the library
    assert shared[0]["publisher_name"] == "Provincie Gelderland"
    assert shared[0]["publisher_tenant_id"] == tenants["gelderland"].id
    assert set(shared[0]) >= {"definition", "schema_version", "source_version_number"}


def test_drafts_and_unpublished_versions_stay_in_their_tenant(app, tenants, worlds):
    from samenleren.core.extensions import db
    from samenleren.identity.models import User
    from samenleren.process_templates.drafts import start_draft
    from samenleren.process_templates.library.services import publish_to_library
    from samenleren.process_templates.models import ProcessTemplate

    with in_tenant(app, tenants["gelderland"]):
        template = db.session.scalar(select(ProcessTemplate))
        admin = get(User, worlds["gelderland"].admin)
        draft = start_draft(template, admin)
        draft_id = draft.id
        db.session.commit()
        with pytest.raises(Exception, match="published"):
            publish_to_library(draft, {"nl": "Concept"}, {}, admin)
        db.session.rollback()
    gelderland_admin = client_as(app, tenants["gelderland"], "admin")
    assert gelderland_admin.get(f"/gelderland/library/share/{draft_id}").status_code == 404
    refused = post(
        gelderland_admin,
        tenants["gelderland"],
        f"/gelderland/library/share/{draft_id}",
        {"name_nl": "Concept"},
    )
    assert refused.status_code == 404
    assert [e for e in _entries(app) if not e["built_in"]] == []
    # Another tenant cannot share Gelderland's published version either (it looks missing).
    version_id = _current_version_id(app, tenants["gelderland"])
    admin = client_as(app, tenants["flevoland"], "admin")
    assert admin.get(f"/flevoland/library/share/{version_id}").status_code == 404
    assert admin.get(f"/flevoland/library/share/{uuid.uuid4()}").status_code == 404
    listing = admin.get("/flevoland/library/").get_data(as_text=True)
    assert "Gelderland" not in listing and "Concept" not in listing


def test_only_the_publisher_withdraws_and_adopted_copies_stay(app, tenants, worlds):
    from samenleren.core.extensions import db
    from samenleren.process_templates.models import ProcessTemplate

    gelderland_admin = client_as(app, tenants["gelderland"], "admin")
    _, answer = _share(app, tenants, gelderland_admin)
    entry_id = answer.headers["Location"].rsplit("/", 1)[-1]
    admin = client_as(app, tenants["flevoland"], "admin")
    post(admin, tenants["flevoland"], f"/flevoland/library/{entry_id}/adopt")
    # Flevoland may not withdraw Gelderland's entry: the same 404 as a missing one.
    theirs = post(admin, tenants["flevoland"], f"/flevoland/library/{entry_id}/withdraw")
    missing = post(admin, tenants["flevoland"], f"/flevoland/library/{uuid.uuid4()}/withdraw")
    assert theirs.status_code == missing.status_code == 404
    assert admin.get(f"/flevoland/library/{entry_id}/withdraw").status_code == 404
    assert all(e["withdrawn_at"] is None for e in _entries(app))
    # Gelderland withdraws it: gone from the library for everyone, Flevoland's copy stays.
    page = gelderland_admin.get(f"/gelderland/library/{entry_id}").get_data(as_text=True)
    assert "Withdraw it from the library" in page
    done = post(gelderland_admin, tenants["gelderland"], f"/gelderland/library/{entry_id}/withdraw")
    assert done.status_code == 303
    assert admin.get(f"/flevoland/library/{entry_id}").status_code == 404
    assert "Gelderland model" not in admin.get("/flevoland/library/").get_data(as_text=True)
    with in_tenant(app, tenants["flevoland"]):
        copy = db.session.scalar(
            select(ProcessTemplate).where(ProcessTemplate.adopted_from_id.is_not(None))
        )
        assert copy.adopted_from_label.startswith("Gelders model")


def test_sharing_refuses_bad_input_and_writes_nothing(app, tenants, worlds):
    admin = client_as(app, tenants["gelderland"], "admin")
    version_id = _current_version_id(app, tenants["gelderland"])
    path = f"/gelderland/library/share/{version_id}"
    for data, field in [
        ({"name_nl": ""}, "in-name_nl"),
        ({"name_nl": "x" * 121}, "in-name_nl"),
        ({"name_nl": "<b>Model</b>"}, "in-name_nl"),
        ({"name_nl": "Model", "description_en": "<script>"}, "in-description_en"),
    ]:
        answer = post(admin, tenants["gelderland"], path, data)
        assert answer.status_code == 422, data
        page = answer.get_data(as_text=True)
        assert re.search(rf'id="{field}"[^>]*aria-invalid="true"', page), data
    assert [e for e in _entries(app) if not e["built_in"]] == []
    _, first = _share(app, tenants, admin)
    assert first.status_code == 303
    again = post(admin, tenants["gelderland"], path, {"name_nl": "Nog eens"})
    assert again.status_code == 422
    assert "in the library already" in again.get_data(as_text=True)
    assert len([e for e in _entries(app) if not e["built_in"]]) == 1


def test_library_pages_are_for_programme_admins_only(app, tenants, worlds):
    coach = client_as(app, tenants["flevoland"], "coach")
    version_id = _current_version_id(app, tenants["flevoland"])
    for path in ("/flevoland/library/", f"/flevoland/library/share/{version_id}"):
        assert coach.get(path).status_code == 404
    admin = client_as(app, tenants["flevoland"], "admin")
    entry_id = _entries_after_visit(app, admin)
    assert coach.get(f"/flevoland/library/{entry_id}").status_code == 404
    assert post(
        coach, tenants["flevoland"], f"/flevoland/library/{entry_id}/adopt"
    ).status_code == (404)


def _entries_after_visit(app, admin) -> str:
    admin.get("/flevoland/library/")
    return str(_entries(app)[0]["id"])


def test_library_pages_use_few_queries(app, tenants, worlds):
    _share(app, tenants, client_as(app, tenants["gelderland"], "admin"))
    admin = client_as(app, tenants["flevoland"], "admin")
    entry_id = _entries_after_visit(app, admin)
    version_id = _current_version_id(app, tenants["flevoland"])
    counter = QueryCounter(app)
    for path in (
        "/flevoland/library/",
        f"/flevoland/library/{entry_id}",
        f"/flevoland/library/{entry_id}/adopt",
        f"/flevoland/library/share/{version_id}",
        "/flevoland/settings/terminology",
    ):
        admin.get(path)
        with counter.counting() as statements:
            answer = admin.get(path)
        assert answer.status_code == 200, path
        assert len(statements) <= 8, f"{path}: {len(statements)}\n" + "\n".join(statements)
