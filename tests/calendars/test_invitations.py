"""Invitations by mail: scheduling, re-scheduling and cancelling a conversation or group meeting
sends RFC 5545 REQUEST / CANCEL events through the outbox to a real SMTP server."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select

from samenleren.core.formatting import local_today
from tests.calendars.helpers import (
    attendee_emails,
    meeting_part,
    only_event,
    parse,
    recipient,
    sent_mails,
)
from tests.factories import World, build_world, get, in_tenant
from tests.trajectories.test_pages import client_for, post, step_ids

LEARNER = "anna.learner@example.nl"
COACH = "carla.coach@example.nl"
MANAGER = "mark.manager@example.nl"
TRAINER = "tina.trainer@example.nl"


@pytest.fixture
def world(app: Flask, tenants) -> World:
    with in_tenant(app, tenants["flevoland"]):
        return build_world(tenants["flevoland"])


def _moment(days: int, hour: int) -> str:
    return (local_today() + timedelta(days=days)).isoformat() + f"T{hour:02d}:00"


def _schedule(app: Flask, client, world: World, step_id, days: int = 10, hour: int = 10, **extra):
    path = f"/flevoland/trajectories/{world.trajectory}/steps/{step_id}/schedule"
    data = {
        "starts_at": _moment(days, hour),
        "ends_at": _moment(days, hour + 1),
        "location": "Kamer 3",
        **extra,
    }
    return post(app, client, path, data)


def _by_recipient(messages) -> dict[str, object]:
    found = {}
    for message in messages:
        found[recipient(message)] = message
    return found


def _notifications(app: Flask, world: World) -> int:
    from samenleren.core.extensions import db
    from samenleren.notifications.models import Notification

    with in_tenant(app, world.tenant):
        return db.session.scalar(select(func.count()).select_from(Notification))


def test_scheduling_an_intake_invites_learner_coach_and_manager(app, world, smtp_sink):
    from samenleren.core.extensions import db
    from samenleren.identity.models import User

    with in_tenant(app, world.tenant):  # the manager reads English
        get(User, world.manager).locale = "en"
        db.session.commit()
    coach = client_for(app, world, "coach")
    intake = step_ids(app, world)["intake"]
    assert (
        _schedule(app, coach, world, intake, video_url="https://meet.example/intake").status_code
        == 303
    )

    mails = _by_recipient(sent_mails(app, smtp_sink, 3))
    assert set(mails) == {LEARNER, COACH, MANAGER}
    uids = set()
    for message in mails.values():
        part = meeting_part(message)
        assert part.get_content_type() == "text/calendar"
        assert part.get_param("method") == "REQUEST"
        calendar = parse(part.get_content())
        assert calendar["METHOD"] == "REQUEST"
        event = only_event(calendar)
        uids.add(str(event["UID"]))
        assert int(event["SEQUENCE"]) == 0
        assert str(event["STATUS"]) == "CONFIRMED"
        assert attendee_emails(event) == {LEARNER, COACH, MANAGER}
        assert str(event["ORGANIZER"]).startswith("mailto:")
        assert event["ORGANIZER"].params["CN"] == "Provincie Flevoland"
        for attendee in event["ATTENDEE"]:
            assert attendee.params["ROLE"] == "REQ-PARTICIPANT"
            assert attendee.params["PARTSTAT"] == "NEEDS-ACTION"
            assert attendee.params["RSVP"] == "TRUE"
        assert event.decoded("DTSTART").utcoffset() == timedelta(0)  # written in UTC
        assert str(event["LOCATION"]) == "Kamer 3"
        assert "https://meet.example/intake" in str(event["DESCRIPTION"])
        # also as a plain attachment for clients that ignore the alternative part
        assert any(p.get_filename() == "invitation.ics" for p in message.walk())
    assert len(uids) == 1, "one appointment, one UID"
    summaries = {
        address: str(only_event(parse(meeting_part(m).get_content()))["SUMMARY"])
        for address, m in mails.items()
    }
    assert summaries[LEARNER] == "Intakegesprek"
    assert summaries[COACH].startswith("Intakegesprek · Anna Learner")
    assert summaries[MANAGER].startswith("Intake conversation · Anna Learner")


def test_a_new_time_sends_an_update_and_the_same_time_nothing(app, world, smtp_sink):
    coach = client_for(app, world, "coach")
    intake = step_ids(app, world)["intake"]
    assert _schedule(app, coach, world, intake).status_code == 303
    first = _by_recipient(sent_mails(app, smtp_sink, 3))
    assert _schedule(app, coach, world, intake).status_code == 303  # saved again, unchanged
    assert _notifications(app, world) == 3
    smtp_sink.clear()
    assert _schedule(app, coach, world, intake, days=11, hour=14).status_code == 303
    second = _by_recipient(sent_mails(app, smtp_sink, 3))
    from tests.mail import parts

    assert "uitgenodigd" in parts(first[LEARNER])["text/plain"]
    assert "gewijzigd" in parts(second[LEARNER])["text/plain"]
    for address in (LEARNER, COACH, MANAGER):
        before = only_event(parse(meeting_part(first[address]).get_content()))
        after = only_event(parse(meeting_part(second[address]).get_content()))
        assert after["UID"] == before["UID"]
        assert int(after["SEQUENCE"]) > int(before["SEQUENCE"])
        assert after.decoded("DTSTART") != before.decoded("DTSTART")


def test_cancelling_the_appointment_sends_a_cancel_with_the_same_uid(app, world, smtp_sink):
    coach = client_for(app, world, "coach")
    intake = step_ids(app, world)["intake"]
    assert _schedule(app, coach, world, intake).status_code == 303
    invited = _by_recipient(sent_mails(app, smtp_sink, 3))
    smtp_sink.clear()
    page = coach.get(f"/flevoland/trajectories/{world.trajectory}/steps/{intake}")
    assert "cancel-appointment" in page.get_data(as_text=True)
    path = f"/flevoland/trajectories/{world.trajectory}/steps/{intake}/cancel-appointment"
    assert post(app, coach, path).status_code == 303
    cancelled = _by_recipient(sent_mails(app, smtp_sink, 3))
    assert set(cancelled) == {LEARNER, COACH, MANAGER}
    for address, message in cancelled.items():
        part = meeting_part(message)
        assert part.get_param("method") == "CANCEL"
        calendar = parse(part.get_content())
        assert calendar["METHOD"] == "CANCEL"
        event = only_event(calendar)
        invitation = only_event(parse(meeting_part(invited[address]).get_content()))
        assert event["UID"] == invitation["UID"]
        assert int(event["SEQUENCE"]) > int(invitation["SEQUENCE"])
        assert str(event["STATUS"]) == "CANCELLED"
        assert event.decoded("DTSTART") == invitation.decoded("DTSTART")  # what is cancelled
    from samenleren.trajectories.models import StepInstance

    with in_tenant(app, world.tenant):
        step = get(StepInstance, intake)
        assert step.state.value == "planned" and step.starts_at is None


def test_only_those_responsible_cancel(app, world, smtp_sink):
    coach = client_for(app, world, "coach")
    learner = client_for(app, world, "learner")
    intake = step_ids(app, world)["intake"]
    assert _schedule(app, coach, world, intake).status_code == 303
    path = f"/flevoland/trajectories/{world.trajectory}/steps/{intake}/cancel-appointment"
    assert post(app, learner, path).status_code == 422  # the intake is the coach's to plan
    assert _notifications(app, world) == 3


def test_skipping_a_scheduled_step_and_withdrawing_cancel(app, world, smtp_sink):
    from samenleren.core.extensions import db
    from samenleren.trajectories.lifecycle import withdraw_trajectory
    from samenleren.trajectories.models import Trajectory

    coach = client_for(app, world, "coach")
    steps = step_ids(app, world)
    assert _schedule(app, coach, world, steps["intake"]).status_code == 303
    assert _schedule(app, coach, world, steps["progress"], days=40).status_code == 303
    sent_mails(app, smtp_sink, 5)  # intake: 3 people; progress: learner and coach
    smtp_sink.clear()
    skip = f"/flevoland/trajectories/{world.trajectory}/steps/{steps['intake']}/skip"
    assert post(app, coach, skip, {"reason": "Al besproken"}).status_code == 303
    skipped = sent_mails(app, smtp_sink, 3)
    assert {meeting_part(m).get_param("method") for m in skipped} == {"CANCEL"}
    smtp_sink.clear()
    with in_tenant(app, world.tenant):
        withdraw_trajectory(get(Trajectory, world.trajectory))
        db.session.commit()
    withdrawn = _by_recipient(sent_mails(app, smtp_sink, 2))
    assert set(withdrawn) == {LEARNER, COACH}  # the progress conversation: learner and coach
    for message in withdrawn.values():
        assert only_event(parse(meeting_part(message).get_content()))["STATUS"] == "CANCELLED"


def test_a_group_meeting_invites_the_group_each_seeing_only_themselves(app, world, smtp_sink):
    from samenleren.core.extensions import db
    from samenleren.trajectories.models import GroupMeeting

    trainer = client_for(app, world, "trainer")
    path = f"/flevoland/meetings/{world.meeting}/schedule"
    when = {"starts_at": _moment(60, 13), "ends_at": _moment(60, 16), "location": "Zaal 4"}
    assert post(app, trainer, path, when).status_code == 303
    mails = _by_recipient(sent_mails(app, smtp_sink, 3))
    # consolidation: learner, trainer and coach take part (the template's participants)
    assert set(mails) == {LEARNER, TRAINER, COACH}
    uids = set()
    for address, message in mails.items():
        event = only_event(parse(meeting_part(message).get_content()))
        uids.add(str(event["UID"]))
        assert attendee_emails(event) == {address}
        assert "Borgingsbijeenkomst" in str(event["SUMMARY"])
    assert len(uids) == 1
    with in_tenant(app, world.tenant):
        meeting = get(GroupMeeting, world.meeting)
        assert meeting.calendar_sequence == 0
        db.session.rollback()

    # The learner leaves: only their copy is cancelled (the coach may coach others in the group).
    from samenleren.trajectories.lifecycle import withdraw_trajectory
    from samenleren.trajectories.models import Trajectory

    smtp_sink.clear()
    with in_tenant(app, world.tenant):
        withdraw_trajectory(get(Trajectory, world.trajectory))
        db.session.commit()
    (cancel,) = sent_mails(app, smtp_sink, 1)
    assert recipient(cancel) == LEARNER
    event = only_event(parse(meeting_part(cancel).get_content()))
    assert str(event["UID"]) in uids and int(event["SEQUENCE"]) == 1
    assert meeting_part(cancel).get_param("method") == "CANCEL"


def test_nothing_confidential_goes_into_an_invitation(app, world, smtp_sink):
    coach = client_for(app, world, "coach")
    steps = step_ids(app, world)
    progress = f"/flevoland/trajectories/{world.trajectory}/steps/{steps['progress']}"
    secret = "Vertrouwelijk: twijfelt over de rol"
    assert post(app, coach, f"{progress}/values", {"f.notes": secret}).status_code == 303
    assert _schedule(app, coach, world, steps["progress"], days=40).status_code == 303
    for message in sent_mails(app, smtp_sink, 2):
        assert secret not in message.as_string()
        assert "twijfelt" not in meeting_part(message).get_content()


def test_nobody_without_an_address_and_no_past_appointments(app, world, smtp_sink):
    from samenleren.core.extensions import db
    from samenleren.identity.models import User

    with in_tenant(app, world.tenant):
        get(User, world.manager).email = None
        db.session.commit()
    coach = client_for(app, world, "coach")
    steps = step_ids(app, world)
    assert _schedule(app, coach, world, steps["intake"]).status_code == 303
    assert set(_by_recipient(sent_mails(app, smtp_sink, 2))) == {LEARNER, COACH}
    yesterday = datetime.now().date() - timedelta(days=1)
    late = {"starts_at": f"{yesterday}T09:00", "ends_at": f"{yesterday}T10:00", "location": "A"}
    before = _notifications(app, world)
    path = f"/flevoland/trajectories/{world.trajectory}/steps/{steps['evaluation']}/schedule"
    assert post(app, client_for(app, world, "manager"), path, late).status_code == 303
    assert _notifications(app, world) == before  # recorded afterwards: nobody is invited


def test_a_new_coach_is_invited_and_the_previous_one_gets_a_cancel(app, world, smtp_sink):
    from samenleren.coaching.assignment import assign_coach
    from samenleren.core.extensions import db
    from samenleren.identity.models import User
    from samenleren.trajectories.models import Trajectory

    coach = client_for(app, world, "coach")
    intake = step_ids(app, world)["intake"]
    assert _schedule(app, coach, world, intake).status_code == 303
    first = _by_recipient(sent_mails(app, smtp_sink, 3))
    smtp_sink.clear()
    with in_tenant(app, world.tenant):
        trajectory = get(Trajectory, world.trajectory)
        assign_coach(trajectory, get(User, world.other_coach), get(User, world.admin), "Verlof")
        db.session.commit()
    mails = _by_recipient(sent_mails(app, smtp_sink, 4))
    other = "otto.coach@example.nl"
    assert set(mails) == {LEARNER, MANAGER, other, COACH}
    uid = only_event(parse(meeting_part(first[LEARNER]).get_content()))["UID"]
    for address, message in mails.items():
        event = only_event(parse(meeting_part(message).get_content()))
        assert event["UID"] == uid and int(event["SEQUENCE"]) == 1
        if address == COACH:
            assert meeting_part(message).get_param("method") == "CANCEL"
        else:
            assert meeting_part(message).get_param("method") == "REQUEST"
            assert attendee_emails(event) == {LEARNER, MANAGER, other}


def test_a_learner_joining_a_scheduled_group_gets_its_invitation(app, world, smtp_sink):
    from samenleren.catalogue.models import Enrolment, EnrolmentStatus
    from samenleren.core.db import utcnow
    from samenleren.core.extensions import db
    from samenleren.trajectories.lifecycle import start_trajectory
    from tests.factories import add_user

    trainer = client_for(app, world, "trainer")
    path = f"/flevoland/meetings/{world.meeting}/schedule"
    when = {"starts_at": _moment(60, 13), "ends_at": _moment(60, 16), "location": "Zaal 4"}
    assert post(app, trainer, path, when).status_code == 303
    sent_mails(app, smtp_sink, 3)
    smtp_sink.clear()
    with in_tenant(app, world.tenant):
        late = add_user("laat.komer", "learner", name="Laat Komer")
        enrolment = Enrolment(
            edition_id=world.edition,
            learner_id=late.id,
            status=EnrolmentStatus.ENROLLED,
            enrolled_at=utcnow(),
        )
        db.session.add(enrolment)
        db.session.flush()
        start_trajectory(enrolment)
        db.session.commit()
    (invitation,) = sent_mails(app, smtp_sink, 1)
    assert recipient(invitation) == "laat.komer@example.nl"
    event = only_event(parse(meeting_part(invitation).get_content()))
    assert attendee_emails(event) == {"laat.komer@example.nl"}


@pytest.mark.parametrize("field", ["video_url", "location"])
def test_a_line_break_in_place_or_video_link_is_refused_not_a_500(app, world, field):
    coach = client_for(app, world, "coach")
    intake = step_ids(app, world)["intake"]
    before = _notifications(app, world)
    value = "https://meet.example/a\r\nBcc: eve@example.nl"
    answer = _schedule(app, coach, world, intake, **{field: value})
    assert answer.status_code == 422
    assert _notifications(app, world) == before
