"""Which dashboards a user has (one per role), which one the start page shows, and the welcome
line above them."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sqlalchemy import (
    ScalarSelect,
    select,
)

from samenleren.core.extensions import db
from samenleren.identity.models import Department, Role, User


class Board(enum.StrEnum):
    """A dashboard; each belongs to one role (the URL says `programme` for the admin's)."""

    LEARNER = "learner"
    COACH = "coach"
    MANAGER = "manager"
    TRAINER = "trainer"
    PROGRAMME = "programme"

    @property
    def role(self) -> Role:
        return Role.PROGRAMME_ADMIN if self is Board.PROGRAMME else Role(self.value)


#: The order of the role switcher.
BOARDS = (Board.LEARNER, Board.COACH, Board.MANAGER, Board.TRAINER, Board.PROGRAMME)
#: Which dashboard the start page shows before the user has chosen one: where others wait on
#: the user's work first, the own learning last.
RELEVANCE = (Board.PROGRAMME, Board.MANAGER, Board.COACH, Board.TRAINER, Board.LEARNER)


def boards_of(user: User) -> list[Board]:
    roles = user.roles
    return [board for board in BOARDS if board.role in roles]


def start_board(user: User, remembered: str | None) -> Board | None:
    """The dashboard of the start page: the one last chosen, else the most relevant one."""
    boards = boards_of(user)
    for board in boards:
        if board.value == remembered:
            return board
    return next((board for board in RELEVANCE if board in boards), None)


@dataclass(frozen=True)
class Welcome:
    manager_name: str | None = None
    department_name: str | None = None


def welcome_of(user: User) -> Welcome:
    """The names of the user's manager and department (one query; none when neither is set)."""
    if user.manager_id is None and user.department_id is None:
        return Welcome()
    manager: ScalarSelect[str | None] = (
        select(User.name).where(User.id == user.manager_id).scalar_subquery()
    )
    department: ScalarSelect[str | None] = (
        select(Department.name).where(Department.id == user.department_id).scalar_subquery()
    )
    manager_name, department_name = db.session.execute(select(manager, department)).one()
    return Welcome(manager_name, department_name)
