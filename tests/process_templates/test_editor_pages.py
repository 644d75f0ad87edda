"""The process-template editor over HTTP: admin only, editing a draft step by step, refused input
(422, nothing written), publishing with and without problems, preview, queries per page."""

from __future__ import annotations

import html
import re
import uuid
from datetime import date

import pytest
from flask import Flask
from sqlalchemy import select

from tests.factories import World, build_world, get, in_tenant
from tests.test_isolation import QueryCounter
from tests.trajectories.test_pages import client_for, post

pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture
def world(app, tenants) -> World:
    with in_tenant(app, tenants["flevoland"]):
        return build_world(tenants["flevoland"])


def template_id(app: Flask, world: World) -> uuid.UUID:
    from samenleren.core.extensions import db
    from samenleren.process_templates.models import ProcessTemplate

    with in_tenant(app, world.tenant):
        return db.session.scalar(select(ProcessTemplate.id).where(ProcessTemplate.is_default))


def definition_of(app: Flask, world: World, version_id: uuid.UUID) -> dict:
    from samenleren.process_templates.models import TemplateVersion

    with in_tenant(app, world.tenant):
        return get(TemplateVersion, version_id).definition


def start(app: Flask, world: World, client) -> uuid.UUID:
    answer = post(app, client, f"/flevoland/templates/{template_id(app, world)}/draft")
    assert answer.status_code == 303
    return uuid.UUID(answer.headers["Location"].rstrip("/").split("/")[-1])


STEP_FORM = {
    "name_nl": "Extra gesprek",
    "name_en": "Extra conversation",
    "name_fy": "",
    "description_nl": "",
    "key": "",
    "kind": "conversation",
    "participants": ["learner", "coach"],
    "responsible": ["coach"],
    "anchor": "edition_end",
    "offset_months": "1",
    "offset_days": "0",
    "reminders": "7, 1",
    "repeat_min": "1",
    "repeat_max": "1",
    "repeat_interval": "0",
}


def form(data: dict) -> list[tuple[str, str]]:
    pairs = []
    for key, value in data.items():
        for item in value if isinstance(value, list) else [value]:
            pairs.append((key, item))
    return pairs


@pytest.mark.parametrize("who", ["learner", "coach", "manager", "trainer"])
def test_only_programme_admins_reach_the_editor(app, world, who):
    client = client_for(app, world, who)
    assert client.get("/flevoland/templates/").status_code == 404
    tid = template_id(app, world)
    assert client.get(f"/flevoland/templates/{tid}/").status_code == 404
    assert post(app, client, f"/flevoland/templates/{tid}/draft").status_code == 404
    admin = client_for(app, world, "admin")
    draft = start(app, world, admin)
    for path in (
        f"/flevoland/templates/drafts/{draft}/",
        f"/flevoland/templates/drafts/{draft}/steps/intake/",
        f"/flevoland/templates/versions/{draft}/preview",
    ):
        assert client.get(path).status_code == 404, path
    assert post(app, client, f"/flevoland/templates/drafts/{draft}/publish").status_code == 404


def test_admin_edits_a_draft_and_publishes_it(app, world):
    from samenleren.core.extensions import db
    from samenleren.process_templates.models import TemplateVersion, VersionStatus

    client = client_for(app, world, "admin")
    tid = template_id(app, world)
    page = client.get("/flevoland/templates/").get_data(as_text=True)
    assert "Flevoland model" in page
    overview = client.get(f"/flevoland/templates/{tid}/").get_data(as_text=True)
    assert "Start editing" in overview and "Flevoland model (built in)" in overview
    draft = start(app, world, client)
    base = f"/flevoland/templates/drafts/{draft}"
    assert "No problems found" in client.get(f"{base}/").get_data(as_text=True)

    # Add a step: its key comes from the Dutch name.
    answer = post(app, client, f"{base}/steps/new", form(STEP_FORM))
    assert answer.status_code == 303, answer.get_data(as_text=True)
    assert answer.headers["Location"].endswith("/steps/extra_gesprek/")
    # Move the return day to 6 months after the edition.
    values = form({**STEP_FORM, "name_nl": "Terugkomdag", "name_en": "Return day"})
    values = [(k, v) for k, v in values if k not in {"offset_months", "kind", "participants"}]
    values += [("offset_months", "6"), ("kind", "group_meeting"), ("participants", "learner")]
    values = [(k, v) for k, v in values if k != "responsible"] + [
        ("responsible", "programme_admin"),
        ("key", "return_day"),
    ]
    values = [(k, v) for k, v in values if not (k == "key" and v == "")]
    assert post(app, client, f"{base}/steps/return_day/", values).status_code == 303
    # A rating field on the evaluation.
    field = [
        ("label_nl", "Cijfer voor de coach"),
        ("label_en", "Rating for the coach"),
        ("type", "rating"),
        ("editors", "learner"),
        ("readers", "learner"),
        ("readers", "coach"),
        ("readers", "programme_admin"),
    ]
    answer = post(app, client, f"{base}/steps/evaluation/fields/new", field)
    assert answer.status_code == 303, answer.get_data(as_text=True)
    # Move the new step up.
    assert (
        post(app, client, f"{base}/steps/extra_gesprek/move", {"direction": "up"}).status_code
        == 303
    )
    document = definition_of(app, world, draft)
    keys = [s["key"] for s in document["steps"]]
    assert keys.index("extra_gesprek") == keys.index("return_day") + 1
    return_day = next(s for s in document["steps"] if s["key"] == "return_day")
    assert return_day["timing"] == {"anchor": "edition_end", "offset_days": 0, "offset_months": 6}
    evaluation = next(s for s in document["steps"] if s["key"] == "evaluation")
    assert evaluation["fields"][-1]["key"] == "cijfer_voor_de_coach"

    preview = client.get(
        f"/flevoland/templates/versions/{draft}/preview"
        "?starts_on=2026-09-01&ends_on=2026-09-30&enrolled_on=2026-08-01"
    )
    assert preview.status_code == 200
    text = preview.get_data(as_text=True)
    assert "Return day" in text and "due Mar 30, 2027" in text, text

    answer = post(app, client, f"{base}/publish")
    assert answer.status_code == 303
    with in_tenant(app, world.tenant):
        version = get(TemplateVersion, draft)
        assert version.status is VersionStatus.PUBLISHED
        assert version.content.step("return_day").timing.offset_months == 6
        db.session.rollback()
    assert client.get(f"{base}/").status_code == 404  # no longer a draft
    overview = client.get(f"/flevoland/templates/{tid}/").get_data(as_text=True)
    assert "Edited from version 1" in overview and "Pim Admin" in overview


def _version_row(page: str, number: int) -> str:
    row = re.search(rf'<tr[^>]*id="version-{number}">(.*?)</tr>', page, re.S)
    assert row, page
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", row.group(1))).split())


@pytest.mark.parametrize(
    ("language", "onboarding"),
    [("en", "Samen Leren, at onboarding"), ("nl", "Samen Leren, bij de aansluiting")],
)
def test_published_by_names_the_person_or_says_it_came_with_onboarding(
    app, world, monkeypatch, language, onboarding
):
    monkeypatch.setattr(app.extensions["babel"], "locale_selector", lambda: language)
    client = client_for(app, world, "admin")
    tid = template_id(app, world)
    draft = start(app, world, client)
    assert post(app, client, f"/flevoland/templates/drafts/{draft}/publish").status_code == 303

    page = client.get(f"/flevoland/templates/{tid}/").get_data(as_text=True)
    published_by_admin, made_at_onboarding = _version_row(page, 2), _version_row(page, 1)
    assert "Pim Admin flevoland" in published_by_admin
    assert onboarding not in published_by_admin
    assert onboarding in made_at_onboarding
    assert "Pim Admin" not in made_at_onboarding
    for word in ("Onboarding", "Aansluiting"):  # the old bare word, in either language
        assert f" {word} " not in f" {made_at_onboarding} "


@pytest.mark.parametrize(
    ("change", "name", "message"),
    [
        ({"offset_days": "soon"}, "offset_days", "whole number"),
        ({"offset_months": "30"}, "offset_months", "from -12 to 24"),
        ({"reminders": "7, tomorrow"}, "reminders", "separated by commas"),
        ({"repeat_max": "x"}, "repeat_max", "whole number"),
        ({"name_nl": ""}, "name_nl", "default language"),
        ({"key": "Intake!"}, "key", "lower-case"),
        ({"key": "intake"}, "key", "already has the key"),
        ({"anchor": "step:return_day"}, "anchor", "earlier steps"),
    ],
)
def test_bad_step_input_is_refused_at_the_field_and_nothing_is_written(
    app, world, change, name, message
):
    client = client_for(app, world, "admin")
    draft = start(app, world, client)
    before = definition_of(app, world, draft)
    values = {**STEP_FORM, **change}
    answer = post(app, client, f"/flevoland/templates/drafts/{draft}/steps/training/", form(values))
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    assert f'id="{name}-error"' in page
    error = page.split(f'id="{name}-error">')[1].split("</p>")[0]
    assert message in error.lower()
    assert definition_of(app, world, draft) == before


def test_readers_beyond_the_ceiling_are_refused(app, world):
    client = client_for(app, world, "admin")
    draft = start(app, world, client)
    before = definition_of(app, world, draft)
    base = f"/flevoland/templates/drafts/{draft}/steps/progress/fields"
    page = client.get(f"{base}/notes/").get_data(as_text=True)
    # A confidential step: only the learner and the coach are offered as readers.
    assert 'id="readers-coach"' in page and 'id="readers-manager"' not in page
    assert 'id="readers-programme_admin"' not in page
    field = [
        ("label_nl", "Notities"),
        ("type", "long_text"),
        ("editors", "learner"),
        ("readers", "learner"),
        ("readers", "manager"),
    ]
    answer = post(app, client, f"{base}/notes/", field)
    assert answer.status_code == 422
    assert "may only be read by" in answer.get_data(as_text=True)
    choice = [("label_nl", "Keuze"), ("type", "choice"), ("editors", "learner"), ("choices", "")]
    assert post(app, client, f"{base}/new", choice).status_code == 422
    bad = [*choice[:-1], ("choices", "Vaak | Vaak")]
    assert "not a valid key" in post(app, client, f"{base}/new", bad).get_data(as_text=True)
    assert definition_of(app, world, draft) == before


def test_publish_with_problems_is_refused_with_the_list(app, world):
    from samenleren.process_templates.models import TemplateVersion, VersionStatus

    client = client_for(app, world, "admin")
    draft = start(app, world, client)
    base = f"/flevoland/templates/drafts/{draft}"
    values = form({**STEP_FORM, "name_nl": "Voortgangsgesprek", "key": "progress"})
    values = [(k, v) for k, v in values if k not in {"repeat_min", "repeat_max", "responsible"}]
    values += [("repeat_min", "5"), ("repeat_max", "2"), ("confidential", "1")]
    assert post(app, client, f"{base}/steps/progress/", values).status_code == 303
    page = client.get(f"{base}/").get_data(as_text=True)
    assert "nobody is responsible for this step" in page
    assert "at least 5 times but at most 2 times" in page
    assert f'href="/flevoland/templates/drafts/{draft}/steps/progress/"' in page
    answer = post(app, client, f"{base}/publish")
    assert answer.status_code == 422
    refused = answer.get_data(as_text=True)
    assert "Not published" in refused and "nobody is responsible" in refused
    with in_tenant(app, world.tenant):
        assert get(TemplateVersion, draft).status is VersionStatus.DRAFT


def test_removing_steps_and_fields_and_discarding_ask_first(app, world):
    from samenleren.process_templates.drafts import draft_of
    from samenleren.process_templates.models import ProcessTemplate

    client = client_for(app, world, "admin")
    draft = start(app, world, client)
    base = f"/flevoland/templates/drafts/{draft}"
    confirm = client.get(f"{base}/steps/intake/remove").get_data(as_text=True)
    assert "Remove the step" in confirm
    assert post(app, client, f"{base}/steps/intake/remove").status_code == 303
    assert client.get(f"{base}/steps/progress/fields/notes/remove").status_code == 200
    assert post(app, client, f"{base}/steps/progress/fields/notes/remove").status_code == 303
    document = definition_of(app, world, draft)
    assert "intake" not in [s["key"] for s in document["steps"]]
    progress = next(s for s in document["steps"] if s["key"] == "progress")
    assert "notes" not in [f["key"] for f in progress["fields"]]
    assert "Discard the draft" in client.get(f"{base}/discard").get_data(as_text=True)
    assert post(app, client, f"{base}/discard").status_code == 303
    with in_tenant(app, world.tenant):
        from samenleren.core.extensions import db

        template = db.session.get(ProcessTemplate, (world.tenant.id, template_id(app, world)))
        assert draft_of(template) is None


def test_preview_of_a_published_version_and_bad_dates(app, world):
    from samenleren.process_templates.services import current_version

    client = client_for(app, world, "admin")
    with in_tenant(app, world.tenant):
        version = current_version().id
    path = f"/flevoland/templates/versions/{version}/preview"
    answer = client.get(f"{path}?starts_on=2026-09-01&ends_on=2026-09-30&enrolled_on=2026-08-01")
    text = answer.get_data(as_text=True)
    assert answer.status_code == 200
    # Return day: 3 months after the edition's end; progress 4 times, 42 days apart.
    assert "due Dec 30, 2026" in text
    assert text.count('data-step="progress"') == 4
    assert client.get(f"{path}?starts_on=tomorrow").status_code == 422
    assert client.get(f"{path}?starts_on=2026-09-01&ends_on=2026-08-01").status_code == 422
    assert date(2026, 9, 1)  # the dates above are ISO dates


def test_editor_pages_need_few_queries(app, world):
    client = client_for(app, world, "admin")
    draft = start(app, world, client)
    tid = template_id(app, world)
    pages = [
        "/flevoland/templates/",
        f"/flevoland/templates/{tid}/",
        f"/flevoland/templates/drafts/{draft}/",
        f"/flevoland/templates/drafts/{draft}/steps/evaluation/",
        f"/flevoland/templates/drafts/{draft}/steps/evaluation/fields/expectations_met/",
        f"/flevoland/templates/drafts/{draft}/steps/new",
        f"/flevoland/templates/versions/{draft}/preview",
    ]
    counter = QueryCounter(app)
    for page in pages:
        client.get(page)
        with counter.counting() as statements:
            answer = client.get(page)
        assert answer.status_code == 200, page
        assert len(statements) <= 8, (page, statements)


def test_publishing_is_confirmed_with_the_running_trajectories_that_keep_their_version(app, world):
    """The draft's publish button asks first: the world's trajectory runs on version 1 and stays
    there; nothing is published until the admin says yes. Nobody else sees the question."""
    from samenleren.core.extensions import db
    from samenleren.process_templates.models import TemplateVersion, VersionStatus

    admin = client_for(app, world, "admin")
    draft = start(app, world, admin)
    draft_page = admin.get(f"/flevoland/templates/drafts/{draft}/").get_data(as_text=True)
    confirm_url = f"/flevoland/templates/drafts/{draft}/confirm-publish"
    assert f'action="{confirm_url}"' in draft_page

    page = admin.get(confirm_url)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "1 running trajectory stays on the version it started on" in text
    assert "version 1: 1 trajectory" in text
    assert "every trajectory that starts from now on follows version 2" in text
    with in_tenant(app, world.tenant):
        assert get(TemplateVersion, draft).status is VersionStatus.DRAFT  # asking wrote nothing
        db.session.rollback()

    for who in ("learner", "coach", "manager"):
        assert client_for(app, world, who).get(confirm_url).status_code == 404
    assert post(app, admin, f"/flevoland/templates/drafts/{draft}/publish").status_code == 303
    assert admin.get(confirm_url).status_code == 404  # published: no longer a draft to confirm
