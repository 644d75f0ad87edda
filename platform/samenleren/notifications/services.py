"""The outbox: `notify()` writes a row; `send_due()` claims due rows and mails them.

Delivery guarantees (quality.md: nothing lost, nothing sent twice):

* A notification is a row before it is anything else; `notify()` is idempotent on its `key`.
* A sender **claims** due rows in one short transaction - `SELECT ... FOR UPDATE SKIP LOCKED`
  then `state='sending', claimed_until=now+lease, attempts+1` - so two workers never take the
  same row. Each row is then rendered, sent, and marked `sent` in **its own commit**.
* A worker that dies (SIGKILL, lost node) leaves its claimed rows `sending`; once the lease runs
  out any sender takes them again. A failed send goes back to `pending` with backoff, and after
  MAX_ATTEMPTS to `failed` (kept, and retryable with `retry_failed`). Nothing is ever deleted.
* THE ONE UNAVOIDABLE WINDOW: between the SMTP server accepting a message (250 after DATA) and
  the commit that marks the row `sent`. A crash exactly there sends that one mail again after the
  lease. The send loop overlaps work (see `send_due`) but never hands the server a message before
  the previous accepted one is committed, so this holds for at most ONE mail at any moment
  (tests/notifications/test_sending.py checks it at every DATA). The Message-ID is stable
  (derived from tenant and key), so receiving systems that de-duplicate on it drop the copy.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import itertools
import logging
import secrets
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import format_datetime, formataddr, parseaddr
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import force_locale, get_translations
from jinja2 import pass_context
from markupsafe import Markup
from sqlalchemy import select, text, update
from sqlalchemy.exc import IntegrityError

from samenleren.core.config import LANGUAGES
from samenleren.core.db import as_utc, utcnow
from samenleren.core.extensions import db
from samenleren.core.jobs.runtime import enqueue, pending_jobs
from samenleren.core.tenancy import current_tenant, current_tenant_id
from samenleren.identity.models import User
from samenleren.notifications import kinds, staleness
from samenleren.notifications.models import (
    Notification,
    NotificationKind,
    NotificationMode,
    NotificationState,
)

log = logging.getLogger(__name__)

#: Attempts before a notification is given up (state `failed`, kept, retryable).
MAX_ATTEMPTS = 5
#: Wait before attempt n+1 after n failed attempts (the last value repeats).
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2))


def message_id_for(tenant_id: uuid.UUID, key: str) -> str:
    """Stable per (tenant, key): every attempt to send the same notification carries it."""
    digest = hashlib.sha256(f"{tenant_id}:{key}".encode()).hexdigest()[:40]
    host = urlsplit(current_app.config["SAMENLEREN_BASE_URL"]).hostname or "samenleren.invalid"
    return f"<{digest}@{host}>"


def notify(
    recipient: User,
    kind: NotificationKind,
    *,
    key: str,
    due_at: datetime | None = None,
    context: dict | None = None,
    attachments: list[dict] | None = None,
) -> Notification:
    """Put a mail to `recipient` in the outbox (idempotent on `key` within the tenant).

    `context`: JSON values for the mail templates; a dict keyed by language codes
    ({"nl": ..., "en": ...}) is shown in the recipient's language; `due_on` (ISO date) becomes
    `due`; `path` (e.g. "/flevoland/trajectories/<id>") becomes the absolute `link`.
    `attachments`: [{"filename", "content_type", "method"?, "text"}]; a text/calendar one with a
    `method` also becomes a `text/calendar; method=...` alternative part (a meeting in Outlook).
    The mail goes out after the current transaction commits (once due).
    """
    existing = db.session.scalars(select(Notification).where(Notification.key == key)).first()
    if existing is not None:
        return existing
    tenant = current_tenant()
    assert tenant is not None, "notify() needs a tenant in context"
    spec = kinds.spec(kind)
    note = Notification(
        recipient_id=recipient.id,
        kind=str(kind),
        key=key,
        due_at=due_at or utcnow(),
        state=NotificationState.PENDING,
        digest=spec.digestible and recipient.notification_mode == NotificationMode.DIGEST,
        attempts=0,
        last_error="",
        context=context or {},
        attachments=attachments or [],
        message_id=message_id_for(tenant.id, key),
    )
    try:
        with db.session.begin_nested():
            db.session.add(note)
    except IntegrityError:  # the same key, written at the same moment by someone else
        return db.session.scalars(select(Notification).where(Notification.key == key)).one()
    if not note.digest and as_utc(note.due_at) <= utcnow() + timedelta(seconds=5):
        schedule_send()
    return note


def cancel(key: str) -> bool:
    """Cancel a notification that has not gone out yet; True when one was cancelled."""
    result = db.session.execute(
        update(Notification)
        .where(
            Notification.key == key,
            Notification.state.in_([NotificationState.PENDING, NotificationState.FAILED]),
        )
        .values(state=NotificationState.CANCELLED, claimed_until=None)
    )
    return bool(result.rowcount)


#: The job that sends the outbox (`notifications.jobs.send_due`), enqueued by its registered name.
SEND_DUE_JOB = "samenleren.notifications.jobs.send_due"


def schedule_send() -> None:
    """Send the current tenant's due mails right after this transaction commits (once)."""
    tenant_id = current_tenant_id()
    if tenant_id is None:
        return
    if any(
        payload["job"] == SEND_DUE_JOB and payload["tenant_id"] == str(tenant_id)
        for payload in pending_jobs()
    ):
        return
    enqueue(SEND_DUE_JOB, tenant_id=tenant_id)


def retry_failed(ids: Iterable[uuid.UUID] | None = None) -> int:
    """Give failed notifications (all, or `ids`) a new round of attempts."""
    query = update(Notification).where(Notification.state == NotificationState.FAILED)
    if ids is not None:
        query = query.where(Notification.id.in_(list(ids)))
    result = db.session.execute(
        query.values(state=NotificationState.PENDING, attempts=0, due_at=utcnow())
    )
    schedule_send()
    return result.rowcount


# --- sending ------------------------------------------------------------------------------------


@dataclass
class Outgoing:
    """What one mail needs, copied out of the session (commits expire ORM objects)."""

    id: uuid.UUID
    kind: str
    key: str
    message_id: str
    attempts: int
    context: dict
    attachments: list
    to_name: str
    to_email: str | None
    locale: str


@dataclass(frozen=True)
class Sender:
    """The tenant as the mails show it."""

    name: str
    slug: str
    color: str
    mail_from: str
    default_locale: str


def sender_of_current_tenant() -> Sender:
    tenant = current_tenant()
    assert tenant is not None
    # The tenant's own sender (manifest `mail_from`) as given; else the platform's address
    # under the tenant's name, so that the recipient sees who is writing.
    display, address = parseaddr(tenant.mail_from or current_app.config["SAMENLEREN_MAIL_FROM"])
    if not tenant.mail_from or not display:
        display = tenant.name
    return Sender(
        name=tenant.name,
        slug=tenant.slug,
        color=tenant.theme_primary_color,
        mail_from=formataddr((display, address)),
        default_locale=tenant.default_locale,
    )


def claim_due(limit: int, now: datetime | None = None) -> list[Outgoing]:
    """Claim up to `limit` due rows of the current tenant for this worker (committed)."""
    now = now or utcnow()
    lease = timedelta(seconds=current_app.config["SAMENLEREN_MAIL_LEASE_SECONDS"])
    if db.session.get_bind().dialect.name == "postgresql":
        # The claim's commit does not wait for the WAL flush either (see _Marker): it is visible
        # to every other worker at once; only a crash of the database server itself could
        # forget it, together with every later mark, and that batch would be sent again.
        db.session.execute(text("SET LOCAL synchronous_commit TO off"))
    # Two locked SELECTs, each reading the index (tenant_id, state, due_at) in order and only as
    # far as it needs: first rows stranded in `sending` whose lease ran out (their worker died),
    # then due `pending` rows. (One SELECT with `pending ... OR sending ...` cannot use the
    # index's order: it read and sorted every due row for each batch - a quadratic sweep.)
    ids = list(
        db.session.scalars(
            select(Notification.id)
            .where(
                Notification.digest.is_(False),
                Notification.state == NotificationState.SENDING,
                Notification.claimed_until < now,
            )
            .order_by(Notification.due_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if len(ids) < limit:
        ids += db.session.scalars(
            select(Notification.id)
            .where(
                Notification.digest.is_(False),
                Notification.state == NotificationState.PENDING,
                Notification.due_at <= now,
            )
            .order_by(Notification.due_at)
            .limit(limit - len(ids))
            .with_for_update(skip_locked=True)
        )
    if not ids:
        db.session.commit()
        return []
    # The claim returns just the columns a mail needs; its recipients by primary key. (No ORM
    # objects, and no join whose plan depends on fresh statistics: a bulk of new reminders made
    # the planner loop over every user of the tenant for each batch.)
    claimed = db.session.execute(
        update(Notification)
        .where(Notification.id.in_(ids))
        .values(
            state=NotificationState.SENDING,
            claimed_until=now + lease,
            attempts=Notification.attempts + 1,
        )
        .returning(
            Notification.id,
            Notification.kind,
            Notification.key,
            Notification.message_id,
            Notification.attempts,
            Notification.context,
            Notification.attachments,
            Notification.recipient_id,
        )
        .execution_options(synchronize_session=False)
    ).all()
    people = {
        person.id: person
        for person in db.session.execute(
            select(User.id, User.name, User.email, User.active, User.locale).where(
                User.id.in_({row.recipient_id for row in claimed})
            )
        )
    }
    order = {note_id: position for position, note_id in enumerate(ids)}
    rows = sorted(claimed, key=lambda row: order[row.id])  # stranded first, then by due_at
    # Reminders whose step closed or vanished meanwhile are cancelled, not sent (staleness.py).
    stale = staleness.cancel_stale(rows)  # rows have the notification's .id and .context
    rows = [row for row in rows if row.id not in stale]
    default_locale = current_tenant().default_locale  # type: ignore[union-attr]
    batch = []
    for row in rows:
        person = people[row.recipient_id]
        batch.append(
            Outgoing(
                id=row.id,
                kind=row.kind,
                key=row.key,
                message_id=row.message_id,
                attempts=row.attempts,
                context=row.context,
                attachments=row.attachments,
                to_name=person.name,
                to_email=person.email if person.active else None,
                locale=person.locale if person.locale in LANGUAGES else default_locale,
            )
        )
    db.session.commit()
    return batch


def send_due(limit: int | None = None, now: datetime | None = None) -> int:
    """Send every notification of the current tenant due by `now`; returns how many went out.

    Pipelined without widening the window, in one thread. Mail k+1 is rendered while the SMTP
    server digests mail k (after its DATA, before its answer is read). Right after the server
    accepted mail k, the UPDATE marking it `sent` goes to the database (on the marker's own
    connection); while the database commits it, mail k+1's sender and recipient are given to
    the SMTP server, and DATA of k+1 waits until k's commit is confirmed. So at most one mail
    is ever accepted but unrecorded, exactly as without the overlap.
    """
    from samenleren.notifications.mailer import Mailer

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    batch_size = app.config["SAMENLEREN_MAIL_BATCH"]
    renderer = Renderer(sender_of_current_tenant())
    sent = 0
    with Mailer.for_app(app) as mailer, _Marker() as marker:
        while limit is None or sent < limit:
            batch = claim_due(batch_size if limit is None else min(batch_size, limit - sent), now)
            if not batch:
                break
            in_flight: Outgoing | None = None  # its DATA went out, the answer is not read yet
            for out in batch:
                data = _prepare(out, renderer, marker)  # while the server digests in_flight
                if in_flight is not None:
                    sent += _complete(in_flight, mailer, marker)
                    in_flight = None
                if data is not None and _start(out, data, renderer, mailer, marker):
                    in_flight = out
            if in_flight is not None:
                sent += _complete(in_flight, mailer, marker)
            marker.wait()
    return sent


def _prepare(out: Outgoing, renderer: Renderer, marker: _Marker) -> bytes | None:
    """The mail as it goes over the wire, rendered before any SMTP (nothing slow between the
    server's acceptance and the commit); None when it is not to be sent (recorded)."""
    if not out.to_email:
        marker.finish(out, NotificationState.CANCELLED, "no active e-mail address")
        return None
    try:
        return renderer.wire(out)
    except Exception as exc:  # a template error: retrying will not help, but keep the row
        log.exception("notification %s (%s) could not be rendered", out.id, out.kind)
        marker.finish(out, NotificationState.FAILED, f"render: {exc}")
        return None


def _start(out: Outgoing, data: bytes, renderer: Renderer, mailer: Any, marker: _Marker) -> bool:
    from samenleren.notifications.mailer import TRANSIENT

    try:
        mailer.start(
            data,
            envelope_from=renderer.envelope_from,
            recipient=out.to_email,
            message_id=out.message_id,
            after_mail=marker.flush,  # the previous mail's mark goes out meanwhile...
            before_data=marker.wait,  # ...and is committed before this one's DATA
        )
    except TRANSIENT as exc:
        marker.failed_attempt(out, exc)
        return False
    return True


def _complete(out: Outgoing, mailer: Any, marker: _Marker) -> int:
    from samenleren.notifications.mailer import TRANSIENT

    try:
        mailer.finish()
    except TRANSIENT as exc:
        marker.failed_attempt(out, exc)
        return 0
    # --- THE WINDOW: the server has the message, its commit is not done yet ---
    marker.sent(out)
    return 1


class _Marker:
    """Records each outcome in its own commit, in one round trip, overlapped with the next mail.

    A dedicated connection in autocommit mode: one UPDATE is one transaction, so marking a mail
    sent costs a single round trip instead of BEGIN, the RLS setting, UPDATE and COMMIT through
    the session. On PostgreSQL the UPDATE is a prepared statement sent without waiting for its
    answer (libpq's asynchronous API through `psycopg.pq`); `wait()` collects the answer and
    raises if it failed. Every `finish`/`failed_attempt` first waits for the previous one, so at
    most one outcome is ever in flight. The tenant is set for the connection's session
    (row-level security still applies to every UPDATE) and commits do not wait for the WAL flush
    (`synchronous_commit = off`): the row is committed and visible at once, and a killed
    *worker* loses nothing; only a crash of the *database server* within ~0.2 s could forget a
    mark, which would resend that mail (same Message-ID). The connection is closed, never
    returned to the pool, so its session settings cannot leak into a request. Other databases
    (SQLite for `make run`): the same UPDATE, synchronously.
    """

    _STATEMENT = b"samenleren_outbox_mark"
    _SQL = (
        b"UPDATE notifications SET state = $3, claimed_until = NULL,"
        b" sent_at = COALESCE($4::timestamptz, sent_at),"
        b" last_error = COALESCE($5::text, last_error),"
        b" due_at = COALESCE($6::timestamptz, due_at)"
        b" WHERE tenant_id = $1::uuid AND id = $2::uuid AND (state = 'sending') IS TRUE"
    )
    # `(state = 'sending') IS TRUE`: the same condition, but one the planner cannot take from
    # the (tenant_id, state, due_at) index. With `sending` rare in the statistics it otherwise
    # picks that index and reads every claimed row for each mark instead of the primary key.

    def __enter__(self) -> _Marker:
        tenant_id = current_tenant_id()
        assert tenant_id is not None
        self.tenant_id = tenant_id
        self.connection = db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        self._libpq: Any = None
        self._in_flight = False
        self._deferred: tuple[Outgoing, datetime] | None = None
        if self.connection.dialect.name == "postgresql":
            self.connection.execute(
                text("SELECT set_config('app.tenant_id', :t, false)"), {"t": str(tenant_id)}
            )
            self.connection.execute(text("SET synchronous_commit TO off"))
            driver = self.connection.connection.driver_connection
            if hasattr(driver, "pgconn"):  # psycopg 3
                self._libpq = driver.pgconn
                self._check(self._libpq.prepare(self._STATEMENT, self._SQL))
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.wait()  # an accepted mail's mark still in flight: confirm it if at all possible
        except Exception:
            log.exception("the outbox could not confirm the last mark")
        finally:
            self.connection.invalidate()  # closed for good: the session settings die with it
            self.connection.close()

    @staticmethod
    def _check(result: Any) -> None:
        from psycopg import pq

        if result.status != pq.ExecStatus.COMMAND_OK:
            raise RuntimeError(
                f"outbox mark failed: {result.error_message.decode(errors='replace')}"
            )

    def sent(self, out: Outgoing) -> None:
        """The server accepted `out`. Its UPDATE goes out with the next `flush` - the outbox
        calls it right after the next mail's MAIL command, so that the database and the SMTP
        server work at the same time - or at the latest with the next `wait` (before that
        mail's DATA) or any other outcome."""
        self.wait()
        self._deferred = (out, utcnow())

    def flush(self) -> None:
        """Send the deferred `sent` mark, if any (without waiting for its answer)."""
        if self._deferred is not None:
            out, sent_at = self._deferred
            self._deferred = None
            self._dispatch(out, NotificationState.SENT, sent_at=sent_at)

    def wait(self) -> None:
        """Until the database confirmed every outcome given so far (raises if one failed)."""
        self.flush()
        self._wait_in_flight()

    def _wait_in_flight(self) -> None:
        if not self._in_flight:
            return
        self._in_flight = False
        results = []
        while (result := self._libpq.get_result()) is not None:
            results.append(result)
        for result in results:
            self._check(result)

    def _update(self, out: Outgoing, state: NotificationState, **values: Any) -> None:
        self.flush()
        self._dispatch(out, state, **values)

    def _dispatch(
        self,
        out: Outgoing,
        state: NotificationState,
        *,
        sent_at: datetime | None = None,
        error: str | None = None,
        due_at: datetime | None = None,
    ) -> None:
        self._wait_in_flight()  # one outcome in flight at a time
        if self._libpq is not None:
            self._libpq.send_query_prepared(
                self._STATEMENT,
                [
                    str(self.tenant_id).encode(),
                    str(out.id).encode(),
                    state.value.encode(),
                    sent_at.isoformat().encode() if sent_at else None,
                    error.encode() if error is not None else None,
                    due_at.isoformat().encode() if due_at else None,
                ],
            )
            self._libpq.flush()
            self._in_flight = True
            return
        values: dict[str, Any] = {"state": state.value, "claimed_until": None}
        if sent_at is not None:
            values["sent_at"] = sent_at
        if error is not None:
            values["last_error"] = error
        if due_at is not None:
            values["due_at"] = due_at
        table = Notification.__table__
        self.connection.execute(
            update(table)
            .where(
                table.c.tenant_id == self.tenant_id,
                table.c.id == out.id,
                table.c.state == NotificationState.SENDING.value,
            )
            .values(**values)
        )

    def finish(self, out: Outgoing, state: NotificationState, error: str = "") -> None:
        self._update(
            out,
            state,
            sent_at=utcnow() if state is NotificationState.SENT else None,
            error=error[:2000] if error else None,
        )

    def failed_attempt(self, out: Outgoing, exc: BaseException) -> None:
        log.warning("notification %s: attempt %s failed: %s", out.id, out.attempts, exc)
        if out.attempts >= MAX_ATTEMPTS:
            self.finish(out, NotificationState.FAILED, str(exc))
            return
        wait = BACKOFF[min(out.attempts, len(BACKOFF)) - 1]
        self._update(out, NotificationState.PENDING, due_at=utcnow() + wait, error=str(exc)[:2000])


# --- rendering ----------------------------------------------------------------------------------


class _Lenient(dict):
    """Subject formatting: a placeholder the context lacks shows as empty, not as an error."""

    def __missing__(self, key: str) -> str:
        return ""


def localized(context: dict, locale: str, fallback: str) -> dict:
    """Values that are {language: text} dicts shown in `locale`; nested lists/dicts too."""

    def pick(value: Any) -> Any:
        if isinstance(value, dict):
            if value and set(value) <= set(LANGUAGES):
                return value.get(locale) or value.get(fallback) or next(iter(value.values()))
            return {k: pick(v) for k, v in value.items()}
        if isinstance(value, list):
            return [pick(v) for v in value]
        return value

    return pick(context)


_UTF8_QP = Charset("utf-8")
_UTF8_QP.body_encoding = QP


def _header(value: str) -> str | Header:
    return value if value.isascii() else Header(value, "utf-8")


def _address(name: str, address: str) -> str:
    return formataddr((name, address), charset="utf-8")


def render(out: Outgoing, sender: Sender) -> Message:
    """The mail of one notification: text and HTML (and calendar parts), in its language."""
    return Renderer(sender).message(out)


def _jinja_gettext(translations: Any) -> Callable[..., str]:
    """`_()` / `gettext()` in a template bound straight to one language's catalogue: what
    Jinja's i18n extension does with Flask-Babel's callables (newstyle: always %-formatted,
    Markup when autoescaping), minus Flask-Babel's catalogue lookup on every call."""

    @pass_context
    def gettext(__context: Any, __string: str, **variables: Any) -> str:
        value = translations.ugettext(__string)
        if __context.eval_ctx.autoescape:
            value = Markup(value)  # noqa: S704 - our own catalogue, as in Jinja's i18n
        return value % variables

    return gettext


def _jinja_ngettext(translations: Any) -> Callable[..., str]:
    @pass_context
    def ngettext(__context: Any, __singular: str, __plural: str, __num: int, **variables: Any):
        variables.setdefault("num", __num)
        value = translations.ungettext(__singular, __plural, __num)
        if __context.eval_ctx.autoescape:
            value = Markup(value)  # noqa: S704 - our own catalogue, as in Jinja's i18n
        return value % variables

    return ngettext


class Renderer:
    """Turns notifications of one tenant into mails; what repeats across a batch is done once.

    Per batch: the From header, the templates of each kind. Per language: `_()` bound to its
    catalogue (Flask-Babel's own `gettext` looks the catalogue up again on every call, ten times
    per mail) and the subject line's translation. Repeating values (long due dates, encoded
    subject lines, the Date header within a second) are cached. Each mail still renders inside
    `force_locale(recipient's language)`, so filters and lazy strings follow the recipient.
    """

    def __init__(self, sender: Sender) -> None:
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        self.sender = sender
        self.env = app.jinja_env
        self.base = app.config["SAMENLEREN_BASE_URL"].rstrip("/")
        display, self.envelope_from = parseaddr(sender.mail_from)
        self.from_line = _fold("From", _address(display, self.envelope_from))
        self._templates: dict[str, tuple[Any, Any]] = {}
        self._languages: dict[str, dict[str, Any]] = {}
        self._subjects: dict[tuple[str, str], str] = {}
        self._cache: dict[tuple[str, str], str] = {}
        self._date: tuple[int, str] = (0, "")
        self._boundary = f"=_{secrets.token_hex(10)}."
        self._count = itertools.count()

    def _cached(self, kind: str, value: str, make: Callable[[], str]) -> str:
        key = (kind, value)
        found = self._cache.get(key)
        if found is None:
            if len(self._cache) > 10_000:
                self._cache.clear()
            found = self._cache[key] = make()
        return found

    def bodies(self, out: Outgoing) -> tuple[str, str, str]:
        """(subject, text, html) of one notification, in its recipient's language."""
        from samenleren.core.formatting import show_date

        locale = out.locale
        with force_locale(locale):
            language = self._languages.get(locale)
            if language is None:
                translations = get_translations()
                language = self._languages[locale] = {
                    "gettext": _jinja_gettext(translations),
                    "ngettext": _jinja_ngettext(translations),
                }
            ctx = localized(out.context, locale, self.sender.default_locale)
            due_on = ctx.get("due_on")
            if isinstance(due_on, str):
                ctx["due"] = self._cached(
                    f"due:{locale}", due_on, lambda: show_date(date.fromisoformat(due_on), "long")
                )
            link = f"{self.base}{ctx['path']}" if ctx.get("path") else None
            subject_format = self._subjects.get((out.kind, locale))
            if subject_format is None:
                subject_format = str(kinds.spec(out.kind).subject)
                self._subjects[(out.kind, locale)] = subject_format
            subject = subject_format % _Lenient(ctx)
            templates = self._templates.get(out.kind)
            if templates is None:
                templates = self._templates[out.kind] = (
                    self.env.get_template(f"mail/{out.kind}.txt"),
                    self.env.get_template(f"mail/{out.kind}.html"),
                )
            variables = {
                "ctx": ctx,
                "tenant": self.sender,
                "recipient_name": out.to_name,
                "link": link,
                "subject": subject,
                "base_url": self.base,
                "locale": locale,
                "show_date": show_date,
                "as_date": date.fromisoformat,
                **language,
            }
            return subject, templates[0].render(variables), templates[1].render(variables)

    def message(self, out: Outgoing) -> Message:
        """The mail as an `email` message (the email package's MIME classes)."""
        subject, text, html = self.bodies(out)
        return build_message(
            subject=subject,
            sender=self.sender.mail_from,
            to=(out.to_name, out.to_email or ""),
            message_id=out.message_id,
            locale=out.locale,
            tenant_slug=self.sender.slug,
            text=text,
            html=html,
            attachments=out.attachments,
        )

    def wire(self, out: Outgoing) -> bytes:
        """The mail as it goes over SMTP (CRLF line ends, 7-bit, RFC 5322/2045).

        Mails with attachments (invitations) are built with the email package. The common
        case - multipart/alternative of text/plain (quoted-printable) and text/html (base64) -
        is written directly: the same structure and encodings, at a fraction of the cost of
        the email package's generator (header folding, boundary search)."""
        if out.attachments:
            return self.message(out).as_bytes(policy=_WIRE)
        subject, text, html = self.bodies(out)
        boundary = f"{self._boundary}{next(self._count)}"
        second = int(time.time())
        if self._date[0] != second:
            self._date = (second, format_datetime(utcnow()))
        head = "".join(
            (
                f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n'
                "MIME-Version: 1.0\r\n",
                self._cached("Subject", subject, lambda: _fold("Subject", subject)),
                self.from_line,
                _fold("To", _address(out.to_name, out.to_email or "")),
                f"Message-ID: {out.message_id}\r\n"
                f"Date: {self._date[1]}\r\n"
                f"Content-Language: {out.locale}\r\n"
                "Auto-Submitted: auto-generated\r\n"
                f"X-Samen-Leren-Tenant: {self.sender.slug}\r\n"
                f"\r\n--{boundary}\r\n"
                'Content-Type: text/plain; charset="utf-8"\r\n'
                "MIME-Version: 1.0\r\n"
                "Content-Transfer-Encoding: quoted-printable\r\n\r\n",
            )
        )
        middle = (
            f"\r\n--{boundary}\r\n"
            'Content-Type: text/html; charset="utf-8"\r\n'
            "MIME-Version: 1.0\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n"
        )
        return b"".join(
            (
                head.encode("ascii"),
                _quoted_printable(text),
                middle.encode("ascii"),
                base64.encodebytes(html.encode()).replace(b"\n", b"\r\n"),
                f"--{boundary}--\r\n".encode("ascii"),
            )
        )


#: How messages go over SMTP: the email package's classic policy with CRLF line ends.
_WIRE = compat32.clone(linesep="\r\n")


def _fold(name: str, value: str) -> str:
    """One header field, CRLF-terminated: as is when short and ASCII; else folded and
    RFC 2047-encoded exactly as the email package does it for a `Header`."""
    if value.isascii() and value.isprintable() and len(name) + len(value) < 76:
        return f"{name}: {value}\r\n"
    header = Header(value, None if value.isascii() else "utf-8", header_name=name)
    encoded = header.encode(linesep="\r\n")
    return f"{name}: {encoded}\r\n"


def _quoted_printable(text: str) -> bytes:
    """UTF-8 text as quoted-printable with CRLF line ends (binascii: soft breaks at 76)."""
    return binascii.b2a_qp(text.replace("\r\n", "\n").replace("\n", "\r\n").encode(), istext=True)


def _text_part(body: str, subtype: str) -> MIMEText:
    """UTF-8; quoted-printable for text (readable in a saved .eml), base64 for HTML (several
    times cheaper to encode; its markup is read by mail clients, not people)."""
    return MIMEText(body, subtype, "utf-8" if subtype == "html" else _UTF8_QP)


def build_message(
    *,
    subject: str,
    sender: str,
    to: tuple[str, str],
    message_id: str,
    locale: str,
    tenant_slug: str,
    text: str,
    html: str,
    attachments: list[dict],
) -> Message:
    """multipart/alternative (text, HTML, and `text/calendar; method=...` for a meeting), inside
    multipart/mixed when there are attachments.

    Built with the email package's classic (compat32) MIME classes: several times cheaper than
    `EmailMessage` with the modern policy, whose header objects dominated the benchmark.
    """
    alternative = MIMEMultipart("alternative")
    alternative.attach(_text_part(text, "plain"))
    alternative.attach(_text_part(html, "html"))
    for attachment in attachments:
        if attachment.get("content_type") == "text/calendar" and attachment.get("method"):
            part = _text_part(attachment["text"], "calendar")
            part.set_param("method", attachment["method"])
            alternative.attach(part)
    message: Message = alternative
    if attachments:
        message = MIMEMultipart("mixed")
        message.attach(alternative)
        for attachment in attachments:
            maintype, _, subtype = attachment.get("content_type", "text/plain").partition("/")
            if maintype == "text":
                part = _text_part(attachment["text"], subtype or "plain")
                if attachment.get("method"):
                    part.set_param("method", attachment["method"])
            else:
                part = MIMEApplication(attachment["text"].encode(), subtype or "octet-stream")
            part.add_header("Content-Disposition", "attachment", filename=attachment["filename"])
            message.attach(part)
    message["Subject"] = _header(subject)
    message["From"] = _address(*parseaddr(sender))
    message["To"] = _address(*to)
    message["Message-ID"] = message_id
    message["Date"] = format_datetime(utcnow())
    message["Content-Language"] = locale
    message["Auto-Submitted"] = "auto-generated"
    message["X-Samen-Leren-Tenant"] = tenant_slug
    return message
