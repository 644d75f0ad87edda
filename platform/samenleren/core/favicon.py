"""`/favicon.ico`: browsers ask for it on their own (for a file opened directly, a download,
an error page); it answers with the platform icon instead of a 404.

Pages name their icon themselves (`<link rel="icon">` in `base.html`): the tenant's logo when it
has one, else this same icon from `static/`.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from flask import Blueprint, Response, current_app

bp = Blueprint("favicon", __name__)

#: The platform icon in `static/`: square, scales to any size.
ICON = "favicon.svg"


@cache
def _icon(static: str) -> bytes:
    """Read once per process: a small file, answered from memory (no file handle per request)."""
    return (Path(static) / ICON).read_bytes()


@bp.get("/favicon.ico")
def favicon() -> Response:
    static = current_app.static_folder
    assert static is not None  # the app always has its static folder
    response = Response(_icon(static), mimetype="image/svg+xml")
    response.cache_control.public = True
    response.cache_control.max_age = 86_400
    return response
