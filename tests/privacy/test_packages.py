"""Personal data packages: what each one holds (per role, per field), who may download it, the
mail when ready, expiry and cleanup, tenants, queries."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.audit.helpers import events
from tests.factories import World, build_world, get, in_tenant
from tests.privacy.helpers import (
    EVERY,
    GROUP_A,
    GROUP_B,
    MANAGER_A,
    NOTE_A,
    NOTE_B,
    OWN_A,
    STRANGER,
    package_data,
    package_files,
    package_text,
    plant_group,
)
from tests.test_isolation import QueryCounter, comparable
from tests.trajectories.test_pages import client_for, post

pytestmark = pytest.mark.usefixtures("english")

MY_DATA = "/flevoland/my-data/"


@pytest.fixture
def world(app, tenants) -> World:
    with in_tenant(app, tenants["flevoland"]):
        return build_world(tenants["flevoland"])


def run_reports(app: Flask) -> int:
    from samenleren.core.jobs.runtime import run_pending_jobs

    return run_pending_jobs(app, ["reports"])


def packages(app: Flask, world: World):
    from samenleren.core.extensions import db
    from samenleren.exports.models import Export

    with in_tenant(app, world.tenant):
        rows = db.session.scalars(select(Export).order_by(Export.requested_at)).all()
        db.session.expunge_all()
        return rows


def ask_mine(app: Flask, client: FlaskClient, slug: str = "flevoland"):
    return post(app, client, f"/{slug}/my-data/")


def my_package(app: Flask, world: World, client: FlaskClient) -> tuple[object, bytes]:
    """Ask for the client's own package, build it, download it."""
    assert ask_mine(app, client).status_code == 303
    assert run_reports(app) == 1
    export = packages(app, world)[-1]
    answer = client.get(f"/flevoland/my-data/{export.id}/download")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.headers["Content-Type"] == "application/zip"
    assert answer.headers["Cache-Control"] == "no-store"
    return export, answer.data


def produce(app: Flask, admin: FlaskClient, person: uuid.UUID, reason: str = "Verzoek 3 maart"):
    return post(app, admin, f"/flevoland/privacy/people/{person}/packages", {"reason": reason})


def test_a_learners_package_holds_their_own_data_and_notes_and_nothing_of_others(
    app, tenants, world
):
    plant_group(app, world)
    learner = client_for(app, world, "learner")
    page = learner.get(MY_DATA)
    assert page.status_code == 200
    assert 'href="/flevoland/my-data/"' in page.get_data(as_text=True)  # in the menu

    _, content = my_package(app, world, learner)
    files = package_files(content)
    assert set(files) == {"data.json", "index.html", "README.txt"}
    data = package_data(content)
    assert data["schema"] == "samenleren.personal-data/1"
    assert data["audience"] == "self" and data["confidential_notes_included"] is True
    assert data["person"]["name"] == "Anna Learner flevoland"
    assert data["person"]["department"] == "Ruimte flevoland"
    assert data["person"]["manager"] == "Mark Manager flevoland"
    assert {r["role"] for r in data["roles"]} == {"learner"}
    assert [e["training"] for e in data["enrolments"]] == ["Training van flevoland"]
    (trajectory,) = data["trajectories"]
    assert trajectory["id"] == str(world.trajectory)
    assert trajectory["coach"] == "Carla Coach flevoland"
    answers = {
        (step["step_key"], answer["field"]): answer["value"]
        for step in trajectory["steps"]
        for answer in step["answers"]
    }
    # Their own trajectory whole: the coach's notes and their own confidential answers too.
    assert answers[("progress", "notes")] == NOTE_A
    assert answers[("progress", "next_steps")] == OWN_A
    assert answers[("progress", "progress_per_goal")] == STRANGER
    assert answers[("consolidation", "application_plan")] == GROUP_A
    assert answers[("intake", "manager_expectations")] == MANAGER_A
    group_step = next(s for s in trajectory["steps"] if s["step_key"] == "consolidation")
    assert group_step["group_meeting"] is not None
    text = package_text(content)
    # Nothing of B: not B's notes, not B's answer in the shared group meeting, not B's name.
    assert NOTE_B not in text and GROUP_B not in text
    assert "Cor Colleague" not in text
    assert data["written_in_other_trajectories"] == []
    # Readable too: the HTML page in the reader's language, with the same texts.
    html = files["index.html"].decode()
    assert html.startswith("<!DOCTYPE html>") and '<html lang="en">' in html
    assert NOTE_A in html and "Your trajectories" in html
    # The request and the download are in the audit log, with whose data it was.
    actions = [(e.action, e.subject_id) for e in events(app, world.tenant)]
    assert ("personal_data.requested", str(world.learner)) in actions
    assert ("personal_data.downloaded", str(world.learner)) in actions
    # And the learner's own audit entries are in their package (their login, for one).
    assert any(entry["action"] == "login.succeeded" for entry in data["audit"])


def test_a_coachs_package_holds_the_notes_they_wrote_and_no_learners_answers(app, tenants, world):
    plant_group(app, world)
    coach = client_for(app, world, "coach")
    _, content = my_package(app, world, coach)
    data = package_data(content)
    written = {
        (w["learner"], w["field"]): w["value"] for w in data["written_in_other_trajectories"]
    }
    assert written == {
        ("Anna Learner flevoland", "notes"): NOTE_A,
        ("Cor Colleague flevoland", "notes"): NOTE_B,
    }
    text = package_text(content)
    for foreign in (OWN_A, GROUP_A, GROUP_B, MANAGER_A, STRANGER):
        assert foreign not in text, foreign
    assert data["trajectories"] == []
    coached = {c["learner"] for c in data["coaching"]["coached"]}
    assert coached == {"Anna Learner flevoland", "Cor Colleague flevoland"}


def test_a_coach_who_does_not_coach_the_learner_gets_nothing_they_wrote_there(app, tenants, world):
    """Confidential notes stay with the learner and the current coach: someone who once wrote
    in the progress conversation but coaches no more does not take the note along."""
    plant_group(app, world)
    other = client_for(app, world, "other_coach")
    _, content = my_package(app, world, other)
    assert STRANGER not in package_text(content)
    assert package_data(content)["written_in_other_trajectories"] == []


def test_a_managers_package_holds_what_they_wrote_about_their_report_and_no_notes(
    app, tenants, world
):
    plant_group(app, world)
    manager = client_for(app, world, "manager")
    _, content = my_package(app, world, manager)
    written = {
        w["field"]: w["value"] for w in package_data(content)["written_in_other_trajectories"]
    }
    assert written == {"manager_expectations": MANAGER_A, "expectations_met": 4}
    text = package_text(content)
    for foreign in (NOTE_A, OWN_A, NOTE_B, GROUP_A, GROUP_B, STRANGER):
        assert foreign not in text, foreign


def test_the_admins_package_of_a_learner_has_no_confidential_notes_per_field(app, tenants, world):
    from samenleren.process_templates.services import current_version

    plant_group(app, world)
    admin = client_for(app, world, "admin")
    page = admin.get(f"/flevoland/privacy/people/{world.learner}")
    assert page.status_code == 200
    assert "It holds no confidential coaching notes" in page.get_data(as_text=True)
    answer = produce(app, admin, world.learner)
    assert answer.status_code == 303, answer.get_data(as_text=True)
    assert run_reports(app) == 1
    export = packages(app, world)[-1]
    got = admin.get(f"/flevoland/privacy/packages/{export.id}/download")
    assert got.status_code == 200
    data = package_data(got.data)
    assert data["audience"] == "programme_admin"
    assert data["confidential_notes_included"] is False
    with in_tenant(app, world.tenant):
        definition = current_version().content
        confidential = {
            (step.key, field.key)
            for step in definition.steps
            for field in step.fields
            if step.confidential or "programme_admin" not in step.readers_of(field)
        }
    (trajectory,) = data["trajectories"]
    seen = {
        (step["step_key"], answer["field"])
        for step in trajectory["steps"]
        for answer in step["answers"]
    }
    assert seen == {("evaluation", "expectations_met")}  # a rating the admin may read
    assert not seen & confidential
    for step in trajectory["steps"]:
        if step["confidential"]:
            assert step["answers"] == [] and step["skip_reason"] is None
    text = package_text(got.data)
    for secret in EVERY:
        assert secret not in text, secret
    assert (
        "It holds no confidential coaching notes" in package_files(got.data)["index.html"].decode()
    )
    # The reason is in the audit log with the request.
    (requested,) = [e for e in events(app, world.tenant, "personal_data.requested")]
    assert requested.details["reason"] == "Verzoek 3 maart"
    assert requested.details["audience"] == "programme_admin"
    assert requested.subject_id == str(world.learner)


def test_the_admins_package_of_a_coach_has_none_of_their_notes(app, tenants, world):
    plant_group(app, world)
    admin = client_for(app, world, "admin")
    assert produce(app, admin, world.coach).status_code == 303
    run_reports(app)
    export = packages(app, world)[-1]
    got = admin.get(f"/flevoland/privacy/packages/{export.id}/download")
    data = package_data(got.data)
    assert data["written_in_other_trajectories"] == []
    assert all(secret not in package_text(got.data) for secret in EVERY)


def test_the_requester_gets_a_mail_when_the_package_is_ready(app, tenants, world, smtp_sink):
    from samenleren.core.jobs.runtime import run_pending_jobs
    from tests.mail import parts

    learner = client_for(app, world, "learner")
    assert ask_mine(app, learner).status_code == 303
    page = learner.get(MY_DATA).get_data(as_text=True)
    assert "Waiting" in page and "<progress" in page and "Refresh the page" in page
    run_reports(app)
    run_pending_jobs(app)  # the outbox's sender
    # In the recipient's language (the tenant's: Dutch), whatever the page's was.
    mails = [m for m in smtp_sink.messages if m["Subject"] == "Je gegevenspakket is klaar"]
    assert len(mails) == 1, [m["Subject"] for m in smtp_sink.messages]
    assert mails[0]["To"].addresses[0].addr_spec == "anna.learner@example.nl"
    text = parts(mails[0])["text/plain"]
    assert "/flevoland/my-data/" in text
    assert "Je kunt het downloaden tot" in text
    assert NOTE_A not in text
    page = learner.get(MY_DATA).get_data(as_text=True)
    assert "Ready" in page and "/download" in page and "<progress" not in page


def test_someone_elses_package_looks_missing(app, tenants, world):
    learner = client_for(app, world, "learner")
    export, _ = my_package(app, world, learner)
    mine = f"/flevoland/my-data/{export.id}/download"
    missing = f"/flevoland/my-data/{uuid.uuid4()}/download"
    for who in ("colleague", "coach", "manager", "admin"):
        other = client_for(app, world, who)
        foreign, absent = other.get(mine), other.get(missing)
        assert foreign.status_code == absent.status_code == 404, who
        # Not through the admin's download nor the programme exports either.
    admin = client_for(app, world, "admin")
    assert admin.get(f"/flevoland/privacy/packages/{export.id}/download").status_code == 404
    assert admin.get(f"/flevoland/exports/{export.id}/download").status_code == 404
    assert str(export.id) not in admin.get("/flevoland/exports/").get_data(as_text=True)
    # The admin's own package of the learner: not the learner's to download.
    assert produce(app, admin, world.learner).status_code == 303
    run_reports(app)
    produced = packages(app, world)[-1]
    assert learner.get(f"/flevoland/my-data/{produced.id}/download").status_code == 404
    assert learner.get(f"/flevoland/privacy/packages/{produced.id}/download").status_code == 404
    assert str(produced.id) not in learner.get(MY_DATA).get_data(as_text=True)


@pytest.mark.parametrize("who", ["learner", "coach", "manager", "trainer"])
def test_only_the_programme_admin_reaches_the_privacy_pages(app, tenants, world, who):
    client = client_for(app, world, who)
    for path in (
        "/flevoland/privacy/",
        f"/flevoland/privacy/people/{world.learner}",
    ):
        assert client.get(path).status_code == 404, path
    assert produce(app, client, world.learner).status_code == 404
    assert packages(app, world) == []


def test_an_expired_package_is_refused_and_its_file_cleaned_up(app, tenants, world):
    from samenleren.core.extensions import db
    from samenleren.core.jobs.runtime import enqueue
    from samenleren.exports.models import Export, ExportState
    from samenleren.privacy.requests import LIFETIME

    learner = client_for(app, world, "learner")
    export, _ = my_package(app, world, learner)
    assert LIFETIME == timedelta(days=7)
    assert export.expires_at - export.finished_at == LIFETIME
    with in_tenant(app, world.tenant):
        row = db.session.get(Export, (world.tenant.id, export.id))
        row.expires_at = datetime.now().astimezone() - timedelta(minutes=1)
        db.session.commit()
    refused = learner.get(f"/flevoland/my-data/{export.id}/download")
    assert refused.status_code == 410
    assert "This package has expired" in refused.get_data(as_text=True)
    assert f"/my-data/{export.id}/download" not in learner.get(MY_DATA).get_data(as_text=True)
    # The exports' periodic cleanup deletes the file, as for every generated file.
    with in_tenant(app, world.tenant):
        enqueue("samenleren.exports.jobs.clean_up", tenant_id=world.tenant.id)
        db.session.commit()
    assert run_reports(app) == 1
    with in_tenant(app, world.tenant):
        state, content = db.session.execute(
            select(Export.state, Export.content).where(Export.id == export.id)
        ).one()
    assert state is ExportState.EXPIRED and content is None
    assert learner.get(f"/flevoland/my-data/{export.id}/download").status_code == 410


def test_a_refused_request_says_why_and_writes_nothing(app, tenants, world):
    admin = client_for(app, world, "admin")
    answer = produce(app, admin, world.learner, reason="  ")
    assert answer.status_code == 422
    assert "Say why" in answer.get_data(as_text=True)
    answer = produce(app, admin, world.learner, reason="x" * 1001)
    assert answer.status_code == 422
    assert packages(app, world) == []
    learner = client_for(app, world, "learner")
    assert ask_mine(app, learner).status_code == 303
    again = ask_mine(app, learner)
    assert again.status_code == 422
    assert "still being made" in again.get_data(as_text=True)
    assert len(packages(app, world)) == 1
    not_ready = learner.get(f"/flevoland/my-data/{packages(app, world)[0].id}/download")
    assert not_ready.status_code == 409
    run_reports(app)
    assert produce(app, admin, uuid.uuid4()).status_code == 404


def test_another_tenants_package_and_person_look_missing(app, tenants, world):
    with in_tenant(app, tenants["gelderland"]):
        other = build_world(tenants["gelderland"])
    their_learner = client_for(app, other, "learner")
    assert ask_mine(app, their_learner, "gelderland").status_code == 303
    their_admin = client_for(app, other, "admin")
    assert produce_in(app, their_admin, "gelderland", other.learner).status_code == 303
    run_reports(app)
    theirs = packages(app, other)
    assert len(theirs) == 2
    learner = client_for(app, world, "learner")
    admin = client_for(app, world, "admin")
    missing_id = uuid.uuid4()
    for client, path in (
        (learner, "/flevoland/my-data/{}/download"),
        (admin, "/flevoland/privacy/packages/{}/download"),
    ):
        for package in theirs:
            foreign = client.get(path.format(package.id))
            missing = client.get(path.format(missing_id))
            assert foreign.status_code == missing.status_code == 404
            ids = [str(package.id), str(missing_id)]
            assert comparable(foreign, ids) == comparable(missing, ids)
    assert admin.get(f"/flevoland/privacy/people/{other.learner}").status_code == 404
    assert produce(app, admin, other.learner).status_code == 404
    assert packages(app, world) == []


def produce_in(app, client, slug, person):
    return post(app, client, f"/{slug}/privacy/people/{person}/packages", {"reason": "Verzoek"})


def test_a_build_job_sent_as_another_tenant_finds_nothing(app, tenants, world):
    from samenleren.core.extensions import db
    from samenleren.core.jobs.runtime import enqueue
    from samenleren.exports.models import ExportState

    with in_tenant(app, tenants["gelderland"]):
        build_world(tenants["gelderland"])
    plant_group(app, world)
    learner = client_for(app, world, "learner")
    assert ask_mine(app, learner).status_code == 303
    (export,) = packages(app, world)
    with in_tenant(app, tenants["gelderland"]):
        enqueue(
            "samenleren.exports.jobs.build",
            tenant_id=tenants["gelderland"].id,
            export_id=str(export.id),
        )
        db.session.commit()
    run_reports(app)  # gelderland's job finds no such export; flevoland's own builds it
    (export,) = packages(app, world)
    assert export.state is ExportState.DONE
    text = package_text(learner.get(f"/flevoland/my-data/{export.id}/download").data)
    assert "flevoland" in text and "gelderland" not in text.lower()


def test_the_pages_need_few_queries_however_many_packages(app, tenants, world):
    from samenleren.core.extensions import db
    from samenleren.exports.services import build_export
    from samenleren.identity.models import User
    from samenleren.privacy.requests import request_for_person, request_my_data

    def add(count: int) -> None:
        with in_tenant(app, world.tenant):
            for _ in range(count):
                mine = request_my_data(get(User, world.learner), "en")
                theirs = request_for_person(
                    get(User, world.admin), get(User, world.learner), "Verzoek", "en"
                )
                db.session.commit()
                build_export(mine.id)
                build_export(theirs.id)

    learner = client_for(app, world, "learner")
    admin = client_for(app, world, "admin")
    counter = QueryCounter(app)
    add(1)
    with counter.counting() as few_mine:
        assert learner.get(MY_DATA).status_code == 200
    with counter.counting() as few_admin:
        assert admin.get(f"/flevoland/privacy/people/{world.learner}").status_code == 200
    add(6)
    with counter.counting() as many_mine:
        page = learner.get(MY_DATA)
    assert page.get_data(as_text=True).count("/download") == 7
    with counter.counting() as many_admin:
        page = admin.get(f"/flevoland/privacy/people/{world.learner}")
    assert page.get_data(as_text=True).count("/download") == 7
    assert len(many_mine) == len(few_mine) <= 8, many_mine
    assert len(many_admin) == len(few_admin) <= 8, many_admin


def test_finding_a_person_is_one_bounded_search(app, tenants, world):
    admin = client_for(app, world, "admin")
    counter = QueryCounter(app)
    with counter.counting() as statements:
        page = admin.get("/flevoland/privacy/?q=Anna")
    assert page.status_code == 200
    assert f'href="/flevoland/privacy/people/{world.learner}"' in page.get_data(as_text=True)
    assert len(statements) <= 8, statements
    assert "Nobody matches" in admin.get("/flevoland/privacy/?q=Zzyzx").get_data(as_text=True)


def test_an_employee_who_left_is_found_for_a_request(app, tenants, world):
    """Former employees keep their rights (access, restriction): the search finds them too."""
    from samenleren.core.extensions import db
    from samenleren.identity.models import User

    with in_tenant(app, world.tenant):
        get(User, world.learner).active = False
        db.session.commit()
    admin = client_for(app, world, "admin")
    page = admin.get("/flevoland/privacy/?q=Anna").get_data(as_text=True)
    assert f'href="/flevoland/privacy/people/{world.learner}"' in page
    assert admin.get(f"/flevoland/privacy/people/{world.learner}").status_code == 200
