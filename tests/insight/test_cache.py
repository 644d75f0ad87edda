"""The report's figures kept in Redis (insight.cache, core.changes): served again while nothing
they count changed, counted afresh after any change that matters, per tenant and scope, and
never a reason for a page to fail."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.conftest import login
from tests.factories import add_user, in_tenant
from tests.insight.helpers import build_programme
from tests.test_isolation import QueryCounter

pytestmark = pytest.mark.usefixtures("english")

REPORT = "/{slug}/insight/?year=2025"


@pytest.fixture
def programme(app, tenants):
    from samenleren.core.extensions import db

    for slug in ("flevoland", "gelderland"):
        with in_tenant(app, tenants[slug]):
            add_user("pim.admin", "programme_admin", name="Pim Admin")
            db.session.commit()
    with in_tenant(app, tenants["flevoland"]):
        return build_programme()


def _admin(app, tenants, slug="flevoland"):
    client = app.test_client()
    assert login(client, tenants[slug], "pim.admin").status_code == 302
    return client


def _generation(app, tenant) -> int | None:
    from samenleren.core.changes import generation

    with app.app_context():
        return generation("insight", tenant.id)


def _report(client, slug="flevoland") -> str:
    """The report page, without its forms' CSRF tokens (signed with the time: they differ
    from one second to the next)."""
    page = client.get(REPORT.format(slug=slug))
    assert page.status_code == 200
    return re.sub(r'name="csrf_token" value="[^"]*"', "", page.get_data(as_text=True))


def test_a_second_view_reads_no_figures_from_the_database(app, tenants, programme):
    admin = _admin(app, tenants)
    counter = QueryCounter(app)
    with counter.counting() as first:
        html = _report(admin)
    with counter.counting() as second:
        assert _report(admin) == html
    assert "63% (5 of 8)" in html
    # The figures and the costs (8 statements) only the first time.
    assert len(first) - len(second) == 8, (len(first), len(second))


def test_a_rating_changed_shows_at_once(app, tenants, programme):
    from samenleren.core.extensions import db
    from samenleren.trajectories.models import ExpectedResult, ResultLevel, ResultRating

    admin = _admin(app, tenants)
    assert "63% (5 of 8)" in _report(admin)
    before = _generation(app, tenants["flevoland"])
    with in_tenant(app, tenants["flevoland"]):
        # a3 said "partly" at three months; now "applied": 6 of 8 by the learners.
        rating = db.session.scalars(
            select(ResultRating)
            .join(ExpectedResult, ExpectedResult.id == ResultRating.expected_result_id)
            .where(
                ExpectedResult.trajectory_id == programme.ids["a3"],
                ResultRating.moment == "three_months",
                ResultRating.rater_role == "learner",
            )
        ).one()
        rating.level = ResultLevel.APPLIED
        db.session.commit()
    assert _generation(app, tenants["flevoland"]) == before + 1
    assert "75% (6 of 8)" in _report(admin)


def test_writes_the_figures_do_not_read_keep_them(app, tenants, programme):
    from samenleren.audit.services import record
    from samenleren.core.db import utcnow
    from samenleren.core.extensions import db
    from samenleren.identity.models import User

    admin = _admin(app, tenants)
    _report(admin)
    before = _generation(app, tenants["flevoland"])
    with in_tenant(app, tenants["flevoland"]):
        user = db.session.scalars(select(User).where(User.subject == "pim.admin")).one()
        user.last_login_at = utcnow()  # every login
        record("login.succeeded", actor=user)  # the audit log
        db.session.commit()
    assert _generation(app, tenants["flevoland"]) == before
    with in_tenant(app, tenants["flevoland"]):
        user = db.session.scalars(select(User).where(User.subject == "a1.learner")).one()
        user.manager_id = None  # the team views change
        db.session.commit()
    assert _generation(app, tenants["flevoland"]) == before + 1


def test_kept_figures_stay_in_their_tenant(app, tenants, programme):
    """Gelderland's report after Flevoland's was kept: Gelderland's own (empty) figures."""
    flevoland = _report(_admin(app, tenants))
    gelderland = _report(_admin(app, tenants, "gelderland"), "gelderland")
    assert "63% (5 of 8)" in flevoland
    assert "63% (5 of 8)" not in gelderland and "Training A" not in gelderland


def test_each_scope_has_its_own_figures(app, tenants, programme):
    admin = _admin(app, tenants)
    whole = _report(admin)
    only_b = admin.get(
        f"/flevoland/insight/?year=2025&training={programme.ids['training B']}"
    ).get_data(as_text=True)
    assert "63% (5 of 8)" in whole and "63% (5 of 8)" not in only_b
    assert _report(admin) == whole


def test_without_redis_the_report_is_counted_every_time(app, tenants, programme, monkeypatch):
    from redis import Redis

    # A Redis that does not answer (nothing listens on port 1).
    monkeypatch.setitem(
        app.extensions, "samenleren_rq_redis", Redis(port=1, socket_connect_timeout=0.2)
    )
    assert _generation(app, tenants["flevoland"]) is None
    admin = _admin(app, tenants)
    assert "63% (5 of 8)" in _report(admin)
    assert "63% (5 of 8)" in _report(admin)
