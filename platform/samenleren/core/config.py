"""Settings, read from the environment and nowhere else.

Every variable is documented in README.md ("Configuration"). `load_config()` returns a plain dict
that `create_app()` puts into `app.config`; tests pass overrides on top of it.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

from samenleren.core.outbound import parse_allowed_hosts

#: The repository root: `platform/samenleren/core/config.py` -> four levels up. Translations, tenant
#: manifests and migrations live there, not inside the package.
REPO_ROOT = Path(__file__).resolve().parents[3]

#: Languages the interface is offered in. `nl` is the default; `en` is complete; `fy` (Frysk) is
#: offered for Fryslân and falls back to Dutch where a message has no Frisian translation yet.
LANGUAGES = ("nl", "en", "fy")
DEFAULT_LOCALE = "nl"

#: Values of SECRET_KEY that are never acceptable in production.
_DEVELOPMENT_SECRET = "development-only-secret-not-for-production"  # noqa: S105


class ConfigError(RuntimeError):
    """The environment does not describe a runnable configuration."""


def _flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def load_config() -> dict:
    env = os.environ.get("SAMENLEREN_ENV", "production").strip().lower()
    if env not in {"production", "development", "test"}:
        raise ConfigError(f"SAMENLEREN_ENV must be production, development or test, not {env!r}")
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url:
        if env == "production":
            raise ConfigError("DATABASE_URL is not set")
        database_url = f"sqlite:///{REPO_ROOT / 'var' / 'samenleren.sqlite'}"
    secret_key = os.environ.get("SECRET_KEY", "")
    if env == "production" and (len(secret_key) < 32 or secret_key == _DEVELOPMENT_SECRET):
        raise ConfigError(
            "SECRET_KEY must be set to a random value of at least 32 characters in production "
            '(for example: python -c "import secrets; print(secrets.token_urlsafe(48))")'
        )
    if not secret_key:
        secret_key = _DEVELOPMENT_SECRET
    production = env == "production"
    encryption_keys = _encryption_keys(env, secret_key)
    return {
        "SAMENLEREN_ENV": env,
        "SECRET_KEY": secret_key,
        "SQLALCHEMY_DATABASE_URI": _psycopg_url(database_url),
        "MIGRATIONS_DATABASE_URL": _psycopg_url(
            os.environ.get("MIGRATIONS_DATABASE_URL") or database_url
        ),
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options(database_url, production),
        "REDIS_URL": os.environ.get("REDIS_URL", ""),
        # How long the programme report keeps figures nothing has changed since (insight.cache).
        "SAMENLEREN_INSIGHT_CACHE_SECONDS": _insight_cache_seconds(),
        # Jobs and mail (samenleren.core.jobs, samenleren.notifications); README "Configuration".
        **_mail_config(env),
        "SAMENLEREN_TENANTS_DIR": os.environ.get(
            "SAMENLEREN_TENANTS_DIR", str(REPO_ROOT / "tenants")
        ),
        "SAMENLEREN_SESSION_HOURS": int(os.environ.get("SAMENLEREN_SESSION_HOURS", "10")),
        "SAMENLEREN_PROXY_FIX": _flag("SAMENLEREN_PROXY_FIX"),
        # Logs and metrics (samenleren.core.logs, samenleren.core.metrics); README "Observability".
        "SAMENLEREN_LOG_FORMAT": log_format_from_env(),
        "SAMENLEREN_LOG_LEVEL": os.environ.get("SAMENLEREN_LOG_LEVEL", "INFO").strip().upper(),
        "SAMENLEREN_METRICS_PORT": metrics_port_from_env(),
        # Optional, off unless set (samenleren.core.tracing; the `observability` extra).
        "SENTRY_DSN": os.environ.get("SENTRY_DSN", "").strip(),
        "OTEL_EXPORTER_OTLP_ENDPOINT": (
            os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
            or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            or ""
        ).strip(),
        "SAMENLEREN_OIDC_TIMEOUT": float(os.environ.get("SAMENLEREN_OIDC_TIMEOUT", "10")),
        # Hosts of identity providers on premises, which may resolve to private addresses and
        # may be named by a discovery document besides the issuer's own host (core/outbound.py).
        "SAMENLEREN_OIDC_ALLOWED_HOSTS": tuple(
            sorted(parse_allowed_hosts(os.environ.get("SAMENLEREN_OIDC_ALLOWED_HOSTS", "")))
        ),
        # The operator console: the platform's own identity provider and who may use it.
        **_operator_config(env),
        # Fernet keys for secrets kept in the database (the first encrypts, all decrypt).
        "SAMENLEREN_SECRET_ENCRYPTION_KEYS": encryption_keys,
        "SAMENLEREN_SIGN_IN_LINK_HOURS": int(os.environ.get("SAMENLEREN_SIGN_IN_LINK_HOURS", "24")),
        # security.txt (RFC 9116) and the vulnerability disclosure page: contacts (mailto: or
        # https: addresses, comma-separated), the policy's address (default: /security) and
        # how many days ahead `Expires` lies (at most a year).
        "SAMENLEREN_SECURITY_CONTACT": _security_contacts(),
        "SAMENLEREN_SECURITY_POLICY": os.environ.get("SAMENLEREN_SECURITY_POLICY", "").strip(),
        "SAMENLEREN_SECURITY_TXT_DAYS": _security_txt_days(),
        "BABEL_DEFAULT_LOCALE": DEFAULT_LOCALE,
        "BABEL_TRANSLATION_DIRECTORIES": str(REPO_ROOT / "translations"),
        # Cookies: the Flask session carries only the login-session id and short-lived OIDC
        # state; the login itself lives in the database so that logout really ends it.
        "SESSION_COOKIE_NAME": "samenleren",
        "SESSION_COOKIE_HTTPONLY": True,
        # Lax, not Strict: the IdP's redirect back to /auth/callback is a cross-site navigation.
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "MAX_CONTENT_LENGTH": int(os.environ.get("SAMENLEREN_MAX_UPLOAD_BYTES", str(2**20))),
        "WTF_CSRF_TIME_LIMIT": None,  # bound to the session instead; forms may stay open long
        "TESTING": env == "test",
        **_rate_limit_config(env, os.environ.get("REDIS_URL", "")),
    }


def log_format_from_env() -> str:
    """SAMENLEREN_LOG_FORMAT: `json` (one object per line; the default in production) or `text`."""
    env = os.environ.get("SAMENLEREN_ENV", "production").strip().lower()
    value = os.environ.get("SAMENLEREN_LOG_FORMAT", "").strip().lower()
    value = value or ("json" if env == "production" else "text")
    if value not in {"json", "text"}:
        raise ConfigError(f"SAMENLEREN_LOG_FORMAT must be json or text, not {value!r}")
    return value


def metrics_port_from_env() -> int:
    """SAMENLEREN_METRICS_PORT: the port of the Prometheus endpoint of a worker or the scheduler
    (gunicorn's master serves the web processes' on the same port, deploy/gunicorn.conf.py).
    9100 by default in production, off (0) elsewhere; 0 turns it off."""
    env = os.environ.get("SAMENLEREN_ENV", "production").strip().lower()
    raw = os.environ.get("SAMENLEREN_METRICS_PORT", "").strip()
    if not raw:
        return 9100 if env == "production" else 0
    if not raw.isdigit() or int(raw) > 65535:
        raise ConfigError(f"SAMENLEREN_METRICS_PORT must be a port number, not {raw!r}")
    return int(raw)


#: Requests per tenant and per client (IP address, or a SCIM token) before 429 Too Many Requests.
#: Many employees may share one office address (NAT), so login and callback are not tight.
_RATE_LIMITS = {
    "SAMENLEREN_RATELIMIT_LOGIN": "60 per minute",
    "SAMENLEREN_RATELIMIT_CALLBACK": "60 per minute",
    "SAMENLEREN_RATELIMIT_SCIM": "600 per minute",
    # Fetches of one personal calendar feed link (calendars poll every few minutes at most).
    "SAMENLEREN_RATELIMIT_FEED": "60 per hour",
}
#: The test suite logs in hundreds of times a minute from 127.0.0.1; the rate limit tests set
#: their own small limits.
_TEST_RATE_LIMIT = "100000 per minute"


def _rate_limit_config(env: str, redis_url: str) -> dict:
    """Flask-Limiter's settings (samenleren.core.ratelimits): counters in Redis when there is
    one, in the process otherwise (`make run`, the embedded default)."""
    from limits import parse_many

    config: dict = {}
    for name, default in _RATE_LIMITS.items():
        value = os.environ.get(name) or (_TEST_RATE_LIMIT if env == "test" else default)
        try:
            parse_many(value)
        except ValueError:
            raise ConfigError(f'{name} must look like "20 per minute", not {value!r}') from None
        config[name] = value
    prefix = os.environ.get("SAMENLEREN_RATELIMIT_KEY_PREFIX", "")
    if not prefix:
        # Parallel test runs share one Redis: each run counts under its own prefix.
        prefix = f"samenleren-test-{secrets.token_hex(4)}" if env == "test" else "samenleren"
    config.update(
        {
            "RATELIMIT_STORAGE_URI": redis_url or "memory://",
            # Short timeouts: a Redis that hangs must not hang logins (we fail open, see there).
            "RATELIMIT_STORAGE_OPTIONS": (
                {"socket_connect_timeout": 0.5, "socket_timeout": 0.5} if redis_url else {}
            ),
            "RATELIMIT_KEY_PREFIX": prefix,
            "RATELIMIT_STRATEGY": "moving-window",  # exact: no burst at a window's edge
            "RATELIMIT_HEADERS_ENABLED": True,  # Retry-After (and X-RateLimit-*) on limited routes
            "RATELIMIT_SWALLOW_ERRORS": True,  # fail open when Redis is down
        }
    )
    return config


def _mail_config(env: str) -> dict:
    """Outgoing mail and the job queues. Without SMTP_URL outside production, mails are written
    as .eml files to `SAMENLEREN_MAIL_DIR` (var/mail) instead of being sent."""
    from urllib.parse import urlsplit

    smtp_url = os.environ.get("SMTP_URL", "")
    if smtp_url and urlsplit(smtp_url).scheme not in {"smtp", "smtp+starttls", "smtps"}:
        raise ConfigError("SMTP_URL must start with smtp://, smtp+starttls:// or smtps://")
    prefix = os.environ.get("SAMENLEREN_QUEUE_PREFIX", "")
    if not prefix and env == "test":
        prefix = f"samenleren-test-{secrets.token_hex(4)}:"  # parallel runs share one Redis
    return {
        "SMTP_URL": smtp_url,
        "SAMENLEREN_MAIL_FROM": os.environ.get(
            "SAMENLEREN_MAIL_FROM", "Samen Leren <noreply@samenleren.example>"
        ),
        "SAMENLEREN_BASE_URL": _base_url(env),
        # Tests without an SMTP sink write their mails outside the repository.
        "SAMENLEREN_MAIL_DIR": os.environ.get("SAMENLEREN_MAIL_DIR")
        or str(
            Path(tempfile.gettempdir()) / "samenleren-test-mail"
            if env == "test"
            else REPO_ROOT / "var" / "mail"
        ),
        #: How long a worker may hold a claimed notification before another may take it over.
        "SAMENLEREN_MAIL_LEASE_SECONDS": int(
            os.environ.get("SAMENLEREN_MAIL_LEASE_SECONDS", "300")
        ),
        "SAMENLEREN_MAIL_BATCH": int(os.environ.get("SAMENLEREN_MAIL_BATCH", "100")),
        "SAMENLEREN_QUEUE_PREFIX": prefix,
    }


def _security_contacts() -> list[str]:
    raw = os.environ.get("SAMENLEREN_SECURITY_CONTACT", "mailto:security@samenleren.example")
    contacts = [part.strip() for part in raw.split(",") if part.strip()]
    for contact in contacts:
        if not contact.startswith(("mailto:", "https://", "tel:")):
            raise ConfigError(
                "SAMENLEREN_SECURITY_CONTACT: each contact is a mailto:, https:// or tel: "
                f"address, not {contact!r}"
            )
    if not contacts:
        raise ConfigError("SAMENLEREN_SECURITY_CONTACT needs at least one contact")
    return contacts


def _insight_cache_seconds() -> int:
    raw = os.environ.get("SAMENLEREN_INSIGHT_CACHE_SECONDS", "3600").strip()
    if not raw.isdigit() or int(raw) > 86400:
        raise ConfigError(
            f"SAMENLEREN_INSIGHT_CACHE_SECONDS must be 0 (no cache) to 86400 seconds, not {raw!r}"
        )
    return int(raw)


def _security_txt_days() -> int:
    raw = os.environ.get("SAMENLEREN_SECURITY_TXT_DAYS", "180").strip()
    if not raw.isdigit() or not 1 <= int(raw) <= 365:
        raise ConfigError(f"SAMENLEREN_SECURITY_TXT_DAYS must be 1 to 365 days, not {raw!r}")
    return int(raw)


def _base_url(env: str) -> str:
    """SAMENLEREN_BASE_URL: the public address in links of mails and calendar events. Production
    refuses to start without it (a default would send every recipient a wrong link)."""
    from urllib.parse import urlsplit

    url = os.environ.get("SAMENLEREN_BASE_URL", "").strip()
    if not url:
        if env == "production":
            raise ConfigError(
                "SAMENLEREN_BASE_URL must be set in production: the public address of the "
                "platform, used in mails and calendar invitations (e.g. https://samenleren.example.nl)"
            )
        return "http://127.0.0.1:5000"
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ConfigError(
            "SAMENLEREN_BASE_URL must be an http(s) address such as "
            f"https://samenleren.example.nl, not {url!r}"
        )
    return url.rstrip("/")


def _encryption_keys(env: str, secret_key: str) -> list[str]:
    """SAMENLEREN_SECRET_ENCRYPTION_KEY: one Fernet key, or several separated by commas (newest
    first) while the stored secrets are re-encrypted with `flask sso reencrypt-secrets`.

    Production refuses to start without it. Development and tests derive one from SECRET_KEY, so
    secrets stored there become unreadable when SECRET_KEY changes (set the variable to avoid it).
    """
    import base64
    import binascii
    import hashlib

    raw = os.environ.get("SAMENLEREN_SECRET_ENCRYPTION_KEY", "")
    keys = [key.strip() for key in raw.split(",") if key.strip()]
    if not keys:
        if env == "production":
            raise ConfigError(
                "SAMENLEREN_SECRET_ENCRYPTION_KEY must be set in production (generate one with: "
                'python -c "from cryptography.fernet import Fernet; '
                'print(Fernet.generate_key().decode())")'
            )
        digest = hashlib.sha256(b"samenleren secret encryption\0" + secret_key.encode()).digest()
        return [base64.urlsafe_b64encode(digest).decode()]
    for position, key in enumerate(keys, start=1):
        try:
            valid = len(base64.urlsafe_b64decode(key.encode())) == 32
        except (binascii.Error, ValueError):
            valid = False
        if not valid:
            raise ConfigError(
                f"SAMENLEREN_SECRET_ENCRYPTION_KEY: key {position} is not a Fernet key "
                "(32 bytes, URL-safe base64, as Fernet.generate_key() makes)"
            )
    return keys


def _operator_config(env: str) -> dict:
    """The platform's own OpenID Connect provider, for the operator console (no tenant).

    Without an issuer the console cannot be logged in to. Operators are the subjects listed in
    SAMENLEREN_OPERATORS (comma-separated) and/or the members of SAMENLEREN_OPERATOR_GROUP (a
    value of the ID token's `groups` claim); anyone else is refused.
    """
    issuer = os.environ.get("SAMENLEREN_OPERATOR_OIDC_ISSUER", "").strip()
    client_id = os.environ.get("SAMENLEREN_OPERATOR_OIDC_CLIENT_ID", "").strip()
    secret = os.environ.get("SAMENLEREN_OPERATOR_OIDC_CLIENT_SECRET", "")
    scopes = os.environ.get("SAMENLEREN_OPERATOR_OIDC_SCOPES", "openid profile email").split()
    operators = os.environ.get("SAMENLEREN_OPERATORS", "")
    group = os.environ.get("SAMENLEREN_OPERATOR_GROUP", "").strip()
    subjects = tuple(sub.strip() for sub in operators.split(",") if sub.strip())
    if issuer:
        missing = [
            name
            for name, value in (
                ("SAMENLEREN_OPERATOR_OIDC_CLIENT_ID", client_id),
                ("SAMENLEREN_OPERATOR_OIDC_CLIENT_SECRET", secret),
            )
            if not value
        ]
        if missing and env == "production":
            raise ConfigError(f"SAMENLEREN_OPERATOR_OIDC_ISSUER is set, but not {missing[0]}")
        if "openid" not in scopes:
            raise ConfigError('SAMENLEREN_OPERATOR_OIDC_SCOPES must include "openid"')
        if env == "production" and not (subjects or group):
            raise ConfigError(
                "SAMENLEREN_OPERATOR_OIDC_ISSUER is set, but nobody may use the console: set "
                "SAMENLEREN_OPERATORS (subjects) or SAMENLEREN_OPERATOR_GROUP"
            )
    return {
        "SAMENLEREN_OPERATOR_OIDC_ISSUER": issuer,
        "SAMENLEREN_OPERATOR_OIDC_CLIENT_ID": client_id,
        "SAMENLEREN_OPERATOR_OIDC_CLIENT_SECRET": secret,
        "SAMENLEREN_OPERATOR_OIDC_SCOPES": tuple(scopes),
        "SAMENLEREN_OPERATORS": subjects,
        "SAMENLEREN_OPERATOR_GROUP": group,
        #: Seconds the console's "test SSO" waits for each answer of a tenant's IdP.
        "SAMENLEREN_SSO_TEST_TIMEOUT": float(os.environ.get("SAMENLEREN_SSO_TEST_TIMEOUT", "5")),
    }


def engine_options(database_url: str, production: bool) -> dict:
    """SQLAlchemy's engine settings. Behind a pooler in transaction mode (PgBouncer, the
    CloudNativePG `Pooler`), SAMENLEREN_TRANSACTION_POOLER=1 turns off psycopg's server-side
    prepared statements: psycopg prepares a query on its fifth use, on the server connection it
    happens to have, and the pooler may give the next transaction another server connection that
    never saw it ("prepared statement _pg3_0 does not exist"). docs/scaling.md.

    Production keeps statement parameters out of error messages, so out of the logs (they may be
    a note's text or an address).

    No ping on every checkout (a round trip per request): a connection that died with the
    server (a restart, a failover) is found by the first statement of a tenant request, which
    `core.web` then runs again on a fresh connection; SQLAlchemy replaces every older connection
    of the pool at that moment. `pool_recycle` retires connections after 30 minutes, before any
    idle timeout of a pooler or a firewall would cut them.

    PostgreSQL's JIT compilation is off for our connections (`-c jit=off`, a startup option:
    no round trip). PostgreSQL compiles any statement the planner thinks costs more than
    `jit_above_cost`; for the programme report's aggregates over a large tenant's year that
    took 120 ms to save a few (docs/performance.md), and our statements are short. A
    transaction pooler does not pass startup options on (nor may a new connection cost a
    server round trip there): behind one, the database server's own setting does it
    (`jit: "off"` in the CloudNativePG cluster, deploy/; docs/scaling.md)."""
    options: dict = {"pool_pre_ping": False, "pool_recycle": 1800, "hide_parameters": production}
    if not database_url.startswith("postgres"):
        return options
    if _flag("SAMENLEREN_TRANSACTION_POOLER"):
        options["connect_args"] = {"prepare_threshold": None}
    else:
        options["connect_args"] = {"options": "-c jit=off"}
    return options


def _psycopg_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs written the usual way (postgresql://...)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
