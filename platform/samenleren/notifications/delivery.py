"""Sending the outbox: `send_due()` claims due rows and mails them.

Delivery guarantees (nothing lost, nothing sent twice):

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

import logging
import time
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select, text, update

from samenleren.core.config import LANGUAGES
from samenleren.core.db import utcnow
from samenleren.core.extensions import db
from samenleren.core.tenancy import current_tenant_id, require_tenant
from samenleren.identity.models import User
from samenleren.notifications import staleness
from samenleren.notifications.models import (
    Notification,
    NotificationState,
)
from samenleren.notifications.rendering import Outgoing, Renderer, sender_of_current_tenant

log = logging.getLogger(__name__)

#: Attempts before a notification is given up (state `failed`, kept, retryable).
MAX_ATTEMPTS = 5
#: Wait before attempt n+1 after n failed attempts (the last value repeats).
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2))


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
    default_locale = require_tenant().default_locale
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


class _ConnectionLost(RuntimeError):
    """The database ended the marker's connection (a restart, a failover)."""


class _Marker:
    """Records each outcome in its own commit, in one round trip, overlapped with the next mail.

    A dedicated connection: one outcome is one transaction, so marking a mail sent costs a
    single round trip instead of BEGIN, the RLS setting, UPDATE and COMMIT through the session.
    On PostgreSQL the transaction goes out in libpq's pipeline mode (through `psycopg.pq`)
    without waiting for its answer: the tenant and `synchronous_commit = off` set for this
    transaction only (`set_config(..., true)`), the UPDATE, then a Sync that commits it.
    `wait()` collects the answers and raises if one failed. Every `finish`/`failed_attempt`
    first waits for the previous one, so at most one outcome is ever in flight. Row-level
    security applies to every UPDATE, and commits do not wait for the WAL flush: the row is
    committed and visible at once, and a killed *worker* loses nothing; only a crash of the
    *database server* within ~0.2 s could forget a mark, which would resend that mail (same
    Message-ID).

    Nothing outlives one transaction - no session setting, no named prepared statement - so
    the marks work through a pooler in transaction mode (PgBouncer), which may give every
    transaction another server connection (docs/scaling.md). The connection is closed after
    use, never returned to the pool. Other databases (SQLite for `make run`): the same UPDATE,
    synchronously.

    When the connection dies under a mark (the database restarted or failed over), the outcome
    is known only here: it is applied in a transaction of its own on a new connection as soon as
    the database answers again (`_reconnect_and_apply`), within half the lease, so that an
    accepted mail is not sent again. Applying a mark twice changes nothing (only a `sending`
    row is updated).
    """

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
    _SETTINGS = (
        b"SELECT set_config('app.tenant_id', $1, true),"
        b" set_config('synchronous_commit', 'off', true)"
    )

    def __enter__(self) -> _Marker:
        tenant_id = current_tenant_id()
        assert tenant_id is not None
        self.tenant_id = tenant_id
        self._in_flight: tuple[Outgoing, NotificationState, dict[str, Any]] | None = None
        self._deferred: tuple[Outgoing, datetime] | None = None
        self._open()
        return self

    def _open(self) -> None:
        self.connection = db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        self._libpq: Any = None
        if self.connection.dialect.name == "postgresql":
            # PostgreSQL URLs always name psycopg 3 (core.config), whose libpq this uses.
            self._libpq = self.connection.connection.driver_connection.pgconn  # type: ignore[union-attr]
            from psycopg import pq

            # Outside any transaction, so that the Sync after each mark commits it.
            assert self._libpq.transaction_status == pq.TransactionStatus.IDLE
            self._libpq.enter_pipeline_mode()

    def _close(self) -> None:
        if self.connection.closed:  # a reconnection attempt that failed closed it already
            return
        self.connection.invalidate()  # closed for good: it was left in pipeline mode
        self.connection.close()

    def __exit__(self, *exc: object) -> None:
        try:
            self.wait()  # an accepted mail's mark still in flight: confirm it if at all possible
        except Exception:
            log.exception("the outbox could not confirm the last mark")
        finally:
            self._close()

    @staticmethod
    def _check(results: list[Any]) -> None:
        from psycopg import pq

        for result in results:
            if result.status not in {pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK}:
                message = result.error_message.decode(errors="replace") or result.status.name
                severity = result.error_field(pq.DiagnosticField.SEVERITY_NONLOCALIZED) or b""
                if severity in {b"FATAL", b"PANIC"}:  # the server ended the connection
                    raise _ConnectionLost(f"outbox mark failed: {message}")
                raise RuntimeError(f"outbox mark failed: {message}")

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
        if self._in_flight is None:
            return
        out, state, values = self._in_flight
        self._in_flight = None
        try:
            self._collect()
        except _ConnectionLost:
            self._reconnect_and_apply(out, state, values)
        except Exception:
            if self._alive():
                raise
            self._reconnect_and_apply(out, state, values)

    def _alive(self) -> bool:
        from psycopg import pq

        return self._libpq is None or self._libpq.status == pq.ConnStatus.OK

    def _collect(self) -> None:
        results = []
        for _ in range(2):  # the settings, the UPDATE: each answer ends with None
            while (result := self._libpq.get_result()) is not None:
                results.append(result)
        self._check(results)
        from psycopg import pq

        sync = self._libpq.get_result()  # the Sync: the transaction is committed
        if sync is None or sync.status != pq.ExecStatus.PIPELINE_SYNC:
            self._check([sync] if sync is not None else [])
            raise RuntimeError("outbox mark failed: no answer to the commit")

    def _reconnect_and_apply(
        self, out: Outgoing, state: NotificationState, values: dict[str, Any]
    ) -> None:
        """The connection died under this outcome: apply it in a transaction of its own on a
        new connection once the database answers, trying for half the lease (after that another
        worker may take the row over); then give up as before (the row stays `sending` until the
        lease ends). Later outcomes go through a new pipelined connection."""
        from sqlalchemy.exc import DBAPIError

        log.warning("notification %s: the database connection was lost; marking it again", out.id)
        deadline = time.monotonic() + current_app.config["SAMENLEREN_MAIL_LEASE_SECONDS"] / 2
        while True:
            try:
                self._close()
            except DBAPIError:
                pass
            try:
                with db.engine.begin() as connection:
                    if connection.dialect.name == "postgresql":
                        connection.execute(
                            text("SELECT set_config('app.tenant_id', :t, true)"),
                            {"t": str(self.tenant_id)},
                        )
                    connection.execute(self._statement(out, values))
                self._open()
                return
            except DBAPIError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def _statement(self, out: Outgoing, values: dict[str, Any]) -> Any:
        table = Notification.__table__
        return (
            update(table)
            .where(
                table.c.tenant_id == self.tenant_id,
                table.c.id == out.id,
                table.c.state == NotificationState.SENDING.value,
            )
            .values(**values)
        )

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
        values: dict[str, Any] = {"state": state.value, "claimed_until": None}
        if sent_at is not None:
            values["sent_at"] = sent_at
        if error is not None:
            values["last_error"] = error
        if due_at is not None:
            values["due_at"] = due_at
        if self._libpq is not None:
            from psycopg import OperationalError

            try:
                self._libpq.send_query_params(self._SETTINGS, [str(self.tenant_id).encode()])
                self._libpq.send_query_params(
                    self._SQL,
                    [
                        str(self.tenant_id).encode(),
                        str(out.id).encode(),
                        state.value.encode(),
                        sent_at.isoformat().encode() if sent_at else None,
                        error.encode() if error is not None else None,
                        due_at.isoformat().encode() if due_at else None,
                    ],
                )
                self._libpq.pipeline_sync()
                self._libpq.flush()
            except OperationalError:
                if self._alive():
                    raise
                self._reconnect_and_apply(out, state, values)
                return
            self._in_flight = (out, state, values)
            return
        self.connection.execute(self._statement(out, values))

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
