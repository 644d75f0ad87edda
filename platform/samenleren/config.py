"""Settings, read from the environment and nowhere else.

Every variable is documented in README.md ("Configuration"). `load_config()` returns a plain dict
that `create_app()` puts into `app.config`; tests pass overrides on top of it.
"""

from __future__ import annotations

import os
from pathlib import Path

#: The repository root: `platform/samenleren/config.py` -> three levels up. Translations, tenant
#: manifests and migrations live there, not inside the package (architecture.md, "Layout").
REPO_ROOT = Path(__file__).resolve().parents[2]

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
    return {
        "SAMENLEREN_ENV": env,
        "SECRET_KEY": secret_key,
        "SQLALCHEMY_DATABASE_URI": _psycopg_url(database_url),
        "MIGRATIONS_DATABASE_URL": _psycopg_url(
            os.environ.get("MIGRATIONS_DATABASE_URL") or database_url
        ),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "REDIS_URL": os.environ.get("REDIS_URL", ""),
        "SAMENLEREN_TENANTS_DIR": os.environ.get(
            "SAMENLEREN_TENANTS_DIR", str(REPO_ROOT / "tenants")
        ),
        "SAMENLEREN_SESSION_HOURS": int(os.environ.get("SAMENLEREN_SESSION_HOURS", "10")),
        "SAMENLEREN_PROXY_FIX": _flag("SAMENLEREN_PROXY_FIX"),
        "SAMENLEREN_OIDC_TIMEOUT": float(os.environ.get("SAMENLEREN_OIDC_TIMEOUT", "10")),
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
    }


def _psycopg_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs written the usual way (postgresql://...)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
