"""`_()` and `ngettext()` in pages are bound to the catalogue of the language a page is
rendered in (`core.i18n.template_translations`): the request's language, a forced one, escaped
where the template escapes, and the same words as Flask-Babel's own callables."""

from __future__ import annotations

from flask import Flask, render_template_string
from flask_babel import force_locale, gettext

PAGE = (
    '{{ _("Trainings") }}|'
    '{{ ngettext("%(num)d more coming edition of %(title)s", '
    '"%(num)d more coming editions of %(title)s", count, title=title) }}'
)


def _render(app: Flask, query: str = "", **values: object) -> str:
    with app.test_request_context(f"/{query}"):
        app.preprocess_request()
        return render_template_string(PAGE, count=3, title="<Schrijven>", **values)


def test_pages_speak_the_request_language(app: Flask) -> None:
    assert _render(app) == "Trainingen|Nog 3 komende edities van &lt;Schrijven&gt;"
    assert _render(app, "?lang=en") == "Trainings|3 more coming editions of &lt;Schrijven&gt;"


def test_a_forced_language_holds_for_a_page_rendered_in_it(app: Flask) -> None:
    with app.test_request_context("/?lang=en"):
        app.preprocess_request()
        with force_locale("nl"):
            page = render_template_string(PAGE, count=1, title="Schrijven")
            assert page.split("|")[0] == gettext("Trainings") == "Trainingen"
        assert page == "Trainingen|Nog 1 komende editie van Schrijven"
        assert render_template_string(PAGE, count=1, title="x").startswith("Trainings|")
