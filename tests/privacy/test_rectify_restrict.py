"""Restricting a trajectory (the real reminder sweep and sender, step changes, the pages that
show it) and correcting a profile (what the identity provider owns is refused)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select

from samenleren.core.formatting import LOCAL_ZONE
from tests.audit.helpers import events
from tests.factories import World, build_world, get, in_tenant
from tests.trajectories.test_pages import client_for, post

pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture
def world(app, tenants) -> World:
    with in_tenant(app, tenants["flevoland"]):
        return build_world(tenants["flevoland"])


def _at(day, hour=9):
    return datetime.combine(day, time(hour), tzinfo=LOCAL_ZONE).astimezone(UTC)


def _intake(app, world, key="intake"):
    from samenleren.core.extensions import db
    from samenleren.trajectories.models import StepInstance

    with in_tenant(app, world.tenant):
        step = db.session.scalars(
            select(StepInstance).where(
                StepInstance.trajectory_id == world.trajectory, StepInstance.step_key == key
            )
        ).one()
        return step.id, step.due_on


def _sweep(app, world, now) -> int:
    from samenleren.notifications.reminders import sweep

    with in_tenant(app, world.tenant):
        return sweep(now)


def _send(app, world, now) -> int:
    from samenleren.notifications.delivery import send_due

    with in_tenant(app, world.tenant):
        return send_due(now=now)


def _notes(app, world, step_id) -> list[tuple[str, str]]:
    from samenleren.core.extensions import db
    from samenleren.notifications.models import Notification

    with in_tenant(app, world.tenant):
        rows = db.session.execute(select(Notification.key, Notification.state)).all()
    return sorted((key, state.value) for key, state in rows if str(step_id) in key)


def restrict(app, admin, world, reason="Verzoek van de medewerker"):
    return post(
        app,
        admin,
        f"/flevoland/privacy/trajectories/{world.trajectory}/restrict",
        {"reason": reason},
    )


def lift(app, admin, world, reason="Bezwaar afgehandeld"):
    return post(
        app, admin, f"/flevoland/privacy/trajectories/{world.trajectory}/lift", {"reason": reason}
    )


def test_a_restricted_trajectory_gets_no_reminders_and_pending_ones_are_not_sent(
    app, tenants, world, smtp_sink
):
    admin = client_for(app, world, "admin")
    step_id, due = _intake(app, world)
    # A reminder already in the outbox before the restriction ...
    _sweep(app, world, _at(due - timedelta(days=7), 7))
    assert _notes(app, world, step_id) == [(f"reminder:{step_id}:7:{world.coach}", "pending")]
    answer = restrict(app, admin, world)
    assert answer.status_code == 303, answer.get_data(as_text=True)
    # ... is cancelled when it falls due, not mailed.
    assert _send(app, world, _at(due - timedelta(days=7), 8)) == 0
    assert smtp_sink.messages == []
    assert _notes(app, world, step_id) == [(f"reminder:{step_id}:7:{world.coach}", "cancelled")]
    # The sweep writes nothing for it any more: not the next reminder, no overdue, no escalation.
    for day in (due - timedelta(days=1), due + timedelta(days=3), due + timedelta(days=21)):
        _sweep(app, world, _at(day))
    assert [key for key, _ in _notes(app, world, step_id)] == [
        f"reminder:{step_id}:7:{world.coach}"
    ]
    # Lifted: processing goes on.
    assert lift(app, admin, world).status_code == 303
    _sweep(app, world, _at(due - timedelta(days=1)))
    assert (f"reminder:{step_id}:1:{world.coach}", "pending") in _notes(app, world, step_id)
    actions = [(e.action, e.subject_id, e.details) for e in events(app, world.tenant)]
    assert (
        "trajectory.restricted",
        str(world.trajectory),
        {"reason": "Verzoek van de medewerker"},
    ) in actions
    assert (
        "trajectory.restriction_lifted",
        str(world.trajectory),
        {"reason": "Bezwaar afgehandeld"},
    ) in actions


def test_a_restricted_trajectory_refuses_step_changes_and_says_so_everywhere(app, tenants, world):
    admin = client_for(app, world, "admin")
    assert restrict(app, admin, world).status_code == 303
    step_id, _ = _intake(app, world)
    base = f"/flevoland/trajectories/{world.trajectory}"
    coach = client_for(app, world, "coach")
    refused = post(
        app,
        coach,
        f"{base}/steps/{step_id}/schedule",
        {"starts_at": "2027-01-10T10:00", "ends_at": "2027-01-10T11:00", "location": "Kamer 3"},
    )
    assert refused.status_code == 422
    assert "restricted from further processing" in refused.get_data(as_text=True)
    with in_tenant(app, world.tenant):
        from samenleren.trajectories.models import StepInstance

        step = get(StepInstance, step_id)
        assert step.state.value == "planned" and step.starts_at is None
    notice = "Restricted: the programme administrator has stopped all processing"
    for who, path in (
        ("learner", base),
        ("coach", base),
        ("manager", base),
        ("coach", f"{base}/steps/{step_id}"),
        ("admin", base),
    ):
        page = client_for(app, world, who).get(path).get_data(as_text=True)
        assert notice in page, (who, path)
    for who, path in (
        ("learner", "/flevoland/dashboard/learner"),
        ("coach", "/flevoland/dashboard/coach"),
        ("manager", "/flevoland/dashboard/manager"),
        ("admin", "/flevoland/trajectories/"),
        ("admin", f"/flevoland/privacy/people/{world.learner}"),
    ):
        answer = client_for(app, world, who).get(path)
        assert answer.status_code == 200, (who, path)
        assert "Restricted" in answer.get_data(as_text=True), (who, path)


def test_restricting_needs_a_reason_and_twice_is_refused(app, tenants, world):
    from samenleren.core.extensions import db
    from samenleren.trajectories.models import Trajectory

    admin = client_for(app, world, "admin")
    answer = restrict(app, admin, world, reason="")
    assert answer.status_code == 422
    assert "Say why" in answer.get_data(as_text=True)
    assert lift(app, admin, world).status_code == 422  # not restricted
    assert restrict(app, admin, world).status_code == 303
    again = restrict(app, admin, world)
    assert again.status_code == 422
    assert "restricted already" in again.get_data(as_text=True)
    with in_tenant(app, world.tenant):
        trajectory = db.session.get(Trajectory, (world.tenant.id, world.trajectory))
        assert trajectory.restriction_reason == "Verzoek van de medewerker"
    assert len(events(app, world.tenant, "trajectory.restricted")) == 1
    learner = client_for(app, world, "learner")
    assert restrict(app, learner, world).status_code == 404


def test_another_tenants_trajectory_cannot_be_restricted(app, tenants, world):
    from samenleren.core.extensions import db
    from samenleren.trajectories.models import Trajectory

    with in_tenant(app, tenants["gelderland"]):
        other = build_world(tenants["gelderland"])
    admin = client_for(app, world, "admin")
    for action in ("restrict", "lift"):
        answer = post(
            app,
            admin,
            f"/flevoland/privacy/trajectories/{other.trajectory}/{action}",
            {"reason": "x"},
        )
        assert answer.status_code == 404
    with in_tenant(app, tenants["gelderland"]):
        assert db.session.get(Trajectory, (other.tenant.id, other.trajectory)).restricted_at is None


def _profile(app, admin, person, **values):
    data = {"employee_number": "", "department": "", "manager": "", "language": ""}
    data.update(values)
    return post(app, admin, f"/flevoland/privacy/people/{person}/profile", data)


def test_the_admin_corrects_the_platforms_own_fields_audited(app, tenants, world):
    from samenleren.identity.models import User

    admin = client_for(app, world, "admin")
    page = admin.get(f"/flevoland/privacy/people/{world.learner}").get_data(as_text=True)
    assert "Name and e-mail address always come from the organisation's identity provider" in page
    answer = _profile(
        app,
        admin,
        world.learner,
        employee_number="P-1234",
        department=str(world.coach_department),
        manager="",
        language="fy",
        reason="Verzoek tot correctie",
    )
    assert answer.status_code == 303, answer.get_data(as_text=True)
    with in_tenant(app, world.tenant):
        learner = get(User, world.learner)
        assert learner.employee_number == "P-1234"
        assert learner.department_id == world.coach_department
        assert learner.manager_id is None
        assert learner.locale == "fy"
        assert learner.name == "Anna Learner flevoland"
    (event,) = events(app, world.tenant, "profile.rectified")
    assert event.subject_id == str(world.learner)
    assert event.details == {
        "fields": "employee_number,department,manager,language",
        "reason": "Verzoek tot correctie",
    }
    assert "P-1234" not in str(event.details)


def test_fields_of_the_identity_provider_and_bad_input_are_refused(app, tenants, world):
    from samenleren.core.extensions import db
    from samenleren.core.tenant import Tenant
    from samenleren.identity.models import User

    admin = client_for(app, world, "admin")
    with in_tenant(app, world.tenant):
        manager_email = get(User, world.manager).email
    for values, message in (
        ({"reason": ""}, "Say why"),
        ({"department": "not-an-id", "reason": "x"}, "Choose a department from the list."),
        ({"manager": "nobody@example.nl", "reason": "x"}, "Nobody (or more than one person)"),
        ({"language": "de", "reason": "x"}, "Choose a language from the list."),
        ({"employee_number": "9" * 65, "reason": "x"}, "At most 64 characters."),
        (
            {
                "manager": manager_email,
                "department": str(world.department),
                "reason": "x",
            },
            "Nothing was changed.",
        ),
    ):
        answer = _profile(app, admin, world.learner, **values)
        assert answer.status_code == 422, values
        assert message in answer.get_data(as_text=True), values
    # The tenant takes the department from a login claim: the IdP owns it now.
    with in_tenant(app, world.tenant):
        tenant = db.session.get(Tenant, world.tenant.id)
        tenant.sso_claim_department = "department"
        db.session.commit()
    page = admin.get(f"/flevoland/privacy/people/{world.learner}").get_data(as_text=True)
    assert 'name="department"' not in page  # shown, not offered to change
    # Saving the form as it is now (without the department) keeps the department.
    kept = post(
        app,
        admin,
        f"/flevoland/privacy/people/{world.learner}/profile",
        {"employee_number": "P-9", "manager": manager_email, "language": "", "reason": "x"},
    )
    assert kept.status_code == 303, kept.get_data(as_text=True)
    with in_tenant(app, world.tenant):
        assert get(User, world.learner).department_id == world.department
        assert get(User, world.learner).employee_number == "P-9"
    answer = _profile(
        app,
        admin,
        world.learner,
        manager=manager_email,
        department=str(world.coach_department),
        reason="x",
    )
    assert answer.status_code == 422
    assert "This comes from the identity provider" in answer.get_data(as_text=True)
    with in_tenant(app, world.tenant):
        assert get(User, world.learner).department_id == world.department
    assert [e.details["fields"] for e in events(app, world.tenant, "profile.rectified")] == [
        "employee_number"
    ]
    # Another tenant's person looks missing.
    with in_tenant(app, tenants["gelderland"]):
        other = build_world(tenants["gelderland"])
    assert _profile(app, admin, other.learner, reason="x").status_code == 404


def test_a_restricted_learner_gets_no_group_invitation_and_their_step_stays(
    app, tenants, world, smtp_sink
):
    from samenleren.core.extensions import db
    from samenleren.core.formatting import local_today
    from samenleren.trajectories.models import StepInstance
    from tests.calendars.helpers import recipient, sent_mails

    admin = client_for(app, world, "admin")
    assert restrict(app, admin, world).status_code == 303
    trainer = client_for(app, world, "trainer")
    day = (local_today() + timedelta(days=60)).isoformat()
    when = {"starts_at": f"{day}T13:00", "ends_at": f"{day}T16:00", "location": "Zaal 4"}
    assert (
        post(app, trainer, f"/flevoland/meetings/{world.meeting}/schedule", when).status_code == 303
    )
    mails = sent_mails(app, smtp_sink, 1)
    # The group is the learner, the trainer and the coach; only the trainer is invited now.
    assert {recipient(message) for message in mails} == {"tina.trainer@example.nl"}
    with in_tenant(app, world.tenant):
        step = db.session.scalars(
            select(StepInstance).where(StepInstance.group_meeting_id == world.meeting)
        ).one()
        assert step.state.value == "planned" and step.starts_at is None


def test_new_edition_dates_leave_a_restricted_trajectorys_steps_as_they_are(app, tenants, world):
    from samenleren.catalogue.models import Edition
    from samenleren.core.extensions import db
    from samenleren.trajectories.lifecycle import retime_edition

    admin = client_for(app, world, "admin")
    assert restrict(app, admin, world).status_code == 303
    _, due = _intake(app, world, "evaluation")  # due a set time after the edition's end

    def move(days: int) -> int:
        with in_tenant(app, world.tenant):
            edition = get(Edition, world.edition)
            edition.starts_on += timedelta(days=days)
            edition.ends_on += timedelta(days=days)
            moved = retime_edition(edition)
            db.session.commit()
            return moved

    assert move(30) == 0
    assert _intake(app, world, "evaluation")[1] == due
    assert lift(app, admin, world).status_code == 303
    assert move(0) > 0  # lifted: its steps follow the edition's dates again
    assert _intake(app, world, "evaluation")[1] == due + timedelta(days=30)
