"""Finding people in a tenant of any size: the employees list and every picker of people.

A province has up to 15,000 employees, so no page lists them all: the employees page is a
search with filters, a page at a time, and a picker (coach, trainer, manager, participant) is a
search field whose matches are offered to choose from (`search_people`). Matching is on the
name, the e-mail address and the employee number, case-insensitive, anywhere in the text; every
query is bounded by its page size.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Response, jsonify
from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import aliased

from samenleren.core.extensions import db
from samenleren.identity.models import Department, Role, RoleAssignment, User

#: People per page of the employees list.
PAGE_SIZE = 50
#: Matches a picker offers; more means: type more of the name.
PICKER_MATCHES = 20
#: Fewer characters than this search nothing (a single letter would match half the tenant).
MIN_QUERY = 2
QUERY_MAX = 100
#: Pages beyond this are refused as input (nobody pages that far; a search narrows it).
MAX_PAGE = 1_000


@dataclass(frozen=True)
class Person:
    id: uuid.UUID
    name: str
    email: str | None
    employee_number: str | None
    department: str | None
    manager: str | None = None
    roles: tuple[Role, ...] = ()


@dataclass(frozen=True)
class PeopleFilter:
    q: str = ""
    department_id: uuid.UUID | None = None
    role: Role | None = None
    page: int = 1

    @property
    def searching(self) -> bool:
        return len(self.q) >= MIN_QUERY


@dataclass
class PeoplePage:
    people: list[Person] = field(default_factory=list)
    page: int = 1
    has_next: bool = False


def clean_query(raw: str | None) -> str:
    """The search text as typed, trimmed and bounded (never an error: a search is not a form).
    Control characters are left out: nobody types them, and PostgreSQL refuses a NUL."""
    text = "".join(ch if ch.isprintable() else " " for ch in (raw or ""))
    return " ".join(text.split())[:QUERY_MAX]


def parse_uuid(raw: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw or "")
    except ValueError:
        return None


def parse_page(raw: str | None) -> int:
    try:
        page = int(raw or "1")
    except ValueError:
        return 1
    return min(max(page, 1), MAX_PAGE)


def people_filter(args: Mapping[str, str]) -> PeopleFilter:
    """The filter from a GET query; values that are not what they should be are left out."""
    role = args.get("role") or ""
    return PeopleFilter(
        q=clean_query(args.get("q")),
        department_id=parse_uuid(args.get("department")),
        role=Role(role) if role in {r.value for r in Role} else None,
        page=parse_page(args.get("page")),
    )


def _matching(query: Any, q: str) -> Any:
    """Rows whose name, e-mail address or employee number contain every word of `q`."""
    for word in q.split():
        query = query.where(
            or_(
                User.name.icontains(word, autoescape=True),
                User.email.icontains(word, autoescape=True),
                User.employee_number.icontains(word, autoescape=True),
            )
        )
    return query


def _has_role(role: Role):
    return exists().where(
        RoleAssignment.tenant_id == User.tenant_id,
        RoleAssignment.user_id == User.id,
        RoleAssignment.role == role,
    )


def search_people(
    q: str,
    *,
    role: Role | None = None,
    exclude: Collection[uuid.UUID] = (),
    where: Any = None,
    limit: int = PICKER_MATCHES,
    include_departed: bool = False,
) -> list[Person]:
    """Active people matching `q` for a picker (none while `q` is shorter than `MIN_QUERY`),
    by name; at most `limit`. `role`: only people holding it; `exclude`: ids left out; `where`:
    a condition on `User` of the picker's own (e.g. not in the coach pool yet);
    `include_departed`: people who left too (a legal hold is most often about one of them)."""
    q = clean_query(q)
    if len(q) < MIN_QUERY:
        return []
    query = (
        select(
            User.id,
            User.name,
            User.email,
            User.employee_number,
            Department.name.label("department"),
        )
        .outerjoin(Department, Department.id == User.department_id)
        .order_by(User.name, User.id)
        .limit(limit)
    )
    if not include_departed:
        query = query.where(User.active.is_(True))
    if role is not None:
        query = query.where(_has_role(role))
    if exclude:
        query = query.where(User.id.not_in(list(exclude)))
    if where is not None:
        query = query.where(where)
    return [
        Person(row.id, row.name, row.email, row.employee_number, row.department)
        for row in db.session.execute(_matching(query, q))
    ]


def detail(person: Person) -> str:
    """What tells two people of the same name apart in a picker: department and e-mail address."""
    return ", ".join(part for part in (person.department, person.email) if part)


def picker_answer(people: list[Person]) -> Response:
    """The JSON a picker's search field (`static/picker.js`) asks for: the matches' id, name and
    what tells them apart, nothing more; never stored by the browser."""
    response = jsonify(
        matches=[
            {"id": str(person.id), "name": person.name, "detail": detail(person)}
            for person in people
        ]
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def list_people(people: PeopleFilter) -> PeoplePage:
    """A page of the employees list: active people, by name, with department, manager and roles
    (one query)."""
    manager = aliased(User)
    roles = (
        select(func.aggregate_strings(RoleAssignment.role, ","))
        .where(RoleAssignment.tenant_id == User.tenant_id, RoleAssignment.user_id == User.id)
        .scalar_subquery()
    )
    query = (
        select(
            User.id,
            User.name,
            User.email,
            User.employee_number,
            Department.name.label("department"),
            manager.name.label("manager"),
            roles.label("roles"),
        )
        .outerjoin(Department, Department.id == User.department_id)
        .outerjoin(
            manager, and_(manager.tenant_id == User.tenant_id, manager.id == User.manager_id)
        )
        .where(User.active.is_(True))
        .order_by(User.name, User.id)
        .limit(PAGE_SIZE + 1)
        .offset((people.page - 1) * PAGE_SIZE)
    )
    if people.q:
        query = _matching(query, people.q)
    if people.department_id is not None:
        query = query.where(User.department_id == people.department_id)
    if people.role is not None:
        query = query.where(_has_role(people.role))
    rows = db.session.execute(query).all()
    found = [
        Person(
            row.id,
            row.name,
            row.email,
            row.employee_number,
            row.department,
            row.manager,
            tuple(Role(value) for value in sorted(set((row.roles or "").split(","))) if value),
        )
        for row in rows[:PAGE_SIZE]
    ]
    return PeoplePage(found, people.page, len(rows) > PAGE_SIZE)


def departments() -> list[tuple[uuid.UUID, str]]:
    """(id, name) of the tenant's departments, by name (for filters)."""
    return list(
        db.session.execute(select(Department.id, Department.name).order_by(Department.name))
    )
