"""The programme administrator's worklist on the start page: applications waiting for a decision
(accepted right there), conversations to read, editions below their minimum or over their
places, next to the learners without a coach and the overdue steps."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from tests.conftest import csrf_token, login
from tests.factories import World, add_user, build_world, get, in_tenant


def _section(html: str) -> str:
    match = re.search(r'<section[^>]*aria-labelledby="worklist"[^>]*>(.*?)</section>', html, re.S)
    assert match, "no worklist"
    return match.group(1)


def _admin(app, tenant):
    client = app.test_client()
    assert login(client, tenant, World.subjects["admin"]).status_code == 302
    client.get(f"/{tenant.slug}/?lang=en")
    return client


def _apply(app, tenant, world: World, subject: str):
    from samenleren.catalogue.models import Enrolment, EnrolmentStatus
    from samenleren.core.extensions import db

    with in_tenant(app, tenant):
        learner = add_user(subject, "learner", name=subject.replace(".", " ").title())
        enrolment = Enrolment(
            edition_id=world.edition, learner_id=learner.id, status=EnrolmentStatus.APPLIED
        )
        db.session.add(enrolment)
        db.session.commit()
        return enrolment.id


def test_an_application_is_on_the_worklist_and_accepted_from_it(app, tenants):
    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        world = build_world(flevoland)
    enrolment_id = _apply(app, flevoland, world, "nieuwe.aanvrager")
    client = _admin(app, flevoland)
    page = client.get("/flevoland/").get_data(as_text=True)  # the start page
    work = _section(page)
    assert "1 application waits for a decision" in work
    assert "Nieuwe Aanvrager applied for" in work
    assert f"/flevoland/enrolments/{enrolment_id}/accept" in work
    answer = client.post(
        f"/flevoland/enrolments/{enrolment_id}/accept",
        data={"from": "worklist", "csrf_token": csrf_token(client, "/flevoland/")},
    )
    assert answer.status_code == 303
    assert answer.headers["Location"].endswith("/flevoland/dashboard/programme")
    from samenleren.catalogue.models import Enrolment, EnrolmentStatus

    with in_tenant(app, flevoland):
        assert get(Enrolment, enrolment_id).status is EnrolmentStatus.ENROLLED
    work = _section(client.get("/flevoland/dashboard/programme").get_data(as_text=True))
    assert "0 applications wait for a decision" in work
    assert "No application waits for a decision." in work


def test_editions_below_their_minimum_or_over_their_places(app, tenants):
    from samenleren.catalogue.models import Edition
    from samenleren.core.extensions import db

    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        world = build_world(flevoland, starts_in_days=20)
        edition = get(Edition, world.edition)
        edition.minimum = 4  # one learner enrolled, starting within six weeks
        db.session.commit()
    client = _admin(app, flevoland)
    work = _section(client.get("/flevoland/dashboard/programme").get_data(as_text=True))
    assert "1 edition below its minimum or over its places" in work
    assert "1 enrolled, at least 4 needed." in work

    with in_tenant(app, flevoland):
        edition = get(Edition, world.edition)
        edition.minimum = None
        edition.capacity = 1
        db.session.commit()
    _apply(app, flevoland, world, "te.veel")
    work = _section(client.get("/flevoland/dashboard/programme").get_data(as_text=True))
    assert "1 enrolled and 1 waiting for 1 places." in work

    with in_tenant(app, flevoland):
        edition = get(Edition, world.edition)
        edition.capacity = 5
        db.session.commit()
    work = _section(client.get("/flevoland/dashboard/programme").get_data(as_text=True))
    assert "Every edition has enough learners and places." in work


def test_a_completed_evaluation_is_to_read_a_confidential_step_never(app, tenants):
    from samenleren.core.db import utcnow
    from samenleren.core.extensions import db
    from samenleren.trajectories.models import StepInstance, StepState

    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        world = build_world(flevoland)
        steps = {
            s.step_key: s
            for s in db.session.scalars(
                select(StepInstance).where(StepInstance.trajectory_id == world.trajectory)
            )
        }
        for key in ("evaluation", "progress"):
            steps[key].state = StepState.DONE
            steps[key].completed_at = utcnow() - timedelta(days=2)
        evaluation_id = steps["evaluation"].id
        db.session.commit()
    client = _admin(app, flevoland)
    work = _section(client.get("/flevoland/dashboard/programme").get_data(as_text=True))
    assert "1 conversation to read" in work
    assert f"/steps/{evaluation_id}" in work
    assert "Evaluation conversation of Anna Learner" in work
    assert "Progress" not in work  # confidential: nothing of it reaches the administrator


def test_the_worklist_costs_no_more_queries_with_more_data(app, tenants):
    from samenleren.catalogue.models import Edition
    from samenleren.core.extensions import db
    from tests.test_isolation import QueryCounter

    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        world = build_world(flevoland)
        get(Edition, world.edition).minimum = 50
        db.session.commit()
    client = _admin(app, flevoland)
    counter = QueryCounter(app)

    statements_seen: list[str] = []

    def count() -> int:
        client.get("/flevoland/dashboard/programme")
        with counter.counting() as statements:
            assert client.get("/flevoland/dashboard/programme").status_code == 200
        statements_seen[:] = statements
        return len(statements)

    small = count()
    for n in range(25):
        _apply(app, flevoland, world, f"aanvrager.{n}")
    large = count()
    assert large == small <= 8, "\n".join(" ".join(s.split())[:150] for s in statements_seen)
    work = _section(client.get("/flevoland/dashboard/programme").get_data(as_text=True))
    assert "25 applications wait for a decision" in work
    assert "And 5 more." in work
