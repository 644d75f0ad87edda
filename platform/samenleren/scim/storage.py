"""The `scim2-server` storage of a tenant: SCIM resources read from and written to our tables.

`scim2-server` runs the protocol (validation, PATCH, PUT, discovery, errors) and calls this
storage with whole resources; we translate between them and `User` / `ScimGroup` rows and let
`samenleren.scim.users` and `samenleren.scim.groups` apply the rules (deprovisioning, roles,
audit). Everything runs in the current tenant's scope and in the request's transaction; the view
commits.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any, cast

from flask import g
from scim2_models import (
    InvalidValueException,
    Meta,
    NotFoundException,
    Reference,
    Resource,
    ResourceType,
    ResponseParameters,
    SearchRequest,
)
from scim2_server.storage import ScimStorage, SearchPage
from sqlalchemy import Select, func, select
from sqlalchemy.orm import joinedload, selectinload

from samenleren.core.db import as_utc
from samenleren.core.extensions import db
from samenleren.identity.models import User
from samenleren.scim import groups, users
from samenleren.scim.filters import group_condition, user_condition
from samenleren.scim.models import ScimGroup
from samenleren.scim.schema import (
    GROUP_RESOURCE_TYPE,
    USER_RESOURCE_TYPE,
    Email,
    EnterpriseUser,
    Group,
    GroupMember,
    Manager,
    Name,
    UserResource,
)
from samenleren.scim.schema import User as ScimUser


def _actor_label() -> str:
    """Who the audit log names for a SCIM change: "SCIM: <token name>" (set by the view)."""
    return g.get("scim_actor_label") or "SCIM"


def _version(resource: Resource[Any]) -> str:
    digest = hashlib.sha256(
        json.dumps(resource.model_dump(), sort_keys=True, default=str).encode()
    ).hexdigest()
    return f'W/"{digest[:20]}"'


def _meta(resource_type: str, created: datetime, modified: datetime | None) -> Meta:
    created = as_utc(created)
    return Meta(
        resource_type=resource_type, created=created, last_modified=as_utc(modified) or created
    )


# --- users ------------------------------------------------------------------------------------


def user_resource(user: User) -> Resource[Any]:
    data = users.user_data(user)
    name = (
        Name(given_name=data.given_name, family_name=data.family_name)
        if data.given_name is not None or data.family_name is not None
        else None
    )
    resource = UserResource(
        id=str(user.id),
        external_id=data.external_id,
        user_name=data.user_name,
        name=name,
        display_name=data.display_name,
        active=data.active,
        emails=[Email.model_validate(entry) for entry in data.emails]
        if data.emails is not None
        else None,
    )
    if data.employee_number or data.department or data.manager_id:
        resource[EnterpriseUser] = EnterpriseUser(
            employee_number=data.employee_number,
            department=data.department,
            manager=Manager(value=data.manager_id, ref=_user_reference(data.manager_id))
            if data.manager_id
            else None,
        )
    resource.meta = _meta("User", user.created_at, user.updated_at)
    resource.meta.version = _version(resource)
    return resource


def _user_reference(user_id: str) -> Reference[ScimUser[Any]]:
    """The `$ref` of a User resource, relative to the endpoint."""
    return Reference[ScimUser](f"Users/{user_id}")


def _user_data(resource: Resource[Any]) -> users.UserData:
    # The handler validated the resource against the Users resource type (`UserResource`).
    resource = cast("ScimUser[EnterpriseUser]", resource)
    extension = resource[EnterpriseUser]
    manager = extension.manager if extension is not None else None
    return users.UserData(
        user_name=resource.user_name or "",
        external_id=resource.external_id,
        display_name=resource.display_name,
        given_name=resource.name.given_name if resource.name else None,
        family_name=resource.name.family_name if resource.name else None,
        emails=[email.model_dump() for email in resource.emails]
        if resource.emails is not None
        else None,
        active=resource.active,
        employee_number=extension.employee_number if extension is not None else None,
        department=extension.department if extension is not None else None,
        manager_id=_referenced_id(manager.value, manager.ref) if manager is not None else None,
    )


def _referenced_id(value: str | None, ref: str | None) -> str | None:
    """The id of a reference: its `value`, else the last segment of its `$ref`."""
    if value:
        return value
    if ref:
        return ref.rstrip("/").rsplit("/", 1)[-1]
    return None


def _user_options() -> tuple:
    return (joinedload(User.department),)


# --- groups -----------------------------------------------------------------------------------


def group_resource(group: ScimGroup) -> Resource[Any]:
    members = sorted(str(membership.user_id) for membership in group.memberships)
    resource = Group(
        id=str(group.id),
        external_id=group.external_id,
        display_name=group.display_name,
        members=[GroupMember(value=m, ref=_user_reference(m), type="User") for m in members]
        or None,
    )
    resource.meta = _meta("Group", group.created_at, group.updated_at)
    resource.meta.version = _version(resource)
    return resource


def _group_data(resource: Resource[Any]) -> groups.GroupData:
    # The handler validated the resource against the Groups resource type.
    resource = cast(Group, resource)
    member_ids = []
    for member in resource.members or []:
        if member.type and member.type != "User":
            raise InvalidValueException(detail="Only users can be members of a group")
        member_id = _referenced_id(member.value, member.ref)
        if member_id:
            member_ids.append(member_id)
    return groups.GroupData(
        display_name=resource.display_name or "",
        external_id=resource.external_id,
        member_ids=member_ids,
    )


# --- the storage ------------------------------------------------------------------------------


def _is_users(resource_type: ResourceType) -> bool:
    return resource_type.name == USER_RESOURCE_TYPE.name


class TenantStorage(ScimStorage):
    """Users and groups of the current tenant, for `scim2-server`'s handler."""

    def get(
        self,
        resource_type: ResourceType,
        resource_id: str,
        *,
        response_parameters: ResponseParameters[Any] | None = None,
    ) -> Resource[Any]:
        if _is_users(resource_type):
            user = users.find_user(resource_id)
            if user is None:
                raise NotFoundException(detail=f"User {resource_id} not found")
            return user_resource(user)
        group = groups.find_group(resource_id)
        if group is None:
            raise NotFoundException(detail=f"Group {resource_id} not found")
        return group_resource(group)

    def search(
        self,
        resource_types: list[ResourceType],
        search_request: SearchRequest[Any],
        *,
        position: Any = None,
    ) -> SearchPage:
        """One page of the matching resources; at the root (several types) users come first,
        then groups, each in order of creation, paged as one list."""
        lenient = len(resource_types) > 1
        # Per resource type: the query, its order, its loader options, the row's resource.
        parts: list[
            tuple[Select[Any], tuple[Any, ...], tuple[Any, ...], Callable[[Any], Resource[Any]]]
        ] = []
        for resource_type in resource_types:
            if _is_users(resource_type):
                condition = user_condition(search_request.filter, UserResource, lenient=lenient)
                parts.append(
                    (
                        users.scim_users().where(condition),
                        (User.created_at, User.id),
                        _user_options(),
                        user_resource,
                    )
                )
            else:
                condition = group_condition(search_request.filter, Group, lenient=lenient)
                parts.append(
                    (
                        groups.scim_groups().where(condition),
                        (ScimGroup.created_at, ScimGroup.id),
                        (selectinload(ScimGroup.memberships),),
                        group_resource,
                    )
                )
        totals = [
            db.session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
            for query, *_ in parts
        ]
        skip = search_request.start_index_0 or 0
        wanted = search_request.count
        resources: list[Resource[Any]] = []
        for (query, order, options, to_resource), total in zip(parts, totals, strict=True):
            if wanted is not None and len(resources) >= wanted:
                break
            if skip >= total:
                skip -= total
                continue
            page = query.order_by(*order).offset(skip).options(*options)
            if wanted is not None:
                page = page.limit(wanted - len(resources))
            resources.extend(to_resource(row) for row in db.session.scalars(page).unique())
            skip = 0
        return SearchPage(total=sum(totals), resources=resources)

    def create(self, resource_type: ResourceType, resource: Resource[Any]) -> Resource[Any]:
        if _is_users(resource_type):
            user = users.create_user(_user_data(resource), actor_label=_actor_label())
            return user_resource(user)
        group = groups.create_group(_group_data(resource), actor_label=_actor_label())
        return group_resource(group)

    def update(
        self,
        resource_type: ResourceType,
        resource: Resource[Any],
        *,
        expected_version: str | None = None,
    ) -> Resource[Any]:
        # ETags are not announced, so `expected_version` is only ever the version read in this
        # same transaction.
        if _is_users(resource_type):
            user = users.find_user(resource.id or "")
            if user is None:
                raise NotFoundException(detail=f"User {resource.id} not found")
            users.update_user(user, _user_data(resource), actor_label=_actor_label())
            return user_resource(user)
        group = groups.find_group(resource.id or "")
        if group is None:
            raise NotFoundException(detail=f"Group {resource.id} not found")
        groups.update_group(group, _group_data(resource), actor_label=_actor_label())
        return group_resource(group)

    def delete(
        self,
        resource_type: ResourceType,
        resource_id: str,
        *,
        expected_version: str | None = None,
    ) -> None:
        if _is_users(resource_type):
            user = users.find_user(resource_id)
            if user is None:
                raise NotFoundException(detail=f"User {resource_id} not found")
            # Never a real delete: the user's trajectories belong to the programme.
            users.remove_user(user, actor_label=_actor_label())
            return
        group = groups.find_group(resource_id)
        if group is None:
            raise NotFoundException(detail=f"Group {resource_id} not found")
        groups.delete_group(group, actor_label=_actor_label())


__all__ = ["GROUP_RESOURCE_TYPE", "TenantStorage", "group_resource", "user_resource"]
