"""SCIM users of a tenant: provisioning, updates and deprovisioning.

Plain functions on the current tenant (the caller activated it), called by the SCIM storage
(`samenleren.scim.storage`). They never commit: the caller does, so a refused request leaves
nothing behind, audit events included. Refusals of SCIM data raise the `scim2-models` exception
the protocol answers with (400 `invalidValue`, 409 `uniqueness`).

Deprovisioning (`active` false, or a SCIM DELETE) never deletes a person: their trajectories,
conversations and evaluations belong to the programme. The user is deactivated (the OIDC login
refuses an inactive user and the session loader ignores one), every open login session is ended,
sign-in links and calendar feeds are revoked (`identity.sessions.revoke_access`),
and a DELETE also hides the user from SCIM (RFC 7644 §3.6 lets a service keep the data as long
as the resource answers 404). A later POST of the same `userName` brings the same person back,
history included, because users are keyed by the IdP subject.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from typing import Any

from scim2_models import InvalidValueException, UniquenessException
from sqlalchemy import Select, select

from samenleren.audit.events import AuditAction
from samenleren.audit.services import record
from samenleren.core.db import utcnow
from samenleren.core.extensions import db
from samenleren.core.text import has_control_characters
from samenleren.identity.models import User
from samenleren.identity.services import EXTERNAL_SUBJECT_PREFIX, department_named
from samenleren.identity.sessions import revoke_access
from samenleren.scim.models import ScimGroupMember
from samenleren.scim.roles import sync_roles

USER_CREATED = AuditAction.SCIM_USER_CREATED
USER_UPDATED = AuditAction.SCIM_USER_UPDATED
USER_DEACTIVATED = AuditAction.SCIM_USER_DEACTIVATED

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


def scim_users() -> Select[User]:
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


def refuse_too_long(label: str, value: str | None, limit: int) -> None:
    """Refuse (400 `invalidValue`) a SCIM attribute longer than its column."""
    if value is not None and len(value) > limit:
        raise InvalidValueException(detail=f"{label} is longer than {limit} characters")


def clean(value: str | None) -> str | None:
    """The value without surrounding blanks; None for nothing or only blanks."""
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
    refuse_too_long("userName", data.user_name, USER_NAME_LIMIT)
    refuse_too_long("externalId", data.external_id, EXTERNAL_ID_LIMIT)
    refuse_too_long("displayName", data.display_name, DISPLAY_NAME_LIMIT)
    refuse_too_long("name.givenName", data.given_name, NAME_PART_LIMIT)
    refuse_too_long("name.familyName", data.family_name, NAME_PART_LIMIT)
    refuse_too_long("employeeNumber", data.employee_number, EMPLOYEE_NUMBER_LIMIT)
    refuse_too_long("department", data.department, DEPARTMENT_LIMIT)
    for label, text in (
        ("userName", data.user_name),
        ("externalId", data.external_id),
        ("displayName", data.display_name),
        ("name.givenName", data.given_name),
        ("name.familyName", data.family_name),
        ("employeeNumber", data.employee_number),
        ("department", data.department),
        *(("emails.value", str(entry.get("value") or "")) for entry in data.emails or []),
    ):
        if has_control_characters(text):
            raise InvalidValueException(detail=f"{label} contains a control character")
    for entry in data.emails or []:
        value = str(entry.get("value") or "")
        refuse_too_long("emails.value", value, EMAIL_LIMIT)
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
    user.external_id = clean(data.external_id)
    user.name = _display_name(data)
    user.email = _primary_email(data.emails)
    user.scim_attributes = _scim_attributes(data)
    user.employee_number = clean(data.employee_number)
    department = clean(data.department)
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
    linked = False
    if user is None and clean(data.external_id):
        # Entra ID provisions with the object id as externalId: someone who logged in before
        # (bound to that `oid`) is that person, not a new user.
        user = _logged_in_with_object_id(str(clean(data.external_id)))
        linked = user is not None
    revived = user is not None and not linked
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
    sync_roles([user])
    record(
        USER_CREATED,
        actor_label=actor_label,
        subject_type="user",
        subject_id=user.id,
        details={"revived": True} if revived else {"linked": True} if linked else {},
    )
    if not user.active:
        _deactivate(user, actor_label=actor_label)
    return user


def _logged_in_with_object_id(object_id: str) -> User | None:
    """The user a login bound to Entra ID's object id `object_id`, not provisioned yet."""
    return db.session.scalar(
        select(User)
        .where(
            User.idp_object_id == object_id,
            User.external_id.is_(None),
            User.scim_removed_at.is_(None),
            User.subject.not_like(f"{EXTERNAL_SUBJECT_PREFIX}%"),
        )
        .order_by(User.created_at)
        .limit(1)
    )


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
    ended = revoke_access(user)  # sessions, sign-in links and calendar feeds
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
    sync_roles([user])
    _deactivate(user, actor_label=actor_label, removed=True)
