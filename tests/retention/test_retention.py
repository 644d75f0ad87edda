"""Retention: periods per tenant from its profile, changed within legal bounds; the nightly run
anonymises employees who left, deletes confidential notes, old mails and old audit events (the
chain still verifies), stops for a legal hold, leaves other people's data and other tenants
alone; the processing register."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import psycopg
import pytest
from sqlalchemy import select, update

from samenleren.audit.models import AuditEvent
from samenleren.audit.services import record
from samenleren.catalogue.models import Edition, Enrolment, EnrolmentStatus, SessionAttendance
from samenleren.coaching.models import CoachDay, CoachDayAttendance
from samenleren.core.db import utcnow
from samenleren.core.extensions import db
from samenleren.identity.models import User
from samenleren.identity.sessions import revoke_access
from samenleren.insight.figures import figures
from samenleren.insight.scope import Period, Scope
from samenleren.retention.erasure import apply_retention
from samenleren.retention.holds import place_hold
from samenleren.retention.models import Departure
from samenleren.retention.policy import PROFILES, periods
from samenleren.trajectories.lifecycle import start_trajectory
from samenleren.trajectories.models import (
    FieldValue,
    GroupMeeting,
    GroupMeetingAttendance,
    LearningGoal,
    StepInstance,
    Trajectory,
    TrajectoryStatus,
)
from tests.audit.helpers import events
from tests.factories import World, build_world, get, in_tenant
from tests.test_isolation import QueryCounter
from tests.trajectories.test_pages import client_for

SETTINGS = "/flevoland/settings/retention"
HOLDS = "/flevoland/retention/holds"
LONG_AGO = timedelta(days=365 * 12)


@pytest.fixture
def world(app, tenants) -> World:
    with in_tenant(app, tenants["flevoland"]):
        return build_world(tenants["flevoland"])


@pytest.fixture
def other(app, tenants) -> World:
    with in_tenant(app, tenants["gelderland"]):
        return build_world(tenants["gelderland"])


def _token(client, path):
    page = client.get(path).get_data(as_text=True)
    return page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


def _write_notes(world: World, learner_id, text: str) -> object:
    """A completed, long-ended trajectory of `learner_id` with a confidential note and a free
    text answer in the intake; returns the trajectory id."""
    trajectory = db.session.scalar(select(Trajectory).where(Trajectory.learner_id == learner_id))
    steps = {
        s.step_key: s
        for s in db.session.scalars(
            select(StepInstance).where(StepInstance.trajectory_id == trajectory.id)
        )
    }
    db.session.add(FieldValue(step_instance_id=steps["progress"].id, field_key="notes", value=text))
    db.session.add(
        FieldValue(step_instance_id=steps["evaluation"].id, field_key="expectations_met", value=4)
    )
    db.session.add(
        FieldValue(
            step_instance_id=steps["evaluation"].id,
            field_key="evaluation_notes",
            value=f"Evaluatie {text}",
        )
    )
    db.session.add(LearningGoal(trajectory_id=trajectory.id, title=f"Doel {text}"))
    trajectory.status = TrajectoryStatus.COMPLETED
    trajectory.completed_at = utcnow() - LONG_AGO
    db.session.flush()
    return trajectory.id


def _second_learner(world: World):
    """The colleague in the same edition: shares the group meetings with the learner."""
    enrolment = Enrolment(
        edition_id=world.edition,
        learner_id=world.colleague,
        status=EnrolmentStatus.ENROLLED,
        enrolled_at=utcnow(),
    )
    db.session.add(enrolment)
    db.session.flush()
    start_trajectory(enrolment)
    db.session.flush()


def _leave(user_id, ago=LONG_AGO):
    user = get(User, user_id)
    user.active = False
    revoke_access(user)
    db.session.execute(
        update(Departure).where(Departure.user_id == user_id).values(left_at=utcnow() - ago)
    )
    db.session.flush()


# --- periods ----------------------------------------------------------------------------------


def test_defaults_follow_the_profile(app, tenants):
    with in_tenant(app, tenants["flevoland"]):
        assert periods() == PROFILES["province"]
        assert periods()["trajectory_records"] == 120 and periods()["coaching_notes"] == 12
        from samenleren.core.tenancy import require_tenant

        require_tenant().retention_profile = "municipality"
        db.session.flush()
        assert periods() == PROFILES["municipality"]
        assert periods()["trajectory_records"] == 84
        assert periods()["audit_log"] >= 36
        db.session.rollback()


def test_the_manifest_chooses_the_profile():
    from samenleren.tenants.manifest import Manifest

    base = {
        "slug": "almere",
        "name": "Gemeente Almere",
        "default_locale": "nl",
        "sso": {"issuer": "https://idp.example", "client_id": "x", "client_secret_env": "X"},
    }
    assert Manifest.model_validate(base).retention_profile == "province"
    chosen = Manifest.model_validate(base | {"retention_profile": "municipality"})
    assert chosen.retention_profile == "municipality"
    with pytest.raises(ValueError):
        Manifest.model_validate(base | {"retention_profile": "waterschap"})


def test_the_admin_lengthens_a_period_audited(app, world):
    admin = client_for(app, world, "admin")
    data = {key: str(value) for key, value in PROFILES["province"].items()}
    data["coaching_notes"] = "18"
    answer = admin.post(SETTINGS, data={"csrf_token": _token(admin, SETTINGS), **data})
    assert answer.status_code == 303
    with in_tenant(app, world.tenant):
        assert periods()["coaching_notes"] == 18
    [changed] = events(app, world.tenant, "retention.changed")
    assert changed.details == {"kind": "coaching_notes", "previous": 12, "months": 18}
    with in_tenant(app, world.tenant):
        assert periods()["trajectory_records"] == 120


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        ("trajectory_records", "100", "At least 120 months: a shorter period is below the legal"),
        ("audit_log", "24", "At least 36 months"),
        ("coaching_notes", "36", "At most 24 months"),
        ("exports", "zeven", "Give a whole number."),
    ],
)
def test_a_period_outside_the_bounds_is_refused_and_nothing_changes(
    app, world, kind, value, message
):
    admin = client_for(app, world, "admin")
    admin.get("/flevoland/?lang=en")
    data = {key: str(v) for key, v in PROFILES["province"].items()}
    data["coaching_notes"] = "18"
    data[kind] = value
    answer = admin.post(SETTINGS, data={"csrf_token": _token(admin, SETTINGS), **data})
    assert answer.status_code == 422
    assert message in answer.get_data(as_text=True)
    with in_tenant(app, world.tenant):
        assert periods() == PROFILES["province"]
    assert events(app, world.tenant, "retention.changed") == []


@pytest.mark.parametrize("who", ["learner", "coach", "manager", "trainer"])
def test_only_the_programme_admin_sees_the_pages(app, world, who):
    client = client_for(app, world, who)
    for path in (SETTINGS, HOLDS, "/flevoland/retention/register.csv"):
        assert client.get(path).status_code == 404


def test_the_pages_cost_few_queries(app, world):
    admin = client_for(app, world, "admin")
    counter = QueryCounter(app)
    for path in (SETTINGS, HOLDS):
        admin.get(path)
        with counter.counting() as statements:
            assert admin.get(path).status_code == 200
        assert len(statements) <= 8, statements


# --- the nightly run --------------------------------------------------------------------------


def test_an_employee_who_left_is_anonymised_and_the_counts_stay(app, world):
    with in_tenant(app, world.tenant):
        _second_learner(world)
        mine = _write_notes(world, world.learner, "Anna's geheim")
        theirs = _write_notes(world, world.colleague, "Cor's geheim")
        meeting = db.session.scalar(select(GroupMeeting).where(GroupMeeting.id == world.meeting))
        meeting.outcome = "Samen afgesproken"
        # Both attended the training's session and the shared group meeting.
        for person in (world.learner, world.colleague):
            db.session.add(
                SessionAttendance(session_id=world.session, learner_id=person, present=True)
            )
            db.session.add(
                GroupMeetingAttendance(meeting_id=world.meeting, user_id=person, present=True)
            )
        db.session.commit()
        year = get(Edition, world.edition).starts_on.year
        scope = Scope(period=Period.of_year(year))

        def counts():
            found = figures(scope)
            return (found.trajectories, found.learners, found.completed, found.withdrawn)

        before = counts()
        _leave(world.learner)
        db.session.commit()
        outcome = apply_retention()
        db.session.commit()
        assert outcome.anonymised_ids == [world.learner]
        assert counts() == before
        learner = get(User, world.learner)
        assert learner.name == "Oud-medewerker" and learner.email is None
        assert learner.subject == f"anonymised:{learner.id}" and learner.employee_number is None
        # Their words are gone; the rows the report counts stay.
        values = {
            (v.field_key, str(v.value))
            for v in db.session.scalars(
                select(FieldValue)
                .join(StepInstance, StepInstance.id == FieldValue.step_instance_id)
                .where(StepInstance.trajectory_id == mine)
            )
        }
        assert values == {("expectations_met", "4")}
        assert (
            db.session.scalar(select(LearningGoal.title).where(LearningGoal.trajectory_id == mine))
            == "—"
        )
        assert get(Trajectory, mine).status is TrajectoryStatus.COMPLETED
        # Another learner's data, and the group meeting they shared, are untouched.
        kept = db.session.scalars(
            select(FieldValue.value)
            .join(StepInstance, StepInstance.id == FieldValue.step_instance_id)
            .where(StepInstance.trajectory_id == theirs, FieldValue.field_key == "evaluation_notes")
        ).all()
        assert kept == ["Evaluatie Cor's geheim"]
        assert get(User, world.colleague).name == "Cor Colleague flevoland"
        assert get(GroupMeeting, world.meeting).outcome == "Samen afgesproken"
        assert len(db.session.scalars(select(SessionAttendance.id)).all()) == 2
        assert len(db.session.scalars(select(GroupMeetingAttendance.id)).all()) == 2
    [event] = events(app, world.tenant, "user.anonymised")
    assert event.subject_id == str(world.learner)
    assert "Anna" not in json.dumps([e.details for e in events(app, world.tenant)])


def test_someone_who_left_recently_is_kept(app, world):
    with in_tenant(app, world.tenant):
        _leave(world.learner, ago=timedelta(days=365 * 9))
        db.session.commit()
        assert apply_retention().anonymised_ids == []
        assert get(User, world.learner).name == "Anna Learner flevoland"


def test_a_coach_who_left_is_anonymised_and_their_learners_trajectories_stay(app, world):
    with in_tenant(app, world.tenant):
        _write_notes(world, world.learner, "Notitie")
        db.session.execute(
            update(Trajectory)
            .where(Trajectory.learner_id == world.learner)
            .values(completed_at=utcnow() - timedelta(days=30))
        )
        # Both coaches were at the coach day; its record is the group's.
        for coach in (world.coach, world.other_coach):
            db.session.add(
                CoachDayAttendance(coach_day_id=world.coach_day, coach_id=coach, present=True)
            )
        get(CoachDay, world.coach_day).record = "Intervisie over feedback"
        _leave(world.coach)
        db.session.commit()
        assert apply_retention().anonymised_ids == [world.coach]
        assert get(CoachDay, world.coach_day).record == "Intervisie over feedback"
        attended = db.session.scalars(select(CoachDayAttendance.coach_id)).all()
        assert sorted(attended) == sorted([world.coach, world.other_coach])
        assert get(User, world.other_coach).name == "Otto Coach flevoland"
        trajectory = db.session.scalar(
            select(Trajectory).where(Trajectory.learner_id == world.learner)
        )
        assert trajectory.coach_id == world.coach
        notes = db.session.scalars(
            select(FieldValue.value)
            .join(StepInstance, StepInstance.id == FieldValue.step_instance_id)
            .where(StepInstance.trajectory_id == trajectory.id, FieldValue.field_key == "notes")
        ).all()
        assert notes == ["Notitie"]


def test_confidential_notes_go_twelve_months_after_the_trajectory_ended(app, world):
    with in_tenant(app, world.tenant):
        tid = _write_notes(world, world.learner, "Vertrouwelijk")

        def notes():
            return db.session.scalars(
                select(FieldValue.field_key)
                .join(StepInstance, StepInstance.id == FieldValue.step_instance_id)
                .where(StepInstance.trajectory_id == tid)
            ).all()

        get(Trajectory, tid).completed_at = utcnow() - timedelta(days=330)
        db.session.commit()
        assert apply_retention().notes_deleted == 0
        assert "notes" in notes()
        get(Trajectory, tid).completed_at = utcnow() - timedelta(days=370)
        db.session.commit()
        assert apply_retention().notes_deleted == 1
        db.session.commit()
        # Only the confidential step's note: the evaluation stays (the learner is still here).
        assert sorted(notes()) == ["evaluation_notes", "expectations_met"]


def test_a_legal_hold_stops_it_and_lifting_it_lets_it_go_on(app, world):
    from samenleren.retention.holds import lift_hold

    with in_tenant(app, world.tenant):
        tid = _write_notes(world, world.learner, "Bewaren")
        _leave(world.learner)
        admin = get(User, world.admin)
        hold = place_hold("trajectory", str(tid), "Bezwaarprocedure", admin)
        db.session.commit()
        outcome = apply_retention()
        db.session.commit()
        assert outcome.anonymised_ids == [] and outcome.notes_deleted == 0
        assert get(User, world.learner).name == "Anna Learner flevoland"
        lift_hold(hold, admin)
        db.session.commit()
        outcome = apply_retention()
        db.session.commit()
        # Anonymising removed the learner's words, the confidential note with them.
        assert outcome.anonymised_ids == [world.learner]
        assert (
            db.session.scalar(select(FieldValue.id).where(FieldValue.field_key == "notes")) is None
        )
    placed = events(app, world.tenant, "legal_hold.placed")
    assert [e.details for e in placed] == [{"reason": "Bezwaarprocedure"}]
    assert len(events(app, world.tenant, "legal_hold.lifted")) == 1


def test_a_hold_is_placed_on_the_page_and_bad_input_changes_nothing(app, world, other):
    admin = client_for(app, world, "admin")
    admin.get("/flevoland/?lang=en")
    token = _token(admin, HOLDS)
    refused = admin.post(
        HOLDS,
        data={
            "csrf_token": token,
            "subject": f"person:{other.learner}",
            "reason": "x",
        },
    )
    assert refused.status_code == 422
    assert "No person or trajectory with this id" in refused.get_data(as_text=True)
    empty = admin.post(
        HOLDS,
        data={
            "csrf_token": token,
            "subject": f"person:{world.learner}",
            "reason": " ",
        },
    )
    assert empty.status_code == 422 and "Say why the data must be kept." in empty.get_data(
        as_text=True
    )
    assert events(app, world.tenant, "legal_hold.placed") == []
    placed = admin.post(
        HOLDS,
        data={
            "csrf_token": token,
            "subject": f"person:{world.learner}",
            "reason": "Onderzoek",
        },
    )
    assert placed.status_code == 303
    page = admin.get(HOLDS).get_data(as_text=True)
    # Named, never by an id: the person's name and what is held.
    assert str(world.learner) not in page
    assert "All their data" in page and "Onderzoek" in page


def test_a_hold_is_placed_by_finding_the_person_and_choosing_what_to_keep(app, world, other):
    """No id is typed: the admin searches (people who left too), picks the person, and chooses
    all of their data or one of their trajectories; another tenant's person is not offered."""
    from samenleren.retention.models import LegalHold

    admin = client_for(app, world, "admin")
    admin.get("/flevoland/?lang=en")
    with in_tenant(app, world.tenant):
        learner = get(User, world.learner)
        name, trajectory = learner.name, str(world.trajectory)
        learner.active = False  # left: still found, a hold is most often about them
        db.session.commit()
    found = admin.get(HOLDS, query_string={"q": name[:4]}).get_data(as_text=True)
    assert f"/flevoland/retention/holds?person={world.learner}" in found
    chosen = admin.get(HOLDS, query_string={"person": str(world.learner)}).get_data(as_text=True)
    assert f'value="person:{world.learner}"' in chosen
    assert f'value="trajectory:{trajectory}"' in chosen
    assert "has left" in chosen
    # Another tenant's person: nothing to choose, as if there were no such person.
    elsewhere = admin.get(HOLDS, query_string={"person": str(other.learner)})
    assert elsewhere.status_code == 200
    assert f"person:{other.learner}" not in elsewhere.get_data(as_text=True)
    token = _token(admin, HOLDS)
    nothing = admin.post(
        HOLDS, data={"csrf_token": token, "person": str(world.learner), "reason": "Geschil"}
    )
    assert nothing.status_code == 422 and "Choose a person or a trajectory." in nothing.get_data(
        as_text=True
    )
    placed = admin.post(
        HOLDS,
        data={
            "csrf_token": token,
            "person": str(world.learner),
            "subject": f"trajectory:{trajectory}",
            "reason": "Geschil",
        },
    )
    assert placed.status_code == 303
    with in_tenant(app, world.tenant):
        hold = db.session.scalars(select(LegalHold)).one()
        assert (hold.subject_type, str(hold.subject_id)) == ("trajectory", trajectory)
    page = admin.get(HOLDS).get_data(as_text=True)
    assert "Trajectory " in page and name in page and trajectory not in page


def test_mails_and_exports_past_their_period_go(app, world):
    from samenleren.notifications.models import Notification, NotificationState

    with in_tenant(app, world.tenant):
        old = Notification(
            recipient_id=world.learner,
            kind="reminder",
            key="oud",
            due_at=utcnow(),
            state=NotificationState.SENT,
            sent_at=utcnow() - timedelta(days=200),
            message_id="<oud@x>",
        )
        new = Notification(
            recipient_id=world.colleague,
            kind="reminder",
            key="nieuw",
            due_at=utcnow(),
            state=NotificationState.SENT,
            sent_at=utcnow() - timedelta(days=20),
            message_id="<nieuw@x>",
        )
        pending = Notification(
            recipient_id=world.learner,
            kind="reminder",
            key="straks",
            due_at=utcnow(),
            message_id="<straks@x>",
            created_at=utcnow() - timedelta(days=400),
        )
        db.session.add_all([old, new, pending])
        db.session.commit()
        assert apply_retention().mails_deleted == 1
        db.session.commit()
        assert sorted(db.session.scalars(select(Notification.key))) == ["nieuw", "straks"]


def test_an_export_goes_after_its_days(app, world):
    from samenleren.exports import services
    from samenleren.exports.models import Export, ExportState

    with in_tenant(app, world.tenant):
        export = services.new_export(get(User, world.admin), "xlsx", ["trajectories"], "nl")
        export_id = export.id
        db.session.commit()
        services.build_export(export_id)
        assert apply_retention().exports_expired == 0
        db.session.commit()
        get(Export, export_id).finished_at = utcnow() - timedelta(days=8)
        db.session.commit()
        assert apply_retention().exports_expired == 1
        db.session.commit()
        kept = get(Export, export_id)
        assert kept.state is ExportState.EXPIRED and kept.content is None


# --- the audit log ----------------------------------------------------------------------------


def _old_events(count: int, years: int = 4, label: str = "Oud"):
    for n in range(count):
        db.session.add(
            AuditEvent(
                action="login.succeeded",
                actor_label=f"{label} {n}",
                occurred_at=utcnow() - timedelta(days=365 * years) + timedelta(minutes=n),
            )
        )
    db.session.flush()


def _verify(app, slug):
    return app.test_cli_runner().invoke(args=["audit", "verify", "--tenant", slug])


@pytest.fixture
def owner(database):
    with psycopg.connect(database.owner_url, autocommit=True) as connection:
        yield connection


def test_old_audit_events_go_and_the_chain_still_verifies(app, tenants, owner):
    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        _old_events(3)
        record("login.succeeded", actor_label="Nu")
        db.session.commit()
    assert _verify(app, "flevoland").exit_code == 0
    with in_tenant(app, flevoland):
        outcome = apply_retention()
        db.session.commit()
        assert outcome.audit_events_removed == 3
        labels = db.session.scalars(
            select(AuditEvent.actor_label).order_by(AuditEvent.sequence)
        ).all()
        assert "Oud 0" not in labels and labels[0] == "Nu"
    answer = _verify(app, "flevoland")
    assert answer.exit_code == 0, answer.output
    # A changed row after the anchor is still caught.
    with owner.transaction():
        owner.execute("SELECT set_config('app.tenant_id', %s, true)", (str(flevoland.id),))
        owner.execute("UPDATE audit_events SET actor_label = 'Iemand' WHERE actor_label = 'Nu'")
    answer = _verify(app, "flevoland")
    assert answer.exit_code != 0
    assert "changed" in answer.output


def test_the_database_refuses_a_removal_not_announced_in_the_chain(app, tenants):
    from sqlalchemy import text

    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        _old_events(2)
        db.session.commit()
        first = db.session.execute(
            select(AuditEvent.sequence, AuditEvent.entry_hash).order_by(AuditEvent.sequence)
        ).first()
        with pytest.raises(Exception, match="not announced"):
            db.session.execute(
                text("SELECT audit_prune_prefix(:t, :s, :h)"),
                {"t": flevoland.id, "s": first[0], "h": first[1]},
            )
        db.session.rollback()


def test_events_about_someone_on_hold_stay(app, world):
    with in_tenant(app, world.tenant):
        _old_events(2)
        db.session.add(
            AuditEvent(
                action="login.succeeded",
                actor_id=world.learner,
                actor_label="Anna",
                occurred_at=utcnow() - timedelta(days=365 * 4) + timedelta(hours=1),
            )
        )
        _old_events(2, label="Later")
        place_hold("person", str(world.learner), "Geschil", get(User, world.admin))
        db.session.commit()
        removed = apply_retention().audit_events_removed
        db.session.commit()
        # Everything of the world before the hold's event... and not the event itself.
        labels = db.session.scalars(select(AuditEvent.actor_label)).all()
        assert "Anna" in labels and "Oud 0" not in labels and removed > 0
    assert _verify(app, "flevoland").exit_code == 0


def test_the_job_runs_per_tenant_and_never_touches_another(app, world, other):
    from samenleren.core.jobs.runtime import perform
    from samenleren.core.jobs.schedule import entry

    periodic = entry("retention.apply")
    assert periodic.per_tenant and periodic.job == "samenleren.retention.jobs.apply"
    for ref, w in ((world.tenant, world), (other.tenant, other)):
        with in_tenant(app, ref):
            _write_notes(w, w.learner, f"Notitie {ref.slug}")
            _leave(w.learner)
            db.session.commit()
    perform(job=periodic.job, tenant_id=str(world.tenant.id), kwargs={})
    with in_tenant(app, world.tenant):
        assert get(User, world.learner).email is None
    with in_tenant(app, other.tenant):
        learner = get(User, other.learner)
        assert learner.name == "Anna Learner gelderland" and learner.email
        assert db.session.scalar(select(FieldValue.id).where(FieldValue.field_key == "notes"))
    assert events(app, other.tenant, "user.anonymised") == []


# --- the processing register ------------------------------------------------------------------


def test_the_register_lists_kinds_and_steps_with_the_tenants_periods(app, world):
    admin = client_for(app, world, "admin")
    admin.get("/flevoland/?lang=en")
    answer = admin.get("/flevoland/retention/register.json")
    assert answer.status_code == 200
    body = json.loads(answer.get_data(as_text=True))
    activities = {row["activity"]: row for row in body["activities"]}
    assert activities["Confidential coaching notes"]["retention"].startswith("12 months")
    assert activities["Confidential coaching notes"]["recipients"] == (
        "the learner and their current learning coach only"
    )
    assert activities["Audit log"]["retention"].startswith("36 months")
    steps = [name for name in activities if name.startswith("Step: ")]
    assert len(steps) == 8
    progress = next(
        row
        for name, row in activities.items()
        if name.startswith("Step: ")
        and "programme administrator" not in row["recipients"]
        and "coach" in row["recipients"]
    )
    assert "manager" not in progress["recipients"]
    rows = list(
        csv.reader(
            io.StringIO(admin.get("/flevoland/retention/register.csv").get_data(as_text=True)),
            delimiter=";",
        )
    )
    assert rows[0][0] == "Processing activity" and len(rows) == len(body["activities"]) + 1
    assert [e.details for e in events(app, world.tenant, "register.exported")] == [
        {"format": "json"},
        {"format": "csv"},
    ]
