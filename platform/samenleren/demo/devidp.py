"""Point a manifest at the development identity provider (for `make run` and tests only)."""

from __future__ import annotations

from samenleren.tenants.manifest import LoadedManifest


def with_issuer(loaded: LoadedManifest, issuer: str) -> LoadedManifest:
    """The same manifest with its `[sso].issuer` replaced; the digest follows the change."""
    manifest = loaded.manifest.model_copy(
        update={"sso": loaded.manifest.sso.model_copy(update={"issuer": issuer})}
    )
    return LoadedManifest(manifest, loaded.logo, loaded.logo_type)
