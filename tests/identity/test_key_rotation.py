"""Key rotation at the identity provider works without a restart.

`oidc-provider-mock` keeps its signing key in its storage and publishes exactly that key at
`/jwks`; replacing the key object is a real rotation: new ID tokens are signed with the new key
and the old one is no longer published. Its ID tokens carry no `kid`, so Authlib's own refetch
(on an unknown `kid`) does not see the rotation; `identity.oidc.TenantOAuth2App` does. A
middleware in front of the mock counts the JWKS requests (and can serve a decoy set).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import flask
import pytest
from flask import Flask
from joserfc.jwk import RSAKey
from oidc_provider_mock import run_server_in_thread

from tests.conftest import IdP, TenantRef, login, repoint


class JwksCounter:
    """WSGI middleware in front of the mock: counts GET /jwks; may answer with a decoy set."""

    def __init__(self, app) -> None:
        self.app = app
        self.requests = 0
        self.decoy: dict | None = None

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") == "/jwks":
            self.requests += 1
            if self.decoy is not None:
                body = json.dumps(self.decoy).encode()
                start_response(
                    "200 OK",
                    [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
                )
                return [body]
        return self.app(environ, start_response)


@dataclass
class RotatingIdP:
    idp: IdP
    storage: object
    jwks: JwksCounter

    def rotate(self) -> None:
        """A new signing key: used for every new ID token, the only one at /jwks."""
        self.storage.jwk = type(self.storage.jwk).generate_key(is_private=True)


@pytest.fixture
def rotating(app: Flask, tenants) -> Iterator[tuple[RotatingIdP, TenantRef]]:
    with run_server_in_thread(port=0) as server:
        mock_app = server.app
        with mock_app.test_request_context():
            mock_app.preprocess_request()  # the mock puts its storage on `g` before requests
            storage = flask.g.oidc_provider_mock_storage
        counter = JwksCounter(mock_app)
        server.app = counter  # the request handler reads `server.app` on every request
        idp = IdP(f"http://localhost:{server.server_port}")
        with app.app_context():
            repoint("flevoland", idp.issuer)
        yield (
            RotatingIdP(idp, storage, counter),
            TenantRef(tenants["flevoland"].id, "flevoland", idp),
        )


def decoy_keys(count: int) -> dict:
    return {"keys": [RSAKey.generate_key(2048).as_dict(private=False) for _ in range(count)]}


def cached_client(tenant: TenantRef):
    from samenleren.identity import oidc

    return oidc._clients[tenant.id].client


def subjects(app: Flask, tenant: TenantRef) -> set[str]:
    from sqlalchemy import select

    from samenleren.core.extensions import db
    from samenleren.identity.models import User
    from tests.factories import in_tenant

    with in_tenant(app, tenant):
        return set(db.session.scalars(select(User.subject)))


def test_keys_rotated_at_the_idp_are_fetched_again_without_a_restart(app, rotating):
    provider, flevoland = rotating
    assert login(app.test_client(), flevoland, "voor.rotatie").status_code == 302
    assert login(app.test_client(), flevoland, "nog.voor").status_code == 302
    assert provider.jwks.requests == 1  # fetched once, then cached
    client = cached_client(flevoland)

    provider.rotate()
    assert login(app.test_client(), flevoland, "na.rotatie").status_code == 302
    assert provider.jwks.requests == 2  # exactly one fetch more
    assert cached_client(flevoland) is client  # the same client: no restart, no rebuild
    assert login(app.test_client(), flevoland, "daarna").status_code == 302
    assert provider.jwks.requests == 2
    assert {"voor.rotatie", "nog.voor", "na.rotatie", "daarna"} <= subjects(app, flevoland)


def test_without_our_refetch_authlib_alone_would_refuse_after_the_rotation(
    app, rotating, monkeypatch
):
    """The control for the test above: the mock's tokens have no `kid`, so Authlib 1.9 checks
    them against the cached key and fails; that is the gap `TenantOAuth2App` closes."""
    from authlib.integrations.flask_client import FlaskOAuth2App

    from samenleren.identity.oidc import TenantOAuth2App

    provider, flevoland = rotating
    monkeypatch.setattr(TenantOAuth2App, "parse_id_token", FlaskOAuth2App.parse_id_token)
    assert login(app.test_client(), flevoland, "voor").status_code == 302
    provider.rotate()
    assert login(app.test_client(), flevoland, "na").status_code == 403
    assert provider.jwks.requests == 1
    assert "na" not in subjects(app, flevoland)


def test_a_signature_the_current_keys_do_not_confirm_is_refused_after_one_fetch(app, rotating):
    provider, flevoland = rotating
    assert login(app.test_client(), flevoland, "eerst").status_code == 302
    assert provider.jwks.requests == 1
    before = subjects(app, flevoland)

    # Tokens are now signed with a key that the published set does not contain.
    provider.rotate()
    provider.jwks.decoy = decoy_keys(1)
    assert login(app.test_client(), flevoland, "vervalst").status_code == 403
    assert provider.jwks.requests == 2  # one refetch, not a loop
    assert subjects(app, flevoland) == before

    # Refused again, with again exactly one fetch (the keys just fetched did not help either).
    assert login(app.test_client(), flevoland, "opnieuw").status_code == 403
    assert provider.jwks.requests == 3


def test_cached_keys_that_match_no_key_of_the_token_are_fetched_again_by_authlib(app, rotating):
    """Authlib's own path: a token whose key is not in the cached set (`InvalidKeyIdError`).

    The mock's tokens have no `kid`; with two keys cached none is chosen, which is the same
    error a `kid` unknown to the cache gives. Authlib then fetches the set once, by itself.
    """
    provider, flevoland = rotating
    assert login(app.test_client(), flevoland, "eerst").status_code == 302
    client = cached_client(flevoland)
    client.server_metadata["jwks"] = decoy_keys(2)
    assert login(app.test_client(), flevoland, "tweede").status_code == 302
    assert provider.jwks.requests == 2
    assert cached_client(flevoland) is client
