"""Provisioned groups give roles exactly as the `groups` claim does; app-given roles stay."""

from __future__ import annotations

from tests.conftest import login, make_user
from tests.scim.conftest import CORE_GROUP
from tests.scim.helpers import audit_events, person


def roles(app, tenant, subject: str) -> set[tuple[str, str]]:
    return set(person(app, tenant, subject).roles)


def test_membership_changes_bring_the_roles_in_line_and_keep_app_roles(app, tenants, scim):
    flevoland = tenants["flevoland"]
    with app.app_context():
        make_user(flevoland, "ria", "trainer", name="Ria")  # an app-given role
    ria = scim.get("/Users", query_string={"filter": 'userName eq "ria"'}).get_json()
    ria_id = ria["Resources"][0]["id"]
    other = scim.create_user("olaf")

    # "SL-Leercoaches" gives the coach role (tenants/flevoland.toml).
    group = scim.create_group("SL-Leercoaches", ria_id, externalId="7d3c-entra-object-id")
    assert roles(app, flevoland, "ria") == {
        ("trainer", "app"),
        ("coach", "idp"),
        ("learner", "idp"),
    }

    # Entra ID: members added and removed by PATCH (a remove with a value names the member).
    answer = scim.patch(
        f"/Groups/{group['id']}",
        {"op": "Add", "path": "members", "value": [{"value": other["id"]}]},
        {"op": "Remove", "path": "members", "value": [{"value": ria_id}]},
    )
    assert answer.status_code == 204, answer.get_data(as_text=True)
    assert roles(app, flevoland, "ria") == {("trainer", "app"), ("learner", "idp")}
    assert ("coach", "idp") in roles(app, flevoland, "olaf")
    read = scim.get(f"/Groups/{group['id']}").get_json()
    assert [member["value"] for member in read["members"]] == [other["id"]]

    # Renamed to a name without roles: the members lose the role.
    scim.patch(
        f"/Groups/{group['id']}", {"op": "replace", "path": "displayName", "value": "Iets anders"}
    )
    assert roles(app, flevoland, "olaf") == {("learner", "idp")}
    # Renamed back, then deleted.
    scim.patch(
        f"/Groups/{group['id']}",
        {"op": "replace", "path": "displayName", "value": "SL-Leercoaches"},
    )
    assert ("coach", "idp") in roles(app, flevoland, "olaf")
    assert scim.delete(f"/Groups/{group['id']}").status_code == 204
    assert scim.get(f"/Groups/{group['id']}").status_code == 404
    assert roles(app, flevoland, "olaf") == {("learner", "idp")}

    changes = [e for e in audit_events(app, flevoland) if e[0] == "scim.group_changed"]
    assert [e[1] for e in changes] == ["SCIM: Entra ID"] * 5
    assert changes[0][3]["members_added"] == 1
    assert (changes[1][3]["members_added"], changes[1][3]["members_removed"]) == (1, 1)
    assert changes[-1][3]["deleted"] is True


def test_a_group_may_be_mapped_by_its_external_id(app, tenants, scim):
    """Entra ID names groups by object id in tokens: the mapping may use the external id."""
    flevoland = tenants["flevoland"]
    from samenleren.core.extensions import db
    from samenleren.core.tenant import Tenant

    with app.app_context():
        tenant = db.session.get(Tenant, flevoland.id)
        tenant.group_roles = {**tenant.group_roles, "0b9e-object-id": ["manager"]}
        db.session.commit()
    user = scim.create_user("lisa")
    scim.create_group("Leidinggevenden Flevoland", user["id"], externalId="0b9e-object-id")
    assert ("manager", "idp") in roles(app, flevoland, "lisa")


def test_a_login_without_groups_claim_keeps_the_roles_of_provisioned_groups(app, tenants, scim):
    flevoland = tenants["flevoland"]
    user = scim.create_user("coach.carla", displayName="Carla")
    scim.create_group("SL-Leercoaches", user["id"])
    assert login(app.test_client(), flevoland, "coach.carla", name="Carla").status_code == 302
    assert ("coach", "idp") in roles(app, flevoland, "coach.carla")
    # The token's groups still count as well.
    login(app.test_client(), flevoland, "coach.carla", groups=["SL-Trainers"])
    assert {("coach", "idp"), ("trainer", "idp")} <= roles(app, flevoland, "coach.carla")


def test_members_must_be_users_of_this_tenant(app, tenants, scim, tokens):
    from tests.scim.conftest import Scim

    gelderland = Scim(app.test_client(), "gelderland", tokens["gelderland"])
    stranger = gelderland.create_user("gelders")
    mine = scim.create_user("flevo")
    for members in (
        [{"value": stranger["id"]}],
        [{"value": "niet-een-id"}],
        [{"value": mine["id"]}, {"value": stranger["id"]}],
    ):
        answer = scim.post(
            "/Groups",
            {"schemas": [CORE_GROUP], "displayName": "SL-Leercoaches", "members": members},
        )
        assert answer.status_code == 400, members
        assert answer.get_json()["scimType"] == "invalidValue"
    nested = scim.create_group("Ouder")
    answer = scim.post(
        "/Groups",
        {
            "schemas": [CORE_GROUP],
            "displayName": "Kind",
            "members": [{"value": nested["id"], "type": "Group"}],
        },
    )
    assert answer.status_code == 400
    assert scim.get("/Groups").get_json()["totalResults"] == 1
    assert roles(app, tenants["flevoland"], "flevo") == {("learner", "idp")}


def test_deleting_a_user_takes_them_out_of_their_groups(app, tenants, scim):
    user = scim.create_user("weg")
    stays = scim.create_user("blijft")
    group = scim.create_group("SL-Leercoaches", user["id"], stays["id"])
    assert scim.delete(f"/Users/{user['id']}").status_code == 204
    members = scim.get(f"/Groups/{group['id']}").get_json()["members"]
    assert [member["value"] for member in members] == [stays["id"]]
    assert ("coach", "idp") not in roles(app, tenants["flevoland"], "weg")
