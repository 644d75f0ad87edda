"""Users from ID-token claims, and roles in line with the tenant's group mapping."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select

from samenleren.extensions import db
from samenleren.identity.models import Role, RoleAssignment, RoleSource, User
from samenleren.tenants.models import Tenant


class LoginRefused(Exception):
    """The identity provider vouched for someone this tenant does not let in."""


def roles_for_groups(tenant: Tenant, groups: Iterable[str]) -> set[Role]:
    roles = {Role(role) for role in tenant.default_roles}
    for group in groups:
        roles.update(Role(role) for role in tenant.group_roles.get(group, []))
    return roles


def _claim_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [str(item) for item in value]
    return []


def user_from_claims(tenant: Tenant, claims: Mapping[str, Any]) -> User:
    """Find or create the user the ID token describes; keyed by `sub`, never by e-mail.

    Name and e-mail follow the IdP at every login; roles that came from IdP groups are brought in
    line with the mapping, roles given in the application are left alone. Does not commit.
    """
    subject = str(claims.get("sub") or "")
    if not subject:
        raise LoginRefused("the ID token has no subject")
    names = tenant.sso_claims or {}
    name = str(claims.get(names.get("name", "name")) or "").strip()
    email = str(claims.get(names.get("email", "email")) or "").strip() or None
    groups = _claim_list(claims.get(names.get("groups", "groups")))

    user = db.session.scalar(select(User).where(User.subject == subject))
    if user is None:
        user = User(subject=subject, name=name or email or subject, email=email)
        db.session.add(user)
    elif not user.active:
        raise LoginRefused("the account is deactivated")
    else:
        user.name = name or user.name
        user.email = email or user.email
    sync_idp_roles(user, roles_for_groups(tenant, groups))
    return user


def sync_idp_roles(user: User, wanted: set[Role]) -> None:
    current = {a.role: a for a in user.role_assignments if a.source is RoleSource.IDP}
    for role, assignment in current.items():
        if role not in wanted:
            user.role_assignments.remove(assignment)
    for role in wanted - set(current):
        user.role_assignments.append(RoleAssignment(role=role, source=RoleSource.IDP))
