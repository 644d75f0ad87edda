"""`/healthz` (the process answers) and `/readyz` (ready to serve pages).

Readiness depends on the database only. Without Redis the pages still answer (rate limits fall
back to memory, mail waits in the outbox, jobs are enqueued again when it returns), so a Redis
outage must not take every web pod out of its Service: `/readyz` then answers 200 with
`"status": "degraded"` and names Redis under `degraded`, for dashboards and people."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, jsonify
from sqlalchemy import text

from samenleren.core.extensions import db

log = logging.getLogger(__name__)
bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    checks = {"database": _database(), "redis": _redis()}
    failing = sorted(
        name for name, state in checks.items() if state not in {"ok", "not configured"}
    )
    down = [name for name in failing if name in _NEEDED_TO_SERVE]
    degraded = [name for name in failing if name not in _NEEDED_TO_SERVE]
    status = "unavailable" if down else "degraded" if degraded else "ok"
    body: dict[str, object] = {"status": status, "checks": checks}
    if down:
        body["down"] = down
    if degraded:
        body["degraded"] = degraded
    return jsonify(body), (503 if down else 200)


#: What a page cannot be served without (Redis is not: see the module docstring).
_NEEDED_TO_SERVE = frozenset({"database"})


def _database() -> str:
    try:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            if connection.dialect.name == "postgresql":
                # The runtime role must be subject to row-level security (the database wall).
                unsafe = connection.execute(
                    text(
                        "SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user"
                    )
                ).scalar()
                if unsafe:
                    return "role bypasses row-level security"
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"; details go to the log
        log.warning("readiness: database unreachable: %s", exc)
        return "unreachable"
    return "ok"


def _redis() -> str:
    url = current_app.config["REDIS_URL"]
    if not url:
        return "not configured"
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:  # noqa: BLE001
        log.warning("readiness: redis unreachable: %s", exc)
        return "unreachable"
    return "ok"
