"""The catalogue services: who is offered what, applying, enrolling, the waiting list,
withdrawing, editions, sessions and attendance.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from samenleren.core.errors_input import FORM, InvalidInput
from samenleren.core.formatting import local_today
from tests.factories import add_user, build_world, get, in_tenant

pytestmark = pytest.mark.usefixtures("english")


def _people(world):
    from samenleren.identity.models import User

    return {
        name: get(User, getattr(world, name))
        for name in ("learner", "manager", "coach", "other_coach", "trainer", "admin", "colleague")
    }


def _count(model, *where) -> int:
    from samenleren.core.extensions import db

    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _trajectory_of(enrolment):
    from samenleren.core.extensions import db
    from samenleren.trajectories.models import Trajectory

    return db.session.scalar(select(Trajectory).where(Trajectory.enrolment_id == enrolment.id))


def _edition(world, **changes):
    from samenleren.catalogue.models import Edition

    edition = get(Edition, world.edition)
    for name, value in changes.items():
        setattr(edition, name, value)
    return edition


# --- what is offered to whom --------------------------------------------------------------------


def test_a_restricted_training_is_offered_only_to_its_departments(app, tenants):
    from samenleren.catalogue.access import is_open_to, trainings_open_to
    from samenleren.catalogue.models import Training, TrainingDepartment
    from samenleren.core.extensions import db

    with in_tenant(app, tenants["flevoland"]):
        world = build_world(tenants["flevoland"])
        people = _people(world)
        restricted = Training(title="Omgevingswet voor Ruimte", open_to_all=False)
        retired = Training(title="Oude cursus", active=False)
        db.session.add_all([restricted, retired])
        db.session.flush()
        db.session.add(
            TrainingDepartment(training_id=restricted.id, department_id=world.department)
        )
        db.session.flush()

        def titles(user):
            return {training.title for training in trainings_open_to(user)}

        everyone = f"Training van {tenants['flevoland'].slug}"
        assert titles(people["learner"]) == {everyone, "Omgevingswet voor Ruimte"}
        assert titles(people["coach"]) == {everyone}  # another department
        assert titles(people["trainer"]) == {everyone}  # no department at all
        assert titles(people["admin"]) == {everyone, "Omgevingswet voor Ruimte", "Oude cursus"}
        db.session.refresh(restricted)
        assert is_open_to(restricted, people["learner"])
        assert not is_open_to(restricted, people["coach"])
        assert not is_open_to(retired, people["learner"])


def test_applying_for_a_restricted_training_of_another_department_is_refused(app, tenants):
    from samenleren.catalogue.enrolment import apply_for
    from samenleren.catalogue.models import (
        Edition,
        Enrolment,
        Training,
        TrainingDepartment,
    )
    from samenleren.core.extensions import db

    with in_tenant(app, tenants["flevoland"]):
        world = build_world(tenants["flevoland"])
        people = _people(world)
        restricted = Training(title="Alleen Bedrijfsvoering", open_to_all=False)
        db.session.add(restricted)
        db.session.flush()
        db.session.add(
            TrainingDepartment(training_id=restricted.id, department_id=world.coach_department)
        )
        edition = Edition(
            training_id=restricted.id,
            name="Najaar",
            starts_on=local_today() + timedelta(days=30),
            ends_on=local_today() + timedelta(days=40),
        )
        db.session.add(edition)
        db.session.flush()
        before = _count(Enrolment)
        with pytest.raises(InvalidInput) as refused:
            apply_for(edition, people["learner"], "Graag")
        assert refused.value.errors == {FORM: "This training is not open to you."}
        assert _count(Enrolment) == before
        enrolment = apply_for(edition, people["coach"], "Past bij mijn werk")
        assert enrolment.status.value == "applied"


# --- applying -----------------------------------------------------------------------------------


def test_an_employee_applies_once_and_may_withdraw_their_application(app, tenants):
    from samenleren.catalogue.enrolment import apply_for, withdraw
    from samenleren.catalogue.models import Enrolment, EnrolmentStatus

    with in_tenant(app, tenants["flevoland"]):
        world = build_world(tenants["flevoland"])
        people = _people(world)
        edition = _edition(world)
        enrolment = apply_for(edition, people["colleague"], "  Ik wil beter adviseren.  ")
        assert enrolment.status is EnrolmentStatus.APPLIED
        assert enrolment.motivation == "Ik wil beter adviseren."
        with pytest.raises(InvalidInput) as refused:
            apply_for(edition, people["colleague"], "nog eens")
        assert "already" in refused.value.errors[FORM]
        with pytest.raises(InvalidInput) as refused:
            apply_for(edition, people["learner"], "")  # enrolled already
        assert "enrolled" in refused.value.errors[FORM]
        assert _count(Enrolment, Enrolment.learner_id == world.colleague) == 1

        assert withdraw(enrolment, people["colleague"]) == []
        assert enrolment.status is EnrolmentStatus.WITHDRAWN
        # ... and may apply again later, with a fresh place in the queue.
        again = apply_for(edition, people["colleague"], "Toch wel")
        assert again.id == enrolment.id
        assert again.status is EnrolmentStatus.APPLIED


def test_applying_is_refused_for_a_cancelled_or_started_edition(app, tenants):
    from samenleren.catalogue.enrolment import apply_for
    from samenleren.catalogue.models import Enrolment

    with in_tenant(app, tenants["flevoland"]):
        world = build_world(tenants["flevoland"])
        people = _people(world)
        edition = _edition(world, cancelled=True)
        with pytest.raises(InvalidInput) as refused:
            apply_for(edition, people["colleague"], "")
        assert refused.value.errors == {FORM: "This edition was cancelled."}
        edition.cancelled = False
        edition.starts_on = local_today()
        with pytest.raises(InvalidInput) as refused:
            apply_for(edition, people["colleague"], "")
        assert "started" in refused.value.errors[FORM]
        edition.starts_on = local_today() + timedelta(days=3)
        with pytest.raises(InvalidInput) as refused:
            apply_for(edition, people["colleague"], "x" * 5001)
        assert "motivation" in refused.value.errors
        assert _count(Enrolment, Enrolment.learner_id == world.colleague) == 0


# --- enrolling and the waiting list -------------------------------------------------------------


def test_enrolling_into_a_full_edition_puts_learners_on_the_waiting_list_in_order(app, tenants):
    from samenleren.catalogue.enrolment import apply_for, enrol, waiting_list
    from samenleren.catalogue.models import EnrolmentStatus

    with in_tenant(app, tenants["flevoland"]):
        world = build_world(tenants["flevoland"])
        people = _people(world)
        edition = _edition(world, capacity=2)
        first = enrol(edition, people["colleague"], people["admin"])
        assert first.status is EnrolmentStatus.ENROLLED
        assert first.enrolled_at is not None
        assert _trajectory_of(first).status.value == "active"

        early = apply_for(edition, people["coach"], "Vroeg")
        late = enrol(edition, people["other_coach"], people["admin"])  # edition full now
        assert late.status is EnrolmentStatus.WAITLISTED
        assert late.enrolled_at is None
        assert _trajectory_of(late) is None
        accepted = enrol(edition, people["coach"], people["admin"])  # accept the application
        assert accepted.id == early.id
        assert accepted.status is EnrolmentStatus.WAITLISTED
        # Position by application: the one who applied first waits in front.
        assert [e.learner_id for e in waiting_list(edition)] == [world.coach, world.other_coach]

        with pytest.raises(InvalidInput) as refused:
            enrol(edition, people["coach"], people["admin"])
        assert "waiting list" in refused.value.errors["learner_id"]
        with pytest.raises(InvalidInput) as refused:
            enrol(edition, people["learner"], people["admin"])
        assert "enrolled" in refused.value.errors["learner_id"]


def test_nobody_is_enrolled_into_an_edition_that_is_over(app, tenants):
    from samenleren.catalogue.enrolment import enrol, withdraw
    from samenleren.catalogue.models import Enrolment

    with in_tenant(app, tenants["flevoland"]):
        world = build_world(tenants["flevoland"])
        people = _people(world)
        edition = _edition(world, capacity=1)
        waiting = enrol(edition, people["colleague"], people["admin"])
        edition.starts_on = local_today() - timedelta(days=40)
        edition.ends_on = local_today() - timedelta(days=1)
        with pytest.raises(InvalidInput) as refused:
            enrol(edition, people["coach"], people["admin"])
        assert "over" in refused.value.errors[FORM]
        assert _count(Enrolment, Enrolment.learner_id == world.coach) == 0
        # A place coming free after the end goes to nobody: no trajectory full of overdue steps.
        assert withdraw(get(Enrolment, world.enrolment), people["admin"], "Afgehaakt") == []
        assert waiting.status.value == "waitlisted"


def test_no_limit_means_everyone_gets_a_place(app, tenants):
    from samenleren.catalogue.enrolment import enrol
    from samenleren.catalogue.models import EnrolmentStatus, Training

    with in_tenant(app, tenants["flevoland"]):
        world = build_world(tenants["flevoland"])
        people = _people(world)
        get(Training, world.training).capacity = None
        edition = _edition(world)
        assert edition.places is None
        for name in ("colleague", "coach", "other_coach", "manager"):
            assert enrol(edition, people[name], people["admin"]).status is EnrolmentStatus.ENROLLED


def test_withdrawing_promotes_the_first_waiting_learner_and_moves_the_trajectories(app, tenants):
    from samenleren.catalogue.enrolment import enrol, withdraw
    from samenleren.catalogue.models import Enrolment, EnrolmentStatus
    from samenleren.trajectories.models import TrajectoryStatus

    with in_tenant(app, tenants["flevoland"]):
        world = build_world(tenants["flevoland"])
        people = _people(world)
        edition = _edition(world, capacity=1)  # the world's learner holds the only place
        first_waiting = enrol(edition, people["colleague"], people["admin"])
        second_waiting = enrol(edition, people["coach"], people["admin"])
        assert first_waiting.status is second_waiting.status is EnrolmentStatus.WAITLISTED
        learners_place = get(Enrolment, world.enrolment)

        with pytest.raises(InvalidInput) as refused:
            withdraw(learners_place, people["admin"], "   ")
        assert "reason" in refused.value.errors
        assert learners_place.status is EnrolmentStatus.ENROLLED

        promoted = withdraw(learners_place, people["admin"], "Langdurig ziek")
        assert promoted == [first_waiting]
        assert learners_place.status is EnrolmentStatus.WITHDRAWN
        assert learners_place.reason == "Langdurig ziek"
        assert _trajectory_of(learners_place).status is TrajectoryStatus.WITHDRAWN
        assert first_waiting.status is EnrolmentStatus.ENROLLED
        assert first_waiting.enrolled_at is not None
        assert _trajectory_of(first_waiting).status is TrajectoryStatus.ACTIVE
        assert second_waiting.status is EnrolmentStatus.WAITLISTED
        assert _trajectory_of(second_waiting) is None

        # Withdrawing someone who only waited frees no place: nobody moves up.
        assert withdraw(second_waiting, people["admin"], "Andere editie") == []
        # Enrolled again later: the same trajectory resumes.
        enrolled_again = enrol(edition, people["learner"], people["admin"])
        assert enrolled_again.status is EnrolmentStatus.WAITLISTED  # full
        withdraw(first_waiting, people["admin"], "Verhinderd")
        assert enrolled_again.status is EnrolmentStatus.ENROLLED
        assert _trajectory_of(enrolled_again).id == world.trajectory
        assert _trajectory_of(enrolled_again).status is TrajectoryStatus.ACTIVE


def test_a_learner_withdraws_an_application_but_not_an_enrolment(app, tenants):
    from samenleren.catalogue.enrolment import apply_for, withdraw
    from samenleren.catalogue.models import Enrolment, EnrolmentStatus

    with in_tenant(app, tenants["flevoland"]):
        world = build_world(tenants["flevoland"])
        people = _people(world)
        enrolled = get(Enrolment, world.enrolment)
        with pytest.raises(InvalidInput) as refused:
            withdraw(enrolled, people["learner"], "Geen tijd")
        assert "programme administrator" in refused.value.errors[FORM]
        assert enrolled.status is EnrolmentStatus.ENROLLED
        application = apply_for(_edition(world), people["colleague"], "")
        with pytest.raises(InvalidInput):
            withdraw(application, people["learner"], "niet van mij")  # someone else's
        assert application.status is EnrolmentStatus.APPLIED


def test_declining_needs_an_open_application_and_a_reason(app, tenants):
    from samenleren.catalogue.enrolment import apply_for, decline
    from samenleren.catalogue.models import Enrolment, EnrolmentStatus

    with in_tenant(app, tenants["flevoland"]):
        world = build_world(tenants["flevoland"])
        people = _people(world)
        application = apply_for(_edition(world), people["colleague"], "Graag")
        with pytest.raises(InvalidInput) as refused:
            decline(application, people["admin"], "")
        assert "reason" in refused.value.errors
        with pytest.raises(InvalidInput):
            decline(application, people["manager"], "Nee")
        assert application.status is EnrolmentStatus.APPLIED
        with pytest.raises(InvalidInput):
            decline(get(Enrolment, world.enrolment), people["admin"], "Te laat")
        decline(application, people["admin"], "Eerst de basiscursus")
        assert application.status is EnrolmentStatus.DECLINED
        assert application.reason == "Eerst de basiscursus"
        with pytest.raises(InvalidInput) as refused:
            apply_for(_edition(world), people["colleague"], "Nog eens")
        assert "declined" in refused.value.errors[FORM]


def test_only_programme_admins_manage_trainings_and_enrolments(app, tenants):
    from samenleren.catalogue.enrolment import enrol
    from samenleren.catalogue.models import Training
    from samenleren.catalogue.trainings import TrainingInput, create_training

    with in_tenant(app, tenants["flevoland"]):
        world = build_world(tenants["flevoland"])
        people = _people(world)
        for name in ("learner", "manager", "coach", "trainer"):
            with pytest.raises(InvalidInput) as refused:
                create_training(people[name], TrainingInput(title="Stiekem"))
            assert FORM in refused.value.errors
            with pytest.raises(InvalidInput):
                enrol(_edition(world), people["colleague"], people[name])
        assert _count(Training, Training.title == "Stiekem") == 0


# --- trainings and editions ---------------------------------------------------------------------


def test_training_input_is_checked_before_anything_is_written(app, tenants):
    from samenleren.catalogue.models import Training, TrainingDepartment
    from samenleren.catalogue.trainings import TrainingInput, create_training, update_training
    from samenleren.identity.models import Department

    flevoland, gelderland = tenants["flevoland"], tenants["gelderland"]
    with in_tenant(app, gelderland):
        foreign_department = build_world(gelderland).department
    with in_tenant(app, flevoland):
        world = build_world(flevoland)
        admin = _people(world)["admin"]
        before = _count(Training)
        with pytest.raises(InvalidInput) as refused:
            create_training(admin, TrainingInput(title=" ", capacity=0, open_to_all=False))
        assert set(refused.value.errors) == {"title", "capacity", "department_ids"}
        with pytest.raises(InvalidInput) as refused:
            create_training(
                admin,
                TrainingInput(
                    title="Van elders", open_to_all=False, department_ids=[foreign_department]
                ),
            )
        assert refused.value.errors == {"department_ids": "Choose departments from the list."}
        with pytest.raises(InvalidInput) as refused:
            create_training(admin, TrainingInput(title="x" * 201))
        assert "title" in refused.value.errors
        assert _count(Training) == before

        training = create_training(
            admin,
            TrainingInput(
                title=" Schrijven ",
                provider="Taalbureau",
                open_to_all=False,
                department_ids=[world.department, world.department],
                capacity=8,
            ),
        )
        assert training.title == "Schrijven"
        assert [d.id for d in training.departments] == [world.department]
        update_training(training, admin, TrainingInput(title="Schrijven", open_to_all=True))
        assert training.departments == []
        assert training.capacity is None
        assert _count(TrainingDepartment) == 0
        assert get(Department, world.department) is not None


def test_edition_dates_in_the_wrong_order_are_refused_next_to_the_field(app, tenants):
    from samenleren.catalogue.editions import EditionInput, create_edition, update_edition
    from samenleren.catalogue.models import Edition, Training

    with in_tenant(app, tenants["flevoland"]):
        world = build_world(tenants["flevoland"])
        people = _people(world)
        training = get(Training, world.training)
        before = _count(Edition)
        with pytest.raises(InvalidInput) as refused:
            create_edition(
                training,
                people["admin"],
                EditionInput(
                    name="Voorjaar", starts_on=date(2027, 4, 10), ends_on=date(2027, 4, 1)
                ),
            )
        assert set(refused.value.errors) == {"ends_on"}
        assert "wrong order" in refused.value.errors["ends_on"]
        assert _count(Edition) == before
        with pytest.raises(InvalidInput) as refused:
            create_edition(
                training,
                people["admin"],
                EditionInput(
                    name="",
                    starts_on=date(2027, 4, 1),
                    ends_on=date(2027, 4, 1),
                    trainer_id=world.colleague,  # holds no trainer role
                    capacity=-3,
                ),
            )
        assert set(refused.value.errors) == {"name", "trainer_id", "capacity"}
        edition = create_edition(
            training,
            people["admin"],
            EditionInput(
                name="Voorjaar",
                starts_on=date(2027, 4, 1),
                ends_on=date(2027, 4, 1),
                trainer_id=world.trainer,
            ),
        )
        assert edition.places == 12  # the training's
        existing = _edition(world)
        with pytest.raises(InvalidInput) as refused:
            update_edition(
                existing,
                people["admin"],
                EditionInput(
                    name=existing.name,
                    starts_on=existing.ends_on,
                    ends_on=existing.starts_on,
                ),
            )
        assert "ends_on" in refused.value.errors


def test_capacity_changes_respect_enrolled_learners_and_fill_from_the_waiting_list(app, tenants):
    from samenleren.catalogue.editions import EditionInput, update_edition
    from samenleren.catalogue.enrolment import enrol
    from samenleren.catalogue.models import EnrolmentStatus

    with in_tenant(app, tenants["flevoland"]):
        world = build_world(tenants["flevoland"])
        people = _people(world)
        edition = _edition(world, capacity=2)
        enrol(edition, people["colleague"], people["admin"])
        waiting = enrol(edition, people["coach"], people["admin"])
        assert waiting.status is EnrolmentStatus.WAITLISTED

        def change(capacity):
            return update_edition(
                edition,
                people["admin"],
                EditionInput(
                    name=edition.name,
                    starts_on=edition.starts_on,
                    ends_on=edition.ends_on,
                    location=edition.location,
                    trainer_id=edition.trainer_id,
                    capacity=capacity,
                ),
            )

        with pytest.raises(InvalidInput) as refused:
            change(1)
        assert "2 learners are enrolled" in refused.value.errors["capacity"]
        assert edition.capacity == 2
        change(3)
        assert waiting.status is EnrolmentStatus.ENROLLED
        assert _trajectory_of(waiting) is not None


def test_cancelling_an_edition_withdraws_everyone_and_stops_their_trajectories(app, tenants):
    from samenleren.catalogue.editions import EditionInput, update_edition
    from samenleren.catalogue.enrolment import apply_for, enrol
    from samenleren.catalogue.models import Enrolment, EnrolmentStatus
    from samenleren.trajectories.models import TrajectoryStatus

    with in_tenant(app, tenants["flevoland"]):
        world = build_world(tenants["flevoland"])
        people = _people(world)
        edition = _edition(world)
        application = apply_for(edition, people["colleague"], "")
        update_edition(
            edition,
            people["admin"],
            EditionInput(
                name=edition.name,
                starts_on=edition.starts_on,
                ends_on=edition.ends_on,
                cancelled=True,
            ),
        )
        place = get(Enrolment, world.enrolment)
        assert place.status is application.status is EnrolmentStatus.WITHDRAWN
        assert place.reason == "This edition was cancelled."
        assert _trajectory_of(place).status is TrajectoryStatus.WITHDRAWN
        with pytest.raises(InvalidInput):
            enrol(edition, people["coach"], people["admin"])


# --- sessions and attendance --------------------------------------------------------------------


def test_sessions_are_checked_and_kept_once_attendance_exists(app, tenants):
    from samenleren.catalogue.models import EditionSession
    from samenleren.catalogue.sessions import (
        SessionInput,
        add_session,
        record_attendance,
        remove_session,
    )

    with in_tenant(app, tenants["flevoland"]):
        world = build_world(tenants["flevoland"], starts_in_days=-3)
        people = _people(world)
        edition = _edition(world)
        day = datetime.combine(edition.starts_on, datetime.min.time(), tzinfo=UTC)
        before = _count(EditionSession)
        with pytest.raises(InvalidInput) as refused:
            add_session(
                edition,
                people["admin"],
                SessionInput(day + timedelta(hours=12), day + timedelta(hours=9)),
            )
        assert set(refused.value.errors) == {"ends_at"}
        with pytest.raises(InvalidInput) as refused:
            add_session(
                edition,
                people["admin"],
                SessionInput(day - timedelta(days=9), day - timedelta(days=9, hours=-2)),
            )
        assert set(refused.value.errors) == {"starts_at"}
        with pytest.raises(InvalidInput):
            add_session(
                edition,
                people["trainer"],
                SessionInput(day + timedelta(hours=9), day + timedelta(hours=12)),
            )
        assert _count(EditionSession) == before
        extra = add_session(
            edition,
            people["admin"],
            SessionInput(day + timedelta(hours=13), day + timedelta(hours=15), topic="Oefenen"),
        )
        remove_session(extra, people["admin"])
        assert _count(EditionSession) == before

        session = get(EditionSession, world.session)
        record_attendance(session, edition, people["trainer"], {world.learner: True})
        with pytest.raises(InvalidInput):
            remove_session(session, people["admin"])
        assert _count(EditionSession) == before


def test_the_trainer_records_attendance_of_enrolled_learners_only(app, tenants):
    from samenleren.catalogue.enrolment import enrol
    from samenleren.catalogue.models import EditionSession, SessionAttendance
    from samenleren.catalogue.sessions import attendance_of, record_attendance

    with in_tenant(app, tenants["flevoland"]):
        world = build_world(tenants["flevoland"], starts_in_days=-3)
        people = _people(world)
        edition = _edition(world, capacity=None)
        enrol(edition, people["colleague"], people["admin"])
        session = get(EditionSession, world.session)
        record_attendance(
            session, edition, people["trainer"], {world.learner: True, world.colleague: False}
        )
        assert attendance_of(session) == {world.learner: True, world.colleague: False}
        # Changing one mark leaves the other as it was; no duplicate rows.
        record_attendance(session, edition, people["admin"], {world.colleague: True})
        assert attendance_of(session) == {world.learner: True, world.colleague: True}
        assert _count(SessionAttendance) == 2

        for refused_actor, marks in (
            (people["coach"], {world.learner: False}),  # not this edition's trainer
            (people["learner"], {world.learner: False}),
            (people["trainer"], {world.manager: True}),  # not enrolled
        ):
            with pytest.raises(InvalidInput) as refused:
                record_attendance(session, edition, refused_actor, marks)
            assert FORM in refused.value.errors
        assert attendance_of(session) == {world.learner: True, world.colleague: True}

        other_trainer = add_user("tweede.trainer", "trainer")
        with pytest.raises(InvalidInput):
            record_attendance(session, edition, other_trainer, {world.learner: False})


def test_attendance_waits_until_the_session_has_started(app, tenants):
    from samenleren.catalogue.models import EditionSession, SessionAttendance
    from samenleren.catalogue.sessions import record_attendance

    with in_tenant(app, tenants["flevoland"]):
        world = build_world(tenants["flevoland"])  # starts in 20 days
        people = _people(world)
        with pytest.raises(InvalidInput) as refused:
            record_attendance(
                get(EditionSession, world.session),
                _edition(world),
                people["trainer"],
                {world.learner: True},
            )
        assert "started" in refused.value.errors[FORM]
        assert _count(SessionAttendance) == 0
