"""Demo data: deterministic per tenant, idempotent, complete, and the embedded default runs."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, timedelta
from uuid import UUID

from flask import Flask
from sqlalchemy import event, func, select
from sqlalchemy.orm import joinedload, selectinload

from samenleren.catalogue.models import (
    Edition,
    EditionSession,
    Enrolment,
    EnrolmentStatus,
    SessionAttendance,
    Training,
)
from samenleren.coaching.matching import coach_loads
from samenleren.coaching.models import CoachDay, CoachDayAttendance, CoachProfile
from samenleren.core.db import as_utc
from samenleren.core.extensions import db
from samenleren.core.formatting import local_today
from samenleren.core.tenancy import TenantScoped, tenant_scope
from samenleren.core.tenant import Tenant
from samenleren.demo.seed import DEPARTMENTS, TRAININGS, demo_people, seed_tenant, showcase
from samenleren.identity.models import Role, RoleAssignment, User
from samenleren.trajectories.confidentiality import readable_values
from samenleren.trajectories.models import (
    CoachAssignment,
    GroupMeeting,
    GroupMeetingAttendance,
    GroupMeetingState,
    LearningGoal,
    StepInstance,
    StepState,
    Trajectory,
    TrajectoryStatus,
)
from tests.conftest import REPO_ROOT, TenantRef


def _tenant(ref: TenantRef) -> Tenant:
    return db.session.get(Tenant, ref.id)


def _tenant_models() -> dict[str, type]:
    """Every tenant-owned model, by table name."""
    return {
        mapper.class_.__tablename__: mapper.class_
        for mapper in db.Model.registry.mappers
        if issubclass(mapper.class_, TenantScoped)
    }


def _counts(tenant: Tenant) -> dict[str, int]:
    """The tenant's row count of every tenant-owned table."""
    with tenant_scope(tenant):
        return {
            name: db.session.scalar(select(func.count()).select_from(model))
            for name, model in sorted(_tenant_models().items())
        }


def test_seeding_is_deterministic_per_slug(app: Flask, tenants: dict[str, TenantRef]) -> None:
    """The same slug always gives the same people, in the database too."""
    with app.app_context():
        flevoland = _tenant(tenants["flevoland"])
        first = [(p.subject, p.name, p.email, p.roles) for p in demo_people(flevoland)]
        second = [(p.subject, p.name, p.email, p.roles) for p in demo_people(flevoland)]
        assert first == second
        seed_tenant(flevoland)
        with tenant_scope(flevoland):
            stored = set(db.session.scalars(select(User.subject)))
    assert stored == {subject for subject, *_ in first}
    assert len(stored) == len(first)


#: Filled by the admins' choices and insight's jobs, not by the demo.
INSIGHT_TABLES = (
    "insight_mail_opt_outs",
    "insight_quarterly_mails",
    "insight_sharing",
    "insight_comparisons",
)

#: Filled by provisioning (samenleren.scim), not by the demo.
SCIM_TABLES = ("scim_tokens", "scim_groups", "scim_group_members")
#: Filled by the programme admin (periods, legal holds) and by people leaving, not by a seed.
RETENTION_TABLES = ("retention_periods", "legal_holds", "retention_departures")


def test_seeding_twice_adds_nothing(app: Flask, tenants: dict[str, TenantRef]) -> None:
    """A second seed of the same tenant leaves every tenant table's row count unchanged, and the
    first one fills every tenant table (login sessions come from logging in)."""
    with app.app_context():
        flevoland = _tenant(tenants["flevoland"])
        seed_tenant(flevoland)
        once = _counts(flevoland)
        seed_tenant(flevoland)
        assert _counts(flevoland) == once
    assert once["departments"] == len(DEPARTMENTS)
    assert once["trainings"] == len(TRAININGS)
    assert once["users"] > 50
    empty = {table for table, count in once.items() if count == 0}
    # Login sessions come from logging in; sign-in links from inviting external trainers; SCIM
    # tokens and groups from setting up provisioning; calendar feeds from a person making their
    # secret link (a seeded one would be a link nobody knows); verifications of the audit chain
    # from running `flask audit verify`; key pairs from choosing private_key_jwt; retention rows
    # from the admin changing a period, placing a legal hold, or an employee leaving
    # (`RETENTION_TABLES`); insight's rows from an admin's choice (no quarterly mail, sharing
    # figures) and from its jobs (the quarter's mail, the comparison).
    assert empty == {
        "login_sessions",
        "sign_in_links",
        "calendar_feeds",
        "audit_verifications",
        "client_keys",
        *SCIM_TABLES,
        *RETENTION_TABLES,
        *INSIGHT_TABLES,
    }
    assert once["coach_profiles"] == 13
    assert once["coach_days"] == 2


def test_tenants_get_different_people(app: Flask, tenants: dict[str, TenantRef]) -> None:
    """Flevoland and Gelderland get different names and e-mail domains."""
    with app.app_context():
        fle = demo_people(_tenant(tenants["flevoland"]))
        gel = demo_people(_tenant(tenants["gelderland"]))
    fle_names, gel_names = {p.name for p in fle}, {p.name for p in gel}
    assert len(fle_names & gel_names) <= len(fle_names) // 10
    assert all(p.email.endswith("@gelderland.example.nl") for p in gel if p.department)
    assert all(
        p.email.endswith("@flevoland.example.nl") or "trainingsbureau" in p.email for p in fle
    )


def test_every_role_is_present_with_the_tenants_own_groups(
    app: Flask, demo_tenants: dict[str, TenantRef]
) -> None:
    """Each role is held by someone, through the groups of the tenant's own IdP mapping."""
    with app.app_context():
        gelderland = _tenant(demo_tenants["gelderland"])
        people = seed_tenant(gelderland)
        group_roles = gelderland.group_roles
        with tenant_scope(gelderland):
            stored = Counter(db.session.scalars(select(RoleAssignment.role)))
    assert set(stored) == set(Role)
    assert stored[Role.COACH] == 13  # from the IdP group only: a first login changes nothing
    assert stored[Role.LEARNER] == len(people)
    groups = {group for p in people for group in p.groups}
    assert groups and groups <= set(group_roles)


def test_managers_are_set(app: Flask, demo_tenants: dict[str, TenantRef]) -> None:
    """Every employee has their department's manager as line manager, in the database."""
    with app.app_context():
        flevoland = _tenant(demo_tenants["flevoland"])
        people = seed_tenant(flevoland)
        with tenant_scope(flevoland):
            users = {u.subject: u for u in db.session.scalars(select(User))}
            for person in people:
                user = users[person.subject]
                if person.manager_subject is None:
                    assert user.manager_id is None
                    continue
                assert user.manager.subject == person.manager_subject
                assert Role.MANAGER in user.manager.roles
                if Role.MANAGER not in user.roles and Role.PROGRAMME_ADMIN not in user.roles:
                    assert user.manager.department_id == user.department_id
    with_manager = [p for p in people if p.manager_subject]
    assert len(with_manager) >= len(DEPARTMENTS) * 6


def test_demo_seed_json_lists_the_users(app: Flask, tenants: dict[str, TenantRef]) -> None:
    """`flask demo seed SLUG --json` prints the demo users for an IdP as valid JSON."""
    result = app.test_cli_runner().invoke(args=["demo", "seed", "flevoland", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    users = document["users"]
    assert users
    for user in users:
        assert set(user) == {"sub", "name", "email", "roles", "groups"}
        assert isinstance(user["roles"], list) and isinstance(user["groups"], list)
    with app.app_context(), tenant_scope(_tenant(tenants["flevoland"])):
        stored = set(db.session.scalars(select(User.subject)))
    assert {user["sub"] for user in users} == stored
    showcase = document["showcase"]
    assert list(showcase) == ["learner", "coach", "manager", "trainer", "programme_admin"]
    roles = {user["sub"]: user["roles"] for user in users}
    for role, entry in showcase.items():
        assert set(entry) == {"sub", "name", "note"}
        assert role in roles[entry["sub"]]
    assert roles[showcase["learner"]["sub"]] == ["learner"]
    assert "mid-trajectory" in showcase["learner"]["note"]

    plain = app.test_cli_runner().invoke(args=["demo", "seed", "flevoland"])
    assert plain.exit_code == 0
    assert plain.output.strip() == f"flevoland: {len(users)} demo users present"


def test_demo_seed_of_an_unknown_tenant_fails(app: Flask) -> None:
    """Seeding a slug that was never onboarded exits non-zero and says to onboard first."""
    result = app.test_cli_runner().invoke(args=["demo", "seed", "nergensland"])
    assert result.exit_code != 0
    assert "onboard it first" in result.output


def test_the_embedded_default_serves_flevoland(sqlite_app: Flask) -> None:
    """Fresh SQLite file, migrations, onboarding from the shipped manifest and seeding: the
    landing page of Provincie Flevoland is served."""
    runner = sqlite_app.test_cli_runner()
    manifest = REPO_ROOT / "tenants" / "flevoland.toml"
    onboarded = runner.invoke(args=["tenants", "onboard", str(manifest)])
    assert onboarded.exit_code == 0, onboarded.output
    seeded = runner.invoke(args=["demo", "seed", "flevoland"])
    assert seeded.exit_code == 0, seeded.output
    assert runner.invoke(args=["demo", "seed", "flevoland"]).output == seeded.output

    client = sqlite_app.test_client()
    page = client.get("/flevoland/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Provincie Flevoland" in html
    assert client.get("/flevoland/theme.css").status_code == 200
    assert client.get("/flevoland/logo").mimetype == "image/svg+xml"
    assert client.get("/gelderland/").status_code == 404


# --- the programme: every state of the Flevoland model --------------------------------------------


STEP_KEYS = [
    "learning_goals",
    "intake",
    "training",
    "progress",
    "evaluation",
    "consolidation",
    "return_day",
]


def _trajectories() -> list[Trajectory]:
    return list(
        db.session.scalars(
            select(Trajectory).options(
                selectinload(Trajectory.steps),
                joinedload(Trajectory.learner),
                joinedload(Trajectory.edition),
            )
        )
    )


def _first_open(trajectory: Trajectory) -> StepInstance | None:
    return next((step for step in trajectory.steps if step.state.is_open), None)


def _edition(title: str) -> Edition:
    """This year's edition of `title` (the history holds earlier ones)."""
    return db.session.scalar(
        select(Edition)
        .join(Training)
        .where(Training.title == title)
        .order_by(Edition.starts_on.desc())
        .limit(1)
    )


def _assert_every_state(today: date) -> None:
    """What the demo must show, checked in the active tenant (PostgreSQL or SQLite alike)."""
    trajectories = _trajectories()
    active = [t for t in trajectories if t.status is TrajectoryStatus.ACTIVE]
    # every step of the model is where some trajectory stands now
    firsts = Counter(_first_open(t).step_key for t in active)
    assert sorted(firsts, key=STEP_KEYS.index) == STEP_KEYS
    assert {t.status for t in trajectories} == set(TrajectoryStatus)
    assert {s.state for t in trajectories for s in t.steps} == set(StepState)
    assert set(db.session.scalars(select(GroupMeeting.state))) == set(GroupMeetingState)
    # overdue: open steps due before today, in running trajectories
    overdue = [s for t in active for s in t.steps if s.is_overdue(today)]
    assert {s.step_key for s in overdue} >= {"learning_goals", "intake", "progress", "evaluation"}
    # a skipped step with a reason (besides absence from a group meeting)
    skipped = [s for t in trajectories for s in t.steps if s.state is StepState.SKIPPED]
    assert any(s.step_key == "intake" and len(s.skip_reason) > 20 for s in skipped)
    assert all(s.skip_reason for s in skipped)
    # a trajectory finished completely, its return day done, dated in the past
    completed = [t for t in trajectories if t.status is TrajectoryStatus.COMPLETED]
    done_return = [
        t
        for t in completed
        if any(s.step_key == "return_day" and s.state is StepState.DONE for s in t.steps)
    ]
    assert done_return
    for trajectory in completed:
        assert as_utc(trajectory.completed_at).date() < today
        assert not any(s.state.is_open for s in trajectory.steps)
    # two progress conversations in some trajectories (one done, one planned ahead)
    twice = [t for t in trajectories if any(s.occurrence == 2 for s in t.steps)]
    assert len(twice) >= 2
    assert any(s.occurrence == 2 and s.state is StepState.DONE for t in twice for s in t.steps)
    assert any(s.occurrence == 2 and s.state.is_open for t in twice for s in t.steps)
    # one trajectory waits for a coach; one changed coach, with a reason, the old one left
    assert [t for t in active if t.coach_id is None]
    changes = db.session.scalars(select(CoachAssignment).where(CoachAssignment.reason != "")).all()
    assert len(changes) == 1
    history = db.session.scalars(
        select(CoachAssignment)
        .where(CoachAssignment.trajectory_id == changes[0].trajectory_id)
        .order_by(CoachAssignment.assigned_at)
    ).all()
    assert len(history) == 2 and history[0].ended_at is not None and history[1].ended_at is None
    assert history[0].coach_id != history[1].coach_id
    # group meetings closed with attendance and an outcome
    held = db.session.scalars(
        select(GroupMeeting).where(GroupMeeting.state == GroupMeetingState.DONE)
    ).all()
    assert held and all(as_utc(m.held_at).date() < today for m in held)
    assert any(m.outcome for m in held)
    present = set(db.session.scalars(select(GroupMeetingAttendance.present)))
    assert present == {True, False}


def _assert_catalogue(today: date) -> None:
    finished = _edition("Effectief communiceren")
    returning = _edition("Adviesvaardigheden")
    running = _edition("Projectmatig werken")
    upcoming = _edition("Onderhandelen")
    assert finished.ends_on < today - timedelta(days=92)
    assert today - timedelta(days=50) < returning.ends_on < today - timedelta(days=25)
    assert running.starts_on <= today <= running.ends_on
    assert today + timedelta(days=7) < upcoming.starts_on < today + timedelta(days=42)
    meetings = {
        (m.edition_id, m.step_key): m.state for m in db.session.scalars(select(GroupMeeting))
    }
    assert meetings[finished.id, "return_day"] is GroupMeetingState.DONE
    assert meetings[returning.id, "consolidation"] is GroupMeetingState.DONE
    assert meetings[returning.id, "return_day"] is GroupMeetingState.SCHEDULED
    assert meetings[running.id, "consolidation"] is GroupMeetingState.PLANNED
    # every edition has a trainer and sessions; attendance only of sessions that took place
    for edition in db.session.scalars(select(Edition)):
        assert edition.trainer_id is not None
        assert edition.sessions
    attended = db.session.scalars(
        select(EditionSession).join(
            SessionAttendance, SessionAttendance.session_id == EditionSession.id
        )
    ).all()
    assert attended and all(as_utc(s.starts_at).date() < today for s in attended)
    # enrolments in every state; the upcoming edition is full, with a waiting list
    statuses = Counter(db.session.scalars(select(Enrolment.status)))
    assert set(statuses) == set(EnrolmentStatus)
    in_upcoming = Counter(
        db.session.scalars(select(Enrolment.status).where(Enrolment.edition_id == upcoming.id))
    )
    assert in_upcoming[EnrolmentStatus.ENROLLED] == upcoming.places
    assert in_upcoming[EnrolmentStatus.WAITLISTED] >= 2
    # a training open to some departments only; its applicants are from those departments
    restricted = db.session.scalar(
        select(Training).where(Training.title == "Omgevingswet in de praktijk")
    )
    assert not restricted.open_to_all
    open_to = {d.id for d in restricted.departments}
    assert 0 < len(open_to) < len(DEPARTMENTS)
    applicants = db.session.scalars(
        select(User)
        .join(Enrolment, Enrolment.learner_id == User.id)
        .join(Edition, Edition.id == Enrolment.edition_id)
        .where(Edition.training_id == restricted.id)
    ).all()
    assert applicants and all(u.department_id in open_to for u in applicants)


def _assert_coaching(today: date) -> None:
    profiles = db.session.scalars(select(CoachProfile)).all()
    assert len(profiles) == 13
    assert all(2 <= p.capacity <= 4 and p.trained_on < today for p in profiles)
    assert sum(not p.active for p in profiles) == 1
    days = db.session.scalars(select(CoachDay).order_by(CoachDay.held_on)).all()
    assert [d.held_on < today for d in days] == [True, False]
    assert days[0].record and not days[1].record
    attendance = db.session.scalars(select(CoachDayAttendance)).all()
    assert {a.coach_day_id for a in attendance} == {days[0].id}
    assert {a.present for a in attendance} == {True, False}
    # every coach was allowed by the matching rules, and no coach is over capacity
    for trajectory in _trajectories():
        if trajectory.coach_id is None:
            continue
        coach = trajectory.coach
        assert coach.id != trajectory.learner.manager_id
        assert coach.department_id != trajectory.learner.department_id
    for load in coach_loads():
        assert load.load <= load.capacity, load.user.name


def test_every_state_of_the_model_appears(app: Flask, demo_tenants: dict[str, TenantRef]) -> None:
    """Every step is the first open step of some trajectory; overdue, skipped, scheduled and
    done steps, a completed trajectory with its return day, a coach change, a learner without a
    coach, editions past, present and future, a waiting list, coach days with attendance."""
    today = local_today()
    with app.app_context():
        for slug in ("flevoland", "gelderland"):
            tenant = _tenant(demo_tenants[slug])
            seed_tenant(tenant)
            with tenant_scope(tenant):
                _assert_every_state(today)
                _assert_catalogue(today)
                _assert_coaching(today)


def test_progress_notes_reach_the_coach_but_not_the_manager(
    app: Flask, demo_tenants: dict[str, TenantRef]
) -> None:
    """The seeded progress conversations hold confidential notes: the learner and the coach
    read them, the manager and the programme admin do not (through the confidentiality layer)."""
    with app.app_context():
        tenant = _tenant(demo_tenants["flevoland"])
        seed_tenant(tenant)
        with tenant_scope(tenant):
            trajectories = _trajectories()
            definition = trajectories[0].template_version.content
            # Conversations held in the programme year (the history's steps were closed by
            # nobody: `demo.history` keeps no conversation texts).
            steps = [
                s
                for t in trajectories
                for s in t.steps
                if s.step_key == "progress"
                and s.state is StepState.DONE
                and s.completed_by_id is not None
            ]
            assert len(steps) >= 5

            def notes(*roles: Role) -> list:
                values = readable_values(definition, steps, frozenset(roles))
                return [v["notes"] for v in values.values() if "notes" in v]

            assert len(notes(Role.COACH)) == len(steps)
            assert len(notes(Role.LEARNER)) == len(steps)
            assert notes(Role.MANAGER) == []
            assert notes(Role.PROGRAMME_ADMIN, Role.TRAINER) == []
            intake = [s for t in trajectories for s in t.steps if s.step_key == "intake"]
            by_manager = readable_values(definition, intake, frozenset({Role.MANAGER}))
            assert any("manager_expectations" in v for v in by_manager.values())


def test_the_showcase_follows_one_trajectory(
    app: Flask, demo_tenants: dict[str, TenantRef]
) -> None:
    """The learner shown for `make run` is mid-trajectory in the running edition; the coach and
    manager shown are that trajectory's coach (still in the pool) and the learner's manager."""
    today = local_today()
    with app.app_context():
        tenant = _tenant(demo_tenants["flevoland"])
        people = seed_tenant(tenant)
        chosen = showcase(tenant, people)
        with tenant_scope(tenant):
            learner = db.session.scalar(
                select(User).where(User.subject == chosen["learner"].person.subject)
            )
            trajectory = db.session.scalar(
                select(Trajectory).where(
                    Trajectory.learner_id == learner.id,
                    Trajectory.status == TrajectoryStatus.ACTIVE,
                )
            )
            assert trajectory.edition.starts_on <= today <= trajectory.edition.ends_on
            states = [s.state for s in trajectory.steps]
            assert StepState.DONE in states and StepState.SCHEDULED in states
            assert trajectory.coach.subject == chosen["coach"].person.subject
            assert learner.manager.subject == chosen["manager"].person.subject
            profile = db.session.scalar(
                select(CoachProfile).where(CoachProfile.user_id == trajectory.coach_id)
            )
            assert profile.active
    assert set(chosen) == {"learner", "coach", "manager", "trainer", "programme_admin"}
    assert len({entry.person.subject for entry in chosen.values()}) == 5


def test_seeding_stays_within_a_statement_budget(app: Flask, tenants: dict[str, TenantRef]) -> None:
    """Seeding a tenant stays fast: a bounded number of SQL statements the first time (the
    services each do a few), a handful the second."""
    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        statements.append(statement)

    with app.app_context():
        tenant = _tenant(tenants["gelderland"])
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            seed_tenant(tenant)
            first = len(statements)
            seed_tenant(tenant)
            second = len(statements) - first
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
    # 2,000 before; the coach-assigned mail reads the coach's introduction (one statement each);
    # the budget ledger's part is about 30 statements; expected results and their ratings (set
    # and rated through their services) add ~230.
    assert 0 < first < 2500
    # The second seed finds the programme in place and skips the later parts (exports, library,
    # templates, outbox) without asking each of them: 13 statements today.
    assert second < 20


def _fingerprint() -> list:
    """The programme as people see it (names, steps, dates, texts), free of generated ids."""
    names = dict(db.session.execute(select(User.id, User.subject)).all())
    goals = dict(db.session.execute(select(LearningGoal.id, LearningGoal.title)).all())
    values = sorted(
        (
            names[trajectory.learner_id],
            step.step_key,
            step.occurrence,
            key,
            json.dumps(
                {goals[UUID(k)]: v for k, v in value.items()} if isinstance(value, dict) else value,
                sort_keys=True,
            ),
        )
        for trajectory in _trajectories()
        for step in trajectory.steps
        for key, value in readable_values(
            trajectory.template_version.content, [step], frozenset({Role.LEARNER, Role.MANAGER})
        )
        .get(step.id, {})
        .items()
    )
    steps = sorted(
        (
            names[t.learner_id],
            names.get(t.coach_id) or "",
            t.status.value,
            s.step_key,
            s.occurrence,
            s.state.value,
            s.due_on.isoformat(),
            as_utc(s.starts_at).isoformat() if s.starts_at else "",
            s.location,
            s.video_url,
        )
        for t in _trajectories()
        for s in t.steps
    )
    attendance = sorted(
        (topic, names[learner], present)
        for topic, learner, present in db.session.execute(
            select(
                EditionSession.topic, SessionAttendance.learner_id, SessionAttendance.present
            ).join(EditionSession, EditionSession.id == SessionAttendance.session_id)
        )
    )
    enrolments = sorted(
        (names[learner], status.value, motivation)
        for learner, status, motivation in db.session.execute(
            select(Enrolment.learner_id, Enrolment.status, Enrolment.motivation)
        )
    )
    return [values, steps, attendance, enrolments, _programme_figures()]


def _programme_figures() -> list:
    """The programme admin's start page's figures, counted in SQL (JSON ratings included)."""
    from samenleren.dashboards.programme import programme_dashboard

    admin = db.session.scalars(
        select(User)
        .join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(RoleAssignment.role == Role.PROGRAMME_ADMIN)
        .order_by(User.subject)
    ).first()
    board = programme_dashboard(admin)
    goals = [
        (row.goal.code, row.learning_goals, row.trajectories, row.by_learner, row.by_manager)
        for row in board.goals
    ]
    # The demo rates goals at the evaluation: the figures are not all empty.
    assert any(row.by_learner.count and row.by_manager.count for row in board.goals), goals
    loads = [(row.name, row.load, row.capacity) for row in board.coach_loads.rows]
    return [goals, board.counts, loads, board.coach_loads.listed]


def test_the_programme_seeds_on_sqlite_too(
    sqlite_app: Flask, app: Flask, tenants: dict[str, TenantRef]
) -> None:
    """The embedded default: on SQLite the same states appear, a second seed adds nothing, and
    the programme is the very same as on PostgreSQL (the seed is deterministic per slug)."""
    from samenleren.tenants.manifest import load_manifest
    from samenleren.tenants.services import onboard_tenant

    today = local_today()
    with sqlite_app.app_context():
        tenant = onboard_tenant(load_manifest(REPO_ROOT / "tenants" / "flevoland.toml")).tenant
        db.session.commit()
        seed_tenant(tenant)
        once = _counts(tenant)
        seed_tenant(tenant)
        assert _counts(tenant) == once
        with tenant_scope(tenant):
            _assert_every_state(today)
            _assert_catalogue(today)
            _assert_coaching(today)
            on_sqlite = _fingerprint()
    assert {table for table, count in once.items() if count == 0} == {
        "login_sessions",
        "sign_in_links",
        "calendar_feeds",
        "audit_verifications",
        "client_keys",
        *SCIM_TABLES,
        *RETENTION_TABLES,
        *INSIGHT_TABLES,
    }
    with app.app_context():
        tenant = _tenant(tenants["flevoland"])
        seed_tenant(tenant)
        with tenant_scope(tenant):
            on_postgresql = _fingerprint()
    assert on_sqlite == on_postgresql
    assert all(on_sqlite)


def test_demo_seed_of_a_tenant_without_groups_or_goals_refuses_in_one_line(
    app: Flask, tenants: dict[str, TenantRef], tmp_path
) -> None:
    """A tenant whose manifest maps no group to a role and has no organisation goals: one clear
    line, no traceback, nothing seeded."""
    from samenleren.core.extensions import db
    from samenleren.core.tenancy import tenant_scope
    from samenleren.core.tenant import get_tenant_by_slug
    from samenleren.identity.models import User
    from tests.tenants.test_manifest import BASE

    bare = BASE.replace('[roles.groups]\n"ZL-Leercoaches" = ["coach"]\n', "")
    bare = bare.split("[[organisation_goals]]")[0]
    assert "[theme]" in bare and "ZL-Leercoaches" not in bare
    manifest = tmp_path / "zeeland.toml"
    manifest.write_text(bare)
    runner = app.test_cli_runner()
    onboarded = runner.invoke(args=["tenants", "onboard", str(manifest)])
    assert onboarded.exit_code == 0, onboarded.output
    result = runner.invoke(args=["demo", "seed", "zeeland"])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert "cannot seed the demo" in lines[0]
    assert "programme_admin, trainer, manager, coach" in lines[0]
    assert "no organisation goals" in lines[0]
    with app.app_context(), tenant_scope(get_tenant_by_slug("zeeland")):
        assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_the_report_shows_two_years_of_history(
    app: Flask, demo_tenants: dict[str, TenantRef]
) -> None:
    """The demo's history: in each of the two years before this one, completed trajectories
    with transfer measured after three months (growing), and money spent on them."""
    from samenleren.insight.costs import programme_costs
    from samenleren.insight.figures import figures
    from samenleren.insight.scope import Period, Scope

    year = local_today().year
    with app.app_context():
        tenant = _tenant(demo_tenants["flevoland"])
        seed_tenant(tenant)
        with tenant_scope(tenant):
            found = figures(Scope(period=Period.of_year(year - 1)), costs=False)
            trend = {row.year: row.by_manager for row in found.trend}
            costs = programme_costs(year, 5)
    for back in (2, 1):
        assert trend[year - back].whole >= 20, trend
    assert trend[year - 2].ratio < trend[year - 1].ratio  # a programme that learns
    assert found.completed.part >= 20 and found.withdrawn.part == 0
    spent = {row.costs.year: row.costs.spent_cents for row in costs.years}
    assert spent[year - 2] > 0 and spent[year - 1] > 0
    assert costs.years[-2].applied > 0 and costs.years[-2].per_applied_cents
