"""Reading the audit log: filters, the programme admin's page and the CSV export.

Events are written by `audit.services.record`; this face only reads them, with names of the
users and trajectories they are about.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from flask_babel import get_locale, gettext
from sqlalchemy import Select, String, Uuid, cast, literal, select, union_all

from samenleren.audit.chain import canonical_moment, genesis_hash
from samenleren.audit.events import (
    REFUSAL_REASONS,
    ROLE_LABELS,
    ROLE_SOURCES,
    AuditAction,
    action_label,
)
from samenleren.audit.models import AuditEvent
from samenleren.audit_log.sentences import Names, actor_text, sentence, subject_text
from samenleren.catalogue.models import Edition, Training
from samenleren.core.errors_input import InvalidInput
from samenleren.core.extensions import db
from samenleren.core.formatting import LOCAL_ZONE
from samenleren.core.spreadsheets import neutralise
from samenleren.core.tenancy import current_tenant
from samenleren.core.terminology import ROLE_TERMS, role_term
from samenleren.identity.models import User
from samenleren.process_templates.models import ProcessTemplate
from samenleren.trajectories.models import Trajectory

PAGE_SIZE = 50
#: Events read (and named) at a time by the export.
EXPORT_BATCH = 500
#: Beyond this page, narrow the period (an OFFSET this deep is slow, and nobody reads it).
MAX_PAGE = 2_000


# --- filters ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventFilter:
    """What the admin asked for: one action (or all), and a period of whole days (inclusive)."""

    action: str = ""
    start: date | None = None
    end: date | None = None

    def query_args(self) -> dict[str, str]:
        """The filter as URL arguments (for the export link and the page links)."""
        args = {"action": self.action}
        args["from"] = self.start.isoformat() if self.start else ""
        args["to"] = self.end.isoformat() if self.end else ""
        return {key: value for key, value in args.items() if value}

    def as_details(self) -> dict[str, str]:
        return self.query_args()


def _parse_day(raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValueError(gettext("Give a date as year-month-day, e.g. 2026-03-31.")) from None


def parse_filter(args: Mapping[str, str]) -> EventFilter:
    """The filter from the page's URL arguments (`action`, `from`, `to`), or `InvalidInput`."""
    errors: dict[str, str] = {}
    action = (args.get("action") or "").strip()
    if action and action not in {a.value for a in AuditAction}:
        errors["action"] = gettext("Choose an action from the list.")
    days: dict[str, date | None] = {"from": None, "to": None}
    for name in days:
        raw = (args.get(name) or "").strip()
        if raw:
            try:
                days[name] = _parse_day(raw)
            except ValueError as error:
                errors[name] = str(error)
    start, end = days["from"], days["to"]
    if start and end and start > end:
        errors["to"] = gettext("The end date is before the start date.")
    if errors:
        raise InvalidInput(errors)
    return EventFilter(action=action, start=start, end=end)


def parse_page(raw: str | None) -> int:
    """`?page=`: a page number from 1; anything else is the first page."""
    try:
        page = int(raw or "1")
    except ValueError:
        return 1
    return min(max(page, 1), MAX_PAGE)


_EARLIEST = date(1900, 1, 1)
_LATEST = date(9000, 1, 1)


def _local_midnight(day: date) -> datetime:
    """Midnight at the start of `day` in Dutch time, as UTC: the period is in Dutch days."""
    return datetime.combine(day, time.min, tzinfo=LOCAL_ZONE).astimezone(UTC)


def _filtered(event_filter: EventFilter) -> Select:
    query = select(AuditEvent)
    if event_filter.action:
        query = query.where(AuditEvent.action == event_filter.action)
    # Dates far outside the log's lifetime (year 1, year 9999) mean "no bound": the arithmetic
    # on them would overflow.
    if event_filter.start and event_filter.start > _EARLIEST:
        query = query.where(AuditEvent.occurred_at >= _local_midnight(event_filter.start))
    if event_filter.end and event_filter.end < _LATEST:
        next_day = event_filter.end + timedelta(days=1)
        query = query.where(AuditEvent.occurred_at < _local_midnight(next_day))
    # Newest first; the id breaks ties, so pages never overlap or skip an event.
    return query.order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())


# --- the page -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventRow:
    event: AuditEvent
    #: "Femke van Geffen published version 2 of the template 'Flevoland model'".
    sentence: str
    #: The trajectory to link to, when the event is about one.
    trajectory_id: uuid.UUID | None
    details: list[tuple[str, str]]


@dataclass(frozen=True)
class EventPage:
    rows: list[EventRow]
    page: int
    has_next: bool


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except (TypeError, ValueError):
        return None


def _name_queries(events: list[AuditEvent]) -> list[Select]:
    """One SELECT (kind, id, key, name) per kind of thing the events name."""
    ids: dict[str, set[uuid.UUID]] = {}
    for event in events:
        key = _uuid(event.subject_id)
        if key is not None:
            ids.setdefault(event.subject_type, set()).add(key)
    keys = {str(e.details["template"]) for e in events if (e.details or {}).get("template")}
    no_key = literal(None, String)
    no_id = literal(None, Uuid)
    parts: list[Select] = []
    if ids.get("user"):
        parts.append(
            select(literal("user"), User.id, no_key, User.name).where(User.id.in_(ids["user"]))
        )
    if ids.get("trajectory"):
        parts.append(
            select(literal("trajectory"), Trajectory.id, no_key, User.name)
            .join(User, User.id == Trajectory.learner_id)
            .where(Trajectory.id.in_(ids["trajectory"]))
        )
    if ids.get("edition"):
        parts.append(
            select(literal("edition"), Edition.id, no_key, Training.title + " — " + Edition.name)
            .join(Training, Training.id == Edition.training_id)
            .where(Edition.id.in_(ids["edition"]))
        )
    if keys:
        parts.append(
            select(
                literal("template"), no_id, ProcessTemplate.key, cast(ProcessTemplate.name, String)
            ).where(ProcessTemplate.key.in_(keys))
        )
    return parts


def resolve_names(events: list[AuditEvent]) -> Names:
    """The names of everything `events` are about: one query, however many events and kinds."""
    names = Names()
    tenant = current_tenant()
    if tenant is not None:
        names.subjects["tenant"] = {str(tenant.id): tenant.name}
    parts = _name_queries(events)
    if not parts:
        return names
    statement = parts[0] if len(parts) == 1 else union_all(*parts)
    locale = str(get_locale() or "nl")
    for kind, row_id, key, name in db.session.execute(statement).all():
        if kind == "template":
            try:
                texts = json.loads(str(name))
            except ValueError:
                texts = {}
            if not isinstance(texts, dict):
                texts = {}
            names.templates[str(key)] = str(texts.get(locale) or texts.get("nl") or key)
        else:
            names.subjects.setdefault(str(kind), {})[str(row_id)] = str(name)
    return names


#: Details kept for the export (ids) that the page does not show: it shows the names instead.
HIDDEN_DETAILS = (
    "coach",
    "previous_coach",
    "coach_name",  # in the sentence
    "entry",
    "feed",
    "template",  # in the sentence, by name
    "number",
    "from_number",
)


def describe_details(event: AuditEvent) -> list[tuple[str, str]]:
    """The event's details as (label, value) pairs in the reader's language."""
    details = dict(event.details or {})
    shown: list[tuple[str, str]] = []
    reason = details.pop("reason", None)
    if reason is not None:
        shown.append((gettext("Reason"), str(REFUSAL_REASONS.get(reason, reason))))
    role = details.pop("role", None)
    if role is not None:
        shown.append((gettext("Role"), _role_label(role)))
    source = details.pop("source", None)
    if source is not None:
        shown.append((gettext("Source"), str(ROLE_SOURCES.get(source, source))))
    step = details.pop("step", None)
    if step is not None:
        shown.append((gettext("Step"), str(step)))
    subject = details.pop("subject", None)
    if subject is not None:
        shown.append((gettext("Subject at the identity provider"), str(subject)))
    previous = details.pop("previous_coach_name", None)
    if previous is not None:
        shown.append((gettext("Previous learning coach"), str(previous)))
    for key in HIDDEN_DETAILS:  # ids: in the export, not on the page
        details.pop(key, None)
    for key, value in sorted(details.items()):
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        shown.append((str(key), text))
    return shown


def _rows(events: list[AuditEvent]) -> list[EventRow]:
    names = resolve_names(events)
    rows = []
    for event in events:
        is_trajectory = event.subject_type == "trajectory"
        known = names.subject(event.subject_type, event.subject_id) is not None
        rows.append(
            EventRow(
                event=event,
                sentence=sentence(event, names),
                trajectory_id=_uuid(event.subject_id) if is_trajectory and known else None,
                details=describe_details(event),
            )
        )
    return rows


def event_page(event_filter: EventFilter, page: int) -> EventPage:
    """One page of the current tenant's events, newest first (3 queries at most)."""
    query = _filtered(event_filter).limit(PAGE_SIZE + 1).offset((page - 1) * PAGE_SIZE)
    events = list(db.session.scalars(query))
    return EventPage(rows=_rows(events[:PAGE_SIZE]), page=page, has_next=len(events) > PAGE_SIZE)


# --- the export ---------------------------------------------------------------------------------


def _csv_line(cells: list[object]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow([neutralise(cell) for cell in cells])
    return buffer.getvalue()


def export_lines(event_filter: EventFilter) -> Iterator[str]:
    """The filtered events as CSV lines (with a header), read in batches; nothing is dropped."""
    yield "\ufeff"  # byte order mark: spreadsheet programs then read the file as UTF-8
    yield _csv_line(
        [
            gettext("Moment"),
            gettext("What happened"),
            gettext("Action"),
            gettext("By"),
            gettext("About"),
            gettext("Action code"),
            gettext("By (id)"),
            gettext("About (type)"),
            gettext("About (id)"),
            gettext("Details"),
            gettext("IP address"),
            gettext("Result"),
            gettext("Browser (User-Agent)"),
            gettext("Place in the chain"),
            gettext("Hash"),
        ]
    )
    query = _filtered(event_filter).execution_options(yield_per=EXPORT_BATCH)
    for batch in db.session.scalars(query).partitions():
        names = resolve_names(list(batch))  # one query per batch of events
        for event in batch:
            moment = event.occurred_at
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            has_subject = event.subject_type or event.subject_id
            yield _csv_line(
                [
                    moment.astimezone(LOCAL_ZONE).isoformat(timespec="seconds"),
                    sentence(event, names),
                    action_label(event.action),
                    actor_text(event),
                    subject_text(event, names) if has_subject else "",
                    event.action,
                    event.actor_id or "",
                    event.subject_type,
                    event.subject_id,
                    json.dumps(event.details or {}, ensure_ascii=False, sort_keys=True),
                    event.ip_address,
                    event.result,
                    event.user_agent,
                    event.sequence if event.sequence is not None else "",
                    event.entry_hash or "",
                ]
            )


def export_json_chunks(event_filter: EventFilter, tenant_id: uuid.UUID) -> Iterator[str]:
    """The filtered events as one JSON document, in the order of the chain, for the CISO.

    Every column is there as stored, so the chain can be recomputed outside the platform: an
    event's `entry_hash` is the SHA-256 of the canonical JSON (sorted keys, no spaces, UTF-8) of
    all its other fields, with `occurred_at` as written here; the first event's
    `previous_hash` is the tenant's `genesis_hash`.
    """
    header = {
        "schema": "samenleren.audit/1",
        "genesis_hash": genesis_hash(tenant_id),
        "hash": "sha256 over canonical JSON of every field but entry_hash",
        "filter": event_filter.as_details(),
    }
    opening = json.dumps(header, ensure_ascii=False, sort_keys=True)[:-1]
    yield opening + ', "events": ['
    query = (
        _filtered(event_filter)
        .order_by(None)
        .order_by(AuditEvent.sequence.asc().nulls_last(), AuditEvent.id)
        .execution_options(yield_per=500)
    )
    separator = "\n"
    for event in db.session.scalars(query):
        entry = {
            "tenant_id": str(event.tenant_id),
            "id": str(event.id),
            "sequence": event.sequence,
            "previous_hash": event.previous_hash,
            "entry_hash": event.entry_hash,
            "occurred_at": canonical_moment(event.occurred_at),
            "action": event.action,
            "result": event.result,
            "actor_id": str(event.actor_id) if event.actor_id is not None else None,
            "actor_label": event.actor_label,
            "subject_type": event.subject_type,
            "subject_id": event.subject_id,
            "details": event.details or {},
            "ip_address": event.ip_address,
            "user_agent": event.user_agent,
        }
        yield separator + json.dumps(entry, ensure_ascii=False, sort_keys=True)
        separator = ",\n"
    yield "\n]}\n"


def _role_label(role: str) -> str:
    """The role in the tenant's own words (tenants.terminology); an unknown one as stored."""
    return role_term(role) if role in ROLE_TERMS.values() else str(ROLE_LABELS.get(role, role))
