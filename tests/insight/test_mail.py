"""The quarterly report mail: its figures (by hand, see tests.insight.helpers and test_costs),
once per tenant and quarter, the admin's opt-out, the admin's language, and never a word
anyone wrote nor a confidential note."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.factories import add_user, get, in_tenant
from tests.insight.test_costs import SECRET, add_costs
from tests.insight.test_pages import _client, programme  # noqa: F401
from tests.trajectories.test_pages import post

NOTE = "zqnote-vertrouwelijk"


def _run(app, tenant, today: str) -> int:
    from samenleren.core.jobs.runtime import perform
    from samenleren.core.jobs.schedule import entry

    periodic = entry("insight.quarterly_report")
    assert periodic.per_tenant
    return perform(job=periodic.job, tenant_id=str(tenant.id), kwargs={"today": today})


def _confidential_notes(app, tenant, p) -> None:
    """The coach's confidential progress notes on a1's trajectory, in every field."""
    from samenleren.core.extensions import db
    from samenleren.trajectories.models import StepInstance, Trajectory
    from samenleren.trajectories.values import record_values

    with in_tenant(app, tenant):
        coach = add_user("cora.coach", "coach", name="Cora Coach")
        trajectory = get(Trajectory, p.ids["a1"])
        trajectory.coach_id = coach.id
        db.session.flush()
        progress = db.session.scalars(
            select(StepInstance).where(
                StepInstance.trajectory_id == trajectory.id, StepInstance.step_key == "progress"
            )
        ).first()
        goal = trajectory.goals[0]
        record_values(
            trajectory,
            progress,
            coach,
            {
                "f.notes": NOTE + "-notes",
                "f.next_steps": NOTE + "-next",
                f"f.progress_per_goal.{goal.id}": NOTE + "-goal",
            },
        )
        db.session.commit()
        # Written, and the coach reads them: so their absence elsewhere means something.
        from samenleren.identity.models import Role
        from samenleren.trajectories.confidentiality import readable_values

        read = readable_values(
            trajectory.template_version.content, [progress], frozenset({Role.COACH})
        )[progress.id]
        assert read["notes"] == NOTE + "-notes" and read["next_steps"] == NOTE + "-next"


def test_the_quarterly_mail_holds_the_headline_once_per_quarter(
    app,
    tenants,
    programme,  # noqa: F811
    smtp_sink,
):
    from samenleren.core.extensions import db
    from samenleren.identity.models import User
    from samenleren.insight.models import QuarterlyMail
    from samenleren.notifications.delivery import send_due
    from samenleren.notifications.models import Notification

    flevoland = tenants["flevoland"]
    add_costs(app, flevoland, programme)
    _confidential_notes(app, flevoland, programme)
    with in_tenant(app, flevoland):
        english = add_user("eva.admin", "programme_admin", name="Eva Admin", locale="en")
        add_user("olle.admin", "programme_admin", name="Olle Uit")
        add_user("gone.admin", "programme_admin", active=False)
        db.session.commit()
        english_email = english.email
    olle = _client(app, tenants, "olle.admin")
    answer = post(app, olle, "/flevoland/insight/mail", {})  # unticked: no more mail
    assert answer.status_code == 303

    # The first day of the fourth quarter: the third quarter's mail (training B ended then).
    assert _run(app, flevoland, "2025-10-01") == 2  # Pim and Eva: Olle opted out, one inactive
    assert _run(app, flevoland, "2025-10-01") == 0  # once per quarter
    assert _run(app, flevoland, "2025-11-15") == 0
    with in_tenant(app, flevoland):
        assert db.session.scalar(select(func.count(QuarterlyMail.id))) == 1
        assert send_due() == 2
        recipients = set(
            db.session.scalars(
                select(User.subject)
                .join(Notification, Notification.recipient_id == User.id)
                .where(Notification.kind == "quarterly_report")
            )
        )
    assert recipients == {"pim.admin", "eva.admin"}
    smtp_sink.wait_for(2)
    by_to = {str(m["To"]): m for m in smtp_sink.messages}
    mail = next(m for to, m in by_to.items() if english_email in to)
    assert str(mail["Subject"]) == "Programme report: quarter 3 of 2025"
    text = mail.get_body(("plain",)).get_content()
    # Q3 2025: training B only (whole tenant: shown). Learners 2 of 3, managers 1 of 2.
    assert "Transfer after three months, according to the managers: 50% (1 of 2)" in text
    assert "Transfer after three months, according to the learners: 67% (2 of 3)" in text
    assert (
        "Budget 2025 used (spent and committed): 39% (€\u00a01,973.45 of €\u00a05,000.00)" in text
    )
    assert "/flevoland/insight/?period=quarter&year=2025&quarter=3" in text
    dutch = next(m for to, m in by_to.items() if english_email not in to)
    assert str(dutch["Subject"]) == "Programmarapportage: kwartaal 3 van 2025"
    for message in smtp_sink.messages:
        whole = message.as_string()
        assert NOTE not in whole and SECRET not in whole and "zqinsight" not in whole

    # Next quarter: Olle turned it on again.
    post(app, olle, "/flevoland/insight/mail", {"quarterly_mail": "yes"})
    assert _run(app, flevoland, "2026-01-01") == 3


def test_the_mail_choice_is_the_admins_own_and_per_tenant(app, tenants, programme):  # noqa: F811
    from samenleren.audit.models import AuditEvent
    from samenleren.core.extensions import db
    from samenleren.insight.models import QuarterlyMail, ReportMailOptOut

    admin = _client(app, tenants, "pim.admin")
    page = admin.get("/flevoland/insight/?year=2025").get_data(as_text=True)
    assert (
        'id="in-quarterly-mail"' in page
        and "checked" in page.split('id="in-quarterly-mail"')[1][:80]
    )
    assert post(app, admin, "/flevoland/insight/mail", {}).status_code == 303
    page = admin.get("/flevoland/insight/?year=2025").get_data(as_text=True)
    assert "checked" not in page.split('id="in-quarterly-mail"')[1].split(">")[0]
    with in_tenant(app, tenants["flevoland"]):
        assert db.session.scalar(select(func.count(ReportMailOptOut.id))) == 1
        actions = db.session.scalars(select(AuditEvent.action)).all()
        assert "insight.quarterly_mail_off" in actions
    # Gelderland's run writes Gelderland's quarter only, to Gelderland's admins (none here).
    assert _run(app, tenants["gelderland"], "2025-10-01") == 0
    with in_tenant(app, tenants["gelderland"]):
        assert db.session.scalar(select(func.count(QuarterlyMail.id))) == 1
        assert db.session.scalar(select(func.count(ReportMailOptOut.id))) == 0
    with in_tenant(app, tenants["flevoland"]):
        assert db.session.scalar(select(func.count(QuarterlyMail.id))) == 0
    # Not a programme admin: the route does not exist for them.
    mila = _client(app, tenants, "mila.manager")
    assert post(app, mila, "/flevoland/insight/mail", {}).status_code == 404
