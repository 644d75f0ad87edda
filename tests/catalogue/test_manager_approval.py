"""The manager approves a team member's application when the edition's process template asks
for it (`application.manager_approval`): the mail leads the manager to the approval page, only
that employee's manager may answer, the admin's worklist keeps these apart from applications
ready for a decision, and the admin may still decide without waiting (audited)."""

from __future__ import annotations

import html

import pytest
from sqlalchemy import select

from samenleren.core.jobs.runtime import run_pending_jobs
from tests.coaching.helpers import client_as, post
from tests.factories import add_user, build_world, get, in_tenant
from tests.mail import parts

pytestmark = pytest.mark.usefixtures("english")


def _applicant_world(app, tenant, *, approval: bool):
    """The world with the colleague in the manager's team, and the default template asking for
    the manager's approval (`approval`), set through the editor's draft and published."""
    from samenleren.core.extensions import db
    from samenleren.identity.models import User
    from samenleren.process_templates.drafts import publish_draft, start_draft
    from samenleren.process_templates.services import current_version

    with in_tenant(app, tenant):
        world = build_world(tenant)
        get(User, world.colleague).manager_id = world.manager
        add_user("olga.manager", "manager", name="Olga Other Manager")
        draft_id = start_draft(current_version().template, get(User, world.admin)).id
        db.session.commit()
    admin = client_as(app, tenant, "admin")
    data = {"manager_approval": "yes"} if approval else {}
    path = f"/{tenant.slug}/templates/drafts/{draft_id}/application"
    assert post(admin, tenant, path, data).status_code == 303
    with in_tenant(app, tenant):
        from samenleren.process_templates.models import TemplateVersion

        publish_draft(get(TemplateVersion, draft_id), get(User, world.admin))
        assert current_version().content.application.manager_approval is approval
        db.session.commit()
    return world, admin


def _apply(app, tenant, world):
    from samenleren.catalogue.enrolment import apply_for
    from samenleren.catalogue.models import Edition
    from samenleren.core.extensions import db
    from samenleren.identity.models import User

    with in_tenant(app, tenant):
        enrolment = apply_for(get(Edition, world.edition), get(User, world.colleague), "Graag")
        db.session.commit()
        return enrolment.id


def _state(app, tenant, enrolment_id):
    from samenleren.catalogue.models import Enrolment

    with in_tenant(app, tenant):
        enrolment = get(Enrolment, enrolment_id)
        approval = enrolment.manager_approval
        return enrolment.status.value, approval.value if approval else None


def _audit(app, tenant) -> list[str]:
    from samenleren.audit.models import AuditEvent
    from samenleren.core.extensions import db

    with in_tenant(app, tenant):
        return [
            event.action
            for event in db.session.scalars(
                select(AuditEvent)
                .where(AuditEvent.action.like("application.%"))
                .order_by(AuditEvent.occurred_at)
            )
        ]


def test_the_flevoland_model_does_not_ask_the_manager(app, tenants):
    from samenleren.process_templates.services import current_version

    tenant = tenants["flevoland"]
    with in_tenant(app, tenant):
        world = build_world(tenant)
        assert current_version().content.application.manager_approval is False
        from samenleren.core.extensions import db
        from samenleren.identity.models import User

        get(User, world.colleague).manager_id = world.manager
        db.session.commit()
    enrolment_id = _apply(app, tenant, world)
    assert _state(app, tenant, enrolment_id) == ("applied", None)
    manager = client_as(app, tenant, "manager")
    path = f"/flevoland/enrolments/{enrolment_id}/approval"
    page = manager.get(path).get_data(as_text=True)
    assert "Not asked" in page and "Approve the application" not in page
    refused = post(manager, tenant, path, {"answer": "approve"})
    assert refused.status_code == 422
    assert "Your approval is not asked" in refused.get_data(as_text=True)
    assert _state(app, tenant, enrolment_id) == ("applied", None)


def test_the_manager_is_mailed_and_approves_and_only_that_manager(app, tenants, smtp_sink):
    tenant = tenants["flevoland"]
    world, admin = _applicant_world(app, tenant, approval=True)
    enrolment_id = _apply(app, tenant, world)
    assert _state(app, tenant, enrolment_id) == ("applied", "pending")
    path = f"/flevoland/enrolments/{enrolment_id}/approval"

    # The mail to the manager leads to the approval page.
    assert run_pending_jobs(app) >= 1
    messages = smtp_sink.wait_for(2)
    to_manager = next(
        parts(message)["text/plain"]
        for message in messages
        if "Cor Colleague" in message["Subject"]
    )
    assert path in to_manager
    # In the manager's language (Dutch, the tenant's): the approval asked for.
    assert "zodra jij de aanmelding hebt goedgekeurd" in " ".join(to_manager.split())

    # The admin's worklist: waiting for the manager, not ready for a decision.
    board = html.unescape(admin.get("/flevoland/dashboard/programme").get_data(as_text=True))
    assert "1 application waits for the manager's approval" in board
    assert "0 applications wait for a decision" in board
    assert "The manager has not answered yet." in board

    # Nobody but that employee's manager sees or answers it: 404, as for a missing one.
    for person in ("learner", "coach", "admin", "colleague"):
        client = client_as(app, tenant, person)
        assert client.get(path).status_code == 404, person
        assert post(client, tenant, path, {"answer": "approve"}).status_code == 404, person
    other = app.test_client()
    from tests.conftest import login

    assert login(other, tenant, "olga.manager", name="Olga Other Manager").status_code == 302
    assert other.get(path).status_code == 404
    assert post(other, tenant, path, {"answer": "approve"}).status_code == 404
    assert _state(app, tenant, enrolment_id) == ("applied", "pending")

    manager = client_as(app, tenant, "manager")
    page = manager.get(path).get_data(as_text=True)
    assert "Cor Colleague" in page and "Graag" in page
    # Refused input changes nothing.
    refused = post(manager, tenant, path, {"answer": "maybe"})
    assert refused.status_code == 422
    assert "Approve the application or ask to discuss it." in refused.get_data(as_text=True)
    assert _state(app, tenant, enrolment_id) == ("applied", "pending")

    assert post(manager, tenant, path, {"answer": "discuss"}).status_code == 303
    assert _state(app, tenant, enrolment_id) == ("applied", "discuss")
    board = html.unescape(admin.get("/flevoland/dashboard/programme").get_data(as_text=True))
    assert "The manager wants to discuss it first." in board

    assert post(manager, tenant, path, {"answer": "approve"}).status_code == 303
    assert _state(app, tenant, enrolment_id) == ("applied", "approved")
    again = post(manager, tenant, path, {"answer": "approve"})
    assert again.status_code == 422
    board = html.unescape(admin.get("/flevoland/dashboard/programme").get_data(as_text=True))
    assert "1 application waits for a decision" in board
    assert "waits for the manager's approval" not in board
    assert _audit(app, tenant) == [
        "application.manager_discuss",
        "application.manager_approved",
    ]
    log = html.unescape(admin.get("/flevoland/audit/").get_data(as_text=True))
    assert "approved the application of Cor Colleague" in log

    # Accepting it now is an ordinary decision: no override recorded.
    accepted = post(admin, tenant, f"/flevoland/enrolments/{enrolment_id}/accept")
    assert accepted.status_code == 303
    assert _audit(app, tenant)[-1] == "application.manager_approved"


def test_the_admin_decides_without_waiting_and_that_is_audited(app, tenants):
    tenant = tenants["flevoland"]
    world, admin = _applicant_world(app, tenant, approval=True)
    enrolment_id = _apply(app, tenant, world)
    edition = html.unescape(
        admin.get(f"/flevoland/editions/{world.edition}").get_data(as_text=True)
    )
    assert "The manager has not answered yet." in edition
    answer = post(
        admin, tenant, f"/flevoland/enrolments/{enrolment_id}/accept", {"from": "worklist"}
    )
    assert answer.status_code == 303
    assert _state(app, tenant, enrolment_id) == ("enrolled", "pending")
    assert _audit(app, tenant) == ["application.decided_without_manager"]
    log = html.unescape(admin.get("/flevoland/audit/").get_data(as_text=True))
    assert "without waiting for the manager's approval" in log
    # Decided: the manager can no longer answer it.
    manager = client_as(app, tenant, "manager")
    path = f"/flevoland/enrolments/{enrolment_id}/approval"
    assert "Approve the application" not in manager.get(path).get_data(as_text=True)
    assert post(manager, tenant, path, {"answer": "approve"}).status_code == 422


def test_the_option_travels_in_the_template_file(app, tenants):
    from samenleren.process_templates.services import current_version
    from samenleren.process_templates.versions.files import export_version, parse_template_file

    tenant = tenants["flevoland"]
    _applicant_world(app, tenant, approval=True)
    with in_tenant(app, tenant):
        text = export_version(current_version(), "Flevoland")
    assert "[application]\nmanager_approval = true" in text
    with app.test_request_context():
        parsed = parse_template_file(text.encode(), "nl")
    assert parsed.definition["application"] == {"manager_approval": True}
