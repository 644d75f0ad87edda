"""Identity: users per tenant, their roles, login through the tenant's OIDC provider."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from samenleren.core.jobs.schedule import Periodic, periodic

    # The ID token a login keeps for logging out at the IdP is forgotten once the login expired
    # (a logout forgets it at once).
    periodic(
        Periodic(
            "identity.forget_id_tokens",
            "samenleren.identity.jobs.forget_id_tokens",
            cron="20 3 * * *",
        )
    )
