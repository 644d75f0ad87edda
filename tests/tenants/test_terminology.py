"""The tenant's own words for the main nouns: the settings page, `term()`,
role names, the manifest's `[terminology]` table, and that other tenants and languages keep
theirs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from samenleren.tenants.manifest import ManifestError, load_manifest
from tests.coaching.helpers import client_as, post
from tests.factories import build_world, in_tenant
from tests.tenants.test_manifest import BASE

PAGE = "/flevoland/settings/terminology"


@pytest.fixture
def worlds(app, tenants):
    built = {}
    for slug, ref in tenants.items():
        with in_tenant(app, ref):
            built[slug] = build_world(ref)
    return built


def _terminology(app, tenant) -> dict:
    from samenleren.core.extensions import db
    from samenleren.core.tenant import Tenant

    with app.app_context():
        return db.session.get(Tenant, tenant.id).terminology


def _audit_count(app, tenant) -> int:
    from samenleren.audit.models import AuditEvent
    from samenleren.core.extensions import db

    with in_tenant(app, tenant):
        return db.session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "terminology.changed")
        )


def _rename(app, tenants) -> None:
    admin = client_as(app, tenants["flevoland"], "admin")
    answer = post(
        admin,
        tenants["flevoland"],
        PAGE,
        {
            "nl-coach-one": "Maatje",
            "nl-coach-other": "  Maatjes ",
            "nl-coach_day-other": "Maatjesdagen",
        },
    )
    assert answer.status_code == 303


def test_a_renamed_coach_shows_in_nav_headings_and_role_labels(app, tenants, worlds):
    _rename(app, tenants)
    assert _terminology(app, tenants["flevoland"]) == {
        "nl": {
            "coach": {"one": "Maatje", "other": "Maatjes"},
            "coach_day": {"other": "Maatjesdagen"},
        }
    }
    assert _audit_count(app, tenants["flevoland"]) == 1
    admin = client_as(app, tenants["flevoland"], "admin")
    days = admin.get("/flevoland/coach-days/").get_data(as_text=True)
    assert re.search(r"<h1[^>]*>Maatjesdagen</h1>", days)  # the page heading
    assert re.search(r'aria-current="page">Maatjesdagen</a>', days)  # the navigation
    assert "Leercoachdagen" not in days
    pool = admin.get("/flevoland/coaches/").get_data(as_text=True)
    assert re.search(r'scope="col">Maatje</th>', pool)  # a table header
    coach = client_as(app, tenants["flevoland"], "coach")
    home = coach.get("/flevoland/").get_data(as_text=True)
    roles = re.search(r"<dt>Je rollen</dt>\s*<dd>(.*?)</dd>", home, re.S)
    assert roles and "Maatje" in roles.group(1)  # the role label
    # In English the tenant chose nothing: the usual word.
    english = coach.get("/flevoland/?lang=en").get_data(as_text=True)
    assert "Maatje" not in english
    assert re.search(r"<dt>Your roles</dt>\s*<dd>[^<]*Learning coach", english)
    # The other tenant keeps its words.
    other = client_as(app, tenants["gelderland"], "coach")
    page = other.get("/gelderland/").get_data(as_text=True)
    assert "Maatje" not in page and "Leercoach" in page


def test_role_names_in_sentences_follow_the_terminology(app, tenants, worlds):
    from flask_babel import force_locale

    from samenleren.identity.models import Role
    from samenleren.trajectories.permissions import role_names

    _rename(app, tenants)
    with in_tenant(app, tenants["flevoland"]), app.test_request_context():
        with force_locale("nl"):
            assert role_names()[Role.COACH] == "de maatje"
            assert role_names()[Role.LEARNER] == "de deelnemer"
        with force_locale("en"):
            assert role_names()[Role.COACH] == "the learning coach"
    with in_tenant(app, tenants["gelderland"]), app.test_request_context():
        with force_locale("nl"):
            assert role_names()[Role.COACH] == "de leercoach"


@pytest.mark.parametrize(
    ("field", "word"),
    [
        ("nl-coach-one", "<b>Maatje</b>"),
        ("en-learner-other", "Learners<script>"),
        ("fy-trajectory-one", "x" * 41),
        ("nl-manager-one", "Baas & co"),
    ],
)
def test_markup_and_long_words_are_refused_and_nothing_is_written(
    app, tenants, worlds, field, word
):
    admin = client_as(app, tenants["flevoland"], "admin")
    answer = post(admin, tenants["flevoland"], PAGE, {field: word, "nl-learner-one": "Cursist"})
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    assert re.search(rf'id="in-{field}"[^>]*aria-invalid="true"', page)
    assert "<b>Maatje</b>" not in page and "<script>" not in page  # shown escaped only
    assert _terminology(app, tenants["flevoland"]) == {}
    assert _audit_count(app, tenants["flevoland"]) == 0


def test_the_page_is_for_the_programme_admin_and_blank_means_the_default(app, tenants, worlds):
    coach = client_as(app, tenants["flevoland"], "coach")
    assert coach.get(PAGE).status_code == 404
    assert post(coach, tenants["flevoland"], PAGE, {"nl-coach-one": "X"}).status_code == 404
    _rename(app, tenants)
    admin = client_as(app, tenants["flevoland"], "admin")
    form = admin.get(PAGE).get_data(as_text=True)
    assert 'value="Maatje"' in form
    cleared = post(admin, tenants["flevoland"], PAGE, {"nl-coach-one": " "})
    assert cleared.status_code == 303
    assert _terminology(app, tenants["flevoland"]) == {}
    settings = admin.get("/flevoland/settings/programme").get_data(as_text=True)
    assert 'href="/flevoland/settings/terminology"' in settings


def _manifest(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "zeeland.toml"
    path.write_text(BASE + extra, encoding="utf-8")
    return path


def test_the_manifest_may_name_the_words(tmp_path):
    loaded = load_manifest(
        _manifest(tmp_path, '\n[terminology.nl]\ncoach = { one = "Maatje", other = "Maatjes" }\n')
    )
    assert loaded.manifest.terminology["nl"]["coach"].one == "Maatje"


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ('\n[terminology.nl]\nbuddy = { one = "Maatje" }\n', "terminology"),
        ('\n[terminology.de]\ncoach = { one = "Kumpel" }\n', "terminology"),
        ('\n[terminology.nl]\ncoach = { one = "<i>Maatje</i>" }\n', "terminology.nl.coach.one"),
        ('\n[terminology.nl]\ncoach = { single = "Maatje" }\n', "terminology.nl.coach.single"),
    ],
)
def test_a_bad_terminology_table_is_one_line(tmp_path, extra, key):
    path = _manifest(tmp_path, extra)
    with pytest.raises(ManifestError) as caught:
        load_manifest(path)
    assert caught.value.key == key, str(caught.value)


def test_onboarding_applies_the_manifests_words(app, tmp_path):
    from samenleren.core.extensions import db
    from samenleren.core.tenant import get_tenant_by_slug
    from samenleren.tenants.manifest import load_manifest as load
    from samenleren.tenants.services import onboard_tenant

    path = _manifest(tmp_path, '\n[terminology.en]\nlearner = { other = "Participants" }\n')
    with app.app_context():
        onboard_tenant(load(path))
        tenant = get_tenant_by_slug("zeeland")
        assert tenant.terminology == {"en": {"learner": {"other": "Participants"}}}
        db.session.rollback()
