"""`flask --app samenleren demo seed SLUG [--json]` and `demo run` (what `make run` starts)."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from samenleren.core.tenant import get_tenant_by_slug
from samenleren.tenants.manifest import ManifestError, load_manifest
from samenleren.tenants.services import onboard_tenant

demo_cli = AppGroup("demo", help="Demo data and the embedded development setup.")


@demo_cli.command("seed")
@click.argument("slug")
@click.option("--json", "as_json", is_flag=True, help="Print the demo users for an IdP as JSON.")
def seed_command(slug: str, as_json: bool) -> None:
    """Fill tenant SLUG with realistic Dutch demo data (idempotent).

    With --json: every demo user (for an identity provider) and, under "showcase", one user per
    role to log in as: a learner in the middle of a trajectory, their coach and their manager.
    """
    from samenleren.demo.seed import seed_refusal, seed_tenant, showcase

    tenant = get_tenant_by_slug(slug)
    if tenant is None:
        raise click.ClickException(f"no tenant with slug {slug!r}; onboard it first")
    refusal = seed_refusal(tenant)
    if refusal is not None:
        raise click.ClickException(refusal)
    people = seed_tenant(tenant)
    if as_json:
        document = {
            "users": [p.as_json() for p in people],
            "showcase": {role: entry.as_json() for role, entry in showcase(tenant, people).items()},
        }
        click.echo(json.dumps(document, ensure_ascii=False, indent=2))
    else:
        click.echo(f"{slug}: {len(people)} demo users present")


@demo_cli.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--idp-port", default=None, type=int, help="Port of the development IdP [port+1].")
def run_command(host: str, port: int, idp_port: int | None) -> None:
    """Migrate, onboard the shipped tenants, seed them, start the dev IdP and serve the app."""
    from flask_migrate import upgrade
    from werkzeug.serving import run_simple

    from samenleren.demo.devidp import (
        DevelopmentIdPRefused,
        check_development_idp,
        development_idp,
        idp_user,
        with_issuer,
    )
    from samenleren.demo.seed import seed_tenant, showcase

    # The application itself, not the proxy (run_simple serves it); the proxy is typed as Flask.
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if app.config["SAMENLEREN_ENV"] == "production":
        raise click.ClickException("demo run is for development; set SAMENLEREN_ENV=development")
    try:
        check_development_idp(app.config["SAMENLEREN_ENV"])
    except DevelopmentIdPRefused as exc:
        raise click.ClickException(str(exc)) from None
    database = app.config["SQLALCHEMY_DATABASE_URI"]
    if database.startswith("sqlite:///"):
        Path(database.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    upgrade()

    idp_port = idp_port or port + 1
    issuer = f"http://localhost:{idp_port}"
    showcased: dict[str, list] = {}
    everyone = []
    manifests = sorted(Path(app.config["SAMENLEREN_TENANTS_DIR"]).glob("*.toml"))
    for manifest_path in manifests:
        try:
            loaded = with_issuer(load_manifest(manifest_path), issuer)
        except ManifestError as exc:
            raise click.ClickException(str(exc)) from None
        # The demo IdP accepts any secret; a real deployment sets the variable the manifest names.
        os.environ.setdefault(loaded.manifest.sso.client_secret_env, secrets.token_urlsafe(24))
        tenant = onboard_tenant(loaded).tenant
        if tenant.sso_issuer_pending == issuer:
            _approve_demo_issuer(tenant, issuer)
        people = seed_tenant(tenant)
        everyone.extend(people)
        showcased[tenant.slug] = list(showcase(tenant, people).items())

    idp_users = [
        idp_user(p.subject, {"name": p.name, "email": p.email, "groups": p.groups})
        for p in everyone
    ]
    operator = _configure_demo_operator(app, issuer)
    if operator is not None:
        idp_users.append(operator)
    with development_idp(app.config["SAMENLEREN_ENV"], port=idp_port, users=idp_users):
        click.echo("")
        click.echo(f"Samen Leren runs at http://{host}:{port}/flevoland/")
        click.echo(f"Development identity provider (real OpenID Connect): {issuer}/")
        click.echo("Log in with 'Inloggen', then pick one of these users at the identity provider:")
        for slug, chosen in showcased.items():
            click.echo(f"  /{slug}/")
            for role, entry in chosen:
                person = entry.person
                note = f"  ({entry.note})" if entry.note else ""
                click.echo(f"    {role:<16} {person.subject:<28} {person.name}{note}")
        click.echo("Every demo user: flask --app samenleren demo seed SLUG --json")
        if operator is not None:
            click.echo(
                f"Operator console (no tenant): http://{host}:{port}/operator/ "
                f"- log in as {operator.sub} ({operator.claims['name']})"
            )
        click.echo("")
        # `app.run()` refuses to run inside a `flask` command; this is what it would call.
        run_simple(host, port, app, threaded=True)


#: The platform operator of the demo, at the development IdP (the console's own login).
DEMO_OPERATOR = ("platform.beheer", "Pim Platformbeheer", "beheer@samenleren.example")


def _configure_demo_operator(app, issuer: str):
    """Let the development IdP serve the operator console too, unless the environment already
    names one (SAMENLEREN_OPERATOR_OIDC_ISSUER); returns the demo operator for the IdP."""
    from samenleren.demo.devidp import idp_user

    if app.config["SAMENLEREN_OPERATOR_OIDC_ISSUER"]:
        return None
    subject, name, email = DEMO_OPERATOR
    app.config.update(
        {
            "SAMENLEREN_OPERATOR_OIDC_ISSUER": issuer,
            "SAMENLEREN_OPERATOR_OIDC_CLIENT_ID": "samenleren-operator-console",
            # The demo IdP accepts any secret; a real deployment sets the variable.
            "SAMENLEREN_OPERATOR_OIDC_CLIENT_SECRET": secrets.token_urlsafe(24),
            "SAMENLEREN_OPERATORS": (subject,),
        }
    )
    return idp_user(subject, {"name": name, "email": email, "groups": []})


def _approve_demo_issuer(tenant, issuer: str) -> None:
    """The demo started its development IdP on another port than last time: the manifest asked
    for that issuer (`onboard_tenant` never switches it by itself); the demo approves its own
    IdP, through the same audited approval that re-links its users."""
    from samenleren.core.extensions import db
    from samenleren.core.tenancy import tenant_scope
    from samenleren.identity.issuers import Approver, approve_issuer_change

    with tenant_scope(tenant):
        approve_issuer_change(tenant, Approver(label="demo run (development)"), expected=issuer)
        db.session.commit()
