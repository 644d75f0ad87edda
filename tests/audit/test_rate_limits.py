"""Rate limits on login, callback and SCIM: counted in Redis per tenant and per client.

Each test sets small limits and uses client addresses of its own (only as the WSGI
REMOTE_ADDR: no traffic goes anywhere), so the counters of other tests never interfere.
"""

from __future__ import annotations

import logging
import secrets

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.audit.helpers import events
from tests.conftest import TenantRef


@pytest.fixture
def small_limits(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "SAMENLEREN_RATELIMIT_LOGIN", "3 per minute")
    monkeypatch.setitem(app.config, "SAMENLEREN_RATELIMIT_CALLBACK", "2 per minute")
    monkeypatch.setitem(app.config, "SAMENLEREN_RATELIMIT_SCIM", "4 per minute")


def new_address() -> str:
    return f"127.{secrets.randbelow(250) + 1}.{secrets.randbelow(250)}.{secrets.randbelow(250)}"


def client_at(app: Flask, address: str) -> FlaskClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def start_logins(client: FlaskClient, tenant: TenantRef, count: int) -> list[int]:
    return [client.get(f"/{tenant.slug}/auth/login").status_code for _ in range(count)]


def test_the_login_limit_gives_a_clear_429_with_retry_after(app, tenants, small_limits):
    client = client_at(app, new_address())
    client.get("/flevoland/?lang=en")
    first = client.get("/flevoland/auth/login")
    assert first.status_code == 302
    assert first.headers["X-RateLimit-Limit"] == "3"
    assert first.headers["X-RateLimit-Remaining"] == "2"
    assert start_logins(client, tenants["flevoland"], 2) == [302, 302]

    refused = client.get("/flevoland/auth/login")
    assert refused.status_code == 429
    page = refused.get_data(as_text=True)
    assert '<h1 class="utrecht-heading-1">Too many requests</h1>' in page
    assert "You have tried this too often in a short time. Wait a minute and try again." in page
    assert 'lang="en"' in page
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert "localhost:" not in refused.headers.get("Location", "")  # not sent to the IdP


def test_the_dutch_page_says_it_in_dutch(app, tenants, small_limits):
    from tests.identity.test_oidc_login import translated

    client = client_at(app, new_address())
    start_logins(client, tenants["flevoland"], 3)
    refused = client.get("/flevoland/auth/login")
    assert refused.status_code == 429
    assert translated(app, "Too many requests", "nl") in refused.get_data(as_text=True)


def test_another_tenant_counts_separately(app, tenants, small_limits):
    client = client_at(app, new_address())
    assert start_logins(client, tenants["flevoland"], 4) == [302, 302, 302, 429]
    assert start_logins(client, tenants["gelderland"], 4) == [302, 302, 302, 429]
    assert start_logins(client, tenants["flevoland"], 1) == [429]


def test_another_client_counts_separately(app, tenants, small_limits):
    first = client_at(app, new_address())
    assert start_logins(first, tenants["flevoland"], 4) == [302, 302, 302, 429]
    # Another browser at the same address shares the limit; another address has its own.
    same_address = client_at(app, first.environ_base["REMOTE_ADDR"])
    assert start_logins(same_address, tenants["flevoland"], 1) == [429]
    other = client_at(app, new_address())
    assert start_logins(other, tenants["flevoland"], 3) == [302, 302, 302]


def test_the_callback_has_its_own_limit_and_a_refused_call_records_nothing(
    app, tenants, small_limits
):
    client = client_at(app, new_address())
    callback = "/flevoland/auth/callback?code=guess&state=guess"
    assert [client.get(callback).status_code for _ in range(3)] == [403, 403, 429]
    # Callbacks without a valid state are anyone's requests: none is in the audit log.
    assert events(app, tenants["flevoland"]) == []
    # The login itself is counted apart from the callback.
    assert start_logins(client, tenants["flevoland"], 1) == [302]


def test_limits_follow_the_configuration(app, tenants, monkeypatch):
    monkeypatch.setitem(app.config, "SAMENLEREN_RATELIMIT_LOGIN", "1 per minute")
    client = client_at(app, new_address())
    assert start_logins(client, tenants["flevoland"], 2) == [302, 429]
    monkeypatch.setitem(app.config, "SAMENLEREN_RATELIMIT_LOGIN", "5 per minute")
    assert start_logins(client, tenants["flevoland"], 1) == [302]


def test_scim_is_limited_per_tenant_and_client_with_a_scim_error(app, tenants, small_limits):
    client = client_at(app, new_address())
    statuses = [client.get("/scim/v2/flevoland/Users").status_code for _ in range(5)]
    assert statuses == [401, 401, 401, 401, 429]
    refused = client.get("/scim/v2/flevoland/Users")
    assert refused.status_code == 429
    body = refused.get_json(force=True)
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert body["status"] == "429"
    assert body["detail"]
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    # All SCIM endpoints share the counter; another tenant has its own.
    assert client.get("/scim/v2/flevoland/Groups").status_code == 429
    assert client.get("/scim/v2/gelderland/Users").status_code == 401


def test_without_redis_logins_go_through_and_a_warning_is_logged(app, tenants, monkeypatch, caplog):
    """Fail open: a Redis outage must not lock everyone out of the platform."""
    from limits.storage import storage_from_string
    from limits.strategies import MovingWindowRateLimiter

    from samenleren.core.ratelimits import limiter

    monkeypatch.setitem(app.config, "SAMENLEREN_RATELIMIT_LOGIN", "1 per minute")
    dead = storage_from_string("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    monkeypatch.setattr(limiter, "_limiter", MovingWindowRateLimiter(dead))
    caplog.set_level(logging.WARNING)
    # Alembic's logging setup (the upgrade in the `app` fixture) disables loggers that existed
    # before it; a web process never runs it.
    monkeypatch.setattr(logging.getLogger("flask-limiter"), "disabled", False)
    client = client_at(app, new_address())
    assert start_logins(client, tenants["flevoland"], 3) == [302, 302, 302]
    assert any(
        record.levelno >= logging.WARNING and "rate limit" in record.getMessage().lower()
        for record in caplog.records
    )


def test_without_redis_the_failure_is_logged_once_a_minute_without_traceback(
    app, tenants, monkeypatch, caplog
):
    """An outage fails every limited request the same way: one line a minute per process, not a
    traceback per login."""
    from limits.storage import storage_from_string
    from limits.strategies import MovingWindowRateLimiter

    from samenleren.core.ratelimits import QuietStorageErrors, limiter

    dead = storage_from_string("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    monkeypatch.setattr(limiter, "_limiter", MovingWindowRateLimiter(dead))
    now = [1000.0]
    quiet = next(f for f in limiter.logger.filters if isinstance(f, QuietStorageErrors))
    monkeypatch.setattr(quiet, "clock", lambda: now[0])
    monkeypatch.setattr(quiet, "last", None)
    caplog.set_level(logging.WARNING)
    monkeypatch.setattr(logging.getLogger("flask-limiter"), "disabled", False)
    client = client_at(app, new_address())

    assert start_logins(client, tenants["flevoland"], 5) == [302] * 5
    now[0] += 30
    assert start_logins(client, tenants["flevoland"], 2) == [302, 302]
    logged = [r for r in caplog.records if r.name == "flask-limiter"]
    assert len(logged) == 1
    assert logged[0].exc_info is None
    assert "rate limits not applied" in logged[0].getMessage()
    assert "ConnectionError" in logged[0].getMessage()

    now[0] += 31  # a minute after the first report
    assert start_logins(client, tenants["flevoland"], 1) == [302]
    logged = [r for r in caplog.records if r.name == "flask-limiter"]
    assert len(logged) == 2
    assert "6 more since the last report" in logged[1].getMessage()


def test_a_malformed_limit_in_the_environment_stops_the_start(monkeypatch):
    from samenleren.core.config import ConfigError, load_config

    monkeypatch.setenv("SAMENLEREN_ENV", "test")
    monkeypatch.setenv("SAMENLEREN_RATELIMIT_LOGIN", "lots")
    with pytest.raises(ConfigError, match="SAMENLEREN_RATELIMIT_LOGIN"):
        load_config()
    monkeypatch.setenv("SAMENLEREN_RATELIMIT_LOGIN", "20 per minute; 200 per hour")
    assert load_config()["SAMENLEREN_RATELIMIT_LOGIN"] == "20 per minute; 200 per hour"
