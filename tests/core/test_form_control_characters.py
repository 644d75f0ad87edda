"""Control characters in web forms: `form_action` refuses them for every form, before any service
runs; only fields declared multi-line (the text areas) keep line breaks and tabs.

One regression test per family of input that used to let them through (the template editor's
step names and field labels, edition names, organisation goals, a step's short texts), and a
check that every text area of every template is declared multi-line by some form, so that a new
text area cannot silently refuse the line breaks its users type.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from tests.factories import World, build_world, get, in_tenant
from tests.process_templates.test_editor_pages import STEP_FORM, form, start
from tests.trajectories.test_pages import client_for, post

pytestmark = pytest.mark.usefixtures("english")

MESSAGE = "Remove the line break or other control character from this field."
PACKAGE = Path(__file__).resolve().parents[2] / "platform" / "samenleren"


@pytest.fixture
def world(app, tenants) -> World:
    with in_tenant(app, tenants["flevoland"]):
        return build_world(tenants["flevoland"])


def refused_for(answer, field: str) -> bool:
    """422, with the message next to `field` (the error paragraph the form macros render)."""
    page = answer.get_data(as_text=True)
    key = re.escape(field.replace(".", "-"))
    errors = re.findall(rf'<p[^>]*id="(?:err-{key}|{key}-error)"[^>]*>([^<]*)</p>', page)
    return answer.status_code == 422 and any(MESSAGE in error for error in errors)


# --- the check itself ---------------------------------------------------------------------------


def test_every_posted_field_is_single_line_unless_declared_multi_line(app: Flask) -> None:
    from samenleren.core.web import control_character_errors

    data = {
        "name": "Anna\r\nBcc: eve@example.nl",
        "description_nl": "regel 1\r\nregel 2\tmet tab",
        "description_en": "line\x1b[31m",
        "hidden": "\u2028",
        "plain": "Gewoon één regel ✓",
    }
    with app.test_request_context("/", method="POST", data=data):
        errors = control_character_errors(("description_*",))
        assert set(errors) == {"name", "description_en", "hidden"}
        assert control_character_errors(()).keys() == {*errors, "description_nl"}
    with app.test_request_context("/?name=%0d%0a", method="GET"):
        assert control_character_errors() == {}  # a GET posts no form


# --- the families of input ----------------------------------------------------------------------


def test_template_editor_refuses_them_in_step_names_and_field_labels(app, world) -> None:
    from samenleren.core.extensions import db
    from samenleren.process_templates.models import TemplateVersion

    admin = client_for(app, world, "admin")
    draft = start(app, world, admin)
    base = f"/flevoland/templates/drafts/{draft}"

    def content() -> object:
        with in_tenant(app, world.tenant):
            return db.session.get(TemplateVersion, (world.tenant.id, draft)).definition

    before = content()
    for bad in ("Extra\r\nBcc: eve@example.nl", "Extra\x00", "Extra\u2028gesprek"):
        answer = post(app, admin, f"{base}/steps/new", form({**STEP_FORM, "name_nl": bad}))
        assert refused_for(answer, "name_nl"), (bad, answer.status_code)
    answer = post(app, admin, f"{base}/steps/intake/", form({**STEP_FORM, "name_en": "In\ntake"}))
    assert refused_for(answer, "name_en")
    assert content() == before
    # The description is a text area: line breaks are kept, other control characters are not.
    answer = post(
        app, admin, f"{base}/steps/new", form({**STEP_FORM, "description_nl": "Eén\r\ntwee\x07"})
    )
    assert refused_for(answer, "description_nl")
    assert content() == before
    added = post(
        app, admin, f"{base}/steps/new", form({**STEP_FORM, "description_nl": "Eén\r\n\ttwee"})
    )
    assert added.status_code == 303

    field_form = {
        "label_nl": "Hoe\r\nging het?",
        "label_en": "How did it go?",
        "key": "",
        "type": "choice",
        "editors": ["learner"],
        "choices": "goed | Goed | Good\nmatig | Matig | So-so",
    }
    before = content()
    fields = f"{base}/steps/extra_gesprek/fields/new"
    assert refused_for(post(app, admin, fields, form(field_form)), "label_nl")
    assert refused_for(
        post(app, admin, fields, form({**field_form, "label_nl": "Hoe", "help_en": "a\x1bb"})),
        "help_en",
    )
    assert content() == before
    # The choices are a text area, one choice a line: accepted with their line breaks.
    assert post(app, admin, fields, form({**field_form, "label_nl": "Hoe"})).status_code == 303


def test_edition_names_and_places_refuse_them(app, world) -> None:
    from samenleren.catalogue.models import Edition

    admin = client_for(app, world, "admin")
    edit = f"/flevoland/editions/{world.edition}/edit"
    good = {"name": "Najaar 2027", "starts_on": "2027-10-01", "ends_on": "2027-10-20"}
    for field, bad in (("name", "Najaar\r\n2027"), ("location", "Zaal\x0b3")):
        assert refused_for(post(app, admin, edit, {**good, field: bad}), field)
    new = f"/flevoland/trainings/{world.training}/editions/new"
    assert refused_for(post(app, admin, new, {**good, "name": "Najaar\n2027"}), "name")
    with in_tenant(app, world.tenant):
        assert get(Edition, world.edition).name == f"Editie {world.tenant.slug}"
    assert post(app, admin, edit, good).status_code == 303  # the same form, clean, is saved


def test_organisation_goals_refuse_them_in_titles_not_line_breaks_in_descriptions(
    app, world
) -> None:
    from samenleren.core.extensions import db
    from samenleren.tenants.models import OrganisationGoal

    admin = client_for(app, world, "admin")
    path = "/flevoland/organisation-goals/new"

    def count() -> int:
        with in_tenant(app, world.tenant):
            return len(db.session.scalars(select(OrganisationGoal.id)).all())

    before = count()
    good = {"code": "OD9", "title_nl": "Duurzaam werken", "description_nl": "Eén\r\ntwee"}
    assert refused_for(post(app, admin, path, {**good, "title_nl": "Duurzaam\rwerken"}), "title_nl")
    assert count() == before
    assert post(app, admin, path, good).status_code == 303
    assert count() == before + 1


def test_a_steps_short_text_is_one_line_its_long_text_may_hold_line_breaks(app) -> None:
    from samenleren.process_templates.definition import FieldSpec, FieldType
    from samenleren.trajectories.values import parse_value

    with app.test_request_context("/"):
        common = {"label": {"nl": "Titel"}, "readers": [], "editors": ["learner"]}
        short = FieldSpec.model_validate({"key": "titel", "type": "text", **common})
        long = FieldSpec.model_validate({"key": "verslag", "type": "long_text", **common})
        assert short.type is FieldType.TEXT and long.type is FieldType.LONG_TEXT
        with pytest.raises(ValueError, match="control character"):
            parse_value(short, "Titel\r\nBcc: x")
        assert parse_value(long, "Eén\r\n\ttwee") == "Eén\r\n\ttwee"
        with pytest.raises(ValueError, match="control character"):
            parse_value(long, "Eén\x00twee")


# --- every text area is declared multi-line ---------------------------------------------------


def _textarea_names() -> dict[str, str]:
    """Each `forms.textarea(...)` of the templates: a sample field name -> the template."""
    found = {}
    call = re.compile(r"forms\.textarea\(\s*([^,]+),")
    # `{% set prefix = "result-" ~ i ~ "-" %}` ... `forms.textarea(prefix ~ "observable", ...)`
    prefix_set = re.compile(r"""set prefix = ["']([^"']*)["'] ~ [\w.]+ ~ ["']([^"']*)["']""")
    for template in PACKAGE.rglob("*.html"):
        if "macros" in template.parts:
            continue
        text = template.read_text()
        for match in call.finditer(text):
            argument = match.group(1).strip()
            literal = re.match(r"""^["']([^"']*)["']""", argument)
            prefixed = re.match(r"""^prefix ~ ["']([^"']*)["']$""", argument)
            if prefixed is not None:
                (before, after), *_ = reversed(prefix_set.findall(text, 0, match.start()))
                found[f"{before}0{after}{prefixed.group(1)}"] = str(template.relative_to(PACKAGE))
                continue
            if literal is None:
                # `name`: a step's field, named by `trajectories.values.field_name` (`f.<key>`).
                assert argument == "name", (template, argument)
                sample = "f.verslag"
            elif "|format" in argument:
                sample = literal.group(1).replace("%d", "0")
            else:
                sample = literal.group(1) + ("nl" if "~" in argument else "")
            found[sample] = str(template.relative_to(PACKAGE))
    return found


def _declared_multi_line() -> set[str]:
    """Every pattern given as `multiline=` to a `form_action` call in the package."""
    patterns = set()
    for module in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.Call) and ast.unparse(node.func).endswith("form_action"):
                for keyword in node.keywords:
                    if keyword.arg == "multiline":
                        patterns.update(ast.literal_eval(keyword.value))
    return patterns


def test_every_text_area_is_declared_multi_line() -> None:
    from fnmatch import fnmatchcase

    names = _textarea_names()
    patterns = _declared_multi_line()
    assert len(names) >= 10 and "f.verslag" in names
    undeclared = {
        name: template
        for name, template in names.items()
        if not any(fnmatchcase(name, pattern) for pattern in patterns)
    }
    assert not undeclared, (
        f"text areas no form declares multi-line: {undeclared}. Pass their names as "
        "`multiline=` to the view's `form_action`, or a line break in them is refused."
    )
