"""Setting a year's budget (and what each category gets of it) and renaming the categories."""

from __future__ import annotations

from flask_babel import gettext
from sqlalchemy import select

from samenleren.audit.events import AuditAction
from samenleren.audit.services import record
from samenleren.budget.ledger import check_thresholds, find_year
from samenleren.budget.models import DEFAULT_NAMES, BudgetYear, Category, CategoryName
from samenleren.catalogue.access import require_admin
from samenleren.core.errors_input import InvalidInput
from samenleren.core.extensions import db
from samenleren.core.money import MAX_CENTS
from samenleren.identity.models import User

NAME_MAX = 100
EARLIEST_YEAR, LATEST_YEAR = 2000, 2100


def set_year_budget(
    year: int, amount_cents: int, allocations: dict[str, int], actor: User
) -> BudgetYear:
    """The year's budget and the part set aside per category (a category left out of
    `allocations` gets no amount of its own). The parts may not add up to more than the whole."""
    require_admin(actor)
    errors: dict[str, str] = {}
    if not EARLIEST_YEAR <= year <= LATEST_YEAR:
        errors["year"] = gettext(
            "Give a year between %(first)s and %(last)s.",
            first=str(EARLIEST_YEAR),
            last=str(LATEST_YEAR),
        )
    if not 0 <= amount_cents <= MAX_CENTS:
        errors["amount"] = gettext("Give an amount of at least 0.")
    keys = {str(c) for c in Category}
    for key, cents in allocations.items():
        if key not in keys:
            errors["__form__"] = gettext("Choose a category from the list.")
        elif cents < 0:
            errors[f"allocation-{key}"] = gettext("Give an amount of at least 0.")
    if not errors and sum(allocations.values()) > amount_cents:
        errors["amount"] = gettext(
            "The categories together get more than the budget of the year: raise the budget or "
            "lower the amounts per category."
        )
    if errors:
        raise InvalidInput(errors)
    row = find_year(year)
    before = (
        {"amount_cents": row.amount_cents, "allocations": dict(row.allocations or {})}
        if row is not None
        else None
    )
    if row is None:
        row = BudgetYear(year=year)
        db.session.add(row)
    row.amount_cents = amount_cents
    row.allocations = dict(allocations)
    db.session.flush()
    after = {"amount_cents": amount_cents, "allocations": dict(allocations)}
    if after != before:
        record(
            AuditAction.BUDGET_SET,
            actor=actor,
            subject_type="budget_year",
            subject_id=row.id,
            details={"year": year, "before": before, "after": after},
        )
    check_thresholds(year)
    return row


def rename_categories(names: dict[str, str], actor: User) -> None:
    """The tenant's own name per category in `names`; an empty name gives the category its usual
    name back; a category not in `names` keeps its name."""
    require_admin(actor)
    errors: dict[str, str] = {}
    keys = {str(c) for c in Category}
    cleaned = {key: " ".join(name.split()) for key, name in names.items()}
    for key, name in cleaned.items():
        if key not in keys:
            errors["__form__"] = gettext("Choose a category from the list.")
        elif len(name) > NAME_MAX:
            errors[f"name-{key}"] = gettext(
                "Keep this to %(count)d characters at most.", count=NAME_MAX
            )
    existing = {row.category: row for row in db.session.scalars(select(CategoryName))}
    shown = []
    for key, label in DEFAULT_NAMES.items():
        if str(key) in cleaned:
            shown.append(cleaned[str(key)] or str(label))
        else:
            own = existing.get(str(key))
            shown.append(own.name if own is not None else str(label))
    if not errors and len({name.casefold() for name in shown}) < len(shown):
        errors["__form__"] = gettext("Give every category a name of its own.")
    if errors:
        raise InvalidInput(errors)
    changed: dict[str, dict[str, str | None]] = {}
    for key, name in cleaned.items():
        row = existing.get(key)
        old = row.name if row is not None else None
        new = name or None
        if old == new:
            continue
        changed[key] = {"before": old, "after": new}
        if new is None and row is not None:
            db.session.delete(row)
        elif row is None:
            db.session.add(CategoryName(category=key, name=new))
        else:
            row.name = name
    if changed:
        db.session.flush()
        record(
            AuditAction.BUDGET_CATEGORIES_RENAMED,
            actor=actor,
            details={"changed": changed},
        )
