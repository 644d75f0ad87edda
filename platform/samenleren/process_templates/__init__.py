"""Process templates: the ordered, configurable steps of a trajectory, as versioned data."""

from __future__ import annotations

from typing import Any

from flask import Flask


def _give_first_template(tenant: Any, **_: Any) -> None:
    from samenleren.process_templates.services import ensure_default_template

    # Sent inside the tenant's scope: the template belongs to the new tenant.
    ensure_default_template()


def init_app(app: Flask) -> None:
    from samenleren.core import signals

    signals.tenant_onboarded.connect(_give_first_template, weak=False)
