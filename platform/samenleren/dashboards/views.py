"""Pages of the dashboards domain: one dashboard per role, and the start page that shows one.

`/<tenant>/dashboard/<role>` are five fixed routes (no URL arguments besides the tenant); a user
without the role gets 404 there, as if the page did not exist. The tenant's home page
(`dashboards.home`) shows visitors the tenant's landing page and employees the dashboard last
chosen here, else the most relevant one.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, render_template, session
from flask_babel import format_decimal
from flask_login import current_user

from samenleren.core.tenancy import current_tenant
from samenleren.core.web import role_required
from samenleren.dashboards.boards import Board, boards_of, start_board, welcome_of
from samenleren.dashboards.coach import coach_dashboard
from samenleren.dashboards.learner import learner_dashboard
from samenleren.dashboards.manager import manager_dashboard
from samenleren.dashboards.programme import programme_dashboard
from samenleren.dashboards.trainer import trainer_dashboard
from samenleren.identity.models import Role, User

bp = Blueprint("dashboards", __name__, template_folder="templates")

#: The Flask session remembers the dashboard chosen last (a login starts a fresh session).
CHOSEN = "dashboard"

_LOADERS: dict[Board, Callable[[User], object]] = {
    Board.LEARNER: learner_dashboard,
    Board.COACH: coach_dashboard,
    Board.MANAGER: manager_dashboard,
    Board.TRAINER: trainer_dashboard,
    Board.PROGRAMME: programme_dashboard,
}


def render_dashboard(board: Board | None, *, start_page: bool = False) -> str:
    """The page with the welcome, the role switcher and `board`'s dashboard (None: no role)."""
    data = _LOADERS[board](current_user) if board is not None else None
    return render_template(
        f"dashboards/{board.value if board else 'no_role'}.html",
        board=board,
        boards=boards_of(current_user),
        welcome=welcome_of(current_user),
        data=data,
        start_page=start_page,
        format_decimal=format_decimal,
    )


@bp.get("/<tenant>/")
def home() -> str:
    """A landing page for visitors; for employees, the dashboard of their role."""
    if not current_user.is_authenticated:
        return render_template("tenants/landing.html", tenant=current_tenant())
    return render_dashboard(start_board(current_user, session.get(CHOSEN)), start_page=True)


def _show(board: Board) -> str:
    if session.get(CHOSEN) != board.value:
        session[CHOSEN] = board.value
    return render_dashboard(board)


@bp.get("/<tenant>/dashboard/learner")
@role_required(Role.LEARNER)
def learner():
    return _show(Board.LEARNER)


@bp.get("/<tenant>/dashboard/coach")
@role_required(Role.COACH)
def coach():
    return _show(Board.COACH)


@bp.get("/<tenant>/dashboard/manager")
@role_required(Role.MANAGER)
def manager():
    return _show(Board.MANAGER)


@bp.get("/<tenant>/dashboard/trainer")
@role_required(Role.TRAINER)
def trainer():
    return _show(Board.TRAINER)


@bp.get("/<tenant>/dashboard/programme")
@role_required(Role.PROGRAMME_ADMIN)
def programme():
    return _show(Board.PROGRAMME)
