"""Actuals (money spent): adding, changing and removing one; each change audited with the amounts
before and after, and the year's thresholds checked again in the same transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext
from sqlalchemy import select

from samenleren.audit.events import AuditAction
from samenleren.audit.services import record
from samenleren.budget.ledger import check_thresholds
from samenleren.budget.models import Actual, Category
from samenleren.catalogue.access import require_admin
from samenleren.catalogue.models import Edition
from samenleren.core.errors_input import InvalidInput
from samenleren.core.extensions import db
from samenleren.core.money import MAX_CENTS
from samenleren.identity.models import User

REFERENCE_MAX = 100
DESCRIPTION_MAX = 300
#: Dates further from today than this are typing errors (a year like 2207).
EARLIEST_YEAR, LATEST_YEAR = 2000, 2100


@dataclass(frozen=True)
class ActualInput:
    spent_on: date
    amount_cents: int
    category: str
    edition_id: uuid.UUID | None = None
    invoice_reference: str = ""
    description: str = ""


def check_actual(data: ActualInput, known_editions: set[uuid.UUID] | None = None) -> dict[str, str]:
    """Messages per field for what the ledger refuses (empty: acceptable). `known_editions`:
    the tenant's edition ids when the caller has them already (an import), else one query."""
    errors: dict[str, str] = {}
    if not EARLIEST_YEAR <= data.spent_on.year <= LATEST_YEAR:
        errors["spent_on"] = gettext(
            "Give a date between %(first)s and %(last)s.",
            first=str(EARLIEST_YEAR),
            last=str(LATEST_YEAR),
        )
    if data.amount_cents == 0:
        errors["amount"] = gettext("Give an amount other than 0 (below 0 for a credit note).")
    elif abs(data.amount_cents) > MAX_CENTS:
        errors["amount"] = gettext("This amount is too large; give it in euros, e.g. 1.234,56.")
    if data.category not in {str(c) for c in Category}:
        errors["category"] = gettext("Choose a category from the list.")
    if data.edition_id is not None and (
        data.edition_id not in known_editions
        if known_editions is not None
        else db.session.scalar(select(Edition.id).where(Edition.id == data.edition_id)) is None
    ):
        errors["edition_id"] = gettext("Choose an edition from the list.")
    if len(data.invoice_reference.strip()) > REFERENCE_MAX:
        errors["invoice_reference"] = gettext(
            "Keep this to %(count)d characters at most.", count=REFERENCE_MAX
        )
    if len(data.description.strip()) > DESCRIPTION_MAX:
        errors["description"] = gettext(
            "Keep this to %(count)d characters at most.", count=DESCRIPTION_MAX
        )
    return errors


def snapshot(actual: Actual) -> dict[str, object]:
    """What the audit log keeps of an actual (amount in cents)."""
    return {
        "spent_on": actual.spent_on.isoformat(),
        "amount_cents": actual.amount_cents,
        "category": actual.category,
        "edition": str(actual.edition_id) if actual.edition_id else None,
        "invoice_reference": actual.invoice_reference,
    }


def _apply(actual: Actual, data: ActualInput) -> None:
    actual.spent_on = data.spent_on
    actual.amount_cents = data.amount_cents
    actual.category = data.category
    actual.edition_id = data.edition_id
    actual.invoice_reference = data.invoice_reference.strip()
    actual.description = data.description.strip()


def add_actual(
    data: ActualInput,
    actor: User,
    *,
    source: str = "form",
) -> Actual:
    """Book money spent. `source`: "form" (in the audit log; `add_actuals` books many)."""
    require_admin(actor)
    errors = check_actual(data)
    if errors:
        raise InvalidInput(errors)
    actual = Actual(created_by_id=actor.id)
    _apply(actual, data)
    db.session.add(actual)
    db.session.flush()
    record(
        AuditAction.BUDGET_ACTUAL_ADDED,
        actor=actor,
        subject_type="budget_actual",
        subject_id=actual.id,
        details={"before": None, "after": snapshot(actual), "source": source},
    )
    check_thresholds(actual.spent_on.year)
    return actual


def add_actuals(
    rows: list[ActualInput],
    actor: User,
    *,
    source: str,
    known_editions: set[uuid.UUID] | None = None,
) -> list[Actual]:
    """Book many expenses at once (an import): all checked first, written in one flush, each
    audited; the thresholds of every year they touch are checked once, at the end. Refused
    (`InvalidInput`, the first row's problems) before anything is written."""
    require_admin(actor)
    for data in rows:
        errors = check_actual(data, known_editions)
        if errors:
            raise InvalidInput(errors)
    actuals = []
    for data in rows:
        actual = Actual(id=uuid.uuid4(), created_by_id=actor.id)
        _apply(actual, data)
        actuals.append(actual)
        record(
            AuditAction.BUDGET_ACTUAL_ADDED,
            actor=actor,
            subject_type="budget_actual",
            subject_id=actual.id,
            details={"before": None, "after": snapshot(actual), "source": source},
        )
    db.session.add_all(actuals)
    db.session.flush()
    for year in sorted({data.spent_on.year for data in rows}):
        check_thresholds(year)
    return actuals


def update_actual(actual: Actual, data: ActualInput, actor: User) -> Actual:
    require_admin(actor)
    errors = check_actual(data)
    if errors:
        raise InvalidInput(errors)
    before = snapshot(actual)
    _apply(actual, data)
    db.session.flush()
    after = snapshot(actual)
    if after != before:
        record(
            AuditAction.BUDGET_ACTUAL_CHANGED,
            actor=actor,
            subject_type="budget_actual",
            subject_id=actual.id,
            details={"before": before, "after": after},
        )
    check_thresholds(actual.spent_on.year)
    return actual


def delete_actual(actual: Actual, actor: User) -> int:
    """Remove a booking made in error; returns its year. The audit log keeps what it was."""
    require_admin(actor)
    year = actual.spent_on.year
    record(
        AuditAction.BUDGET_ACTUAL_DELETED,
        actor=actor,
        subject_type="budget_actual",
        subject_id=actual.id,
        details={"before": snapshot(actual), "after": None},
    )
    db.session.delete(actual)
    db.session.flush()
    return year
