"""Tenant resolution for every request (wall 1) and the shared view helpers.

Tenant routes carry `<tenant>` as their first path segment. The URL value preprocessor takes it
off the view arguments, loads the tenant and activates it for the rest of the request; unknown and
suspended slugs give the same 404. `url_for` fills in the current tenant by itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, abort, g, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm.interfaces import ORMOption

from samenleren.core.tenancy import activate_tenant, current_tenant
from samenleren.extensions import db

F = TypeVar("F", bound=Callable[..., Any])
M = TypeVar("M")


def init_tenant_resolution(app: Flask) -> None:
    @app.url_value_preprocessor
    def _resolve_tenant(endpoint: str | None, values: dict[str, Any] | None) -> None:
        g.tenant = g.tenant_id = None
        if not values or "tenant" not in values:
            return
        from samenleren.tenants.services import get_tenant_by_slug

        tenant = get_tenant_by_slug(values.pop("tenant"))
        if tenant is None or not tenant.is_active:
            abort(404)
        activate_tenant(tenant)

    @app.url_defaults
    def _add_tenant(endpoint: str, values: dict[str, Any]) -> None:
        tenant = current_tenant()
        if (
            tenant is not None
            and "tenant" not in values
            and app.url_map.is_endpoint_expecting(endpoint, "tenant")
        ):
            values["tenant"] = tenant.slug


def get_or_404(model: type[M], object_id: uuid.UUID | str, *options: ORMOption) -> M:
    """Load a tenant-owned object of the current tenant, or 404 as if it did not exist.

    Another tenant's object is never loaded (the query is scoped), so it looks exactly like a
    missing one (style.md: missing and forbidden look the same). `options` (e.g. `joinedload`)
    load what the page needs in the same query.
    """
    try:
        key = object_id if isinstance(object_id, uuid.UUID) else uuid.UUID(str(object_id))
    except ValueError:
        abort(404)
    query = select(model).where(model.id == key).options(*options)  # type: ignore[attr-defined]
    obj = db.session.scalars(query).unique().one_or_none()
    if obj is None:
        abort(404)
    return obj


def login_required(view: F) -> F:
    """A tenant page for logged-in users of that tenant; others go to the tenant's login."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_tenant() is None:
            abort(404)
        if not current_user.is_authenticated:
            return redirect(url_for("identity.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
