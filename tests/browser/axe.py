"""axe-core in the page under test, loaded the way a page loads a script.

axe-playwright-python sends the whole of axe.min.js (570 kB) through Playwright with every check
and has V8 parse and compile it afresh, and it carries every rule's result back, passed ones
included: a tenth of a second a page before axe has looked at anything. Here the live server
serves the same file at `AXE_PATH` (the app never sees that path) with a cache lifetime, the page
adds it as a `<script>` of its own origin (allowed by the app's `script-src 'self'`), so
Chromium takes it from its HTTP cache and V8 from its code cache after the first page of a
test, and only the violations come back in full. The rules, options and findings are axe's own.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from axe_playwright_python.base import AXE_FILE_PATH, AxeResults

#: Where the live server serves axe-core; not a path of the app (it has no top-level `_` path).
AXE_PATH = "/__axe-core.js"

_AXE_SOURCE = AXE_FILE_PATH.read_bytes()
_AXE_HEADERS = [
    ("Content-Type", "text/javascript; charset=utf-8"),
    ("Content-Length", str(len(_AXE_SOURCE))),
    ("Cache-Control", "public, max-age=86400, immutable"),
]

# Runs axe with the given options and keeps of its answer what the tests read: every violation
# whole, the ids of the rules that passed, and the ids of those whose result needs review.
_RUN = """options => axe.run(document, options).then(results => ({
    violations: results.violations,
    passes: results.passes.map(rule => ({id: rule.id})),
    incomplete: results.incomplete.map(rule => ({id: rule.id})),
}))"""


def serving_axe(wsgi_app):
    """`wsgi_app` with axe-core served at `AXE_PATH` beside it."""

    def application(environ, start_response):
        if environ.get("PATH_INFO") == AXE_PATH:
            start_response("200 OK", list(_AXE_HEADERS))
            return [_AXE_SOURCE]
        return wsgi_app(environ, start_response)

    return application


def run_axe(page, options: dict) -> AxeResults:
    """axe-core's results for the page as it is now."""
    if not page.evaluate("typeof window.axe === 'object'"):
        origin = urlsplit(page.url)
        if origin.scheme in ("http", "https"):
            page.add_script_tag(url=f"{origin.scheme}://{origin.netloc}{AXE_PATH}")
        else:  # a page set from a string (about:blank) has no server to load it from
            page.add_script_tag(content=_AXE_SOURCE.decode())
    return AxeResults(page.evaluate(_RUN, options))
