"""An enrolment deadline per edition: shown on the training page, applying closed after it, and
a deadline on or after the first day refused on the edition form."""

from __future__ import annotations

import html
from datetime import timedelta

from sqlalchemy import select

from tests.conftest import csrf_token, login
from tests.factories import World, add_user, build_world, get, in_tenant


def test_applying_closes_after_the_deadline(app, tenants):
    from samenleren.catalogue.models import Edition, Enrolment
    from samenleren.core.extensions import db
    from samenleren.core.formatting import local_today

    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        world = build_world(flevoland, starts_in_days=30)
        add_user("nora.nieuw", "learner")
        get(Edition, world.edition).apply_until = local_today() + timedelta(days=5)
        db.session.commit()
    client = app.test_client()
    assert login(client, flevoland, "nora.nieuw").status_code == 302
    client.get("/flevoland/?lang=en")
    training = f"/flevoland/trainings/{world.training}"
    page = html.unescape(client.get(training).get_data(as_text=True))
    assert "Apply until" in page
    assert f"/flevoland/editions/{world.edition}/apply" in page

    with in_tenant(app, flevoland):
        get(Edition, world.edition).apply_until = local_today() - timedelta(days=1)
        db.session.commit()
    page = client.get(training).get_data(as_text=True)
    assert f"/flevoland/editions/{world.edition}/apply" not in page
    refused = client.post(
        f"/flevoland/editions/{world.edition}/apply",
        data={"motivation": "Graag", "csrf_token": csrf_token(client, training)},
    )
    assert refused.status_code == 422
    assert "Applying for this edition closed on" in html.unescape(refused.get_data(as_text=True))
    with in_tenant(app, flevoland):
        from samenleren.identity.models import User

        nora = db.session.scalar(select(User).where(User.subject == "nora.nieuw"))
        assert db.session.scalar(select(Enrolment).where(Enrolment.learner_id == nora.id)) is None


def test_a_deadline_on_or_after_the_first_day_is_refused(app, tenants):
    from samenleren.catalogue.models import Edition

    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        world = build_world(flevoland, starts_in_days=30)
        edition = get(Edition, world.edition)
        starts_on, ends_on, name = edition.starts_on, edition.ends_on, edition.name
    client = app.test_client()
    assert login(client, flevoland, World.subjects["admin"]).status_code == 302
    client.get("/flevoland/?lang=en")
    path = f"/flevoland/editions/{world.edition}/edit"
    answer = client.post(
        path,
        data={
            "name": name,
            "starts_on": starts_on.isoformat(),
            "ends_on": ends_on.isoformat(),
            "apply_until": starts_on.isoformat(),
            "csrf_token": csrf_token(client, path),
        },
    )
    assert answer.status_code == 422
    assert "Applying must close before the first day" in html.unescape(
        answer.get_data(as_text=True)
    )
    with in_tenant(app, flevoland):
        assert get(Edition, world.edition).apply_until is None
