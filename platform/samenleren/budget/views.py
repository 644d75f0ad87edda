"""The budget pages of the programme admin: the year overview, expenses (add, change, remove,
import), the year's budget and the names of the categories."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, abort, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import and_, select

from samenleren.budget import ledger
from samenleren.budget.actuals import add_actual, delete_actual, update_actual
from samenleren.budget.forms import ActualForm, BudgetForm, actual_values, budget_values
from samenleren.budget.importing import MAX_BYTES, ImportRefused, Problem, import_actuals
from samenleren.budget.models import DEFAULT_NAMES, Actual, Category, CategoryName
from samenleren.budget.planning import rename_categories, set_year_budget
from samenleren.catalogue.models import Edition, Training
from samenleren.core.errors_input import InvalidInput
from samenleren.core.extensions import db
from samenleren.core.formatting import local_today
from samenleren.core.money import show_euros
from samenleren.core.web import form_action, get_or_404, require_roles, see_other
from samenleren.identity.models import Role

bp = Blueprint("budget", __name__, template_folder="templates")
require_roles(bp, Role.PROGRAMME_ADMIN)


def _year(raw: str | None) -> int:
    """The year asked for (`?year=`), this year when none; an impossible year looks missing."""
    if not raw:
        return local_today().year
    try:
        year = int(raw)
    except ValueError:
        abort(404)
    if not 2000 <= year <= 2100:
        abort(404)
    return year


@bp.get("/<tenant>/budget/")
def show_budget() -> ResponseReturnValue:
    year = _year(request.args.get("year"))
    actuals = ledger.actuals_of(year)
    overview = ledger.year_overview(year, actuals=actuals)
    return render_template(
        "budget/show_budget.html",
        year=year,
        overview=overview,
        actuals=actuals,
        names={line.key: line.name for line in overview.categories},
        trainings=ledger.training_costs(overview.editions),
        costs=ledger.overview_costs(overview),
    )


# --- expenses -----------------------------------------------------------------------------------


def _edition_choices() -> list[tuple[uuid.UUID, str]]:
    rows = db.session.execute(
        select(Edition.id, Training.title, Edition.name, Edition.starts_on)
        .join(
            Training,
            and_(Training.tenant_id == Edition.tenant_id, Training.id == Edition.training_id),
        )
        .order_by(Edition.starts_on.desc(), Training.title)
    )
    return [
        (edition_id, f"{title} · {name} ({starts_on.isoformat()})")
        for edition_id, title, name, starts_on in rows
    ]


def _render_actual(
    actual: Actual | None, values: dict[str, str], errors: dict[str, str]
) -> ResponseReturnValue:
    names = ledger.category_names()
    return render_template(
        "budget/actual_form.html",
        actual=actual,
        values=values,
        errors=errors,
        categories=[(str(c), names[str(c)]) for c in Category],
        editions=_edition_choices(),
    )


@bp.route("/<tenant>/budget/actuals/new", methods=["GET", "POST"])
def new_actual() -> ResponseReturnValue:
    if request.method == "GET":
        return _render_actual(None, {"spent_on": local_today().isoformat()}, {})
    form = ActualForm.parse(request.form)

    def add() -> Actual:
        if form.errors or form.data is None:
            raise InvalidInput(form.errors)
        return add_actual(form.data, current_user)

    return form_action(
        add,
        invalid=lambda errors: _render_actual(None, form.values, errors),
        done=lambda actual: see_other("budget.show_budget", year=actual.spent_on.year),
        message=lambda actual: gettext(
            "The expense of %(amount)s is booked.", amount=show_euros(actual.amount_cents)
        ),
    )


@bp.route("/<tenant>/budget/actuals/<uuid:actual_id>/edit", methods=["GET", "POST"])
def edit_actual(actual_id: uuid.UUID) -> ResponseReturnValue:
    actual = get_or_404(Actual, actual_id)
    if request.method == "GET":
        return _render_actual(actual, actual_values(actual), {})
    form = ActualForm.parse(request.form)

    def update() -> Actual:
        if form.errors or form.data is None:
            raise InvalidInput(form.errors)
        return update_actual(actual, form.data, current_user)

    return form_action(
        update,
        # The rollback expired the row: the page is made from a fresh load.
        invalid=lambda errors: _render_actual(get_or_404(Actual, actual_id), form.values, errors),
        done=lambda saved: see_other("budget.show_budget", year=saved.spent_on.year),
        message=gettext("The expense is saved."),
    )


@bp.post("/<tenant>/budget/actuals/<uuid:actual_id>/delete")
def remove_actual(actual_id: uuid.UUID) -> ResponseReturnValue:
    actual = get_or_404(Actual, actual_id)
    return form_action(
        lambda: delete_actual(actual, current_user),
        invalid=lambda errors: _render_actual(get_or_404(Actual, actual_id), {}, errors),
        done=lambda year: see_other("budget.show_budget", year=year),
        message=gettext("The expense is removed."),
    )


# --- import -------------------------------------------------------------------------------------


def _render_import(errors: dict[str, str], problems: list[Problem]) -> ResponseReturnValue:
    return render_template(
        "budget/import.html",
        errors=errors,
        problems=problems,
        max_megabytes=MAX_BYTES // 1_000_000,
        categories=list(ledger.category_names().values()),
    )


@bp.route("/<tenant>/budget/import", methods=["GET", "POST"])
def import_file() -> ResponseReturnValue:
    if request.method == "GET":
        return _render_import({}, [])
    upload = request.files.get("file")
    refused: list[Problem] = []

    def run() -> Any:
        if upload is None or not upload.filename:
            raise InvalidInput({"file": gettext("Choose a CSV or Excel (XLSX) file.")})
        try:
            return import_actuals(upload.filename, upload.read(MAX_BYTES + 1), current_user)
        except ImportRefused as problem:
            refused.extend(problem.problems)
            raise

    return form_action(
        run,
        invalid=lambda errors: _render_import(errors, refused),
        done=see_other("budget.show_budget"),
        message=lambda result: gettext(
            "%(count)d expenses imported, together %(amount)s.",
            count=result.rows,
            amount=show_euros(result.total_cents),
        ),
    )


# --- the year's budget and the categories -------------------------------------------------------


def _render_plan(year: int, values: dict[str, str], errors: dict[str, str]) -> ResponseReturnValue:
    names = ledger.category_names()
    return render_template(
        "budget/plan.html",
        year=year,
        values=values,
        errors=errors,
        categories=[(str(c), names[str(c)]) for c in Category],
        default_amount=ledger.default_amount(),
    )


@bp.route("/<tenant>/budget/plan", methods=["GET", "POST"])
def plan_year() -> ResponseReturnValue:
    year = _year(request.values.get("year"))
    if request.method == "GET":
        row = ledger.find_year(year)
        if row is not None:
            values = budget_values(row.amount_cents, row.allocations or {})
        else:
            values = budget_values(ledger.default_amount(), {})
        return _render_plan(year, values, {})
    form = BudgetForm.parse(request.form)

    def save() -> None:
        if form.errors:
            raise InvalidInput(form.errors)
        set_year_budget(year, form.amount_cents, form.allocations, current_user)

    return form_action(
        save,
        invalid=lambda errors: _render_plan(year, form.values, errors),
        done=see_other("budget.show_budget", year=year),
        message=gettext("The budget of %(year)s is saved.", year=str(year)),
    )


@bp.route("/<tenant>/budget/categories", methods=["GET", "POST"])
def edit_categories() -> ResponseReturnValue:
    own: dict[str, str] = dict(
        db.session.execute(select(CategoryName.category, CategoryName.name)).all()
    )

    def render(values: dict[str, str], errors: dict[str, str]) -> ResponseReturnValue:
        return render_template(
            "budget/categories.html",
            categories=[(str(key), str(label)) for key, label in DEFAULT_NAMES.items()],
            values=values,
            errors=errors,
        )

    if request.method == "GET":
        return render({f"name-{key}": name for key, name in own.items()}, {})
    values = {f"name-{c}": request.form.get(f"name-{c}", "", type=str) for c in Category}

    return form_action(
        lambda: rename_categories({str(c): values[f"name-{c}"] for c in Category}, current_user),
        invalid=lambda errors: render(values, errors),
        done=see_other("budget.show_budget"),
        message=gettext("The names of the categories are saved."),
    )
