"""Logging in as a person of `build_world` and posting forms with a valid CSRF token."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import TenantRef, csrf_token, login
from tests.factories import World


def client_as(app: Flask, tenant: TenantRef, person: str) -> FlaskClient:
    """A client logged in at `tenant` as the world's `person` ("admin", "coach", ...)."""
    client = app.test_client()
    subject = World.subjects[person]
    name = subject.replace(".", " ").title()
    assert login(client, tenant, subject, name=name).status_code == 302
    return client


def post(client: FlaskClient, tenant: TenantRef, path: str, data: dict | None = None):
    """POST `data` to `path` with the CSRF token of the client's session."""
    token = csrf_token(client, f"/{tenant.slug}/")  # the logout form on every page carries one
    return client.post(path, data={"csrf_token": token, **(data or {})})
