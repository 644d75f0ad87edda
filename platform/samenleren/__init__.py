"""Samen Leren: peer learning with learning coaches, for any number of public organisations.

The package is layered (docs/architecture.md): core, organisation (tenants, identity, audit),
programme (catalogue, coaching, trajectories, process templates), effects (notifications,
calendars, exports), faces (dashboards, operator console, SCIM, audit log) and the app that
assembles them. `create_app` lives in `samenleren.app.factory`; it is named here so that
`flask --app samenleren` and WSGI servers find it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    # Imported on call: importing any module of the package must not build the whole app.
    from samenleren.app.factory import create_app as build

    return build(overrides)
