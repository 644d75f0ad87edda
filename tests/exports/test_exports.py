"""Exports of programme data: asked for on the page, built by a real RQ worker against real Redis,
read back as CSV and XLSX; confidentiality, formula injection, expiry, tenants, queries."""

from __future__ import annotations

import copy
import uuid
from datetime import datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from samenleren.core.formatting import local_today
from tests.audit.helpers import events
from tests.conftest import TenantRef
from tests.exports.helpers import (
    MARKER,
    csv_tables,
    every_text,
    plant_programme,
    xlsx_workbook,
)
from tests.factories import World, build_world, get, in_tenant
from tests.test_isolation import QueryCounter, comparable
from tests.trajectories.test_pages import client_for, post

pytestmark = pytest.mark.usefixtures("english")

PAGE = "/flevoland/exports/"
ALL = ["trajectories", "steps", "goals"]


@pytest.fixture
def world(app, tenants) -> World:
    with in_tenant(app, tenants["flevoland"]):
        return build_world(tenants["flevoland"])


@pytest.fixture
def admin(app, world) -> FlaskClient:
    return client_for(app, world, "admin")


def run_reports(app: Flask) -> int:
    """Run what waits on the `reports` queue with RQ's SimpleWorker (burst), in this process."""
    from samenleren.core.jobs.runtime import run_pending_jobs

    return run_pending_jobs(app, ["reports"])


def only_export(app: Flask, tenant: TenantRef):
    from samenleren.exports.models import Export

    with in_tenant(app, tenant):
        from samenleren.core.extensions import db

        exports = db.session.scalars(select(Export)).all()
        assert len(exports) == 1
        db.session.expunge_all()
        return exports[0]


def ask(app: Flask, client: FlaskClient, fmt: str, datasets: list[str], slug="flevoland"):
    return post(
        app,
        client,
        f"/{slug}/exports/",
        [("format", fmt), *(("datasets", name) for name in datasets)],
    )


def download(client: FlaskClient, export, slug="flevoland"):
    return client.get(f"/{slug}/exports/{export.id}/download")


def test_a_csv_export_is_built_by_a_worker_and_reads_back(app, tenants, world, admin):
    planted = plant_programme(app, world)
    answer = ask(app, admin, "csv", ALL)
    assert answer.status_code == 303, answer.get_data(as_text=True)
    export = only_export(app, tenants["flevoland"])
    assert export.state.value == "queued" and export.progress == 0
    page = admin.get(PAGE).get_data(as_text=True)
    assert "Waiting" in page and 'data-status-url="/flevoland/exports/status"' in page
    assert "exports.js" in page

    assert run_reports(app) == 1
    export = only_export(app, tenants["flevoland"])
    assert export.state.value == "done" and export.progress == 100
    assert export.filename.endswith(".zip") and export.content_type == "application/zip"
    status = admin.get("/flevoland/exports/status").get_json()
    assert status["exports"][0]["state"] == "done"
    assert status["exports"][0]["download"] == f"/flevoland/exports/{export.id}/download"

    got = download(admin, export)
    assert got.status_code == 200
    assert got.headers["Content-Type"] == "application/zip"
    assert got.headers["Content-Disposition"] == f'attachment; filename="{export.filename}"'
    assert got.headers["Cache-Control"] == "no-store"
    tables = csv_tables(export.filename, got.data)
    assert set(tables) == set(ALL)

    trajectories = tables["trajectories"]
    assert trajectories[0][:3] == ["Trajectory (id)", "Learner", "Department"]
    assert len(trajectories) == 2
    row = dict(zip(trajectories[0], trajectories[1], strict=True))
    assert row["Trajectory (id)"] == str(world.trajectory)
    assert row["Learner"] == "Anna Learner flevoland"
    assert row["Department"] == "Ruimte flevoland"
    assert row["Training"] == "Training van flevoland"
    assert row["Edition"] == "Editie flevoland"
    assert row["Learning coach"] == "Carla Coach flevoland"
    assert row["Manager"] == "Mark Manager flevoland"
    assert row["Version"] == "1"
    assert row["Status"] == "Running"
    assert row["Current step"] == "Setting learning goals"
    assert row["Started"] == local_today().isoformat()
    assert row["Completed on"] == ""

    steps = tables["steps"]
    with in_tenant(app, world.tenant):
        from samenleren.core.extensions import db
        from samenleren.trajectories.models import StepInstance

        expected = db.session.scalars(
            select(StepInstance).order_by(StepInstance.position, StepInstance.occurrence)
        ).all()
        due = [step.due_on.isoformat() for step in expected]
    assert len(steps) == 1 + len(expected)
    header = steps[0]
    assert [r[header.index("Due")] for r in steps[1:]] == due
    intake = next(r for r in steps[1:] if r[header.index("Step")] == "Intake conversation")
    assert intake[header.index("State")] == "Skipped"
    assert intake[header.index("Skipped on")] == local_today().isoformat()

    goals = tables["goals"]
    header = goals[0]
    assert header[-2:] == ["Attainment by the learner (1-5)", "Attainment by the manager (1-5)"]
    assert sorted(r[header.index("Learning goal")] for r in goals[1:]) == sorted(
        planted.goal_titles
    )
    for r in goals[1:]:
        assert r[header.index("Organisation goal (code)")]
        assert r[header.index("Attainment by the learner (1-5)")] == "4"
        assert r[header.index("Attainment by the manager (1-5)")] == "2"
        assert r[header.index("Description")].startswith("Uitleg bij ")

    # Asked for and downloaded: both in the audit log, with the format and the data.
    actions = [(e.action, e.details) for e in events(app, tenants["flevoland"])]
    wanted = {"format": "csv", "datasets": "trajectories,steps,goals"}
    assert ("export.requested", wanted) in actions
    assert ("export.downloaded", wanted) in actions


def test_an_xlsx_export_has_a_sheet_per_dataset_with_a_bold_frozen_header_and_real_dates(
    app, tenants, world, admin
):
    plant_programme(app, world)
    assert ask(app, admin, "xlsx", ["steps", "trajectories"]).status_code == 303
    run_reports(app)
    export = only_export(app, tenants["flevoland"])
    got = download(admin, export)
    assert got.status_code == 200
    assert got.headers["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert export.filename.endswith(".xlsx")
    workbook = xlsx_workbook(got.data)
    assert workbook.sheetnames == ["Trajectories", "Steps"]
    for sheet in workbook.worksheets:
        assert sheet.freeze_panes == "A2"
        assert all(cell.font.b for cell in sheet[1])
    steps = workbook["Steps"]
    header = [cell.value for cell in steps[1]]
    due = header.index("Due") + 1
    values = [steps.cell(row=r, column=due).value for r in range(2, steps.max_row + 1)]
    assert values and all(isinstance(v, datetime) for v in values)  # a date cell, not text
    assert steps.cell(row=2, column=due).number_format == "yyyy-mm-dd"
    trajectories = workbook["Trajectories"]
    assert trajectories.max_row == 2
    assert trajectories.cell(row=2, column=2).value == "Anna Learner flevoland"
    assert export.rows == (steps.max_row - 1) + (trajectories.max_row - 1)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_no_free_text_the_admin_may_not_read_is_in_any_export(app, tenants, world, admin, fmt):
    """MARKER is in every progress note, intake and evaluation text, application plan, tip,
    skip reason, coach change reason, place and meeting outcome: in no export, in no format."""
    planted = plant_programme(app, world)
    assert ask(app, admin, fmt, ALL).status_code == 303
    run_reports(app)
    export = only_export(app, tenants["flevoland"])
    got = download(admin, export)
    assert got.status_code == 200
    text = every_text(export.filename, got.data)
    assert MARKER not in text
    assert MARKER.encode() not in got.data
    # ... while what the admin may read is there, so the check above can fail.
    for title in planted.goal_titles:
        assert title in text
    assert "Anna Learner flevoland" in text


def test_goal_texts_and_ratings_the_template_hides_from_the_admin_stay_out(
    app, tenants, world, admin
):
    """A template version whose goals and ratings the admin may not read: the goal rows are
    there (they are counted on the dashboard too), without text and without ratings."""
    from samenleren.core.extensions import db
    from samenleren.process_templates.models import TemplateVersion
    from samenleren.trajectories.models import Trajectory

    planted = plant_programme(app, world)
    with in_tenant(app, world.tenant):
        version_id = get(Trajectory, world.trajectory).template_version_id
        version = get(TemplateVersion, version_id)
        definition = copy.deepcopy(version.definition)
        for step in definition["steps"]:
            for field in step.get("fields", []):
                if field["type"] in ("goals", "rating"):
                    field["readers"] = [r for r in field["readers"] if r != "programme_admin"]
        # Straight to the table: a published version is immutable through the ORM.
        db.session.execute(
            update(TemplateVersion)
            .where(TemplateVersion.id == version.id)
            .values(definition=definition)
        )
        db.session.commit()
    assert ask(app, admin, "csv", ["goals"]).status_code == 303
    run_reports(app)
    export = only_export(app, tenants["flevoland"])
    assert export.filename.endswith("-goals.csv") and export.content_type.startswith("text/csv")
    goals = csv_tables(export.filename, download(admin, export).data)["goals"]
    header = goals[0]
    assert len(goals) == 1 + len(planted.goal_titles)
    for row in goals[1:]:
        assert row[header.index("Learning goal")] == ""
        assert row[header.index("Description")] == ""
        assert row[header.index("Attainment by the learner (1-5)")] == ""
        assert row[header.index("Attainment by the manager (1-5)")] == ""
        assert row[header.index("Learner")] == "Anna Learner flevoland"


DANGEROUS = ['=HYPERLINK("http://x.example","klik")', "+31 6 1234", "-2+3", "@SUM(A1)"]


def test_formula_injection_is_neutralised_in_csv_and_xlsx(app, tenants, world, admin):
    plant_programme(app, world, goal_titles=tuple(DANGEROUS))
    from samenleren.core.extensions import db
    from samenleren.identity.models import User

    with in_tenant(app, world.tenant):
        get(User, world.learner).name = "=1+1 Anna"
        db.session.commit()

    assert ask(app, admin, "csv", ["goals", "trajectories"]).status_code == 303
    run_reports(app)
    export = only_export(app, tenants["flevoland"])
    tables = csv_tables(export.filename, download(admin, export).data)
    goals = tables["goals"]
    titles = sorted(row[goals[0].index("Learning goal")] for row in goals[1:])
    assert titles == sorted("'" + text for text in DANGEROUS)
    assert tables["trajectories"][1][1] == "'=1+1 Anna"

    with in_tenant(app, world.tenant):
        from samenleren.exports.models import Export

        db.session.execute(Export.__table__.delete())
        db.session.commit()
    assert ask(app, admin, "xlsx", ["goals", "trajectories"]).status_code == 303
    run_reports(app)
    export = only_export(app, tenants["flevoland"])
    workbook = xlsx_workbook(download(admin, export).data)
    sheet = workbook["Learning goals"]
    column = [cell.value for cell in sheet[1]].index("Learning goal") + 1
    cells = [sheet.cell(row=r, column=column) for r in range(2, sheet.max_row + 1)]
    assert sorted(cell.value for cell in cells) == sorted(DANGEROUS)
    for cell in cells:
        assert cell.data_type == "s", "stored as text, never as a formula"
        assert cell.quotePrefix
    name = workbook["Trajectories"].cell(row=2, column=2)
    assert name.value == "=1+1 Anna" and name.data_type == "s"


def test_an_expired_export_is_refused_and_its_file_cleaned_up(app, tenants, world, admin):
    from samenleren.core.extensions import db
    from samenleren.core.jobs.runtime import enqueue
    from samenleren.exports import services
    from samenleren.exports.models import Export, ExportState

    assert ask(app, admin, "xlsx", ALL).status_code == 303
    run_reports(app)
    export = only_export(app, tenants["flevoland"])
    assert download(admin, export).status_code == 200
    with in_tenant(app, world.tenant):
        row = services.get_export(export.id)
        row.expires_at = datetime.now().astimezone() - timedelta(minutes=1)
        db.session.commit()
    refused = download(admin, export)
    assert refused.status_code == 410
    assert "This export has expired" in refused.get_data(as_text=True)
    page = admin.get(PAGE).get_data(as_text=True)
    assert f"/exports/{export.id}/download" not in page

    # The hourly cleanup, as cron enqueues it: one job per tenant.
    with in_tenant(app, world.tenant):
        enqueue("samenleren.exports.jobs.clean_up", tenant_id=world.tenant.id)
        db.session.commit()
    assert run_reports(app) == 1
    with in_tenant(app, world.tenant):
        state, content = db.session.execute(
            select(Export.state, Export.content).where(Export.id == export.id)
        ).one()
    assert state is ExportState.EXPIRED and content is None
    assert download(admin, export).status_code == 410
    assert "Expired: the file was deleted" in admin.get(PAGE).get_data(as_text=True)


def test_the_cleanup_is_on_the_schedule():
    from samenleren.core.jobs.schedule import entry

    periodic = entry("exports.clean_up")
    assert periodic.job == "samenleren.exports.jobs.clean_up" and periodic.per_tenant


def test_an_export_asked_for_while_redis_is_down_is_built_after_the_cleanup(
    app, tenants, world, admin, monkeypatch
):
    """The request commits, its job cannot be handed over; the periodic cleanup (as cron
    enqueues it, every five minutes) enqueues the build again once the job is overdue."""
    from redis import Redis

    from samenleren.core.extensions import db
    from samenleren.core.jobs import runtime
    from samenleren.core.jobs.runtime import enqueue
    from samenleren.exports import services
    from samenleren.exports.models import Export, ExportState

    def clean_up() -> int:
        with in_tenant(app, world.tenant):
            enqueue("samenleren.exports.jobs.clean_up", tenant_id=world.tenant.id)
            db.session.commit()
        return run_reports(app)

    working = runtime.connection
    dead = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    monkeypatch.setattr(runtime, "connection", lambda app=None: dead)
    assert ask(app, admin, "csv", ["trajectories"]).status_code == 303
    monkeypatch.setattr(runtime, "connection", working)
    assert run_reports(app) == 0  # the build's job was lost
    export = only_export(app, tenants["flevoland"])
    assert export.state is ExportState.QUEUED

    assert clean_up() == 1  # just asked for: it may still be waiting in the queue
    assert only_export(app, tenants["flevoland"]).state is ExportState.QUEUED

    with in_tenant(app, world.tenant):
        db.session.execute(
            update(Export)
            .where(Export.id == export.id)
            .values(requested_at=Export.requested_at - services.REQUEUE_AFTER)
        )
        db.session.commit()
    assert clean_up() == 2  # the cleanup, then the build it enqueued again
    assert only_export(app, tenants["flevoland"]).state is ExportState.DONE
    assert clean_up() == 1  # built: nothing to enqueue again


def test_another_tenants_export_looks_missing(app, tenants, world, admin):
    with in_tenant(app, tenants["gelderland"]):
        other = build_world(tenants["gelderland"])
    other_admin = client_for(app, other, "admin")
    assert ask(app, other_admin, "xlsx", ALL, slug="gelderland").status_code == 303
    run_reports(app)
    theirs = only_export(app, tenants["gelderland"])
    assert download(other_admin, theirs, slug="gelderland").status_code == 200
    foreign = admin.get(f"/flevoland/exports/{theirs.id}/download")
    missing_id = uuid.uuid4()
    missing = admin.get(f"/flevoland/exports/{missing_id}/download")
    assert foreign.status_code == missing.status_code == 404
    ids = [str(theirs.id), str(missing_id)]
    assert comparable(foreign, ids) == comparable(missing, ids)
    assert "gelderland" not in admin.get(PAGE).get_data(as_text=True).lower()


def test_a_job_for_one_tenant_reads_no_other_tenant(app, tenants, world, admin):
    """The build runs in its tenant: the file holds nothing of the other tenant, and a job sent
    with the other tenant cannot even find the export (wall 2 and RLS)."""
    from samenleren.core.extensions import db
    from samenleren.core.jobs.runtime import enqueue
    from samenleren.exports.models import ExportState

    with in_tenant(app, tenants["gelderland"]):
        build_world(tenants["gelderland"])
    assert ask(app, admin, "csv", ALL).status_code == 303
    export = only_export(app, tenants["flevoland"])
    # The same build, but sent as gelderland's job: it sees no such export and writes nothing.
    with in_tenant(app, tenants["gelderland"]):
        enqueue(
            "samenleren.exports.jobs.build",
            tenant_id=tenants["gelderland"].id,
            export_id=str(export.id),
        )
        db.session.commit()
    run_reports(app)  # both jobs: gelderland's (finds nothing) and flevoland's own
    export = only_export(app, tenants["flevoland"])
    assert export.state is ExportState.DONE
    text = every_text(export.filename, download(admin, export).data)
    assert "flevoland" in text
    assert "gelderland" not in text.lower()


@pytest.mark.parametrize("who", ["learner", "coach", "manager", "trainer"])
def test_only_the_programme_admin_reaches_the_exports(app, tenants, world, who):
    from samenleren.core.extensions import db
    from samenleren.exports.services import build_export, new_export
    from samenleren.identity.models import User

    with in_tenant(app, world.tenant):
        export = new_export(get(User, world.admin), "csv", ["steps"], "en")
        db.session.commit()
        build_export(export.id)
        export_id = export.id
    client = client_for(app, world, who)
    for path in (PAGE, "/flevoland/exports/status", f"/flevoland/exports/{export_id}/download"):
        assert client.get(path).status_code == 404, path
    assert ask(app, client, "csv", ALL).status_code == 404
    with in_tenant(app, world.tenant):
        from samenleren.exports.models import Export

        assert len(db.session.scalars(select(Export)).all()) == 1


def test_a_refused_request_shows_why_and_writes_nothing(app, tenants, world, admin):
    from samenleren.core.extensions import db
    from samenleren.exports.models import Export

    answer = ask(app, admin, "csv", [])
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    assert "Choose at least one kind of data." in page
    answer = ask(app, admin, "pdf", ["steps"])
    assert answer.status_code == 422
    assert "Choose CSV or Excel." in answer.get_data(as_text=True)
    # One at a time: a second request while the first is still waiting is refused.
    assert ask(app, admin, "csv", ["steps"]).status_code == 303
    again = ask(app, admin, "csv", ["steps"])
    assert again.status_code == 422
    assert "still being made" in again.get_data(as_text=True)
    with in_tenant(app, world.tenant):
        assert len(db.session.scalars(select(Export)).all()) == 1
    run_reports(app)


def test_an_export_not_ready_yet_is_not_downloadable(app, tenants, world, admin):
    assert ask(app, admin, "csv", ["steps"]).status_code == 303
    export = only_export(app, tenants["flevoland"])
    answer = download(admin, export)
    assert answer.status_code == 409
    assert "not ready yet" in answer.get_data(as_text=True)
    run_reports(app)
    assert download(admin, export).status_code == 200


def test_the_exports_page_needs_few_queries_however_many_exports(app, tenants, world, admin):
    from samenleren.core.extensions import db
    from samenleren.exports.services import build_export, new_export
    from samenleren.identity.models import User

    def add(count: int) -> None:
        with in_tenant(app, world.tenant):
            for _ in range(count):
                export = new_export(get(User, world.admin), "csv", ["steps"], "en")
                db.session.commit()
                build_export(export.id)

    counter = QueryCounter(app)
    add(1)
    with counter.counting() as few:
        assert admin.get(PAGE).status_code == 200
    add(12)
    with counter.counting() as many:
        page = admin.get(PAGE)
    assert page.status_code == 200
    assert page.get_data(as_text=True).count("/download") == 13
    assert len(many) == len(few) <= 8, many


def test_the_programme_dashboard_and_menu_link_to_the_exports(app, world, admin):
    page = admin.get("/flevoland/dashboard/programme").get_data(as_text=True)
    assert page.count('href="/flevoland/exports/"') >= 2
