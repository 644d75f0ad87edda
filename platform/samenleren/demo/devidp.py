"""The development identity provider (for `make run` and tests only), and pointing a manifest at it.

The provider is the package `oidc-provider-mock`, installed with the `dev` extra
(`pip install -e '.[dev]'`, which `make install` does) and never in the production image. Every
start of it goes through `development_idp()`, which refuses in production: an IdP that signs in
whoever is picked on its form must never stand beside a production app.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager
from typing import Any

from samenleren.tenants.manifest import LoadedManifest


class DevelopmentIdPRefused(RuntimeError):
    """The development identity provider may not be started here; the message says why."""


def _provider_module() -> Any:
    try:
        import oidc_provider_mock
    except ImportError:
        raise DevelopmentIdPRefused(
            "the development identity provider (oidc-provider-mock) is not installed; it comes "
            "with the dev extra: pip install -e '.[dev]' (make install)"
        ) from None
    return oidc_provider_mock


def idp_user(subject: str, claims: Mapping[str, Any]) -> Any:
    """A user of the development identity provider, with the claims its ID tokens carry."""
    return _provider_module().User(sub=subject, claims=dict(claims))


def check_development_idp(environment: str) -> None:
    """Raise `DevelopmentIdPRefused` unless the development identity provider may run here:
    `environment` (the app's `SAMENLEREN_ENV`) is development or test, and it is installed."""
    if environment not in {"development", "test"}:
        raise DevelopmentIdPRefused(
            f"the development identity provider does not run with SAMENLEREN_ENV={environment}: "
            "it signs in whoever is picked on its form (set SAMENLEREN_ENV=development)"
        )
    _provider_module()


def development_idp(
    environment: str, *, port: int, users: Iterable[Any] = ()
) -> AbstractContextManager[Any]:
    """Run the development identity provider in a thread while the `with` block lasts; in
    production (or when it is not installed) refuse with `DevelopmentIdPRefused`."""
    check_development_idp(environment)
    return _provider_module().run_server_in_thread(port=port, user_claims=list(users))


def with_issuer(loaded: LoadedManifest, issuer: str) -> LoadedManifest:
    """The same manifest with its `[sso].issuer` replaced; the digest follows the change."""
    manifest = loaded.manifest.model_copy(
        update={"sso": loaded.manifest.sso.model_copy(update={"issuer": issuer})}
    )
    return LoadedManifest(manifest, loaded.logo, loaded.logo_type)
