"""Tenant isolation over every route the application has (the goal: 0 leaks).

The routes are not listed by hand: they come from `app.url_map`. Every rule under `/<tenant>/` is
a tenant route; every URL argument of a tenant route needs a factory in `OBJECT_FACTORIES` that
creates such an object inside a tenant, so a new route cannot slip past this suite. Every rule
outside `/<tenant>/` must be on the explicit `NON_TENANT_ROUTES` allowlist.

For each tenant route, each role and each method, a user of one tenant asking for the other
tenant's objects gets exactly what asking for a non-existent object gives: the same status, the
same headers that matter and the same body, byte for byte (after masking the values that differ
on every request anyway: the CSRF token in forms, and the requested ids themselves).
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer
from werkzeug.routing import Rule

from tests.conftest import TenantRef, login, make_user
from tests.factories import World, build_world, in_tenant

_SCIM_REASON = (
    "SCIM: tenant from the path, bearer token of that tenant; cross-tenant tests in tests/scim"
)

#: Rules outside any tenant, each with the reason it may be there.
NON_TENANT_ROUTES = {
    "/static/<path:filename>": "the shared style sheets and images; no tenant data",
    "/healthz": "liveness probe; says only that the process answers",
    "/favicon.ico": "the platform icon (a tenant's own is its logo); no tenant data",
    "/readyz": "readiness probe; names only the services that are down",
    # Public pages (tests/public/): the same text for everyone, nothing of any tenant.
    "/.well-known/security.txt": "RFC 9116 contact file, from configuration",
    "/security": "coordinated vulnerability disclosure policy, from configuration",
    "/cookies": "cookie statement: the platform's one functional cookie",
    # The platform operator console (tests/operator/): no tenant, an operator login of its own
    # that no tenant login opens; it shows counts per tenant, never a person.
    "/operator/": "operator console: tenants with aggregate usage counts, no personal data",
    "/operator/login": "operator console: starts the login at the platform's own IdP",
    "/operator/callback": "operator console: the platform IdP's redirect back",
    "/operator/logout": "operator console: ends the operator's login",
    "/operator/logged-out": "operator console: where logout lands; a login link only",
    "/operator/tenants/new": "operator console: onboard a province through a form",
    "/operator/tenants/upload": "operator console: onboard a province from an uploaded manifest",
    "/operator/tenants/<slug>/suspend": "operator console: suspend a tenant (confirm, POST)",
    "/operator/tenants/<slug>/resume": "operator console: resume a tenant (confirm, POST)",
    "/operator/tenants/<slug>/test-sso": "operator console: check a tenant's IdP discovery",
    "/operator/tenants/<slug>/issuer": "operator console: a tenant's pending issuer, a count only",
    "/operator/tenants/<slug>/issuer/approve": "operator console: approve a tenant's new issuer",
    "/operator/tenants/<slug>/issuer/reject": "operator console: turn a tenant's new issuer down",
    "/operator/tenants/<slug>/setup": "operator console: what a tenant's login lacks; refused "
    "logins with their cause, never a person",
    "/operator/tenants/<slug>/setup/secret": "operator console: store a tenant's client secret",
    "/operator/tenants/<slug>/setup/admins": "operator console: name a tenant's first admins",
    "/operator/tenants/<slug>/setup/auth-method": "operator console: a tenant's client "
    "authentication (secret or private_key_jwt, which makes its key pair)",
    "/operator/tenants/<slug>/setup/link": "operator console: a set-up link for a tenant's IT",
    "/operator/jobs": "operator console: queue counts, failed jobs (no person), outbox counts",
    "/operator/jobs/<queue_name>/<job_id>/retry": "operator console: requeue a failed job",
    "/operator/jobs/<queue_name>/<job_id>/delete": "operator console: delete a failed job",
    "/operator/outbox/<slug>/retry": "operator console: resend a tenant's failed notifications",
    # SCIM provisioning: the slug names the tenant, and only a bearer token of that tenant gets
    # in; every other case is the same 401. Cross-tenant tests: tests/scim/test_tokens.py.
    "/scim/v2/<slug>": _SCIM_REASON,
    "/scim/v2/<slug>/<path:scim_path>": _SCIM_REASON,
}

TENANT_PREFIX = "/<tenant>/"
ROLES = ["learner", "coach", "manager", "trainer", "programme_admin"]
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
ARGUMENT = re.compile(r"<(?:[^<>:]+:)?([^<>]+)>")


# --- the registry of object factories ---------------------------------------------------------


def _scim_token(world: World) -> object:
    """A SCIM token of the world's tenant (its tenant is active while the factories run)."""
    from samenleren.core.extensions import db
    from samenleren.scim.tokens import create_token

    row, _ = create_token("Isolatie", actor_label="test")
    token_id = row.id
    db.session.commit()
    return token_id


def _sign_in_token(world: World) -> str:
    """A valid sign-in link token of an external trainer of the world's tenant."""
    from samenleren.core.extensions import db
    from samenleren.identity.trainers import invite_external_trainer

    issued = invite_external_trainer("Isolatie Link", "link@isolatie.example", actor=None)
    db.session.commit()
    return issued.token


def _setup_token(world: World) -> str:
    """A valid set-up link token (the client secret, for the IT contact) of the world's tenant."""
    from samenleren.core.extensions import db
    from samenleren.core.tenancy import require_tenant
    from samenleren.identity.sso_setup import issue_setup_link

    token = issue_setup_link(require_tenant(), actor_label="test")
    db.session.commit()
    return token


def _client_key(world: World) -> str:
    """The key id of a published `private_key_jwt` key pair (with its certificate) of the
    world's tenant."""
    from samenleren.core.extensions import db
    from samenleren.core.tenancy import require_tenant
    from samenleren.identity.client_keys import rotate_client_key

    kid = rotate_client_key(require_tenant(), None, actor_label="test").kid
    db.session.commit()
    return kid


def _external_trainer(world: World) -> object:
    """An external trainer (signs in with links) of the world's tenant."""
    from samenleren.core.extensions import db
    from samenleren.identity.trainers import invite_external_trainer

    issued = invite_external_trainer("Isolatie Extern", "extern@isolatie.example", actor=None)
    user_id = issued.user.id
    db.session.commit()
    return user_id


def _published_version(world: World) -> object:
    """The published version new trajectories of the world's tenant start on."""
    from samenleren.process_templates.services import current_version

    return current_version().id


def _default_template(world: World) -> object:
    """The world's tenant's default template (the one `_published_version` belongs to)."""
    from samenleren.process_templates.services import current_version

    return current_version().template_id


def _draft(world: World) -> object:
    """A draft of the world's tenant's default template (a copy of its published version)."""
    from samenleren.core.extensions import db
    from samenleren.identity.models import User
    from samenleren.process_templates.drafts import draft_of, start_draft
    from samenleren.process_templates.services import current_version

    template = current_version().template
    draft = draft_of(template) or start_draft(
        template, db.session.get(User, (world.tenant.id, world.admin))
    )
    draft_id = draft.id
    db.session.commit()
    return draft_id


def _library_entry(world: World) -> object:
    """A library entry shared by the world's tenant (its current version, by its admin)."""
    from samenleren.core.extensions import db
    from samenleren.identity.models import User
    from samenleren.process_templates.library.services import publish_to_library
    from samenleren.process_templates.services import current_version

    admin = db.session.get(User, (world.tenant.id, world.admin))
    entry = publish_to_library(
        current_version(), {"nl": f"Model van {world.tenant.slug}"}, {}, admin
    )
    entry_id = entry.id
    db.session.commit()
    return entry_id


#: The model library is shared by design: every tenant's programme administrators read
#: the entries other tenants published and may adopt one, which copies it into their OWN tenant
#: and writes nothing in the publishing one. These read-only/adopt routes are therefore exempt
#: from "another tenant's object looks missing"; everything else about them is still checked
#: (unknown tenant, malformed ids, logged in elsewhere) and tests/process_templates/
#: test_library.py checks what they show and that only published content is there. Withdrawing
#: and sharing (`/library/<entry_id>/withdraw`, `/library/share/<version_id>`) are NOT here:
#: another tenant's entry or version gives the same 404 as a missing one.
SHARED_ACROSS_TENANTS = {
    "/<tenant>/library/<uuid:entry_id>",
    "/<tenant>/library/<uuid:entry_id>/adopt",
}


def _export(world: World) -> object:
    """A ready export (all data, Excel) of the world's tenant, made by its programme admin."""
    from samenleren.core.extensions import db
    from samenleren.exports import services
    from samenleren.identity.models import User
    from tests.factories import get

    export = services.new_export(get(User, world.admin), "xlsx", ["trajectories", "goals"], "nl")
    export_id = export.id
    db.session.commit()
    services.build_export(export_id)
    return export_id


def _legal_hold(world: World) -> object:
    """A legal hold on the world's learner, placed by its programme admin."""
    from samenleren.core.extensions import db
    from samenleren.identity.models import User
    from samenleren.retention.holds import place_hold
    from tests.factories import get

    hold = place_hold("person", str(world.learner), "Geschil", get(User, world.admin))
    hold_id = hold.id
    db.session.commit()
    return hold_id


def _data_package(world: World) -> object:
    """A ready personal data package of the world's learner, produced by its programme admin."""
    from samenleren.core.extensions import db
    from samenleren.exports.services import build_export
    from samenleren.identity.models import User
    from samenleren.privacy.requests import request_for_person
    from tests.factories import get

    package = request_for_person(get(User, world.admin), get(User, world.learner), "Verzoek", "nl")
    package_id = package.id
    db.session.commit()
    build_export(package_id)
    return package_id


def _my_package(world: World) -> object:
    """A ready personal data package the world's learner asked for (theirs alone to download)."""
    from samenleren.core.extensions import db
    from samenleren.exports.services import build_export
    from samenleren.identity.models import User
    from samenleren.privacy.requests import request_my_data
    from tests.factories import get

    package = request_my_data(get(User, world.learner), "nl")
    package_id = package.id
    db.session.commit()
    build_export(package_id)
    return package_id


def _scheduled_step(world: World) -> object:
    """The world's intake with an appointment (calendar downloads need one)."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import select

    from samenleren.core.extensions import db
    from samenleren.identity.models import User
    from samenleren.trajectories.models import StepInstance, Trajectory
    from samenleren.trajectories.steps import Appointment, schedule_step

    trajectory = db.session.scalar(select(Trajectory).where(Trajectory.id == world.trajectory))
    step = db.session.scalar(
        select(StepInstance).where(
            StepInstance.trajectory_id == world.trajectory, StepInstance.step_key == "intake"
        )
    )
    coach = db.session.scalar(select(User).where(User.id == world.coach))
    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=10)
    schedule_step(trajectory, step, coach, Appointment(starts, starts + timedelta(hours=1), "A"))
    db.session.commit()
    return step.id


def _scheduled_meeting(world: World) -> object:
    """The world's return day, scheduled (not `meeting`, which stays to be planned)."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import select

    from samenleren.core.extensions import db
    from samenleren.identity.models import User
    from samenleren.trajectories.meetings import schedule_meeting
    from samenleren.trajectories.models import GroupMeeting
    from samenleren.trajectories.steps import Appointment

    meeting = db.session.scalar(
        select(GroupMeeting).where(
            GroupMeeting.edition_id == world.edition, GroupMeeting.step_key == "return_day"
        )
    )
    trainer = db.session.scalar(select(User).where(User.id == world.trainer))
    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=150)
    schedule_meeting(meeting, trainer, Appointment(starts, starts + timedelta(hours=3), "Zaal"))
    db.session.commit()
    return meeting.id


def _budget_actual(world: World) -> object:
    """An expense booked on the world's edition by its programme admin."""
    from samenleren.budget.actuals import ActualInput, add_actual
    from samenleren.core.extensions import db
    from samenleren.core.formatting import local_today
    from samenleren.identity.models import User
    from tests.factories import get

    actual = add_actual(
        ActualInput(
            spent_on=local_today(),
            amount_cents=12500,
            category="trainers",
            edition_id=world.edition,
            invoice_reference=f"F-{world.tenant.slug}",
        ),
        get(User, world.admin),
    )
    actual_id = actual.id
    db.session.commit()
    return actual_id


def _feed_token(world: World) -> str:
    """A live personal calendar feed token of the world's learner."""
    from sqlalchemy import select

    from samenleren.calendars.feeds import create_feed
    from samenleren.core.extensions import db
    from samenleren.identity.models import User

    learner = db.session.scalar(select(User).where(User.id == world.learner))
    issued = create_feed(learner)
    db.session.commit()
    return issued.token


#: Routes whose POST signs the client in as someone else by design (the URL holds a single-use
#: credential): `test_logged_in_elsewhere_is_a_stranger_here` compares their GET only, because
#: the first POST spends the link and ends the visitor's own login. Their cross-tenant POST is
#: covered by `test_other_tenants_objects_look_exactly_like_missing_ones` and, for a logged-in
#: employee of another tenant, by tests/identity/test_trainer_links.py.
SIGNS_IN_ON_POST = {"/<tenant>/auth/link/<token>"}


#: URL argument name -> the object of a tenant's programme (`tests.factories.build_world`) to put
#: in the URL. The world is built once per tenant inside an app context with that tenant active.
OBJECT_FACTORIES: dict[str, Callable[[World], object]] = {
    "training_id": lambda world: world.training,
    "person_id": lambda world: world.learner,
    "edition_id": lambda world: world.edition,
    "session_id": lambda world: world.session,
    "enrolment_id": lambda world: world.enrolment,
    "coach_profile_id": lambda world: world.coach_profile,
    "coach_day_id": lambda world: world.coach_day,
    "organisation_goal_id": lambda world: world.organisation_goals[0],
    "trajectory_id": lambda world: world.trajectory,
    "step_id": lambda world: world.step,
    "meeting_id": lambda world: world.meeting,
    "token_id": _scim_token,
    "token": _sign_in_token,
    "setup_token": _setup_token,
    "key_id": _client_key,
    "external_trainer_id": _external_trainer,
    "scheduled_step_id": _scheduled_step,
    "scheduled_meeting_id": _scheduled_meeting,
    "feed_token": _feed_token,
    "export_id": _export,
    "hold_id": _legal_hold,
    "package_id": _data_package,
    "my_package_id": _my_package,
    "actual_id": _budget_actual,
    "version_id": _published_version,
    "template_id": _default_template,
    "entry_id": _library_entry,
    # The template editor: a draft, and a step and one of its fields in that draft
    # (step and field keys are plain strings; the draft id in the same URL decides the 404).
    "draft_id": _draft,
    "step_key": lambda world: "evaluation",
    "field_key": lambda world: "expectations_met",
}


# --- helpers ----------------------------------------------------------------------------------


def tenant_rules(app: Flask) -> list[Rule]:
    return sorted(
        (rule for rule in app.url_map.iter_rules() if rule.rule.startswith(TENANT_PREFIX)),
        key=lambda rule: rule.rule,
    )


def object_arguments(rule: Rule) -> list[str]:
    return sorted(rule.arguments - {"tenant"})


def methods_of(rule: Rule) -> list[str]:
    methods = []
    if "GET" in rule.methods:
        methods.append("GET")
    methods.extend(sorted(rule.methods & WRITE_METHODS))
    return methods


def url(rule: Rule, slug: str, values: dict[str, object]) -> str:
    def fill(match: re.Match) -> str:
        name = match.group(1)
        return slug if name == "tenant" else str(values[name])

    return ARGUMENT.sub(fill, rule.rule)


def create_objects(app: Flask, tenant: TenantRef) -> dict[str, object]:
    with in_tenant(app, tenant):
        world = build_world(tenant)
        return {name: factory(world) for name, factory in OBJECT_FACTORIES.items()}


def valid_csrf_token(app: Flask, client: FlaskClient) -> str:
    """A valid token for this client's session, as Flask-WTF would put it in a form."""
    with client.session_transaction() as session:
        raw = session.get("csrf_token")
        if raw is None:
            raw = session["csrf_token"] = hashlib.sha1(os.urandom(64)).hexdigest()  # noqa: S324
    return URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token").dumps(raw)


def request(app: Flask, client: FlaskClient, method: str, path: str):
    if method == "GET":
        return client.get(path)
    token = valid_csrf_token(app, client)
    return client.open(
        path, method=method, data={"csrf_token": token}, headers={"X-CSRFToken": token}
    )


CSRF_FIELD = re.compile(r'(name="csrf_token" value=")[^"]*(")')


def comparable(response, ids: list[str]) -> tuple:
    """What must not differ between "another tenant's object" and "no such object"."""

    def mask(text: str) -> str:
        text = CSRF_FIELD.sub(r"\1<csrf>\2", text)
        for value in ids:
            text = text.replace(value, "<id>")
        return text

    headers = {
        key: mask(response.headers.get(key, ""))
        for key in ("Location", "Content-Type", "Content-Length", "Cache-Control")
    }
    headers["Content-Length"] = ""  # the masked ids and tokens may differ in length
    return response.status_code, headers, mask(response.get_data(as_text=True))


@dataclass(frozen=True)
class Visitor:
    client: FlaskClient
    role: str | None
    identity: tuple[str, ...]  #: strings that identify this user: name, e-mail, subject, id


def visitor(app: Flask, tenant: TenantRef, role: str | None) -> Visitor:
    client = app.test_client()
    if role is None:
        client.get(f"/{tenant.slug}/")
        return Visitor(client, None, ())
    subject = f"isolatie.{role}.{tenant.slug}"
    name = f"Qzx {role.title()} van {tenant.slug.title()}"
    email = f"{subject}@{tenant.slug}.example.nl"
    with app.app_context():
        user_id = make_user(tenant, subject, role, name=name)
    assert login(client, tenant, subject, name=name, email=email).status_code == 302
    page = client.get(f"/{tenant.slug}/").get_data(as_text=True)
    assert name in page, "the visitor must really be logged in"
    return Visitor(client, role, (name, email, subject, str(user_id)))


# --- the walk's world: built once per worker ----------------------------------------------------


@dataclass(frozen=True)
class Walk:
    """Both tenants with their objects and a logged-in user of every role: the rows are built once
    per worker and copied back for each test (`snapshot`), a login is its session cookie."""

    tenants: dict[str, TenantRef]
    objects: dict[str, dict[str, object]]  #: slug -> URL argument -> value
    logins: dict[tuple[str, str], tuple[str, tuple[str, ...]]]  #: (slug, role) -> cookie, identity

    def visitor(self, app: Flask, slug: str, role: str | None) -> Visitor:
        """A new client of `role` at `slug`, logged in (anonymous for None), as `visitor` gives."""
        client = app.test_client()
        if role is None:
            client.get(f"/{slug}/")
            return Visitor(client, None, ())
        cookie, identity = self.logins[slug, role]
        client.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie)
        page = client.get(f"/{slug}/").get_data(as_text=True)
        assert identity[0] in page, "the visitor must really be logged in"
        return Visitor(client, role, identity)


def _build_walk(app: Flask, tenants: dict[str, TenantRef]) -> Walk:
    objects = {slug: create_objects(app, ref) for slug, ref in tenants.items()}
    logins = {}
    for slug, ref in tenants.items():
        for role in ROLES:
            me = visitor(app, ref, role)
            cookie = me.client.get_cookie(app.config["SESSION_COOKIE_NAME"])
            logins[slug, role] = (cookie.decoded_value, me.identity)
    return Walk(tenants, objects, logins)


@pytest.fixture
def walk(app: Flask, snapshot) -> Walk:
    return snapshot("isolation.walk", lambda tenants: _build_walk(app, tenants))


# --- the route inventory ----------------------------------------------------------------------


def test_every_route_is_a_tenant_route_or_explicitly_allowed(app):
    strays = [
        rule.rule
        for rule in app.url_map.iter_rules()
        if not rule.rule.startswith(TENANT_PREFIX) and rule.rule not in NON_TENANT_ROUTES
    ]
    assert not strays, (
        f"routes outside /<tenant>/: {strays}. Put tenant pages under /<tenant>/; a route that "
        "really belongs to no tenant must be added to NON_TENANT_ROUTES with its reason."
    )
    present = {rule.rule for rule in app.url_map.iter_rules()}
    assert set(NON_TENANT_ROUTES) <= present, "remove allowlisted routes that no longer exist"


def test_tenant_routes_take_the_tenant_from_the_path_only(app):
    for rule in tenant_rules(app):
        assert rule.rule.count("<tenant>") == 1, rule.rule
        assert rule.host is None and rule.subdomain in {None, ""}, rule.rule


def test_every_url_argument_has_an_object_factory(app):
    missing = {
        name: rule.rule
        for rule in tenant_rules(app)
        for name in object_arguments(rule)
        if name not in OBJECT_FACTORIES
    }
    assert not missing, (
        f"URL arguments without a factory: {missing}. Add each to OBJECT_FACTORIES in "
        "tests/test_isolation.py (add it to the registry), so that the isolation suite covers "
        "the new route."
    )
    # ... and the suite actually has routes with objects to check.
    assert any(object_arguments(rule) for rule in tenant_rules(app))


def test_unknown_tenant_is_404_on_every_tenant_route(app, tenants):
    client = app.test_client()
    for rule in tenant_rules(app):
        values = {name: uuid.uuid4() for name in object_arguments(rule)}
        for method in methods_of(rule):
            answer = request(app, client, method, url(rule, "atlantis", values))
            assert answer.status_code == 404, (method, rule.rule, answer.status_code)


# --- cross-tenant access: every route x every role x both directions --------------------------


PAIRS = [("flevoland", "gelderland"), ("gelderland", "flevoland")]


@pytest.mark.slow
@pytest.mark.parametrize(("home", "other"), PAIRS, ids=lambda slug: slug)
@pytest.mark.parametrize("role", [*ROLES, None], ids=lambda role: role or "anonymous")
def test_other_tenants_objects_look_exactly_like_missing_ones(app, walk, role, home, other):
    objects = walk.objects
    me = walk.visitor(app, home, role)
    checked, leaks = 0, []
    for rule in tenant_rules(app):
        names = object_arguments(rule)
        if not names or rule.rule in SHARED_ACROSS_TENANTS:
            continue
        foreign = {name: objects[other][name] for name in names}
        missing = {name: uuid.uuid4() for name in names}
        ids = [str(v) for v in (*foreign.values(), *missing.values())]
        for method in methods_of(rule):
            got_foreign = request(app, me.client, method, url(rule, home, foreign))
            got_missing = request(app, me.client, method, url(rule, home, missing))
            checked += 1
            where = f"{method} {rule.rule} as {role or 'anonymous'} of {home}"
            assert got_foreign.status_code < 500, where
            if role is not None and got_foreign.status_code != 404:
                leaks.append(f"{where}: status {got_foreign.status_code}, expected 404")
            if comparable(got_foreign, ids) != comparable(got_missing, ids):
                leaks.append(f"{where}: differs from a missing object")
            body = got_foreign.get_data(as_text=True)
            if other in body.lower() or f"Training van {other}" in body:
                leaks.append(f"{where}: the other tenant's name or data is in the page")
    assert checked, "no route with object ids was checked"
    assert not leaks, "\n".join(leaks)


@pytest.mark.slow
@pytest.mark.parametrize(("home", "other"), PAIRS, ids=lambda slug: slug)
@pytest.mark.parametrize("role", ROLES)
def test_logged_in_elsewhere_is_a_stranger_here(app, walk, role, home, other):
    """Every route of the other tenant, with its own real ids, treats me as anonymous."""
    objects = walk.objects[other]
    me = walk.visitor(app, home, role)
    stranger = app.test_client()
    stranger.get(f"/{other}/")
    problems = []
    for rule in tenant_rules(app):
        values = {name: objects[name] for name in object_arguments(rule)}
        path = url(rule, other, values)
        for method in methods_of(rule):
            if rule.rule in SIGNS_IN_ON_POST and method != "GET":
                continue
            mine = request(app, me.client, method, path)
            theirs = request(app, stranger, method, path)
            where = f"{method} {path} as {role} of {home}"
            if mine.status_code != theirs.status_code:
                problems.append(f"{where}: {mine.status_code}, anonymous gets {theirs.status_code}")
            text = mine.get_data(as_text=True) + "\n" + str(mine.headers)
            for mark in me.identity:
                if mark in text:
                    problems.append(f"{where}: shows {mark!r} of the user logged in at {home}")
            if mine.status_code == 200 and 'action="/' in text and "/auth/logout" in text:
                problems.append(f"{where}: offers a logout, so it thinks I am logged in")
    assert not problems, "\n".join(problems)
    # ... and my own login is untouched by all that.
    assert me.identity[0] in me.client.get(f"/{home}/").get_data(as_text=True)


#: Routes whose own object only someone other than the programme admin may open: the world's
#: person (tests.factories.World) who may.
OWN_OBJECT_VISITORS = {
    "/<tenant>/calendar/steps/<uuid:scheduled_step_id>.ics": "coach",
    # A personal data package is only ever its owner's to download.
    "/<tenant>/my-data/<uuid:my_package_id>/download": "learner",
    # The manager's answer to an application is for the employee's manager only.
    "/<tenant>/enrolments/<uuid:enrolment_id>/approval": "manager",
}


def test_own_objects_are_reachable_so_the_checks_above_can_fail(app, walk):
    """If every request gave 404 anyway, the comparisons above would prove nothing."""
    objects = walk.objects["flevoland"]
    admin = walk.visitor(app, "flevoland", "programme_admin")
    for rule in tenant_rules(app):
        names = object_arguments(rule)
        if not names or "GET" not in rule.methods:
            continue
        client = admin.client
        if rule.rule in OWN_OBJECT_VISITORS:
            # A conversation's calendar file is for those who take part in it, not the admin.
            client = app.test_client()
            person = World.subjects[OWN_OBJECT_VISITORS[rule.rule]]
            assert login(client, walk.tenants["flevoland"], person).status_code == 302
        own = request(app, client, "GET", url(rule, "flevoland", objects))
        missing = request(
            app, client, "GET", url(rule, "flevoland", {n: uuid.uuid4() for n in names})
        )
        assert own.status_code == 200, rule.rule
        assert missing.status_code == 404, rule.rule


def test_malformed_ids_look_missing(app, walk):
    me = walk.visitor(app, "flevoland", "learner")
    for rule in tenant_rules(app):
        names = object_arguments(rule)
        if not names:
            continue
        for bad in ("not-an-id", "0", "%00", "' OR 1=1 --", "9" * 60):
            answer = request(
                app, me.client, "GET", url(rule, "flevoland", dict.fromkeys(names, bad))
            )
            assert answer.status_code == 404, (rule.rule, bad, answer.status_code)


# --- SQL queries per page: few, and not growing with the data ---------------------------------


class QueryCounter:
    def __init__(self, app: Flask):
        from samenleren.core.extensions import db

        with app.app_context():
            self.engine = db.engine
        self.statements: list[str] = []

    def _count(self, conn, cursor, statement, parameters, context, executemany) -> None:
        self.statements.append(statement)

    @contextmanager
    def counting(self) -> Iterator[list[str]]:
        from sqlalchemy import event

        self.statements = []
        event.listen(self.engine, "before_cursor_execute", self._count)
        try:
            yield self.statements
        finally:
            event.remove(self.engine, "before_cursor_execute", self._count)


def _grow(app: Flask, tenant: TenantRef, count: int, start: int) -> list[uuid.UUID]:
    """Add `count` trainings and `count` colleagues (with roles and a manager) to `tenant`."""
    from samenleren.catalogue.models import Training
    from samenleren.core.extensions import db
    from samenleren.identity.models import Role, RoleAssignment, RoleSource, User

    with in_tenant(app, tenant):
        trainings = [
            Training(title=f"Training {start + i:04d}", provider="Bureau", capacity=10)
            for i in range(count)
        ]
        db.session.add_all(trainings)
        for i in range(count):
            user = User(subject=f"collega.{start + i}", name=f"Collega {start + i}")
            user.role_assignments = [
                RoleAssignment(role=Role.LEARNER, source=RoleSource.IDP),
                RoleAssignment(role=Role.COACH, source=RoleSource.APP),
            ]
            db.session.add(user)
        db.session.commit()
        return [t.id for t in trainings]


def _pages_queries(app: Flask, client: FlaskClient, training_id: uuid.UUID) -> dict[str, list[str]]:
    counter = QueryCounter(app)
    counts = {}
    for page in ("/flevoland/", "/flevoland/trainings/", f"/flevoland/trainings/{training_id}"):
        client.get(page)  # warm: first-request work (e.g. metadata) is not per-page cost
        with counter.counting() as statements:
            answer = client.get(page)
        assert answer.status_code == 200, page
        counts[page.replace(str(training_id), "<id>")] = [" ".join(s.split()) for s in statements]
    return counts


@pytest.mark.parametrize("roles", [("learner",), ("programme_admin", "coach", "manager")])
def test_queries_per_page_are_few_and_constant_in_data_size(app, tenants, roles):
    flevoland = tenants["flevoland"]
    with app.app_context():
        boss = make_user(flevoland, "de.baas", "manager", name="De Baas")
        make_user(flevoland, "teller", *roles, name="Tel Ler", manager_id=boss)
    from sqlalchemy import select

    from samenleren.core.extensions import db
    from samenleren.identity.models import Department, User

    with in_tenant(app, flevoland):  # the worst case for the home page: manager and department
        department = Department(name="Opleidingen")
        db.session.add(department)
        db.session.flush()
        db.session.scalar(
            select(User).where(User.subject == "teller")
        ).department_id = department.id
        db.session.commit()
    client = app.test_client()
    login(client, flevoland, "teller", name="Tel Ler", groups=["SL-Leercoaches"])
    home = client.get("/flevoland/").get_data(as_text=True)
    assert "Opleidingen" in home
    assert "De Baas" in home
    trainings = _grow(app, flevoland, 5, 0)
    _grow(app, tenants["gelderland"], 5, 0)
    small = _pages_queries(app, client, trainings[0])

    _grow(app, flevoland, 45, 5)  # ten times the trainings and the colleagues
    _grow(app, tenants["gelderland"], 45, 5)
    large = _pages_queries(app, client, trainings[0])

    for page, statements in large.items():
        assert len(statements) <= 8, f"{page}: {len(statements)} queries\n" + "\n".join(statements)
    small_counts = {page: len(statements) for page, statements in small.items()}
    large_counts = {page: len(statements) for page, statements in large.items()}
    assert large_counts == small_counts, "queries grow with the data"
    listing = client.get("/flevoland/trainings/").get_data(as_text=True)
    shown = re.findall(r'href="/flevoland/trainings/[0-9a-f-]{36}"', listing)
    assert len(shown) == 50  # the page really lists them all


def test_the_comparison_job_writes_aggregates_only(app, tenants):
    """The one job that works across tenants (insight.comparison) visits each tenant in its own
    context and writes nothing but each sharing tenant's comparison row and the audit event
    saying so: every other table, in every tenant, keeps its row count; the row refers to no
    person, trajectory or other tenant."""
    from sqlalchemy import text

    from samenleren.core.extensions import db
    from samenleren.core.jobs.runtime import perform
    from samenleren.identity.models import User
    from samenleren.insight.comparison import set_sharing
    from samenleren.insight.models import Comparison

    flevoland, gelderland = tenants["flevoland"], tenants["gelderland"]
    for ref in (flevoland, gelderland):
        with in_tenant(app, ref):
            world = build_world(ref)
            if ref is flevoland:  # Gelderland does not share
                set_sharing(db.session.get(User, (ref.id, world.admin)), True)
            db.session.commit()

    def counts() -> dict[tuple[str, str], int]:
        found = {}
        for ref in (flevoland, gelderland):
            with in_tenant(app, ref):
                for table in db.metadata.sorted_tables:
                    found[(ref.slug, table.name)] = db.session.execute(
                        text(f'SELECT count(*) FROM "{table.name}"')
                    ).scalar_one()
                db.session.rollback()
        return found

    before = counts()
    perform(job="samenleren.insight.jobs.compute_comparisons", tenant_id=None, kwargs={})
    after = counts()
    grown = {key: after[key] - before[key] for key in before if before[key] != after[key]}
    # Last year and this year: a row and an audit event each, in the sharing tenant only.
    assert grown == {("flevoland", "insight_comparisons"): 2, ("flevoland", "audit_events"): 2}
    references = {key.parent.name for key in Comparison.__table__.foreign_keys}
    assert references == {"tenant_id"}, "a comparison row refers to nothing but its tenant"
