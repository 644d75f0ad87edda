"""Correcting a person's profile (AVG art. 16): the fields the platform itself holds.

Which fields the identity provider owns decides what an administrator may correct here:

* name and e-mail address: always the identity provider's (every login and every SCIM update
  overwrites them); corrected at the source, in the province's own directory;
* employee number, department and manager: the identity provider's when the tenant takes them
  from a login claim (SSO settings) or the person is provisioned by SCIM; otherwise the
  platform's, and correctable here;
* language: the platform's (the person's own choice, or the organisation's default).

Every correction is audited with the administrator's reason and the names of the changed fields
(never the old or new values).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from flask_babel import gettext
from sqlalchemy import or_, select

from samenleren.audit.events import AuditAction
from samenleren.audit.services import record
from samenleren.core.config import LANGUAGES
from samenleren.core.errors_input import InvalidInput
from samenleren.core.extensions import db
from samenleren.core.tenancy import require_tenant
from samenleren.core.text import control_characters_message, has_control_characters
from samenleren.identity.models import Department, Role, User
from samenleren.privacy.restriction import _clean_reason

EDITABLE = ("employee_number", "department", "manager", "language")
EMPLOYEE_NUMBER_MAX = 64


def idp_fields(person: User) -> set[str]:
    """The profile fields of `person` the identity provider owns (not correctable here)."""
    owned = {"name", "email"}
    if person.scim_attributes:
        owned |= {"employee_number", "department", "manager"}
    tenant = require_tenant()
    if tenant.sso_claim_employee_number:
        owned.add("employee_number")
    if tenant.sso_claim_department:
        owned.add("department")
    if tenant.sso_claim_manager:
        owned.add("manager")
    return owned


@dataclass(frozen=True)
class ProfileInput:
    """What the form posted; None for a field it did not post (kept as it is)."""

    employee_number: str | None = None
    #: A department id, or "" for none.
    department: str | None = None
    #: The manager's e-mail address or employee number, or "" for none.
    manager: str | None = None
    #: A language code, or "" to follow the organisation.
    language: str | None = None


def rectify(person: User, actor: User, values: ProfileInput, reason: str | None) -> list[str]:
    """Correct the platform's own fields of `person`; returns the names of those changed."""
    if not actor.has_role(Role.PROGRAMME_ADMIN):  # the pages check it too
        raise InvalidInput.form(gettext("Only a programme administrator can do this."))
    errors: dict[str, str] = {}
    try:
        clean_reason = _clean_reason(reason)
    except InvalidInput as error:
        errors.update(error.errors)
        clean_reason = ""
    owned = idp_fields(person)
    current: dict[str, object] = {
        "employee_number": person.employee_number,
        "department": person.department_id,
        "manager": person.manager_id,
        "language": person.locale,
    }
    wanted: dict[str, object] = {}
    number = (values.employee_number or "").strip()
    if len(number) > EMPLOYEE_NUMBER_MAX:
        errors["employee_number"] = gettext("At most %(count)d characters.", count=64)
    elif has_control_characters(number):
        errors["employee_number"] = control_characters_message()
    wanted["employee_number"] = number or None
    department_id = None
    if values.department:  # None (not posted) and "" (none) both pass
        try:
            department_id = uuid.UUID(values.department)
        except ValueError:
            department_id = None
        if (
            department_id is None
            or db.session.get(Department, (person.tenant_id, department_id)) is None
        ):
            errors["department"] = gettext("Choose a department from the list.")
    wanted["department"] = department_id
    manager_id = None
    text = (values.manager or "").strip()
    if text:
        matches = list(
            db.session.scalars(
                select(User.id)
                .where(or_(User.email == text, User.employee_number == text), User.active.is_(True))
                .limit(2)
            )
        )
        if len(matches) != 1:
            errors["manager"] = gettext(
                "Nobody (or more than one person) has this e-mail address or employee number."
            )
        elif matches[0] == person.id:
            errors["manager"] = gettext("Someone cannot be their own manager.")
        else:
            manager_id = matches[0]
    wanted["manager"] = manager_id
    language = (values.language or "").strip()
    if language and language not in LANGUAGES:
        errors["language"] = gettext("Choose a language from the list.")
    wanted["language"] = language or None
    for name in EDITABLE:
        if getattr(values, name) is None:  # not on the form: kept
            wanted[name] = current[name]
            errors.pop(name, None)
    changed = [name for name in EDITABLE if wanted[name] != current[name]]
    for name in changed:
        if name in owned and name not in errors:
            errors[name] = gettext(
                "This comes from the identity provider; correct it in the organisation's own "
                "directory."
            )
    if errors:
        raise InvalidInput(errors)
    if not changed:
        raise InvalidInput.form(gettext("Nothing was changed."))
    if "employee_number" in changed:
        person.employee_number = wanted["employee_number"]  # type: ignore[assignment]
    if "department" in changed:
        person.department_id = department_id
    if "manager" in changed:
        person.manager_id = manager_id
    if "language" in changed:
        person.locale = wanted["language"]  # type: ignore[assignment]
    record(
        AuditAction.PROFILE_RECTIFIED,
        actor=actor,
        subject_type="user",
        subject_id=person.id,
        details={"fields": ",".join(changed), "reason": clean_reason},
    )
    db.session.flush()
    return changed
