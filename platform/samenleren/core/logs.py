"""Logging: one line per event, as JSON (production) or as text (development).

`SAMENLEREN_LOG_FORMAT` chooses (`json` by default in production, `text` elsewhere). Every line
carries what tells events apart without naming anyone:

* `request_id`: the request's `X-Request-ID` when it is well-formed (a proxy or the ingress made
  it), else one made here; it is echoed in the response, so a user's report can be found;
* `tenant`: the tenant's slug (a request's, or a job's);
* `user`: a pseudonym of the logged-in user, a keyed hash (HMAC-SHA256 with a key derived from
  SECRET_KEY), never the user's id or address: lines of one user can be followed, and nobody
  can tell who it is without the key;
* `job_id`, `job`: inside a job;
* `duration_ms`: on the line that ends a request or a job.

What is never logged: request paths (a calendar feed or sign-in link carries its token in the
path; the route's pattern is logged instead), query strings, headers (Authorization, Cookie),
the session, form fields, and so no note text or password. The formatter passes only the fields
named here (a stray `extra=` cannot add others) and masks what looks like a credential in a
message, as a last guard.

The stdlib's logging with a small formatter: JSON lines need nothing more, and a library would
add a dependency to every process for a few dozen lines.
"""

from __future__ import annotations

import contextvars
import hashlib
import hmac
import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy import inspect as sa_inspect

LOG_FORMATS = ("json", "text")
#: An incoming X-Request-ID is used when it looks like an id (anything else could inject text
#: into the logs or be a tracking value): letters, digits and `-_.:`, 8 to 128 of them.
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
REQUEST_ID_HEADER = "X-Request-ID"
#: Fields an `extra=` may add to a JSON line; nothing else passes.
EXTRA_FIELDS = ("method", "endpoint", "route", "status", "duration_ms", "queue", "outcome")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(job_context)s%(request_context)s%(message)s"
#: The last guard: a credential that slipped into a message is masked ("Bearer abc" ->
#: "Bearer [masked]", "token=abc" -> "token=[masked]").
_CREDENTIALS = re.compile(
    r"(?i)(\b(?:bearer|basic)\s+(?=[\w.~+/=-]{8,})|"
    r"\b(?:authorization|cookie|password|passwd|secret|token|session)"
    r"\w*[\"']?\s*[=:]\s*[\"']?(?:(?:bearer|basic)\s+)?)([^\s\"',;&]+)"
)

#: Inside a job: (tenant slug or "-", job id, job name).
_job: contextvars.ContextVar[tuple[str, str, str] | None] = contextvars.ContextVar(
    "samenleren_job_log", default=None
)


# --- the context of a line -----------------------------------------------------------------


@contextmanager
def job_context(job_id: str, job: str) -> Iterator[None]:
    """Lines written inside carry the job's id and name (and its tenant: `set_job_tenant`)."""
    token = _job.set(("-", job_id, job))
    try:
        yield
    finally:
        _job.reset(token)


def set_job_tenant(slug: str) -> None:
    current = _job.get()
    if current is not None:
        _job.set((slug, current[1], current[2]))


def request_id() -> str:
    """The current request's id: its well-formed X-Request-ID, else one made (once)."""
    value = g.get("request_id")
    if value is None:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        value = incoming if REQUEST_ID.match(incoming) else uuid.uuid4().hex
        g.request_id = value
    return value


def pseudonym(kind: str, identifier: object) -> str:
    """A stable keyed hash of `identifier` (16 hex digits); the key derives from SECRET_KEY."""
    secret = str(current_app.config.get("SECRET_KEY", "")).encode()
    key = hashlib.sha256(b"samenleren log pseudonym\0" + secret).digest()
    message = f"{kind}:{identifier}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:16]


def _request_user() -> str | None:
    """The pseudonym of the user this request has loaded (never loads one: no query from a log
    call), or of the operator on the operator console."""
    user = g.get("_login_user")  # where Flask-Login keeps the user once loaded
    if user is not None and getattr(user, "is_authenticated", False):
        kind, identifier = "user", _primary_key(user, "id")
    elif g.get("operator") is not None:
        kind, identifier = "operator", getattr(g.operator, "subject", "")
    else:
        return None
    known = g.setdefault("_log_pseudonyms", {})
    if (kind, identifier) not in known:
        known[(kind, identifier)] = pseudonym(kind, identifier)
    return known[(kind, identifier)]


def _primary_key(instance: object, name: str) -> str:
    """A column of `instance`'s primary key, from its identity: never a query, also when a commit
    has expired the instance (reading `instance.id` would load it again)."""
    state = sa_inspect(instance, raiseerr=False)
    if state is None or state.identity is None:
        return str(getattr(instance, name, ""))
    keys = [column.key for column in state.mapper.primary_key]
    return str(dict(zip(keys, state.identity, strict=True)).get(name, ""))


def _request_tenant_slug() -> str | None:
    """The slug of the request's tenant, kept when the request began (see `init_app`): after a
    commit the tenant is expired, and reading its slug would query the database from a log call."""
    if "_log_tenant" in g:
        return g._log_tenant
    tenant = g.get("tenant")
    if tenant is None:
        return None
    slug = sa_inspect(tenant).dict.get("slug")
    return str(slug) if slug else None


def _context() -> dict[str, str]:
    fields: dict[str, str] = {}
    job = _job.get()
    if job is not None:
        fields.update(tenant=job[0], job_id=job[1], job=job[2])
    if has_request_context():
        fields["request_id"] = request_id()
        slug = _request_tenant_slug()
        if slug:
            fields["tenant"] = slug
        user = _request_user()
        if user:
            fields["user"] = user
    return fields


def install_record_factory() -> None:
    """Give every log record its context (`samenleren_context`) and the two prefixes of the
    text format: `job_context` (`[tenant=<slug> job=<id>] ` in a job) and `request_context`."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "_samenleren", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            context = _context()
        except Exception:  # noqa: BLE001 - a log call must never fail for its context
            context = {}
        record.samenleren_context = context
        record.job_context = (
            f"[tenant={context['tenant']} job={context['job_id']}] " if "job_id" in context else ""
        )
        record.request_context = (
            f"[request={context['request_id']} tenant={context.get('tenant', '-')} "
            f"user={context.get('user', '-')}] "
            if "request_id" in context
            else ""
        )
        return record

    factory._samenleren = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


# --- formatters ----------------------------------------------------------------------------


def mask_credentials(text: str) -> str:
    return _CREDENTIALS.sub(lambda m: f"{m.group(1)}[masked]", text)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, the context, allowed extras
    and the exception's traceback."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": mask_credentials(record.getMessage()),
        }
        line.update(getattr(record, "samenleren_context", None) or {})
        for name in EXTRA_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exception"] = mask_credentials(self.formatException(record.exc_info))
        elif record.exc_text:
            line["exception"] = mask_credentials(record.exc_text)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """The development format: readable, with the same context as prefixes."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        record.job_context = getattr(record, "job_context", "")
        record.request_context = getattr(record, "request_context", "")
        text = mask_credentials(super().format(record))
        duration = getattr(record, "duration_ms", None)
        return f"{text} ({duration} ms)" if duration is not None else text


def formatter(log_format: str) -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else TextFormatter()


def formatter_from_env() -> logging.Formatter:
    """For gunicorn's `logconfig_dict` (deploy/gunicorn.conf.py): the format the app would use."""
    from samenleren.core.config import log_format_from_env

    return formatter(log_format_from_env())


_HANDLER_MARK = "_samenleren_handler"


def configure_logging(log_format: str, level: str) -> None:
    """The root logger writes `log_format` lines to stderr at `level`. A root logger that already
    has a handler of someone else (gunicorn's, which uses our formatter; pytest's) keeps it."""
    install_record_factory()
    root = logging.getLogger()
    ours = [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]
    if ours:
        for handler in ours:
            handler.setFormatter(formatter(log_format))
    elif not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        setattr(handler, _HANDLER_MARK, True)
        handler.setFormatter(formatter(log_format))
        root.addHandler(handler)
    root.setLevel(level)
    # Alembic announces each of its plugins at INFO on every command; that is noise.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


# --- requests ------------------------------------------------------------------------------

request_log = logging.getLogger("samenleren.request")
#: Probes answer every few seconds: their lines are DEBUG, not INFO.
_QUIET_ENDPOINTS = {"health.healthz", "health.readyz", "static", "favicon.favicon"}


def init_app(app: Flask) -> None:
    """The request id (echoed as X-Request-ID) and one line per request: method, endpoint, the
    route's pattern (never the path itself), status and duration."""

    from flask import request_started

    # At the very start (before the tenant is resolved, which may already answer 404).
    def _start(sender: Flask, **extra: Any) -> None:
        g.request_started = time.perf_counter()
        request_id()

    request_started.connect(_start, app, weak=False)

    # After the tenant is resolved (a URL value preprocessor, which runs first) and before the
    # view: its slug, while the tenant is still loaded.
    @app.before_request
    def _keep_tenant_slug() -> None:
        tenant = g.get("tenant")
        if tenant is not None:
            g._log_tenant = tenant.slug

    @app.after_request
    def _finish(response: Any) -> Any:
        response.headers[REQUEST_ID_HEADER] = request_id()
        started = g.get("request_started")
        duration = round((time.perf_counter() - started) * 1000, 1) if started else None
        endpoint = request.endpoint or "-"
        request_log.log(
            logging.DEBUG if endpoint in _QUIET_ENDPOINTS else logging.INFO,
            "%s %s %s",
            request.method,
            request.url_rule.rule if request.url_rule is not None else "-",
            response.status_code,
            extra={
                "method": request.method,
                "endpoint": endpoint,
                "route": request.url_rule.rule if request.url_rule is not None else None,
                "status": response.status_code,
                "duration_ms": duration,
            },
        )
        return response
