"""Rate limits on login, the login callback and SCIM, counted per tenant and per client.

Flask-Limiter keeps the counters in Redis (`REDIS_URL`; in the process when there is none, as
in `make run`). A counter's key is the tenant's slug and the client: the client's IP address, or
what the request has identified itself as (`identify_client`, e.g. a SCIM token's id). The
limits come from the configuration on every request (`SAMENLEREN_RATELIMIT_LOGIN`, ...), so a
changed setting needs no code change.

Exceeded: 429 with the error page in the visitor's language (SCIM: a SCIM error in JSON) and a
`Retry-After` header saying when to try again.

Redis down: we **fail open** (Flask-Limiter's `swallow_errors`, see `config.py`): the request goes
through and the failure is logged. A Redis outage must not lock every employee out of the
platform; the limits are a brake on abuse, and authentication does not depend on them. The
failure is logged at most once a minute per process, in one line without a traceback
(`QuietStorageErrors`): during an outage every limited request fails the same way.

Usage for SCIM (`/scim/v2/<tenant>/...`)::

    from samenleren.core.ratelimits import identify_client, scim_rate_limit

    @bp.get("/scim/v2/<tenant>/Users")
    @require_scim_token          # after authenticating: identify_client(token.id)
    @scim_rate_limit             # one counter for all SCIM endpoints, per tenant and token
    def list_users(): ...

Put `@scim_rate_limit` above the authentication instead to count failed attempts too (by IP).
"""

from __future__ import annotations

import logging
import time

from flask import Flask, current_app, g, request
from flask_babel import gettext
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded

from samenleren.core.tenancy import current_tenant

log = logging.getLogger(__name__)


def identify_client(client_id: object) -> None:
    """Count this request's limits for `client_id` (e.g. a SCIM token's id) instead of its IP."""
    g.rate_limit_client = str(client_id)


def client_key() -> str:
    """`<tenant slug>/<client>`: one tenant's visitors never use up another tenant's limit."""
    tenant = current_tenant()
    if tenant is not None:
        slug = tenant.slug
    else:  # not resolved (yet): the slug as the URL gives it
        arguments = request.view_args or {}
        slug = str(arguments.get("tenant") or arguments.get("slug") or "-")
    client = g.get("rate_limit_client") or request.remote_addr or "unknown"
    return f"{slug}/{client}"


limiter = Limiter(key_func=client_key)


def _configured(name: str):
    """The limit in `app.config[name]`, read on every request (tests and operators change it)."""
    return lambda: current_app.config[name]


#: `/<tenant>/auth/login`: starting a login (a redirect to the tenant's identity provider).
login_rate_limit = limiter.limit(_configured("SAMENLEREN_RATELIMIT_LOGIN"), key_func=client_key)
#: `/<tenant>/auth/callback`: the identity provider's answer (code exchange, token checks).
callback_rate_limit = limiter.limit(
    _configured("SAMENLEREN_RATELIMIT_CALLBACK"), key_func=client_key
)
#: Every SCIM endpoint together: one counter per tenant and client.
scim_rate_limit = limiter.shared_limit(
    _configured("SAMENLEREN_RATELIMIT_SCIM"), scope="scim", key_func=client_key
)


class QuietStorageErrors(logging.Filter):
    """Flask-Limiter logs a swallowed error with its traceback on every limited request; while
    Redis is down that is one traceback per login. This lets one line through per `interval`
    seconds (the exception's type and text, and how many were left out) and drops the rest."""

    def __init__(self, interval: float = 60.0, clock=time.monotonic) -> None:
        super().__init__()
        self.interval = interval
        self.clock = clock
        self.last: float | None = None
        self.suppressed = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.getMessage().startswith("Failed to"):
            return True
        now = self.clock()
        if self.last is not None and now - self.last < self.interval:
            self.suppressed += 1
            return False
        error = record.exc_info[1] if record.exc_info else None
        record.msg = "rate limits not applied (failing open): %s: %s; %d more since the last report"
        record.args = (type(error).__name__, error, self.suppressed)
        record.exc_info = record.exc_text = None
        self.last, self.suppressed = now, 0
        return True


def init_app(app: Flask) -> None:
    limiter.init_app(app)
    if not any(isinstance(f, QuietStorageErrors) for f in limiter.logger.filters):
        limiter.logger.addFilter(QuietStorageErrors())

    @app.errorhandler(RateLimitExceeded)
    def _too_many_requests(error: RateLimitExceeded):
        log.warning(
            "rate limit %s exceeded by %s on %s %s",
            error.limit.limit,
            client_key(),
            request.method,
            request.path,
        )
        if request.path.startswith("/scim/"):
            # RFC 7644, 3.12: the SCIM error shape. Retry-After is added by the limiter.
            body = {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                "status": "429",
                "detail": gettext("Too many requests. Wait a moment and try again."),
            }
            return body, 429, {"Content-Type": "application/scim+json"}
        from samenleren.core.errors import _render

        return _render(429)
