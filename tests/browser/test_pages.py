"""Every page in Chromium: axe-core finds no violation, in Dutch and English, for each role.

Also what only a browser shows: the skip link is the first stop of the keyboard and moves focus
to the main content, the language switcher changes `<html lang>`, and the logout button works.
"""

from __future__ import annotations

import uuid

import pytest

from tests.browser.axe import run_axe
from tests.browser.conftest import LiveServer, log_in
from tests.conftest import TenantRef, make_user

pytestmark = pytest.mark.browser

#: WCAG 2.1 A and AA (the law for Dutch public bodies), and axe's best practices on top.
AXE_OPTIONS = {
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"],
    },
    "resultTypes": ["violations"],
}
LANGUAGES = ["nl", "en"]
ROLES = {
    # role -> the IdP groups that give it (tenants/flevoland.toml, [roles.groups])
    "learner": [],
    "programme_admin": ["SL-Opleidingsadviseurs"],
}


class AxeFindings:
    """Collects axe results page by page; reports every violation at once."""

    def __init__(self) -> None:
        self.checked: list[str] = []
        self.reports: list[str] = []
        self.rules_passed: list[int] = []
        self.needs_review: set[str] = set()

    def check(self, page, label: str, lang: str, status: int | None = None) -> None:
        assert page.locator("html").get_attribute("lang") == lang, label
        results = run_axe(page, AXE_OPTIONS)
        self.checked.append(label)
        self.rules_passed.append(len(results.response["passes"]))
        self.needs_review.update(item["id"] for item in results.response["incomplete"])
        if results.violations_count:
            self.reports.append(f"--- {label} ({page.url})\n{results.generate_report()}")

    def assert_clean(self) -> None:
        assert self.checked
        assert min(self.rules_passed) >= 10, "axe checked next to nothing: was the page empty?"
        print(
            f"axe: {len(self.checked)} pages ({', '.join(self.checked)}): "
            f"{len(self.reports)} with violations; rules passed per page "
            f"{min(self.rules_passed)}-{max(self.rules_passed)}; "
            f"needs review: {sorted(self.needs_review) or 'none'}"
        )
        assert not self.reports, "\n".join(self.reports)


def visit(page, path: str, expected_status: int):
    response = page.goto(path)
    assert response is not None
    assert response.status == expected_status, (path, response.status)
    return response


def choose_language(page, live_server: LiveServer, slug: str, lang: str) -> None:
    visit(page, f"{live_server.url}/{slug}/?lang={lang}", 200)


def add_training(app, tenant: TenantRef) -> uuid.UUID:
    from samenleren.catalogue.models import Training
    from samenleren.core.extensions import db
    from samenleren.core.tenancy import tenant_scope
    from samenleren.core.tenant import Tenant

    with app.app_context(), tenant_scope(db.session.get(Tenant, tenant.id)):
        trainings = [
            Training(
                title="Effectief communiceren",
                description="Helder schrijven en spreken voor beleidsmedewerkers.",
                provider="Bureau Taal & Toon",
                capacity=12,
            ),
            Training(title="Projectmatig werken", open_to_all=False),
        ]
        db.session.add_all(trainings)
        db.session.commit()
        return trainings[0].id


# --- axe on every page ------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGUAGES)
def test_public_pages_have_no_accessibility_violations(app, tenants, page, live_server, lang):
    from tests.conftest import repoint

    base = live_server.url
    findings = AxeFindings()
    choose_language(page, live_server, "flevoland", lang)
    findings.check(page, "landing", lang)

    visit(page, f"{base}/flevoland/?logged_out=1", 200)
    findings.check(page, "landing after logout", lang)

    visit(page, f"{base}/flevoland/auth/callback?state=vervalst&code=vervalst", 403)
    assert page.locator("h1").count() == 1
    findings.check(page, "login not possible", lang)

    visit(page, f"{base}/flevoland/bestaat-niet", 404)
    findings.check(page, "404 in a tenant", lang)

    visit(page, f"{base}/nergens/", 404)
    findings.check(page, "404 outside any tenant", lang)

    # A tenant whose identity provider cannot be used (its issuer does not match).
    with app.app_context():
        repoint("gelderland", tenants["gelderland"].idp.issuer + "/")
    choose_language(page, live_server, "gelderland", lang)
    visit(page, f"{base}/gelderland/auth/login", 503)
    findings.check(page, "login temporarily unavailable", lang)

    findings.assert_clean()


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("role", list(ROLES))
def test_pages_of_logged_in_users_have_no_accessibility_violations(
    app, tenants, page, live_server, role, lang
):
    flevoland = tenants["flevoland"]
    training_id = add_training(app, flevoland)
    with app.app_context():
        boss = make_user(flevoland, "chef", "manager", name="Carla Chef")
        make_user(flevoland, f"a11y.{role}", manager_id=boss)
    base = live_server.url
    findings = AxeFindings()

    choose_language(page, live_server, "flevoland", lang)
    log_in(page, live_server, flevoland, f"a11y.{role}", name="Lotte Leer", groups=ROLES[role])
    assert page.locator("html").get_attribute("lang") == lang  # the choice survived the login
    findings.check(page, "home", lang)

    visit(page, f"{base}/flevoland/trainings/", 200)
    # "Projectmatig werken" is restricted to departments (none of them this learner's): only the
    # programme admin sees it in the catalogue.
    assert page.locator("table tbody tr").count() == (2 if role == "programme_admin" else 1)
    findings.check(page, "trainings", lang)

    page.click(f'a[href="/flevoland/trainings/{training_id}"]')
    page.wait_for_url(f"**/trainings/{training_id}")
    findings.check(page, "training detail", lang)

    visit(page, f"{base}/flevoland/trainings/{uuid.uuid4()}", 404)
    findings.check(page, "404 (logged in)", lang)

    visit(page, f"{base}/flevoland/auth/callback?state=vervalst&code=vervalst", 403)
    findings.check(page, "login not possible (logged in)", lang)

    findings.assert_clean()


def test_empty_catalogue_has_no_accessibility_violations(tenants, page, live_server):
    findings = AxeFindings()
    log_in(page, live_server, tenants["gelderland"], "leeg")
    visit(page, f"{live_server.url}/gelderland/trainings/", 200)
    assert page.locator("table").count() == 0
    findings.check(page, "empty catalogue", "nl")
    findings.assert_clean()


def test_axe_finds_a_planted_violation(page):
    """The check above can fail: the same axe run reports a page built to violate."""
    page.set_content(
        '<html lang="nl"><head><title>Fout</title></head><body><main><h1>Fout</h1>'
        '<p class="x">te licht</p><img src="/x.png"></main></body></html>'
    )
    page.add_style_tag(content=".x { color: #ddd; background: #fff; }")
    results = run_axe(page, AXE_OPTIONS)
    found = {violation["id"] for violation in results.response["violations"]}
    assert {"color-contrast", "image-alt"} <= found, found


def test_nothing_leaves_the_machine(page, live_server):
    """Chromium resolves only the two loopback names the tests serve on: a page that links a
    CDN (as the IdP mock's login page does) cannot reach it."""
    import playwright.sync_api

    assert visit(page, f"{live_server.url}/healthz", 200)
    with pytest.raises(playwright.sync_api.Error, match="ERR_NAME_NOT_RESOLVED"):
        page.goto("https://cdn.jsdelivr.net/npm/@picocss/pico@2/css/pico.min.css")


# --- keyboard, language, logout ---------------------------------------------------------------


@pytest.mark.parametrize("logged_in", [False, True], ids=["anonymous", "logged-in"])
def test_skip_link_is_the_first_tab_stop_and_moves_focus_to_main(
    tenants, page, live_server, logged_in
):
    if logged_in:
        log_in(page, live_server, tenants["flevoland"], "toetsenbord")
    visit(page, f"{live_server.url}/flevoland/", 200)
    page.keyboard.press("Tab")
    focused = page.evaluate(
        "() => ({cls: document.activeElement.className,"
        " href: document.activeElement.getAttribute('href'),"
        " visible: document.activeElement.getBoundingClientRect().height > 0})"
    )
    assert "utrecht-skip-link" in focused["cls"]
    assert focused["href"] == "#main"
    assert focused["visible"], "the skip link must be visible when it has focus"
    findings = AxeFindings()  # the focused skip link, too, must be readable
    findings.check(page, "skip link focused", "nl")
    findings.assert_clean()

    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"
    assert page.evaluate("() => document.activeElement.tagName") == "MAIN"
    # The next Tab continues inside the main content, not at the top of the page.
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.getElementById('main').contains(document.activeElement)")


def test_language_switcher_changes_the_page_language(tenants, page, live_server):
    visit(page, f"{live_server.url}/flevoland/", 200)
    html = page.locator("html")
    assert html.get_attribute("lang") == "nl"  # the tenant's default
    title_nl = page.locator("h1").inner_text()

    page.click('nav a[hreflang="en"]')
    page.wait_for_url("**/flevoland/?lang=en")
    assert html.get_attribute("lang") == "en"
    assert page.locator('[aria-current="true"][lang="en"]').count() == 1
    assert page.locator("h1").inner_text() == "Learning together at Provincie Flevoland"

    # The choice is remembered on the next page, without ?lang.
    visit(page, f"{live_server.url}/flevoland/", 200)
    assert html.get_attribute("lang") == "en"

    page.click('nav a[hreflang="fy"]')
    page.wait_for_url("**/flevoland/?lang=fy")
    assert html.get_attribute("lang") == "fy"
    page.click('nav a[hreflang="nl"]')
    page.wait_for_url("**/flevoland/?lang=nl")
    assert html.get_attribute("lang") == "nl"
    assert page.locator("h1").inner_text() == title_nl


def test_logout_button_logs_out(tenants, page, live_server):
    flevoland = tenants["flevoland"]
    log_in(page, live_server, flevoland, "uitlogger", name="Ulla Uitlogger")
    assert "Ulla Uitlogger" in page.content()

    page.click('form[action="/flevoland/auth/logout"] button[type="submit"]')
    # The session ends at the identity provider too (RP-initiated logout); the mock asks to
    # confirm, then sends the browser back to the tenant.
    page.wait_for_url(f"{flevoland.idp.issuer}/oauth2/end_session**")
    page.click("button[type=submit]")
    page.wait_for_url("**/flevoland/?logged_out=1*")
    assert page.locator('[role="status"]').count() == 1
    assert page.locator('form[action="/flevoland/auth/logout"]').count() == 0
    assert "Ulla Uitlogger" not in page.content()

    # Pages behind login now send the browser to the identity provider again.
    page.goto(f"{live_server.url}/flevoland/trainings/")
    page.wait_for_url(f"{flevoland.idp.issuer}/**")
