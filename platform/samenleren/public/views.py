"""`/.well-known/security.txt`, `/security` (coordinated vulnerability disclosure) and `/cookies`.

No login and no tenant: anyone may read them, and they show nothing of any tenant. The contact,
the policy address and how long the file stays valid come from configuration
(`SAMENLEREN_SECURITY_CONTACT`, `SAMENLEREN_SECURITY_POLICY`, `SAMENLEREN_SECURITY_TXT_DAYS`).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from flask import Blueprint, Response, current_app, render_template
from flask_babel import lazy_gettext as _l

from samenleren.core.db import utcnow

bp = Blueprint("public", __name__, template_folder="templates")


def security_txt(now: datetime) -> str:
    """The RFC 9116 fields. `Expires` lies `SAMENLEREN_SECURITY_TXT_DAYS` ahead (at most a year,
    as the RFC advises), counted from today's midnight so the file is the same all day."""
    config = current_app.config
    base = config["SAMENLEREN_BASE_URL"]
    midnight = datetime.combine(now.astimezone(UTC).date(), time.min, tzinfo=UTC)
    expires = midnight + timedelta(days=config["SAMENLEREN_SECURITY_TXT_DAYS"])
    fields = [
        *(f"Contact: {contact}" for contact in config["SAMENLEREN_SECURITY_CONTACT"]),
        f"Expires: {expires.strftime('%Y-%m-%dT%H:%M:%SZ')}",
        f"Policy: {config['SAMENLEREN_SECURITY_POLICY'] or base + '/security'}",
        "Preferred-Languages: nl, en",
        f"Canonical: {base}/.well-known/security.txt",
    ]
    return "\n".join(fields) + "\n"


@bp.get("/.well-known/security.txt")
def security_txt_file() -> Response:
    return Response(
        security_txt(utcnow()),
        mimetype="text/plain",
        headers={"Cache-Control": "public, max-age=86400"},
    )


@bp.get("/security")
def vulnerability_disclosure():
    contacts = current_app.config["SAMENLEREN_SECURITY_CONTACT"]
    return render_template("public/vulnerability_disclosure.html", contacts=contacts)


#: Every cookie the platform sets (a test checks that no page sets another): name, purpose, life.
COOKIES = [
    (
        "samenleren",
        _l(
            "Keeps you logged in and remembers your choice of language; protects forms "
            "against forgery."
        ),
        _l("Until you log out or close the browser"),
    ),
]


@bp.get("/cookies")
def cookie_statement():
    return render_template("public/cookies.html", cookies=COOKIES)
