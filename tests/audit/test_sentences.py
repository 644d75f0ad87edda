"""The audit log reads as sentences for a person: who did what to which thing, by name."""

from __future__ import annotations

import html
import re
import uuid
from datetime import UTC, datetime

import pytest
from babel.messages.pofile import read_po

from samenleren.audit.events import AuditAction
from samenleren.audit_log.sentences import SENTENCES
from tests.audit.test_pages import EXPORT, PAGE, add_events, export_rows
from tests.factories import World, build_world, in_tenant
from tests.test_translations import REPO_ROOT
from tests.trajectories.test_pages import client_for

PLACEHOLDER = re.compile(r"%\((\w+)\)s")
#: What `sentence()` fills in; a sentence using anything else would print a question mark.
KNOWN_PLACEHOLDERS = {
    "actor",
    "subject",
    "number",
    "from_number",
    "issuer",
    "count",
    "year",
    "rows",
    "filename",
    "format",
    "role",
    "reason",
    "coach",
    "template",
    "amount",
    "day",
    "training",
}


def test_every_action_has_its_own_sentence():
    missing = [action.value for action in AuditAction if action not in SENTENCES]
    assert missing == [], f"add a sentence to audit_log/sentences.py for {missing}"


@pytest.mark.parametrize("action", list(AuditAction), ids=str)
def test_each_sentence_names_the_actor_and_only_facts_it_has(action):
    used = set(PLACEHOLDER.findall(SENTENCES[action]._args[0]))
    assert "actor" in used
    assert used <= KNOWN_PLACEHOLDERS, used - KNOWN_PLACEHOLDERS


@pytest.mark.parametrize("language", ["nl", "en", "fy"])
def test_every_sentence_is_translated_with_the_same_placeholders(language):
    path = REPO_ROOT / "translations" / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        catalogue = read_po(handle)
    for action, text in SENTENCES.items():
        msgid = text._args[0]
        message = catalogue.get(msgid)
        assert message is not None and message.string, (language, action)
        assert sorted(PLACEHOLDER.findall(message.string)) == sorted(PLACEHOLDER.findall(msgid)), (
            language,
            msgid,
            message.string,
        )


# --- rendered ---------------------------------------------------------------------------------


@pytest.fixture
def world(app, tenants) -> World:
    with in_tenant(app, tenants["flevoland"]):
        return build_world(tenants["flevoland"])


def _visible_text(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def _add_examples(app, world) -> None:
    moment = datetime(2026, 6, 2, 9, 0, tzinfo=UTC)
    add_events(
        app,
        world.tenant,
        1,
        start=moment,
        action="template.published",
        actor_label="Femke van Geffen",
        subject_type="template_version",
        subject_id=str(uuid.uuid4()),
        details={"template": "flevoland", "number": 2},
    )
    add_events(
        app,
        world.tenant,
        1,
        start=moment,
        action="role.added",
        actor_label="",
        subject_type="user",
        subject_id=str(world.coach),
        details={"role": "coach", "source": "idp"},
    )
    add_events(
        app,
        world.tenant,
        1,
        start=moment,
        action="login.refused",
        actor_label="",
        details={"reason": "deactivated"},
    )
    add_events(
        app,
        world.tenant,
        1,
        start=moment,
        action="scim.token_created",
        actor_label="Femke van Geffen",
        subject_type="scim_token",
        subject_id=str(uuid.uuid4()),
        details={"name": "Entra-koppeling"},
    )
    add_events(
        app,
        world.tenant,
        1,
        start=moment,
        action="something.new",  # recorded by a newer version
        actor_label="Femke van Geffen",
    )


EXAMPLES = {
    "en": [
        "Femke van Geffen published version 2 of the template 'Flevoland model'",
        "The identity provider gave Carla Coach flevoland the role of learning coach",
        "The login of an unknown account was refused: The account is deactivated",
        "Femke van Geffen: something this version of Samen Leren does not describe",
        "Femke van Geffen created the SCIM token Entra-koppeling",
    ],
    "nl": [
        "Femke van Geffen publiceerde versie 2 van het procesmodel 'Flevolands model'",
        "De identiteitsprovider gaf Carla Coach flevoland de rol leercoach",
        "Het inloggen van een onbekend account is geweigerd: Het account is gedeactiveerd",
        "Femke van Geffen: iets wat deze versie van Samen Leren niet beschrijft",
        "Femke van Geffen maakte het SCIM-token Entra-koppeling aan",
    ],
}


@pytest.mark.parametrize("language", ["en", "nl"])
def test_the_page_and_the_export_tell_what_happened_in_the_readers_language(app, world, language):
    _add_examples(app, world)
    admin = client_for(app, world, "admin")
    admin.get(f"/flevoland/?lang={language}")

    text = _visible_text(admin.get(f"{PAGE}?from=2026-06-02&to=2026-06-02").get_data(as_text=True))
    for example in EXAMPLES[language]:
        assert example in text, (example, text)
    # Never an internal key or a raw id where a person reads.
    for raw in ("template.published", "role.added", "something.new", str(world.coach)):
        assert raw not in text

    _, *rows = export_rows(admin.get(f"{EXPORT}?from=2026-06-02&to=2026-06-02"))
    assert sorted(row[1] for row in rows) == sorted(EXAMPLES[language])


def test_the_coach_assignment_names_both_people_and_links_the_trajectory(app, world):
    admin = client_for(app, world, "admin")
    admin.get("/flevoland/?lang=nl")
    page = admin.get(f"{PAGE}?action=coach.assigned").get_data(as_text=True)
    assert "koppelde Carla Coach flevoland als leercoach aan Anna Learner flevoland" in (
        _visible_text(page)
    )
    assert f'href="/flevoland/trajectories/{world.trajectory}"' in page
