"""A new tenant's first steps on the programme administrator's dashboard: computed from the data,
ticked off as they are done, the organisation goals first, gone once everything is done."""

from __future__ import annotations

import re

from sqlalchemy import delete

from tests.conftest import login, make_user
from tests.factories import in_tenant


def _steps(html: str) -> list[tuple[str, bool]]:
    section = re.search(
        r'<section[^>]*aria-labelledby="first-steps"[^>]*>(.*?)</section>', html, re.S
    )
    if section is None:
        return []
    return [
        (key, "Done:" in body)
        for key, body in re.findall(
            r'<li[^>]*id="first-step-([a-z]+)">(.*?)</li>', section.group(1), re.S
        )
    ]


def test_the_checklist_ticks_off_from_the_data(app, tenants):
    from samenleren.catalogue.models import Training
    from samenleren.coaching.models import CoachProfile
    from samenleren.core.extensions import db
    from samenleren.core.tenant import Tenant
    from samenleren.tenants.models import OrganisationGoal

    flevoland = tenants["flevoland"]
    with app.app_context():
        make_user(flevoland, "beheer", "programme_admin", "learner")
        coach_id = make_user(flevoland, "coach.een", "coach", "learner")
    with in_tenant(app, flevoland):
        db.session.execute(delete(OrganisationGoal))
        tenant = db.session.get(Tenant, flevoland.id)
        tenant.terminology = {}
        tenant.theme_logo_type = None
        db.session.commit()
    client = app.test_client()
    assert login(client, flevoland, "beheer").status_code == 302
    page = client.get("/flevoland/dashboard/programme?lang=en").get_data(as_text=True)
    assert "First steps" in page
    assert _steps(page) == [
        ("goals", False),
        ("coaches", False),
        ("training", False),
        ("roles", True),  # the manifest maps Flevoland's groups
        ("look", False),
    ]
    assert 'href="/flevoland/organisation-goals/"' in page

    with in_tenant(app, flevoland):
        db.session.add(OrganisationGoal(code="G1", title={"nl": "Doel"}, position=0))
        db.session.add(CoachProfile(user_id=coach_id, capacity=2))
        db.session.add(Training(title="Schrijven", description=""))
        db.session.commit()
    page = client.get("/flevoland/dashboard/programme").get_data(as_text=True)
    assert [done for _, done in _steps(page)] == [True, True, True, True, False]

    with in_tenant(app, flevoland):
        db.session.get(Tenant, flevoland.id).terminology = {"nl": {"coach": {"one": "Maatje"}}}
        db.session.commit()
    page = client.get("/flevoland/dashboard/programme").get_data(as_text=True)
    assert _steps(page) == []
    assert "First steps" not in page
