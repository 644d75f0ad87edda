"""The mails at the moments that matter: an application, its answer, a coach assignment.

Each moment writes one outbox row per person it concerns (idempotent: the same moment twice
writes nothing new), in the recipient's language, and nothing for anyone else.
"""

from __future__ import annotations

from sqlalchemy import select

from samenleren.core.jobs.runtime import run_pending_jobs
from tests.factories import build_world, get, in_tenant
from tests.mail import parts


def _mails(app, tenant, *kinds):
    """[(kind, recipient id, context)] of the outbox rows of `kinds`, oldest first."""
    from samenleren.core.extensions import db
    from samenleren.notifications.models import Notification

    with in_tenant(app, tenant):
        return [
            (note.kind, note.recipient_id, dict(note.context))
            for note in db.session.scalars(
                select(Notification)
                .where(Notification.kind.in_(kinds))
                .order_by(Notification.created_at, Notification.key)
            )
        ]


APPLICATION_KINDS = (
    "application_received",
    "team_application",
    "enrolment_placed",
    "enrolment_waitlisted",
    "application_declined",
)


def _world_with_applicant(app, tenant):
    """The world, with the colleague in the manager's team (the applicant of these tests)."""
    from samenleren.core.extensions import db
    from samenleren.identity.models import User

    with in_tenant(app, tenant):
        world = build_world(tenant)
        get(User, world.colleague).manager_id = world.manager
        db.session.commit()
    return world


def test_an_application_is_confirmed_to_the_employee_and_told_to_their_manager(
    app, tenants, smtp_sink
):
    from samenleren.catalogue.enrolment import apply_for
    from samenleren.catalogue.models import Edition
    from samenleren.core.extensions import db
    from samenleren.identity.models import User

    tenant = tenants["flevoland"]
    world = _world_with_applicant(app, tenant)
    with in_tenant(app, tenant):
        apply_for(get(Edition, world.edition), get(User, world.colleague), "Graag")
        db.session.commit()
    mails = _mails(app, tenant, *APPLICATION_KINDS)
    assert [(kind, who) for kind, who, _ in mails] == [
        ("application_received", world.colleague),
        ("team_application", world.manager),
    ]
    assert mails[1][2]["learner"] == "Cor Colleague flevoland"
    assert "motivation" not in mails[0][2] and "Graag" not in str(mails)

    assert run_pending_jobs(app) >= 1
    messages = smtp_sink.wait_for(2)
    by_subject = {message["Subject"]: parts(message)["text/plain"] for message in messages}
    to_learner = next(text for subject, text in by_subject.items() if "ontvangen" in subject)
    to_manager = next(text for subject, text in by_subject.items() if "Cor Colleague" in subject)
    assert "We hebben je aanmelding" in to_learner
    assert f"/flevoland/editions/{world.edition}" in to_learner
    assert "uit jouw team" in to_manager
    assert "/flevoland/dashboard/manager" in to_manager


def test_the_same_application_twice_writes_no_second_mail(app, tenants):
    from samenleren.catalogue.enrolment import apply_for
    from samenleren.catalogue.models import Edition
    from samenleren.core.errors_input import InvalidInput
    from samenleren.core.extensions import db
    from samenleren.identity.models import User

    tenant = tenants["flevoland"]
    world = _world_with_applicant(app, tenant)
    with in_tenant(app, tenant):
        apply_for(get(Edition, world.edition), get(User, world.colleague), "")
        db.session.commit()
        try:
            apply_for(get(Edition, world.edition), get(User, world.colleague), "")
        except InvalidInput:
            db.session.rollback()
    assert len(_mails(app, tenant, *APPLICATION_KINDS)) == 2


def test_an_employee_without_a_manager_is_still_told(app, tenants):
    from samenleren.catalogue.enrolment import apply_for
    from samenleren.catalogue.models import Edition
    from samenleren.core.extensions import db
    from samenleren.identity.models import User

    tenant = tenants["flevoland"]
    with in_tenant(app, tenant):
        world = build_world(tenant)
        apply_for(get(Edition, world.edition), get(User, world.colleague), "")
        db.session.commit()
    assert [kind for kind, _, _ in _mails(app, tenant, *APPLICATION_KINDS)] == [
        "application_received"
    ]


def test_accepted_waiting_and_declined_each_get_their_own_answer(app, tenants):
    from samenleren.catalogue.enrolment import accept, apply_for, decline, fill_free_places
    from samenleren.catalogue.models import Edition, Enrolment
    from samenleren.core.extensions import db
    from samenleren.identity.models import User

    tenant = tenants["flevoland"]
    world = _world_with_applicant(app, tenant)
    with in_tenant(app, tenant):
        admin = get(User, world.admin)
        edition = get(Edition, world.edition)
        edition.capacity = 2  # the learner of the world holds one place
        first = apply_for(edition, get(User, world.colleague), "")
        second = apply_for(edition, get(User, world.coach), "")
        third = apply_for(edition, get(User, world.other_coach), "")
        accept(first, admin)  # the last place
        accept(second, admin)  # full: the waiting list
        decline(third, admin, "Deze training past niet bij je functie.")
        db.session.commit()
        second_id = second.id
    answers = [
        (kind, who, context)
        for kind, who, context in _mails(app, tenant, *APPLICATION_KINDS)
        if kind not in ("application_received", "team_application")
    ]
    assert [(kind, who) for kind, who, _ in answers] == [
        ("enrolment_placed", world.colleague),
        ("enrolment_waitlisted", world.coach),
        ("application_declined", world.other_coach),
    ]
    assert answers[1][2]["position"] == 1
    assert answers[2][2]["reason"] == "Deze training past niet bij je functie."

    # A place comes free: the one waiting hears they have it, once.
    with in_tenant(app, tenant):
        get(Edition, world.edition).capacity = 3
        fill_free_places(get(Edition, world.edition))
        db.session.commit()
        assert get(Enrolment, second_id).status.value == "enrolled"
    placed = [who for kind, who, _ in _mails(app, tenant, "enrolment_placed")]
    assert placed == [world.colleague, world.coach]


def test_each_answer_reads_well_in_dutch_and_english(app, tenants, smtp_sink):
    from samenleren.catalogue.enrolment import accept, apply_for, decline
    from samenleren.catalogue.models import Edition
    from samenleren.core.extensions import db
    from samenleren.identity.models import User

    tenant = tenants["flevoland"]
    world = _world_with_applicant(app, tenant)
    with in_tenant(app, tenant):
        admin = get(User, world.admin)
        edition = get(Edition, world.edition)
        edition.capacity = 2
        get(User, world.coach).locale = "en"
        accept(apply_for(edition, get(User, world.colleague), ""), admin)
        accept(apply_for(edition, get(User, world.coach), ""), admin)
        decline(apply_for(edition, get(User, world.other_coach), ""), admin, "Vol dit jaar.")
        db.session.commit()
    run_pending_jobs(app)
    messages = smtp_sink.wait_for(7)  # 3 received, 1 team, placed, waiting, declined
    subjects = {message["Subject"] for message in messages}
    texts = {message["Subject"]: parts(message)["text/plain"] for message in messages}
    placed = next(subject for subject in subjects if subject.startswith("Je hebt een plaats"))
    assert "begint op" in texts[placed]
    waiting = next(subject for subject in subjects if subject.startswith("Waiting list"))
    assert "You are number 1 on the waiting list" in texts[waiting]
    declined = next(subject for subject in subjects if subject.startswith("Je aanmelding"))
    assert "niet aangenomen" in texts[declined]
    assert "Vol dit jaar." in texts[declined]


def test_the_coach_assignment_mail_introduces_the_coach_and_how_to_reach_them(
    app, tenants, smtp_sink
):
    from samenleren.coaching.assignment import assign_coach
    from samenleren.coaching.models import CoachProfile
    from samenleren.core.extensions import db
    from samenleren.identity.models import User
    from samenleren.trajectories.models import Trajectory

    tenant = tenants["flevoland"]
    with in_tenant(app, tenant):
        world = build_world(tenant, coached=False)
        profile = db.session.scalar(select(CoachProfile).where(CoachProfile.user_id == world.coach))
        profile.introduction = "Ik werk twintig jaar bij de provincie en coach graag."
        assign_coach(
            get(Trajectory, world.trajectory), get(User, world.coach), get(User, world.admin)
        )
        db.session.commit()
        coach_email = get(User, world.coach).email
    ((_, who, context),) = _mails(app, tenant, "coach_assigned")
    assert who == world.learner
    assert context["introduction"].startswith("Ik werk twintig jaar")
    assert context["coach_email"] == coach_email
    run_pending_jobs(app)
    (message,) = smtp_sink.wait_for(1)
    body = parts(message)
    assert "Ik werk twintig jaar bij de provincie" in body["text/plain"]
    assert f"mailto:{coach_email}" in body["text/html"]
