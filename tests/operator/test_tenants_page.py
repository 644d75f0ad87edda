"""The console's list of tenants: usage counts per tenant, counted under RLS, and no person."""

from __future__ import annotations

import re
from datetime import date

from flask import Flask
from sqlalchemy import select

from tests.conftest import TenantRef
from tests.factories import World, add_user, build_world, in_tenant
from tests.test_isolation import QueryCounter


def grow(app: Flask, tenant: TenantRef, users: int) -> None:
    """More of everything that must (and must not) be counted in `tenant`."""
    from samenleren.catalogue.models import Edition, Training
    from samenleren.core.extensions import db
    from samenleren.identity.models import User
    from samenleren.trajectories.models import Trajectory, TrajectoryStatus

    with in_tenant(app, tenant):
        for number in range(users):
            add_user(f"extra.{number}", "learner", name=f"Extra Persoon {tenant.slug} {number}")
        gone = add_user("vertrokken", "learner", name=f"Vera Vertrokken {tenant.slug}")
        gone.active = False  # deprovisioned: not a user any more, kept for the programme
        training = db.session.scalar(select(Training))
        db.session.add(
            Edition(
                training_id=training.id,
                name="Geannuleerd",
                starts_on=date(2030, 1, 1),
                ends_on=date(2030, 2, 1),
                cancelled=True,
            )
        )
        trajectory = db.session.scalar(select(Trajectory))
        trajectory.status = TrajectoryStatus.WITHDRAWN
        db.session.commit()
        assert db.session.scalar(select(User).where(User.subject == "vertrokken")) is not None


def usage_row(page: str, slug: str) -> list[str]:
    """The cells of the tenant's row: name, status, users, trajectories, editions, audit log
    verified, issuer."""
    match = re.search(rf'<tr class="utrecht-table__row" id="tenant-{slug}">(.*?)</tr>', page, re.S)
    assert match, f"no row for {slug}"
    cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", match.group(1), re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", cell).split()) for cell in cells]


def test_usage_counts_per_tenant_and_no_personal_data(app, console, tenants):
    names: list[str] = []
    emails: list[str] = []
    worlds: dict[str, World] = {}
    for slug, ref in tenants.items():
        with in_tenant(app, ref):
            worlds[slug] = build_world(ref)
    grow(app, tenants["gelderland"], users=3)

    from samenleren.core.extensions import db
    from samenleren.identity.models import User

    for ref in tenants.values():
        with in_tenant(app, ref):
            for user in db.session.scalars(select(User)):
                names.append(user.name)
                emails.append(user.email)
                names.extend(user.name.split()[:2])  # first names alone are personal data too

    page = console.get("/operator/").get_data(as_text=True)
    flevoland, gelderland = usage_row(page, "flevoland"), usage_row(page, "gelderland")
    # build_world: 7 people, 1 running trajectory, 1 edition.
    assert flevoland[:5] == ["Provincie Flevoland /flevoland/", "Active", "7", "1", "1"]
    # + 3 people, 1 deactivated (not counted), the trajectory withdrawn, a cancelled edition.
    assert gelderland[:5] == ["Provincie Gelderland /gelderland/", "Active", "10", "0", "1"]
    assert flevoland[5] == "Never"
    assert flevoland[6] == tenants["flevoland"].idp.issuer

    assert names and emails
    for text in (*names, *emails, *World.subjects.values()):
        assert text not in page, f"personal data on the console: {text!r}"
    for world in worlds.values():
        assert str(world.learner) not in page


def test_the_list_costs_two_queries_per_tenant_and_no_more_with_more_data(
    app, console, tenants, idps
):
    """2n + a few: the tenants, then per tenant its RLS setting and one statement of counts."""
    counter = QueryCounter(app)
    console.get("/operator/")
    with counter.counting() as small:
        assert console.get("/operator/").status_code == 200
    for ref in tenants.values():
        with in_tenant(app, ref):
            build_world(ref)
        grow(app, ref, users=20)
    with counter.counting() as large:
        assert console.get("/operator/").status_code == 200
    assert len(large) == len(small), "the queries grow with the data"

    _add_tenant(app, "zeeland", idps["flevoland"].issuer)  # a third tenant: two more queries
    with counter.counting() as more:
        assert console.get("/operator/").status_code == 200
    assert len(more) == len(large) + 2, "\n".join(more)
    assert len(small) <= 2 * len(tenants) + 4, "\n".join(small)


def _add_tenant(app: Flask, slug: str, issuer: str) -> None:
    from samenleren.demo.devidp import with_issuer
    from samenleren.tenants.manifest import LoadedManifest, parse_manifest
    from samenleren.tenants.services import onboard_tenant

    manifest = parse_manifest(
        {
            "slug": slug,
            "name": f"Provincie {slug.title()}",
            "default_locale": "nl",
            "sso": {"issuer": issuer, "client_id": "x", "client_secret_env": "X_SECRET"},
        },
        "test",
    )
    with app.app_context():
        onboard_tenant(with_issuer(LoadedManifest(manifest, None, None), issuer))


def test_the_last_audit_verification_is_shown_per_tenant(app, console, tenants, database):
    """`flask audit verify` stores its outcome; the console shows the latest, per tenant."""
    import psycopg

    from samenleren.audit.services import record
    from samenleren.core.extensions import db

    for ref in tenants.values():
        with in_tenant(app, ref):
            record("logout", actor_label="Iemand")
            record("logout", actor_label="Iemand")
            db.session.commit()
    assert app.test_cli_runner().invoke(args=["audit", "verify"]).exit_code == 0
    page = console.get("/operator/?lang=en").get_data(as_text=True)
    assert usage_row(page, "flevoland")[5].endswith(": intact")
    assert usage_row(page, "gelderland")[5].endswith(": intact")

    with psycopg.connect(database.owner_url, autocommit=True) as owner, owner.transaction():
        owner.execute(
            "SELECT set_config('app.tenant_id', %s, true)", (str(tenants["gelderland"].id),)
        )
        owner.execute("UPDATE audit_events SET actor_label = 'Niemand' WHERE sequence = 2")
    assert app.test_cli_runner().invoke(args=["audit", "verify"]).exit_code == 1
    page = console.get("/operator/").get_data(as_text=True)
    assert usage_row(page, "flevoland")[5].endswith(": intact")
    assert usage_row(page, "gelderland")[5].endswith(": broken at event 2")
