"""`flask --app samenleren templates list|export|import|schema` through Click's test runner."""

from __future__ import annotations

import tomllib

import pytest
from sqlalchemy import func, select

from tests.factories import build_world, in_tenant
from tests.process_templates.helpers import (
    HOSTILE_FILES,
    as_bytes,
    publish_version,
    template_file,
)


def _versions(app, tenant) -> list[tuple[str, int, str]]:
    from samenleren.core.extensions import db
    from samenleren.process_templates.models import ProcessTemplate, TemplateVersion

    with in_tenant(app, tenant):
        return [
            (key, number, status.value)
            for key, number, status in db.session.execute(
                select(ProcessTemplate.key, TemplateVersion.number, TemplateVersion.status)
                .join(ProcessTemplate, ProcessTemplate.id == TemplateVersion.template_id)
                .order_by(ProcessTemplate.key, TemplateVersion.number)
            )
        ]


def test_export_writes_the_default_templates_latest_published_version(app, tenants, tmp_path):
    flevo = tenants["flevoland"]
    with in_tenant(app, flevo):
        world = build_world(flevo)
    publish_version(app, world)
    runner = app.test_cli_runner()
    answer = runner.invoke(args=["templates", "export", "flevoland"])
    assert answer.exit_code == 0, answer.output
    document = tomllib.loads(answer.stdout)
    assert document["schema_version"] == 1
    assert document["template"]["exported_from"]["version"] == 2
    assert document["steps"][0]["key"] == "kickoff"
    target = tmp_path / "v1.toml"
    answer = runner.invoke(
        args=["templates", "export", "flevoland", "flevoland", "--version", "1", "-o", str(target)]
    )
    assert answer.exit_code == 0, answer.output
    assert tomllib.loads(target.read_text(encoding="utf-8"))["steps"][0]["key"] == "learning_goals"
    for args, message in [
        (["nowhere"], "no tenant with slug 'nowhere'"),
        (["flevoland", "other"], "flevoland has no template 'other'"),
        (["flevoland", "--version", "9"], "has no version 9"),
    ]:
        answer = runner.invoke(args=["templates", "export", *args])
        assert answer.exit_code != 0
        assert message in answer.output


def test_import_makes_a_draft_refuses_a_second_and_publishes_on_request(app, tenants, tmp_path):
    from samenleren.audit.models import AuditEvent
    from samenleren.core.extensions import db

    flevo = tenants["flevoland"]
    runner = app.test_cli_runner()
    exported = tmp_path / "flevoland.toml"
    answer = runner.invoke(args=["templates", "export", "flevoland", "-o", str(exported)])
    assert answer.exit_code == 0, answer.output
    answer = runner.invoke(args=["templates", "import", "gelderland", str(exported)])
    assert answer.exit_code == 0, answer.output
    assert "imported as flevoland version 2 (draft)" in answer.output
    assert _versions(app, tenants["gelderland"]) == [
        ("flevoland", 1, "published"),
        ("flevoland", 2, "draft"),
    ]
    before = _versions(app, tenants["gelderland"])
    answer = runner.invoke(args=["templates", "import", "gelderland", str(exported)])
    assert answer.exit_code == 1
    assert answer.output.strip().count("\n") == 0
    assert "already has a draft" in answer.output
    assert _versions(app, tenants["gelderland"]) == before

    short = tmp_path / "short.toml"
    short.write_bytes(as_bytes(template_file(template={"key": "short", "name": {"nl": "Kort"}})))
    answer = runner.invoke(args=["templates", "import", "flevoland", str(short), "--publish"])
    assert answer.exit_code == 0, answer.output
    assert ("short", 1, "published") in _versions(app, flevo)
    with in_tenant(app, flevo):
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "template.imported")
        )
        assert event.actor_label == "command line" and event.details["new_template"] is True
    answer = runner.invoke(args=["templates", "list", "flevoland"])
    assert answer.exit_code == 0
    lines = answer.output.splitlines()
    assert lines[0].split() == ["key", "default", "published", "draft", "name"]
    assert lines[1].split() == ["flevoland", "yes", "1", "-", "Flevolands", "model"]
    assert lines[2].split() == ["short", "1", "-", "Kort"]


@pytest.mark.parametrize("name", ["unknown step kind", "10,000 steps", "script in a label"])
def test_a_hostile_file_exits_non_zero_with_one_line_and_writes_nothing(
    app, tenants, tmp_path, name
):
    from samenleren.audit.models import AuditEvent
    from samenleren.core.extensions import db

    make, expected = HOSTILE_FILES[name]
    path = tmp_path / "hostile.toml"
    path.write_bytes(make())
    before = _versions(app, tenants["flevoland"])
    with in_tenant(app, tenants["flevoland"]):
        events = db.session.scalar(select(func.count()).select_from(AuditEvent))
    answer = app.test_cli_runner().invoke(
        args=["templates", "import", "flevoland", str(path), "--publish"]
    )
    assert answer.exit_code == 1
    assert answer.output == f"Error: {path}: {answer.output.split(': ', 2)[2]}"
    assert expected in answer.output
    assert answer.output.count("\n") == 1
    assert _versions(app, tenants["flevoland"]) == before
    with in_tenant(app, tenants["flevoland"]):
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == events


def test_schema_prints_the_committed_json_schema(app):
    from pathlib import Path

    committed = Path(__file__).parents[2] / "docs" / "template-format.schema.json"
    answer = app.test_cli_runner().invoke(args=["templates", "schema"])
    assert answer.exit_code == 0
    assert answer.stdout == committed.read_text(encoding="utf-8")
