"""Shared by the versions tests: publishing a changed version, hostile template files."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable

import tomli_w
from flask import Flask

from tests.factories import World, get, in_tenant


def kickoff_step() -> dict:
    return {
        "key": "kickoff",
        "name": {"nl": "Aftrap", "en": "Kick-off"},
        "kind": "milestone",
        "participants": ["learner"],
        "responsible": ["learner", "coach"],
        "timing": {"anchor": "enrolment", "offset_days": 3},
    }


def add_kickoff(definition: dict) -> None:
    """Version 2 in these tests: a milestone in front, intake made optional."""
    definition["steps"].insert(0, kickoff_step())
    definition["steps"][2]["optional"] = True


def publish_version(
    app: Flask, world: World, change: Callable[[dict], None] = add_kickoff
) -> tuple[uuid.UUID, uuid.UUID]:
    """Publish a changed copy of the default template's latest version: (template, version)."""
    from samenleren.core.extensions import db
    from samenleren.identity.models import User
    from samenleren.process_templates.drafts import new_draft, publish_draft
    from samenleren.process_templates.services import current_version

    with in_tenant(app, world.tenant):
        admin = get(User, world.admin)
        latest = current_version()
        definition = copy.deepcopy(latest.definition)
        change(definition)
        draft = new_draft(latest.template, definition, admin)
        publish_draft(draft, admin)
        db.session.commit()
        return latest.template_id, draft.id


def template_file(steps: list[dict] | None = None, **top: object) -> dict:
    from samenleren.process_templates.services import builtin_definition

    if steps is None:
        steps = copy.deepcopy(builtin_definition("flevoland")["steps"])
    document = {
        "schema_version": 1,
        "template": {"key": "flevoland", "name": {"nl": "Flevolands model", "en": "Flevoland"}},
        "steps": steps,
    }
    document.update(top)
    return document


def as_bytes(document: dict) -> bytes:
    return tomli_w.dumps(document).encode()


def _unknown_kind() -> bytes:
    document = template_file()
    document["steps"][1]["kind"] = "party"
    return as_bytes(document)


def _script_label() -> bytes:
    document = template_file()
    document["steps"][1]["fields"][0]["label"]["nl"] = "<script>alert(1)</script>"
    return as_bytes(document)


def _many_steps() -> bytes:
    step = '[[steps]]\nkey = "s"\n'  # small enough to stay under the size limit
    head = 'schema_version = 1\n[template]\nkey = "flood"\nname = { nl = "Vloed" }\n'
    return (head + step * 10_000).encode()


def _unknown_key() -> bytes:
    document = template_file()
    document["steps"][2]["colour"] = "red"
    return as_bytes(document)


def _wide_readers() -> bytes:
    document = template_file()
    document["steps"][3]["fields"][1]["readers"].append("manager")  # a confidential note
    return as_bytes(document)


#: name -> (file content, what the one-line message must contain)
HOSTILE_FILES: dict[str, tuple[Callable[[], bytes], str]] = {
    "unknown step kind": (_unknown_kind, "step 2 (intake), kind: “party” is not a kind of step"),
    "10,000 steps": (_many_steps, "steps: the file has 10000 steps; a template can have at most"),
    "script in a label": (
        _script_label,
        "step 2 (intake), field 1 (manager_expectations), label.nl: contains markup",
    ),
    "wrong schema version": (
        lambda: as_bytes(template_file(schema_version=2)),
        "schema_version: version 2 is not supported",
    ),
    "unknown key": (_unknown_key, "step 3 (training), colour: is not a key of the template"),
    "readers above the ceiling": (_wide_readers, "may not read this field"),
    "not UTF-8": (lambda: b"schema_version = 1\n\xff\xfe", "The file is not UTF-8 text."),
    "not TOML": (lambda: b"schema_version = = 1", "The file is not valid TOML"),
    "nested too deep for the parser": (
        lambda: b"schema_version = 1\nx = " + b"[" * 5000 + b"]" * 5000,
        "The file is not valid TOML (nested more than 32 levels deep)",
    ),
    "nested too deep": (
        lambda: b"schema_version = 1\nx = " + b"{a = " * 60 + b"1" + b"}" * 60,
        "The file is not valid TOML (nested more than 32 levels deep)",
    ),
    "too large": (lambda: b"#" * (256 * 1024 + 1), "The file is larger than 256 kB."),
}
