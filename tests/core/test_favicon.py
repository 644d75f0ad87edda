"""Every page names an icon that exists: the tenant's logo, else the platform's own."""

from __future__ import annotations

import re


def _icon(page: str) -> str:
    match = re.search(r'<link rel="icon" type="([^"]+)" href="([^"]+)">', page)
    assert match, "no icon"
    return match.group(2)


def test_each_page_names_an_icon_that_answers(app, tenants):
    from samenleren.core.extensions import db
    from samenleren.core.tenant import Tenant

    client = app.test_client()
    icon = _icon(client.get("/flevoland/").get_data(as_text=True))
    assert client.get(icon).status_code == 200
    with app.app_context():
        tenant = db.session.get(Tenant, tenants["flevoland"].id)
        tenant.theme_logo = b'<svg xmlns="http://www.w3.org/2000/svg"/>'
        tenant.theme_logo_type = "image/svg+xml"
        db.session.commit()
    icon = _icon(client.get("/flevoland/").get_data(as_text=True))
    assert icon == "/flevoland/logo"
    assert client.get(icon).status_code == 200
    assert _icon(client.get("/operator/logged-out").get_data(as_text=True)).startswith("/static/")
