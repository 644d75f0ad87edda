"""SCIM on the embedded default (SQLite, `make run`): migrations, the CLI and the SQL filters."""

from __future__ import annotations

from flask import Flask

from tests.conftest import REPO_ROOT
from tests.scim.conftest import ENTERPRISE, Scim


def test_scim_works_on_sqlite(sqlite_app: Flask) -> None:
    runner = sqlite_app.test_cli_runner()
    manifest = REPO_ROOT / "tenants" / "flevoland.toml"
    assert runner.invoke(args=["tenants", "onboard", str(manifest)]).exit_code == 0
    made = runner.invoke(args=["scim", "token", "create", "flevoland"])
    assert made.exit_code == 0, made.output
    scim = Scim(sqlite_app.test_client(), "flevoland", made.output.strip().splitlines()[-1])

    boss = scim.create_user("baas", displayName="Bea Baas")
    user = scim.create_user(
        "jan",
        displayName="Jan 100% Jansen",
        **{ENTERPRISE: {"department": "ICT", "manager": {"value": boss["id"]}}},
    )
    scim.create_group("SL-Leercoaches", user["id"])
    found = scim.get("/Users", query_string={"filter": 'displayName co "100%" and active eq true'})
    assert [r["userName"] for r in found.get_json()["Resources"]] == ["jan"]
    by_department = scim.get("/Users", query_string={"filter": f'{ENTERPRISE}:department eq "ict"'})
    assert by_department.get_json()["totalResults"] == 1
    assert (
        scim.patch(
            f"/Users/{user['id']}", {"op": "replace", "path": "active", "value": False}
        ).status_code
        == 204
    )
    assert scim.get(f"/Users/{user['id']}").get_json()["active"] is False
    assert scim.delete(f"/Users/{user['id']}").status_code == 204
    assert scim.get(f"/Users/{user['id']}").status_code == 404
    members = scim.get("/Groups").get_json()["Resources"][0].get("members")
    assert members is None
