"""SCIM provisioning of a tenant: bearer tokens, users and groups, roles from groups.

Plain functions on the current tenant (the caller activated it), shared by the SCIM endpoint,
the CLI and the settings page. They never commit: the caller does, so a refused request leaves
nothing behind, audit events included. Refusals of SCIM data raise the `scim2-models` exception
the protocol answers with (400 `invalidValue`, 409 `uniqueness`); refusals of form input raise
`InvalidInput`.

Deprovisioning (`active` false, or a SCIM DELETE) never deletes a person: their trajectories,
conversations and evaluations belong to the programme. The user is deactivated (the OIDC login
refuses an inactive user and the session loader ignores one), every open login session is ended,
and a DELETE also hides the user from SCIM (RFC 7644 §3.6 lets a service keep the data as long
as the resource answers 404). A later POST of the same `userName` brings the same person back,
history included, because users are keyed by the IdP subject.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from flask_babel import gettext
from scim2_models import InvalidValueException, UniquenessException
from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from samenleren.audit.events import AuditAction
from samenleren.audit.services import record
from samenleren.core.db import utcnow
from samenleren.core.errors_input import InvalidInput
from samenleren.core.extensions import db
from samenleren.core.tenancy import current_tenant
from samenleren.identity.models import User
from samenleren.identity.services import (
    EXTERNAL_SUBJECT_PREFIX,
    GROUP_SOURCES,
    department_named,
    roles_for_groups,
    sync_idp_roles,
)
from samenleren.identity.sessions import end_all_sessions_of
from samenleren.scim.models import ScimGroup, ScimGroupMember, ScimToken

# --- audit actions (registered, with their labels, in samenleren.audit.events) -----------------

USER_CREATED = AuditAction.SCIM_USER_CREATED
USER_UPDATED = AuditAction.SCIM_USER_UPDATED
USER_DEACTIVATED = AuditAction.SCIM_USER_DEACTIVATED
GROUP_CHANGED = AuditAction.SCIM_GROUP_CHANGED
TOKEN_CREATED = AuditAction.SCIM_TOKEN_CREATED
TOKEN_REVOKED = AuditAction.SCIM_TOKEN_REVOKED

# --- bearer tokens ------------------------------------------------------------------------------

#: Makes a leaked token recognisable (secret scanners, logs): "slscim_" + 43 characters.
TOKEN_PREFIX = "slscim_"  # noqa: S105
TOKEN_NAME_LIMIT = 100
#: last_used_at is written at most this often per token, not on every request.
LAST_USED_RESOLUTION_SECONDS = 60


def hash_token(token: str) -> str:
    """SHA-256, hex. Enough for a random 256-bit token (see `ScimToken`)."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    name: str, *, actor: User | None = None, actor_label: str = ""
) -> tuple[ScimToken, str]:
    """A new token of the current tenant; returns the row and the token, which is never stored.

    Raises `InvalidInput` (field `name`) for a missing or too long name.
    """
    name = " ".join(name.split())
    if not name:
        raise InvalidInput(
            {"name": gettext("Give the token a name, e.g. the system that uses it.")}
        )
    if len(name) > TOKEN_NAME_LIMIT:
        raise InvalidInput(
            {"name": gettext("At most %(limit)d characters.", limit=TOKEN_NAME_LIMIT)}
        )
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ScimToken(
        name=name,
        token_hash=hash_token(token),
        created_by_id=getattr(actor, "id", None),
        created_by_label=actor_label or getattr(actor, "name", "") or "",
    )
    db.session.add(row)
    db.session.flush()
    record(
        TOKEN_CREATED,
        actor=actor,
        actor_label=actor_label,
        subject_type="scim_token",
        subject_id=row.id,
        details={"name": name},
    )
    return row, token


def list_tokens() -> list[ScimToken]:
    """Every token of the current tenant, revoked ones included, newest first."""
    return list(
        db.session.scalars(select(ScimToken).order_by(ScimToken.created_at.desc(), ScimToken.id))
    )


def get_token(token_id: uuid.UUID | str) -> ScimToken | None:
    try:
        key = token_id if isinstance(token_id, uuid.UUID) else uuid.UUID(str(token_id))
    except ValueError:
        return None
    return db.session.scalar(select(ScimToken).where(ScimToken.id == key))


def revoke_token(token: ScimToken, *, actor: User | None = None, actor_label: str = "") -> bool:
    """Revoke a token for good; False when it already was."""
    if token.revoked_at is not None:
        return False
    token.revoked_at = utcnow()
    record(
        TOKEN_REVOKED,
        actor=actor,
        actor_label=actor_label,
        subject_type="scim_token",
        subject_id=token.id,
        details={"name": token.name},
    )
    return True


def authenticate(token: str) -> ScimToken | None:
    """The current tenant's unrevoked token with this value, or None.

    The lookup runs in the tenant's scope (and behind its row-level security), so a token of
    another tenant is simply not found. Comparing hashes in the database leaks nothing useful
    through timing: an attacker who does not know the token cannot steer its hash.
    """
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = db.session.scalar(select(ScimToken).where(ScimToken.token_hash == hash_token(token)))
    if row is None or row.revoked_at is not None:
        return None
    now = utcnow()
    last = row.last_used_at
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=now.tzinfo)
    if last is None or (now - last).total_seconds() >= LAST_USED_RESOLUTION_SECONDS:
        row.last_used_at = now
    return row


# --- users ------------------------------------------------------------------------------------

USER_NAME_LIMIT = 255
DISPLAY_NAME_LIMIT = 200
EXTERNAL_ID_LIMIT = 255
EMPLOYEE_NUMBER_LIMIT = 64
DEPARTMENT_LIMIT = 200
EMAIL_LIMIT = 320
NAME_PART_LIMIT = 200
#: Attributes of `scim_attributes["unset"]`: SCIM left them out, the column keeps a value.
UNSET = "unset"


@dataclass
class UserData:
    """A SCIM User as the services take it: plain values, already parsed."""

    user_name: str
    external_id: str | None = None
    display_name: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    #: Each {"value": ..., "type": ..., "primary": ...} as sent; None when absent.
    emails: list[dict[str, Any]] | None = None
    #: None: the client said nothing (the user may log in).
    active: bool | None = None
    employee_number: str | None = None
    department: str | None = None
    manager_id: str | None = None


def scim_users() -> Select[tuple[User]]:
    """The users SCIM sees: not removed through SCIM, and not external trainers (who have no
    account at the IdP, so the IdP must not manage them)."""
    return select(User).where(
        User.scim_removed_at.is_(None), User.subject.not_like(f"{EXTERNAL_SUBJECT_PREFIX}%")
    )


def find_user(user_id: str) -> User | None:
    try:
        key = uuid.UUID(str(user_id))
    except ValueError:
        return None
    return db.session.scalar(scim_users().where(User.id == key))


def _too_long(label: str, value: str | None, limit: int) -> None:
    if value is not None and len(value) > limit:
        raise InvalidValueException(detail=f"{label} is longer than {limit} characters")


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def _primary_email(emails: list[dict[str, Any]] | None) -> str | None:
    """The address we mail: the primary entry, else the first work address, else the first."""
    entries = [entry for entry in emails or [] if entry.get("value")]
    for chosen in (
        [e for e in entries if e.get("primary")],
        [e for e in entries if e.get("type") == "work"],
        entries,
    ):
        if chosen:
            return str(chosen[0]["value"]).strip()
    return None


def _validate_user(data: UserData) -> None:
    user_name = data.user_name.strip() if data.user_name else ""
    if not user_name:
        raise InvalidValueException(detail="userName is required")
    if user_name.startswith(EXTERNAL_SUBJECT_PREFIX):
        raise InvalidValueException(
            detail=f"userName may not start with {EXTERNAL_SUBJECT_PREFIX!r}: reserved for "
            "external trainers"
        )
    _too_long("userName", data.user_name, USER_NAME_LIMIT)
    _too_long("externalId", data.external_id, EXTERNAL_ID_LIMIT)
    _too_long("displayName", data.display_name, DISPLAY_NAME_LIMIT)
    _too_long("name.givenName", data.given_name, NAME_PART_LIMIT)
    _too_long("name.familyName", data.family_name, NAME_PART_LIMIT)
    _too_long("employeeNumber", data.employee_number, EMPLOYEE_NUMBER_LIMIT)
    _too_long("department", data.department, DEPARTMENT_LIMIT)
    for entry in data.emails or []:
        value = str(entry.get("value") or "")
        _too_long("emails.value", value, EMAIL_LIMIT)
        if value and "@" not in value:
            raise InvalidValueException(detail=f"{value!r} is not an e-mail address")


def _check_user_name_free(user_name: str, user: User | None) -> None:
    other = db.session.scalar(select(User).where(User.subject == user_name))
    if other is not None and other is not user:
        raise UniquenessException(detail=f"userName {user_name!r} is already taken")


def _resolve_manager(manager_id: str | None, user: User | None) -> uuid.UUID | None:
    """The manager's user id; refused when unknown, the user themself, or a loop."""
    if not manager_id:
        return None
    manager = find_user(manager_id)
    if manager is None:
        raise InvalidValueException(
            detail=f"manager {manager_id!r} is not a user of this organisation"
        )
    if user is not None and user.id is not None:
        if manager.id == user.id:
            raise InvalidValueException(detail="A user cannot be their own manager")
        # Walk up the manager's chain: the user must not be above their own manager.
        seen: set[uuid.UUID] = set()
        current: uuid.UUID | None = manager.manager_id
        while current is not None and current not in seen and len(seen) < 1000:
            if current == user.id:
                raise InvalidValueException(
                    detail="That manager would make a loop: the user is above them"
                )
            seen.add(current)
            current = db.session.scalar(select(User.manager_id).where(User.id == current))
    return manager.id


def _display_name(data: UserData) -> str:
    """The name the application shows: displayName, else given and family name, else userName."""
    if data.display_name and data.display_name.strip():
        return data.display_name.strip()
    parts = " ".join(p.strip() for p in (data.given_name, data.family_name) if p and p.strip())
    return (parts or data.user_name.strip())[:DISPLAY_NAME_LIMIT]


def _scim_attributes(data: UserData) -> dict[str, Any]:
    attributes: dict[str, Any] = {}
    name = {
        key: value
        for key, value in (("givenName", data.given_name), ("familyName", data.family_name))
        if value is not None
    }
    if name:
        attributes["name"] = name
    if data.emails is not None:
        attributes["emails"] = data.emails
    unset = []
    if data.display_name is None:
        unset.append("displayName")
    if data.active is None:
        unset.append("active")
    if unset:
        attributes[UNSET] = unset
    return attributes


def user_data(user: User) -> UserData:
    """What SCIM currently says about a user (the inverse of applying `UserData`)."""
    attributes = user.scim_attributes or {}
    unset = set(attributes.get(UNSET, []))
    name = attributes.get("name") or {}
    emails = attributes.get("emails")
    if user.email is None:
        emails = None
    elif emails is None or _primary_email(emails) != user.email:
        # Set by a login (the IdP's e-mail claim) or from before SCIM: the address we mail.
        emails = [{"value": user.email, "type": "work", "primary": True}]
    if not user.active:
        active: bool | None = False
    else:
        active = None if "active" in unset else True
    return UserData(
        user_name=user.subject,
        external_id=user.external_id,
        display_name=None if "displayName" in unset else user.name,
        given_name=name.get("givenName"),
        family_name=name.get("familyName"),
        emails=emails,
        active=active,
        employee_number=user.employee_number,
        department=user.department.name if user.department is not None else None,
        manager_id=str(user.manager_id) if user.manager_id else None,
    )


def _apply(user: User, data: UserData) -> None:
    user.subject = data.user_name.strip()
    user.external_id = _clean(data.external_id)
    user.name = _display_name(data)
    user.email = _primary_email(data.emails)
    user.scim_attributes = _scim_attributes(data)
    user.employee_number = _clean(data.employee_number)
    department = _clean(data.department)
    # The relationship, not the id: the loaded `user.department` must not go stale.
    user.department = department_named(department) if department else None


def _changes(before: UserData, after: UserData) -> list[str]:
    names = {
        "user_name": "userName",
        "external_id": "externalId",
        "display_name": "displayName",
        "given_name": "name.givenName",
        "family_name": "name.familyName",
        "emails": "emails",
        "active": "active",
        "employee_number": "employeeNumber",
        "department": "department",
        "manager_id": "manager",
    }
    return [
        label
        for attribute, label in names.items()
        if getattr(before, attribute) != getattr(after, attribute)
    ]


def create_user(data: UserData, *, actor_label: str) -> User:
    """Provision a user. A user SCIM removed before, with this userName, comes back."""
    _validate_user(data)
    user_name = data.user_name.strip()
    user = db.session.scalar(select(User).where(User.subject == user_name))
    if user is not None and user.scim_removed_at is None:
        raise UniquenessException(detail=f"userName {user_name!r} is already taken")
    revived = user is not None
    if data.active is None:
        data = replace(data, active=True)  # a new user may log in unless SCIM says otherwise
    if user is None:
        user = User(subject=user_name, name=user_name, active=True)
        db.session.add(user)
    manager_id = _resolve_manager(data.manager_id, user)
    _apply(user, data)
    user.manager_id = manager_id
    user.scim_removed_at = None
    user.active = data.active is not False
    db.session.flush()
    _sync_roles([user])
    record(
        USER_CREATED,
        actor_label=actor_label,
        subject_type="user",
        subject_id=user.id,
        details={"revived": True} if revived else {},
    )
    if not user.active:
        _deactivate(user, actor_label=actor_label)
    return user


def update_user(user: User, data: UserData, *, actor_label: str) -> User:
    """Bring a user in line with a PUT or a patched resource; `active` false deprovisions."""
    _validate_user(data)
    before = user_data(user)
    _check_user_name_free(data.user_name.strip(), user)
    manager_id = _resolve_manager(data.manager_id, user)
    was_active = user.active
    _apply(user, data)
    user.manager_id = manager_id
    user.active = data.active is not False
    db.session.flush()
    changed = _changes(before, user_data(user))
    if changed:
        record(
            USER_UPDATED,
            actor_label=actor_label,
            subject_type="user",
            subject_id=user.id,
            details={"changed": changed},
        )
    if was_active and not user.active:
        _deactivate(user, actor_label=actor_label)
    return user


def _deactivate(user: User, *, actor_label: str, removed: bool = False) -> None:
    ended = end_all_sessions_of(user)
    details: dict[str, Any] = {"sessions_ended": ended}
    if removed:
        details["removed"] = True
    record(
        USER_DEACTIVATED,
        actor_label=actor_label,
        subject_type="user",
        subject_id=user.id,
        details=details,
    )


def remove_user(user: User, *, actor_label: str) -> None:
    """A SCIM DELETE: deactivate, end the sessions, leave the groups, hide from SCIM; keep data."""
    user.active = False
    user.scim_removed_at = utcnow()
    memberships = db.session.scalars(
        select(ScimGroupMember).where(ScimGroupMember.user_id == user.id)
    ).all()
    for membership in memberships:
        db.session.delete(membership)
    db.session.flush()
    _sync_roles([user])
    _deactivate(user, actor_label=actor_label, removed=True)


# --- groups and the roles they give -----------------------------------------------------------

GROUP_NAME_LIMIT = 255


@dataclass
class GroupData:
    display_name: str
    external_id: str | None = None
    #: Ids of the member users, as SCIM sent them.
    member_ids: list[str] = field(default_factory=list)


def scim_groups() -> Select[tuple[ScimGroup]]:
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
    _too_long("displayName", data.display_name, GROUP_NAME_LIMIT)
    _too_long("externalId", data.external_id, EXTERNAL_ID_LIMIT)
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
    group = ScimGroup(display_name=data.display_name.strip(), external_id=_clean(data.external_id))
    group.memberships = [ScimGroupMember(user_id=user.id) for user in users]
    db.session.add(group)
    db.session.flush()
    _sync_roles(users)
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
        _clean(data.external_id),
    )
    group.display_name = data.display_name.strip()
    group.external_id = _clean(data.external_id)
    for membership in list(group.memberships):
        if membership.user_id not in wanted:
            group.memberships.remove(membership)
    for user_id in wanted - before:
        group.memberships.append(ScimGroupMember(user_id=user_id))
    group.updated_at = utcnow()
    db.session.flush()
    # A new name may match another role mapping: then every member's roles are recomputed.
    affected = (before | wanted) if renamed else (before ^ wanted)
    _sync_roles_of(affected)
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
    _sync_roles_of(members)


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


def _sync_roles(users: list[User]) -> None:
    """Roles from IdP groups (source IDP) in line with the users' SCIM groups; app-given roles
    are left alone, exactly as at login."""
    tenant = current_tenant()
    names = group_names_by_user(user.id for user in users)
    for user in users:
        sync_idp_roles(user, roles_for_groups(tenant, names.get(user.id, [])))


def _sync_roles_of(user_ids: Iterable[uuid.UUID]) -> None:
    keys = list(user_ids)
    if keys:
        _sync_roles(list(db.session.scalars(select(User).where(User.id.in_(keys)))))
