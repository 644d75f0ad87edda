"""SCIM groups of a tenant: their members, and through them the members' roles.

Plain functions on the current tenant (the caller activated it), called by the SCIM storage
(`samenleren.scim.storage`). They never commit: the caller does. Refusals of SCIM data raise the
`scim2-models` exception the protocol answers with (400 `invalidValue`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from scim2_models import InvalidValueException
from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from samenleren.audit.events import AuditAction
from samenleren.audit.services import record
from samenleren.core.db import utcnow
from samenleren.core.extensions import db
from samenleren.identity.models import User
from samenleren.scim.models import ScimGroup, ScimGroupMember
from samenleren.scim.roles import sync_roles, sync_roles_of
from samenleren.scim.users import EXTERNAL_ID_LIMIT, clean, refuse_too_long, scim_users

GROUP_CHANGED = AuditAction.SCIM_GROUP_CHANGED

GROUP_NAME_LIMIT = 255


@dataclass
class GroupData:
    display_name: str
    external_id: str | None = None
    #: Ids of the member users, as SCIM sent them.
    member_ids: list[str] = field(default_factory=list)


def scim_groups() -> Select[ScimGroup]:
    return select(ScimGroup)


def find_group(group_id: str) -> ScimGroup | None:
    try:
        key = uuid.UUID(str(group_id))
    except ValueError:
        return None
    return db.session.scalar(
        select(ScimGroup).where(ScimGroup.id == key).options(selectinload(ScimGroup.memberships))
    )


def _validate_group(data: GroupData) -> list[User]:
    """The member users; refused: no name, too long, or a member that is not a user here."""
    if not data.display_name or not data.display_name.strip():
        raise InvalidValueException(detail="displayName is required")
    refuse_too_long("displayName", data.display_name, GROUP_NAME_LIMIT)
    refuse_too_long("externalId", data.external_id, EXTERNAL_ID_LIMIT)
    keys: list[uuid.UUID] = []
    for member_id in dict.fromkeys(data.member_ids):
        try:
            keys.append(uuid.UUID(str(member_id)))
        except ValueError:
            raise InvalidValueException(
                detail=f"member {member_id!r} is not a user of this organisation"
            ) from None
    users = list(db.session.scalars(scim_users().where(User.id.in_(keys)))) if keys else []
    missing = set(keys) - {user.id for user in users}
    if missing:
        raise InvalidValueException(
            detail=f"member {sorted(map(str, missing))[0]!r} is not a user of this organisation "
            "(groups in groups are not supported)"
        )
    return users


def _member_ids(group: ScimGroup) -> set[uuid.UUID]:
    return {membership.user_id for membership in group.memberships}


def create_group(data: GroupData, *, actor_label: str) -> ScimGroup:
    users = _validate_group(data)
    group = ScimGroup(display_name=data.display_name.strip(), external_id=clean(data.external_id))
    group.memberships = [ScimGroupMember(user_id=user.id) for user in users]
    db.session.add(group)
    db.session.flush()
    sync_roles(users)
    record(
        GROUP_CHANGED,
        actor_label=actor_label,
        subject_type="scim_group",
        subject_id=group.id,
        details={"created": True, "display_name": group.display_name, "members_added": len(users)},
    )
    return group


def update_group(group: ScimGroup, data: GroupData, *, actor_label: str) -> ScimGroup:
    users = _validate_group(data)
    before = _member_ids(group)
    wanted = {user.id for user in users}
    renamed = (group.display_name, group.external_id) != (
        data.display_name.strip(),
        clean(data.external_id),
    )
    group.display_name = data.display_name.strip()
    group.external_id = clean(data.external_id)
    for membership in list(group.memberships):
        if membership.user_id not in wanted:
            group.memberships.remove(membership)
    for user_id in wanted - before:
        group.memberships.append(ScimGroupMember(user_id=user_id))
    group.updated_at = utcnow()
    db.session.flush()
    # A new name may match another role mapping: then every member's roles are recomputed.
    affected = (before | wanted) if renamed else (before ^ wanted)
    sync_roles_of(affected)
    record(
        GROUP_CHANGED,
        actor_label=actor_label,
        subject_type="scim_group",
        subject_id=group.id,
        details={
            "display_name": group.display_name,
            "renamed": renamed,
            "members_added": len(wanted - before),
            "members_removed": len(before - wanted),
        },
    )
    return group


def delete_group(group: ScimGroup, *, actor_label: str) -> None:
    members = _member_ids(group)
    record(
        GROUP_CHANGED,
        actor_label=actor_label,
        subject_type="scim_group",
        subject_id=group.id,
        details={
            "deleted": True,
            "display_name": group.display_name,
            "members_removed": len(members),
        },
    )
    db.session.delete(group)
    db.session.flush()
    sync_roles_of(members)
