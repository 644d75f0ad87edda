"""The SCIM protocol itself: filters, pagination, errors, discovery, headers."""

from __future__ import annotations

import pytest

from tests.scim.conftest import CORE_GROUP, CORE_USER, ENTERPRISE, ERROR


def names(answer) -> list[str]:
    body = answer.get_json()
    assert answer.status_code == 200, body
    return [
        resource.get("userName") or resource.get("displayName") for resource in body["Resources"]
    ]


@pytest.fixture
def people(scim):
    boss = scim.create_user("boss", displayName="Bea Baas", externalId="hr-1")
    scim.create_user(
        "jan",
        displayName="Jan Jansen",
        externalId="hr-2",
        emails=[{"value": "Jan@Flevoland.nl", "primary": True}],
        **{
            ENTERPRISE: {
                "employeeNumber": "E-2",
                "department": "ICT",
                "manager": {"value": boss["id"]},
            }
        },
    )
    scim.create_user("janneke", displayName="Janneke Jansen", active=False)
    scim.create_user("piet", displayName="Piet Pieters", **{ENTERPRISE: {"department": "HR"}})
    return boss


def test_user_filters(scim, people):
    def users(expression: str) -> list[str]:
        return names(scim.get("/Users", query_string={"filter": expression}))

    assert users('userName eq "jan"') == ["jan"]
    assert users('userName eq "JAN"') == []  # userName is the IdP subject: case-exact
    assert users('externalId eq "hr-2"') == ["jan"]
    assert users('displayName eq "jan jansen"') == ["jan"]  # displayName: case-insensitive
    assert users('displayName sw "Jan"') == ["jan", "janneke"]
    assert users('displayName co "pieter"') == ["piet"]
    assert users('displayName ew "Jansen" and active eq true') == ["jan"]
    assert users("active eq false") == ["janneke"]
    assert users('userName eq "boss" or userName eq "piet"') == ["boss", "piet"]
    assert users('not (displayName co "jan")') == ["boss", "piet"]
    assert users('emails eq "jan@flevoland.nl"') == ["jan"]
    assert users('emails.value co "@flevoland"') == ["jan"]
    assert users("externalId pr") == ["boss", "jan"]
    assert users(f'{ENTERPRISE}:employeeNumber eq "E-2"') == ["jan"]
    assert users(f'{ENTERPRISE}:department eq "ict"') == ["jan"]
    assert users(f'{ENTERPRISE}:manager.value eq "{people["id"]}"') == ["jan"]
    assert users(f'{ENTERPRISE}:manager eq "{people["id"]}"') == ["jan"]
    assert users(f'id eq "{people["id"]}"') == ["boss"]
    assert users('id eq "not-a-uuid"') == []
    assert users('meta.created gt "2000-01-01T00:00:00Z"') == ["boss", "jan", "janneke", "piet"]
    assert users('userName eq "100%_"') == []  # LIKE wildcards are escaped, not interpreted


def test_group_filters(scim, people):
    member = scim.get("/Users", query_string={"filter": 'userName eq "jan"'}).get_json()
    jan = member["Resources"][0]["id"]
    scim.create_group("SL-Leercoaches", jan, externalId="g-1")
    scim.create_group("SL-Trainers")

    def groups(expression: str) -> list[str]:
        return names(scim.get("/Groups", query_string={"filter": expression}))

    assert groups('displayName eq "sl-leercoaches"') == ["SL-Leercoaches"]
    assert groups('externalId eq "g-1"') == ["SL-Leercoaches"]
    assert groups(f'members eq "{jan}"') == ["SL-Leercoaches"]
    assert groups(f'members.value eq "{jan}"') == ["SL-Leercoaches"]
    assert groups("members pr") == ["SL-Leercoaches"]
    assert groups('displayName sw "SL-"') == ["SL-Leercoaches", "SL-Trainers"]
    # Entra ID reads groups without their members.
    light = scim.get(
        "/Groups",
        query_string={"filter": 'displayName eq "SL-Leercoaches"', "excludedAttributes": "members"},
    ).get_json()
    assert "members" not in light["Resources"][0]


@pytest.mark.parametrize(
    ("expression", "detail"),
    [
        ('name.givenName eq "Jan"', "Filtering on name.givenName is not supported. Supported:"),
        ('displayName gt "a"', "The operator gt is not supported on displayName"),
        ('emails[type eq "work"]', "Value filters such as"),
        ('title eq "x"', "title"),
        ("userName eq", ""),
    ],
)
def test_unsupported_filters_get_a_clear_scim_error(scim, people, expression, detail):
    answer = scim.get("/Users", query_string={"filter": expression})
    assert answer.status_code == 400
    body = answer.get_json()
    assert body["schemas"] == [ERROR]
    assert body["scimType"] == "invalidFilter"
    assert detail in body["detail"]


def test_pagination(scim):
    for number in range(7):
        scim.create_user(f"user{number}")
    page = scim.get("/Users", query_string={"startIndex": 3, "count": 2}).get_json()
    assert (page["totalResults"], page["startIndex"], page["itemsPerPage"]) == (7, 3, 2)
    assert [r["userName"] for r in page["Resources"]] == ["user2", "user3"]
    last = scim.get("/Users", query_string={"startIndex": 7, "count": 5}).get_json()
    assert [r["userName"] for r in last["Resources"]] == ["user6"]
    beyond = scim.get("/Users", query_string={"startIndex": 20}).get_json()
    assert (beyond["totalResults"], beyond["Resources"] if "Resources" in beyond else []) == (7, [])
    counted = scim.get("/Users", query_string={"count": 0}).get_json()
    assert (counted["totalResults"], counted.get("Resources", [])) == (7, [])
    # A search with a body pages the same way, and a count above the maximum is capped.
    searched = scim.post(
        "/Users/.search",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": 'userName sw "user"',
            "startIndex": 6,
            "count": 5000,
        },
    ).get_json()
    assert [r["userName"] for r in searched["Resources"]] == ["user5", "user6"]
    # At the root, users and groups are one list (users first).
    scim.create_group("Groep")
    root = scim.post(
        "/.search",
        {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "startIndex": 7},
    ).get_json()
    assert root["totalResults"] == 8
    assert [r.get("userName") or r.get("displayName") for r in root["Resources"]] == [
        "user6",
        "Groep",
    ]
    only_groups = scim.post(
        "/.search",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": 'displayName eq "Groep"',
        },
    ).get_json()
    assert only_groups["totalResults"] == 1


def test_errors_are_scim_errors(scim):
    user = scim.create_user("x")
    missing = scim.get("/Users/5b0d0c58-8f6a-4c57-9d6e-0d4d0a0d0a0d")
    assert missing.status_code == 404
    assert missing.get_json()["schemas"] == [ERROR]
    assert scim.get("/Users/not-an-id").status_code == 404
    assert scim.get("/Groups/not-an-id").status_code == 404
    assert scim.get("/Nothing").status_code == 404
    broken = scim.request(
        "POST", "/Users", data="{not json", headers={"Content-Type": "application/scim+json"}
    )
    assert broken.status_code == 400
    assert broken.get_json()["scimType"] == "invalidSyntax"
    no_name = scim.post("/Users", {"schemas": [CORE_USER], "displayName": "No user name"})
    assert no_name.status_code == 400
    assert no_name.get_json()["schemas"] == [ERROR]
    bad_op = scim.patch(f"/Users/{user['id']}", {"op": "explode", "path": "active"})
    assert bad_op.status_code == 400
    assert scim.request("PUT", "/ServiceProviderConfig", {}).status_code == 405
    too_long = scim.post("/Users", {"schemas": [CORE_USER], "userName": "x" * 300})
    assert too_long.status_code == 400
    assert too_long.get_json()["scimType"] == "invalidValue"
    assert scim.post("/Groups", {"schemas": [CORE_GROUP]}).status_code == 400


def test_discovery_publishes_only_what_we_keep(scim):
    config = scim.get("/ServiceProviderConfig")
    assert config.status_code == 200
    assert config.headers["Content-Type"] == "application/scim+json"
    body = config.get_json()
    assert body["patch"]["supported"] is True
    assert body["filter"] == {"supported": True, "maxResults": 200}
    assert body["bulk"]["supported"] is False
    assert body["authenticationSchemes"][0]["type"] == "oauthbearertoken"

    types = scim.get("/ResourceTypes").get_json()
    assert {(r["name"], r["endpoint"]) for r in types["Resources"]} == {
        ("User", "/Users"),
        ("Group", "/Groups"),
    }
    user_type = scim.get("/ResourceTypes/User").get_json()
    assert user_type["schemaExtensions"] == [{"schema": ENTERPRISE, "required": False}]

    schemas = {s["id"]: s for s in scim.get("/Schemas").get_json()["Resources"]}
    assert set(schemas) == {CORE_USER, ENTERPRISE, CORE_GROUP}
    user_attributes = {a["name"] for a in schemas[CORE_USER]["attributes"]}
    assert user_attributes == {"userName", "name", "displayName", "active", "emails"}
    user_name = next(a for a in schemas[CORE_USER]["attributes"] if a["name"] == "userName")
    assert (user_name["caseExact"], user_name["uniqueness"]) == (True, "server")
    enterprise = {a["name"] for a in schemas[ENTERPRISE]["attributes"]}
    assert enterprise == {"employeeNumber", "department", "manager"}
    assert scim.get(f"/Schemas/{CORE_GROUP}").get_json()["id"] == CORE_GROUP


def test_unknown_attributes_are_dropped_not_stored(app, tenants, scim):
    created = scim.create_user(
        "dropper",
        phoneNumbers=[{"value": "+31 6 12345678", "type": "mobile"}],
        title="Beleidsmedewerker",
        **{ENTERPRISE: {"costCenter": "4711"}},
    )
    assert "phoneNumbers" not in created
    assert "title" not in created
    from sqlalchemy import select

    from samenleren.core.extensions import db
    from samenleren.identity.models import User
    from tests.factories import in_tenant

    with in_tenant(app, tenants["flevoland"]):
        user = db.session.scalar(select(User).where(User.subject == "dropper"))
        assert "12345678" not in str(user.scim_attributes)
        assert "4711" not in str(user.scim_attributes)


def test_no_cookie_no_csrf_no_cache(scim):
    answer = scim.post(
        "/Users?lang=en", {"schemas": [CORE_USER], "userName": "koekje"}
    )  # a POST without any CSRF token: SCIM is exempt
    assert answer.status_code == 201
    assert "Set-Cookie" not in answer.headers
    assert answer.headers["Cache-Control"] == "no-store"
    listed = scim.get("/Users?lang=en")
    assert "Set-Cookie" not in listed.headers
    assert scim.client.get_cookie("samenleren") is None
    head = scim.request("HEAD", "/Users")
    assert head.status_code == 200
