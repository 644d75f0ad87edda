"""The public pages: security.txt (RFC 9116) from configuration, the vulnerability disclosure
page and the cookie statement, linked from every page's footer, in nl, en and fy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from samenleren.core.config import ConfigError, load_config
from tests.factories import build_world, in_tenant
from tests.trajectories.test_pages import client_for


def _fields(text: str) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for line in text.splitlines():
        name, _, value = line.partition(": ")
        fields.setdefault(name, []).append(value)
    return fields


def test_security_txt_has_the_rfc_fields_and_expires_in_the_future(app):
    answer = app.test_client().get("/.well-known/security.txt")
    assert answer.status_code == 200
    assert answer.mimetype == "text/plain"
    fields = _fields(answer.get_data(as_text=True))
    assert fields["Contact"] == app.config["SAMENLEREN_SECURITY_CONTACT"]
    assert fields["Policy"] == [app.config["SAMENLEREN_BASE_URL"] + "/security"]
    assert fields["Preferred-Languages"] == ["nl, en"]
    assert fields["Canonical"] == [app.config["SAMENLEREN_BASE_URL"] + "/.well-known/security.txt"]
    (expires,) = fields["Expires"]
    moment = datetime.strptime(expires, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    now = datetime.now(UTC)
    assert now < moment <= now + timedelta(days=366)


def test_security_txt_follows_the_configuration(app, monkeypatch):
    monkeypatch.setitem(
        app.config,
        "SAMENLEREN_SECURITY_CONTACT",
        ["mailto:ciso@flevoland.example", "https://flevoland.example/cvd"],
    )
    monkeypatch.setitem(app.config, "SAMENLEREN_SECURITY_POLICY", "https://example.nl/policy")
    monkeypatch.setitem(app.config, "SAMENLEREN_SECURITY_TXT_DAYS", 30)
    fields = _fields(app.test_client().get("/.well-known/security.txt").get_data(as_text=True))
    assert fields["Contact"] == ["mailto:ciso@flevoland.example", "https://flevoland.example/cvd"]
    assert fields["Policy"] == ["https://example.nl/policy"]
    moment = datetime.strptime(fields["Expires"][0], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert moment <= datetime.now(UTC) + timedelta(days=31)
    page = app.test_client().get("/security?lang=en").get_data(as_text=True)
    assert 'href="mailto:ciso@flevoland.example"' in page
    assert "coordinated vulnerability disclosure" in page


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SAMENLEREN_SECURITY_CONTACT", "security@example.nl"),
        ("SAMENLEREN_SECURITY_CONTACT", " , "),
        ("SAMENLEREN_SECURITY_TXT_DAYS", "400"),
        ("SAMENLEREN_SECURITY_TXT_DAYS", "soon"),
    ],
)
def test_a_wrong_security_setting_stops_the_start(monkeypatch, name, value):
    monkeypatch.setenv("SAMENLEREN_ENV", "development")
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        load_config()


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("nl", "functionele cookies"),
        ("en", "functional cookies"),
        ("fy", "funksjonele cookies"),
    ],
)
def test_the_cookie_statement_names_the_one_cookie_in_every_language(app, lang, words):
    answer = app.test_client().get(f"/cookies?lang={lang}")
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    assert words in page
    assert "<code>samenleren</code>" in page
    assert f'<html lang="{lang}"' in page


def test_the_footer_links_the_public_pages_on_tenant_pages(app, tenants):
    with in_tenant(app, tenants["flevoland"]):
        world = build_world(tenants["flevoland"])
    client = client_for(app, world, "learner")
    page = client.get("/flevoland/").get_data(as_text=True)
    footer = page[page.index("<footer") :]
    assert 'href="/cookies"' in footer and 'href="/security"' in footer
    # The only cookie a visit sets is the one the statement names.
    names = {cookie.key for cookie in client._cookies.values()}
    assert names == {"samenleren"}
