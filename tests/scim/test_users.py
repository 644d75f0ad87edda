"""Provisioning users: attributes, managers, departments, PATCH and PUT, deprovisioning."""

from __future__ import annotations

from tests.conftest import login, make_user
from tests.factories import World, build_world, in_tenant
from tests.scim.conftest import CORE_USER, ENTERPRISE, ERROR
from tests.scim.helpers import audit_events, count_users, open_login_sessions, person


def test_a_provisioned_user_has_the_attributes_manager_and_department(app, tenants, scim):
    flevoland = tenants["flevoland"]
    boss = scim.create_user("mark.manager", displayName="Mark Manager")
    created = scim.create_user(
        "jan.jansen",
        externalId="hr-0042",
        displayName="Jan Jansen",
        name={"givenName": "Jan", "familyName": "Jansen"},
        emails=[
            {"value": "jan.prive@example.nl", "type": "home"},
            {"value": "jan.jansen@flevoland.nl", "type": "work", "primary": True},
        ],
        **{
            ENTERPRISE: {
                "employeeNumber": "12345",
                "department": "Ruimte en Mobiliteit",
                "manager": {"value": boss["id"]},
            }
        },
    )
    assert created["active"] is True
    assert created[ENTERPRISE]["manager"]["value"] == boss["id"]
    assert created["meta"]["location"].endswith(f"/scim/v2/flevoland/Users/{created['id']}")

    jan = person(app, flevoland, "jan.jansen")
    assert jan.id == __import__("uuid").UUID(created["id"])
    assert (jan.name, jan.email, jan.active) == ("Jan Jansen", "jan.jansen@flevoland.nl", True)
    assert (jan.external_id, jan.employee_number) == ("hr-0042", "12345")
    assert jan.department == "Ruimte en Mobiliteit"
    assert jan.manager_id == person(app, flevoland, "mark.manager").id
    # A provisioned employee gets the tenant's default roles, from the IdP, as at a first login.
    assert jan.roles == {("learner", "idp")}

    # The same department name is the same department.
    scim.create_user("piet", **{ENTERPRISE: {"department": "Ruimte en Mobiliteit"}})
    from sqlalchemy import func, select

    from samenleren.core.extensions import db
    from samenleren.identity.models import Department

    with in_tenant(app, flevoland):
        assert db.session.scalar(select(func.count()).select_from(Department)) == 1

    # What the IdP sent comes back as sent (both addresses, the name parts).
    read = scim.get(f"/Users/{created['id']}").get_json()
    assert read["emails"] == created["emails"]
    assert read["name"] == {"givenName": "Jan", "familyName": "Jansen"}
    assert read["externalId"] == "hr-0042"
    assert read["userName"] == "jan.jansen"

    events = audit_events(app, flevoland)
    assert ("scim.user_created", "SCIM: Entra ID", created["id"], {}) in events


def test_the_name_shown_falls_back_to_the_name_parts_then_the_user_name(app, tenants, scim):
    scim.create_user("a.b", name={"givenName": "Anne", "familyName": "de Boer"})
    scim.create_user("c.d")
    assert person(app, tenants["flevoland"], "a.b").name == "Anne de Boer"
    assert person(app, tenants["flevoland"], "c.d").name == "c.d"


def test_user_name_is_the_login_subject_so_provisioning_and_login_are_one_person(
    app, tenants, scim
):
    flevoland = tenants["flevoland"]
    created = scim.create_user("karin.k", displayName="Karin Kok")
    client = app.test_client()
    assert login(client, flevoland, "karin.k", name="Karin Kok").status_code == 302
    assert count_users(app, flevoland) == 1
    assert person(app, flevoland, "karin.k").id.hex == created["id"].replace("-", "")
    # ... and a user who logged in before SCIM was set up is found by the IdP, not created twice.
    login(app.test_client(), flevoland, "eerder.ingelogd", name="Eerder Ingelogd")
    found = scim.get("/Users", query_string={"filter": 'userName eq "eerder.ingelogd"'}).get_json()
    assert found["totalResults"] == 1
    assert found["Resources"][0]["displayName"] == "Eerder Ingelogd"
    again = scim.post("/Users", {"schemas": [CORE_USER], "userName": "eerder.ingelogd"})
    assert again.status_code == 409
    assert again.get_json()["scimType"] == "uniqueness"


def test_entra_style_patches_set_the_manager_and_deprovision(app, tenants, scim):
    """Microsoft Entra ID capitalises ops, sends booleans as strings and the manager as an id."""
    flevoland = tenants["flevoland"]
    boss = scim.create_user("boss")
    user = scim.create_user("emp")
    answer = scim.patch(
        f"/Users/{user['id']}",
        {"op": "Add", "path": f"{ENTERPRISE}:manager", "value": boss["id"]},
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "emp@flevoland.nl"},
        {
            "op": "Replace",
            "value": {"displayName": "Emma Emp", f"{ENTERPRISE}:employeeNumber": "7"},
        },
    )
    assert answer.status_code == 204, answer.get_data(as_text=True)
    emp = person(app, flevoland, "emp")
    assert emp.manager_id == person(app, flevoland, "boss").id
    assert (emp.email, emp.name, emp.employee_number) == ("emp@flevoland.nl", "Emma Emp", "7")

    answer = scim.patch(
        f"/Users/{user['id']}", {"op": "Replace", "path": "active", "value": "False"}
    )
    assert answer.status_code == 204
    assert person(app, flevoland, "emp").active is False
    assert scim.get(f"/Users/{user['id']}").get_json()["active"] is False

    changed = [e for e in audit_events(app, flevoland) if e[0] == "scim.user_updated"]
    assert changed[0][3] == {"changed": ["displayName", "emails", "employeeNumber", "manager"]}
    assert changed[1][3] == {"changed": ["active"]}
    assert audit_events(app, flevoland)[-1][:2] == ("scim.user_deactivated", "SCIM: Entra ID")


def test_a_wrong_manager_is_refused_and_changes_nothing(app, tenants, scim):
    flevoland = tenants["flevoland"]
    top = scim.create_user("top")
    middle = scim.create_user("middle", **{ENTERPRISE: {"manager": {"value": top["id"]}}})
    before = person(app, flevoland, "top")
    for manager, why in [
        ("6a1c7a3e-0000-4000-8000-000000000000", "is not a user of this organisation"),
        ("not-an-id", "is not a user of this organisation"),
        (top["id"], "their own manager"),
        (middle["id"], "loop"),
    ]:
        answer = scim.patch(
            f"/Users/{top['id']}",
            {"op": "replace", "path": f"{ENTERPRISE}:manager", "value": {"value": manager}},
            {"op": "replace", "path": "displayName", "value": "Changed"},
        )
        assert answer.status_code == 400, manager
        body = answer.get_json()
        assert body["schemas"] == [ERROR]
        assert body["scimType"] == "invalidValue"
        assert why in body["detail"]
        assert answer.headers["Content-Type"] == "application/scim+json"
    assert person(app, flevoland, "top") == before


def test_put_replaces_and_remove_clears(app, tenants, scim):
    flevoland = tenants["flevoland"]
    boss = scim.create_user("chef")
    user = scim.create_user(
        "willem",
        displayName="Willem",
        **{
            ENTERPRISE: {
                "employeeNumber": "9",
                "department": "Financiën",
                "manager": {"value": boss["id"]},
            }
        },
    )
    answer = scim.put(
        f"/Users/{user['id']}",
        {
            "schemas": [CORE_USER],
            "userName": "willem",
            "displayName": "Willem de Wit",
            "active": True,
        },
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    body = answer.get_json()
    assert ENTERPRISE not in body
    willem = person(app, flevoland, "willem")
    assert (willem.name, willem.employee_number, willem.department, willem.manager_id) == (
        "Willem de Wit",
        None,
        None,
        None,
    )

    scim.patch(
        f"/Users/{user['id']}",
        {"op": "add", "path": f"{ENTERPRISE}:manager", "value": {"value": boss["id"]}},
    )
    assert person(app, flevoland, "willem").manager_id is not None
    scim.patch(f"/Users/{user['id']}", {"op": "remove", "path": f"{ENTERPRISE}:manager"})
    assert person(app, flevoland, "willem").manager_id is None


def test_user_names_are_unique_and_external_trainer_subjects_reserved(app, tenants, scim):
    first = scim.create_user("uniek")
    second = scim.create_user("ander")
    taken = scim.post("/Users", {"schemas": [CORE_USER], "userName": "uniek"})
    assert taken.status_code == 409
    assert taken.get_json()["scimType"] == "uniqueness"
    renamed = scim.patch(
        f"/Users/{second['id']}", {"op": "replace", "path": "userName", "value": "uniek"}
    )
    assert renamed.status_code == 409
    assert person(app, tenants["flevoland"], "ander") is not None
    reserved = scim.post("/Users", {"schemas": [CORE_USER], "userName": "external:abc"})
    assert reserved.status_code == 400
    assert reserved.get_json()["scimType"] == "invalidValue"
    assert count_users(app, tenants["flevoland"]) == 2
    assert first["userName"] == "uniek"


def test_deactivation_ends_the_sessions_and_the_idp_login_is_refused(app, tenants, scim):
    flevoland = tenants["flevoland"]
    user = scim.create_user("vertrekker", displayName="Vera Vertrekker")
    # Logged in on two devices through the real identity provider.
    laptop, phone = app.test_client(), app.test_client()
    for device in (laptop, phone):
        assert login(device, flevoland, "vertrekker", name="Vera Vertrekker").status_code == 302
        assert "Vera Vertrekker" in device.get("/flevoland/").get_data(as_text=True)
    vera = person(app, flevoland, "vertrekker")
    assert open_login_sessions(app, flevoland, vera.id) == 2

    answer = scim.patch(f"/Users/{user['id']}", {"op": "replace", "path": "active", "value": False})
    assert answer.status_code == 204

    assert open_login_sessions(app, flevoland, vera.id) == 0
    for device in (laptop, phone):
        page = device.get("/flevoland/").get_data(as_text=True)
        assert "Vera Vertrekker" not in page
        assert 'href="/flevoland/auth/login"' in page
    refused = login(app.test_client(), flevoland, "vertrekker", name="Vera Vertrekker")
    assert refused.status_code == 403
    assert open_login_sessions(app, flevoland, vera.id) == 0
    deactivated = [e for e in audit_events(app, flevoland) if e[0] == "scim.user_deactivated"]
    assert deactivated == [
        ("scim.user_deactivated", "SCIM: Entra ID", user["id"], {"sessions_ended": 2})
    ]

    # The IdP may let the person back in.
    scim.patch(f"/Users/{user['id']}", {"op": "replace", "path": "active", "value": True})
    assert login(app.test_client(), flevoland, "vertrekker").status_code == 302


def test_delete_deprovisions_keeps_the_programme_data_and_a_rehire_brings_it_back(
    app, tenants, scim
):
    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        world = build_world(flevoland)
    learner = World.subjects["learner"]
    client = app.test_client()
    assert login(client, flevoland, learner).status_code == 302

    found = scim.get("/Users", query_string={"filter": f'userName eq "{learner}"'}).get_json()
    user_id = found["Resources"][0]["id"]
    assert scim.delete(f"/Users/{user_id}").status_code == 204

    # Gone for SCIM (RFC 7644 §3.6) ...
    assert scim.get(f"/Users/{user_id}").status_code == 404
    assert (
        scim.patch(
            f"/Users/{user_id}", {"op": "replace", "path": "active", "value": True}
        ).status_code
        == 404
    )
    assert scim.delete(f"/Users/{user_id}").status_code == 404
    listed = scim.get("/Users", query_string={"filter": f'userName eq "{learner}"'}).get_json()
    assert listed["totalResults"] == 0
    # ... deprovisioned (no login, no session) ...
    anna = person(app, flevoland, learner)
    assert (anna.active, anna.removed) == (False, True)
    assert open_login_sessions(app, flevoland, anna.id) == 0
    assert login(app.test_client(), flevoland, learner).status_code == 403
    # ... and the trajectory stays for the programme.
    from samenleren.trajectories.models import Trajectory
    from tests.factories import get

    with in_tenant(app, flevoland):
        assert get(Trajectory, world.trajectory).learner_id == anna.id

    # The same person comes back (same subject): the same user, history included.
    back = scim.create_user(learner, displayName="Anna terug")
    assert back["id"] == user_id
    assert back["active"] is True
    assert person(app, flevoland, learner).removed is False
    assert login(app.test_client(), flevoland, learner).status_code == 302
    with in_tenant(app, flevoland):
        assert get(Trajectory, world.trajectory).learner_id == anna.id
    removed = [e for e in audit_events(app, flevoland) if e[0] == "scim.user_deactivated"]
    assert removed[0][3] == {"sessions_ended": 1, "removed": True}


def test_external_trainers_are_not_seen_or_managed_through_scim(app, tenants, scim):
    flevoland = tenants["flevoland"]
    with app.app_context():
        trainer = make_user(flevoland, "external:7f1e", "trainer", name="Tom Extern")
    listed = scim.get("/Users").get_json()
    assert listed["totalResults"] == 0
    assert scim.get(f"/Users/{trainer}").status_code == 404
    assert scim.delete(f"/Users/{trainer}").status_code == 404
    assert person(app, flevoland, "external:7f1e").active is True


def test_control_characters_are_refused(app, tenants, scim):
    """A CR/LF in a name or an address would reach mail headers and invitations: 400."""
    for body in (
        {"displayName": "Vera\r\nBcc: eve@example.nl"},
        {"emails": [{"value": "vera@example.nl\r\nBcc: eve@example.nl", "primary": True}]},
        {"name": {"givenName": "Ve\x00ra"}},
    ):
        answer = scim.post("/Users", {"schemas": [CORE_USER], "userName": "vera", **body})
        assert answer.status_code == 400, body
        assert answer.get_json()["scimType"] == "invalidValue"
        assert "control character" in answer.get_json()["detail"]
    assert person(app, tenants["flevoland"], "vera") is None


def test_idp_claims_with_control_characters_are_normalised(app, tenants):
    flevoland = tenants["flevoland"]
    answer = login(
        app.test_client(),
        flevoland,
        "regelbreker",
        name="Rita\r\nBcc: eve@example.nl",
        email="rita@example.nl\r\n",
    )
    assert answer.status_code == 302
    rita = person(app, flevoland, "regelbreker")
    assert rita.name == "Rita Bcc: eve@example.nl"
    assert rita.email == "rita@example.nl"
