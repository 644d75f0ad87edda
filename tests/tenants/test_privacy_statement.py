"""The tenant's privacy statement: public, the platform part true of the code, the tenant's own
part written by the programme admin (audited); wrong input is explained and changes nothing."""

from __future__ import annotations

import pytest

from tests.audit.helpers import events
from tests.factories import World, build_world, in_tenant
from tests.trajectories.test_pages import client_for

PAGE = "/flevoland/privacy"
EDIT = "/flevoland/settings/privacy"
GOOD = {
    "dpo_contact": "fg@flevoland.example",
    "text": "Grondslag: een taak van algemeen belang.\r\n\r\nBewaartermijn: 10 jaar.",
}


@pytest.fixture
def world(app, tenants) -> World:
    with in_tenant(app, tenants["flevoland"]):
        return build_world(tenants["flevoland"])


def _post(client, **changes):
    page = client.get(EDIT).get_data(as_text=True)
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    return client.post(EDIT, data={"csrf_token": token, **GOOD, **changes})


def test_anyone_reads_it_and_every_page_links_it(app, world):
    page = app.test_client().get(f"{PAGE}?lang=en").get_data(as_text=True)
    assert "only you and your learning coach can read them" in page
    assert "Ask the programme administration of Provincie Flevoland." in page
    assert 'href="/flevoland/privacy"' in page and 'href="/cookies"' in page


def test_the_admin_writes_the_tenants_part_and_it_is_audited(app, world):
    admin = client_for(app, world, "admin")
    admin.get("/flevoland/?lang=en")
    assert _post(admin).status_code == 303
    page = app.test_client().get(f"{PAGE}?lang=en").get_data(as_text=True)
    assert 'href="mailto:fg@flevoland.example"' in page
    assert '<p class="utrecht-paragraph">Bewaartermijn: 10 jaar.</p>' in page
    assert len(events(app, world.tenant, "privacy_statement.changed")) == 1
    other = app.test_client().get("/gelderland/privacy").get_data(as_text=True)
    assert "Bewaartermijn" not in other


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("dpo_contact", "", "Give an e-mail address or an https:// address."),
        ("dpo_contact", "javascript:alert(1)", "Give an e-mail address or an https:// address."),
        ("text", "x" * 8001, "Use at most 8000 characters."),
    ],
)
def test_wrong_input_is_explained_and_changes_nothing(app, world, field, value, message):
    admin = client_for(app, world, "admin")
    admin.get("/flevoland/?lang=en")
    answer = _post(admin, **{field: value})
    assert answer.status_code == 422
    assert message in answer.get_data(as_text=True)
    assert "Bewaartermijn" not in app.test_client().get(PAGE).get_data(as_text=True)
    assert events(app, world.tenant, "privacy_statement.changed") == []


@pytest.mark.parametrize("who", ["learner", "coach", "manager", "trainer"])
def test_only_the_programme_admin_edits_it(app, world, who):
    assert client_for(app, world, who).get(EDIT).status_code == 404
