"""The OpenID NLGov parts of the identity pages in Chromium, in Dutch, English and Frisian: the SSO
settings with `private_key_jwt` chosen and two published keys (each with its certificate for
Microsoft Entra ID: thumbprint, expiry date, download), and an employee's link to the
identity provider before and after it is unlinked. axe-core finds no WCAG 2.1 AA violation."""

from __future__ import annotations

import pytest

from tests.browser.conftest import log_in
from tests.browser.test_pages import AxeFindings, choose_language, visit
from tests.factories import World, build_world, get, in_tenant

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("lang", ["nl", "en", "fy"])
def test_nlgov_identity_pages_have_no_accessibility_violations(
    app, tenants, page, live_server, lang
):
    from samenleren.core.extensions import db
    from samenleren.core.tenancy import require_tenant
    from samenleren.identity.client_keys import rotate_client_key
    from samenleren.identity.models import User
    from samenleren.identity.sso_setup import choose_client_auth_method

    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        world = build_world(flevoland)
    base = f"{live_server.url}/flevoland"
    findings = AxeFindings()
    choose_language(page, live_server, "flevoland", lang)
    # Logged in before private_key_jwt is chosen: the mock IdP accepts only client secrets.
    log_in(page, live_server, flevoland, World.subjects["admin"])
    with in_tenant(app, flevoland):
        tenant = require_tenant()
        choose_client_auth_method(tenant, "private_key_jwt", actor_label="test")
        rotate_client_key(tenant, None, actor_label="test")
        learner = get(User, world.learner)
        learner.idp_tenant_id = "9b2a3c4d-0000-4000-8000-000000000001"
        learner.idp_object_id = "5e6f7a8b-0000-4000-8000-000000000002"
        db.session.commit()

    visit(page, f"{base}/settings/sso", 200)
    assert page.locator("#jwks-url").inner_text().endswith("/flevoland/sso/jwks.json")
    downloads = page.locator("main a[href$='/certificate.pem']")
    assert downloads.count() == 2
    assert page.locator("#entra-certificate").count() == 1
    findings.check(page, "SSO settings with two published keys", lang)

    visit(page, f"{base}/employees/{world.learner}/identity", 200)
    findings.check(page, "link to the identity provider", lang)
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{base}/employees/{world.learner}/identity")
    assert page.locator("main form button[type=submit]").count() == 0
    findings.check(page, "link to the identity provider, unlinked", lang)

    findings.assert_clean()
