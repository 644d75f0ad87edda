"""An edition's sessions are told apart by their date: in the table, in the attendance link and
page, and in the remove buttons (not by their time alone)."""

from __future__ import annotations

import html

from tests.conftest import login
from tests.factories import World, build_world, get, in_tenant


def test_sessions_are_named_by_date_and_time(app, tenants):
    from samenleren.catalogue.models import EditionSession
    from samenleren.core.formatting import show_moment

    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        world = build_world(flevoland)
    client = app.test_client()
    assert login(client, flevoland, World.subjects["admin"]).status_code == 302
    client.get("/flevoland/?lang=en")
    with app.test_request_context("/?lang=en"), in_tenant(app, flevoland):
        from flask_babel import force_locale

        with force_locale("en"):
            moment = show_moment(get(EditionSession, world.session).starts_at)
    assert ", " in moment  # a date and a time
    page = html.unescape(client.get(f"/flevoland/editions/{world.edition}").get_data(as_text=True))
    assert f"Attendance of {moment}" in page
    assert f"Remove the session of {moment}" in page
    attendance = html.unescape(
        client.get(
            f"/flevoland/editions/{world.edition}/sessions/{world.session}/attendance"
        ).get_data(as_text=True)
    )
    assert f"Attendance of {moment}" in attendance
