"""SCIM filters (RFC 7644 §3.4.2.2) translated into SQL conditions on our tables.

`scim2-models` parses and checks the filter against the published schema (an unknown attribute
is already refused there); this module walks its syntax tree and builds one SQLAlchemy condition,
so filtering and paging happen in the database and `totalResults` is exact. Every comparison
reads a column or an indexed relation; an attribute or operator we cannot evaluate in SQL is
refused with `invalidFilter`, never filtered in Python after paging.

Supported, on Users: `id`, `userName`, `externalId`, `displayName`, `active`, `emails` /
`emails.value` (the address we mail), `meta.created`, `meta.lastModified` and, with the
enterprise URN, `employeeNumber`, `department`, `manager` / `manager.value`. On Groups: `id`,
`displayName`, `externalId`, `members` / `members.value`, `meta.created`, `meta.lastModified`.
Operators: `eq ne co sw ew pr` on text, `eq ne pr` on `active` and ids, `eq gt ge lt le` on
the dates; `and`, `or`, `not` and parentheses.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from scim2_models import InvalidFilterException, ScimFilter
from scim2_models.path import (
    CompareOperator,
    Comparison,
    FilterVisitor,
    LogicalExpr,
    LogicalOperator,
    Not,
    Present,
    ValuePath,
)
from sqlalchemy import ColumnElement, and_, exists, false, func, not_, or_, select, true

from samenleren.identity.models import Department, User
from samenleren.scim.models import ScimGroup, ScimGroupMember

_CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:user:"
_ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:"
_CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:group:"

_TEXT_OPERATORS = {
    CompareOperator.eq,
    CompareOperator.ne,
    CompareOperator.co,
    CompareOperator.sw,
    CompareOperator.ew,
}
_IDENTITY_OPERATORS = {CompareOperator.eq, CompareOperator.ne}
_DATE_OPERATORS = {
    CompareOperator.eq,
    CompareOperator.gt,
    CompareOperator.ge,
    CompareOperator.lt,
    CompareOperator.le,
}


@dataclass(frozen=True)
class _Attribute:
    """How one SCIM attribute is read in SQL.

    `compare(operator, value)` builds the condition for a comparison (already validated), and
    `present()` the condition for `pr`.
    """

    kind: str  #: "text", "id", "bool" or "date": which operators it takes
    compare: Callable[[CompareOperator, Any], ColumnElement[bool]]
    present: Callable[[], ColumnElement[bool]]


def _like_pattern(operator: CompareOperator, text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    if operator is CompareOperator.co:
        return f"%{escaped}%"
    if operator is CompareOperator.sw:
        return f"{escaped}%"
    return f"%{escaped}"


def _text(column: Any, *, case_exact: bool) -> _Attribute:
    """A text column; compared case-insensitively unless the attribute is caseExact."""

    def compare(operator: CompareOperator, value: Any) -> ColumnElement[bool]:
        if not isinstance(value, str):
            raise InvalidFilterException(detail="A text attribute is compared with a string")
        left = column if case_exact else func.lower(column)
        right = value if case_exact else value.lower()
        if operator is CompareOperator.eq:
            return and_(column.is_not(None), left == right)
        if operator is CompareOperator.ne:
            return or_(column.is_(None), left != right)
        return and_(column.is_not(None), left.like(_like_pattern(operator, right), escape="\\"))

    def present() -> ColumnElement[bool]:
        return and_(column.is_not(None), column != "")

    return _Attribute("text", compare, present)


def _identifier(column: Any) -> _Attribute:
    """A uuid column holding a resource id: a value that is no uuid matches nothing."""

    def compare(operator: CompareOperator, value: Any) -> ColumnElement[bool]:
        try:
            key = uuid.UUID(str(value))
        except ValueError:
            return false() if operator is CompareOperator.eq else true()
        if operator is CompareOperator.eq:
            return and_(column.is_not(None), column == key)
        return or_(column.is_(None), column != key)

    return _Attribute("id", compare, lambda: column.is_not(None))


def _boolean(column: Any) -> _Attribute:
    def compare(operator: CompareOperator, value: Any) -> ColumnElement[bool]:
        if not isinstance(value, bool):
            raise InvalidFilterException(detail="active is compared with true or false")
        return column == value if operator is CompareOperator.eq else column != value

    return _Attribute("bool", compare, lambda: true())


def _moment(column: Any) -> _Attribute:
    def compare(operator: CompareOperator, value: Any) -> ColumnElement[bool]:
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            raise InvalidFilterException(
                detail=f"{value!r} is not a date and time (e.g. 2026-01-31T08:00:00Z)"
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        comparisons = {
            CompareOperator.eq: column == moment,
            CompareOperator.gt: column > moment,
            CompareOperator.ge: column >= moment,
            CompareOperator.lt: column < moment,
            CompareOperator.le: column <= moment,
        }
        return and_(column.is_not(None), comparisons[operator])

    return _Attribute("date", compare, lambda: column.is_not(None))


def _department_name() -> _Attribute:
    name = (
        select(Department.name)
        .where(Department.tenant_id == User.tenant_id, Department.id == User.department_id)
        .scalar_subquery()
    )
    return _text(name, case_exact=False)


def _group_members() -> _Attribute:
    def compare(operator: CompareOperator, value: Any) -> ColumnElement[bool]:
        try:
            key = uuid.UUID(str(value))
        except ValueError:
            return false() if operator is CompareOperator.eq else true()
        member = exists().where(
            ScimGroupMember.tenant_id == ScimGroup.tenant_id,
            ScimGroupMember.group_id == ScimGroup.id,
            ScimGroupMember.user_id == key,
        )
        return member if operator is CompareOperator.eq else not_(member)

    def present() -> ColumnElement[bool]:
        return exists().where(
            ScimGroupMember.tenant_id == ScimGroup.tenant_id,
            ScimGroupMember.group_id == ScimGroup.id,
        )

    return _Attribute("id", compare, present)


def _user_attributes() -> dict[str, _Attribute]:
    return {
        _CORE_USER + "id": _identifier(User.id),
        _CORE_USER + "username": _text(User.subject, case_exact=True),
        _CORE_USER + "externalid": _text(User.external_id, case_exact=True),
        _CORE_USER + "displayname": _text(User.name, case_exact=False),
        _CORE_USER + "active": _boolean(User.active),
        _CORE_USER + "emails": _text(User.email, case_exact=False),
        _CORE_USER + "emails.value": _text(User.email, case_exact=False),
        _CORE_USER + "meta.created": _moment(User.created_at),
        _CORE_USER + "meta.lastmodified": _moment(User.updated_at),
        _ENTERPRISE + "employeenumber": _text(User.employee_number, case_exact=False),
        _ENTERPRISE + "department": _department_name(),
        _ENTERPRISE + "manager": _identifier(User.manager_id),
        _ENTERPRISE + "manager.value": _identifier(User.manager_id),
    }


def _group_attributes() -> dict[str, _Attribute]:
    return {
        _CORE_GROUP + "id": _identifier(ScimGroup.id),
        _CORE_GROUP + "displayname": _text(ScimGroup.display_name, case_exact=False),
        _CORE_GROUP + "externalid": _text(ScimGroup.external_id, case_exact=True),
        _CORE_GROUP + "members": _group_members(),
        _CORE_GROUP + "members.value": _group_members(),
        _CORE_GROUP + "meta.created": _moment(ScimGroup.created_at),
        _CORE_GROUP + "meta.lastmodified": _moment(ScimGroup.updated_at),
    }


_ALLOWED = {
    "text": _TEXT_OPERATORS,
    "id": _IDENTITY_OPERATORS,
    "bool": _IDENTITY_OPERATORS,
    "date": _DATE_OPERATORS,
}


_ABSENT = _Attribute("absent", lambda operator, value: false(), lambda: false())


class _SqlVisitor(FilterVisitor[ColumnElement[bool]]):
    def __init__(
        self, scim_filter: ScimFilter[Any], attributes: dict[str, _Attribute], *, lenient: bool
    ):
        self.filter = scim_filter
        self.attributes = attributes
        #: A search over several resource types: an attribute this type does not have matches
        #: nothing here (RFC 7644 §3.4.2.1) instead of refusing the filter.
        self.lenient = lenient

    def _attribute(self, binding: Any, written: object) -> _Attribute:
        if binding is None and self.lenient:
            return _ABSENT
        attribute = self.attributes.get(binding.urn.lower()) if binding is not None else None
        if attribute is None:
            raise InvalidFilterException(
                detail=f"Filtering on {written} is not supported. Supported: "
                + ", ".join(sorted(_short(urn) for urn in self.attributes))
            )
        return attribute

    def visit_comparison(self, node: Comparison) -> ColumnElement[bool]:
        binding = self.filter.resolve_comparison(node.attr_path, strict=not self.lenient)
        attribute = self._attribute(binding, node.attr_path)
        if attribute is not _ABSENT and node.op not in _ALLOWED[attribute.kind]:
            raise InvalidFilterException(
                detail=f"The operator {node.op.value} is not supported on {node.attr_path}"
            )
        return attribute.compare(node.op, node.value)

    def visit_present(self, node: Present) -> ColumnElement[bool]:
        binding = self.filter.resolve(node.attr_path, strict=not self.lenient)
        if binding is not None and binding.sub_field_name is None:
            # `emails pr` and `members pr` test the attribute as a whole.
            binding = self.filter.resolve_comparison(node.attr_path, strict=True)
        return self._attribute(binding, node.attr_path).present()

    def visit_not(self, node: Not) -> ColumnElement[bool]:
        # Comparisons above never yield NULL, so NOT is the plain negation.
        return not_(self.visit(node.expr))

    def visit_logical_expr(self, node: LogicalExpr) -> ColumnElement[bool]:
        terms = [self.visit(term) for term in node.terms]
        return and_(*terms) if node.op is LogicalOperator.and_ else or_(*terms)

    def visit_value_path(self, node: ValuePath) -> ColumnElement[bool]:
        raise InvalidFilterException(
            detail=f"Value filters such as {node} are not supported: compare "
            f"{node.attr_path}.value instead"
        )


def _short(urn: str) -> str:
    for prefix in (_CORE_USER, _CORE_GROUP):
        if urn.startswith(prefix):
            return _CANONICAL.get(urn[len(prefix) :], urn[len(prefix) :])
    if urn.startswith(_ENTERPRISE):
        name = urn[len(_ENTERPRISE) :]
        return "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:" + _CANONICAL.get(
            name, name
        )
    return urn


_CANONICAL = {
    "username": "userName",
    "externalid": "externalId",
    "displayname": "displayName",
    "emails.value": "emails.value",
    "meta.created": "meta.created",
    "meta.lastmodified": "meta.lastModified",
    "employeenumber": "employeeNumber",
    "manager.value": "manager.value",
    "members.value": "members.value",
}


def user_condition(
    scim_filter: ScimFilter[Any] | None, model: type, *, lenient: bool = False
) -> ColumnElement[bool]:
    """The SQL condition on `User` that the filter stands for (true without a filter).

    `model` is the User resource model the filter is read against; `lenient` for a search over
    several resource types.
    """
    if scim_filter is None:
        return true()
    bound = ScimFilter[model](str(scim_filter))  # type: ignore[valid-type]
    return _SqlVisitor(bound, _user_attributes(), lenient=lenient).visit(bound.ast)


def group_condition(
    scim_filter: ScimFilter[Any] | None, model: type, *, lenient: bool = False
) -> ColumnElement[bool]:
    """The SQL condition on `ScimGroup` that the filter stands for (true without a filter)."""
    if scim_filter is None:
        return true()
    bound = ScimFilter[model](str(scim_filter))  # type: ignore[valid-type]
    return _SqlVisitor(bound, _group_attributes(), lenient=lenient).visit(bound.ast)
