"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives: the `smtp_sink` fixture.

```python
def test_x(app, smtp_sink):          # app.config["SMTP_URL"] points at the sink meanwhile
    ...send something...
    smtp_sink.wait_for(1)            # blocks until one message arrived (or fails after 10 s)
    message = smtp_sink.messages[0]  # an email.message.EmailMessage (policy.default)
    smtp_sink.by_message_id()        # {Message-ID: [messages]} - duplicates show as lists of 2
```
`delay` (seconds) slows every RCPT down, before the server has accepted anything, so a test can
kill a sender mid-batch without the sink having half-received a message.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections import defaultdict
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with self.sink.lock:
            self.sink.rcpt_count += 1
        if self.sink.delay:
            await asyncio.sleep(self.sink.delay)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self.sink.lock:
            self.sink.messages.append(message)
            self.sink.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SmtpSink:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.lock = threading.Lock()
        self.delay = 0.0
        #: RCPT commands seen: a sender waiting in `delay` has not had message n accepted yet.
        self.rcpt_count = 0
        self.port = free_port()
        self._controller = Controller(
            _Handler(self), hostname="127.0.0.1", port=self.port, ready_timeout=10
        )

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> SmtpSink:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()
            self.envelopes.clear()

    def by_message_id(self) -> dict[str, list[EmailMessage]]:
        grouped: dict[str, list[EmailMessage]] = defaultdict(list)
        with self.lock:
            for message in self.messages:
                grouped[message["Message-ID"]].append(message)
        return dict(grouped)

    def wait_for(self, count: int, timeout: float = 10) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.02)
        raise AssertionError(f"{len(self.messages)} of {count} messages arrived in {timeout} s")


def parts(message: EmailMessage) -> dict[str, str]:
    """content type -> decoded text of every leaf part (first of each type)."""
    found: dict[str, str] = {}
    for part in message.walk():
        if part.is_multipart():
            continue
        found.setdefault(part.get_content_type(), part.get_content())
    return found
