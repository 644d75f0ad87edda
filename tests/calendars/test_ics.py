"""The .ics builder on its own: every method parses with icalendar and carries what calendars
need to treat it as a meeting, with the same UID across versions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from samenleren.calendars.ics import CalendarEvent, Method, Person, build_calendar, uid_for
from tests.calendars.helpers import attendee_emails, only_event, parse

ORGANIZER = Person("noreply@flevoland.example", "Provincie Flevoland")
PEOPLE = (Person("anna@example.nl", "Anna, Learner"), Person("carla@example.nl", "Carla; Coach"))


def _event(sequence: int, hour: int = 10, **extra) -> CalendarEvent:
    starts = datetime(2027, 3, 12, hour, 30, tzinfo=timezone(timedelta(hours=1)))
    return CalendarEvent(
        uid=uid_for("step", "0d4c", "9a1f"),
        sequence=sequence,
        summary="Intakegesprek · Anna",
        starts=starts,
        ends=starts + timedelta(hours=1),
        location="Kamer 3, Lelystad",
        video_url="https://meet.example/abc",
        page_url="https://samenleren.example/flevoland/x",
        attendees=PEOPLE,
        **extra,
    )


@pytest.mark.parametrize("method", list(Method))
def test_every_method_parses_with_the_required_fields(method):
    text = build_calendar(method, [_event(0)], organizer=ORGANIZER)
    assert "\r\n" in text
    calendar = parse(text)
    assert calendar["METHOD"] == method.value
    event = only_event(calendar)
    assert attendee_emails(event) == {"anna@example.nl", "carla@example.nl"}
    assert event["ORGANIZER"].params["CN"] == "Provincie Flevoland"
    assert event.decoded("DTSTART") == datetime(2027, 3, 12, 9, 30, tzinfo=UTC)
    assert "DTSTART:20270312T093000Z" in text  # UTC, no VTIMEZONE
    assert str(event["STATUS"]) == ("CANCELLED" if method is Method.CANCEL else "CONFIRMED")


def test_update_and_cancel_share_the_uid_with_a_higher_sequence():
    invitation = only_event(parse(build_calendar(Method.REQUEST, [_event(0)], organizer=ORGANIZER)))
    update = only_event(
        parse(build_calendar(Method.REQUEST, [_event(1, hour=14)], organizer=ORGANIZER))
    )
    cancel = only_event(parse(build_calendar(Method.CANCEL, [_event(2)], organizer=ORGANIZER)))
    assert invitation["UID"] == update["UID"] == cancel["UID"]
    assert int(invitation["SEQUENCE"]) < int(update["SEQUENCE"]) < int(cancel["SEQUENCE"])


def test_commas_and_semicolons_survive_and_whole_days_are_dates():
    day = CalendarEvent(
        uid="coachday-1-2@samenleren",
        sequence=0,
        summary="Leercoachdag; voorjaar, 2027",
        starts=date(2027, 4, 1),
        ends=date(2027, 4, 1),
        attendees=(PEOPLE[0],),
    )
    calendar = parse(
        build_calendar(Method.PUBLISH, [day, _event(0)], organizer=ORGANIZER, name="Mijn agenda")
    )
    first = calendar.walk("VEVENT")[0]
    assert str(first["SUMMARY"]) == "Leercoachdag; voorjaar, 2027"
    assert first.decoded("DTSTART") == date(2027, 4, 1)
    assert first.decoded("DTEND") == date(2027, 4, 2)
    second = calendar.walk("VEVENT")[1]
    assert str(second["LOCATION"]) == "Kamer 3, Lelystad"
    assert second["ATTENDEE"][0].params["CN"] == "Anna, Learner"
    assert str(calendar["X-WR-CALNAME"]) == "Mijn agenda"
