"""`/<tenant>/me/notifications`: separate mails or a daily digest."""

from __future__ import annotations

import pytest

from tests.factories import build_world, get, in_tenant
from tests.test_isolation import QueryCounter
from tests.trajectories.test_pages import client_for, post

pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture
def world(app, tenants):
    with in_tenant(app, tenants["flevoland"]):
        return build_world(tenants["flevoland"])


def _mode(app, world):
    from samenleren.identity.models import User

    with in_tenant(app, world.tenant):
        return get(User, world.learner).notification_mode


def test_choose_digest_and_back(app, world):
    client = client_for(app, world, "learner")
    page = client.get("/flevoland/me/notifications")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "One overview a day" in html
    assert 'value="immediate" checked' in html
    assert 'href="/flevoland/me/notifications"' in html  # the link in the user menu
    answer = post(app, client, "/flevoland/me/notifications", {"mode": "digest"})
    assert answer.status_code == 302
    assert _mode(app, world) == "digest"
    assert 'value="digest" checked' in client.get("/flevoland/me/notifications").get_data(
        as_text=True
    )
    post(app, client, "/flevoland/me/notifications", {"mode": "immediate"})
    assert _mode(app, world) == "immediate"


@pytest.mark.parametrize("data", [{"mode": "weekly"}, {}, {"mode": ""}])
def test_bad_input_is_refused_with_422(app, world, data):
    client = client_for(app, world, "learner")
    answer = post(app, client, "/flevoland/me/notifications", data)
    assert answer.status_code == 422
    assert "Choose how you want to receive reminders." in answer.get_data(as_text=True)
    assert _mode(app, world) == "immediate"


def test_needs_a_login(app, world):
    answer = app.test_client().get("/flevoland/me/notifications")
    assert answer.status_code == 302
    assert "/flevoland/auth/login" in answer.headers["Location"]


def test_few_queries(app, world):
    client = client_for(app, world, "learner")
    with QueryCounter(app).counting() as statements:
        assert client.get("/flevoland/me/notifications").status_code == 200
    assert len(statements) <= 8
