"""`flask tenants onboard|list|suspend|resume`, run through Flask's CLI runner on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import Result
from flask import Flask
from sqlalchemy import event, select

from samenleren.core.extensions import db
from samenleren.core.tenancy import tenant_scope
from samenleren.core.tenant import Tenant, TenantStatus
from samenleren.tenants.models import OrganisationGoal
from tests.conftest import TenantRef, login, make_user
from tests.tenants.test_manifest import BAD_MANIFESTS, BASE, expected_prefix, write_manifest


def run(app: Flask, *args: str) -> Result:
    """Invoke `flask tenants ...` outside any app context, as an operator's shell would."""
    return app.test_cli_runner().invoke(args=["tenants", *args])


def tenant_rows(app: Flask) -> list[tuple]:
    """Everything that identifies the state of the tenants table."""
    with app.app_context():
        return [
            (t.slug, t.status, t.name, t.manifest_digest, t.updated_at)
            for t in db.session.scalars(select(Tenant).order_by(Tenant.slug))
        ]


def goals(app: Flask, slug: str) -> dict[str, tuple[bool, int]]:
    """code -> (active, position) of a tenant's organisation goals."""
    with app.app_context():
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
        with tenant_scope(tenant):
            return {
                g.code: (g.active, g.position) for g in db.session.scalars(select(OrganisationGoal))
            }


@contextmanager
def recorded_sql(app: Flask) -> Iterator[list[str]]:
    """Every SQL statement the app's engine runs inside the block."""
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _writes(statements: list[str]) -> list[str]:
    return [
        s for s in statements if s.lstrip().split()[0].upper() in {"INSERT", "UPDATE", "DELETE"}
    ]


# --- onboard: refused -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("edit", "key"),
    [pytest.param(edit, key, id=case) for case, edit, key, _ in BAD_MANIFESTS],
)
def test_onboarding_a_bad_manifest_fails_with_one_line_and_writes_nothing(
    app: Flask, tmp_path: Path, edit, key: str
) -> None:
    """Non-zero exit, one line naming the file and the key, and no tenant row."""
    path = write_manifest(tmp_path, edit(BASE))
    result = run(app, "onboard", str(path))
    assert result.exit_code != 0
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert expected_prefix(path, key) in lines[0]
    assert "Traceback" not in result.output
    assert tenant_rows(app) == []


def test_a_bad_update_leaves_the_existing_tenant_untouched(
    app: Flask, tenants: dict[str, TenantRef], tmp_path: Path
) -> None:
    """A broken manifest for an onboarded tenant changes none of its rows."""
    before, goals_before = tenant_rows(app), goals(app, "flevoland")
    text = BASE.replace('"zeeland"', '"flevoland"').replace("#154273", "#ffff00")
    path = write_manifest(tmp_path, text, "flevoland.toml")
    result = run(app, "onboard", str(path))
    assert result.exit_code != 0
    assert f"{path}: theme.primary_color: " in result.output
    assert tenant_rows(app) == before
    assert goals(app, "flevoland") == goals_before


def test_a_missing_file_fails_cleanly(app: Flask, tmp_path: Path) -> None:
    """A manifest path that does not exist gives one line and a non-zero exit."""
    result = run(app, "onboard", str(tmp_path / "nergens.toml"))
    assert result.exit_code != 0
    assert len(result.output.strip().splitlines()) == 1
    assert "nergens.toml" in result.output


# --- onboard: created, unchanged, updated ---------------------------------------------------------


def test_onboarding_creates_then_changes_nothing_then_updates(app: Flask, tmp_path: Path) -> None:
    """First run creates the tenant and its goals; a second run of the same file writes nothing
    at all; a changed file updates, and a goal left out becomes inactive (kept, not deleted)."""
    path = write_manifest(tmp_path, BASE)

    created = run(app, "onboard", str(path))
    assert created.exit_code == 0, created.output
    assert created.output.strip() == "zeeland: onboarded; its home is /zeeland/"
    [(slug, status, name, digest, updated_at)] = tenant_rows(app)
    assert (slug, status, name) == ("zeeland", TenantStatus.ACTIVE, "Provincie Zeeland")
    assert goals(app, "zeeland") == {"Z1": (True, 0), "Z2": (True, 1)}

    with recorded_sql(app) as statements:
        again = run(app, "onboard", str(path))
    assert again.exit_code == 0, again.output
    assert again.output.strip() == "zeeland: nothing changed"
    assert statements, "the listener saw no SQL at all"
    assert _writes(statements) == []
    assert tenant_rows(app) == [(slug, status, name, digest, updated_at)]

    changed = (
        BASE.replace("Provincie Zeeland", "Provincie Zeeland en Zee")
        .replace('code = "Z1"', 'code = "Z3"')
        .replace('code = "Z2"', 'code = "Z1"')
    )
    write_manifest(tmp_path, changed)
    updated = run(app, "onboard", str(path))
    assert updated.exit_code == 0, updated.output
    assert updated.output.strip() == f"zeeland: updated from {path}"
    [(_, _, new_name, new_digest, new_updated_at)] = tenant_rows(app)
    assert new_name == "Provincie Zeeland en Zee"
    assert new_digest != digest and new_updated_at > updated_at
    assert goals(app, "zeeland") == {"Z3": (True, 0), "Z1": (True, 1), "Z2": (False, 1)}

    write_manifest(tmp_path, BASE)
    assert run(app, "onboard", str(path)).exit_code == 0
    assert goals(app, "zeeland") == {"Z1": (True, 0), "Z2": (True, 1), "Z3": (False, 0)}


def test_a_manifest_naming_another_issuer_asks_for_it_and_says_so(app: Flask, tmp_path: Path):
    """The issuer is not switched by onboarding again (users are bound to it): it waits for
    approval (identity.issuers), and the command says so."""
    path = write_manifest(tmp_path, BASE)
    assert run(app, "onboard", str(path)).exit_code == 0
    other = "https://login.nieuw.zeeland.example.nl/adfs"
    write_manifest(tmp_path, BASE.replace("https://login.zeeland.example.nl/adfs", other))
    result = run(app, "onboard", str(path))
    assert result.exit_code == 0, result.output
    assert f"the new issuer {other} waits for approval" in result.output
    with app.app_context():
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == "zeeland"))
        assert tenant.sso_issuer == "https://login.zeeland.example.nl/adfs"
        assert tenant.sso_issuer_pending == other


def test_the_shipped_manifests_onboard(app: Flask) -> None:
    """Both shipped manifests onboard through the CLI as they are."""
    from tests.conftest import REPO_ROOT

    for slug in ("flevoland", "gelderland"):
        result = run(app, "onboard", str(REPO_ROOT / "tenants" / f"{slug}.toml"))
        assert result.exit_code == 0, result.output
        assert result.output.startswith(f"{slug}: onboarded")
    assert [row[0] for row in tenant_rows(app)] == ["flevoland", "gelderland"]


# --- list -----------------------------------------------------------------------------------------


def _listed(result: Result) -> dict[str, list[str]]:
    return {line.split()[0]: line.split() for line in result.output.splitlines()[1:]}


def test_list_shows_slug_status_and_user_count(app: Flask, tenants: dict[str, TenantRef]) -> None:
    """Each tenant's line shows its status and its own number of users."""
    with app.app_context():
        make_user(tenants["flevoland"], "anna.de.vries")
        make_user(tenants["flevoland"], "bram.jansen", "coach")
    result = run(app, "list")
    assert result.exit_code == 0, result.output
    assert result.output.split()[:3] == ["slug", "status", "users"]
    rows = _listed(result)
    assert rows["flevoland"][:3] == ["flevoland", "active", "2"]
    assert rows["gelderland"][:3] == ["gelderland", "active", "0"]
    assert "Provincie Flevoland" in result.output

    assert run(app, "suspend", "gelderland").exit_code == 0
    assert _listed(run(app, "list"))["gelderland"][:3] == ["gelderland", "suspended", "0"]


def test_list_with_no_tenants_says_how_to_onboard(app: Flask) -> None:
    """An empty platform answers with the onboarding command, not an empty table."""
    result = run(app, "list")
    assert result.exit_code == 0
    assert "tenants onboard" in result.output


# --- suspend and resume ---------------------------------------------------------------------------


def test_a_suspended_tenant_looks_like_an_unknown_one(
    app: Flask, tenants: dict[str, TenantRef]
) -> None:
    """Suspended: its pages answer 404, exactly like an unknown slug; the other tenant is
    unaffected; resume brings it back."""
    client = app.test_client()
    assert client.get("/flevoland/").status_code == 200
    assert client.get("/flevoland/auth/login").status_code == 302

    result = run(app, "suspend", "flevoland")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "flevoland: suspended"
    for page in ("/", "/auth/login", "/theme.css"):
        answer, unknown = client.get(f"/flevoland{page}"), client.get(f"/onbekend{page}")
        assert answer.status_code == unknown.status_code == 404, page
        # The pages differ only where they repeat the requested path (the language links).
        assert answer.get_data(as_text=True).replace("/flevoland", "/onbekend") == (
            unknown.get_data(as_text=True)
        ), page
    assert client.get("/gelderland/").status_code == 200
    assert run(app, "suspend", "flevoland").output.strip() == "flevoland: already suspended"

    result = run(app, "resume", "flevoland")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "flevoland: resumed"
    assert client.get("/flevoland/").status_code == 200
    assert client.get("/flevoland/auth/login").status_code == 302


def test_suspension_ends_access_for_a_logged_in_user(
    app: Flask, tenants: dict[str, TenantRef]
) -> None:
    """Someone already logged in gets the same 404 once the tenant is suspended."""
    client = app.test_client()
    assert login(client, tenants["flevoland"], "anna.de.vries").status_code == 302
    assert "Anna.De.Vries" in client.get("/flevoland/").get_data(as_text=True)
    assert run(app, "suspend", "flevoland").exit_code == 0
    assert client.get("/flevoland/").status_code == 404


@pytest.mark.parametrize("command", ["suspend", "resume"])
def test_an_unknown_slug_fails_clearly(app: Flask, command: str) -> None:
    """Suspending or resuming a slug nobody onboarded exits non-zero with a clear message."""
    result = run(app, command, "nergensland")
    assert result.exit_code != 0
    assert "no tenant with slug 'nergensland'" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_suspending_from_the_command_line_ends_the_tenants_logins(app, tenants):
    from sqlalchemy import select

    from samenleren.core.db import utcnow
    from samenleren.core.extensions import db
    from samenleren.core.tenancy import tenant_scope
    from samenleren.core.tenant import Tenant, TenantStatus
    from samenleren.identity.models import LoginSession
    from samenleren.tenants.services import set_tenant_status
    from tests.conftest import make_user

    with app.app_context():
        user_id = make_user(tenants["flevoland"], "sessie.houder", "learner")
        flevoland = db.session.get(Tenant, tenants["flevoland"].id)
        with tenant_scope(flevoland):
            db.session.add(LoginSession(user_id=user_id, expires_at=utcnow() + timedelta(hours=1)))
            db.session.commit()
        assert set_tenant_status("flevoland", TenantStatus.SUSPENDED)
        with tenant_scope(flevoland):
            ended = db.session.scalars(select(LoginSession.ended_at)).all()
        assert ended and all(moment is not None for moment in ended)
