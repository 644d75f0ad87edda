"""A notification as a mail: text and HTML (and calendar parts) in the recipient's language,
with the tenant's name and colour; `Renderer.wire` gives the bytes that go over SMTP."""

from __future__ import annotations

import base64
import binascii
import itertools
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import format_datetime, formataddr, parseaddr
from typing import Any

from flask import current_app
from flask_babel import force_locale, get_translations

from samenleren.core.config import LANGUAGES
from samenleren.core.db import utcnow
from samenleren.core.i18n import template_gettext, template_ngettext
from samenleren.core.tenancy import current_tenant
from samenleren.core.text import header_safe
from samenleren.notifications import kinds


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
    value = header_safe(value)
    return value if value.isascii() else Header(value, "utf-8")


def _address(name: str, address: str) -> str:
    return formataddr((header_safe(name), header_safe(address)), charset="utf-8")


def render(out: Outgoing, sender: Sender) -> Message:
    """The mail of one notification: text and HTML (and calendar parts), in its language."""
    return Renderer(sender).message(out)


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
                    "gettext": template_gettext(translations),
                    "ngettext": template_ngettext(translations),
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
    RFC 2047-encoded exactly as the email package does it for a `Header`. Control characters
    are stripped first: a name never adds a header line."""
    value = header_safe(value)
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
    charset = "utf-8" if subtype == "html" else _UTF8_QP
    # MIMEText hands the charset on to `set_payload`, which takes a `Charset` too.
    return MIMEText(body, subtype, charset)  # type: ignore[arg-type]  # typeshed: str only


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
            calendar = _text_part(attachment["text"], "calendar")
            calendar.set_param("method", attachment["method"])
            alternative.attach(calendar)
    message: Message = alternative
    if attachments:
        message = MIMEMultipart("mixed")
        message.attach(alternative)
        for attachment in attachments:
            maintype, _, subtype = attachment.get("content_type", "text/plain").partition("/")
            part: MIMENonMultipart
            if maintype == "text":
                part = _text_part(attachment["text"], subtype or "plain")
                if attachment.get("method"):
                    part.set_param("method", attachment["method"])
            else:
                part = MIMEApplication(attachment["text"].encode(), subtype or "octet-stream")
            part.add_header("Content-Disposition", "attachment", filename=attachment["filename"])
            message.attach(part)
    # compat32 takes a `Header` as a value; typeshed's `Message` says str only.
    message["Subject"] = _header(subject)  # type: ignore[assignment]
    message["From"] = _address(*parseaddr(sender))
    message["To"] = _address(*to)
    message["Message-ID"] = message_id
    message["Date"] = format_datetime(utcnow())
    message["Content-Language"] = locale
    message["Auto-Submitted"] = "auto-generated"
    message["X-Samen-Leren-Tenant"] = tenant_slug
    return message
