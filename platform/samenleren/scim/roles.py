"""Roles from SCIM groups: the group names a user's roles are mapped from.

The tenant's role mapping (`samenleren.identity.services.roles_for_groups`) turns IdP group
names into roles, at login and whenever SCIM changes a user's groups. Importing this module adds
the SCIM groups to the groups a login sees (`GROUP_SOURCES`); the SCIM endpoint imports it
through `samenleren.scim.users`.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import select

from samenleren.core.extensions import db
from samenleren.core.tenancy import current_tenant, require_tenant
from samenleren.identity.models import User
from samenleren.identity.services import GROUP_SOURCES, roles_for_groups, sync_idp_roles
from samenleren.scim.models import ScimGroup, ScimGroupMember


def group_names_by_user(user_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    """The names under which each user's SCIM groups may be mapped to roles: display name and
    external id (Microsoft Entra ID puts the group's object id there, other IdPs a name)."""
    keys = list(user_ids)
    names: dict[uuid.UUID, list[str]] = defaultdict(list)
    if not keys:
        return names
    rows = db.session.execute(
        select(ScimGroupMember.user_id, ScimGroup.display_name, ScimGroup.external_id)
        .join(
            ScimGroup,
            (ScimGroup.tenant_id == ScimGroupMember.tenant_id)
            & (ScimGroup.id == ScimGroupMember.group_id),
        )
        .where(ScimGroupMember.user_id.in_(keys))
    )
    for user_id, display_name, external_id in rows:
        names[user_id].append(display_name)
        if external_id:
            names[user_id].append(external_id)
    return names


def scim_group_names(user: User) -> list[str]:
    """The IdP groups SCIM put `user` in (for the login, which adds them to the token's)."""
    if user.id is None or current_tenant() is None:
        return []
    return group_names_by_user([user.id]).get(user.id, [])


GROUP_SOURCES.append(scim_group_names)


def sync_roles(users: list[User]) -> None:
    """Roles from IdP groups (source IDP) in line with the users' SCIM groups; app-given roles
    are left alone, exactly as at login."""
    tenant = require_tenant()
    names = group_names_by_user(user.id for user in users)
    for user in users:
        sync_idp_roles(user, roles_for_groups(tenant, names.get(user.id, [])))


def sync_roles_of(user_ids: Iterable[uuid.UUID]) -> None:
    keys = list(user_ids)
    if keys:
        sync_roles(list(db.session.scalars(select(User).where(User.id.in_(keys)))))
