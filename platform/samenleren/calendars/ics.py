"""RFC 5545 calendar files: invitations, cancellations, downloads and feeds (`icalendar`).

Pure functions: they know nothing about the database; `samenleren.calendars.events` turns
steps and group meetings into `CalendarEvent`s, `samenleren.calendars.feeds` training sessions and
coach days.

Decisions that make Outlook and Google treat a mail as a meeting (and not as an attachment):

* `METHOD` on the calendar (REQUEST for an invitation or an update, CANCEL for a cancellation,
  PUBLISH for a download or a feed) and, in the mail, the same text as a
  `text/calendar; method=...` part (the outbox does that, see `notify(attachments=...)`).
* A stable `UID` per appointment (`uid_for`): derived from the tenant and the step instance or
  group meeting id, never from the time, so an update and a cancel replace the earlier event.
  `SEQUENCE` is stored with the step or meeting and goes up with every change.
* `ORGANIZER` is the tenant's sender address (CN: the tenant's name); every `ATTENDEE` has a CN,
  `ROLE=REQ-PARTICIPANT`, `PARTSTAT=NEEDS-ACTION` and `RSVP=TRUE`.
* **Times are written in UTC** (`DTSTART:20270312T083000Z`), not with a `VTIMEZONE`. Every
  calendar converts UTC to the reader's zone correctly, while a hand-made `VTIMEZONE` for
  Europe/Amsterdam is a known source of trouble (Outlook matches it against Windows zone names
  and shifts events when its rules differ from the ones it knows). Our appointments do not
  repeat, so nothing depends on the zone's daylight-saving rules. Whole days (coach days) are
  `VALUE=DATE`.

Never put recorded values (field values, notes) into an event: only the step's name, the
learner's name, time, place, video link and the link to the page in the application.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from icalendar import Calendar, Event, vCalAddress, vText

PRODID = "-//Samen Leren//Calendar 1.0//NL"


class Method(enum.StrEnum):
    REQUEST = "REQUEST"
    CANCEL = "CANCEL"
    PUBLISH = "PUBLISH"


@dataclass(frozen=True)
class Person:
    email: str
    name: str


@dataclass(frozen=True)
class CalendarEvent:
    uid: str
    sequence: int
    summary: str
    #: An aware datetime (written in UTC), or a date for a whole day.
    starts: datetime | date
    ends: datetime | date
    location: str = ""
    video_url: str = ""
    #: The page in the application (into the description).
    page_url: str = ""
    #: Extra lines for the description (no confidential content).
    notes: str = ""
    attendees: tuple[Person, ...] = field(default_factory=tuple)
    cancelled: bool = False


def uid_for(kind: str, object_id: uuid.UUID | str, tenant_id: uuid.UUID | str) -> str:
    """The event's UID: the same for an appointment for ever (`kind`: step, meeting, ...)."""
    return f"{kind}-{object_id}-{tenant_id}@samenleren"


def _moment(value: datetime | date) -> datetime | date:
    if isinstance(value, datetime):
        if value.tzinfo is None:  # stored moments are UTC (core.db.UTCDateTime)
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
    return value


def _address(person: Person, *, attendee: bool) -> vCalAddress:
    if attendee:
        return vCalAddress.new(
            person.email,
            cn=person.name,
            cutype="INDIVIDUAL",
            role="REQ-PARTICIPANT",
            partstat="NEEDS-ACTION",
            rsvp=True,
        )
    return vCalAddress.new(person.email, cn=person.name)


def _description(event: CalendarEvent) -> str:
    lines = []
    if event.notes:
        lines.append(event.notes)
    if event.video_url:
        lines.append(event.video_url)
    if event.page_url:
        lines.append(event.page_url)
    return "\n\n".join(lines)


def _event(
    event: CalendarEvent, method: Method, organizer: Person | None, stamp: datetime
) -> Event:
    component = Event()
    component.add("uid", event.uid)
    component.add("sequence", event.sequence)
    component.add("dtstamp", stamp)
    starts, ends = _moment(event.starts), _moment(event.ends)
    if not isinstance(starts, datetime) and ends <= starts:
        ends = starts + timedelta(days=1)
    component.add("dtstart", starts)
    component.add("dtend", ends)
    component.add("summary", event.summary)
    location = event.location or event.video_url
    if location:
        component.add("location", location)
    if event.video_url:
        component.add("url", event.video_url)
    description = _description(event)
    if description:
        component.add("description", description)
    if organizer is not None:
        component.add("organizer", _address(organizer, attendee=False))
    for person in event.attendees:
        component.add("attendee", _address(person, attendee=True))
    cancelled = event.cancelled or method is Method.CANCEL
    component.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    component.add("transp", "TRANSPARENT" if cancelled else "OPAQUE")
    if method is Method.REQUEST:
        component.add("x-microsoft-cdo-busystatus", "BUSY")
    return component


def build_calendar(
    method: Method,
    events: Sequence[CalendarEvent],
    *,
    organizer: Person | None,
    name: str = "",
    stamp: datetime | None = None,
) -> str:
    """The text of a VCALENDAR with `events` (CRLF line ends, folded, as RFC 5545 wants)."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method.value)
    if name:
        calendar.add("x-wr-calname", vText(name))
    if method is Method.PUBLISH:
        # How often a subscribed calendar should look again (a hint; Google ignores it).
        calendar.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
        calendar.add("x-published-ttl", "PT1H")
    when = (stamp or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    for event in events:
        calendar.add_component(_event(event, method, organizer, when))
    return calendar.to_ical().decode("utf-8")
