"""The language choice: switcher, remembered in the session and with the employee's account."""

from __future__ import annotations

import re

from tests.conftest import csrf_token, login


def _html_lang(client, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'<html lang="(\w+)"', page)
    assert match, page[:200]
    return match.group(1)


def test_choice_is_kept_with_the_account_and_follows_to_another_browser(app, tenants):
    first = app.test_client()
    login(first, tenants["flevoland"], "sanne.bakker")
    assert _html_lang(first, "/flevoland/") == "nl"  # the tenant's default
    assert _html_lang(first, "/flevoland/?lang=en") == "en"
    assert _html_lang(first, "/flevoland/trainings/") == "en"

    second = app.test_client()  # another browser: no session yet
    assert _html_lang(second, "/flevoland/") == "nl"
    login(second, tenants["flevoland"], "sanne.bakker")
    assert _html_lang(second, "/flevoland/") == "en"


def test_choice_survives_logout(app, tenants):
    client = app.test_client()
    login(client, tenants["flevoland"], "sanne.bakker")
    client.get("/flevoland/?lang=fy")
    token = csrf_token(client, "/flevoland/")
    client.post("/flevoland/auth/logout", data={"csrf_token": token})
    assert _html_lang(client, "/flevoland/") == "fy"


def test_unknown_language_is_ignored(app, tenants):
    client = app.test_client()
    assert _html_lang(client, "/flevoland/?lang=xx") == "nl"
    assert _html_lang(client, "/gelderland/?lang=en") == "en"
    assert _html_lang(client, "/gelderland/") == "en"


def test_a_choice_made_before_the_first_login_is_kept_with_the_account(app, tenants):
    """Mails go out in the account's language: who chose English before logging in for the first
    time gets English mails; a language kept with the account already is not overwritten."""
    from samenleren.core.extensions import db
    from samenleren.identity.models import User
    from tests.factories import in_tenant

    def locale_of(subject: str) -> str | None:
        with in_tenant(app, tenants["flevoland"]):
            return db.session.query(User.locale).filter(User.subject == subject).scalar()

    first = app.test_client()
    assert _html_lang(first, "/flevoland/?lang=en") == "en"
    login(first, tenants["flevoland"], "sanne.bakker")
    assert locale_of("sanne.bakker") == "en"

    second = app.test_client()  # another browser, another choice before logging in again
    assert _html_lang(second, "/flevoland/?lang=fy") == "fy"
    login(second, tenants["flevoland"], "sanne.bakker")
    assert locale_of("sanne.bakker") == "en"
    assert _html_lang(second, "/flevoland/") == "fy"  # this browser still shows its choice
