"""The SSO settings and external-trainer pages in Chromium: axe-core finds no WCAG 2.1 AA
violation, in Dutch and English, including forms refused with errors, and a trainer signs in
with a link by pressing the button (no JavaScript needed anywhere)."""

from __future__ import annotations

import pytest

from tests.browser.conftest import log_in
from tests.browser.test_pages import AxeFindings, choose_language, visit
from tests.factories import World, build_world, in_tenant

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_identity_pages_have_no_accessibility_violations(app, tenants, page, live_server, lang):
    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        build_world(flevoland)
    base = f"{live_server.url}/flevoland"
    findings = AxeFindings()
    choose_language(page, live_server, "flevoland", lang)
    log_in(page, live_server, flevoland, World.subjects["admin"])

    visit(page, f"{base}/settings/sso", 200)
    findings.check(page, "SSO settings", lang)
    page.fill("#in-issuer", "")
    page.fill("#in-claim_email", "e mail")
    page.fill("#in-group-0", "")
    page.click("button[value=save]")
    assert page.locator("[aria-invalid=true]").count() >= 3
    findings.check(page, "SSO settings refused", lang)
    visit(page, f"{base}/settings/sso", 200)
    page.click("button[value=add_rows]")
    findings.check(page, "SSO settings with more rows", lang)

    visit(page, f"{base}/trainers/", 200)
    findings.check(page, "external trainers (none yet)", lang)
    visit(page, f"{base}/trainers/invite", 200)
    page.click("form.sl-form button[type=submit]")
    assert page.locator("[aria-invalid=true]").count() == 2
    findings.check(page, "invitation refused", lang)
    page.fill("#in-name", "Tom Trainer")
    page.fill("#in-email", "tom@bureau.example")
    page.click("form.sl-form button[type=submit]")
    link = page.locator("#sign-in-link").input_value()
    assert "/flevoland/auth/link/" in link
    findings.check(page, "sign-in link shown", lang)
    visit(page, f"{base}/trainers/", 200)
    findings.check(page, "external trainers", lang)

    # The trainer, in a browser of their own.
    page.context.clear_cookies()
    choose_language(page, live_server, "flevoland", lang)
    visit(page, link.replace("http://localhost", live_server.url), 200)
    findings.check(page, "sign in with a link", lang)
    page.click("form.sl-form button[type=submit]")
    page.wait_for_url(f"{base}/")
    assert "Tom Trainer" in page.content()
    page.context.clear_cookies()
    choose_language(page, live_server, "flevoland", lang)
    visit(page, link.replace("http://localhost", live_server.url), 410)
    findings.check(page, "used sign-in link", lang)

    findings.assert_clean()


def _request_issuer(app, tenant_ref, requester_subject: str, issuer: str) -> None:
    """A new issuer waiting for approval, asked for by `requester_subject`."""
    from sqlalchemy import select

    from samenleren.core.db import utcnow
    from samenleren.core.extensions import db
    from samenleren.core.tenant import Tenant
    from samenleren.identity.models import User

    with in_tenant(app, tenant_ref):
        tenant = db.session.get(Tenant, tenant_ref.id)
        requester = db.session.scalar(select(User).where(User.subject == requester_subject))
        tenant.sso_issuer_pending = issuer
        tenant.sso_issuer_requested_by_id = requester.id
        tenant.sso_issuer_requested_at = utcnow()
        db.session.commit()


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_a_pending_issuer_has_no_accessibility_violations(app, tenants, page, live_server, lang):
    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        build_world(flevoland)
    from tests.conftest import make_user

    with app.app_context():
        make_user(flevoland, "tweede.beheer", "programme_admin", name="Tom Tweede")
    _request_issuer(app, flevoland, World.subjects["admin"], "https://login.nieuw.example.nl")
    base = f"{live_server.url}/flevoland"
    findings = AxeFindings()
    choose_language(page, live_server, "flevoland", lang)
    log_in(page, live_server, flevoland, "tweede.beheer")
    visit(page, f"{base}/settings/sso", 200)
    assert page.locator('form[action="/flevoland/settings/sso/issuer/approve"]').count() == 1
    findings.check(page, "SSO settings, a new issuer to approve", lang)
    findings.assert_clean()
