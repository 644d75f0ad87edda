"""Tenant resolution for every request (wall 1) and the one lifecycle every view follows.

Tenant routes carry `<tenant>` as their first path segment. The URL value preprocessor takes it
off the view arguments, loads the tenant and activates it for the rest of the request; unknown and
suspended slugs give the same 404. `url_for` fills in the current tenant by itself.

A view's lifecycle (docs/architecture.md, "Requests"):
* access: `login_required`, or `role_required(...)` per route, or `require_roles(bp, ...)` once
  per blueprint; someone without the role gets 404, as if the page did not exist;
* loading: `get_or_404` (another tenant's row looks missing);
* a form post: `form_action(...)` calls the service. Services validate and flush, never commit;
  `form_action` owns the transaction: on `InvalidInput` it rolls back and re-renders the form
  with the field errors (422), otherwise it commits, flashes and answers 303 (`see_other`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from fnmatch import fnmatchcase
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar, cast

from flask import (
    Blueprint,
    Flask,
    abort,
    flash,
    g,
    has_request_context,
    redirect,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm.interfaces import ORMOption
from werkzeug.wrappers import Response as BaseResponse

from samenleren.core.errors_input import InvalidInput
from samenleren.core.extensions import db
from samenleren.core.tenancy import TenantScoped, activate_tenant, current_tenant
from samenleren.core.text import control_characters_message, has_control_characters

if TYPE_CHECKING:
    from samenleren.core.tenant import Tenant

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")
M = TypeVar("M", bound=TenantScoped)


def init_tenant_resolution(app: Flask) -> None:
    @app.url_value_preprocessor
    def _resolve_tenant(endpoint: str | None, values: dict[str, Any] | None) -> None:
        g.tenant = g.tenant_id = None
        if not values or "tenant" not in values:
            return
        slug = values.pop("tenant")
        try:
            tenant = _tenant_for_request(slug)
        except DBAPIError as error:
            # The pooled connection died with the server since its last use (the pool does not
            # ping, core.config): nothing ran yet, so run it again on a fresh connection.
            if not error.connection_invalidated:
                raise
            db.session.rollback()
            tenant = _tenant_for_request(slug)
        if tenant is None or not tenant.is_active:
            activate_tenant(None)
            abort(404)

    @app.url_defaults
    def _add_tenant(endpoint: str, values: dict[str, Any]) -> None:
        tenant = current_tenant()
        if (
            tenant is not None
            and "tenant" not in values
            and app.url_map.is_endpoint_expecting(endpoint, "tenant")
        ):
            values["tenant"] = tenant.slug


def _tenant_for_request(slug: str) -> Tenant | None:
    """The tenant of `slug`, activated when found: from this process's cache when its row has
    not changed since (the check rides on the statement that sets the RLS tenant), else read."""
    from samenleren.core import tenant as tenants

    g.pop("tenant_row_version", None)
    cached = tenants.cached_tenant(slug)
    if cached is not None:
        tenant, version = cached
        activate_tenant(tenant)
        db.session.connection()  # begins the transaction: sets the tenant, reads the version
        if g.get("tenant_row_version") == version:
            return tenant
        # Changed, suspended, renamed or gone since: read it again.
        activate_tenant(None)
        db.session.expunge(tenant)
        tenants.forget_tenant(slug)
    found, row_version = tenants.load_tenant_with_version(slug)
    if found is None:
        return None
    tenants.remember_tenant(found, row_version)
    activate_tenant(found)
    return found


def get_or_404(model: type[M], object_id: uuid.UUID | str, *options: ORMOption) -> M:
    """Load a tenant-owned object of the current tenant, or 404 as if it did not exist.

    Another tenant's object is never loaded (the query is scoped), so it looks exactly like a
    missing one: missing and forbidden look the same, so nothing tells that it exists.
    `options` (e.g. `joinedload`) load what the page needs in the same query.
    """
    try:
        key = object_id if isinstance(object_id, uuid.UUID) else uuid.UUID(str(object_id))
    except ValueError:
        abort(404)
    query = select(model).where(model.id == key).options(*options)
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

    return cast(F, wrapper)


def _refuse_without_role(roles: tuple[str, ...]) -> ResponseReturnValue | None:
    """None when the current user may pass; else the login redirect or a 404."""
    if current_tenant() is None:
        abort(404)
    if not current_user.is_authenticated:
        return redirect(url_for("identity.login", next=request.full_path.rstrip("?")))
    if not any(current_user.has_role(role) for role in roles):
        abort(404)
    return None


def role_required(*roles: str) -> Callable[[F], F]:
    """A tenant page for users holding one of `roles` (identity's `Role` values). Visitors go to
    the login; a user without the role gets 404, never 403 (missing and forbidden look alike)."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            refused = _refuse_without_role(roles)
            if refused is not None:
                return refused
            return view(*args, **kwargs)

        return cast(F, wrapper)

    return decorate


def require_roles(blueprint: Blueprint, *roles: str) -> None:
    """`role_required(*roles)` for every route of `blueprint` (a blueprint of one role's pages)."""

    @blueprint.before_request
    def _check_roles() -> ResponseReturnValue | None:
        return _refuse_without_role(roles)


def see_other(endpoint: str, **values: Any) -> BaseResponse:
    """After a successful post: 303 to the page to show next (the browser then GETs it)."""
    return redirect(url_for(endpoint, **values), 303)


def control_character_errors(multiline: Iterable[str] = ()) -> dict[str, str]:
    """The posted form's fields that hold a control character, each with its message.

    Every field is single-line (no line break, no tab) unless its name matches one of the
    `multiline` patterns (`fnmatch`, e.g. `"description_*"`): those may hold line breaks and
    tabs, nothing else. A browser puts no line break in an `<input>`, so one there came from
    a crafted request; it would end up in a mail header or a calendar line.
    """
    if not has_request_context() or request.method != "POST":
        return {}
    patterns = tuple(multiline)
    errors: dict[str, str] = {}
    for name, value in request.form.items(multi=True):
        allowed = any(fnmatchcase(name, pattern) for pattern in patterns)
        if has_control_characters(value, multiline=allowed):
            errors.setdefault(name, control_characters_message())
    return errors


def form_action(
    action: Callable[[], T],
    *,
    invalid: Callable[[dict[str, str]], ResponseReturnValue],
    done: Callable[[T], ResponseReturnValue] | ResponseReturnValue,
    message: Callable[[T], str] | str | None = None,
    multiline: Iterable[str] = (),
) -> ResponseReturnValue:
    """Run `action` (the service call) for a form post, and own its transaction.

    First the posted fields are checked for control characters (`control_character_errors`;
    `multiline` names the fields rendered as a text area): one is refused like any invalid
    input, before the service runs, so no form can forget it.
    Refused (`InvalidInput`): roll back, answer `invalid(errors)` - the form again, with the
    values as entered and the errors next to their fields; a page body alone gets status 422.
    Accepted: commit, flash `message` (a string, or made from the result), answer `done` (a
    response, or made from the result; usually `see_other(...)`).
    """
    try:
        errors = control_character_errors(multiline)
        if errors:
            raise InvalidInput(errors)
        result = action()
    except InvalidInput as refused:
        db.session.rollback()
        answer = invalid(refused.errors)
        return (answer, 422) if isinstance(answer, str) else answer
    db.session.commit()
    if message is not None:
        flash(message(result) if callable(message) else message)
    # A response is callable too (a WSGI app): only a plain function is called with the result.
    if isinstance(done, BaseResponse | str | tuple):
        return done
    return cast(Callable[[T], ResponseReturnValue], done)(result)
