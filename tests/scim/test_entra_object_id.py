"""Entra ID provisions people with their object id (`oid`) as `externalId`: SCIM and the login
name the same person whichever comes first. (A login after SCIM: tests/identity/
test_nlgov_login.py.)"""

from __future__ import annotations

from tests.conftest import login
from tests.factories import in_tenant

TID, OID = "9b2a3c4d-0000-4000-8000-000000000001", "5e6f7a8b-0000-4000-8000-000000000002"


def people(app, tenant) -> dict[str, tuple]:
    from sqlalchemy import select

    from samenleren.core.extensions import db
    from samenleren.identity.models import User

    with in_tenant(app, tenant):
        return {
            user.subject: (user.id, user.external_id, user.idp_object_id)
            for user in db.session.scalars(select(User))
        }


def test_scim_after_a_login_takes_over_the_logged_in_user(app, tenants, scim):
    flevoland = tenants["flevoland"]
    assert login(app.test_client(), flevoland, "pairwise-sub", tid=TID, oid=OID).status_code == 302
    (user_id, _, _) = people(app, flevoland)["pairwise-sub"]
    before = len(people(app, flevoland))

    created = scim.create_user("piet@flevoland.nl", externalId=OID, displayName="Piet P")
    assert created["id"] == str(user_id)
    known = people(app, flevoland)
    assert len(known) == before
    assert known["piet@flevoland.nl"] == (user_id, OID, OID)

    # The next login (the same pairwise sub) finds the same person by the object id.
    assert login(app.test_client(), flevoland, "pairwise-sub", tid=TID, oid=OID).status_code == 302
    assert len(people(app, flevoland)) == before


def test_another_object_id_makes_a_new_user(app, tenants, scim):
    flevoland = tenants["flevoland"]
    assert login(app.test_client(), flevoland, "iemand", tid=TID, oid=OID).status_code == 302
    created = scim.create_user("ander@flevoland.nl", externalId="ffffffff-0000-4000-8000-0")
    assert created["id"] != str(people(app, flevoland)["iemand"][0])
