"""The catalogue pages: what each role sees, applying, enrolling, withdrawing, refused input,
attendance, 404 for everyone not concerned, and the number of SQL queries per page.
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from samenleren.core.formatting import local_today
from tests.conftest import csrf_token, login
from tests.factories import World, add_user, build_world, get, in_tenant
from tests.test_isolation import QueryCounter

ROLES_WITHOUT_ADMIN = ["learner", "manager", "coach", "trainer", "colleague"]


@pytest.fixture
def world(app, tenants) -> World:
    with in_tenant(app, tenants["flevoland"]):
        return build_world(tenants["flevoland"])


def client_of(app, world: World, person: str) -> FlaskClient:
    """A client logged in as one of the world's people, under the name the world gave them."""
    client = app.test_client()
    name = f"{World.subjects[person].replace('.', ' ').title()} {world.tenant.slug}"
    assert login(client, world.tenant, World.subjects[person], name=name).status_code == 302
    # The assertions read the English text (the msgids): stable once the catalogues translate it.
    assert client.get(f"/{world.tenant.slug}/?lang=en").status_code == 200
    return client


def post(client: FlaskClient, path: str, form_page: str, data: dict | None = None):
    token = csrf_token(client, form_page)
    return client.post(path, data={"csrf_token": token, **(data or {})})


def text(response) -> str:
    return response.get_data(as_text=True)


def count(app, world: World, model, *where) -> int:
    from samenleren.core.extensions import db

    with in_tenant(app, world.tenant):
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def set_capacity(app, world: World, capacity: int | None) -> None:
    from samenleren.catalogue.models import Edition
    from samenleren.core.extensions import db

    with in_tenant(app, world.tenant):
        get(Edition, world.edition).capacity = capacity
        db.session.commit()


def enrolment_of(app, world: World, learner_id: uuid.UUID):
    from samenleren.catalogue.models import Enrolment
    from samenleren.core.extensions import db
    from samenleren.trajectories.models import Trajectory

    with in_tenant(app, world.tenant):
        enrolment = db.session.scalar(
            select(Enrolment).where(
                Enrolment.edition_id == world.edition, Enrolment.learner_id == learner_id
            )
        )
        if enrolment is None:
            return None, None
        trajectory = db.session.scalar(
            select(Trajectory).where(Trajectory.enrolment_id == enrolment.id)
        )
        return enrolment.status.value, trajectory.status.value if trajectory else None


# --- the catalogue as employees see it ------------------------------------------------------------


def test_the_list_shows_open_trainings_with_places_left_and_my_status(app, world):
    from samenleren.catalogue.models import Training, TrainingDepartment
    from samenleren.core.extensions import db

    with in_tenant(app, world.tenant):
        restricted = Training(title="Alleen voor Bedrijfsvoering", open_to_all=False)
        db.session.add(restricted)
        db.session.flush()
        db.session.add(
            TrainingDepartment(training_id=restricted.id, department_id=world.coach_department)
        )
        db.session.commit()
        restricted_id = restricted.id

    learner = client_of(app, world, "learner")
    page = text(learner.get("/flevoland/trainings/"))
    assert "Training van flevoland" in page
    assert "Editie flevoland" in page
    assert "11 places left" in page  # 12 places, the learner holds one
    assert "You: Enrolled" in page
    assert "Alleen voor Bedrijfsvoering" not in page
    assert "/flevoland/trainings/new" not in page
    assert learner.get(f"/flevoland/trainings/{restricted_id}").status_code == 404

    coach = client_of(app, world, "coach")
    page = text(coach.get("/flevoland/trainings/"))
    assert "Alleen voor Bedrijfsvoering" in page
    assert "You:" not in page
    assert coach.get(f"/flevoland/trainings/{restricted_id}").status_code == 200

    admin = client_of(app, world, "admin")
    page = text(admin.get("/flevoland/trainings/"))
    assert "Alleen voor Bedrijfsvoering" in page
    assert 'href="/flevoland/trainings/new"' in page


def test_the_list_shows_the_first_coming_editions_of_a_training_and_links_to_the_rest(app, world):
    """A province with many editions: the list shows each training's next four, and links to
    the training, whose page lists every one."""
    from samenleren.catalogue.models import Edition
    from samenleren.catalogue.views import EDITIONS_SHOWN_PER_TRAINING
    from samenleren.core.extensions import db

    with in_tenant(app, world.tenant):
        first = get(Edition, world.edition)
        for number in range(6):
            db.session.add(
                Edition(
                    training_id=world.training,
                    name=f"Latere editie {number}",
                    starts_on=first.starts_on + timedelta(days=30 * (number + 1)),
                    ends_on=first.ends_on + timedelta(days=30 * (number + 1)),
                )
            )
        db.session.commit()

    learner = client_of(app, world, "learner")
    page = text(learner.get("/flevoland/trainings/"))
    shown = EDITIONS_SHOWN_PER_TRAINING
    assert shown == 4
    # The world's own edition and the next three, soonest first; the last three are not listed.
    assert [f"Latere editie {n}" in page for n in range(6)] == [True] * 3 + [False] * 3
    assert "Editie flevoland" in page
    assert (
        f'href="/flevoland/trainings/{world.training}">3 more coming editions of Training van'
        in page
    )
    training = text(learner.get(f"/flevoland/trainings/{world.training}"))
    assert all(f"Latere editie {n}" in training for n in range(6))


def test_an_employee_applies_and_sees_their_status(app, world):
    from samenleren.catalogue.models import Enrolment

    colleague = client_of(app, world, "colleague")
    training_page = f"/flevoland/trainings/{world.training}"
    page = text(colleague.get(training_page))
    assert f'action="/flevoland/editions/{world.edition}/apply"' in page
    answer = post(
        colleague,
        f"/flevoland/editions/{world.edition}/apply",
        training_page,
        {"motivation": "Ik wil leren adviseren."},
    )
    assert answer.status_code == 303
    assert answer.headers["Location"].endswith(training_page)
    page = text(colleague.get(training_page))
    assert "Your application for Editie flevoland has been sent." in page
    assert "Applied" in page
    assert "Withdraw my application for Editie flevoland" in page
    assert f'action="/flevoland/editions/{world.edition}/apply"' not in page
    assert enrolment_of(app, world, world.colleague) == ("applied", None)

    # Applying twice is refused with a clear message, and nothing more is written.
    again = post(colleague, f"/flevoland/editions/{world.edition}/apply", training_page)
    assert again.status_code == 422
    assert "You have applied for this edition already." in text(again)
    assert count(app, world, Enrolment, Enrolment.learner_id == world.colleague) == 1

    # The learner withdraws the application themselves.
    with in_tenant(app, world.tenant):
        from samenleren.core.extensions import db

        enrolment_id = db.session.scalar(
            select(Enrolment.id).where(Enrolment.learner_id == world.colleague)
        )
    answer = post(colleague, f"/flevoland/enrolments/{enrolment_id}/withdraw", training_page)
    assert answer.status_code == 303
    assert enrolment_of(app, world, world.colleague) == ("withdrawn", None)


def test_an_enrolled_learner_cannot_withdraw_themselves(app, world):
    learner = client_of(app, world, "learner")
    answer = post(
        learner,
        f"/flevoland/enrolments/{world.enrolment}/withdraw",
        f"/flevoland/trainings/{world.training}",
    )
    assert answer.status_code == 422
    assert "ask the programme administrator to withdraw you" in text(answer)
    assert enrolment_of(app, world, world.learner) == ("enrolled", "active")


def test_a_restricted_training_cannot_be_applied_for_by_others(app, world):
    from samenleren.catalogue.models import Enrolment, Training, TrainingDepartment
    from samenleren.core.extensions import db

    with in_tenant(app, world.tenant):
        training = get(Training, world.training)
        training.open_to_all = False
        db.session.add(TrainingDepartment(training_id=training.id, department_id=world.department))
        db.session.commit()
    coach = client_of(app, world, "coach")  # another department
    assert coach.get(f"/flevoland/trainings/{world.training}").status_code == 404
    assert "Training van flevoland" not in text(coach.get("/flevoland/trainings/"))
    answer = post(coach, f"/flevoland/editions/{world.edition}/apply", "/flevoland/trainings/")
    assert answer.status_code == 404
    assert count(app, world, Enrolment, Enrolment.learner_id == world.coach) == 0
    # The department's own employees still get it.
    colleague = client_of(app, world, "colleague")
    assert colleague.get(f"/flevoland/trainings/{world.training}").status_code == 200


# --- the programme admin's pages ------------------------------------------------------------------


def test_the_admin_adds_a_training_and_refused_input_is_kept_with_its_message(app, world):
    from samenleren.catalogue.models import Training

    admin = client_of(app, world, "admin")
    form = "/flevoland/trainings/new"
    assert admin.get(form).status_code == 200
    before = count(app, world, Training)
    refused = post(
        admin,
        form,
        form,
        {"title": "", "provider": "Bureau Zuid", "capacity": "veel", "open_to": "departments"},
    )
    assert refused.status_code == 422
    page = text(refused)
    assert 'id="capacity-error"' in page
    assert "Give the number of places as a whole number." in page
    assert 'value="Bureau Zuid"' in page  # what was typed is kept
    assert count(app, world, Training) == before

    refused = post(
        admin, form, form, {"title": "", "provider": "Bureau Zuid", "open_to": "departments"}
    )
    assert refused.status_code == 422
    page = text(refused)
    assert re.search(r'id="title"[^>]*aria-describedby="title-error"[^>]*aria-invalid="true"', page)
    assert "Give the training a title." in page
    assert "Choose at least one department" in page
    assert 'value="Bureau Zuid"' in page
    assert count(app, world, Training) == before

    created = post(
        admin,
        form,
        form,
        {
            "title": "Gesprekstechnieken",
            "open_to": "departments",
            "department_ids": [str(world.department)],
            "capacity": "10",
            "active": "1",
        },
    )
    assert created.status_code == 303
    with in_tenant(app, world.tenant):
        from samenleren.core.extensions import db

        training = db.session.scalar(select(Training).where(Training.title == "Gesprekstechnieken"))
        assert not training.open_to_all
        assert [d.id for d in training.departments] == [world.department]
        assert training.capacity == 10
        training_id = training.id
    assert created.headers["Location"].endswith(f"/flevoland/trainings/{training_id}")
    edit = text(admin.get(f"/flevoland/trainings/{training_id}/edit"))
    assert f'value="{world.department}" checked' in edit


def test_edition_dates_in_the_wrong_order_are_refused_with_the_message_next_to_the_field(
    app, world
):
    from samenleren.catalogue.models import Edition

    admin = client_of(app, world, "admin")
    form = f"/flevoland/trainings/{world.training}/editions/new"
    before = count(app, world, Edition)
    refused = post(
        admin,
        form,
        form,
        {"name": "Najaar 2027", "starts_on": "2027-10-20", "ends_on": "2027-10-01"},
    )
    assert refused.status_code == 422
    page = text(refused)
    field = re.search(r'<input[^>]*id="ends_on"[^>]*>', page).group(0)
    assert 'aria-invalid="true"' in field
    assert 'aria-describedby="ends_on-error"' in field
    message = re.search(r'<p[^>]*id="ends_on-error"[^>]*>([^<]*)</p>', page).group(1)
    assert "The dates are in the wrong order" in message
    assert 'value="Najaar 2027"' in page  # the input is kept
    assert count(app, world, Edition) == before

    created = post(
        admin,
        form,
        form,
        {
            "name": "Najaar 2027",
            "starts_on": "2027-10-01",
            "ends_on": "2027-10-20",
            "trainer_id": str(world.trainer),
            "capacity": "",
        },
    )
    assert created.status_code == 303
    assert count(app, world, Edition) == before + 1

    edit = f"/flevoland/editions/{world.edition}/edit"
    refused = post(
        admin, edit, edit, {"name": "X", "starts_on": "2027-05-02", "ends_on": "2027-05-01"}
    )
    assert refused.status_code == 422
    assert "The dates are in the wrong order" in text(refused)
    with in_tenant(app, world.tenant):
        assert get(Edition, world.edition).name == f"Editie {world.tenant.slug}"


def test_enrolling_into_a_full_edition_and_withdrawing_promotes_the_first_waiting(app, world):
    set_capacity(app, world, 1)  # the world's learner holds the only place
    admin = client_of(app, world, "admin")
    edition_page = f"/flevoland/editions/{world.edition}"
    for person in ("colleague", "coach"):
        answer = post(
            admin,
            f"{edition_page}/enrol",
            edition_page,
            {"learner_id": str(getattr(world, person))},
        )
        assert answer.status_code == 303
    assert enrolment_of(app, world, world.colleague) == ("waitlisted", None)
    assert enrolment_of(app, world, world.coach) == ("waitlisted", None)
    page = text(admin.get(edition_page))
    waiting = page[page.index("Waiting list of") :]
    assert waiting.index("Cor Colleague") < waiting.index("Carla Coach")

    refused = post(
        admin, f"/flevoland/enrolments/{world.enrolment}/withdraw", edition_page, {"reason": ""}
    )
    assert refused.status_code == 422
    assert f'id="withdraw-reason-{world.enrolment}-error"' in text(refused)
    assert enrolment_of(app, world, world.learner) == ("enrolled", "active")

    answer = post(
        admin,
        f"/flevoland/enrolments/{world.enrolment}/withdraw",
        edition_page,
        {"reason": "Andere functie"},
    )
    assert answer.status_code == 303
    assert enrolment_of(app, world, world.learner) == ("withdrawn", "withdrawn")
    assert enrolment_of(app, world, world.colleague) == ("enrolled", "active")
    assert enrolment_of(app, world, world.coach) == ("waitlisted", None)
    page = text(admin.get(edition_page))
    assert "moved up from the waiting list" in page
    assert "Andere functie" in page


def test_the_admin_accepts_and_declines_applications(app, world):
    from samenleren.catalogue.models import Enrolment
    from samenleren.core.extensions import db

    training_page = f"/flevoland/trainings/{world.training}"
    for person in ("colleague", "coach"):
        client = client_of(app, world, person)
        answer = post(client, f"/flevoland/editions/{world.edition}/apply", training_page)
        assert answer.status_code == 303
    with in_tenant(app, world.tenant):
        ids = dict(db.session.execute(select(Enrolment.learner_id, Enrolment.id)).all())
    admin = client_of(app, world, "admin")
    edition_page = f"/flevoland/editions/{world.edition}"
    page = text(admin.get(edition_page))
    assert "Accept Cor Colleague" in page
    assert "Decline Carla Coach" in page
    accept = post(admin, f"/flevoland/enrolments/{ids[world.colleague]}/accept", edition_page)
    assert accept.status_code == 303
    assert enrolment_of(app, world, world.colleague) == ("enrolled", "active")
    refused = post(admin, f"/flevoland/enrolments/{ids[world.coach]}/decline", edition_page)
    assert refused.status_code == 422
    assert "Give a reason; the learner will see it." in text(refused)
    declined = post(
        admin,
        f"/flevoland/enrolments/{ids[world.coach]}/decline",
        edition_page,
        {"reason": "Eerst de basiscursus"},
    )
    assert declined.status_code == 303
    assert enrolment_of(app, world, world.coach) == ("declined", None)
    coach_view = text(client_of(app, world, "coach").get(training_page))
    assert "Declined" in coach_view
    assert "Eerst de basiscursus" in coach_view


def test_the_admin_adds_and_removes_sessions(app, world):
    from samenleren.catalogue.models import EditionSession

    admin = client_of(app, world, "admin")
    edition_page = f"/flevoland/editions/{world.edition}"
    with in_tenant(app, world.tenant):
        from samenleren.catalogue.models import Edition

        starts_on = get(Edition, world.edition).starts_on
    refused = post(
        admin,
        f"{edition_page}/sessions",
        edition_page,
        {"starts_at": f"{starts_on}T13:00", "ends_at": f"{starts_on}T12:00", "topic": "Oefenen"},
    )
    assert refused.status_code == 422
    assert 'id="session-ends_at-error"' in text(refused)
    assert count(app, world, EditionSession) == 1
    added = post(
        admin,
        f"{edition_page}/sessions",
        edition_page,
        {"starts_at": f"{starts_on}T13:00", "ends_at": f"{starts_on}T16:30", "topic": "Oefenen"},
    )
    assert added.status_code == 303
    page = text(admin.get(edition_page))
    assert "Oefenen" in page
    with in_tenant(app, world.tenant):
        from samenleren.core.extensions import db

        session = db.session.scalar(select(EditionSession).where(EditionSession.topic == "Oefenen"))
        # Dutch local time in the form, UTC in the database (CEST or CET: 11:00 or 12:00 UTC).
        assert session.starts_at.hour in {11, 12}
        session_id = session.id
    removed = post(admin, f"{edition_page}/sessions/{session_id}/delete", edition_page)
    assert removed.status_code == 303
    assert count(app, world, EditionSession) == 1


def test_a_session_under_another_edition_is_404(app, world):
    from samenleren.catalogue.models import Edition
    from samenleren.core.extensions import db

    with in_tenant(app, world.tenant):
        other = Edition(
            training_id=world.training,
            name="Tweede",
            starts_on=local_today() + timedelta(days=50),
            ends_on=local_today() + timedelta(days=51),
        )
        db.session.add(other)
        db.session.commit()
        other_id = other.id
    admin = client_of(app, world, "admin")
    path = f"/flevoland/editions/{other_id}/sessions/{world.session}/attendance"
    assert admin.get(path).status_code == 404
    assert (
        admin.get(
            f"/flevoland/editions/{world.edition}/sessions/{world.session}/attendance"
        ).status_code
        == 200
    )
    answer = post(
        admin,
        f"/flevoland/editions/{other_id}/sessions/{world.session}/delete",
        f"/flevoland/editions/{world.edition}",
    )
    assert answer.status_code == 404


# --- the edition page per role, and 404 for everyone else -----------------------------------------


def test_the_edition_page_shows_each_role_what_is_theirs(app, world):
    edition_page = f"/flevoland/editions/{world.edition}"
    admin = text(client_of(app, world, "admin").get(edition_page))
    assert "Anna Learner flevoland" in admin
    assert "Enrol an employee" in admin
    assert 'name="employee_q"' in admin  # a search for the employee, not a list of everyone
    assert "Kennismaking" in admin
    assert "/attendance" in admin
    trajectory_link = f'href="/flevoland/trajectories/{world.trajectory}"'
    assert trajectory_link in admin

    trainer_answer = client_of(app, world, "trainer").get(edition_page)
    assert trainer_answer.status_code == 200
    trainer = text(trainer_answer)
    assert "Anna Learner flevoland" in trainer
    assert "/attendance" in trainer
    assert trajectory_link in trainer
    assert "Enrol an employee" not in trainer
    assert "/withdraw" not in trainer

    learner_answer = client_of(app, world, "learner").get(edition_page)
    assert learner_answer.status_code == 200
    learner = text(learner_answer)
    assert "Kennismaking" in learner
    assert "Provinciehuis, Lelystad" in learner
    assert trajectory_link in learner  # their own
    assert "/attendance" not in learner
    assert "Enrol an employee" not in learner

    for person in ("colleague", "manager", "coach"):
        assert client_of(app, world, person).get(edition_page).status_code == 404, person


@pytest.mark.parametrize("person", ROLES_WITHOUT_ADMIN)
def test_non_admins_get_404_on_admin_pages(app, world, person):
    from samenleren.catalogue.models import Edition, Enrolment, Training

    client = client_of(app, world, person)
    catalogue = "/flevoland/trainings/"
    for path in (
        "/flevoland/trainings/new",
        f"/flevoland/trainings/{world.training}/edit",
        f"/flevoland/trainings/{world.training}/editions/new",
        f"/flevoland/editions/{world.edition}/edit",
    ):
        assert client.get(path).status_code == 404, path
    assert "/flevoland/trainings/new" not in text(client.get(catalogue))
    for path, data in (
        ("/flevoland/trainings/new", {"title": "Stiekem"}),
        (f"/flevoland/trainings/{world.training}/edit", {"title": "Stiekem"}),
        (f"/flevoland/trainings/{world.training}/editions/new", {"name": "Stiekem"}),
        (f"/flevoland/editions/{world.edition}/edit", {"name": "Stiekem"}),
        (f"/flevoland/editions/{world.edition}/enrol", {"learner_id": str(world.colleague)}),
        (f"/flevoland/enrolments/{world.enrolment}/accept", {}),
        (f"/flevoland/enrolments/{world.enrolment}/decline", {"reason": "x"}),
        (f"/flevoland/editions/{world.edition}/sessions", {}),
        (f"/flevoland/editions/{world.edition}/sessions/{world.session}/delete", {}),
    ):
        assert post(client, path, catalogue, data).status_code == 404, path
    if person != "learner":
        answer = post(
            client, f"/flevoland/enrolments/{world.enrolment}/withdraw", catalogue, {"reason": "x"}
        )
        assert answer.status_code == 404
    if person != "trainer":
        path = f"/flevoland/editions/{world.edition}/sessions/{world.session}/attendance"
        assert client.get(path).status_code == 404
    assert count(app, world, Training, Training.title == "Stiekem") == 0
    assert count(app, world, Edition, Edition.name == "Stiekem") == 0
    assert enrolment_of(app, world, world.learner) == ("enrolled", "active")
    assert count(app, world, Enrolment) == 1


def test_other_tenants_objects_are_404_on_every_catalogue_page(app, tenants, world):
    with in_tenant(app, tenants["gelderland"]):
        other = build_world(tenants["gelderland"])
    admin = client_of(app, world, "admin")
    for path in (
        f"/flevoland/trainings/{other.training}",
        f"/flevoland/trainings/{other.training}/edit",
        f"/flevoland/trainings/{other.training}/editions/new",
        f"/flevoland/editions/{other.edition}",
        f"/flevoland/editions/{other.edition}/edit",
        f"/flevoland/editions/{other.edition}/sessions/{other.session}/attendance",
        f"/flevoland/editions/{world.edition}/sessions/{other.session}/attendance",
    ):
        assert admin.get(path).status_code == 404, path
    answer = post(
        admin,
        f"/flevoland/editions/{world.edition}/enrol",
        f"/flevoland/editions/{world.edition}",
        {"learner_id": str(other.learner)},
    )
    assert answer.status_code == 422
    assert "Choose an employee from the list." in text(answer)


# --- attendance ---------------------------------------------------------------------------------


def test_the_trainer_records_attendance(app, tenants):
    from samenleren.catalogue.sessions import attendance_of

    with in_tenant(app, tenants["flevoland"]):
        world = build_world(tenants["flevoland"], starts_in_days=-2)  # the first session is past
    trainer = client_of(app, world, "trainer")
    path = f"/flevoland/editions/{world.edition}/sessions/{world.session}/attendance"
    page = text(trainer.get(path))
    assert f'name="present-{world.learner}"' in page
    assert f'for="present-{world.learner}-yes">Present</label>' in page
    answer = post(trainer, path, path, {f"present-{world.learner}": "yes"})
    assert answer.status_code == 303
    with in_tenant(app, world.tenant):
        from samenleren.catalogue.models import EditionSession

        assert attendance_of(get(EditionSession, world.session)) == {world.learner: True}
    page = text(trainer.get(path))
    assert (
        f'id="present-{world.learner}-yes" name="present-{world.learner}" value="yes" checked'
        in page
    )
    edition_page = text(trainer.get(f"/flevoland/editions/{world.edition}"))
    assert "1 present, 0 absent" in edition_page


def test_attendance_of_a_future_session_cannot_be_recorded(app, world):
    from samenleren.catalogue.models import SessionAttendance

    trainer = client_of(app, world, "trainer")
    path = f"/flevoland/editions/{world.edition}/sessions/{world.session}/attendance"
    page = text(trainer.get(path))
    assert "has not started yet" in page
    answer = post(
        trainer, path, f"/flevoland/editions/{world.edition}", {f"present-{world.learner}": "yes"}
    )
    assert answer.status_code == 422
    assert count(app, world, SessionAttendance) == 0


# --- queries per page ---------------------------------------------------------------------------


def _grow(app, world: World, start: int, count_: int) -> None:
    """More trainings, editions, employees, applications, waiting learners and sessions."""
    from datetime import UTC, datetime

    from samenleren.catalogue.models import (
        Edition,
        EditionSession,
        Enrolment,
        EnrolmentStatus,
        SessionAttendance,
        Training,
        TrainingDepartment,
    )
    from samenleren.core.db import utcnow
    from samenleren.core.extensions import db
    from samenleren.identity.models import Department

    with in_tenant(app, world.tenant):
        edition = get(Edition, world.edition)
        edition.capacity = None
        department = Department(name=f"Afdeling {start}")
        db.session.add(department)
        db.session.flush()
        for i in range(start, start + count_):
            training = Training(
                title=f"Training {i:04d}", open_to_all=i % 2 == 0, capacity=5 if i % 3 else None
            )
            db.session.add(training)
            db.session.flush()
            if not training.open_to_all:
                db.session.add(
                    TrainingDepartment(training_id=training.id, department_id=world.department)
                )
            other = Edition(
                training_id=training.id,
                name=f"Editie {i}",
                starts_on=local_today() + timedelta(days=10 + i),
                ends_on=local_today() + timedelta(days=20 + i),
            )
            db.session.add(other)
            learner = add_user(f"groei.{i}", "learner", department_id=department.id)
            status = [EnrolmentStatus.ENROLLED, EnrolmentStatus.APPLIED, EnrolmentStatus.WITHDRAWN][
                i % 3
            ]
            db.session.add(
                Enrolment(
                    edition_id=world.edition,
                    learner_id=learner.id,
                    status=status,
                    enrolled_at=utcnow() if status is EnrolmentStatus.ENROLLED else None,
                )
            )
            db.session.flush()
            if status is EnrolmentStatus.ENROLLED:
                from samenleren.trajectories.lifecycle import start_trajectory

                start_trajectory(
                    db.session.scalar(select(Enrolment).where(Enrolment.learner_id == learner.id))
                )
            day = datetime.combine(edition.starts_on, datetime.min.time(), tzinfo=UTC)
            session = EditionSession(
                edition_id=world.edition,
                starts_at=day + timedelta(hours=8, minutes=i),
                ends_at=day + timedelta(hours=9, minutes=i),
                topic=f"Onderdeel {i}",
            )
            db.session.add(session)
            db.session.flush()
            db.session.add(
                SessionAttendance(session_id=session.id, learner_id=world.learner, present=True)
            )
            db.session.add(
                Enrolment(
                    edition_id=other.id, learner_id=world.learner, status=EnrolmentStatus.APPLIED
                )
            )
        db.session.commit()


def _queries(app, client: FlaskClient, paths: list[str]) -> dict[str, list[str]]:
    counter = QueryCounter(app)
    result = {}
    for path in paths:
        client.get(path)  # warm
        with counter.counting() as statements:
            answer = client.get(path)
        assert answer.status_code == 200, path
        result[path] = [" ".join(s.split()) for s in statements]
    return result


@pytest.mark.parametrize("person", ["learner", "admin", "trainer"])
def test_queries_per_page_are_few_and_constant_in_data_size(app, world, person):
    client = client_of(app, world, person)
    paths = [
        "/flevoland/trainings/",
        f"/flevoland/trainings/{world.training}",
        f"/flevoland/editions/{world.edition}",
    ]
    if person != "learner":
        paths.append(f"/flevoland/editions/{world.edition}/sessions/{world.session}/attendance")
    _grow(app, world, 0, 3)
    small = _queries(app, client, paths)
    _grow(app, world, 3, 30)
    large = _queries(app, client, paths)
    for path, statements in large.items():
        assert len(statements) <= 8, f"{path}: {len(statements)}\n" + "\n".join(statements)
    assert {p: len(s) for p, s in small.items()} == {p: len(s) for p, s in large.items()}
    # ... and the pages really show the grown data.
    listing = text(client.get("/flevoland/trainings/"))
    assert "Training 0032" in listing
    edition = text(client.get(f"/flevoland/editions/{world.edition}"))
    assert "Onderdeel 32" in edition
