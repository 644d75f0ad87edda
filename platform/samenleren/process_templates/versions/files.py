"""Process templates as files: export a version to TOML, import a file as a draft.

The format is documented in `docs/template-format.md`; its JSON Schema,
`docs/template-format.schema.json`, is generated from `TemplateFile` (`json_schema_text()`, or
`flask --app samenleren templates schema`) and a test keeps the committed copy equal to it.

```toml
schema_version = 1

[template]
key = "flevoland"
name = { nl = "Flevolands model", en = "Flevoland model" }

[template.exported_from]          # informative; ignored on import
tenant = "Provincie Flevoland"
version = 3
exported_at = 2026-11-26T21:00:00Z

[[steps]]                         # as in process_templates/builtin/flevoland.toml
key = "learning_goals"
...
```

Reading is strict and cheap first: a file is refused with one line naming the place
(`step 3 (intake), field notes: ...`) and nothing is written when it is larger than
`MAX_FILE_BYTES`, not UTF-8, not TOML, of another `schema_version`, has more than `MAX_STEPS`
steps (counted before anything else is checked, so a 10,000-step file costs nothing), has a key
the format does not know, an unknown step kind, markup (`<` or `>`) in any text, or any problem
`validation.validate_definition` finds.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import tomli_w
from flask_babel import gettext
from pydantic import ConfigDict, Field, ValidationError
from pydantic_core import ErrorDetails
from sqlalchemy import select

from samenleren.audit.events import AuditAction
from samenleren.audit.services import record
from samenleren.core import tomlfiles
from samenleren.core.db import utcnow
from samenleren.core.extensions import db
from samenleren.core.i18n import LANGUAGE_NAMES
from samenleren.core.text import has_control_characters
from samenleren.process_templates.definition import (
    MAX_STEPS,
    SCHEMA_VERSION,
    ApplicationRules,
    Choice,
    FieldSpec,
    Key,
    Repeat,
    StepKind,
    StepSpec,
    TemplateDefinition,
    Timing,
    Translated,
    _Strict,
    application_rules,
)
from samenleren.process_templates.drafts import Actor, new_draft, publish_draft
from samenleren.process_templates.models import ProcessTemplate, TemplateVersion, VersionStatus
from samenleren.process_templates.validation import validate_definition

#: Larger files are refused before they are read as TOML.
MAX_FILE_BYTES = 256 * 1024
#: Characters of markup; no text of a template may contain them (a label is never HTML).
MARKUP = frozenset("<>")
HEADER = (
    "# A Samen Leren process template (format: docs/template-format.md).\n"
    "# Import it with: flask --app samenleren templates import SLUG FILE\n"
)


class ExportedFrom(_Strict):
    """Where the file was exported (informative; not used on import)."""

    tenant: str = Field(min_length=1, max_length=200)
    version: int = Field(ge=1)
    exported_at: datetime


class TemplateInfo(_Strict):
    """The template the steps belong to: imported onto the template with this key."""

    key: Key
    name: Translated
    exported_from: ExportedFrom | None = None


class TemplateFile(_Strict):
    """A Samen Leren process template file (TOML)."""

    model_config = ConfigDict(
        title="Samen Leren process template",
        json_schema_extra={"$schema": "https://json-schema.org/draft/2020-12/schema"},
    )

    schema_version: Literal[1]
    template: TemplateInfo
    steps: list[StepSpec] = Field(min_length=1, max_length=MAX_STEPS)
    application: ApplicationRules | None = None


def json_schema() -> dict:
    return TemplateFile.model_json_schema()


def json_schema_text() -> str:
    """`docs/template-format.schema.json`, exactly."""
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


class TemplateFileError(ValueError):
    """A refused file; `str()` is the one line shown (`place: message`)."""

    def __init__(self, place: str, message: str) -> None:
        self.place, self.message = place, message
        super().__init__(f"{place}: {message}" if place else message)


@dataclass(frozen=True)
class ParsedFile:
    key: str
    name: dict[str, str]
    #: `{"schema_version": 1, "steps": [...]}`: a valid `TemplateDefinition` document.
    definition: dict
    exported_from: ExportedFrom | None


# --- places -------------------------------------------------------------------------------


def _key_at(document: Any, path: tuple) -> str | None:
    node = document
    for part in path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None
    key = node.get("key") if isinstance(node, dict) else None
    return key if isinstance(key, str) else None


def place_of(document: Any, path: tuple) -> str:
    """`step 3 (intake), field 2 (notes), label.nl` for a path into the document."""
    parts: list[str] = []
    rest: list[str] = []
    position = 0
    while position < len(path):
        part = path[position]
        following = path[position + 1] if position + 1 < len(path) else None
        if part in {"steps", "fields"} and isinstance(following, int):
            key = _key_at(document, path[: position + 2])
            number = following + 1
            if part == "steps":
                text = gettext("step %(number)d", number=number)
            else:
                text = gettext("field %(number)d", number=number)
            parts.append(f"{text} ({key})" if key else text)
            position += 2
            continue
        if isinstance(part, int):
            rest.append(f"[{part + 1}]")
        else:
            rest.append(("." if rest else "") + str(part))
        position += 1
    if rest:
        parts.append("".join(rest))
    return ", ".join(parts)


# --- reading ------------------------------------------------------------------------------


_KNOWN_KEYS = {
    (): {"schema_version", "template", "steps", "application"},
    ("application",): set(ApplicationRules.model_fields),
    ("template",): set(TemplateInfo.model_fields),
    ("template", "exported_from"): set(ExportedFrom.model_fields),
    ("step",): set(StepSpec.model_fields),
    ("step", "timing"): set(Timing.model_fields),
    ("step", "repeat"): set(Repeat.model_fields),
    ("field",): set(FieldSpec.model_fields),
    ("choice",): set(Choice.model_fields),
}


def _unknown(table: Any, known: set[str], document: Any, path: tuple) -> None:
    if not isinstance(table, dict):
        return
    for key in table:
        if key not in known:
            raise TemplateFileError(
                place_of(document, (*path, key)),
                gettext("is not a key of the template format (see docs/template-format.md)."),
            )


def _check_unknown_keys(document: dict) -> None:
    _unknown(document, _KNOWN_KEYS[()], document, ())
    template = document.get("template")
    _unknown(template, _KNOWN_KEYS[("template",)], document, ("template",))
    application = document.get("application")
    _unknown(application, _KNOWN_KEYS[("application",)], document, ("application",))
    if isinstance(template, dict):
        exported = template.get("exported_from")
        path = ("template", "exported_from")
        _unknown(exported, _KNOWN_KEYS[path], document, path)
    for i, step in enumerate(document["steps"]):
        base = ("steps", i)
        _unknown(step, _KNOWN_KEYS[("step",)], document, base)
        for part in ("timing", "repeat"):
            _unknown(step.get(part), _KNOWN_KEYS[("step", part)], document, (*base, part))
        fields = step.get("fields")
        for j, spec in enumerate(fields if isinstance(fields, list) else []):
            _unknown(spec, _KNOWN_KEYS[("field",)], document, (*base, "fields", j))
            choices = spec.get("choices") if isinstance(spec, dict) else None
            for n, choice in enumerate(choices if isinstance(choices, list) else []):
                at = (*base, "fields", j, "choices", n)
                _unknown(choice, _KNOWN_KEYS[("choice",)], document, at)


def _check_markup(node: Any, document: dict, path: tuple = ()) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if MARKUP & set(key):
                raise TemplateFileError(
                    place_of(document, path), gettext("a key contains markup (< or >).")
                )
            _check_markup(value, document, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            _check_markup(value, document, (*path, index))
    elif isinstance(node, str) and has_control_characters(node, multiline=True):
        raise TemplateFileError(
            place_of(document, path),
            gettext("contains a control character; only plain text is allowed."),
        )
    elif isinstance(node, str) and MARKUP & set(node):
        raise TemplateFileError(
            place_of(document, path),
            gettext("contains markup (< or >); only plain text is allowed."),
        )


def _check_kinds(document: dict) -> None:
    kinds = {kind.value for kind in StepKind}
    for i, step in enumerate(document["steps"]):
        kind = step.get("kind")
        if kind is None:
            raise TemplateFileError(
                place_of(document, ("steps", i, "kind")), gettext("is missing.")
            )
        if kind not in kinds:
            raise TemplateFileError(
                place_of(document, ("steps", i, "kind")),
                gettext(
                    "“%(kind)s” is not a kind of step (use one of: %(kinds)s).",
                    kind=kind,
                    kinds=", ".join(sorted(kinds)),
                ),
            )


def _pydantic_error(document: dict, error: ErrorDetails) -> TemplateFileError:
    kind = error["type"]
    if kind == "missing":
        message = gettext("is missing.")
    elif kind == "extra_forbidden":
        message = gettext("is not a key of the template format (see docs/template-format.md).")
    else:
        message = str(error["msg"]).removeprefix("Value error, ")
    return TemplateFileError(place_of(document, tuple(error["loc"])), message)


def _read(raw: bytes) -> dict:
    if len(raw) > MAX_FILE_BYTES:
        raise TemplateFileError(
            "", gettext("The file is larger than %(size)d kB.", size=MAX_FILE_BYTES // 1024)
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise TemplateFileError("", gettext("The file is not UTF-8 text.")) from None
    try:
        return tomlfiles.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise TemplateFileError(
            "", gettext("The file is not valid TOML (%(error)s).", error=str(error))
        ) from None


def parse_template_file(raw: bytes, default_language: str) -> ParsedFile:
    """A checked template file, or `TemplateFileError` with one line (see the module doc)."""
    document = _read(raw)
    version = document.get("schema_version")
    if version is None:
        raise TemplateFileError("schema_version", gettext("is missing."))
    if version != SCHEMA_VERSION or isinstance(version, bool):
        raise TemplateFileError(
            "schema_version",
            gettext(
                "version %(found)s is not supported; this application reads version %(known)d.",
                found=json.dumps(version, default=str),
                known=SCHEMA_VERSION,
            ),
        )
    steps = document.get("steps")
    if steps is None:
        raise TemplateFileError("steps", gettext("is missing: a template needs at least one step."))
    if not isinstance(steps, list) or not all(isinstance(step, dict) for step in steps):
        raise TemplateFileError("steps", gettext("must be a list of [[steps]] tables."))
    if len(steps) > MAX_STEPS:
        raise TemplateFileError(
            "steps",
            gettext(
                "the file has %(count)d steps; a template can have at most %(max)d.",
                count=len(steps),
                max=MAX_STEPS,
            ),
        )
    if not isinstance(document.get("template"), dict):
        raise TemplateFileError("template", gettext("the [template] table is missing."))
    _check_unknown_keys(document)
    _check_markup(document, document)
    _check_kinds(document)
    try:
        info = TemplateInfo.model_validate(document["template"])
    except ValidationError as invalid:
        error = invalid.errors(include_url=False)[0]
        raise _pydantic_error(document, {**error, "loc": ("template", *error["loc"])}) from None
    if not info.name.get(default_language):
        raise TemplateFileError(
            "template.name",
            gettext(
                "the name in %(language)s is missing.",
                language=LANGUAGE_NAMES.get(default_language, default_language),
            ),
        )
    definition = {"schema_version": SCHEMA_VERSION, "steps": steps}
    if isinstance(document.get("application"), dict):
        definition["application"] = document["application"]
    problems = validate_definition(definition, default_language)
    if problems:
        raise TemplateFileError("", problems[0].message)
    try:
        TemplateFile.model_validate(document)
    except ValidationError as invalid:  # a safety net: validate_definition found nothing
        raise _pydantic_error(document, invalid.errors(include_url=False)[0]) from None
    return ParsedFile(info.key, dict(info.name), definition, info.exported_from)


# --- writing ------------------------------------------------------------------------------


def _without_none(node: Any) -> Any:
    """TOML has no null: leave such keys out (they read back as their defaults)."""
    if isinstance(node, dict):
        return {k: _without_none(v) for k, v in node.items() if v is not None}
    if isinstance(node, list):
        return [_without_none(v) for v in node if v is not None]
    return node


def _steps_of(version: TemplateVersion) -> list:
    if version.status is VersionStatus.PUBLISHED:
        content = TemplateDefinition.model_validate(version.definition)
        return content.model_dump(mode="json", exclude_defaults=True)["steps"]
    # A draft may be unfinished: written as it is, so it can be finished elsewhere.
    steps = version.definition.get("steps") if isinstance(version.definition, dict) else None
    return _without_none(steps if isinstance(steps, list) else [])


def export_version(version: TemplateVersion, tenant_name: str) -> str:
    """The TOML file of one version of a template (see the module doc)."""
    template = version.template
    document = {
        "schema_version": SCHEMA_VERSION,
        "template": {
            "key": template.key,
            "name": dict(template.name),
            "exported_from": {
                "tenant": tenant_name,
                "version": version.number,
                "exported_at": utcnow().replace(microsecond=0),
            },
        },
        "steps": _steps_of(version),
    }
    if application_rules(version.definition).manager_approval:
        document["application"] = {"manager_approval": True}
    return HEADER + "\n" + tomli_w.dumps(document)


def export_filename(version: TemplateVersion) -> str:
    return f"{version.template.key}-v{version.number}.toml"


# --- importing ----------------------------------------------------------------------------


def import_template_file(
    raw: bytes,
    actor: Actor,
    *,
    default_language: str,
    filename: str = "",
    publish: bool = False,
) -> TemplateVersion:
    """A new draft from a file, on the template with the file's key, or on a new (not default)
    template when there is none; published at once when `publish`. Refuses (`TemplateFileError`
    for the file, `InvalidInput` when that template has a draft already) before writing."""
    parsed = parse_template_file(raw, default_language)
    template = db.session.scalar(select(ProcessTemplate).where(ProcessTemplate.key == parsed.key))
    created = template is None
    if template is None:
        template = ProcessTemplate(key=parsed.key, name=dict(parsed.name), is_default=False)
        db.session.add(template)
        db.session.flush()
    origin = _origin(parsed, filename)
    draft = new_draft(template, parsed.definition, actor, origin=origin)
    record(
        AuditAction.TEMPLATE_IMPORTED,
        actor=actor,
        subject_type="template_version",
        subject_id=draft.id,
        details={
            "template": template.key,
            "number": draft.number,
            "new_template": created,
            "file": filename[:200],
        },
    )
    if publish:
        publish_draft(draft, actor)
    return draft


#: `TemplateVersion.origin` of an imported draft: "file x.toml" or "file x.toml (Org, version 3)".
IMPORTED_ORIGIN = re.compile(
    r"^file (?P<file>.*?)(?: \((?P<tenant>.*), version (?P<number>\d+)\))?$"
)


def _origin(parsed: ParsedFile, filename: str) -> str:
    source = parsed.exported_from
    name = filename or "upload.toml"
    if source is not None:
        return f"file {name} ({source.tenant[:100]}, version {source.version})"[:200]
    return f"file {name}"[:200]


def imported_origin_label(origin: str) -> str | None:
    """The origin of an imported version in the reader's language (None: not an import)."""
    match = IMPORTED_ORIGIN.match(origin or "")
    if match is None:
        return None
    if match["tenant"] is not None:
        return gettext(
            "Imported from %(file)s (%(tenant)s, version %(number)s)",
            file=match["file"],
            tenant=match["tenant"],
            number=match["number"],
        )
    return gettext("Imported from %(file)s", file=match["file"])
