"""Error pages in the page's language, with no internals."""

from __future__ import annotations

import logging

from flask import Flask, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

from samenleren.core.i18n import remember_language_choice
from samenleren.core.tenancy import current_tenant

log = logging.getLogger(__name__)

PAGES = {400, 403, 404, 405, 413, 429, 500, 503}


def _render(code: int):
    if request.path.startswith("/scim/") or request.accept_mimetypes.best == "application/json":
        return {"status": code}, code
    try:
        # A request refused before the before_request hooks ran (an unknown tenant in the URL,
        # a body too large for the CSRF check) has not taken in `?lang=` yet: do it here.
        remember_language_choice(persist=False)
        return render_template("errors/error.html", tenant=current_tenant(), code=code), code
    except Exception:
        log.exception("error page %s failed", code)
        return "Error", code


def init_error_pages(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        code = error.code or 500
        if code not in PAGES:
            code = 400 if 400 <= code < 500 else 500
        return _render(code)

    @app.errorhandler(Exception)
    def _unhandled(error: Exception):
        if isinstance(error, HTTPException):
            return _http_error(error)
        log.exception("unhandled error on %s %s", request.method, request.path)
        from samenleren.core.extensions import db

        db.session.rollback()
        return _render(InternalServerError.code)
