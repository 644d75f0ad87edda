"""The audit log is a log too: what the CISO downloads, and what verifying it writes, never
carries a token, a secret, a session id or the text of a confidential note."""

from __future__ import annotations

import re

from tests.calendars.test_feed import SECRET, _make_link, _schedule_all
from tests.core.test_logs import json_log, worlds  # noqa: F401 (fixtures)
from tests.scim.conftest import make_token
from tests.trajectories.test_pages import client_for


def test_no_secret_reaches_the_audit_log_its_export_or_its_verification(
    app,
    tenants,
    worlds,  # noqa: F811 (the fixture imported above)
    json_log,  # noqa: F811
):
    world = worlds["flevoland"]
    _schedule_all(app, world)  # a confidential progress note with SECRET in it
    coach = client_for(app, world, "coach")
    session_cookie = coach.get_cookie("samenleren")
    assert session_cookie is not None
    page = coach.get(f"/flevoland/trajectories/{world.trajectory}").get_data(as_text=True)
    for step_page in re.findall(
        rf"/flevoland/trajectories/{world.trajectory}/steps/[0-9a-f-]{{36}}", page
    ):
        coach.get(step_page)  # reading recorded values is audited, the values are not
    token = make_token(app, tenants["flevoland"])  # a SCIM token's creation is audited
    learner = client_for(app, world, "learner")
    feed_token = _make_link(app, learner).rsplit("/", 1)[1].removesuffix(".ics")

    admin = client_for(app, world, "admin")
    exported = admin.get("/flevoland/audit/export.json").get_data(as_text=True)
    exported_csv = admin.get("/flevoland/audit/export.csv").get_data(as_text=True)
    verified = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert verified.exit_code == 0, verified.output

    assert '"login.succeeded"' in exported and "scim.token_created" in exported
    logged = json_log.text()
    forbidden = {
        "SCIM token": token,
        "feed token": feed_token,
        "session cookie": session_cookie.value,
        "note text": SECRET,
    }
    for where, text in (
        ("JSON export", exported),
        ("CSV export", exported_csv),
        ("verify output", verified.output),
        ("logs", logged),
    ):
        for what, value in forbidden.items():
            assert value and value not in text, f"the {where} carries the {what}"
