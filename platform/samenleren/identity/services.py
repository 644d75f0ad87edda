"""Users from ID-token claims, and roles in line with the tenant's group mapping."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from samenleren.audit.events import AuditAction
from samenleren.audit.services import record
from samenleren.core.errors_input import InvalidInput
from samenleren.core.extensions import db
from samenleren.core.tenant import Tenant
from samenleren.core.text import single_line
from samenleren.identity.models import Department, Role, RoleAssignment, RoleSource, User
from samenleren.identity.sso_setup import grant_first_admin

log = logging.getLogger(__name__)

#: Subjects of external trainers (`external:<uuid>`), who have no account at the tenant's IdP.
#: The IdP can never log in as one of them: a `sub` with this prefix is refused.
EXTERNAL_SUBJECT_PREFIX = "external:"

#: The claims a login reads, with the claim name used when the tenant configured none. The
#: first three are always read; the others only when the tenant names a claim for them.
DEFAULT_CLAIM_NAMES = {"name": "name", "email": "email", "groups": "groups"}
OPTIONAL_CLAIMS = ("department", "employee_number", "manager")
_DEPARTMENT_NAME_MAX = 200
_EMPLOYEE_NUMBER_MAX = 64


#: Other ways the IdP tells which groups a user is in (SCIM registers one): each gives the group
#: names of an existing user. A login adds them to the token's groups, so a token without a
#: groups claim does not take away the roles that provisioned groups give.
GROUP_SOURCES: list[Callable[[User], Iterable[str]]] = []


class LoginRefused(Exception):
    """The identity provider vouched for someone this tenant does not let in.

    `reason` is the code the audit log keeps (`samenleren.audit.events.REFUSAL_REASONS`);
    `user` the known user who was refused, if any.
    """

    def __init__(
        self,
        message: str,
        reason: str = "refused",
        user: User | None = None,
        *,
        facts: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.user = user
        #: Details for the audit log (e.g. the issuer a login came from).
        self.facts = dict(facts or {})


def claim_names(tenant: Tenant) -> dict[str, str | None]:
    """Which claim of the ID token holds what; None: not taken from the IdP."""
    configured = tenant.sso_claims or {}
    names: dict[str, str | None] = {
        key: configured.get(key) or default for key, default in DEFAULT_CLAIM_NAMES.items()
    }
    names["department"] = tenant.sso_claim_department or None
    names["employee_number"] = tenant.sso_claim_employee_number or None
    names["manager"] = tenant.sso_claim_manager or None
    return names


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


#: Microsoft Entra ID names the person's directory and object id in these claims.
ENTRA_TENANT_CLAIM, ENTRA_OBJECT_CLAIM = "tid", "oid"
_ENTRA_ID_MAX = 64


def user_from_claims(tenant: Tenant, claims: Mapping[str, Any]) -> User:
    """Find or create the user the ID token describes; keyed by the tenant's issuer and `sub`
    (with Entra ID's `tid` and `oid` where present), never by e-mail.

    A known subject bound to another issuer is refused, not taken over: pointing the tenant at
    another identity provider does not give it the tenant's people (an issuer change moves them
    only when approved, `samenleren.identity.issuers`). Name and e-mail follow the IdP at every
    login; roles that came from IdP groups are brought in line with the mapping, roles given in
    the application are left alone. Does not commit.
    """
    subject = str(claims.get("sub") or "")
    if not subject:
        raise LoginRefused("the ID token has no subject", "no_subject")
    if subject.startswith(EXTERNAL_SUBJECT_PREFIX):
        raise LoginRefused("the subject is reserved for external trainers", "reserved_subject")
    issuer = tenant.sso_issuer
    if claims.get("iss") not in (None, issuer):  # finish_authorization checked it already
        raise LoginRefused("the ID token comes from another issuer", "wrong_issuer")
    names = claim_names(tenant)
    # Claims are normalised, not refused: a control character never reaches a mail header.
    name = single_line(str(_claim(claims, names["name"]) or "")) or ""
    email = single_line(str(_claim(claims, names["email"]) or "")) or None
    if email is not None and " " in email:
        email = None  # not an address once its control characters are gone
    groups = _claim_list(_claim(claims, names["groups"]))
    entra = _entra_ids(claims)

    user = _user_by_entra_ids(entra, issuer) if entra is not None else None
    if user is None:
        user = db.session.scalar(select(User).where(User.subject == subject))
    if user is not None and user.issuer != issuer:
        raise LoginRefused(
            "the subject belongs to a user of another identity provider",
            "other_issuer",
            facts={"issuer": issuer, "bound_issuer": user.issuer or ""},
        )
    if user is not None and entra is not None and _entra_bound(user) not in (None, entra):
        raise LoginRefused(
            "the Entra ID directory or object id differs from the user's",
            "other_identity",
            facts={"issuer": issuer},
        )
    if user is None:
        user = User(subject=subject, issuer=issuer, name=name or email or subject, email=email)
        db.session.add(user)
    elif not user.active:
        raise LoginRefused("the account is deactivated", "deactivated", user)
    else:
        user.name = name or user.name
        user.email = email or user.email
        groups.extend(group for source in GROUP_SOURCES for group in source(user))
    if entra is not None and _entra_bound(user) is None:
        user.idp_tenant_id, user.idp_object_id = entra
    sync_idp_roles(user, roles_for_groups(tenant, groups))
    grant_first_admin(tenant, user, claims)
    _apply_profile_claims(user, claims, names)
    return user


def _claim(claims: Mapping[str, Any], name: str | None) -> Any:
    """The claim's value; None when the claim is not configured or absent."""
    return claims.get(name) if name else None


def _entra_ids(claims: Mapping[str, Any]) -> tuple[str, str] | None:
    """(tid, oid) when the token carries both (Microsoft Entra ID), else None."""
    tid, oid = claims.get(ENTRA_TENANT_CLAIM), claims.get(ENTRA_OBJECT_CLAIM)
    if not isinstance(tid, str) or not isinstance(oid, str) or not tid or not oid:
        return None
    if len(tid) > _ENTRA_ID_MAX or len(oid) > _ENTRA_ID_MAX:
        raise LoginRefused("the Entra ID directory or object id is too long", "token")
    return tid, oid


def _user_by_entra_ids(entra: tuple[str, str], issuer: str) -> User | None:
    """The user Entra ID's (tid, oid) names: bound at an earlier login, or provisioned by SCIM
    with the object id as `externalId` and not bound to another identity yet. Entra ID gives
    each app registration its own `sub`, so the object id is what stays the same."""
    tid, oid = entra
    user = db.session.scalar(
        select(User).where(User.idp_tenant_id == tid, User.idp_object_id == oid)
    )
    if user is not None:
        return user
    return db.session.scalar(
        select(User)
        .where(
            User.external_id == oid,
            User.idp_object_id.is_(None),
            User.issuer == issuer,
            User.subject.not_like(f"{EXTERNAL_SUBJECT_PREFIX}%"),
        )
        .order_by(User.created_at)
        .limit(1)
    )


def unlink_entra_identity(user: User, actor: User) -> None:
    """Forget the Entra ID directory and object id the user is bound to, so that the next login
    binds them anew (the person's identity at the IdP changed, e.g. after a migration of the
    directory). Audited; does not commit. Refused when nothing is bound."""
    if _entra_bound(user) is None:
        raise InvalidInput.form(
            gettext("This account is not linked to an Entra ID identity; nothing to do.")
        )
    user.idp_tenant_id = user.idp_object_id = None
    record(
        AuditAction.USER_IDENTITY_RELINKED,
        actor=actor,
        subject_type="user",
        subject_id=user.id,
    )
    db.session.flush()


def _entra_bound(user: User) -> tuple[str, str] | None:
    if user.idp_tenant_id is None or user.idp_object_id is None:
        return None
    return user.idp_tenant_id, user.idp_object_id


def _claim_text(claims: Mapping[str, Any], name: str | None) -> str | None:
    """The claim's value as text, or None when the claim is not configured, absent or empty."""
    if not name:
        return None
    value = claims.get(name)
    if isinstance(value, (list, tuple)):
        value = value[0] if len(value) == 1 else None
    if value is None or isinstance(value, (dict, bool)):
        return None
    return single_line(str(value)) or None


def _apply_profile_claims(
    user: User, claims: Mapping[str, Any], names: Mapping[str, str | None]
) -> None:
    """Department, employee number and manager from the claims the tenant named.

    A claim that is not configured or not in the token leaves the value as it is (SCIM or the
    admin may keep it). The manager claim holds the manager's `sub`; it is followed only when
    that person is already a user of this tenant, and never to the user themself.
    """
    department_name = _claim_text(claims, names.get("department"))
    if department_name is not None:
        if len(department_name) > _DEPARTMENT_NAME_MAX:
            log.warning("department claim longer than %d characters ignored", _DEPARTMENT_NAME_MAX)
        else:
            user.department_id = department_named(department_name).id
    employee_number = _claim_text(claims, names.get("employee_number"))
    if employee_number is not None:
        if len(employee_number) > _EMPLOYEE_NUMBER_MAX:
            log.warning(
                "employee number claim longer than %d characters ignored", _EMPLOYEE_NUMBER_MAX
            )
        else:
            user.employee_number = employee_number
    manager_subject = _claim_text(claims, names.get("manager"))
    if manager_subject is not None and manager_subject != user.subject:
        manager_id = db.session.scalar(
            select(User.id).where(User.subject == manager_subject, User.issuer == user.issuer)
        )
        if manager_id is not None:
            user.manager_id = manager_id


def department_named(name: str) -> Department:
    """The tenant's department of that name, created when it does not exist yet."""
    department = db.session.scalar(select(Department).where(Department.name == name))
    if department is not None:
        return department
    try:
        with db.session.begin_nested():  # two first logins of one department at the same time
            department = Department(name=name)
            db.session.add(department)
    except IntegrityError:
        department = db.session.scalar(select(Department).where(Department.name == name))
        if department is None:
            raise
    return department


def sync_idp_roles(user: User, wanted: set[Role], *, actor_label: str = "") -> None:
    """Bring the roles that come from the IdP in line with `wanted`; each change is audited
    (with no actor: the identity provider did it; `actor_label` names it, e.g. a SCIM client)."""
    from samenleren.audit.events import AuditAction
    from samenleren.audit.services import record

    if user.id is None:
        user.id = uuid.uuid4()  # a new user: the events below name it before the first flush
    current = {a.role: a for a in user.role_assignments if a.source is RoleSource.IDP}
    changes = []
    for role, assignment in current.items():
        if role not in wanted:
            user.role_assignments.remove(assignment)
            changes.append((AuditAction.ROLE_REMOVED, role))
    for role in sorted(wanted - set(current)):
        user.role_assignments.append(RoleAssignment(role=role, source=RoleSource.IDP))
        changes.append((AuditAction.ROLE_ADDED, role))
    for action, role in changes:
        record(
            action,
            actor_label=actor_label,
            subject_type="user",
            subject_id=user.id,
            details={"role": role.value, "source": RoleSource.IDP.value},
        )
