"""`/favicon.ico`: browsers ask for it on their own (for a file opened directly, a download,
an error page); it answers with the platform icon instead of a 404.

Pages name their icon themselves (`<link rel="icon">` in `base.html`): the tenant's logo when it
has one, else this same icon from `static/`.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, send_from_directory

bp = Blueprint("favicon", __name__)

#: The platform icon in `static/`: square, scales to any size.
ICON = "favicon.svg"


@bp.get("/favicon.ico")
def favicon() -> Response:
    static = current_app.static_folder
    assert static is not None  # the app always has its static folder
    response = send_from_directory(static, ICON, mimetype="image/svg+xml", max_age=86_400)
    response.cache_control.public = True
    return response
