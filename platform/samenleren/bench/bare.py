"""The bare page of the page benchmark, and the app `make bench` serves (`samenleren.bench_wsgi`).

The bare page is what a page of this platform cannot beat on the same gunicorn: the application
(every hook a request passes through), a SQLAlchemy session that runs `SELECT 1` as the runtime
role, and 20 kB of HTML. Every page of the benchmark is reported as a share of it. It exists only
in the app `samenleren.bench_wsgi` builds; `samenleren.wsgi` (production) never has it.
"""

from __future__ import annotations

from flask import Flask, Response
from sqlalchemy import text

from samenleren.core.extensions import db

BARE_PATH = "/_bench/bare"
BARE_SIZE = 20_000


def bare_html(size: int = BARE_SIZE) -> str:
    """An HTML document of exactly `size` bytes (ASCII)."""
    head = (
        '<!DOCTYPE html>\n<html lang="nl"><head><meta charset="utf-8"><title>Bare</title>'
        "</head><body><main>\n"
    )
    tail = "</main></body></html>\n"
    line = (
        "<p>Samen leren doet inspireren: iedere deelnemer krijgt een collega als leercoach.</p>\n"
    )
    body = (line * (size // len(line) + 1))[: size - len(head) - len(tail)]
    return head + body + tail


def add_bare_page(app: Flask) -> None:
    """Register the bare page on `app` (the benchmark's app only)."""
    html = bare_html()

    def bare() -> Response:
        db.session.execute(text("SELECT 1")).scalar_one()
        return Response(html, mimetype="text/html")

    app.add_url_rule(BARE_PATH, "bench_bare", bare)
