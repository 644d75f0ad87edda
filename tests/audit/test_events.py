"""What gets recorded: logins and refused logins (through the real OIDC provider), logouts, role
changes, coach assignments, and looks at recorded answers by anyone but learner and coach."""

from __future__ import annotations

import ast
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from flask import Flask

from samenleren.audit.events import AuditAction
from tests.audit.helpers import actions, events
from tests.conftest import TenantRef, csrf_token, login, make_user
from tests.factories import World, build_world, get, in_tenant
from tests.identity.test_oidc_login import authorize, path_of, start_login
from tests.trajectories.test_pages import client_for, post, step_ids


def _user_id(app: Flask, tenant: TenantRef, subject: str) -> uuid.UUID:
    from sqlalchemy import select

    from samenleren.core.extensions import db
    from samenleren.identity.models import User

    with in_tenant(app, tenant):
        return db.session.scalar(select(User.id).where(User.subject == subject))


# --- logins ---------------------------------------------------------------------------------------


def test_a_first_login_records_the_login_and_the_roles_from_the_idp(app, tenants):
    flevoland = tenants["flevoland"]
    answer = login(app.test_client(), flevoland, "jan.jansen", groups=["SL-Leercoaches"])
    assert answer.status_code == 302
    user_id = _user_id(app, flevoland, "jan.jansen")

    roles = events(app, flevoland, "role.added")
    assert sorted(e.details["role"] for e in roles) == ["coach", "learner"]
    for event in roles:
        assert event.details["source"] == "idp"
        assert (event.subject_type, event.subject_id) == ("user", str(user_id))
        assert event.actor_id is None  # the identity provider did it, not a person
    (logged_in,) = events(app, flevoland, "login.succeeded")
    assert logged_in.actor_id == user_id
    assert logged_in.actor_label == "Jan.Jansen"
    assert (logged_in.subject_type, logged_in.subject_id) == ("user", str(user_id))
    assert logged_in.ip_address == "127.0.0.1"
    assert events(app, tenants["gelderland"]) == []


def test_roles_the_idp_takes_away_are_recorded_and_unchanged_ones_are_not(app, tenants):
    flevoland = tenants["flevoland"]
    login(app.test_client(), flevoland, "k.bakker", groups=["SL-Leercoaches", "SL-Trainers"])
    login(app.test_client(), flevoland, "k.bakker", groups=["SL-Trainers"])
    login(app.test_client(), flevoland, "k.bakker", groups=["SL-Trainers"])
    assert actions(app, flevoland) == [
        "role.added",
        "role.added",
        "role.added",
        "login.succeeded",
        "role.removed",
        "login.succeeded",
        "login.succeeded",
    ]
    (removed,) = events(app, flevoland, "role.removed")
    assert removed.details == {"role": "coach", "source": "idp"}


def test_logout_is_recorded(app, tenants):
    flevoland = tenants["flevoland"]
    client = app.test_client()
    login(client, flevoland, "piet")
    token = csrf_token(client, "/flevoland/")
    assert client.post("/flevoland/auth/logout", data={"csrf_token": token}).status_code == 302
    (logout,) = events(app, flevoland, "logout")
    assert logout.actor_id == _user_id(app, flevoland, "piet")
    # An anonymous logout (e.g. a second click) records nothing.
    client.post("/flevoland/auth/logout", data={"csrf_token": token})
    assert len(events(app, flevoland, "logout")) == 1


def test_a_deactivated_users_refused_login_names_the_user(app, tenants):
    flevoland = tenants["flevoland"]
    with app.app_context():
        user_id = make_user(flevoland, "vertrokken", "coach", name="Vera Vertrokken")
    with in_tenant(app, flevoland):
        from samenleren.core.extensions import db
        from samenleren.identity.models import User

        get(User, user_id).active = False
        db.session.commit()
    answer = login(app.test_client(), flevoland, "vertrokken", groups=["SL-Trainers"])
    assert answer.status_code == 403
    assert actions(app, flevoland) == ["login.refused"]  # no role change, no login
    (refused,) = events(app, flevoland)
    assert refused.details == {"reason": "deactivated", "cause": "the account is deactivated"}
    assert (refused.actor_id, refused.actor_label) == (user_id, "Vera Vertrokken")
    assert (refused.subject_type, refused.subject_id) == ("user", str(user_id))


def test_a_refused_login_of_someone_unknown_keeps_the_subject_in_the_details(app, tenants):
    flevoland = tenants["flevoland"]
    answer = login(app.test_client(), flevoland, "external:not-a-trainer")
    assert answer.status_code == 403
    (refused,) = events(app, flevoland)
    assert refused.action == "login.refused"
    assert refused.actor_id is None
    assert refused.actor_label == ""
    assert refused.details == {
        "reason": "reserved_subject",
        "cause": "the subject is reserved for external trainers",
        "subject": "external:not-a-trainer",
    }


def _callback_query(app: Flask, client, tenant: TenantRef, sub: str) -> tuple[str, dict]:
    tenant.idp.set_user(sub, name=sub.title())
    callback = urlsplit(authorize(start_login(client, tenant), sub))
    query = {k: v[0] for k, v in parse_qs(callback.query, keep_blank_values=True).items()}
    return callback.path, query


def test_a_tampered_callback_is_recorded_with_its_reason(app, tenants):
    flevoland = tenants["flevoland"]
    client = app.test_client()
    path, query = _callback_query(app, client, flevoland, "t.mol")
    assert client.get(f"{path}?{urlencode(query | {'code': 'not-a-code'})}").status_code == 403
    (refused,) = events(app, flevoland)
    assert refused.action == "login.refused"
    assert refused.details["reason"] == "token"
    assert refused.details["cause"].startswith("OAuthError")  # the technical cause, for the console
    assert set(refused.details) == {"reason", "cause"}
    assert refused.actor_id is None


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda q: q | {"state": "forged-" + "x" * 30}, id="forged-state"),
        pytest.param(lambda q: {k: v for k, v in q.items() if k != "state"}, id="no-state"),
        pytest.param(lambda q: q | {"state": ""}, id="empty-state"),
        pytest.param(lambda q: {"error": "access_denied", "state": "forged"}, id="error-forged"),
        pytest.param(lambda q: {"error": "access_denied"}, id="error-no-state"),
        pytest.param(lambda q: {"error": "<b>x</b>\r\nForged: line"}, id="error-text"),
    ],
)
def test_a_callback_without_a_valid_state_records_nothing(app, tenants, tamper):
    """Anyone can send such a request: it is refused, but writes nothing in the audit log."""
    flevoland = tenants["flevoland"]
    client = app.test_client()
    path, query = _callback_query(app, client, flevoland, "t.mol")
    assert client.get(f"{path}?{urlencode(tamper(query))}").status_code == 403
    assert events(app, flevoland) == []
    # Without any login started, too.
    assert app.test_client().get(f"{path}?{urlencode(tamper(query))}").status_code == 403
    assert events(app, flevoland) == []


def test_an_error_from_the_idp_is_recorded_with_the_error(app, tenants):
    flevoland = tenants["flevoland"]
    client = app.test_client()
    path, query = _callback_query(app, client, flevoland, "t.mol")
    refused = client.get(f"{path}?{urlencode({'error': 'access_denied', 'state': query['state']})}")
    assert refused.status_code == 403
    (event,) = events(app, flevoland)
    assert event.details == {
        "reason": "idp_error",
        "cause": "identity provider answered access_denied",
        "error": "access_denied",
    }
    # The state is used up: the same answer again is anyone's request.
    again = client.get(f"{path}?{urlencode({'error': 'access_denied', 'state': query['state']})}")
    assert again.status_code == 403
    assert len(events(app, flevoland)) == 1


@pytest.mark.parametrize(
    "error", ["Ignore all previous instructions", "access_denied\r\nx", "ACCESS_DENIED", ""]
)
def test_an_unknown_error_from_the_idp_is_recorded_without_its_text(app, tenants, error):
    flevoland = tenants["flevoland"]
    client = app.test_client()
    path, query = _callback_query(app, client, flevoland, "t.mol")
    refused = client.get(f"{path}?{urlencode({'error': error, 'state': query['state']})}")
    assert refused.status_code == 403
    (event,) = events(app, flevoland)
    assert event.details == {
        "reason": "idp_error",
        "cause": "identity provider answered an unknown error",
    }


def test_every_standard_error_code_is_recorded():
    from samenleren.identity.oidc import AUTHORIZATION_ERRORS

    # RFC 6749, 4.1.2.1 and OpenID Connect Core 1.0, 3.1.2.6.
    assert {"access_denied", "server_error", "login_required", "consent_required"} <= (
        AUTHORIZATION_ERRORS
    )
    assert len(AUTHORIZATION_ERRORS) == 16


def test_a_replayed_callback_from_another_browser_is_refused_and_not_recorded(app, tenants):
    flevoland = tenants["flevoland"]
    flevoland.idp.set_user("r.visser", name="Rik Visser")
    client = app.test_client()
    callback = path_of(authorize(start_login(client, flevoland), "r.visser"))
    assert client.get(callback).status_code == 302
    assert app.test_client().get(callback).status_code == 403
    assert actions(app, flevoland)[-1:] == ["login.succeeded"]
    assert events(app, flevoland, "login.refused") == []


def test_a_code_from_another_tenants_idp_is_recorded_at_the_tenant_it_was_tried_at(app, tenants):
    flevoland, gelderland = tenants["flevoland"], tenants["gelderland"]
    gelderland.idp.set_user("indringer", name="Indringer")
    client = app.test_client()
    authorize_url = urlsplit(start_login(client, flevoland))
    wrong = authorize_url._replace(netloc=urlsplit(gelderland.idp.issuer).netloc).geturl()
    assert client.get(path_of(authorize(wrong, "indringer"))).status_code == 403
    assert [e.details["reason"] for e in events(app, flevoland)] == ["token"]
    assert events(app, gelderland) == []


def test_an_unusable_identity_provider_at_the_callback_is_recorded(app, tenants):
    from tests.conftest import repoint

    flevoland = tenants["flevoland"]
    with app.app_context():
        repoint("flevoland", flevoland.idp.issuer + "/")  # the discovery document disagrees
    answer = app.test_client().get("/flevoland/auth/callback?code=abc&state=def")
    assert answer.status_code == 503
    (event,) = events(app, flevoland, "login.refused")
    assert event.details["reason"] == "sso_unavailable"
    assert "issuer in the discovery document" in event.details["cause"]


def _refused_from(cause: Exception | None) -> Exception:
    from samenleren.identity.oidc import CallbackRefused

    try:
        try:
            if cause is not None:
                raise cause
            raise CallbackRefused("no ID token in the token response")
        except CallbackRefused:
            raise
        except Exception as exc:
            raise CallbackRefused(str(exc)) from exc
    except CallbackRefused as refused:
        return refused


def test_each_kind_of_refused_callback_gets_its_reason():
    """The reasons the mock IdP cannot produce on request (a token naming another issuer)."""
    from authlib.integrations.base_client.errors import MismatchingStateError, OAuthError
    from joserfc.errors import BadSignatureError, InvalidClaimError

    from samenleren.identity.views import _callback_refusal_code

    assert _callback_refusal_code(_refused_from(InvalidClaimError("iss"))) == "wrong_issuer"
    assert _callback_refusal_code(_refused_from(InvalidClaimError("aud"))) == "token"
    assert _callback_refusal_code(_refused_from(BadSignatureError())) == "token"
    assert _callback_refusal_code(_refused_from(OAuthError("invalid_grant"))) == "token"
    assert _callback_refusal_code(_refused_from(MismatchingStateError())) == "state"
    assert _callback_refusal_code(_refused_from(None)) == "no_id_token"


# --- the programme: roles given in the app, coaches, recorded answers ---------------------------


@pytest.fixture
def world(app, tenants) -> World:
    with in_tenant(app, tenants["flevoland"]):
        return build_world(tenants["flevoland"], coached=False)


def test_making_someone_a_coach_records_the_app_role(app, world):
    from datetime import date

    from samenleren.coaching.services import add_coach
    from samenleren.core.extensions import db
    from samenleren.identity.models import User

    with in_tenant(app, world.tenant):
        admin = get(User, world.admin)
        add_coach(get(User, world.colleague), 2, date(2025, 1, 1), "", admin)
        db.session.commit()
    (added,) = events(app, world.tenant, "role.added")
    assert added.details == {"role": "coach", "source": "app"}
    assert (added.actor_id, added.subject_id) == (world.admin, str(world.colleague))


def test_a_refused_coach_profile_records_nothing(app, world):
    from samenleren.coaching.services import add_coach
    from samenleren.core.errors_input import InvalidInput
    from samenleren.core.extensions import db
    from samenleren.identity.models import User

    with in_tenant(app, world.tenant):
        with pytest.raises(InvalidInput):
            add_coach(get(User, world.colleague), 99, None, "", get(User, world.admin))
        db.session.rollback()
    assert events(app, world.tenant, "role.added") == []


def test_assigning_and_replacing_a_coach_is_recorded(app, world):
    base = f"/flevoland/trajectories/{world.trajectory}"
    admin = client_for(app, world, "admin")
    assert post(app, admin, f"{base}/coach", {"coach": str(world.coach)}).status_code == 303
    replaced = post(
        app, admin, f"{base}/coach", {"coach": str(world.other_coach), "reason": "Ziek"}
    )
    assert replaced.status_code == 303
    # A refused change (no reason given for a replacement) records nothing.
    assert post(app, admin, f"{base}/coach", {"coach": str(world.coach)}).status_code == 422

    first, second = events(app, world.tenant, "coach.assigned")
    for event in (first, second):
        assert (event.subject_type, event.subject_id) == ("trajectory", str(world.trajectory))
        assert event.actor_id == world.admin
    assert first.details == {"coach": str(world.coach), "coach_name": "Carla Coach flevoland"}
    assert second.details == {
        "coach": str(world.other_coach),
        "coach_name": "Otto Coach flevoland",
        "previous_coach": str(world.coach),
        "previous_coach_name": "Carla Coach flevoland",
    }


SECRET = "Zeer vertrouwelijk: wil eigenlijk weg bij de afdeling"


def _give_answers(app: Flask, world: World) -> dict[str, uuid.UUID]:
    """Answers in the intake (manager may read), evaluation (admin too) and a progress
    conversation (learner and coach only)."""
    from samenleren.core.extensions import db
    from samenleren.trajectories.models import FieldValue

    steps = step_ids(app, world)
    with in_tenant(app, world.tenant):
        db.session.add_all(
            [
                FieldValue(
                    step_instance_id=steps["intake"],
                    field_key="manager_expectations",
                    value=SECRET,
                ),
                FieldValue(
                    step_instance_id=steps["evaluation"], field_key="expectations_met", value=True
                ),
                FieldValue(step_instance_id=steps["progress"], field_key="notes", value=SECRET),
            ]
        )
        db.session.commit()
    return steps


def test_recorded_answers_seen_by_manager_or_admin_are_recorded_without_the_answers(app, world):
    steps = _give_answers(app, world)
    base = f"/flevoland/trajectories/{world.trajectory}/steps"
    manager = client_for(app, world, "manager")
    page = manager.get(f"{base}/{steps['intake']}")
    assert page.status_code == 200
    assert SECRET in page.get_data(as_text=True)  # the manager may read it ...
    admin = client_for(app, world, "admin")
    assert admin.get(f"{base}/{steps['evaluation']}").status_code == 200

    viewed = events(app, world.tenant, "trajectory.values_viewed")
    assert [(e.actor_id, e.details) for e in viewed] == [
        (world.manager, {"step": "intake", "occurrence": 1}),
        (world.admin, {"step": "evaluation", "occurrence": 1}),
    ]
    for event in viewed:
        assert (event.subject_type, event.subject_id) == ("trajectory", str(world.trajectory))
        assert SECRET not in repr(event)  # ... the log never holds it


def test_no_record_when_nothing_recorded_is_shown_or_the_learner_reads_no_confidential_step(
    app, world
):
    steps = _give_answers(app, world)
    base = f"/flevoland/trajectories/{world.trajectory}/steps"
    admin = client_for(app, world, "admin")
    # The admin may not read the intake's or the progress conversation's answers: nothing shown.
    for key in ("intake", "progress", "training"):
        assert admin.get(f"{base}/{steps[key]}").status_code == 200
    manager = client_for(app, world, "manager")
    progress = manager.get(f"{base}/{steps['progress']}")
    assert progress.status_code == 200
    assert SECRET not in progress.get_data(as_text=True)
    learner = client_for(app, world, "learner")
    for key in ("intake", "evaluation"):
        assert learner.get(f"{base}/{steps[key]}").status_code == 200
    assert events(app, world.tenant, "trajectory.values_viewed") == []


def test_the_learner_and_coach_reading_a_confidential_step_are_recorded(app, tenants):
    """Every read of a confidential conversation is in the log, the learner's and the coach's
    too (without what it says)."""
    with in_tenant(app, tenants["flevoland"]):
        world = build_world(tenants["flevoland"])  # coached
    steps = _give_answers(app, world)
    path = f"/flevoland/trajectories/{world.trajectory}/steps/{steps['progress']}"
    coach = client_for(app, world, "coach")
    assert SECRET in coach.get(path).get_data(as_text=True)
    assert client_for(app, world, "learner").get(path).status_code == 200
    viewed = events(app, world.tenant, "trajectory.values_viewed")
    assert [(e.actor_id, e.details) for e in viewed] == [
        (world.coach, {"step": "progress", "occurrence": 1}),
        (world.learner, {"step": "progress", "occurrence": 1}),
    ]
    assert all(SECRET not in repr(event) for event in viewed)


# --- one list of actions ------------------------------------------------------------------------


PACKAGE = Path(__file__).resolve().parents[2] / "platform" / "samenleren"


def _recorded_actions() -> list[tuple[str, str]]:
    """(file, action) for every `record(...)` call in the package whose action is a literal or
    a module-level constant (`AuditAction.X` members are listed by definition)."""
    found = []
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text())
        constants = {
            target.id: node.value.value
            for node in tree.body
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
            for target in node.targets
            if isinstance(target, ast.Name) and isinstance(node.value.value, str)
        }
        for node in ast.walk(tree):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "record"
                and node.args
            ):
                continue
            pending = [node.args[0]]
            while pending:
                arg = pending.pop()
                if isinstance(arg, ast.IfExp):
                    pending += [arg.body, arg.orelse]
                elif isinstance(arg, ast.Constant):
                    found.append((path.name, arg.value))
                elif isinstance(arg, ast.Name) and arg.id in constants:
                    found.append((path.name, constants[arg.id]))
    return found


def test_every_recorded_action_is_listed_with_a_label():
    from samenleren.audit.events import ACTION_LABELS

    found = _recorded_actions()
    assert found, "the scan found no record() calls"
    listed = {action.value for action in AuditAction}
    unlisted = [(file, action) for file, action in found if action not in listed]
    assert not unlisted, f"add these to samenleren.audit.events.AuditAction: {unlisted}"
    assert set(ACTION_LABELS) == set(AuditAction)
