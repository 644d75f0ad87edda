"""Chromium end to end: the real app on a free port, one browser for the whole session.

Playwright cannot download browsers here; it drives Debian's Chromium. The app is
served at 127.0.0.1 while the identity providers call themselves `localhost`: two sites, as in
production, so the IdP's redirect back is a cross-site navigation (the session cookie is `Lax`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from flask import Flask

from tests.browser.axe import serving_axe
from tests.conftest import TenantRef, serve_wsgi

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    # Nothing leaves the machine (the IdP mock's page links a CDN style sheet): every host name
    # but the two the tests serve on fails to resolve. Done by Chromium itself, not by routing
    # each request through Playwright, which would switch off the browser's HTTP cache and send
    # every style sheet, logo and script of every page through this process.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
]


@dataclass(frozen=True)
class LiveServer:
    url: str  #: e.g. http://127.0.0.1:41234


def _read_whole(wsgi_app):
    """Each response read to the end (and closed) before it is sent. A browser with its cache
    on drops connections it no longer needs (a favicon it has), and werkzeug's development
    server then leaves the response's file open: a ResourceWarning, which fails a test here."""

    def application(environ, start_response):
        body = wsgi_app(environ, start_response)
        try:
            return [b"".join(body)]
        finally:
            if hasattr(body, "close"):
                body.close()

    return application


@pytest.fixture(scope="session")
def live_server(app: Flask) -> Iterator[LiveServer]:
    with serve_wsgi(_read_whole(serving_axe(app))) as url:
        yield LiveServer(url)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser, live_server: LiveServer):
    """A fresh browser context (no cookies) and page per test."""
    context = browser.new_context(base_url=live_server.url, locale="nl-NL")
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


def log_in(page, live_server: LiveServer, tenant: TenantRef, sub: str, **claims: object) -> None:
    """Log in the way a person does: the app's login button, then the IdP's own form."""
    tenant.idp.set_user(sub, **({"name": sub.title(), "email": f"{sub}@example.nl"} | claims))
    page.goto(f"{live_server.url}/{tenant.slug}/")
    page.click(f'a[href="/{tenant.slug}/auth/login"]')
    page.wait_for_url(f"{tenant.idp.issuer}/**")
    page.fill('input[name="sub"]', sub)
    page.click('button[type="submit"]:not([name])')
    page.wait_for_url(f"{live_server.url}/{tenant.slug}/")
    assert page.locator(f'form[action="/{tenant.slug}/auth/logout"]').count() == 1
