"""Shared helpers of the calendar tests."""

from __future__ import annotations

from email.message import EmailMessage

import icalendar
from flask import Flask

REQUIRED = ("UID", "SEQUENCE", "DTSTART", "DTSTAMP", "ORGANIZER", "ATTENDEE")


def parse(text: str | bytes) -> icalendar.Calendar:
    """Parse an .ics with icalendar and check what every file of ours must carry."""
    calendar = icalendar.Calendar.from_ical(text)
    assert calendar["VERSION"] == "2.0"
    assert calendar["PRODID"]
    assert calendar["METHOD"] in {"REQUEST", "CANCEL", "PUBLISH"}
    events = calendar.walk("VEVENT")
    assert events, "a calendar without events"
    for event in events:
        for name in REQUIRED:
            assert name in event, f"{name} missing in {event.to_ical().decode()}"
    return calendar


def only_event(calendar: icalendar.Calendar) -> icalendar.Event:
    events = calendar.walk("VEVENT")
    assert len(events) == 1
    return events[0]


def attendee_emails(event: icalendar.Event) -> set[str]:
    value = event.get("ATTENDEE")
    values = value if isinstance(value, list) else [value]
    return {str(v).removeprefix("mailto:").lower() for v in values if v is not None}


def calendar_parts(message: EmailMessage) -> list[EmailMessage]:
    return [part for part in message.walk() if part.get_content_type() == "text/calendar"]


def meeting_part(message: EmailMessage) -> EmailMessage:
    """The `text/calendar; method=...` alternative part that makes a mail a meeting."""
    parts = [
        part
        for part in calendar_parts(message)
        if part.get_param("method") and part.get_content_disposition() != "attachment"
    ]
    assert len(parts) == 1, [p.as_string()[:300] for p in calendar_parts(message)]
    return parts[0]


def sent_mails(app: Flask, sink, count: int) -> list[EmailMessage]:
    """Run the queued jobs (the outbox sender) and wait for `count` mails at the sink."""
    from samenleren.core.jobs.runtime import run_pending_jobs

    run_pending_jobs(app)
    sink.wait_for(count)
    return list(sink.messages)


def recipient(message: EmailMessage) -> str:
    return message["To"].addresses[0].addr_spec.lower()
