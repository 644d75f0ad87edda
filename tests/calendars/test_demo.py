"""The embedded default (`make run`: SQLite, no Redis, jobs in the process, mail as .eml files):
scheduling an intake writes the three invitations to the mail folder, each a meeting."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path

from sqlalchemy import select

from tests.calendars.helpers import meeting_part, only_event, parse
from tests.conftest import REPO_ROOT


def test_scheduling_an_intake_in_the_demo_writes_three_invitations(
    tmp_path, monkeypatch, _sqlite_template
):
    from samenleren import create_app
    from samenleren.core.extensions import db
    from samenleren.core.tenancy import tenant_scope
    from samenleren.core.tenant import Tenant
    from samenleren.demo.seed import seed_tenant
    from samenleren.tenants.manifest import load_manifest
    from samenleren.tenants.services import onboard_tenant
    from samenleren.trajectories.models import (
        StepInstance,
        StepState,
        Trajectory,
        TrajectoryStatus,
    )
    from samenleren.trajectories.steps import Appointment, schedule_step

    monkeypatch.setenv("SAMENLEREN_ENV", "test")
    shutil.copyfile(_sqlite_template, tmp_path / "demo.sqlite")  # migrated once per worker
    url = f"sqlite:///{tmp_path / 'demo.sqlite'}"
    mail = tmp_path / "mail"
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "MIGRATIONS_DATABASE_URL": url,
            "SERVER_NAME": None,
            "REDIS_URL": "",
            "SMTP_URL": "",
            "SAMENLEREN_MAIL_DIR": str(mail),
        }
    )
    with app.app_context():
        tenant = onboard_tenant(load_manifest(REPO_ROOT / "tenants" / "flevoland.toml")).tenant
        db.session.commit()
        seed_tenant(tenant)
        db.session.commit()
    before = set(mail.glob("*.eml")) if mail.exists() else set()
    with app.test_request_context(), tenant_scope(db.session.scalar(select(Tenant))):
        for step in db.session.scalars(
            select(StepInstance).where(
                StepInstance.step_key == "intake", StepInstance.state == StepState.PLANNED
            )
        ):
            trajectory = db.session.get(Trajectory, (step.tenant_id, step.trajectory_id))
            # A running one (the demo's history holds withdrawn ones with steps left open).
            running = trajectory.status == TrajectoryStatus.ACTIVE
            if running and trajectory.coach_id and trajectory.learner.manager_id:
                break
        people = {
            trajectory.learner.email,
            trajectory.coach.email,
            trajectory.learner.manager.email,
        }
        starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=5)
        appointment = Appointment(starts, starts + timedelta(hours=1), "Kamer 1")
        schedule_step(trajectory, step, trajectory.coach, appointment)
        db.session.commit()
    new = sorted(set(mail.glob("*.eml")) - before)
    messages = [message_from_bytes(Path(path).read_bytes(), policy=policy.default) for path in new]
    assert {m["To"].addresses[0].addr_spec for m in messages} == people
    for message in messages:
        assert meeting_part(message).get_param("method") == "REQUEST"
        event = only_event(parse(meeting_part(message).get_content()))
        assert str(event["SUMMARY"]).startswith("Intakegesprek")
    with app.app_context():
        db.engine.dispose()
