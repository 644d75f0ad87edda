"""SCIM test helpers: a token per tenant and a client that speaks SCIM to the real app."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import TenantRef

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def make_token(app: Flask, tenant: TenantRef, name: str = "Entra ID") -> str:
    """A new SCIM token of `tenant`, made through the service (as the CLI does)."""
    from samenleren.core.extensions import db
    from samenleren.scim.tokens import create_token
    from tests.factories import in_tenant

    with in_tenant(app, tenant):
        _, token = create_token(name, actor_label="test")
        db.session.commit()
    return token


@dataclass
class Scim:
    """SCIM requests to one tenant's endpoint with one bearer token (or none)."""

    client: FlaskClient
    slug: str
    token: str | None

    def request(self, method: str, path: str, body: Any = None, **kwargs: Any):
        headers = dict(kwargs.pop("headers", {}))
        if self.token is not None:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        if body is not None:
            headers.setdefault("Content-Type", "application/scim+json")
            kwargs["data"] = json.dumps(body)
        return self.client.open(
            f"/scim/v2/{self.slug}{path}", method=method, headers=headers, **kwargs
        )

    def get(self, path: str, **kwargs: Any):
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any, **kwargs: Any):
        return self.request("POST", path, body, **kwargs)

    def put(self, path: str, body: Any, **kwargs: Any):
        return self.request("PUT", path, body, **kwargs)

    def patch(self, path: str, *operations: dict, **kwargs: Any):
        return self.request(
            "PATCH", path, {"schemas": [PATCH_OP], "Operations": list(operations)}, **kwargs
        )

    def delete(self, path: str, **kwargs: Any):
        return self.request("DELETE", path, **kwargs)

    # --- shortcuts ---------------------------------------------------------------------------

    def create_user(self, user_name: str, **attributes: Any) -> dict:
        body = {"schemas": [CORE_USER, ENTERPRISE], "userName": user_name, **attributes}
        answer = self.post("/Users", body)
        assert answer.status_code == 201, answer.get_data(as_text=True)
        return answer.get_json()

    def create_group(self, display_name: str, *member_ids: str, **attributes: Any) -> dict:
        body = {
            "schemas": [CORE_GROUP],
            "displayName": display_name,
            "members": [{"value": member_id} for member_id in member_ids],
            **attributes,
        }
        answer = self.post("/Groups", body)
        assert answer.status_code == 201, answer.get_data(as_text=True)
        return answer.get_json()


@pytest.fixture
def tokens(app: Flask, tenants: dict[str, TenantRef]) -> dict[str, str]:
    return {slug: make_token(app, ref) for slug, ref in tenants.items()}


@pytest.fixture
def scim(app: Flask, tenants: dict[str, TenantRef], tokens: dict[str, str]) -> Scim:
    """Flevoland's SCIM endpoint with a valid Flevoland token."""
    return Scim(app.test_client(), "flevoland", tokens["flevoland"])
