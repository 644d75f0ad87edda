"""`flask --app samenleren templates ...`: list, export and import a tenant's process templates.

The file format is documented in docs/template-format.md. Errors are one line on standard error
with a non-zero exit status, and nothing is written. Messages are in English, as the other
commands'.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click
from flask.cli import AppGroup
from flask_babel import force_locale
from sqlalchemy import func, select

from samenleren.core.errors_input import FORM, InvalidInput
from samenleren.core.extensions import db
from samenleren.core.tenancy import tenant_scope
from samenleren.core.tenant import Tenant, get_tenant_by_slug
from samenleren.process_templates.models import ProcessTemplate, TemplateVersion, VersionStatus
from samenleren.process_templates.versions.files import (
    TemplateFileError,
    export_version,
    import_template_file,
    json_schema_text,
)

templates_cli = AppGroup("templates", help="Process templates of a tenant: list, export, import.")


@dataclass(frozen=True)
class CommandLine:
    """Who the audit log names for an import on the command line (no user)."""

    id: None = None
    name: str = "command line"


def _tenant(slug: str) -> Tenant:
    tenant = get_tenant_by_slug(slug)
    if tenant is None:
        raise click.ClickException(f"no tenant with slug {slug!r}")
    return tenant


@templates_cli.command("list")
@click.argument("slug")
def list_command(slug: str) -> None:
    """List SLUG's templates: key, default, versions (published and draft), name."""
    tenant = _tenant(slug)
    with tenant_scope(tenant), force_locale("en"):
        rows = db.session.execute(
            select(
                ProcessTemplate,
                func.max(TemplateVersion.number).filter(
                    TemplateVersion.status == VersionStatus.PUBLISHED
                ),
                func.max(TemplateVersion.number).filter(
                    TemplateVersion.status == VersionStatus.DRAFT
                ),
            )
            .outerjoin(
                TemplateVersion,
                (TemplateVersion.tenant_id == ProcessTemplate.tenant_id)
                & (TemplateVersion.template_id == ProcessTemplate.id),
            )
            .group_by(ProcessTemplate.tenant_id, ProcessTemplate.id)
            .order_by(ProcessTemplate.key)
        ).all()
        click.echo(f"{'key':<40} {'default':<8} {'published':>9} {'draft':>6}  name")
        for template, published, draft in rows:
            click.echo(
                f"{template.key:<40} {'yes' if template.is_default else '':<8} "
                f"{published or '-':>9} {draft or '-':>6}  "
                f"{template.name_in(tenant.default_locale, 'en')}"
            )


@templates_cli.command("export")
@click.argument("slug")
@click.argument("template_key", required=False)
@click.option("--version", "number", type=int, help="Version number (default: latest published).")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False), help="Write to this file (default: stdout)."
)
def export_command(
    slug: str, template_key: str | None, number: int | None, output: str | None
) -> None:
    """Export a template version of SLUG as TOML (default: the default template's latest
    published version)."""
    tenant = _tenant(slug)
    with tenant_scope(tenant), force_locale("en"):
        query = select(ProcessTemplate)
        if template_key:
            query = query.where(ProcessTemplate.key == template_key)
        else:
            query = query.where(ProcessTemplate.is_default)
        template = db.session.scalar(query)
        if template is None:
            what = f"template {template_key!r}" if template_key else "default template"
            raise click.ClickException(f"{slug} has no {what}")
        versions = select(TemplateVersion).where(TemplateVersion.template_id == template.id)
        if number is not None:
            version = db.session.scalar(versions.where(TemplateVersion.number == number))
        else:
            version = db.session.scalar(
                versions.where(TemplateVersion.status == VersionStatus.PUBLISHED)
                .order_by(TemplateVersion.number.desc())
                .limit(1)
            )
        if version is None:
            which = f"version {number}" if number is not None else "published version"
            raise click.ClickException(f"template {template.key!r} of {slug} has no {which}")
        text = export_version(version, tenant.name)
    if output:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"{template.key} version {version.number} written to {output}", err=True)
    else:
        click.echo(text, nl=False)


@templates_cli.command("import")
@click.argument("slug")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--publish", is_flag=True, help="Publish the imported draft at once.")
def import_command(slug: str, file: str, publish: bool) -> None:
    """Import FILE as a new draft of SLUG's template with the file's key (or a new template)."""
    tenant = _tenant(slug)
    try:
        raw = Path(file).read_bytes()
    except OSError as error:
        raise click.ClickException(f"{file}: cannot be read ({error.strerror})") from None
    with tenant_scope(tenant), force_locale("en"):
        try:
            draft = import_template_file(
                raw,
                CommandLine(),
                default_language=tenant.default_locale,
                filename=Path(file).name,
                publish=publish,
            )
        except TemplateFileError as refused:
            db.session.rollback()
            raise click.ClickException(f"{file}: {refused}") from None
        except InvalidInput as refused:
            db.session.rollback()
            message = refused.errors.get(FORM) or next(iter(refused.errors.values()))
            raise click.ClickException(f"{file}: {message}") from None
        key, number = draft.template.key, draft.number
        db.session.commit()
    state = "published" if publish else "draft"
    click.echo(f"{slug}: {file} imported as {key} version {number} ({state})")


@templates_cli.command("schema")
def schema_command() -> None:
    """Print the JSON Schema of the file format (docs/template-format.schema.json)."""
    click.echo(json_schema_text(), nl=False)
