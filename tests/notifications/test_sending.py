"""The fast send path (services.send_due, Renderer.wire, Mailer.start/finish) against a real
SMTP server (aiosmtpd): what goes over the wire is a valid MIME mail equal to the email
package's, and the pipelined loop keeps the outbox's one-window guarantee."""

from __future__ import annotations

import uuid
from email import message_from_bytes, policy

import pytest
from sqlalchemy import select

from tests.factories import add_user, in_tenant
from tests.mail import SmtpSink, _Handler, parts

CONTEXT = {
    "step": {"nl": "Intakegesprek", "en": "Intake conversation", "fy": "Yntakepetear"},
    "learner": "Anna de Vries",
    "due_on": "2026-12-01",
    "path": "/flevoland/trajectories/00000000-0000-0000-0000-000000000000",
}


def _outbox(app, tenant, people: list[tuple[str, str | None]]) -> list[str]:
    """One reminder to each (name, locale), committed; returns their Message-IDs in order."""
    from samenleren.core.extensions import db
    from samenleren.notifications.models import NotificationKind
    from samenleren.notifications.outbox import notify

    ids = []
    with in_tenant(app, tenant):
        for n, (name, locale) in enumerate(people):
            person = add_user(f"send.{n}", "learner", name=name)
            person.locale = locale
            db.session.flush()
            ids.append(
                notify(
                    person, NotificationKind.REMINDER, key=f"send:{n}", context=CONTEXT
                ).message_id
            )
        db.session.commit()
    return ids


def _states(app, tenant) -> dict[str, tuple[str, int, str]]:
    from samenleren.core.extensions import db
    from samenleren.notifications.models import Notification

    with in_tenant(app, tenant):
        rows = db.session.execute(
            select(
                Notification.message_id,
                Notification.state,
                Notification.attempts,
                Notification.last_error,
            )
        ).all()
        return {row[0]: (str(row[1]), row[2], row[3]) for row in rows}


def _send(app, tenant) -> int:
    from samenleren.notifications.delivery import send_due

    with in_tenant(app, tenant):
        return send_due()


class _Watching(_Handler):
    """Accepts like the plain sink, but first notes which notifications the database has as
    `sent` at the moment each message's DATA arrives; refuses the Message-IDs in `refuse`."""

    def __init__(self, sink: SmtpSink, app, tenant) -> None:
        super().__init__(sink)
        self.app, self.tenant = app, tenant
        self.refuse: set[str] = set()
        self.sent_at_data: list[tuple[str, set[str]]] = []

    async def handle_DATA(self, server, session, envelope):
        message_id = message_from_bytes(envelope.content, policy=policy.default)["Message-ID"]
        if message_id in self.refuse:
            return "554 5.7.1 refused by the test"
        states = _states(self.app, self.tenant)
        sent = {key for key, (state, _, _) in states.items() if state == "sent"}
        self.sent_at_data.append((message_id, sent))
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def watching_sink(app, tenants):
    sink = SmtpSink()
    handler = _Watching(sink, app, tenants["flevoland"])
    sink._controller.handler = handler
    sink.start()
    previous = app.config["SMTP_URL"]
    app.config["SMTP_URL"] = sink.url
    try:
        yield sink, handler
    finally:
        app.config["SMTP_URL"] = previous
        sink.stop()


def test_every_mail_is_recorded_before_the_next_one_is_handed_over(app, tenants, watching_sink):
    """The pipelined loop overlaps rendering and the database with SMTP, yet when the server
    gets mail j, exactly mails 1..j-1 are recorded `sent`: never more than one accepted mail
    is unrecorded (the one window), and nothing is recorded before the server accepted it."""
    sink, handler = watching_sink
    flevoland = tenants["flevoland"]
    app.config["SAMENLEREN_MAIL_BATCH"] = 4  # several claims, the pipeline across batches
    try:
        ids = _outbox(
            app, flevoland, [(f"Persoon {n}", ("nl", "en", "fy")[n % 3]) for n in range(9)]
        )
        assert _send(app, flevoland) == 9
    finally:
        app.config["SAMENLEREN_MAIL_BATCH"] = 500
    assert len(handler.sent_at_data) == 9
    accepted: list[str] = []
    for message_id, sent in handler.sent_at_data:
        assert sent == set(accepted)
        accepted.append(message_id)
    assert set(accepted) == set(ids)
    assert all(state == "sent" for state, _, _ in _states(app, flevoland).values())
    assert len(sink.by_message_id()) == 9


def test_a_mail_refused_after_data_is_retried_and_the_others_go_out(app, tenants, watching_sink):
    sink, handler = watching_sink
    flevoland = tenants["flevoland"]
    ids = _outbox(app, flevoland, [(f"Persoon {n}", None) for n in range(4)])
    handler.refuse = {ids[1]}
    assert _send(app, flevoland) == 3
    states = _states(app, flevoland)
    assert states[ids[1]][0] == "pending"
    assert states[ids[1]][1] == 1
    assert "refused by the test" in states[ids[1]][2]
    assert [states[i][0] for i in (ids[0], ids[2], ids[3])] == ["sent"] * 3
    assert sorted(sink.by_message_id()) == sorted([ids[0], ids[2], ids[3]])


class _Restarting(_Handler):
    """Accepts like the plain sink; at the DATA of message `at` (counted from 1) it first ends
    the outbox marker's database connection, as a restart of PostgreSQL would."""

    def __init__(self, sink: SmtpSink, admin_url: str, at: int) -> None:
        super().__init__(sink)
        self.admin_url, self.at, self.seen, self.terminated = admin_url, at, 0, 0

    async def handle_DATA(self, server, session, envelope):
        import psycopg

        self.seen += 1
        if self.seen == self.at:
            with psycopg.connect(self.admin_url, autocommit=True) as admin:
                self.terminated = admin.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                    "AND query LIKE 'UPDATE notifications SET state = $3%'"
                ).fetchone()[0]
        return await super().handle_DATA(server, session, envelope)


def test_a_mark_whose_connection_died_is_made_on_a_new_one_and_nothing_goes_twice(
    app, tenants, database, monkeypatch
):
    """The database connection dies (PostgreSQL restarted) right when the server accepts a
    mail: its mark is made on a new connection - the first attempts are refused while the
    server starts again - so the mail is not sent again after the lease, and the rest of the
    batch goes out."""
    from sqlalchemy.exc import OperationalError

    from samenleren.notifications import delivery
    from tests.conftest import _url_for

    opened = []
    real_open = delivery._Marker._open

    def starting_again(marker) -> None:
        opened.append(1)
        if len(opened) in (2, 3):  # the first two reconnections: the server is not back yet
            raise OperationalError("connect", {}, Exception("the database system is starting up"))
        real_open(marker)

    monkeypatch.setattr(delivery._Marker, "_open", starting_again)
    monkeypatch.setattr(delivery.time, "sleep", lambda seconds: None)
    sink = SmtpSink()
    handler = _Restarting(sink, _url_for("postgres", database.name), at=3)
    sink._controller.handler = handler
    sink.start()
    previous = app.config["SMTP_URL"]
    app.config["SMTP_URL"] = sink.url
    try:
        ids = _outbox(app, tenants["flevoland"], [(f"Persoon {n}", None) for n in range(5)])
        assert _send(app, tenants["flevoland"]) == 5
    finally:
        app.config["SMTP_URL"] = previous
        sink.stop()
    assert handler.terminated == 1
    assert len(opened) == 4  # the batch's connection, two refused attempts, the new one
    assert all(state == "sent" for state, _, _ in _states(app, tenants["flevoland"]).values())
    received = sink.by_message_id()
    assert sorted(received) == sorted(ids)
    assert all(len(copies) == 1 for copies in received.values())


def test_the_wire_format_equals_the_email_packages_mail(app, tenants, smtp_sink):
    """What Renderer.wire writes by hand parses, without defects, to the same headers,
    structure and decoded text as the email package's message for the same notification."""
    from samenleren.notifications.rendering import Outgoing, Renderer, sender_of_current_tenant

    flevoland = tenants["flevoland"]
    people = [
        ("Jöran de Vries-Ŝmit, een heel lange naam " + "x" * 60, "fy"),
        ('Anna "Ank" Jansen', "en"),
        ("Piet", None),
    ]
    _outbox(app, flevoland, people)
    assert _send(app, flevoland) == 3
    received = {m["To"].addresses[0].display_name: m for m in smtp_sink.wait_for(3)}
    with in_tenant(app, flevoland):
        renderer = Renderer(sender_of_current_tenant())
        for name, locale in people:
            out = Outgoing(
                uuid.uuid4(),
                "reminder",
                "k",
                "<k@x>",
                1,
                CONTEXT,
                [],
                name,
                "a@example.nl",
                locale or "nl",
            )
            wire = renderer.wire(out)
            assert b"\n" not in wire.replace(b"\r\n", b"")
            assert max(len(line) for line in wire.split(b"\r\n")) <= 998
            ours = message_from_bytes(wire, policy=policy.default)
            theirs = message_from_bytes(
                renderer.message(out).as_bytes(policy=policy.compat32.clone(linesep="\r\n")),
                policy=policy.default,
            )
            assert not ours.defects
            assert all(not part.defects for part in ours.walk())
            for header in ("Subject", "From", "To", "Content-Language", "Auto-Submitted"):
                assert str(ours[header]) == str(theirs[header]), header
            assert [p.get_content_type() for p in ours.walk()] == [
                p.get_content_type() for p in theirs.walk()
            ]
            assert parts(ours) == parts(theirs)
            sent = received[name]
            assert str(sent["Subject"]) == str(ours["Subject"])
            assert parts(sent) == parts(ours)
    frisian = received[people[0][0]]
    assert frisian["Content-Language"] == "fy"
    assert "Yntakepetear" in frisian["Subject"]
    assert "Yntakepetear" in parts(frisian)["text/plain"]
    assert "#00548a" in parts(frisian)["text/html"]


def test_a_name_that_would_inject_a_header_is_cleaned_and_adds_no_header(app, tenants, smtp_sink):
    """Control characters are stripped where headers are built (core/text.header_safe): the
    mail goes out, to the right person, without the injected header (it used to fail)."""
    flevoland = tenants["flevoland"]
    ids = _outbox(app, flevoland, [("Anna\r\nBcc: someone@example.org", None), ("Piet", None)])
    assert _send(app, flevoland) == 2
    messages = {message["Message-ID"]: message for message in smtp_sink.wait_for(2)}
    assert set(messages) == set(ids)
    assert messages[ids[0]]["Bcc"] is None
    assert "\n" not in str(messages[ids[0]]["To"])
    states = _states(app, flevoland)
    assert states[ids[0]][0] == "sent"
    assert states[ids[1]][0] == "sent"


def test_the_mailer_dot_stuffs_and_reuses_its_connection(smtp_sink, tmp_path):
    from samenleren.notifications.mailer import Mailer

    body = "Subject: dots\r\nMessage-ID: <{n}@x>\r\n\r\nline\r\n.a line with a dot\r\n.\r\nend"
    with Mailer(smtp_sink.url, str(tmp_path)) as mailer:
        for n in range(2):
            mailer.send(
                body.format(n=n).encode(),
                envelope_from="outbox@example.nl",
                recipient="Anna <anna@example.nl>",
                message_id=f"<{n}@x>",
            )
    first, second = smtp_sink.wait_for(2)
    assert first.get_content().replace("\r\n", "\n") == "line\n.a line with a dot\n.\nend\n"
    assert smtp_sink.envelopes[0] == ("outbox@example.nl", ["anna@example.nl"])
    assert second["Message-ID"] == "<1@x>"
