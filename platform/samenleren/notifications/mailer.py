"""Outgoing mail: one SMTP connection per batch (`SMTP_URL`), or .eml files without it.

`SMTP_URL`: `smtp://host:port` (plain, e.g. a local relay), `smtp+starttls://user:pass@host:587`
or `smtps://user:pass@host:465` (TLS from the start). User and password are URL-encoded.
Without SMTP_URL outside production, every mail is written to `SAMENLEREN_MAIL_DIR` (var/mail/)
as an .eml file and logged, so `make run` shows what would have been sent.
"""

from __future__ import annotations

import logging
import re
import smtplib
import ssl
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlsplit

from flask import Flask

log = logging.getLogger(__name__)

#: Errors after which the message is retried later (the connection is dropped and reopened).
TRANSIENT = (smtplib.SMTPException, OSError)


_PLAIN_ADDRESS = re.compile(r"[^\s<>()\[\]\\,;:\"@]+@[^\s<>()\[\]\\,;:\"@]+")


def _quote_periods(data: bytes) -> bytes:
    """Dot-stuffing (RFC 5321 4.5.2), as smtplib does it."""
    return _LEADING_PERIOD.sub(b"..", data)


_LEADING_PERIOD = re.compile(rb"(?m)^\.")


def _angled(address: str) -> str:
    """`<address>` for the envelope; anything but a plain address goes through smtplib."""
    return f"<{address}>" if _PLAIN_ADDRESS.fullmatch(address) else smtplib.quoteaddr(address)


class MailerNotConfigured(RuntimeError):
    pass


class Mailer:
    """Send messages; connects at the first message and keeps the connection (a batch).

    Use as a context manager: the connection is closed at the end."""

    def __init__(self, smtp_url: str, mail_dir: str, *, timeout: float = 30) -> None:
        self.smtp_url = smtp_url
        self.mail_dir = Path(mail_dir)
        self.timeout = timeout
        self._smtp: smtplib.SMTP | None = None
        self._awaiting = False  #: a message went out (`start`), the server's answer is unread

    @classmethod
    def for_app(cls, app: Flask) -> Mailer:
        url = app.config.get("SMTP_URL", "")
        if not url and app.config["SAMENLEREN_ENV"] == "production":
            raise MailerNotConfigured("SMTP_URL is not set")
        return cls(url, app.config["SAMENLEREN_MAIL_DIR"])

    def __enter__(self) -> Mailer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _connect(self) -> smtplib.SMTP:
        parts = urlsplit(self.smtp_url)
        host = parts.hostname or "127.0.0.1"
        if parts.scheme == "smtps":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                host,
                parts.port or 465,
                timeout=self.timeout,
                context=ssl.create_default_context(),
            )
        else:
            smtp = smtplib.SMTP(host, parts.port or 25, timeout=self.timeout)
            if parts.scheme == "smtp+starttls":
                smtp.starttls(context=ssl.create_default_context())
        if parts.username:
            smtp.login(unquote(parts.username), unquote(parts.password or ""))
        return smtp

    def send(
        self,
        data: bytes,
        *,
        envelope_from: str,
        recipient: str,
        message_id: str,
        after_mail: Callable[[], None] | None = None,
        before_data: Callable[[], None] | None = None,
    ) -> None:
        """Hand over one message, already flattened for the wire (CRLF line ends); returns once
        the server accepted it (250 after DATA). `start` and then `finish`."""
        self.start(
            data,
            envelope_from=envelope_from,
            recipient=recipient,
            message_id=message_id,
            after_mail=after_mail,
            before_data=before_data,
        )
        self.finish()

    def start(
        self,
        data: bytes,
        *,
        envelope_from: str,
        recipient: str,
        message_id: str,
        after_mail: Callable[[], None] | None = None,
        before_data: Callable[[], None] | None = None,
    ) -> None:
        """Give the server sender, recipient and the message; `finish` reads its verdict.

        `after_mail` runs while the server considers the MAIL command (the outbox sends the
        previous mail's mark to the database then). `before_data` runs after the server took
        sender and recipient and just before DATA: the outbox waits there for the previous
        mail's commit, so at most one accepted mail is ever unrecorded while everything else
        overlaps (see delivery.send_due). Between `start` and `finish` the caller may do other
        work (the outbox renders the next mail while the server digests this one)."""
        self._awaiting = False
        if not self.smtp_url:
            if after_mail:
                after_mail()
            if before_data:
                before_data()
            self._write_file(data, message_id, recipient)
            return
        for attempt in (1, 2):
            if self._smtp is None:
                self._smtp = self._connect()
            started_data = False
            try:
                smtp = self._smtp
                smtp.ehlo_or_helo_if_needed()
                # MAIL and RCPT as smtplib's mail()/rcpt() send them, minus their re-parsing
                # of addresses that are plain already (a tenth of the time of a mail).
                smtp.putcmd("mail", f"FROM:{_angled(envelope_from)}")
                if after_mail:
                    after_mail()
                code, answer = smtp.getreply()
                if code != 250:
                    smtp.rset()
                    raise smtplib.SMTPSenderRefused(code, answer, envelope_from)
                smtp.putcmd("rcpt", f"TO:{_angled(recipient)}")
                code, answer = smtp.getreply()
                if code not in (250, 251):
                    smtp.rset()
                    raise smtplib.SMTPRecipientsRefused({recipient: (code, answer)})
                if before_data:
                    before_data()
                started_data = True
                # DATA as smtplib's data() does it, up to the message; its answer in finish().
                smtp.putcmd("data")
                code, answer = smtp.getreply()
                if code != 354:
                    smtp.rset()
                    raise smtplib.SMTPDataError(code, answer)
                body = _quote_periods(data)
                smtp.send(body + (b".\r\n" if body.endswith(b"\r\n") else b"\r\n.\r\n"))
                self._awaiting = True
                return
            except smtplib.SMTPServerDisconnected:
                self._smtp = None
                # A long batch may outlive the server's idle timeout: reconnect once - but
                # never once DATA went out (the server may hold the message already).
                if attempt == 2 or started_data:
                    raise
            except TRANSIENT:
                self.close()
                raise

    def finish(self) -> None:
        """The server's verdict on the message given by `start`: returns once it is accepted."""
        if not self._awaiting:
            return
        self._awaiting = False
        assert self._smtp is not None
        try:
            code, answer = self._smtp.getreply()
            if code != 250:
                self._smtp.rset()
                raise smtplib.SMTPDataError(code, answer)
        except smtplib.SMTPServerDisconnected:
            self._smtp = None
            raise
        except TRANSIENT:
            self.close()
            raise

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except TRANSIENT:
                pass
            self._smtp = None

    def _write_file(self, data: bytes, message_id: str, recipient: str) -> None:
        self.mail_dir.mkdir(parents=True, exist_ok=True)
        name = message_id.strip("<>").split("@")[0]
        path = self.mail_dir / f"{name}.eml"
        path.write_bytes(data)
        log.info("mail to %s written to %s", recipient, path)
