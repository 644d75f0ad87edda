"""A favicon on every page: the tenant's logo when it has one, else the platform icon; and
`/favicon.ico`, which browsers ask for on their own, answers instead of a 404."""

from __future__ import annotations

import re

from tests.conftest import login, make_user
from tests.factories import in_tenant

ICON_LINK = re.compile(r'<link rel="icon" href="([^"]+)" type="([^"]+)">')


def _icon_of(page: str) -> tuple[str, str]:
    links = ICON_LINK.findall(page)
    assert len(links) == 1, links
    return links[0]


def _file(client, path: str) -> tuple[int, str, bytes]:
    """A file answer, closed after reading (files are streamed)."""
    with client.get(path) as answer:
        return answer.status_code, answer.mimetype, answer.get_data()


def test_favicon_ico_is_the_platform_icon(app):
    client = app.test_client()
    with client.get("/favicon.ico") as answer:
        assert answer.status_code == 200
        assert answer.mimetype == "image/svg+xml"
        assert "public" in answer.headers["Cache-Control"]
        icon = answer.get_data()
    assert icon.lstrip().startswith(b"<svg")
    assert _file(client, "/static/favicon.svg") == (200, "image/svg+xml", icon)


def test_a_tenant_with_a_logo_shows_it_as_its_icon(app, tenants):
    client = app.test_client()
    href, media_type = _icon_of(client.get("/flevoland/").get_data(as_text=True))
    assert (href, media_type) == ("/flevoland/logo", "image/svg+xml")
    logo = client.get(href)
    assert logo.status_code == 200 and logo.mimetype == "image/svg+xml"
    # Logged in, on any page, the same.
    with app.app_context():
        make_user(tenants["flevoland"], "icoon", "learner")
    assert login(client, tenants["flevoland"], "icoon").status_code == 302
    assert _icon_of(client.get("/flevoland/").get_data(as_text=True))[0] == "/flevoland/logo"


def test_a_tenant_without_a_logo_and_pages_outside_a_tenant_show_the_platform_icon(app, tenants):
    from samenleren.core.extensions import db
    from samenleren.core.tenant import Tenant

    with in_tenant(app, tenants["gelderland"]):
        tenant = db.session.get(Tenant, tenants["gelderland"].id)
        tenant.theme_logo = None
        tenant.theme_logo_type = None
        db.session.commit()
    client = app.test_client()
    gelderland = client.get("/gelderland/").get_data(as_text=True)
    # (Named with its digest, as every static file: core.assets.)
    icon, icon_type = _icon_of(gelderland)
    assert (icon.partition("?v=")[0], icon_type) == ("/static/favicon.svg", "image/svg+xml")
    assert client.get("/gelderland/logo").status_code == 404  # nothing to link to
    # The other tenant keeps its own.
    assert _icon_of(client.get("/flevoland/").get_data(as_text=True))[0] == "/flevoland/logo"
    # A page of no tenant (an unknown one: the 404 page) has the platform icon too.
    missing = client.get("/no-such-province/")
    assert missing.status_code == 404
    assert _icon_of(missing.get_data(as_text=True))[0] == icon
    assert _file(client, "/static/favicon.svg")[0] == 200
