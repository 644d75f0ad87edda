"""On a phone (390 px wide): header links and table headers wrap between words, never inside
one ("Leerdoele|n"); the pages stay axe-clean; and no request of a page answers 404 (the
favicon included)."""

from __future__ import annotations

import pytest

from tests.browser.conftest import log_in
from tests.browser.test_pages import AxeFindings
from tests.factories import World, build_world, in_tenant

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}

#: Pages of the programme administrator (the longest menu) with wide tables.
ADMIN_PAGES = [
    "/flevoland/",
    "/flevoland/trainings/",
    "/flevoland/coaches/",
    "/flevoland/organisation-goals/",
    "/flevoland/templates/",
    "/flevoland/audit/",
    "/flevoland/budget/",
]

#: Every word (split at spaces and hyphens, where a break is allowed) of each header link and
#: table header cell that the browser laid out on more than one line.
SPLIT_WORDS = """
() => {
  const split = [];
  const targets = document.querySelectorAll(
    ".sl-header a, .sl-header button, .sl-header .sl-languages__current, th");
  for (const element of targets) {
    const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (node.parentElement.closest(".sl-visually-hidden")) continue;
      for (const match of node.data.matchAll(/[^\\s\\-\\u2010]+/g)) {
        const range = document.createRange();
        range.setStart(node, match.index);
        range.setEnd(node, match.index + match[0].length);
        const lines = new Set();
        for (const rect of range.getClientRects()) {
          if (rect.width > 0) lines.add(Math.round(rect.top));
        }
        if (lines.size > 1) split.push(`${element.tagName.toLowerCase()}: ${match[0]}`);
      }
    }
  }
  return split;
}
"""


def _split_words(page) -> list[str]:
    return page.evaluate(SPLIT_WORDS)


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_header_links_and_table_headers_never_break_inside_a_word(
    app, tenants, page, live_server, lang
):
    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        build_world(flevoland)
    page.set_viewport_size(PHONE)
    failed: list[str] = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else 0)
    page.goto(f"{live_server.url}/flevoland/?lang={lang}")
    log_in(page, live_server, flevoland, World.subjects["admin"])
    findings = AxeFindings()
    split: dict[str, list[str]] = {}
    for path in ADMIN_PAGES:
        answer = page.goto(f"{live_server.url}{path}")
        assert answer.status == 200, path
        assert page.locator("th").count() > 0 or path == "/flevoland/", path
        if words := _split_words(page):
            split[path] = words
        findings.check(page, f"{path} at 390 px", lang)
    assert split == {}, split
    assert failed == []
    findings.assert_clean()


def test_the_check_finds_a_word_broken_inside(tenants, page, live_server):
    """The measurement above can fail: a header squeezed to one letter breaks its words."""
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/flevoland/?lang=nl")
    page.evaluate(
        """() => {
          const th = document.createElement("th");
          th.textContent = "Leerdoelen";
          th.style.cssText = "display:block;inline-size:3ch;word-break:break-all";
          document.querySelector("main").append(th);
        }"""
    )
    assert _split_words(page) == ["th: Leerdoelen"]
