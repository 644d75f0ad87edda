"""Benchmark (not a test): reminders rendered and handed to a local SMTP sink per second.

Compares, in one run and against the same aiosmtpd sink (in its own process):

* **ours**: `samenleren.notifications.delivery.send_due()` - claims due rows in batches
  (`SELECT ... FOR UPDATE SKIP LOCKED` on PostgreSQL), renders each mail (text + HTML, Jinja,
  in the recipient's language), sends it over one reused SMTP connection and marks it sent in its
  own commit (confirmed before the next mail's DATA);
* **raw**: a plain `smtplib` loop sending the same messages, rendered beforehand, over one
  connection (no database, no rendering).

Target: ours >= 50 % of raw; 100,000 in <= 60 s.

    .venv/bin/python benchmarks/reminders.py            # N=20000, a temporary PostgreSQL database
                                                        # (SQLite when there is none)
    .venv/bin/python benchmarks/reminders.py --n 100000 --database-url postgresql://...
    .venv/bin/python benchmarks/reminders.py --write    # and record in docs/performance.md
    .venv/bin/python benchmarks/reminders.py --senders 4   # then N again with 4 processes

`--database-url` must point at an empty database whose user may create tables (it is migrated).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import smtplib
import socket
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET_RATIO = 0.5
TARGET_100K_SECONDS = 60


def _sink(port: int, count, ready) -> None:
    import asyncio

    from aiosmtpd.controller import Controller

    class Counting:
        async def handle_DATA(self, server, session, envelope):
            with count.get_lock():
                count.value += 1
            return "250 OK"

    controller = Controller(Counting(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    try:
        asyncio.run(asyncio.sleep(10**6))
    finally:
        controller.stop()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.system()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--database-url", default="")
    parser.add_argument(
        "--senders",
        type=int,
        default=2,
        help="then the same N again with this many sender processes at once (0: skip)",
    )
    parser.add_argument("--write", action="store_true", help="record in docs/performance.md")
    args = parser.parse_args()

    port = _free_port()
    count = multiprocessing.Value("l", 0)
    ready = multiprocessing.Event()
    sink = multiprocessing.Process(target=_sink, args=(port, count, ready), daemon=True)
    sink.start()
    ready.wait(10)

    os.environ.setdefault("SAMENLEREN_ENV", "development")
    os.environ["SAMENLEREN_LOG_LEVEL"] = "WARNING"
    tmp = tempfile.mkdtemp(prefix="sl-bench-")
    temporary = None if args.database_url else _temporary_postgres()
    url = args.database_url or (temporary or f"sqlite:///{tmp}/bench.sqlite")
    try:
        _run(args, url, port, count, sink)
    finally:
        sink.terminate()
        if temporary:
            _drop_postgres(temporary)


ADMIN_URL = os.environ.get(
    "SAMENLEREN_BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


def _temporary_postgres() -> str | None:
    """A fresh database owned by a plain role (row-level security applies), or None."""
    try:
        import psycopg

        suffix = uuid.uuid4().hex[:8]
        with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=2) as admin:
            admin.execute(f"CREATE ROLE sl_bench_{suffix} LOGIN NOSUPERUSER NOBYPASSRLS")
            admin.execute(f"CREATE DATABASE sl_bench_{suffix} OWNER sl_bench_{suffix}")
        host = ADMIN_URL.split("@", 1)[1].rsplit("/", 1)[0]
        url = f"postgresql://sl_bench_{suffix}@{host}/sl_bench_{suffix}"
        with psycopg.connect(
            ADMIN_URL.rsplit("/", 1)[0] + f"/sl_bench_{suffix}", autocommit=True
        ) as admin:
            admin.execute(f"ALTER SCHEMA public OWNER TO sl_bench_{suffix}")
        return url
    except Exception as exc:  # noqa: BLE001 - no PostgreSQL here: measure on SQLite
        print(f"no temporary PostgreSQL database ({exc}); using SQLite", file=sys.stderr)
        return None


def _drop_postgres(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.execute(f"DROP ROLE IF EXISTS {name}")


def _run(args, url: str, port: int, count, sink) -> None:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    sys.path.insert(0, str(REPO / "platform"))
    from flask_migrate import upgrade
    from sqlalchemy import insert, update

    from samenleren import create_app
    from samenleren.core.db import utcnow
    from samenleren.core.extensions import db
    from samenleren.core.tenancy import tenant_scope
    from samenleren.identity.models import User
    from samenleren.notifications.delivery import send_due
    from samenleren.notifications.models import Notification, NotificationState
    from samenleren.notifications.outbox import message_id_for
    from samenleren.notifications.rendering import Outgoing, Renderer, sender_of_current_tenant
    from samenleren.tenants.manifest import load_manifest
    from samenleren.tenants.services import onboard_tenant

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "MIGRATIONS_DATABASE_URL": url,
            "REDIS_URL": "",
            "SMTP_URL": f"smtp://127.0.0.1:{port}",
            "SAMENLEREN_MAIL_BATCH": 500,
        }
    )
    n = args.n
    database_is_postgres = url.startswith("postgresql")
    with app.app_context():
        upgrade()
        tenant = onboard_tenant(load_manifest(REPO / "tenants" / "flevoland.toml")).tenant
        with tenant_scope(tenant):
            users = [
                {
                    "tenant_id": tenant.id,
                    "id": uuid.uuid4(),
                    "subject": f"bench.{i}",
                    "name": f"Deelnemer {i}",
                    "email": f"bench.{i}@example.nl",
                    "locale": ("nl", "en", "fy")[i % 3],
                    "scim_attributes": {},
                }
                for i in range(n)
            ]
            db.session.execute(insert(User), users)
            now = utcnow()
            context = {
                "step": {"nl": "Intakegesprek", "en": "Intake conversation", "fy": "Yntakepetear"},
                "learner": "Anna de Vries",
                "due_on": "2026-12-01",
                "path": "/flevoland/trajectories/00000000-0000-0000-0000-000000000000",
            }
            rows = [
                {
                    "tenant_id": tenant.id,
                    "id": uuid.uuid4(),
                    "recipient_id": user["id"],
                    "kind": "reminder",
                    "key": f"bench:{i}",
                    "due_at": now,
                    "state": NotificationState.PENDING,
                    "digest": False,
                    "attempts": 0,
                    "last_error": "",
                    "context": context,
                    "attachments": [],
                    "message_id": message_id_for(tenant.id, f"bench:{i}"),
                    "created_at": now,
                }
                for i, user in enumerate(users)
            ]
            for start in range(0, n, 5000):
                db.session.execute(insert(Notification), rows[start : start + 5000])
            db.session.commit()
            if database_is_postgres:
                # Statistics, as autovacuum keeps them in any real installation (where the
                # outbox holds every mail ever sent, so a sweep's new reminders hardly change
                # them). Without any, the planner scans all N users for each batch's
                # recipients and all N notifications for each claim: the sweep turns quadratic.
                with db.engine.connect() as connection:
                    connection.exec_driver_sql("ANALYZE users")
                    connection.exec_driver_sql("ANALYZE notifications")

            # The raw loop's messages, rendered beforehand (not timed).
            sender = sender_of_current_tenant()
            renderer = Renderer(sender)
            prepared = []
            for i, user in enumerate(users):
                out = Outgoing(
                    rows[i]["id"],
                    "reminder",
                    rows[i]["key"],
                    rows[i]["message_id"],
                    1,
                    context,
                    [],
                    user["name"],
                    user["email"],
                    user["locale"],
                )
                prepared.append((user["email"], renderer.wire(out)))  # the very same bytes

            started = time.perf_counter()
            sent = send_due()
            ours_seconds = time.perf_counter() - started
            assert sent == n, f"sent {sent} of {n}"
            if args.senders > 1:  # the same rows again, for the processes below
                db.session.execute(
                    update(Notification).values(
                        state=NotificationState.PENDING, attempts=0, sent_at=None
                    )
                )
                db.session.commit()
        tenant_id = tenant.id
        db.engine.dispose()  # no connections shared with the forked senders

    before = count.value
    started = time.perf_counter()
    smtp = smtplib.SMTP("127.0.0.1", port)
    for address, message in prepared:
        smtp.sendmail(sender.mail_from, [address], message)
    smtp.quit()
    raw_seconds = time.perf_counter() - started
    assert count.value - before == n

    several = ""
    if args.senders > 1:
        several_seconds = _several_senders(args.senders, app, tenant_id, count, n)
        several = (
            f"- {args.senders} sender processes at once (one sink): {n / several_seconds:,.0f} "
            f"mails/s ({several_seconds:.1f} s); 100,000 at this rate: "
            f"{100_000 * several_seconds / n:.0f} s"
        )

    ours, raw = n / ours_seconds, n / raw_seconds
    ratio = ours / raw
    projected = 100_000 / ours
    database = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    report = [
        f"- when: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; machine: {_machine()}",
        f"- N = {n} reminders; database: {database}; sink: aiosmtpd on loopback (own process)",
        f"- ours (claim, render text+HTML, send, commit per mail): {ours:,.0f} mails/s "
        f"({ours_seconds:.1f} s)",
        f"- raw smtplib loop, pre-rendered: {raw:,.0f} mails/s ({raw_seconds:.1f} s)",
        f"- ratio: {ratio:.0%} (target >= {TARGET_RATIO:.0%}: "
        f"{'met' if ratio >= TARGET_RATIO else 'NOT met'})",
        f"- 100,000 at this rate: {projected:.0f} s (target <= {TARGET_100K_SECONDS} s: "
        f"{'met' if projected <= TARGET_100K_SECONDS else 'NOT met'})",
    ]
    if several:
        report.append(several)
    print("\n".join(report))
    if args.write:
        _write(report)


def _sender(app, tenant_id, start, results) -> None:
    """One sender process: `send_due` until nothing is left (claims with SKIP LOCKED)."""
    from samenleren.core.extensions import db
    from samenleren.core.tenancy import tenant_scope
    from samenleren.core.tenant import Tenant
    from samenleren.notifications.delivery import send_due

    with app.app_context(), tenant_scope(db.session.get(Tenant, tenant_id)):
        start.wait()
        results.put(send_due())


def _several_senders(k: int, app, tenant_id, count, n: int) -> float:
    """Seconds for `k` sender processes (forked, each its own connections) to send all n."""
    context = multiprocessing.get_context("fork")
    start, results = context.Barrier(k + 1), context.Queue()
    processes = [
        context.Process(target=_sender, args=(app, tenant_id, start, results)) for _ in range(k)
    ]
    for process in processes:
        process.start()
    before = count.value
    start.wait()
    started = time.perf_counter()
    sent = sum(results.get(timeout=600) for _ in processes)
    seconds = time.perf_counter() - started
    for process in processes:
        process.join()
    assert sent == n and count.value - before == n, f"{k} senders sent {sent} of {n}"
    return seconds


ANALYSIS = """\
Where the time goes now (one sender process, N = 20000, per mail, wall-clock timers around each
step; cProfile inflates the small calls): rendering 0.23 ms (two Jinja templates in the
recipient's language and the MIME bytes), the four SMTP round trips 0.50 ms (replies 0.42, sends
0.08 - the raw loop needs about 0.74 ms for the same four plus its own `sendmail` overhead),
the claim 0.08 ms (one 500-row UPDATE ... RETURNING per batch and its recipients), waiting for
the previous mark 0.02 ms, the loop itself about 0.08 ms: 0.92 ms against 0.74 ms raw.

What changed (before: 336 mails/s, 16 % of raw, on 2026-11-26 21:27):
- Rendering, 1.5 ms -> 0.23 ms: a `Renderer` per batch looks templates up once per kind, binds
  `_()` in the templates straight to the language's catalogue (Flask-Babel's `gettext` looked
  the catalogue up again on each of the ten calls per mail: 22 us each), translates each
  subject line once per language, caches long due dates and encoded headers. Each mail still
  renders inside `force_locale(recipient's language)`.
- MIME: the usual mail (multipart/alternative of text/plain quoted-printable and text/html
  base64) is written as bytes directly - same structure, headers and encodings as the email
  package's message, checked by parsing both (tests/notifications/test_sending.py); mails with
  attachments (invitations) still go through the email package. Flattening cost 0.4-0.6 ms.
- The mark: no helper thread any more (its GIL hand-offs cost more than they saved). The
  UPDATE that marks mail k sent is a prepared statement sent through libpq's asynchronous API
  right after mail k+1's MAIL command and collected before k+1's DATA; mail k+1 is rendered
  while the server digests k's DATA. So database, SMTP server and renderer work at the same
  time, and still at most one accepted mail is unrecorded at any moment (the test asserts,
  at every DATA the sink receives, that exactly the mails before it are `sent`).
- The claim: two locked SELECTs that read the (tenant, state, due_at) index in order instead of
  one `pending OR sending` SELECT that read and sorted every due row for each batch (that made
  a sweep quadratic: 0.3 ms per mail at N = 20000, more at 100,000); UPDATE ... RETURNING the
  columns a mail needs instead of ORM objects; its commit without waiting for the WAL flush
  (like the marks: only a crash of the database server itself could forget it, and that batch
  would go out again with the same Message-IDs).
- smtplib's MAIL/RCPT re-parsed both addresses for every mail (0.1 ms); plain addresses are now
  passed as they are.

The benchmark runs ANALYZE after loading, as autovacuum keeps statistics in any real
installation. They matter: without them the planner scanned all N users for each batch's
recipients and all N rows for each claim (0.13 ms per mail at N = 50000, growing with N). With
them, it chose the (tenant, state, due_at) index for the mark's `state = 'sending'` condition
and read the whole claimed batch for every mark (0.64 ms per mail); the mark's condition is now
written so that only the primary key can answer it.

Timings depend strongly on the machine's state: this loop and the raw loop wait on each other
across processes, and on this 2-CPU VM shared with other work a busy machine made the raw loop
faster (1,800-2,400 mails/s) and ours slower, a quiet one the opposite (raw about 1,330 mails/s).
The final code was measured only at load averages of 0.2-2.3; under 3-4 an intermediate version
(before the deferred mark and the claim changes) gave 33-43 %. Expect less than the figures
above on a busy machine.

The claim's cost per mail grows with N in this benchmark (its UPDATE: 0.03 ms per mail at
N = 20000, 0.04 at 50000, 0.09-0.17 at 100,000; every row has the same due_at and each mail
updates its row twice, both times in the (tenant, state, due_at) index): at N = 100,000 one
run gave 676 against 1,326 mails/s raw, 51 %.

100,000 in <= 60 s needs 1,667 mails/s, more than the raw loop itself reaches here: one
aiosmtpd process on this 2-CPU machine took about 1,330-1,500 mails/s, from one raw loop or
from several of our senders. Sender processes scale out without sending twice (claims use FOR
UPDATE SKIP LOCKED) - 2, 3 and 4 senders reached 1,349, 1,379 and 1,471 mails/s (N = 5000, at
21:58 UTC) - but here they only fill the sink. Closing that gap needs a faster receiving MTA
or more CPUs, not a faster sender.
"""


def _write(report: list[str]) -> None:
    path = REPO / "docs" / "performance.md"
    text = path.read_text() if path.exists() else "# Performance\n\nOne section per benchmark.\n"
    heading = "## Reminder sweep (benchmarks/reminders.py)"
    section = (
        f"{heading}\n\nReminders rendered and handed to a local SMTP sink per second through our "
        "sender, against a plain smtplib loop sending pre-rendered messages to the same sink, in "
        "one run (target: >= 50 % of the raw loop; 100,000 in <= 60 s).\n"
        "Run: `.venv/bin/python benchmarks/reminders.py --write` (options: `--n`, "
        "`--database-url`, `--senders`).\n\n" + "\n".join(report) + "\n\n" + ANALYSIS
    )
    if heading in text:
        before, _, rest = text.partition(heading)
        after = rest.split("\n## ", 1)
        text = before + section + (("\n## " + after[1]) if len(after) > 1 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)


if __name__ == "__main__":
    main()
