"""The audit log as JSON for the CISO: every field, in chain order, recomputable outside."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import pytest

from tests.audit.helpers import events
from tests.audit.test_pages import add_events
from tests.factories import World, build_world, in_tenant
from tests.trajectories.test_pages import client_for

EXPORT = "/flevoland/audit/export.json"


@pytest.fixture
def world(app, tenants) -> World:
    with in_tenant(app, tenants["flevoland"]):
        return build_world(tenants["flevoland"])


def _recompute(document: dict) -> None:
    """What the CISO does with the file: recompute every hash and link, no platform code."""
    previous = document["genesis_hash"]
    for entry in document["events"]:
        content = {key: value for key, value in entry.items() if key != "entry_hash"}
        canonical = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        assert entry["previous_hash"] == previous, entry
        assert hashlib.sha256(canonical.encode()).hexdigest() == entry["entry_hash"], entry
        previous = entry["entry_hash"]


def test_the_json_export_can_be_verified_outside_the_platform(app, tenants, world):
    start = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
    add_events(app, world.tenant, 5, start=start, details={"reden": "één", "n": [1, 2]})
    add_events(app, tenants["gelderland"], 2, start=start, actor_label="Gelderse Gebruiker")
    admin = client_for(app, world, "admin")
    answer = admin.get(EXPORT)
    assert answer.status_code == 200
    assert answer.mimetype == "application/json"
    assert answer.headers["Cache-Control"] == "no-store"
    assert 'filename="audit-flevoland-' in answer.headers["Content-Disposition"]
    document = json.loads(answer.get_data(as_text=True))
    entries = document["events"]
    # With build_world's and the login's own events, in the order of the chain.
    assert [e["sequence"] for e in entries] == list(range(1, len(entries) + 1))
    actors = [e["actor_label"] for e in entries if e["actor_label"].startswith("Actor")]
    assert actors == [f"Actor {n:03d}" for n in range(5)]
    assert {e["result"] for e in entries} == {"allowed"}
    assert "Gelderse Gebruiker" not in answer.get_data(as_text=True)
    _recompute(document)
    (exported,) = events(app, world.tenant, "audit.exported")
    assert exported.details == {"format": "json"}


def test_the_json_export_filters_and_refuses_a_wrong_filter(app, world):
    add_events(app, world.tenant, 2, start=datetime(2026, 5, 1, tzinfo=UTC), action="logout")
    admin = client_for(app, world, "admin")
    document = admin.get(f"{EXPORT}?action=logout").get_json()
    assert [e["action"] for e in document["events"]] == ["logout", "logout"]
    assert document["filter"] == {"action": "logout"}
    assert admin.get(f"{EXPORT}?from=gisteren").status_code == 422
    assert events(app, world.tenant, "audit.exported") == [
        e for e in events(app, world.tenant, "audit.exported") if e.details["format"] == "json"
    ]
    assert len(events(app, world.tenant, "audit.exported")) == 1


@pytest.mark.parametrize("who", ["learner", "coach", "manager", "trainer"])
def test_only_the_programme_admin_gets_the_json(app, world, who):
    assert client_for(app, world, who).get(EXPORT).status_code == 404
    assert events(app, world.tenant, "audit.exported") == []
